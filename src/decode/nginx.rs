//! nginx (and Apache) combined log format, with an optional trailing
//! `$request_time`:
//!
//! `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//!  "$http_referer" "$http_user_agent" [$request_time]`
//!
//! Fields: `remote_addr`, `method`, `path` (without the query string),
//! `query`, `protocol`, `status`, `bytes`, `referer`, `user_agent`,
//! `request_time` and `latency_ms` (request_time × 1000, computed on the
//! decimal text so no float noise creeps in), plus every query-string
//! parameter, URL-decoded, under its own name unless it clashes with those.

use super::{DecodeCtx, Decoded, Want};
use crate::record::Fields;

/// Names the format itself sets; query parameters never override them.
const OWN_FIELDS: [&str; 11] = [
    "remote_addr",
    "method",
    "path",
    "query",
    "protocol",
    "status",
    "bytes",
    "referer",
    "user_agent",
    "request_time",
    "latency_ms",
];

pub struct Parsed<'a> {
    pub remote_addr: &'a [u8],
    pub time_local: &'a [u8],
    pub request: &'a [u8],
    pub status: &'a [u8],
    pub bytes: &'a [u8],
    pub referer: &'a [u8],
    pub user_agent: &'a [u8],
    pub request_time: Option<&'a [u8]>,
}

fn take_until(rest: &mut &[u8], delim: u8) -> Option<usize> {
    memchr::memchr(delim, rest)
}

/// Splits a combined-format line; `None` when it does not match in full.
pub fn parse(line: &[u8]) -> Option<Parsed<'_>> {
    let mut r = line;
    let sp = take_until(&mut r, b' ')?;
    let remote_addr = &r[..sp];
    r = &r[sp + 1..];
    // remote_logname (`-`) and remote_user.
    let sp = take_until(&mut r, b' ')?;
    r = &r[sp + 1..];
    let sp = take_until(&mut r, b' ')?;
    r = &r[sp + 1..];
    if r.first() != Some(&b'[') {
        return None;
    }
    let close = take_until(&mut r, b']')?;
    let time_local = &r[1..close];
    r = r.get(close + 1..)?;
    let (request, rest) = quoted(r.strip_prefix(b" ")?)?;
    r = rest.strip_prefix(b" ")?;
    let sp = take_until(&mut r, b' ')?;
    let status = &r[..sp];
    r = &r[sp + 1..];
    let sp = take_until(&mut r, b' ')?;
    let bytes = &r[..sp];
    r = &r[sp + 1..];
    let (referer, rest) = quoted(r)?;
    let (user_agent, rest) = quoted(rest.strip_prefix(b" ")?)?;
    let request_time = match rest {
        [] => None,
        [b' ', t @ ..] if !t.is_empty() && t.iter().all(|c| c.is_ascii_digit() || *c == b'.') => {
            Some(t)
        }
        _ => return None,
    };
    if status.len() != 3 || !status.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !(bytes == b"-" || (!bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit))) {
        return None;
    }
    Some(Parsed {
        remote_addr,
        time_local,
        request,
        status,
        bytes,
        referer,
        user_agent,
        request_time,
    })
}

