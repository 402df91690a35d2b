//! Encodings: base64 (sprig `b64enc`/`b64dec`), URL query escaping
//! (Loki's `urlencode`/`urldecode`, Go's `urlquery`), Go's `html` and `js`
//! escapers, and sprig's `fromJson`.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::super::printf::is_print;
use super::builtins::sprint;
use super::{s, Ctx, Value};

type R<'a> = Result<Value<'a>, String>;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn b64enc<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let src = s(&a[0]).as_bytes();
    let mut out = String::with_capacity(src.len().div_ceil(3) * 4);
    for chunk in src.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(B64[(v >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    Ok(Value::string(out))
}

fn b64_value(c: u8) -> Option<u32> {
    B64.iter().position(|&x| x == c).map(|p| p as u32)
}

/// Go's `base64.StdEncoding.DecodeString`, error offsets included
/// (`decodeQuantum`): newlines are skipped, padding is required.
fn b64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut dbuf = [0u32; 4];
        let mut dlen = 4;
        let mut j = 0;
        let mut err = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = b64_value(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && matches!(src[si], b'\n' | b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && matches!(src[si], b'\n' | b'\r') {
                si += 1;
            }
            if si < src.len() {
                err = Some(si);
            }
            dlen = j;
            break;
        }
        let v = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3];
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if let Some(e) = err {
            return Err(e);
        }
    }
    Ok(out)
}

/// Loki's own `b64dec` (`base64Decode` in pkg/logql/log/fmt.go): input
/// missing its padding is padded first (a remainder of 2 or 3 characters),
/// then decoded as `base64.StdEncoding`; the decoder's error message is the
/// result.
pub fn b64dec<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut v = s(&a[0]).to_string();
    let rem = v.len() % 4;
    if rem != 0 && rem != 1 {
        v.extend(std::iter::repeat_n('=', 4 - rem));
    }
    Ok(Value::string(match b64_decode(v.as_bytes()) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(at) => format!("illegal base64 data at input byte {at}"),
    }))
}

/// Go's `url.QueryEscape`.
pub fn query_escape(src: &str, out: &mut String) {
    for &b in src.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

pub fn urlencode<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut out = String::new();
    query_escape(s(&a[0]), &mut out);
    Ok(Value::string(out))
}

/// Go's `url.QueryUnescape`.
pub fn urldecode<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let src = s(&a[0]).as_bytes();
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        match src[i] {
            b'%' => {
                let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
                match (hex(src.get(i + 1)), hex(src.get(i + 2))) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        let end = (i + 3).min(src.len());
                        let bad = String::from_utf8_lossy(&src[i..end]);
                        return Err(format!("invalid URL escape {bad:?}"));
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(Value::string(String::from_utf8_lossy(&out).into_owned()))
}

/// Go's `evalArgs`: one string argument as is, else `fmt.Sprint`.
fn joined(c: &Ctx, a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    let mut out = String::new();
    sprint(c, a, &mut out);
    out
}

/// Go's `template.HTMLEscapeString`.
pub fn html<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let src = joined(c, &a);
    let mut out = String::with_capacity(src.len());
    for ch in src.chars() {
        match ch {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Ok(Value::string(out))
}

/// Go's `template.JSEscapeString`.
pub fn js<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let src = joined(c, &a);
    let mut out = String::with_capacity(src.len());
    for ch in src.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    Ok(Value::string(out))
}

pub fn urlquery<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut out = String::new();
    query_escape(&joined(c, &a), &mut out);
    Ok(Value::string(out))
}

fn from_serde(v: serde_json::Value) -> Value<'static> {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        // encoding/json decodes every number into a float64.
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::string(s),
        serde_json::Value::Array(a) => {
            Value::List(Rc::new(a.into_iter().map(from_serde).collect()))
        }
        serde_json::Value::Object(o) => {
            let m: BTreeMap<String, Value<'static>> =
                o.into_iter().map(|(k, v)| (k, from_serde(v))).collect();
            Value::Map(Rc::new(m))
        }
    }
}

/// sprig's `fromJson`: JSON that does not decode is nil (no error).
pub fn from_json<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(match serde_json::from_str::<serde_json::Value>(s(&a[0])) {
        Ok(v) => from_serde(v),
        Err(_) => Value::Nil,
    })
}
