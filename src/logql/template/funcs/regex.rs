//! Loki's regex functions (`regexReplaceAll`, `regexReplaceAllLiteral`,
//! `count`) with Go's RE2 semantics: Perl classes (`\d \w \s \b`) are
//! ASCII-only in Go, so they are rewritten before compiling with the
//! `regex` crate, and `$1`/`${name}` expand as Go's `Regexp.Expand` does.

use regex::Regex;

use super::{s, Ctx, Value};

type R<'a> = Result<Value<'a>, String>;

/// Rewrites Go-only or differently-meant syntax into the `regex` crate's:
/// ASCII Perl classes, `\Q…\E` literals.
fn translate(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 16);
    let mut in_class = false;
    let mut it = re.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                let Some(e) = it.next() else {
                    out.push('\\');
                    break;
                };
                let class = match (e, in_class) {
                    ('d', false) => Some("[0-9]"),
                    ('D', false) => Some("[^0-9]"),
                    ('w', false) => Some("[0-9A-Za-z_]"),
                    ('W', false) => Some("[^0-9A-Za-z_]"),
                    ('s', false) => Some("[\\t\\n\\f\\r ]"),
                    ('S', false) => Some("[^\\t\\n\\f\\r ]"),
                    ('b', false) => Some("(?-u:\\b)"),
                    ('B', false) => Some("(?-u:\\B)"),
                    ('d', true) => Some("0-9"),
                    ('w', true) => Some("0-9A-Za-z_"),
                    ('s', true) => Some("\\t\\n\\f\\r "),
                    ('D', true) => Some("[:^digit:]"),
                    ('W', true) => Some("[:^word:]"),
                    ('S', true) => Some("[:^space:]"),
                    _ => None,
                };
                if let Some(cl) = class {
                    out.push_str(cl);
                } else if e == 'Q' && !in_class {
                    let mut lit = String::new();
                    while let Some(c) = it.next() {
                        if c == '\\' && it.peek() == Some(&'E') {
                            it.next();
                            break;
                        }
                        lit.push(c);
                    }
                    out.push_str(&regex::escape(&lit));
                } else {
                    out.push('\\');
                    out.push(e);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `^` and a leading `]` belong to the class.
                if it.peek() == Some(&'^') {
                    out.push('^');
                    it.next();
                }
                if it.peek() == Some(&']') {
                    out.push_str("\\]");
                    it.next();
                }
            }
            '[' if in_class && it.peek() == Some(&':') => {
                // `[:alpha:]` inside a class.
                out.push('[');
                for c in it.by_ref() {
                    out.push(c);
                    if c == ']' {
                        break;
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// Compiles a Go regular expression; the error reads like Go's.
pub fn compile(re: &str) -> Result<Regex, String> {
    Regex::new(&translate(re)).map_err(|e| {
        let msg = e.to_string();
        let last = msg
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("error: invalid");
        format!(
            "error parsing regexp: {}: `{re}`",
            last.trim_start_matches("error: ")
        )
    })
}

/// Go's `extract`: a `$name` or `${name}` at the start of `t`.
fn extract(t: &str) -> Option<(&str, &str)> {
    let rest = t.strip_prefix('$')?;
    let (brace, body) = match rest.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, rest),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if brace {
        let after = body[end..].strip_prefix('}')?;
        return Some((name, after));
    }
    Some((name, &body[end..]))
}

/// Go's `Regexp.Expand` for one match.
fn expand(out: &mut String, mut template: &str, re: &Regex, caps: &regex::Captures) {
    while let Some(i) = template.find('$') {
        out.push_str(&template[..i]);
        template = &template[i..];
        if template.as_bytes().get(1) == Some(&b'$') {
            out.push('$');
            template = &template[2..];
            continue;
        }
        let Some((name, rest)) = extract(template) else {
            out.push('$');
            template = &template[1..];
            continue;
        };
        template = rest;
        // A number (no leading zero, below 10^8) is a group index.
        let num = if name.bytes().all(|b| b.is_ascii_digit())
            && !(name.len() > 1 && name.starts_with('0'))
            && name.len() <= 8
        {
            name.parse::<usize>().ok()
        } else {
            None
        };
        let m = match num {
            Some(n) => caps.get(n),
            None => re
                .capture_names()
                .position(|n| n == Some(name))
                .and_then(|i| caps.get(i)),
        };
        if let Some(m) = m {
            out.push_str(m.as_str());
        }
    }
    out.push_str(template);
}

pub fn replace_all<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let re = compile(s(&a[0]))?;
    let (src, repl) = (s(&a[1]), s(&a[2]));
    let mut out = String::with_capacity(src.len());
    let mut last = 0;
    for caps in re.captures_iter(src) {
        let m = caps.get(0).map_or(0..0, |m| m.range());
        out.push_str(&src[last..m.start]);
        expand(&mut out, repl, &re, &caps);
        last = m.end;
    }
    out.push_str(&src[last..]);
    Ok(Value::string(out))
}

pub fn replace_all_literal<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let re = compile(s(&a[0]))?;
    let out = re.replace_all(s(&a[1]), regex::NoExpand(s(&a[2])));
    Ok(Value::string(out.into_owned()))
}

/// Loki's `count regex src`: the number of non-overlapping matches.
pub fn count<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let re = compile(s(&a[0]))?;
    Ok(Value::Int(re.find_iter(s(&a[1])).count() as i64))
}
