//! Template values: Go templates carry `interface{}` values, so a value
//! here is one of the Go types Loki's functions produce, and prints the way
//! Go's `fmt` prints it with `%v`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use super::gotime::GoTime;

/// One template value. Labels are borrowed from the record being rendered.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    /// Go's invalid value (a nil interface): prints `<no value>` in an
    /// action and `<nil>` inside a container or `print`.
    Nil,
    Bool(bool),
    /// Go `int` (literals, `len`, `count`, `int`).
    Int(i64),
    /// Go `int64` (sprig's integer math): prints like `int`, but is a
    /// different type where Go checks argument types.
    Int64(i64),
    /// Go `uint8` (`index` of a string).
    Byte(u8),
    Float(f64),
    Str(Cow<'a, str>),
    Time(GoTime),
    /// A JSON array from `fromJson` (`[]interface{}`).
    List(Rc<Vec<Value<'static>>>),
    /// A JSON object from `fromJson` (`map[string]interface{}`).
    Map(Rc<BTreeMap<String, Value<'static>>>),
    /// The label set (the template's data, `map[string]string`).
    Labels,
}

impl<'a> Value<'a> {
    pub fn str(s: &'a str) -> Value<'a> {
        Value::Str(Cow::Borrowed(s))
    }

    pub fn string(s: String) -> Value<'a> {
        Value::Str(Cow::Owned(s))
    }

    /// Go's type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Byte(_) => "uint8",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Time(_) => "time.Time",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Labels => "map[string]string",
        }
    }
}

/// Go's truth (`if`, `with`, `and`, `or`, `not`): the zero value of its
/// type and empty containers are false. `has_labels` says whether the label
/// set is non-empty.
pub fn truth(v: &Value, has_labels: bool) -> bool {
    match v {
        Value::Nil => false,
        Value::Bool(b) => *b,
        Value::Int(i) | Value::Int64(i) => *i != 0,
        Value::Byte(b) => *b != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !s.is_empty(),
        // A struct is always true in Go.
        Value::Time(_) => true,
        Value::List(l) => !l.is_empty(),
        Value::Map(m) => !m.is_empty(),
        Value::Labels => has_labels,
    }
}

/// Every label, sorted by name (Go prints and ranges over maps in key
/// order).
pub type LabelList<'a> = Vec<(&'a str, &'a str)>;

/// Writes `v` as Go's `fmt.Fprint` would (`%v`).
pub fn write_value<'l>(out: &mut String, v: &Value, labels: &dyn Fn() -> LabelList<'l>) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Byte(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Float(f) => format_float_v(out, *f),
        Value::Str(s) => out.push_str(s),
        Value::Time(t) => t.write_string(out),
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, e, labels);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, e, labels);
            }
            out.push(']');
        }
        Value::Labels => {
            out.push_str("map[");
            for (i, (k, e)) in labels().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                out.push_str(e);
            }
            out.push(']');
        }
    }
}

/// A float as Go's `%v` prints it (`%g`, shortest precision): the shortest
/// digits that read back exactly, in exponent form when the decimal
/// exponent is below -4 or at least 6 (`1e+06`, `1.234567e+06`).
pub fn format_float_v(out: &mut String, f: f64) {
    format_g_shortest(out, f, 6);
}

/// Splits a finite float into its shortest decimal digits and the decimal
/// exponent of the first digit (`d.ddd × 10^exp`).
pub fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// `%g` with the shortest precision; exponent form when the exponent is
/// below -4 or at least `eprec`.
pub fn format_g_shortest(out: &mut String, f: f64, eprec: i32) {
    if let Some(s) = special_float(f) {
        out.push_str(s);
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    let (digits, exp) = shortest_digits(f);
    if f < 0.0 {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        write_exp_form(out, &digits, exp, None);
    } else {
        write_plain_form(out, &digits, exp);
    }
}

pub fn special_float(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f == f64::INFINITY {
        Some("+Inf")
    } else if f == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// `d.ddde±XX` (at least two exponent digits, as Go prints); `min_frac`
/// pads the fraction with zeros.
pub fn write_exp_form(out: &mut String, digits: &str, exp: i32, min_frac: Option<usize>) {
    let (first, rest) = digits.split_at(1.min(digits.len()));
    out.push_str(first);
    let mut frac = rest.to_string();
    if let Some(n) = min_frac {
        while frac.len() < n {
            frac.push('0');
        }
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", exp.unsigned_abs());
}

/// Digits placed around the decimal point, without exponent.
pub fn write_plain_form(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(f: f64) -> String {
        let mut s = String::new();
        format_float_v(&mut s, f);
        s
    }

    #[test]
    fn floats_print_as_go_prints_them() {
        // fmt.Sprint(float64) in Go.
        assert_eq!(v(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(v(3.0), "3");
        assert_eq!(v(10.5), "10.5");
        assert_eq!(v(1e6), "1e+06");
        assert_eq!(v(123456.0), "123456");
        assert_eq!(v(1234567.0), "1.234567e+06");
        assert_eq!(v(0.0001), "0.0001");
        assert_eq!(v(0.00001), "1e-05");
        assert_eq!(v(-2.5), "-2.5");
        assert_eq!(v(1e100), "1e+100");
        assert_eq!(v(f64::NAN), "NaN");
        assert_eq!(v(f64::INFINITY), "+Inf");
    }
}
