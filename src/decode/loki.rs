//! Grafana Loki's JSON: push-API bodies (`/loki/api/v1/push`, and the tail
//! API's messages)
//!
//! `{"streams":[{"stream":{"app":"api"},"values":[["<ns>","<line>"],["<ns>","<line>",{<structured metadata>}]]}]}`
//!
//! and `query`/`query_range` responses
//!
//! `{"status":"success","data":{"resultType":"streams","result":[{"stream":{…},"values":[…]}]}}`,
//!
//! on one line or pretty-printed over many (curl, `jq`). One body holds many
//! entries: [`explode`] (run by the framing's `BodySplitter` before the
//! framing, see `Format::join_lines`) writes one internal line per entry in
//! logcli's JSON Lines shape plus the metadata,
//! `{"labels":{…},"line":"…","timestamp":"<ns>","meta":{…}}`, copying the
//! body's JSON text as it is (no unescaping and escaping again), and the
//! decoder below reads those lines as an envelope: the entry's line is the
//! line the query sees and `filter` prints (as Fly's app line), the stream's
//! labels are the record's stream labels (so `{app="api"}` selects it),
//! structured metadata are fields (labels to the query at once, as in
//! Loki), and the event time is the entry's timestamp. As in Loki, the
//! entry line is only the line: a query parses it with `| json` or
//! `| logfmt`, so `count_over_time({app="a"} | json who="user.id" [1m])`
//! has the labels Loki gives it. The metrics report, which reads data and
//! not LogQL labels, takes a JSON object line's fields as from any JSON
//! line (keys that clash with a label or metadata name get `_extracted`).
//! logcli's and nagare's own `--output jsonl` lines decode the same way.
//!
//! Metric responses (`matrix`, `vector`, `scalar`) hold no log entries:
//! they are skipped with a warning. Protobuf push bodies are not read.

use std::borrow::Cow;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::json::{JsonScanner, Want};
use super::{DecodeCtx, Decoded};
use crate::framing::bodies::{push_one_line, Exploded};
use crate::record::Fields;

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow, default)]
    streams: Option<Vec<Stream<'a>>>,
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(rename = "resultType", borrow)]
    result_type: Cow<'a, str>,
    #[serde(borrow)]
    result: &'a RawValue,
}

#[derive(Deserialize)]
struct Stream<'a> {
    #[serde(borrow, default)]
    stream: Option<&'a RawValue>,
    #[serde(borrow)]
    values: Vec<Entry<'a>>,
}

/// `[ts, line]` or `[ts, line, {metadata}]`, kept as JSON text.
struct Entry<'a> {
    ts: &'a RawValue,
    line: &'a RawValue,
    meta: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Entry<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entry<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("[timestamp, line] or [timestamp, line, {metadata}]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Entry<'de>, A::Error> {
                use serde::de::Error;
                let ts: &RawValue = s
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let line: &RawValue = s
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                let meta: Option<&RawValue> = s.next_element()?;
                if s.next_element::<&RawValue>()?.is_some() {
                    return Err(A::Error::invalid_length(4, &self));
                }
                Ok(Entry { ts, line, meta })
            }
        }
        d.deserialize_seq(V)
    }
}

/// The `BodySplitter`'s hook: one line per entry of a push body or a
/// `streams` query response.
pub fn explode(body: &[u8], out: &mut Vec<u8>) -> Exploded {
    let Ok(b) = serde_json::from_slice::<Body<'_>>(body) else {
        return Exploded::NotABody;
    };
    let streams = match (b.streams, b.data) {
        (Some(s), _) => s,
        (None, Some(d)) if d.result_type == "streams" => {
            match serde_json::from_str::<Vec<Stream<'_>>>(d.result.get()) {
                Ok(s) => s,
                Err(_) => return Exploded::NotABody,
            }
        }
        (None, Some(d)) if matches!(&*d.result_type, "matrix" | "vector" | "scalar") => {
            return Exploded::Skipped(
                "a Loki metric query response (matrix, vector or scalar) holds no log entries",
            )
        }
        _ => return Exploded::NotABody,
    };
    for s in &streams {
        for e in &s.values {
            out.extend_from_slice(b"{\"labels\":");
            match s.stream {
                Some(l) => push_one_line(out, l.get().as_bytes()),
                None => out.extend_from_slice(b"{}"),
            }
            out.extend_from_slice(b",\"line\":");
            out.extend_from_slice(e.line.get().as_bytes());
            out.extend_from_slice(b",\"timestamp\":");
            out.extend_from_slice(e.ts.get().as_bytes());
            if let Some(m) = e.meta {
                out.extend_from_slice(b",\"meta\":");
                push_one_line(out, m.get().as_bytes());
            }
            out.extend_from_slice(b"}\n");
        }
    }
    Exploded::Lines
}

