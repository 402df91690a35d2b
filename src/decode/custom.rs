//! Lines of a user-defined format (`parsers/*.toml`, see `formats`): the
//! pattern or regex must match, every capture becomes a field (typed ones
//! checked and written in canonical form, `-` and empty ones left out),
//! `labels` captures become stream labels, and the event time comes from
//! the `timestamp` capture. A line that does not match, is not UTF-8, or
//! has a typed value that does not read is not a record: it is kept with
//! no fields, like every malformed line. A time that does not read leaves
//! the record on its arrival time and says so ([`Outcome::RecordBadTime`]).

use regex::bytes::CaptureLocations;

use super::{DecodeCtx, Decoded, Want};
use crate::formats::typed::{FieldType, LATENCY_FIELD};
use crate::formats::{CustomFormat, Matcher};

/// Per-worker buffers for one custom format.
#[derive(Default)]
pub struct CustomScratch {
    locs: Option<CaptureLocations>,
    bufs: Bufs,
}

#[derive(Default)]
struct Bufs {
    value: String,
    latency: String,
    time: String,
    query: super::clf::Scratch,
}

/// What decoding one line found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Record,
    /// A record whose time capture did not read: it keeps arrival time.
    RecordBadTime,
    Malformed,
}

fn wants(want: &Want, name: &str) -> bool {
    match want {
        Want::All => true,
        Want::Names(v) => v.iter().any(|n| n == name),
        Want::Nothing => false,
    }
}

