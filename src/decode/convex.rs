//! Convex log-stream events, one JSON object per line, in both of Convex's
//! schemas (and, from a webhook, as the batches it POSTs: a JSON array of
//! events, split into one line per event before framing, see [`explode`]):
//!
//! - the current one: `{"topic":"function_execution","timestamp":<ms>,
//!   "function":{"path":"messages:list","type":"query","cached":false,
//!   "request_id":"…"},"status":"success","execution_time_ms":294,
//!   "usage":{"database_read_bytes":1077,…}}`, `console` events with
//!   `log_level` and `message`, `audit_log`, `verification`,
//!   `scheduler_stats`; also with the event under `data`, as Axiom stores
//!   it;
//! - the legacy one (log streams set up before May 2024): `_topic`
//!   (`_console`, `_execution_record`, `_audit_log`, `_verification`,
//!   `_exception`), `_timestamp`, `_functionPath`, `_functionType`,
//!   `_functionCached`, `status`, `reason`, `executionTimeMs`,
//!   `databaseReadBytes`, …; a console `message` starts with `[LEVEL] `.
//!
//! Both decode to the same fields, named for nagare's roles so the metrics
//! work as they are: `topic` (without the legacy `_`; `_execution_record`
//! is `function_execution`), `timestamp`, `function_path`, `function_type`
//! (`http_action` for the legacy `httpAction`), `function_cached`,
//! `request_id`, `status`, `execution_time_ms`, `error_message`, `level`,
//! `message`, `usage_database_read_bytes`, `usage_database_write_bytes`,
//! `usage_file_storage_read_bytes`, `usage_file_storage_write_bytes`, …,
//! `audit_log_action`, `audit_log_metadata…`; other keys flatten as in the
//! `json` format. The event time is the millisecond `timestamp`. A JSON line
//! without a topic and a valid timestamp is not a Convex event: malformed.
//! The line itself is what the query sees; `| json` on it extracts the raw
//! keys again.

use super::json::{JsonScanner, Want};
use super::{DecodeCtx, Decoded};
use crate::framing::bodies::{push_one_line, Exploded};
use crate::record::Fields;

#[derive(Default)]
pub struct ConvexScratch {
    event: Fields,
    name: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Schema {
    Current,
    /// The current schema under `data` (Axiom).
    Wrapped,
    Legacy,
}

/// How one field of the event is written out.
enum Target<'a> {
    Same,
    Name(&'static str),
    /// `actionMetadata_x` → `audit_log_metadata_x`.
    Prefixed(&'static str, &'a str),
}

fn legacy_name(n: &str) -> Target<'_> {
    match n {
        "_topic" => Target::Name("topic"),
        "_timestamp" => Target::Name("timestamp"),
        "_functionPath" => Target::Name("function_path"),
        "_functionType" => Target::Name("function_type"),
        "_functionCached" => Target::Name("function_cached"),
        "reason" => Target::Name("error_message"),
        "executionTimeMs" => Target::Name("execution_time_ms"),
        "databaseReadBytes" => Target::Name("usage_database_read_bytes"),
        "databaseWriteBytes" => Target::Name("usage_database_write_bytes"),
        "storageReadBytes" => Target::Name("usage_file_storage_read_bytes"),
        "storageWriteBytes" => Target::Name("usage_file_storage_write_bytes"),
        "action" => Target::Name("audit_log_action"),
        "udfServerVersion" => Target::Name("udf_server_version"),
        "userIdentifier" => Target::Name("user_identifier"),
        _ => match n.strip_prefix("actionMetadata_") {
            Some(rest) => Target::Prefixed("audit_log_metadata_", rest),
            None => Target::Same,
        },
    }
}

fn current_name(n: &str) -> Target<'_> {
    match n {
        "function_request_id" => Target::Name("request_id"),
        "log_level" => Target::Name("level"),
        _ => Target::Same,
    }
}

/// `_execution_record` → `function_execution`, `_console` → `console`.
fn legacy_topic(v: &str) -> &str {
    match v {
        "_execution_record" => "function_execution",
        _ => v.strip_prefix('_').unwrap_or(v),
    }
}