/// Whether a line (maybe cut short: a body can be longer than the
/// detection sample) starts a Loki body.
pub fn looks_like(line: &[u8]) -> bool {
    let t = line.trim_ascii_start();
    if t.first() != Some(&b'{') {
        return false;
    }
    let followed_by = |key: &[u8], next: &[u8]| {
        memchr::memmem::find_iter(t, key).any(|p| {
            let rest = t[p + key.len()..].trim_ascii_start();
            rest.first() == Some(&b':') && rest[1..].trim_ascii_start().starts_with(next)
        })
    };
    followed_by(b"\"streams\"", b"[") || followed_by(b"\"resultType\"", b"\"")
}

/// Reusable scratch for the entry line's own fields.
#[derive(Default)]
pub struct LokiScratch {
    entry: Fields,
}

/// Loki's timestamps: a string of Unix nanoseconds (or, in JSON Lines
/// output, RFC 3339).
fn parse_ts(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if !b.is_empty() && b.len() <= 19 && b.iter().all(u8::is_ascii_digit) {
        s.parse().ok()
    } else {
        crate::time::parse_rfc3339(b)
    }
}

/// A structured metadata field of an entry line: `meta_trace_id`.
fn meta_name(n: &str) -> Option<&str> {
    n.strip_prefix("meta_")
}

