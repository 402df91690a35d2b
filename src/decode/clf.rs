//! The common log format family, shared by `nginx` and `apache`: NCSA's
//! common format and the combined format both servers log by default.
//!
//! `%h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i"] [$request_time]`
//!
//! One parser and one field writer serve both formats; a [`Dialect`] says
//! which tails a server writes (Apache's `common` stops after the byte
//! count, nginx may add `$request_time`) and whether `%l`/`%u` become fields.
//!
//! Fields: `remote_addr`, `method`, `path` (without the query string),
//! `query`, `protocol`, `status`, `bytes` (`-` → `0`), `referer`,
//! `user_agent`, `request_time` and `latency_ms` (request_time × 1000,
//! computed on the decimal text so no float noise creeps in), plus every
//! query-string parameter, URL-decoded, under its own name unless it
//! clashes with those.

use super::{DecodeCtx, Decoded, Want};
use crate::record::Fields;

/// What one server writes.
pub struct Dialect {
    /// Referer and user agent may be missing (Apache's `common` format).
    pub common: bool,
    /// A trailing `$request_time` (seconds) may follow (nginx).
    pub request_time: bool,
    /// `%l` and `%u` become the fields `ident` and `user` when not `-`.
    pub ident_user: bool,
}

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

/// Reused buffers for query-parameter names, so decoding allocates nothing
/// once warm.
#[derive(Default)]
pub struct Scratch {
    key: String,
    name: Vec<u8>,
}

pub struct Parsed<'a> {
    pub remote_addr: &'a [u8],
    pub ident: &'a [u8],
    pub user: &'a [u8],
    pub time_local: &'a [u8],
    pub request: &'a [u8],
    pub status: &'a [u8],
    pub bytes: &'a [u8],
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
    pub request_time: Option<&'a [u8]>,
}

/// The word before the next space, and what follows the space.
fn word(r: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = memchr::memchr(b' ', r)?;
    Some((&r[..sp], &r[sp + 1..]))
}

/// Splits a line; `None` when it does not match in full.
pub fn parse<'a>(line: &'a [u8], dialect: &Dialect) -> Option<Parsed<'a>> {
    let (remote_addr, r) = word(line)?;
    let (ident, r) = word(r)?;
    let (user, r) = word(r)?;
    let r = r.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', r)?;
    let time_local = &r[..close];
    let (request, r) = quoted(r[close + 1..].strip_prefix(b" ")?)?;
    let (status, r) = word(r.strip_prefix(b" ")?)?;
    let (bytes, tail) = match word(r) {
        Some((b, t)) => (b, Some(t)),
        None => (r, None),
    };
    let (referer, user_agent, request_time) = match tail {
        None if dialect.common => (None, None, None),
        None => return None,
        Some(t) => {
            let (referer, t) = quoted(t)?;
            let (user_agent, t) = quoted(t.strip_prefix(b" ")?)?;
            let request_time = match t {
                [] => None,
                [b' ', s @ ..]
                    if dialect.request_time
                        && !s.is_empty()
                        && s.iter().all(|c| c.is_ascii_digit() || *c == b'.') =>
                {
                    Some(s)
                }
                _ => return None,
            };
            (Some(referer), Some(user_agent), request_time)
        }
    };
    if status.len() != 3 || !status.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !(bytes == b"-" || (!bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit))) {
        return None;
    }
    Some(Parsed {
        remote_addr,
        ident,
        user,
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
    let start = out.len();
    out.push_str(int);
    for k in 0..3 {
        out.push(frac.as_bytes().get(k).map_or('0', |&c| c as char));
    }
    // Leading zeros go, but one digit stays.
    let zeros = out[start..].bytes().take_while(|&c| c == b'0').count();
    let keep = zeros.min(out.len() - start - 1);
    out.replace_range(start..start + keep, "");
    let frac_rest = frac.get(3..).unwrap_or("").trim_end_matches('0');
    if !frac_rest.is_empty() {
        out.push('.');
        out.push_str(frac_rest);
    }
}

/// Percent-decodes (with `+` as space) into `out`, reusing its buffer.
pub fn url_decode_into(s: &[u8], out: &mut String) {
    let mut bytes = std::mem::take(out).into_bytes();
    let start = bytes.len();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => bytes.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    bytes.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => bytes.push(b'%'),
            },
            c => bytes.push(c),
        }
        i += 1;
    }
    *out = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            // Rare: escapes that are not UTF-8 become U+FFFD.
            let mut b = e.into_bytes();
            let lossy = String::from_utf8_lossy(&b[start..]).into_owned();
            b.truncate(start);
            let mut s = String::from_utf8(b).unwrap_or_default();
            s.push_str(&lossy);
            s
        }
    };
}