/// Decodes `line` into `out` (reset by the caller).
pub fn decode(
    fmt: &CustomFormat,
    scratch: &mut CustomScratch,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> Outcome {
    let Ok(text) = std::str::from_utf8(line) else {
        return Outcome::Malformed;
    };
    let bufs = &mut scratch.bufs;
    bufs.time.clear();
    let mut values_ok = true;
    let matched = match &fmt.matcher {
        Matcher::Pattern(p) => p.captures_full(line, |name, v| {
            // Captures split a UTF-8 line at literals or at its ends, so
            // each is UTF-8 too.
            let v = std::str::from_utf8(v).unwrap_or_default();
            values_ok = values_ok && put(fmt, bufs, ctx.want, name, v, out);
        }),
        Matcher::Regex(re) => {
            let locs = scratch.locs.get_or_insert_with(|| re.capture_locations());
            let m = re.captures_read(locs, line).is_some();
            if m {
                for (i, name) in re.capture_names().enumerate() {
                    let (Some(name), Some((s, e))) = (name, locs.get(i)) else {
                        continue;
                    };
                    values_ok = values_ok && put(fmt, bufs, ctx.want, name, &text[s..e], out);
                }
            }
            m
        }
    };
    if !matched || !values_ok {
        out.fields.clear();
        out.line_labels.clear();
        return Outcome::Malformed;
    }
    if ctx.need_ts && !bufs.time.is_empty() {
        // A line without the (optional) time capture simply has no time.
        if let Some(spec) = &fmt.timestamp {
            out.ts = spec.parse(&bufs.time, ctx.now_ns);
            if out.ts.is_none() {
                return Outcome::RecordBadTime;
            }
        }
    }
    Outcome::Record
}

/// Sets one capture; `false` when a typed value does not read.
fn put(
    fmt: &CustomFormat,
    bufs: &mut Bufs,
    want: &Want,
    name: &str,
    value: &str,
    out: &mut Decoded,
) -> bool {
    if fmt.timestamp.as_ref().is_some_and(|t| t.field == name) {
        bufs.time.push_str(value);
    }
    let ty = fmt.type_of(name);
    if ty.is_absent(value) {
        return true;
    }
    let is_label = fmt.labels.iter().any(|l| l == name);
    let value = if ty == FieldType::String {
        bufs.latency.clear();
        value
    } else {
        // Converted even when the query does not read the field, so
        // whether a line is a record never depends on the query.
        if ty
            .convert(value, &mut bufs.value, &mut bufs.latency)
            .is_err()
        {
            return false;
        }
        &bufs.value
    };
    if is_label {
        out.line_labels.set(name, value);
    } else if wants(want, name) {
        out.fields.set(name, value);
    }
    if !bufs.latency.is_empty() && wants(want, LATENCY_FIELD) {
        out.fields.set(LATENCY_FIELD, &bufs.latency);
    }
    if ty == FieldType::Query {
        // A parameter never overrides a capture, whichever comes first.
        let own = |param: &[u8]| {
            param == LATENCY_FIELD.as_bytes() || fmt.captures.iter().any(|c| c.as_bytes() == param)
        };
        super::clf::query_params(
            &mut bufs.query,
            value.as_bytes(),
            want,
            &own,
            &mut out.fields,
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::definition;
    use crate::record::Labels;

    const NOW: i64 = 1_778_063_445_000_000_000; // 2026-05-06T10:30:45Z

    fn run(def: &str, line: &str, want: Want) -> (Outcome, Decoded) {
        let f = definition::parse(def, "t.toml").unwrap();
        let stream = Labels::new();
        let ctx = DecodeCtx {
            want: &want,
            need_ts: true,
            stream: &stream,
            label_values: true,
            now_ns: NOW,
        };
        let mut out = Decoded::default();
        let o = decode(
            &f,
            &mut CustomScratch::default(),
            line.as_bytes(),
            &ctx,
            &mut out,
        );
        (o, out)
    }

    const NGINX: &str = r#"
name = "nginx-timed"
pattern = '<remote_addr> - <_> [<time_local>] "<method> <path> <_>" <status> <bytes> "<_>" "<user_agent>" <request_time>'
timestamp = { field = "time_local", format = "%d/%b/%Y:%H:%M:%S %z" }
types = { status = "int", bytes = "int", request_time = "seconds" }
"#;

    #[test]
    fn pattern_format_decodes_typed_fields_and_time() {
        let line = r#"127.0.0.1 - - [06/May/2026:10:30:45 +0900] "GET /v1/x HTTP/1.1" 200 512 "-" "curl/8" 0.231"#;
        let (o, d) = run(NGINX, line, Want::All);
        assert_eq!(o, Outcome::Record);
        assert_eq!(d.fields.get("status"), Some("200"));
        assert_eq!(d.fields.get("path"), Some("/v1/x"));
        assert_eq!(d.fields.get("latency_ms"), Some("231"));
        assert_eq!(d.fields.get("request_time"), Some("0.231"));
        assert_eq!(d.ts, Some(NOW - 9 * 3600 * 1_000_000_000));
        // Only what the query reads is written.
        let (_, d) = run(NGINX, line, Want::names(["status"]));
        assert_eq!(d.fields.len(), 1);
    }

    #[test]
    fn non_records() {
        // No match.
        let (o, d) = run(NGINX, "just text", Want::All);
        assert_eq!((o, d.fields.len()), (Outcome::Malformed, 0));
        // A typed value that does not read.
        let line = r#"127.0.0.1 - - [06/May/2026:10:30:45 +0900] "GET /v1/x HTTP/1.1" abc 512 "-" "curl/8" 0.231"#;
        let (o, d) = run(NGINX, line, Want::All);
        assert_eq!((o, d.fields.len()), (Outcome::Malformed, 0));
        // `-` is "no value", not an error.
        let line = r#"127.0.0.1 - - [06/May/2026:10:30:45 +0900] "GET /v1/x HTTP/1.1" 200 - "-" "curl/8" 0.231"#;
        let (o, d) = run(NGINX, line, Want::All);
        assert_eq!((o, d.fields.get("bytes")), (Outcome::Record, None));
        // A bad time: a record on arrival time.
        let line = r#"127.0.0.1 - - [06/Mayo/2026:10:30:45 +0900] "GET /v1/x HTTP/1.1" 200 1 "-" "curl/8" 0.231"#;
        let (o, d) = run(NGINX, line, Want::All);
        assert_eq!((o, d.ts), (Outcome::RecordBadTime, None));
        assert_eq!(d.fields.get("status"), Some("200"));
    }

    #[test]
    fn regex_format_with_labels() {
        let def = r#"
name = "svc"
regex = '^(?P<time>\S+) (?P<app>[a-z]+)\[(?P<pid>\d+)\]: (?P<msg>.*)$'
timestamp = { field = "time" }
labels = ["app"]
types = { pid = "int" }
"#;
        let (o, d) = run(def, "2026-05-06T10:30:45Z api[042]: started", Want::All);
        assert_eq!(o, Outcome::Record);
        assert_eq!(d.line_labels.get("app"), Some("api"));
        assert_eq!(d.fields.get("app"), None);
        assert_eq!(d.fields.get("pid"), Some("42"));
        assert_eq!(d.fields.get("msg"), Some("started"));
        assert_eq!(d.ts, Some(NOW));
        let (o, _) = run(def, "2026-05-06T10:30:45Z API: started", Want::All);
        assert_eq!(o, Outcome::Malformed);
    }

    #[test]
    fn an_optional_time_capture_that_is_absent_is_no_bad_time() {
        let def = r#"
name = "opt"
regex = '^(?:(?P<time>\S+Z) )?(?P<msg>.*)$'
timestamp = { field = "time" }
"#;
        let (o, d) = run(def, "hello there", Want::All);
        assert_eq!((o, d.ts), (Outcome::Record, None));
        let (o, d) = run(def, "2026-05-06T10:30:45Z hi", Want::All);
        assert_eq!((o, d.ts), (Outcome::Record, Some(NOW)));
        let (o, _) = run(def, "2026-99-06T10:30:45Z hi", Want::All);
        assert_eq!(o, Outcome::RecordBadTime);
    }

    #[test]
    fn quoted_captures_are_unquoted() {
        // Go's slog TextHandler quotes a value with spaces or quotes.
        let def = r#"
name = "slog"
regex = '^time=(?P<time>\S+) level=(?P<level>\S+) msg=(?P<msg>"(?:[^"\\]|\\.)*"|\S+)$'
types = { msg = "quoted" }
"#;
        let (o, d) = run(
            def,
            r#"time=2026-05-06T10:30:45Z level=INFO msg="said \"hi\"\n""#,
            Want::All,
        );
        assert_eq!(o, Outcome::Record);
        assert_eq!(d.fields.get("msg"), Some("said \"hi\"\n"));
        let (_, d) = run(
            def,
            "time=2026-05-06T10:30:45Z level=INFO msg=hello",
            Want::All,
        );
        assert_eq!(d.fields.get("msg"), Some("hello"));
    }

    #[test]
    fn query_captures_become_parameters() {
        let def = r#"
name = "qs"
regex = '^(?P<method>\S+) (?P<path>[^ ?]*)(?:\?(?P<query>\S*))? (?P<status>\d+)$'
types = { query = "query", status = "int" }
"#;
        let (o, d) = run(
            def,
            "GET /search?q=caf%C3%A9+bar&page=2&status=999&path=x&2fa=1 200",
            Want::All,
        );
        assert_eq!(o, Outcome::Record);
        assert_eq!(d.fields.get("q"), Some("café bar"));
        assert_eq!(d.fields.get("page"), Some("2"));
        assert_eq!(d.fields.get("_2fa"), Some("1"), "names sanitized as Loki's");
        // A parameter never overrides a capture, before or after it.
        assert_eq!(d.fields.get("status"), Some("200"));
        assert_eq!(d.fields.get("path"), Some("/search"));
        assert_eq!(
            d.fields.get("query"),
            Some("q=caf%C3%A9+bar&page=2&status=999&path=x&2fa=1")
        );
        // Only what the query reads.
        let (_, d) = run(def, "GET /s?q=a&page=2 200", Want::names(["q"]));
        assert_eq!((d.fields.get("q"), d.fields.len()), (Some("a"), 1));
        // No query string: no parameters, still a record.
        let (o, d) = run(def, "GET /s 200", Want::All);
        assert_eq!((o, d.fields.get("query")), (Outcome::Record, None));
    }
}
