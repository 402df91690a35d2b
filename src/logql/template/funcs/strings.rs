//! String functions: Go's `strings` package functions Loki exposes
//! (`ToLower`, `Replace`, `Trim`, …), sprig's string functions, and
//! Loki's `alignLeft`/`alignRight`. Sprig puts the string last so it can
//! be piped; Go's `strings` functions take it first.

use super::{i, s, Ctx, Value};

type R<'a> = Result<Value<'a>, String>;

/// Output larger than this is an error rather than a memory blow-up (a
/// user's `repeat` count is untrusted).
const MAX_LEN: usize = 16 << 20;

fn out<'a>(s: String) -> R<'a> {
    Ok(Value::string(s))
}

pub fn line<'a>(c: &Ctx<'a>, _: Vec<Value<'a>>) -> R<'a> {
    Ok(match std::str::from_utf8(c.data.line()) {
        Ok(s) => Value::str(s),
        Err(_) => Value::string(String::from_utf8_lossy(c.data.line()).into_owned()),
    })
}

/// Go's `unicode.ToLower`/`ToUpper` map one rune to one rune.
fn map_runes(src: &str, f: impl Fn(char) -> Option<char>) -> String {
    src.chars().map(|c| f(c).unwrap_or(c)).collect()
}

fn single<I: Iterator<Item = char> + ExactSizeIterator>(mut it: I) -> Option<char> {
    if it.len() == 1 {
        it.next()
    } else {
        None
    }
}

pub fn lower<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    out(map_runes(s(&a[0]), |c| single(c.to_lowercase())))
}

pub fn upper<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    out(map_runes(s(&a[0]), |c| single(c.to_uppercase())))
}

/// Go's `strings.Title` separators: ASCII other than letters, digits and
/// `_`; beyond ASCII, spaces.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

pub fn title<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let mut prev = ' ';
    let mut o = String::with_capacity(s(&a[0]).len());
    for c in s(&a[0]).chars() {
        if is_separator(prev) {
            o.push(single(c.to_uppercase()).unwrap_or(c));
        } else {
            o.push(c);
        }
        prev = c;
    }
    out(o)
}

pub fn go_replace<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let (src, old, new, n) = (s(&a[0]), s(&a[1]), s(&a[2]), i(&a[3]));
    out(replace_n(src, old, new, n))
}

/// Go's `strings.Replace`: `n < 0` replaces all; an empty `old` matches
/// before every rune and at the end.
fn replace_n(src: &str, old: &str, new: &str, n: i64) -> String {
    let n = if n < 0 { usize::MAX } else { n as usize };
    if old.is_empty() {
        let mut o = String::new();
        let mut done = 0;
        for c in src.chars() {
            if done < n {
                o.push_str(new);
                done += 1;
            }
            o.push(c);
        }
        if done < n {
            o.push_str(new);
        }
        return o;
    }
    src.replacen(old, new, n)
}

pub fn go_trim<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let cut = s(&a[1]);
    out(s(&a[0]).trim_matches(|c| cut.contains(c)).to_string())
}

pub fn go_trim_left<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let cut = s(&a[1]);
    out(s(&a[0]).trim_start_matches(|c| cut.contains(c)).to_string())
}

pub fn go_trim_right<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let cut = s(&a[1]);
    out(s(&a[0]).trim_end_matches(|c| cut.contains(c)).to_string())
}

pub fn go_trim_prefix<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let (src, p) = (s(&a[0]), s(&a[1]));
    out(src.strip_prefix(p).unwrap_or(src).to_string())
}

pub fn go_trim_suffix<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let (src, p) = (s(&a[0]), s(&a[1]));
    out(src.strip_suffix(p).unwrap_or(src).to_string())
}

/// Go's `strings.TrimSpace` (sprig's `trim`).
pub fn trim_space<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    out(s(&a[0]).trim().to_string())
}

