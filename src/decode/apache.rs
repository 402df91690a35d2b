//! Apache httpd's `common` and `combined` log formats (mod_log_config):
//!
//! `%h %l %u %t \"%r\" %>s %b` and `… \"%{Referer}i\" \"%{User-agent}i\"`
//!
//! Parsing and fields are shared with nginx in [`super::clf`]; Apache also
//! gives `%l` (`ident`) and `%u` (`user`) as fields when they are not `-`.

use super::clf::{self, Dialect};
use super::{DecodeCtx, Decoded};

pub const DIALECT: Dialect = Dialect {
    common: true,
    request_time: false,
    ident_user: true,
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

    fn run(line: &[u8]) -> Option<Decoded> {
        let mut out = Decoded::default();
        DecodeCtx::all_fields(0, |ctx| {
            decode(&mut clf::Scratch::default(), line, ctx, &mut out)
        })
        .then_some(out)
    }

    #[test]
    fn common_format_from_the_apache_docs() {
        let out = run(
            br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        )
        .unwrap();
        let f = &out.fields;
        assert_eq!(f.get("remote_addr"), Some("127.0.0.1"));
        assert_eq!(f.get("user"), Some("frank"));
        assert_eq!(f.get("ident"), None);
        assert_eq!(f.get("method"), Some("GET"));
        assert_eq!(f.get("path"), Some("/apache_pb.gif"));
        assert_eq!(f.get("protocol"), Some("HTTP/1.0"));
        assert_eq!(f.get("status"), Some("200"));
        assert_eq!(f.get("bytes"), Some("2326"));
        assert_eq!(f.get("referer"), None);
        assert_eq!(
            out.ts,
            crate::time::parse_rfc3339(b"2000-10-10T13:55:36-07:00")
        );
    }

    #[test]
    fn combined_format_from_the_apache_docs() {
        let out = run(
            br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?user=x&lang=en HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
        )
        .unwrap();
        let f = &out.fields;
        assert_eq!(f.get("referer"), Some("http://www.example.com/start.html"));
        assert_eq!(
            f.get("user_agent"),
            Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
        );
        // A query parameter never overrides a field of the format.
        assert_eq!(f.get("user"), Some("frank"));
        assert_eq!(f.get("lang"), Some("en"));
    }

    #[test]
    fn rejects_what_is_not_apache() {
        for line in [
            &b""[..],
            b"127.0.0.1 - frank",
            br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200"#,
            br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 12 "-" "x" 0.5"#,
            br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 2000 12"#,
        ] {
            assert!(run(line).is_none(), "{}", String::from_utf8_lossy(line));
        }
    }
}
