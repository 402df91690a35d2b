//! Go's `fmt.Sprintf` over template values: flags `-+# 0`, width and
//! precision (also `*`), the verbs templates use (`%v %s %q %d %f %e %g
//! %x %X %o %b %c %t %T %U %%`), and Go's error forms (`%!d(string=x)`,
//! `%!s(MISSING)`, `%!(EXTRA …)`).

use std::fmt::Write as _;

use super::value::{
    format_g_shortest, write_exp_form, write_plain_form, write_value, LabelList, Value,
};

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

type Labels<'l> = dyn Fn() -> LabelList<'l> + 'l;

/// Formats `args` per `format` into `out`.
pub fn sprintf(out: &mut String, format: &str, args: &[Value], labels: &Labels) {
    let mut next = 0usize;
    let mut it = format.char_indices().peekable();
    while let Some((_, c)) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut sp = Spec::default();
        while let Some(&(_, f)) = it.peek() {
            match f {
                '-' => {
                    sp.minus = true;
                    sp.zero = false;
                }
                '+' => sp.plus = true,
                '#' => sp.sharp = true,
                ' ' => sp.space = true,
                '0' => sp.zero = !sp.minus,
                _ => break,
            }
            it.next();
        }
        // Width.
        if it.peek().map(|p| p.1) == Some('*') {
            it.next();
            match args.get(next) {
                Some(Value::Int(n) | Value::Int64(n)) => {
                    if *n < 0 {
                        sp.minus = true;
                        sp.zero = false;
                    }
                    sp.width = Some(n.unsigned_abs().min(1 << 20) as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            next += 1;
        } else {
            sp.width = read_num(&mut it);
        }
        if it.peek().map(|p| p.1) == Some('.') {
            it.next();
            if it.peek().map(|p| p.1) == Some('*') {
                it.next();
                match args.get(next) {
                    Some(Value::Int(n) | Value::Int64(n)) if *n >= 0 => {
                        sp.prec = Some((*n).min(1 << 20) as usize)
                    }
                    _ => out.push_str("%!(BADPREC)"),
                }
                next += 1;
            } else {
                sp.prec = Some(read_num(&mut it).unwrap_or(0));
            }
        }
        let Some((_, verb)) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        format_arg(out, arg, verb, sp, labels);
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(a.type_name());
            out.push('=');
            write_value(out, a, labels);
        }
        out.push(')');
    }
}

fn read_num(it: &mut std::iter::Peekable<std::str::CharIndices>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = it.peek() {
        let Some(v) = d.to_digit(10) else { break };
        n = Some((n.unwrap_or(0) * 10 + v as usize).min(1 << 20));
        it.next();
    }
    n
}

/// Pads to the width (by runes), left or right, with spaces or zeros
/// after the sign.
fn pad(out: &mut String, s: &str, sp: Spec, numeric: bool) {
    let n = s.chars().count();
    let w = sp.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = w - n;
    if sp.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if sp.zero && numeric {
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+' | b'-' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, arg: &Value, verb: char, labels: &Labels) {
    let _ = write!(out, "%!{verb}(");
    if let Value::Nil = arg {
        out.push_str("<nil>");
    } else {
        out.push_str(arg.type_name());
        out.push('=');
        write_value(out, arg, labels);
    }
    out.push(')');
}

fn format_arg(out: &mut String, arg: &Value, verb: char, sp: Spec, labels: &Labels) {
    if verb == 'T' {
        let name = match arg {
            Value::Nil => "<nil>",
            a => a.type_name(),
        };
        pad(out, name, sp, false);
        return;
    }
    match arg {
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, sp, false),
            _ => bad_verb(out, arg, verb, labels),
        },
        Value::Int(i) | Value::Int64(i) => fmt_int(out, i128::from(*i), verb, sp, arg, labels),
        Value::Byte(b) => fmt_int(out, i128::from(*b), verb, sp, arg, labels),
        Value::Float(f) => fmt_float(out, *f, verb, sp, arg, labels),
        Value::Str(s) => fmt_str(out, s, verb, sp, arg, labels),
        Value::Time(_) => {
            let mut s = String::new();
            write_value(&mut s, arg, labels);
            match verb {
                'v' | 's' | 'q' | 'x' | 'X' => fmt_str(out, &s, verb, sp, arg, labels),
                _ => bad_verb(out, arg, verb, labels),
            }
        }
        Value::Nil => match verb {
            'v' => pad(out, "<nil>", sp, false),
            _ => bad_verb(out, arg, verb, labels),
        },
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, e, verb, sp, labels);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_str(out, k, verb, sp, arg, labels);
                out.push(':');
                format_arg(out, e, verb, sp, labels);
            }
            out.push(']');
        }
        Value::Labels => {
            out.push_str("map[");
            for (i, (k, e)) in labels().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_str(out, k, verb, sp, arg, labels);
                out.push(':');
                fmt_str(out, e, verb, sp, arg, labels);
            }
            out.push(']');
        }
    }
}

fn sign(out: &mut String, neg: bool, sp: Spec) {
    if neg {
        out.push('-');
    } else if sp.plus {
        out.push('+');
    } else if sp.space {
        out.push(' ');
    }
}

