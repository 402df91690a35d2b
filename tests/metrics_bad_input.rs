//! `nagare metrics` on bad input and bad flags (ARCHITECTURE.md, contract: "Records", "Derived
//! metrics", "Quality bar"): malformed lines are counted, never fatal
//! (exit 0); records without a status are not requests; requests without a
//! latency are counted as such; a bad flag exits 2 naming it; a missing file
//! exits 1 naming it while the other inputs are still reported.

mod common;

use std::path::{Path, PathBuf};

use common::prom::parse_samples;
use common::*;
use serde_json::Value;

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// 3 records (2 requests) and 6 malformed lines.
fn mixed(dir: &Path) -> PathBuf {
    let mut data: Vec<u8> = Vec::new();
    for l in [
        &br#"{"timestamp":"2026-05-06T10:00:00Z","event":"request","path":"/a","status":200,"latency_ms":12}"#[..],
        br#"{"timestamp":"2026-05-06T10:00:01Z","event":"request","path":"/a","status":"#,
        b"Traceback (most recent call last):",
        b"",
        b"[1,2,3]",
        b"{\"event\":\"request\",\"status\":200,\"q\":\"\xff\xfe\"}",
        br#"{"timestamp":"2026-05-06T10:00:02Z","event":"request","path":"/b","status":503,"latency_ms":40}"#,
        br#"{"a":1} {"b":2}"#,
        br#"{"timestamp":"2026-05-06T10:00:03Z","event":"startup"}"#,
    ] {
        data.extend_from_slice(l);
        data.push(b'\n');
    }
    write(dir, "mixed.log", data)
}

#[test]
fn malformed_lines_are_counted_and_do_not_change_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let f = mixed(dir.path());
    let doc = metrics_json([&f]);
    assert_eq!(doc["lines"], 9, "{doc}");
    assert_eq!(doc["records"], 3, "{doc}");
    assert_eq!(doc["malformed"], 6, "{doc}");
    assert_eq!(doc["requests"]["total"], 2, "{doc}");
    assert_eq!(doc["requests"]["by_class"]["5xx"], 1, "{doc}");

    let out = metrics(["--output", "prom", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let samples = parse_samples(&String::from_utf8(out.stdout).unwrap());
    let malformed: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == "log_malformed_lines_total")
        .map(|s| s.value)
        .collect();
    assert_eq!(malformed, vec![6.0]);

    // The same on stdin.
    let out = nagare()
        .args(["metrics", "--output", "json"])
        .stdin(std::fs::File::open(&f).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (doc["lines"].as_u64(), doc["malformed"].as_u64()),
        (Some(9), Some(6))
    );

    // A file of nothing but malformed lines is still a successful run
    // (named as JSON: auto-detection has nothing to go by).
    let junk = write(dir.path(), "junk.log", "not json\n{\"x\":\n\n");
    let doc = metrics_json([
        std::ffi::OsStr::new("--format"),
        "json".as_ref(),
        junk.as_os_str(),
    ]);
    assert_eq!(doc["malformed"], 3, "{doc}");
    assert_eq!(doc["requests"]["total"], 0, "{doc}");
}

#[test]
fn a_record_without_status_is_not_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "s.log",
        [
            r#"{"event":"request","path":"/a","status":200,"latency_ms":5}"#,
            r#"{"event":"startup","path":"/a","latency_ms":5}"#,
            r#"{"event":"request","path":"/a","status":"ok","latency_ms":5}"#,
            r#"{"event":"request","path":"/a","status":null,"latency_ms":5}"#,
            r#"{"event":"request","path":"/a","status":"404","latency_ms":7}"#,
        ]
        .join("\n")
            + "\n",
    );
    let doc = metrics_json([&f]);
    assert_eq!(doc["records"], 5, "{doc}");
    assert_eq!(doc["requests"]["total"], 2, "{doc}");
    assert_eq!(doc["records_without_status"], 3, "{doc}");
    assert_eq!(doc["requests"]["by_status"]["200"], 1, "{doc}");
    assert_eq!(doc["requests"]["by_status"]["404"], 1, "{doc}");
    let routes = doc["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 1, "{doc}");
    assert_eq!(routes[0]["requests"], 2, "{doc}");
}

#[test]
fn a_request_without_latency_is_counted_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "l.log",
        [
            r#"{"path":"/a","status":200,"latency_ms":10}"#,
            r#"{"path":"/a","status":200}"#,
            r#"{"path":"/a","status":500,"latency_ms":"n/a"}"#,
            r#"{"path":"/a","status":200,"latency_ms":30}"#,
        ]
        .join("\n")
            + "\n",
    );
    let doc = metrics_json([&f]);
    assert_eq!(doc["requests"]["total"], 4, "{doc}");
    assert_eq!(doc["requests"]["without_latency"], 2, "{doc}");
    assert_eq!(doc["requests"]["by_class"]["5xx"], 1, "{doc}");
    // Quantiles over the two latencies there are: nearest-rank p50 = 10,
    // p99 = 30.
    let p50 = doc["latency_ms"]["p50"].as_f64().unwrap();
    let p99 = doc["latency_ms"]["p99"].as_f64().unwrap();
    assert!((p50 - 10.0).abs() <= 0.1, "{doc}");
    assert!((p99 - 30.0).abs() <= 0.3, "{doc}");
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let f = mixed(dir.path());
    let f = f.to_str().unwrap();
    for (args, flag) in [
        (vec!["--burst", "x/5m"], "--burst"),
        (vec!["--window", "nope"], "--window"),
        (vec!["--field", "nope=x"], "--field"),
        (vec!["--lock-pattern", "("], "--lock-pattern"),
    ] {
        let out = metrics(args.iter().copied().chain(["--output", "json", f]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(flag),
            "{args:?}: stderr must name {flag}: {err}"
        );
        assert!(
            err.contains(args[1]),
            "{args:?}: stderr should show the bad value: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: printed a report anyway");
    }
}

#[test]
fn a_missing_file_exits_1_and_the_other_is_still_reported() {
    let dir = tempfile::tempdir().unwrap();
    let f = mixed(dir.path());
    let missing = dir.path().join("no-such-file.log");
    for order in [[&missing, &f], [&f, &missing]] {
        let out = metrics(
            ["--output", "json"]
                .map(std::ffi::OsStr::new)
                .into_iter()
                .chain(order.iter().map(|p| p.as_os_str())),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{order:?}: {err}");
        assert!(
            err.contains("no-such-file.log"),
            "{order:?}: stderr must name the missing file: {err}"
        );
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{order:?}: no report ({e}): {}", show(&out.stdout)));
        assert_eq!(doc["lines"], 9, "{order:?}: {doc}");
        assert_eq!(doc["requests"]["total"], 2, "{order:?}: {doc}");
    }
}

/// A valid JSON string holding U+FFFD (as the Fly form of the corpus has
/// once the shipper replaced invalid bytes) is an ordinary search query.
#[test]
fn a_query_holding_a_replacement_character_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "q.log",
        "{\"path\":\"/v1/search\",\"status\":200,\"q\":\"trunc\u{FFFD}\"}\n\
         {\"path\":\"/v1/search\",\"status\":200,\"q\":\"trunc\\ufffd\"}\n\
         {\"path\":\"/v1/search\",\"status\":200,\"q\":\"other\"}\n",
    );
    let doc = metrics_json([&f]);
    let top: Vec<(String, u64)> = doc["top_queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["q"].as_str().unwrap().to_string(),
                e["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![
            ("trunc\u{FFFD}".to_string(), 2),
            ("other".to_string(), 1),
            ("_other_".to_string(), 0)
        ],
        "{doc}"
    );
}
