//! Math and conversion functions as sprig defines them: integer math
//! (`add sub mul div mod max min`) casts its arguments to int64 with
//! spf13/cast (an unparsable string is 0); float math
//! (`addf subf mulf divf`) goes through shopspring/decimal, so
//! `addf 0.1 0.2` is 0.3 and `divf 1 3` has 16 decimal places; Loki adds
//! `bytes` and `duration`.

use super::super::value::shortest_digits;
use super::{i, s, to_float64, to_int64, Ctx, Value};
use crate::units::{go_duration_seconds, humanize_bytes_f64};

type R<'a> = Result<Value<'a>, String>;

const DIV_ZERO: &str = "runtime error: integer divide by zero";

pub fn bytes<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    // go-humanize returns a uint64: the byte count is whole.
    Ok(Value::Float(humanize_bytes_f64(s(&a[0]))?.trunc()))
}

pub fn duration<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Float(go_duration_seconds(s(&a[0]))?))
}

pub fn to_int<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Int(to_int64(&a[0])))
}

pub fn float64<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Float(to_float64(&a[0])))
}

pub fn add<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Int64(
        a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
    ))
}

pub fn sub<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
}

pub fn mul<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let first = to_int64(&a[0]);
    Ok(Value::Int64(
        a[1..]
            .iter()
            .fold(first, |acc, v| acc.wrapping_mul(to_int64(v))),
    ))
}

pub fn div<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
    if y == 0 {
        return Err(DIV_ZERO.into());
    }
    Ok(Value::Int64(x.wrapping_div(y)))
}

pub fn modulo<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
    if y == 0 {
        return Err(DIV_ZERO.into());
    }
    Ok(Value::Int64(x.wrapping_rem(y)))
}

pub fn max<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
}

pub fn min<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
}

/// Go's `math.Max`: +Inf wins, then NaN, and +0 beats -0.
fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y {
        x
    } else {
        y
    }
}

fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y {
        x
    } else {
        y
    }
}

pub fn maxf<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let first = to_float64(&a[0]);
    Ok(Value::Float(
        a[1..].iter().fold(first, |m, v| go_max(m, to_float64(v))),
    ))
}

pub fn minf<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let first = to_float64(&a[0]);
    Ok(Value::Float(
        a[1..].iter().fold(first, |m, v| go_min(m, to_float64(v))),
    ))
}

pub fn ceil<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Float(to_float64(&a[0]).ceil()))
}

pub fn floor<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Float(to_float64(&a[0]).floor()))
}

/// sprig `round x places [roundOn]`: away from the floor when the
/// fraction (of x·10^places) is at least `roundOn` (0.5).
pub fn round<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let round_on = a.get(2).map_or(0.5, to_float64);
    let val = to_float64(&a[0]);
    let pow = 10f64.powf(i(&a[1]) as f64);
    let digit = pow * val;
    let frac = digit.fract();
    let r = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(r / pow))
}

/// A decimal `m × 10^e`, as shopspring/decimal holds it; operations that
/// would overflow return `None` (the caller then uses float math).
#[derive(Clone, Copy, Debug)]
struct Dec {
    m: i128,
    e: i32,
}

/// shopspring's `DivisionPrecision`.
const DIV_PRECISION: i32 = 16;

fn pow10(n: i32) -> Option<i128> {
    10i128.checked_pow(u32::try_from(n).ok()?)
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Result<Dec, String> {
        if !f.is_finite() {
            let mut s = String::new();
            super::super::value::format_float_v(&mut s, f);
            return Err(format!("Cannot create a Decimal from {s}"));
        }
        if f == 0.0 {
            return Ok(Dec { m: 0, e: 0 });
        }
        let (digits, exp) = shortest_digits(f);
        let m: i128 = digits.parse().unwrap_or(0);
        let m = if f < 0.0 { -m } else { m };
        Ok(Dec {
            m,
            e: exp - (digits.len() as i32 - 1),
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(0.0)
    }

    fn align(self, o: Dec) -> Option<(i128, i128, i32)> {
        let e = self.e.min(o.e);
        let a = self.m.checked_mul(pow10(self.e - e)?)?;
        let b = o.m.checked_mul(pow10(o.e - e)?)?;
        Some((a, b, e))
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let (a, b, e) = self.align(o)?;
        Some(Dec {
            m: a.checked_add(b)?,
            e,
        })
    }

    fn sub(self, o: Dec) -> Option<Dec> {
        let (a, b, e) = self.align(o)?;
        Some(Dec {
            m: a.checked_sub(b)?,
            e,
        })
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            m: self.m.checked_mul(o.m)?,
            e: self.e.checked_add(o.e)?,
        })
    }

    /// `Div`: the quotient rounded half away from zero to 16 places.
    fn div(self, o: Dec) -> Option<Dec> {
        // q = self.m·10^(self.e − o.e + 16) / o.m, in units of 10^-16.
        let k = self.e - o.e + DIV_PRECISION;
        let (num, den) = if k >= 0 {
            (self.m.checked_mul(pow10(k)?)?, o.m)
        } else {
            (self.m, o.m.checked_mul(pow10(-k)?)?)
        };
        let q = num / den;
        let r = num % den;
        let q = if r.unsigned_abs().checked_mul(2)? >= den.unsigned_abs() {
            if (num < 0) != (den < 0) {
                q - 1
            } else {
                q + 1
            }
        } else {
            q
        };
        Some(Dec {
            m: q,
            e: -DIV_PRECISION,
        })
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// sprig's `execDecimalOp`: folds the arguments with decimal arithmetic
/// and returns the nearest float64.
fn decimal_op<'a>(first: f64, rest: &[Value], op: Op) -> R<'a> {
    let mut acc = Dec::from_f64(first)?;
    let mut float = first;
    let mut exact = true;
    for v in rest {
        let x = to_float64(v);
        let d = Dec::from_f64(x)?;
        if matches!(op, Op::Div) && x == 0.0 {
            return Err("decimal division by 0".into());
        }
        float = match op {
            Op::Add => float + x,
            Op::Sub => float - x,
            Op::Mul => float * x,
            Op::Div => float / x,
        };
        if exact {
            let next = match op {
                Op::Add => acc.add(d),
                Op::Sub => acc.sub(d),
                Op::Mul => acc.mul(d),
                Op::Div => acc.div(d),
            };
            match next {
                Some(n) => acc = n,
                None => exact = false,
            }
        }
        if !exact {
            // Beyond 38 digits: plain float math from here on.
            acc = Dec::from_f64(float).unwrap_or(Dec { m: 0, e: 0 });
            exact = true;
        } else {
            float = acc.to_f64();
        }
    }
    Ok(Value::Float(acc.to_f64()))
}

pub fn addf<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    decimal_op(0.0, &a, Op::Add)
}

pub fn subf<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    decimal_op(to_float64(&a[0]), &a[1..], Op::Sub)
}

pub fn mulf<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    decimal_op(to_float64(&a[0]), &a[1..], Op::Mul)
}

pub fn divf<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    decimal_op(to_float64(&a[0]), &a[1..], Op::Div)
}