/// A `"…"` field; nginx escapes quotes inside as `\x22`, Apache as `\"`.
fn quoted(r: &[u8]) -> Option<(&[u8], &[u8])> {
    if r.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < r.len() {
        match r[i] {
            b'\\' => i += 2,
            b'"' => return Some((&r[1..i], &r[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// `request_time` seconds as text → milliseconds as text, exactly
/// (`0.231` → `231`, `1.5` → `1500`, `0.0005` → `0.5`).
pub fn seconds_text_to_ms(t: &[u8], out: &mut String) {
    let s = std::str::from_utf8(t).unwrap_or("0");
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut digits = String::with_capacity(int.len() + 3);
    digits.push_str(int);
    let mut frac_rest = frac;
    for k in 0..3 {
        digits.push(frac.as_bytes().get(k).map_or('0', |&c| c as char));
    }
    frac_rest = frac_rest.get(3..).unwrap_or("");
    let trimmed = digits.trim_start_matches('0');
    out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
    let frac_rest = frac_rest.trim_end_matches('0');
    if !frac_rest.is_empty() {
        out.push('.');
        out.push_str(frac_rest);
    }
}

/// Percent-decodes (with `+` as space) into `out`.
pub fn url_decode_into(s: &[u8], out: &mut String) {
    let mut bytes = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => bytes.push(b' '),
            b'%' if i + 2 < s.len() => {
                let h = std::str::from_utf8(&s[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(b) => {
                        bytes.push(b);
                        i += 2;
                    }
                    None => bytes.push(b'%'),
                }
            }
            c => bytes.push(c),
        }
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
}

fn wants(want: &Want, name: &str) -> bool {
    match want {
        Want::All => true,
        Want::Names(v) => v.iter().any(|n| n == name),
        Want::Nothing => false,
    }
}

fn set(out: &mut Fields, want: &Want, name: &str, v: &[u8]) {
    if wants(want, name) {
        out.set_with(name, |b| b.push_str(&String::from_utf8_lossy(v)));
    }
}

pub fn decode(line: &[u8], ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let Some(p) = parse(line) else {
        return false;
    };
    let want = ctx.want;
    let f = &mut out.fields;
    set(f, want, "remote_addr", p.remote_addr);
    let mut parts = p.request.splitn(3, |&c| c == b' ');
    let (method, target, protocol) = (parts.next(), parts.next(), parts.next());
    if let (Some(m), Some(t)) = (method, target) {
        set(f, want, "method", m);
        let (path, query) = match memchr::memchr(b'?', t) {
            Some(q) => (&t[..q], Some(&t[q + 1..])),
            None => (t, None),
        };
        set(f, want, "path", path);
        if let Some(q) = query {
            set(f, want, "query", q);
            for param in q.split(|&c| c == b'&') {
                let (k, v) = match memchr::memchr(b'=', param) {
                    Some(e) => (&param[..e], &param[e + 1..]),
                    None => (param, &b""[..]),
                };
                let mut key = String::new();
                url_decode_into(k, &mut key);
                let mut name = Vec::new();
                if !super::json::append_sanitized(&mut name, &key) {
                    continue;
                }
                let name = String::from_utf8_lossy(&name).into_owned();
                if OWN_FIELDS.contains(&name.as_str()) || !wants(want, &name) {
                    continue;
                }
                f.set_with(&name, |b| url_decode_into(v, b));
            }
        }
        if let Some(pr) = protocol {
            set(f, want, "protocol", pr);
        }
    }
    set(f, want, "status", p.status);
    set(
        f,
        want,
        "bytes",
        if p.bytes == b"-" { b"0" } else { p.bytes },
    );
    set(f, want, "referer", p.referer);
    set(f, want, "user_agent", p.user_agent);
    if let Some(t) = p.request_time {
        set(f, want, "request_time", t);
        if wants(want, "latency_ms") {
            f.set_with("latency_ms", |b| seconds_text_to_ms(t, b));
        }
    }
    if ctx.need_ts {
        out.ts = crate::time::parse_clf(p.time_local);
    }
    true
}

pub fn looks_like(line: &[u8]) -> bool {
    parse(line).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Labels;

    #[test]
    fn combined_with_request_time() {
        let line = br#"203.0.113.9 - - [06/May/2026:10:30:45 +0000] "GET /v1/search?q=caf%C3%A9+bar&page=2&status=x HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" 0.231"#;
        let mut out = Decoded::default();
        let stream = Labels::new();
        let ctx = DecodeCtx {
            want: &Want::All,
            need_ts: true,
            stream: &stream,
            label_values: true,
        };
        assert!(decode(line, &ctx, &mut out));
        let f = &out.fields;
        assert_eq!(f.get("method"), Some("GET"));
        assert_eq!(f.get("path"), Some("/v1/search"));
        assert_eq!(f.get("query"), Some("q=caf%C3%A9+bar&page=2&status=x"));
        assert_eq!(f.get("q"), Some("café bar"));
        assert_eq!(f.get("page"), Some("2"));
        assert_eq!(f.get("status"), Some("200"));
        assert_eq!(f.get("bytes"), Some("512"));
        assert_eq!(f.get("user_agent"), Some("Mozilla/5.0 (X11)"));
        assert_eq!(f.get("latency_ms"), Some("231"));
        assert_eq!(f.get("protocol"), Some("HTTP/1.1"));
        assert!(out.ts.is_some());
    }

    #[test]
    fn without_request_time_and_rejects() {
        assert!(parse(
            br#"1.2.3.4 - - [06/May/2026:10:30:45 +0000] "GET / HTTP/1.1" 404 - "-" "curl/8""#
        )
        .is_some());
        assert!(
            parse(br#"1.2.3.4 - - [06/May/2026:10:30:45 +0000] "GET / HTTP/1.1" 404 - "-""#)
                .is_none()
        );
        assert!(parse(b"hello world").is_none());
        assert!(parse(
            br#"1.2.3.4 - - [06/May/2026:10:30:45 +0000] "GET / HTTP/1.1" 404 - "-" "curl/8" junk"#
        )
        .is_none());
    }

    #[test]
    fn ms_conversion_is_exact() {
        for (s, ms) in [
            ("0.231", "231"),
            ("1.5", "1500"),
            ("0.0005", "0.5"),
            ("12", "12000"),
            ("0.000", "0"),
        ] {
            let mut out = String::new();
            seconds_text_to_ms(s.as_bytes(), &mut out);
            assert_eq!(out, ms, "{s}");
        }
    }
}