/// A legacy console message, `[LOG] 'text'`: its level and text.
fn split_level(m: &str) -> Option<(&str, &str)> {
    let rest = m.strip_prefix('[')?;
    let (level, text) = rest.split_once("] ")?;
    (!level.is_empty() && level.bytes().all(|c| c.is_ascii_uppercase())).then_some((level, text))
}

pub fn decode(
    scratch: &mut ConvexScratch,
    json: &mut JsonScanner,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> bool {
    let ConvexScratch { event, name } = scratch;
    event.clear();
    if json
        .scan_or_keep(ctx.label_values, line, &Want::All, &(), event)
        .is_err()
    {
        return false;
    }
    let (schema, ts_name) = if event.contains("topic") {
        (Schema::Current, "timestamp")
    } else if event.contains("_topic") {
        (Schema::Legacy, "_timestamp")
    } else if event.contains("data_topic") {
        (Schema::Wrapped, "data_timestamp")
    } else {
        return false;
    };
    let Some(ts) = event
        .get(ts_name)
        .and_then(|t| crate::time::parse_epoch(t.as_bytes()))
    else {
        return false;
    };
    out.ts = Some(ts);
    let console = schema == Schema::Legacy && event.get("_topic") == Some("_console");
    // Sets the field named `p1` + `p2` (no allocation: the name is built
    // in a reused buffer).
    let mut set = |p1: &str, p2: &str, value: &str| {
        name.clear();
        name.extend_from_slice(p1.as_bytes());
        name.extend_from_slice(p2.as_bytes());
        if ctx.stream.contains_bytes(name) {
            // A stream label's name: Loki's `_extracted` rule.
            name.extend_from_slice(b"_extracted");
        }
        if ctx.want.wants_bytes(name) {
            out.fields.set_with_name_bytes(name, |b| b.push_str(value));
        }
    };
    for (n, v) in event.iter() {
        let n = match schema {
            Schema::Wrapped => match n.strip_prefix("data_") {
                Some(inner) => inner,
                None => n,
            },
            _ => n,
        };
        let target = match schema {
            Schema::Legacy => legacy_name(n),
            _ => current_name(n),
        };
        match target {
            Target::Same => set(n, "", v),
            Target::Name("topic") if schema == Schema::Legacy => set("topic", "", legacy_topic(v)),
            Target::Name("function_type") if v == "httpAction" => {
                set("function_type", "", "http_action")
            }
            Target::Name(t) => set(t, "", v),
            Target::Prefixed(p, rest) => set(p, rest, v),
        }
        if console && n == "message" {
            if let Some((level, text)) = split_level(v) {
                set("level", "", level);
                set("message", "", text);
            }
        }
    }
    true
}

/// Whether a line is a Convex event (for detection).
pub fn looks_like(line: &[u8]) -> bool {
    let t = line.trim_ascii_start();
    if t.first() != Some(&b'{') {
        return false;
    }
    let has = |s: &[u8]| memchr::memmem::find(t, s).is_some();
    if !(has(b"\"topic\"") || has(b"\"_topic\"")) {
        return false;
    }
    let stream = crate::record::Labels::new();
    let ctx = DecodeCtx {
        want: &Want::Nothing,
        need_ts: false,
        stream: &stream,
        label_values: false,
        now_ns: 0,
    };
    decode(
        &mut ConvexScratch::default(),
        &mut JsonScanner::new(),
        line,
        &ctx,
        &mut Decoded::default(),
    )
}

/// The `BodySplitter`'s hook for webhook batches: a JSON array of events
/// becomes one line per event.
pub fn explode(body: &[u8], out: &mut Vec<u8>) -> Exploded {
    let Ok(events) = serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(body) else {
        return Exploded::NotABody;
    };
    for e in events {
        push_one_line(out, e.get().as_bytes());
        out.push(b'\n');
    }
    Exploded::Lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Decoder, Format};

    fn run(line: &str) -> (bool, Decoded) {
        let mut d = Decoder::new();
        let mut out = Decoded::default();
        let ok = DecodeCtx::all_fields(0, |ctx| {
            d.decode(Format::Convex, line.as_bytes(), ctx, &mut out)
        });
        (ok, out)
    }

    #[test]
    fn both_schemas_give_the_same_fields() {
        let (ok, cur) = run(
            r#"{"topic":"function_execution","timestamp":1695066350531,"function":{"path":"POST /sendImage","type":"http_action","request_id":"d064ef901f7ec0b7"},"status":"failure","error_message":"Uncaught Error","execution_time_ms":73,"usage":{"database_read_bytes":10,"file_storage_write_bytes":2}}"#,
        );
        assert!(ok);
        let (ok, old) = run(
            r#"{"_topic":"_execution_record","_timestamp":1695066350531,"_functionType":"httpAction","_functionPath":"POST /sendImage","status":"failure","reason":"Uncaught Error","executionTimeMs":73,"databaseReadBytes":10,"storageWriteBytes":2}"#,
        );
        assert!(ok);
        for f in [
            "topic",
            "timestamp",
            "function_path",
            "function_type",
            "status",
            "error_message",
            "execution_time_ms",
            "usage_database_read_bytes",
            "usage_file_storage_write_bytes",
        ] {
            assert!(cur.fields.get(f).is_some(), "{f}");
            assert_eq!(cur.fields.get(f), old.fields.get(f), "{f}");
        }
        assert_eq!(cur.fields.get("topic"), Some("function_execution"));
        assert_eq!(cur.fields.get("function_type"), Some("http_action"));
        assert_eq!(cur.fields.get("request_id"), Some("d064ef901f7ec0b7"));
        assert_eq!(cur.ts, Some(1_695_066_350_531_000_000));
        assert_eq!(old.ts, cur.ts);
        assert!(!cur.json_object);
    }

    #[test]
    fn console_levels() {
        let (ok, cur) = run(
            r#"{"topic":"console","timestamp":1715879172882,"function":{"path":"messages:send","type":"mutation"},"log_level":"LOG","message":"'Sent message!'"}"#,
        );
        assert!(ok);
        assert_eq!(cur.fields.get("level"), Some("LOG"));
        assert_eq!(cur.fields.get("message"), Some("'Sent message!'"));
        let (ok, old) = run(
            r#"{"_topic":"_console","_timestamp":1695066350531,"_functionType":"query","_functionPath":"myDir/myFile","_functionCached":true,"message":"[LOG] 'My log message'"}"#,
        );
        assert!(ok);
        assert_eq!(old.fields.get("level"), Some("LOG"));
        assert_eq!(old.fields.get("message"), Some("'My log message'"));
        assert_eq!(old.fields.get("function_cached"), Some("true"));
        assert_eq!(old.fields.get("topic"), Some("console"));
    }

    #[test]
    fn axiom_data_wrapper_and_not_convex() {
        let (ok, w) = run(
            r#"{"data":{"topic":"function_execution","timestamp":1715973841548,"function":{"path":"message:list","type":"query"},"status":"success","execution_time_ms":294}}"#,
        );
        assert!(ok);
        assert_eq!(w.fields.get("function_path"), Some("message:list"));
        assert_eq!(w.fields.get("execution_time_ms"), Some("294"));
        for bad in [
            "",
            "not json",
            r#"{"event":"request","status":200}"#,
            r#"{"topic":"console"}"#,
            r#"{"topic":"console","timestamp":"soon"}"#,
            r#"{"topic":"console","timestamp":1715879172882"#,
        ] {
            assert!(!run(bad).0, "{bad}");
            assert!(!looks_like(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn webhook_batches_split() {
        let mut out = Vec::new();
        let body = b"[{\"topic\":\"verification\",\n \"timestamp\":1,\"message\":\"Convex connection test\"},{\"_topic\":\"_verification\",\"_timestamp\":2}]";
        assert!(matches!(explode(body, &mut out), Exploded::Lines));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"topic\":\"verification\",  \"timestamp\":1,\"message\":\"Convex connection test\"}\n{\"_topic\":\"_verification\",\"_timestamp\":2}\n"
        );
    }
}
