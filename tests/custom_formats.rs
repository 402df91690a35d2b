//! Custom formats (`parsers/*.toml`) end to end: the shipped definitions
//! pass their own samples; broken definitions and failing samples are
//! reported with the place to look; a custom format decodes with
//! `--format NAME`, takes part in auto-detection after the built-in ones,
//! keeps and counts lines that do not match (and `--malformed` shows
//! them), flags bad times, and joins
//! multi-line records.

mod common;

use std::path::Path;

use common::*;

fn repo_parsers() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("parsers")
        .display()
        .to_string()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const TIMED: &str = r#"
name = "svc-timed"
description = "test format"
pattern = '[<time>] <level> <method> <path> <status> <duration>'
timestamp = { field = "time", format = "%Y-%m-%d %H:%M:%S%.f %z" }
types = { status = "int", duration = "seconds" }
[[sample]]
line = '[2026-05-06 10:30:45.5 +0000] info GET /v1/x 200 0.25'
expect = { status = 200, path = "/v1/x", latency_ms = 250 }
timestamp = "2026-05-06T10:30:45.5Z"
"#;

#[test]
fn shipped_parsers_pass_their_samples() {
    let out = nagare()
        .args(["formats", "test", "--parsers", &repo_parsers()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let ok = text.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(ok >= 10, "only {ok} formats passed:\n{text}");
    assert!(!text.contains("FAIL"), "{text}");
    let list = nagare().args(["formats", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for name in ["nginx", "syslog", "heroku-router", "uvicorn"] {
        assert!(
            list.lines().any(|l| l.starts_with(name)),
            "{name} not listed:\n{list}"
        );
    }
}

#[test]
fn broken_definitions_and_failing_samples_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.toml",
        "name = \"x\"\npattern = '<a> <b>'\ntypes = { b = \"number\" }\n",
    );
    let out = nagare()
        .args(["formats", "test", "--parsers"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("bad.toml:3:15: unknown type \"number\""), "{e}");
    // The same error stops a command that reads logs, before any input.
    let out = nagare()
        .args(["filter", "--parsers"])
        .arg(dir.path())
        .arg("|= \"x\"")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("bad.toml:3:15"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let failing = TIMED.replace("latency_ms = 250", "latency_ms = 251");
    write(dir.path(), "t.toml", &failing);
    let out = nagare()
        .args(["formats", "test", "svc-timed", "--parsers"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("t.toml:7: sample 1: field `latency_ms`: expected 251, got \"250\""),
        "{text}"
    );
}

#[test]
fn format_by_name_decodes_keeps_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t.toml", TIMED);
    let log = dir.path().join("svc.log");
    std::fs::write(
        &log,
        "[2026-05-06 10:30:45.5 +0000] info GET /v1/x 200 0.25\n\
         not a record at all\n\
         [2026-05-06 10:30:46 +0000] error POST /v1/y 503 1.5\n\
         [yesterday] info GET /v1/z 200 0.1\n",
    )
    .unwrap();
    let filter = |flags: &[&str], query: &str| {
        let out = nagare()
            .args(["filter", "--format", "svc-timed", "--parsers"])
            .arg(dir.path())
            .args(flags)
            .arg(query)
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        (stdout_strings(&out), stderr(&out))
    };
    let run = |query: &str| filter(&["-v", "--output", "jsonl"], query);
    let (lines, err) = run("| status >= 500");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let rec: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(rec["labels"]["path"], "/v1/y");
    assert_eq!(rec["labels"]["latency_ms"], "1500");
    assert_eq!(rec["timestamp"], "2026-05-06T10:30:46Z");
    // The line that does not match is kept (line filters see it) and
    // counted; the bad time is counted and the record kept.
    assert!(err.contains("malformed=1"), "{err}");
    assert!(err.contains("bad_time=1"), "{err}");
    let (lines, _) = run("|= \"not a record\"");
    assert_eq!(lines.len(), 1);
    let (lines, _) = run("| path = \"/v1/z\"");
    assert_eq!(lines.len(), 1, "a bad time keeps the record");
    // Decoding marks a line that does not match by a count, not by
    // `__error__` (only parser stages set it, as in Loki), so it neither
    // passes numeric filters nor shows as an error…
    let (lines, err) = run("| __error__ != \"\"");
    assert!(lines.is_empty(), "{lines:?}");
    assert!(err.contains("`--malformed` prints only those"), "{err}");
    // …and `--malformed` selects exactly such lines, the query still applying.
    let malformed = |query: &str| filter(&["--malformed"], query).0;
    assert_eq!(malformed("|= \"\""), ["not a record at all"]);
    assert!(malformed("|= \"GET\"").is_empty());
    assert!(malformed("|= \"record\" | level = \"info\"").is_empty());
    // An unknown name lists what there is.
    let out = nagare()
        .args(["filter", "--format", "nope", "|= \"x\""])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown format \"nope\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn auto_detection_tries_custom_formats_after_built_ins() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t.toml", TIMED);
    let log = dir.path().join("svc.log");
    std::fs::write(
        &log,
        "[2026-05-06 10:30:45.5 +0000] info GET /v1/x 200 0.25\n\
         [2026-05-06 10:30:46 +0000] error POST /v1/y 503 1.5\n",
    )
    .unwrap();
    let out = nagare()
        .args(["filter", "-v", "--parsers"])
        .arg(dir.path())
        .args(["| status = 503"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("format=\"svc-timed\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout_strings(&out).len(), 1);
    // A format that decodes JSON lines too loses the tie to `json`.
    write(
        dir.path(),
        "any.toml",
        "name = \"anything\"\nregex = '^(?P<all>.*)$'\n",
    );
    let json = dir.path().join("app.json");
    std::fs::write(&json, "{\"status\":503}\n{\"status\":200}\n").unwrap();
    let out = nagare()
        .args(["filter", "-v", "--parsers"])
        .arg(dir.path())
        .args(["| status = 503"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(stderr(&out).contains("format=\"json\""), "{}", stderr(&out));
}

#[test]
fn multiline_custom_format_joins_records() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "java.toml",
        r#"
name = "java-ish"
regex = '^(?s)(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?P<level>[A-Z]+) (?P<msg>.*)$'
timestamp = { field = "time", format = "%Y-%m-%d %H:%M:%S" }
multiline = { start = '^\d{4}-\d\d-\d\d ' }
"#,
    );
    let log = dir.path().join("app.log");
    std::fs::write(
        &log,
        "2026-05-06 10:00:00 INFO started\n\
         2026-05-06 10:00:01 ERROR boom\n\
         \tat com.example.Main.run(Main.java:10)\n\
         \tat com.example.Main.main(Main.java:3)\n\
         2026-05-06 10:00:02 INFO done\n",
    )
    .unwrap();
    let out = nagare()
        .args(["filter", "--format", "java-ish", "--parsers"])
        .arg(dir.path())
        .args(["| level = \"ERROR\""])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "2026-05-06 10:00:01 ERROR boom\n\tat com.example.Main.run(Main.java:10)\n\tat com.example.Main.main(Main.java:3)\n"
    );
}