fn fmt_int(out: &mut String, i: i128, verb: char, sp: Spec, arg: &Value, labels: &Labels) {
    let mag = i.unsigned_abs();
    let mut s = String::new();
    let digits = match verb {
        'd' | 'v' => mag.to_string(),
        'b' => format!("{mag:b}"),
        'o' | 'O' => format!("{mag:o}"),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            return pad(out, &c.to_string(), sp, false);
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            return pad(out, &quote_char(c), sp, false);
        }
        'U' => {
            let _ = write!(s, "U+{mag:04X}");
            return pad(out, &s, sp, false);
        }
        _ => return bad_verb(out, arg, verb, labels),
    };
    sign(&mut s, i < 0, sp);
    if sp.sharp || verb == 'O' {
        match verb {
            'x' => s.push_str("0x"),
            'X' => s.push_str("0X"),
            'o' if !digits.starts_with('0') => s.push('0'),
            'O' => s.push_str("0o"),
            'b' => s.push_str("0b"),
            _ => {}
        }
    }
    // A precision is a minimum number of digits (and turns off zero
    // padding).
    let mut sp = sp;
    if let Some(p) = sp.prec {
        sp.zero = false;
        if p == 0 && mag == 0 {
            return pad(out, "", sp, false);
        }
        for _ in digits.len()..p {
            s.push('0');
        }
    }
    s.push_str(&digits);
    pad(out, &s, sp, true);
}

/// Digits after the point past which an f64's exact decimal expansion is
/// all zeros (it has at most 1,074 fractional and 767 significant digits).
/// Rust's formatter refuses precisions over 65,535 where Go prints every
/// digit, so longer precisions are formatted to this and padded with the
/// zeros that are exactly right.
const EXACT_DIGITS: usize = 1100;

fn fmt_float(out: &mut String, f: f64, verb: char, sp: Spec, arg: &Value, labels: &Labels) {
    let mut s = String::new();
    if !f.is_finite() {
        // Go always signs infinities, signs NaN only when asked, and never
        // pads them with zeros.
        if f.is_nan() {
            if sp.plus {
                s.push('+');
            } else if sp.space {
                s.push(' ');
            }
            s.push_str("NaN");
        } else {
            s.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
        }
        let mut sp = sp;
        sp.zero = false;
        return pad(out, &s, sp, false);
    }
    sign(&mut s, f.is_sign_negative(), sp);
    let a = f.abs();
    match verb {
        'v' | 'g' | 'G' => match sp.prec {
            None => format_g_shortest(&mut s, a, 6),
            Some(p) => fmt_g_prec(&mut s, a, p.max(1)),
        },
        'f' | 'F' => {
            let p = sp.prec.unwrap_or(6);
            let _ = write!(s, "{:.*}", p.min(EXACT_DIGITS), a);
            s.extend(std::iter::repeat_n('0', p.saturating_sub(EXACT_DIGITS)));
        }
        'e' | 'E' => {
            let p = sp.prec.unwrap_or(6);
            // write_exp_form pads the mantissa to `p` digits.
            let r = format!("{:.*e}", p.min(EXACT_DIGITS), a);
            let (m, e) = r.split_once('e').unwrap_or((&r, "0"));
            let digits: String = m.chars().filter(char::is_ascii_digit).collect();
            write_exp_form(&mut s, &digits, e.parse().unwrap_or(0), Some(p));
        }
        _ => return bad_verb(out, arg, verb, labels),
    }
    if verb == 'E' || verb == 'G' {
        s = s.to_uppercase();
    }
    pad(out, &s, sp, true);
}

/// `%.Ng`: N significant digits, trailing zeros dropped, exponent form
/// when the exponent is < -4 or >= N.
fn fmt_g_prec(s: &mut String, a: f64, p: usize) {
    if a == 0.0 {
        s.push('0');
        return;
    }
    let r = format!("{:.*e}", (p - 1).min(EXACT_DIGITS), a);
    let (m, e) = r.split_once('e').unwrap_or((&r, "0"));
    let mut digits: String = m.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let exp: i32 = e.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        write_exp_form(s, &digits, exp, None);
    } else {
        write_plain_form(s, &digits, exp);
    }
}

fn fmt_str(out: &mut String, src: &str, verb: char, sp: Spec, arg: &Value, labels: &Labels) {
    let src: &str = match sp.prec {
        Some(p) if matches!(verb, 's' | 'v' | 'q' | 'x' | 'X') => {
            let end = src.char_indices().nth(p).map_or(src.len(), |(i, _)| i);
            &src[..end]
        }
        _ => src,
    };
    match verb {
        's' | 'v' => pad(out, src, sp, false),
        'q' => pad(out, &quote(src), sp, false),
        'x' | 'X' => {
            let mut h = String::with_capacity(src.len() * 2);
            for b in src.bytes() {
                let _ = if verb == 'x' {
                    write!(h, "{b:02x}")
                } else {
                    write!(h, "{b:02X}")
                };
            }
            pad(out, &h, sp, false);
        }
        _ => bad_verb(out, arg, verb, labels),
    }
}

/// Go's `unicode.IsPrint`, approximately: graphic characters and the
/// ASCII space.
pub fn is_print(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || ('\u{E000}'..='\u{F8FF}').contains(&c))
}

fn escape_char(out: &mut String, c: char, q: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == q => {
            out.push('\\');
            out.push(c);
        }
        c if is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_char(&mut out, c, '"');
    }
    out.push('"');
    out
}

fn quote_char(c: char) -> String {
    let mut out = String::from("'");
    escape_char(&mut out, c, '\'');
    out.push('\'');
    out
}
