//! Reading one format definition (`parsers/NAME.toml`) into a
//! [`CustomFormat`] ready to decode lines, checking everything a line will
//! never get to complain about: the pattern or regex, capture names that
//! `timestamp`, `types` and `labels` refer to, the strftime format, the
//! multiline start regex, and the samples' shape. Every error names the
//! file, line and column.

use std::collections::BTreeMap;

use regex::bytes::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::timestamp::TimestampSpec;
use super::typed::{FieldType, LATENCY_FIELD, TYPE_NAMES};
use super::{CustomFormat, Expected, Matcher, Sample};
use crate::config_error::{key_pos, ConfigError};
use crate::logql::pattern::Pattern;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatFile {
    name: Spanned<String>,
    description: Option<String>,
    pattern: Option<Spanned<String>>,
    regex: Option<Spanned<String>>,
    timestamp: Option<Spanned<TimestampRaw>>,
    #[serde(default)]
    types: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    labels: Vec<Spanned<String>>,
    multiline: Option<Spanned<MultilineRaw>>,
    #[serde(default)]
    sample: Vec<Spanned<SampleRaw>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimestampRaw {
    field: String,
    format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MultilineRaw {
    start: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleRaw {
    line: String,
    #[serde(default)]
    expect: BTreeMap<String, Spanned<toml::Value>>,
    /// The expected event time, RFC 3339.
    timestamp: Option<Spanned<String>>,
}

/// Names a custom format may not take: the built-in formats' and `auto`.
fn reserved(name: &str) -> bool {
    name == "auto" || crate::decode::Format::ALL.iter().any(|f| f.name() == name)
}

/// Parses and checks the definition in `text`, read from `path`.
pub fn parse(text: &str, path: &str) -> Result<CustomFormat, ConfigError> {
    let err = |pos: usize, msg: String| ConfigError::at(path, text, pos, msg);
    let file: FormatFile =
        toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;

    let name = file.name.get_ref().clone();
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_name {
        return Err(err(
            file.name.span().start,
            format!("format name {name:?} must be letters, digits, '-', '_' or '.'"),
        ));
    }
    if reserved(&name) {
        return Err(err(
            file.name.span().start,
            format!("format name {name:?} is taken by a built-in format"),
        ));
    }

    let (matcher, captures) = match (&file.pattern, &file.regex) {
        (Some(p), None) => {
            let pat = Pattern::parse(p.get_ref()).map_err(|m| err(p.span().start, m))?;
            let names: Vec<String> = pat.names().map(str::to_string).collect();
            (Matcher::Pattern(pat), names)
        }
        (None, Some(r)) => {
            let re = Regex::new(r.get_ref())
                .map_err(|e| err(r.span().start, format!("invalid regex: {e}")))?;
            let names: Vec<String> = re.capture_names().flatten().map(str::to_string).collect();
            if names.is_empty() {
                return Err(err(
                    r.span().start,
                    "the regex has no named captures (?P<name>…): it would decode no fields".into(),
                ));
            }
            (Matcher::Regex(re), names)
        }
        (Some(p), Some(_)) => {
            return Err(err(
                p.span().start,
                "give either `pattern` or `regex`, not both".into(),
            ))
        }
        (None, None) => return Err(err(
            0,
            "a format needs a `pattern` (LogQL pattern syntax) or a `regex` with named captures"
                .into(),
        )),
    };
    let is_capture = |n: &str| captures.iter().any(|c| c == n);

    let timestamp = match &file.timestamp {
        None => None,
        Some(t) => {
            let raw = t.get_ref();
            if !is_capture(&raw.field) {
                return Err(err(
                    t.span().start,
                    format!(
                        "timestamp field {:?} is not a capture of the pattern (captures: {})",
                        raw.field,
                        captures.join(", ")
                    ),
                ));
            }
            Some(
                TimestampSpec::new(&raw.field, raw.format.as_deref())
                    .map_err(|m| err(t.span().start, m))?,
            )
        }
    };

    let mut types = Vec::new();
    for (field, ty) in &file.types {
        let Some(t) = FieldType::from_name(ty.get_ref()) else {
            return Err(err(
                ty.span().start,
                format!(
                    "unknown type {:?} for {field:?} (one of: {TYPE_NAMES})",
                    ty.get_ref()
                ),
            ));
        };
        if !is_capture(field) {
            return Err(err(
                ty.span().start,
                format!("types: {field:?} is not a capture of the pattern"),
            ));
        }
        types.push((field.clone(), t));
    }

    let mut labels = Vec::new();
    for l in &file.labels {
        if !is_capture(l.get_ref()) {
            return Err(err(
                l.span().start,
                format!("labels: {:?} is not a capture of the pattern", l.get_ref()),
            ));
        }
        labels.push(l.get_ref().clone());
    }

    let multiline = match &file.multiline {
        None => None,
        Some(m) => Some(crate::framing::RecordStart::Regex(
            Regex::new(&m.get_ref().start).map_err(|e| {
                err(
                    m.span().start,
                    format!("multiline.start is not a valid regex: {e}"),
                )
            })?,
        )),
    };

    let mut samples = Vec::new();
    for s in &file.sample {
        let raw = s.get_ref();
        let mut expect = Vec::new();
        for (field, v) in &raw.expect {
            let e = match v.get_ref() {
                toml::Value::String(s) => Expected::Text(s.clone()),
                toml::Value::Integer(i) => Expected::Number(*i as f64),
                toml::Value::Float(f) => Expected::Number(*f),
                toml::Value::Boolean(b) => Expected::Text(b.to_string()),
                other => {
                    return Err(err(
                        v.span().start,
                        format!(
                            "expect.{field}: a string, number or boolean, not {}",
                            other.type_str()
                        ),
                    ))
                }
            };
            expect.push((field.clone(), e));
        }
        let timestamp = match &raw.timestamp {
            None => None,
            Some(t) => Some(
                crate::time::parse_rfc3339(t.get_ref().as_bytes()).ok_or_else(|| {
                    err(
                        t.span().start,
                        format!("sample timestamp {:?} is not RFC 3339", t.get_ref()),
                    )
                })?,
            ),
        };
        let (line_no, _) = crate::config_error::line_col(text, s.span().start);
        samples.push(Sample {
            line: raw.line.clone(),
            line_no,
            expect,
            timestamp,
        });
    }

    let latency_types: Vec<&str> = types
        .iter()
        .filter(|(_, t)| matches!(t, FieldType::Seconds | FieldType::Ms))
        .map(|(n, _)| n.as_str())
        .collect();
    if latency_types.len() > 1 {
        return Err(err(
            key_pos(text, "types"),
            format!(
                "only one seconds/ms type may set {LATENCY_FIELD:?}; {} all would (type the others float)",
                latency_types.join(", ")
            ),
        ));
    }
    if !latency_types.is_empty() && is_capture(LATENCY_FIELD) {
        return Err(err(
            key_pos(text, "types"),
            format!("a seconds/ms type sets {LATENCY_FIELD:?}, which is also a capture"),
        ));
    }

    Ok(CustomFormat {
        name,
        description: file.description.unwrap_or_default(),
        path: path.to_string(),
        matcher,
        captures,
        timestamp,
        types,
        labels,
        multiline,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "nginx-timed"
pattern = '<remote_addr> - <_> [<time_local>] "<method> <path> <_>" <status> <bytes> "<_>" "<user_agent>" <request_time>'
timestamp = { field = "time_local", format = "%d/%b/%Y:%H:%M:%S %z" }
types = { status = "int", bytes = "int", request_time = "seconds" }
[[sample]]
line = '127.0.0.1 - - [06/May/2026:10:30:45 +0900] "GET /v1/x HTTP/1.1" 200 512 "-" "curl/8" 0.231'
expect = { status = 200, path = "/v1/x", latency_ms = 231.0 }
"#;

    #[test]
    fn the_design_example_loads() {
        let f = parse(GOOD, "p.toml").unwrap();
        assert_eq!(f.name, "nginx-timed");
        assert_eq!(f.samples.len(), 1);
        assert_eq!(f.samples[0].line_no, 6);
        assert_eq!(f.types.len(), 3);
    }

    fn error(text: &str) -> String {
        parse(text, "p.toml").unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_column() {
        let e = error("name = \"x\"\npattern = '<a> <b>'\ntypes = { b = \"integer\" }\n");
        assert!(
            e.starts_with("p.toml:3:15: unknown type \"integer\""),
            "{e}"
        );
        let e = error("name = \"x\"\npattern = '<a> <b>'\ntypes = { c = \"int\" }\n");
        assert!(
            e.starts_with("p.toml:3:15: types: \"c\" is not a capture"),
            "{e}"
        );
        let e = error("name = \"x\"\nregex = '(unclosed'\n");
        assert!(e.starts_with("p.toml:2:9: invalid regex"), "{e}");
        let e = error("name = \"x\"\nregex = '\\S+'\n");
        assert!(e.contains("no named captures"), "{e}");
        let e = error("name = \"x\"\npattern = 'no captures'\n");
        assert!(e.starts_with("p.toml:2:11:"), "{e}");
        let e = error("name = \"json\"\npattern = '<a>'\n");
        assert!(e.contains("built-in"), "{e}");
        let e = error("name = \"x\"\npattern = '<a>'\nbogus = 1\n");
        assert!(
            e.starts_with("p.toml:3:1:") && e.contains("unknown field"),
            "{e}"
        );
        let e = error("name = \"x\"\npattern = '<a>'\ntimestamp = { field = \"t\" }\n");
        assert!(e.contains("timestamp field \"t\" is not a capture"), "{e}");
        let e = error("name = \"x\"\npattern = '<a>'\nmultiline = { start = '(' }\n");
        assert!(e.starts_with("p.toml:3:13: multiline.start"), "{e}");
        let e =
            error("name = \"x\"\npattern = '<a>'\n[[sample]]\nline = 'a'\nexpect = { a = [1] }\n");
        assert!(e.starts_with("p.toml:5:16: expect.a"), "{e}");
        let e =
            error("name = \"x\"\npattern = '<a> <b>'\ntypes = { a = \"ms\", b = \"seconds\" }\n");
        assert!(e.starts_with("p.toml:3:1: only one seconds/ms type"), "{e}");
        let e = error("name = \"x\"\n");
        assert!(e.contains("needs a `pattern`"), "{e}");
        let e = error("name = \"x\"\npattern = '<a>\n");
        assert!(e.starts_with("p.toml:2:"), "{e}");
    }
}
