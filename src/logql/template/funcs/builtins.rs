//! Go text/template's builtins (`not len index slice print printf println
//! call eq ne lt le gt ge`) and sprig's `default`, with Go's semantics and
//! error messages.

use std::cmp::Ordering;

use super::super::printf;
use super::super::value::{truth, write_value, Value};
use super::Ctx;

type R<'a> = Result<Value<'a>, String>;

/// `and`/`or` are evaluated by the executor (their arguments lazily).
pub fn unreachable<'a>(_: &Ctx<'a>, _: Vec<Value<'a>>) -> R<'a> {
    Err("and/or are evaluated lazily".into())
}

pub fn not<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(!truth(&a[0], !c.labels().is_empty())))
}

pub fn len<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let n = match &a[0] {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Labels => c.labels().len(),
        v => return Err(format!("len of type {}", v.type_name())),
    };
    Ok(Value::Int(n as i64))
}

/// An index or slice bound, as Go's `indexArg`: an integer in 0..=len.
fn index_bound(v: &Value, len: usize) -> Result<usize, String> {
    let x = match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Byte(b) => i64::from(*b),
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > len as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

/// An index into `len` items: a bound short of `len`.
fn index_arg(v: &Value, len: usize, what: &str) -> Result<usize, String> {
    let x = index_bound(v, len)?;
    if x == len {
        return Err(format!("reflect: {what} index out of range"));
    }
    Ok(x)
}

pub fn index<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut it = a.into_iter();
    let mut item = it.next().unwrap_or(Value::Nil);
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".into());
    }
    for idx in it {
        item = match item {
            Value::List(l) => {
                let x = index_arg(&idx, l.len(), "slice")?;
                l[x].clone()
            }
            Value::Str(s) => {
                let x = index_arg(&idx, s.len(), "string")?;
                Value::Byte(s.as_bytes()[x])
            }
            Value::Map(m) => match idx {
                Value::Str(k) => m.get(k.as_ref()).cloned().unwrap_or(Value::Nil),
                v => {
                    return Err(format!(
                        "value has type {}; should be string",
                        v.type_name()
                    ))
                }
            },
            Value::Labels => match idx {
                Value::Str(k) => Value::str(c.data.label(&k).unwrap_or("")),
                v => {
                    return Err(format!(
                        "value has type {}; should be string",
                        v.type_name()
                    ))
                }
            },
            Value::Nil => return Err("index of nil pointer".into()),
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

pub fn slice<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut it = a.into_iter();
    let item = it.next().unwrap_or(Value::Nil);
    let idx: Vec<Value> = it.collect();
    let len = match &item {
        Value::Nil => return Err("slice of untyped nil".into()),
        Value::Str(s) => {
            if idx.len() > 2 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        v => return Err(format!("can't slice item of type {}", v.type_name())),
    };
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let mut bounds = [0usize, len, len];
    for (i, v) in idx.iter().enumerate() {
        bounds[i] = index_bound(v, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    Ok(match item {
        Value::Str(s) => {
            let b = &s.as_bytes()[bounds[0]..bounds[1]];
            Value::string(String::from_utf8_lossy(b).into_owned())
        }
        Value::List(l) => Value::List(std::rc::Rc::new(l[bounds[0]..bounds[1]].to_vec())),
        _ => Value::Nil,
    })
}

/// `fmt.Sprint`: a space between operands when neither is a string.
pub fn sprint(c: &Ctx, a: &[Value], out: &mut String) {
    let labels = || c.labels();
    for (i, v) in a.iter().enumerate() {
        if i > 0 && !matches!(v, Value::Str(_)) && !matches!(a[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        write_value(out, v, &labels);
    }
}

pub fn print<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut out = String::new();
    sprint(c, &a, &mut out);
    Ok(Value::string(out))
}

pub fn println<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut out = String::new();
    let labels = || c.labels();
    for (i, v) in a.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, v, &labels);
    }
    out.push('\n');
    Ok(Value::string(out))
}

pub fn printf<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let format = super::s(&a[0]).to_string();
    let mut out = String::new();
    printf::sprintf(&mut out, &format, &a[1..], &|| c.labels());
    Ok(Value::string(out))
}

pub fn call<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    // Label values and JSON are never functions.
    Err(format!("non-function of type {}", a[0].type_name()))
}

/// Go's `basicKind` classes.
#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Byte(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Byte(b) => i64::from(*b),
        _ => 0,
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

fn eq_one(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        // Integers compare across signedness; nothing else mixes.
        return match (ka, kb) {
            (Kind::Int, Kind::Uint) | (Kind::Uint, Kind::Int) => Ok(int_of(a) == int_of(b)),
            _ => Err(BAD_COMPARISON.into()),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        _ if ka == Kind::Int || ka == Kind::Uint => int_of(a) == int_of(b),
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        (x, y) => {
            return Err(format!(
                "non-comparable types {}: {}, {}: {}",
                x.type_name(),
                x.type_name(),
                y.type_name(),
                y.type_name()
            ))
        }
    })
}

/// `eq arg1 arg2 …`: whether arg1 equals any of the others.
pub fn eq<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    if a.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    for b in &a[1..] {
        if eq_one(&a[0], b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

pub fn ne<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(!eq_one(&a[0], &a[1])?))
}

fn less(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka == Kind::Other || kb == Kind::Other {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    if ka != kb {
        return match (ka, kb) {
            (Kind::Int, Kind::Uint) | (Kind::Uint, Kind::Int) => Ok(int_of(a) < int_of(b)),
            _ => Err(BAD_COMPARISON.into()),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(_), _) => return Err(BAD_COMPARISON_TYPE.into()),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y) == Some(Ordering::Less),
        (Value::Str(x), Value::Str(y)) => x.as_bytes() < y.as_bytes(),
        _ => int_of(a) < int_of(b),
    })
}

pub fn lt<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(less(&a[0], &a[1])?))
}

fn less_eq(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(less(a, b)? || eq_one(a, b)?)
}

pub fn le<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(less_eq(&a[0], &a[1])?))
}

pub fn gt<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(!less_eq(&a[0], &a[1])?))
}

pub fn ge<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(!less(&a[0], &a[1])?))
}

/// sprig's `empty`: nil, zero numbers, false, empty strings and
/// containers; a struct (a time) is never empty.
fn empty(v: &Value, c: &Ctx) -> bool {
    match v {
        Value::Labels => c.labels().is_empty(),
        v => !truth(v, true),
    }
}

/// sprig's `default d given`: `given` unless it is empty.
pub fn default<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut it = a.into_iter();
    let d = it.next().unwrap_or(Value::Nil);
    match it.next() {
        Some(g) if !empty(&g, c) => Ok(g),
        _ => Ok(d),
    }
}