fn set(out: &mut Fields, want: &Want, name: &str, v: &[u8]) {
    if want.wants(name) {
        out.set_with(name, |b| b.push_str(&String::from_utf8_lossy(v)));
    }
}

/// Decodes one line of `dialect` into `out`.
pub fn decode(
    dialect: &Dialect,
    scratch: &mut Scratch,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> bool {
    let Some(p) = parse(line, dialect) else {
        return false;
    };
    let want = ctx.want;
    let f = &mut out.fields;
    set(f, want, "remote_addr", p.remote_addr);
    if dialect.ident_user {
        if p.ident != b"-" {
            set(f, want, "ident", p.ident);
        }
        if p.user != b"-" {
            set(f, want, "user", p.user);
        }
    }
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
            let own = |name: &[u8]| {
                OWN_FIELDS.iter().any(|o| o.as_bytes() == name)
                    || (dialect.ident_user && (name == b"ident" || name == b"user"))
            };
            query_params(scratch, q, want, &own, f);
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
    if let Some(r) = p.referer {
        set(f, want, "referer", r);
    }
    if let Some(ua) = p.user_agent {
        set(f, want, "user_agent", ua);
    }
    if let Some(t) = p.request_time {
        set(f, want, "request_time", t);
        if want.wants("latency_ms") {
            f.set_with("latency_ms", |b| seconds_text_to_ms(t, b));
        }
    }
    if ctx.need_ts {
        out.ts = crate::time::parse_clf(p.time_local);
    }
    true
}

/// Each `k=v` of the query string `q` as a field `k`, URL-decoded and
/// sanitized, unless `own(k)`: a name the format sets itself. Custom
/// formats share it (the `query` field type).
pub fn query_params(
    scratch: &mut Scratch,
    q: &[u8],
    want: &Want,
    own: &dyn Fn(&[u8]) -> bool,
    f: &mut Fields,
) {
    for param in q.split(|&c| c == b'&') {
        let (k, v) = match memchr::memchr(b'=', param) {
            Some(e) => (&param[..e], &param[e + 1..]),
            None => (param, &b""[..]),
        };
        scratch.key.clear();
        url_decode_into(k, &mut scratch.key);
        scratch.name.clear();
        if !super::json::append_sanitized(&mut scratch.name, &scratch.key) {
            continue;
        }
        let name = &scratch.name[..];
        if own(name) || !want.wants_bytes(name) {
            continue;
        }
        f.set_with_name_bytes(name, |b| url_decode_into(v, b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms_conversion_is_exact() {
        for (s, ms) in [
            ("0.231", "231"),
            ("1.5", "1500"),
            ("0.0005", "0.5"),
            ("12", "12000"),
            ("0.000", "0"),
            ("0.010", "10"),
        ] {
            let mut out = String::from("x");
            seconds_text_to_ms(s.as_bytes(), &mut out);
            assert_eq!(out, format!("x{ms}"), "{s}");
        }
    }

    #[test]
    fn url_decoding() {
        for (s, want) in [
            ("caf%C3%A9+bar", "café bar"),
            ("100%", "100%"),
            ("a%2", "a%2"),
            ("%zz", "%zz"),
            ("%41", "A"),
            ("%ff", "\u{fffd}"),
        ] {
            let mut out = String::from(">");
            url_decode_into(s.as_bytes(), &mut out);
            assert_eq!(out, format!(">{want}"), "{s}");
        }
    }
}