pub fn decode(
    scratch: &mut LokiScratch,
    json: &mut JsonScanner,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> bool {
    let entry = &mut scratch.entry;
    entry.clear();
    if json
        .scan_or_keep(false, line, &Want::All, &(), entry)
        .is_err()
    {
        return false;
    }
    let (Some(text), Some(ts)) = (entry.get("line"), entry.get("timestamp").and_then(parse_ts))
    else {
        return false;
    };
    out.app_line.clear();
    out.app_line.extend_from_slice(text.as_bytes());
    out.has_app_line = true;
    out.ts = Some(ts);
    for (n, v) in entry.iter() {
        if let Some(label) = n.strip_prefix("labels_") {
            out.line_labels.set(label, v);
        }
    }
    // LogQL reads label values (`ctx.label_values`): the line stays a
    // line. The report reads data: it takes the JSON object's fields.
    if !ctx.label_values && out.app_line.first() == Some(&b'{') {
        let line_labels = &out.line_labels;
        let clash = |n: &[u8]| {
            std::str::from_utf8(n).is_ok_and(|n| {
                ctx.stream.contains(n)
                    || line_labels.contains(n)
                    || entry.iter().any(|(k, _)| meta_name(k) == Some(n))
            })
        };
        let ok = json
            .scan_or_keep(
                ctx.label_values,
                &out.app_line,
                ctx.want,
                &clash,
                &mut out.fields,
            )
            .is_ok();
        out.json_object = ok;
        if !ok {
            out.fields.clear();
        }
    }
    // Structured metadata: a name that is a stream label takes the
    // `_extracted` suffix (Loki: stream > metadata > parsed).
    let mut suffixed = String::new();
    for (n, v) in entry.iter() {
        if let Some(m) = meta_name(n) {
            out.metadata.set(m, v);
            let name = if ctx.stream.contains(m) || out.line_labels.contains(m) {
                suffixed.clear();
                suffixed.push_str(m);
                suffixed.push_str("_extracted");
                suffixed.as_str()
            } else {
                m
            };
            if ctx.want.wants(name) || ctx.want.wants(m) {
                out.fields.set(name, v);
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Decoder, Format};

    fn lines(body: &str) -> String {
        let mut out = Vec::new();
        assert!(matches!(
            explode(body.as_bytes(), &mut out),
            Exploded::Lines
        ));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn push_and_query_bodies_become_entry_lines() {
        assert_eq!(
            lines(
                r#"{"streams": [{ "stream": { "foo": "bar2" }, "values": [ [ "1570818238000000000", "fizzbuzz" ], ["1570818238000000001", "a \"q\"", {"trace_id": "0242ac120002"}] ] }]}"#
            ),
            "{\"labels\":{ \"foo\": \"bar2\" },\"line\":\"fizzbuzz\",\"timestamp\":\"1570818238000000000\"}\n\
             {\"labels\":{ \"foo\": \"bar2\" },\"line\":\"a \\\"q\\\"\",\"timestamp\":\"1570818238000000001\",\"meta\":{\"trace_id\": \"0242ac120002\"}}\n"
        );
        assert_eq!(
            lines(
                "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":{\n\"job\":\"varlogs\"},\"values\":[[\"1569266497240578000\",\"foo\"]]}],\"stats\":{}}}"
            ),
            "{\"labels\":{ \"job\":\"varlogs\"},\"line\":\"foo\",\"timestamp\":\"1569266497240578000\"}\n"
        );
        let mut out = Vec::new();
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(matches!(
            explode(matrix.as_bytes(), &mut out),
            Exploded::Skipped(_)
        ));
        for not in [
            r#"{"a":1}"#,
            r#"{"streams":[{"stream":{},"values":[["1"]]}]}"#,
            r#"{"status":"error","error":"parse error"}"#,
            "{\"streams\":[",
        ] {
            assert!(
                matches!(explode(not.as_bytes(), &mut out), Exploded::NotABody),
                "{not}"
            );
        }
        assert!(out.is_empty());
    }

    /// Decodes as the metrics report does (data, not label values).
    fn run(line: &str) -> (bool, Decoded) {
        run_as(line, false)
    }

    fn run_as(line: &str, label_values: bool) -> (bool, Decoded) {
        let mut d = Decoder::new();
        let mut out = Decoded::default();
        let stream = crate::record::Labels::new();
        let ctx = DecodeCtx {
            want: &crate::decode::Want::All,
            need_ts: true,
            stream: &stream,
            label_values,
            now_ns: 0,
        };
        let ok = d.decode(Format::Loki, line.as_bytes(), &ctx, &mut out);
        (ok, out)
    }

    /// Structured metadata named like a stream label take the
    /// `_extracted` suffix (parsers.logqltest: "precedence stream >
    /// metadata > parsed"); their own names are kept for the parser stages'
    /// clash check.
    #[test]
    fn metadata_named_like_a_stream_label_is_extracted() {
        let (ok, out) = run_as(
            r#"{"labels":{"sm":"s"},"line":"x","timestamp":"1","meta":{"sm":"m","md":"m"}}"#,
            true,
        );
        assert!(ok);
        assert_eq!(out.line_labels.get("sm"), Some("s"));
        assert_eq!(out.fields.get("sm"), None);
        assert_eq!(out.fields.get("sm_extracted"), Some("m"));
        assert_eq!(out.fields.get("md"), Some("m"));
        assert!(out.metadata.contains("sm") && out.metadata.contains("md"));
    }

    /// In LogQL the entry line is the line (Loki's `{app="a"} | json …`
    /// sees only the stream labels and structured metadata before its
    /// parser stage): only the metadata become fields.
    #[test]
    fn in_logql_the_entry_line_is_only_the_line() {
        let (ok, out) = run_as(
            r#"{"labels":{"app":"api"},"line":"{\"level\":\"error\",\"status\":503}","timestamp":"1","meta":{"trace_id":"t1"}}"#,
            true,
        );
        assert!(ok);
        assert_eq!(out.fields.get("status"), None);
        assert_eq!(out.fields.get("trace_id"), Some("t1"));
        assert!(!out.json_object);
        assert_eq!(out.app_line, br#"{"level":"error","status":503}"#);
    }

    #[test]
    fn entry_lines_decode_as_envelopes() {
        let (ok, out) = run(
            r#"{"labels":{"app":"api","level":"x"},"line":"{\"level\":\"error\",\"status\":503,\"trace_id\":\"t\"}","timestamp":"1570818238000000001","meta":{"trace_id":"0242ac120002"}}"#,
        );
        assert!(ok);
        assert_eq!(out.line_labels.get("app"), Some("api"));
        assert_eq!(out.fields.get("status"), Some("503"));
        assert_eq!(out.fields.get("level_extracted"), Some("error"));
        assert_eq!(out.fields.get("trace_id"), Some("0242ac120002"));
        assert_eq!(out.fields.get("trace_id_extracted"), Some("t"));
        assert_eq!(out.ts, Some(1_570_818_238_000_000_001));
        assert!(out.json_object);

        let (ok, out) =
            run(r#"{"labels":{},"line":"plain text","timestamp":"2019-10-11T18:23:58Z"}"#);
        assert!(ok);
        assert_eq!(out.app_line, b"plain text");
        assert_eq!(out.ts, Some(1_570_818_238_000_000_000));

        for bad in [
            "",
            "fizzbuzz",
            r#"{"labels":{},"line":"x"}"#,
            r#"{"labels":{},"line":"x","timestamp":"yesterday"}"#,
            r#"{"labels":{},"timestamp":"1"}"#,
        ] {
            assert!(!run(bad).0, "{bad}");
        }
    }

    #[test]
    fn detection() {
        assert!(looks_like(
            br#"{"streams": [{ "stream": { "foo": "bar2" }, "values": [ [ "15708"#
        ));
        assert!(looks_like(
            br#"{ "status": "success", "data": { "resultType": "streams", "result": ["#
        ));
        assert!(!looks_like(br#"{"streams":"x"}"#));
        assert!(!looks_like(br#"{"msg":"{\"streams\":[]}"}"#));
        assert!(!looks_like(b"streams: [1]"));
    }
}