// sprig's versions take the Go ones' arguments in the other order (the
// piped value last): `trimAll cutset src`, `trimPrefix p src`, …
pub fn trim_all<'a>(c: &Ctx<'a>, mut a: Vec<Value<'a>>) -> R<'a> {
    a.swap(0, 1);
    go_trim(c, a)
}

pub fn trim_prefix<'a>(c: &Ctx<'a>, mut a: Vec<Value<'a>>) -> R<'a> {
    a.swap(0, 1);
    go_trim_prefix(c, a)
}

pub fn trim_suffix<'a>(c: &Ctx<'a>, mut a: Vec<Value<'a>>) -> R<'a> {
    a.swap(0, 1);
    go_trim_suffix(c, a)
}

pub fn contains<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
}

pub fn has_prefix<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
}

pub fn has_suffix<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
}

/// sprig `replace old new src` (all occurrences).
pub fn replace<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    out(replace_n(s(&a[2]), s(&a[0]), s(&a[1]), -1))
}

/// Go's `strings.Repeat`, which panics on a negative count (an error
/// here, as the template engine reports a panicking function).
fn repeat_str(src: &str, n: i64) -> Result<String, String> {
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    if (n as u128) * (src.len() as u128) > MAX_LEN as u128 {
        return Err("strings: Repeat output length overflow".into());
    }
    Ok(src.repeat(n as usize))
}

pub fn repeat<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    out(repeat_str(s(&a[1]), i(&a[0]))?)
}

/// sprig `indent n src`: every line gets `n` spaces.
pub fn indent<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let pad = repeat_str(" ", i(&a[0]))?;
    out(format!(
        "{pad}{}",
        s(&a[1]).replace('\n', &format!("\n{pad}"))
    ))
}

pub fn nindent<'a>(c: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let Value::Str(s) = indent(c, a)? else {
        return Ok(Value::Nil);
    };
    out(format!("\n{s}"))
}

fn runes(src: &str) -> Vec<char> {
    src.chars().collect()
}

/// `trunc n src` as Loki defines it (by rune): the first `n` runes, or
/// the last `-n`.
pub fn trunc<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let (c, src) = (i(&a[0]), s(&a[1]));
    let r = runes(src);
    let l = r.len() as i64;
    if c < 0 && l.saturating_add(c) > 0 {
        return out(r[(l + c) as usize..].iter().collect());
    }
    if c >= 0 && l > c {
        return out(r[..c as usize].iter().collect());
    }
    out(src.to_string())
}

/// `substr start end src` as Loki defines it (by rune, clamped).
pub fn substr<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let (mut start, mut end) = (i(&a[0]), i(&a[1]));
    let r = runes(s(&a[2]));
    let l = r.len() as i64;
    end = end.min(l);
    start = start.min(l);
    let slice = |a: i64, b: i64| -> String { r[a as usize..b as usize].iter().collect() };
    if start < 0 {
        if end < 0 {
            return out(String::new());
        }
        return out(slice(0, end));
    }
    if end < 0 {
        return out(slice(start, l));
    }
    if start > end {
        return out(String::new());
    }
    out(slice(start, end))
}

/// Loki's `alignLeft n src`: pad with spaces on the right or cut to `n`
/// runes.
pub fn align_left<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    align(&a, true)
}

/// Loki's `alignRight n src`: pad on the left or keep the last `n` runes.
pub fn align_right<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    align(&a, false)
}

/// `src` padded or cut to `n` runes, its text on the left or the right.
fn align<'a>(a: &[Value<'a>], left: bool) -> R<'a> {
    let (count, src) = (i(&a[0]), s(&a[1]));
    let r = runes(src);
    let l = r.len() as i64;
    if count < 0 || count == l {
        return out(src.to_string());
    }
    if count > l {
        let pad = repeat_str(" ", count - l)?;
        return out(if left {
            format!("{src}{pad}")
        } else {
            format!("{pad}{src}")
        });
    }
    let kept = if left {
        &r[..count as usize]
    } else {
        &r[(l - count) as usize..]
    };
    out(kept.iter().collect())
}
