//! `nagare formats test`: decode every `[[sample]]` line of a definition
//! and compare with what it expects, naming the first field that differs.

use super::typed::FieldType;
use super::{CustomFormat, Expected, Matcher, Sample};
use crate::decode::custom::{self, CustomScratch, Outcome};
use crate::decode::{DecodeCtx, Decoded};

/// A sample that does not decode as expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 1-based position among the format's samples.
    pub index: usize,
    /// Line of the `[[sample]]` header in the definition.
    pub line_no: usize,
    pub message: String,
}

/// Checks every sample of `fmt`; `now_ns` places yearless times.
pub fn check(fmt: &CustomFormat, now_ns: i64) -> Vec<Failure> {
    let mut scratch = CustomScratch::default();
    fmt.samples
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            check_one(fmt, &mut scratch, s, now_ns)
                .err()
                .map(|message| Failure {
                    index: i + 1,
                    line_no: s.line_no,
                    message,
                })
        })
        .collect()
}

fn check_one(
    fmt: &CustomFormat,
    scratch: &mut CustomScratch,
    s: &Sample,
    now_ns: i64,
) -> Result<(), String> {
    let mut out = Decoded::default();
    let outcome = DecodeCtx::all_fields(now_ns, |ctx| {
        custom::decode(fmt, scratch, s.line.as_bytes(), ctx, &mut out)
    });
    match outcome {
        Outcome::Malformed => return Err(why_not(fmt, &s.line)),
        Outcome::RecordBadTime if s.timestamp.is_some() || fmt.timestamp.is_some() => {
            let field = fmt.timestamp.as_ref().map_or("", |t| t.field.as_str());
            return Err(format!(
                "field `{field}`: the time does not read{}",
                fmt.timestamp
                    .as_ref()
                    .and_then(|t| t.format.as_ref())
                    .map_or(String::new(), |f| format!(" as {f:?}"))
            ));
        }
        _ => {}
    }
    for (field, want) in &s.expect {
        let got = out.fields.get(field).or_else(|| out.line_labels.get(field));
        let Some(got) = got else {
            let mut have: Vec<&str> = out.fields.iter().map(|(n, _)| n).collect();
            have.extend(out.line_labels.iter().map(|(n, _)| n));
            return Err(format!(
                "field `{field}`: expected {want}, but it is not set (decoded: {})",
                have.join(", ")
            ));
        };
        let same = match want {
            Expected::Text(t) => got == t,
            Expected::Number(n) => got
                .parse::<f64>()
                .is_ok_and(|g| (g - n).abs() <= 1e-9 * n.abs().max(1.0)),
        };
        if !same {
            return Err(format!("field `{field}`: expected {want}, got {got:?}"));
        }
    }
    if let Some(t) = s.timestamp {
        if out.ts != Some(t) {
            let show = |ns: i64| crate::time::format_rfc3339_nano(ns);
            return Err(format!(
                "timestamp: expected {}, got {}",
                show(t),
                out.ts.map_or("none".into(), show)
            ));
        }
    }
    Ok(())
}

/// Why a sample line is not a record of `fmt`.
fn why_not(fmt: &CustomFormat, line: &str) -> String {
    let mut caps: Vec<(String, String)> = Vec::new();
    match &fmt.matcher {
        Matcher::Pattern(p) => {
            if let Some(m) = p.mismatch(line.as_bytes()) {
                return format!("does not match the pattern: {m}");
            }
            p.captures(line.as_bytes(), |n, v| {
                caps.push((n.to_string(), String::from_utf8_lossy(v).into_owned()))
            });
        }
        Matcher::Regex(re) => {
            let Some(c) = re.captures(line.as_bytes()) else {
                return "does not match the regex".into();
            };
            for n in re.capture_names().flatten() {
                if let Some(m) = c.name(n) {
                    caps.push((n.to_string(), String::from_utf8_lossy(m.as_bytes()).into()));
                }
            }
        }
    }
    let (mut a, mut b) = (String::new(), String::new());
    for (name, v) in caps {
        let ty = fmt.type_of(&name);
        if ty != FieldType::String && !ty.is_absent(&v) {
            if let Err(why) = ty.convert(&v, &mut a, &mut b) {
                return format!("field `{name}`: {v:?} is {why}");
            }
        }
    }
    "is not a record of this format".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::definition;

    const NOW: i64 = 1_778_063_445_000_000_000;

    fn failures(def: &str) -> Vec<String> {
        let f = definition::parse(def, "t.toml").unwrap();
        check(&f, NOW)
            .into_iter()
            .map(|f| format!("{}@{}: {}", f.index, f.line_no, f.message))
            .collect()
    }

    const HEAD: &str = r#"
name = "t"
pattern = '[<time>] <level> <status> <msg>'
timestamp = { field = "time" }
types = { status = "int" }
"#;

    #[test]
    fn passing_and_failing_samples() {
        let def = format!(
            "{HEAD}{}",
            r#"
[[sample]]
line = '[2026-05-06T10:30:45Z] info 200 ok'
expect = { level = "info", status = 200, msg = "ok" }
timestamp = "2026-05-06T10:30:45Z"
[[sample]]
line = '[2026-05-06T10:30:45Z] info 200 ok'
expect = { status = 201 }
[[sample]]
line = '[2026-05-06T10:30:45Z] info'
[[sample]]
line = '[2026-05-06T10:30:45Z] info abc ok'
[[sample]]
line = '[2026-05-06T10:30:45Z] info 200 ok'
expect = { user = "x" }
[[sample]]
line = '[yesterday] info 200 ok'
[[sample]]
line = '[2026-05-06T10:30:45Z] info 200 ok'
timestamp = "2026-05-06T10:30:46Z"
"#
        );
        let got = failures(&def);
        assert_eq!(
            got,
            [
                "2@11: field `status`: expected 201, got \"200\"",
                "3@14: does not match the pattern: after <level>, \" \" is not found",
                "4@16: field `status`: \"abc\" is not an integer",
                "5@18: field `user`: expected \"x\", but it is not set (decoded: time, level, status, msg)",
                "6@21: field `time`: the time does not read",
                "7@23: timestamp: expected 2026-05-06T10:30:46Z, got 2026-05-06T10:30:45Z",
            ]
        );
    }
}
