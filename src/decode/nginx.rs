//! nginx's default `combined` log format, with an optional trailing
//! `$request_time`:
//!
//! `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//!  "$http_referer" "$http_user_agent" [$request_time]`
//!
//! Parsing and fields are shared with Apache in [`super::clf`].

use super::clf::{self, Dialect};
use super::{DecodeCtx, Decoded};

pub const DIALECT: Dialect = Dialect {
    common: false,
    request_time: true,
    ident_user: false,
};

pub fn decode(
    scratch: &mut clf::Scratch,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> bool {
    clf::decode(&DIALECT, scratch, line, ctx, out)
}

pub fn looks_like(line: &[u8]) -> bool {
    clf::parse(line, &DIALECT).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_with_request_time() {
        let line = br#"203.0.113.9 - - [06/May/2026:10:30:45 +0000] "GET /v1/search?q=caf%C3%A9+bar&page=2&status=x HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" 0.231"#;
        let mut out = Decoded::default();
        assert!(DecodeCtx::all_fields(0, |ctx| decode(
            &mut clf::Scratch::default(),
            line,
            ctx,
            &mut out
        )));
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
        assert_eq!(f.get("user"), None);
        assert!(out.ts.is_some());
    }

    #[test]
    fn without_request_time_and_rejects() {
        assert!(looks_like(
            br#"1.2.3.4 - - [06/May/2026:10:30:45 +0000] "GET / HTTP/1.1" 404 - "-" "curl/8""#
        ));
        for line in [
            &br#"1.2.3.4 - - [06/May/2026:10:30:45 +0000] "GET / HTTP/1.1" 404 - "-""#[..],
            b"hello world",
            br#"1.2.3.4 - - [06/May/2026:10:30:45 +0000] "GET / HTTP/1.1" 404 - "-" "curl/8" junk"#,
            // Apache's common format is not nginx's.
            br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        ] {
            assert!(!looks_like(line), "{}", String::from_utf8_lossy(line));
        }
    }
}
