//! `nagare query` over files: log queries (newest first, limit, forward)
//! and metric queries as Loki range/instant queries with its JSON shape.

use assert_cmd::Command;

fn nagare() -> Command {
    Command::cargo_bin("nagare").expect("nagare binary")
}

/// Five requests at 10:00:01, :02, :03, :11, :12 (two paths).
const LOG: &str = concat!(
    r#"{"timestamp":"2026-05-06T10:00:01Z","path":"/a","status":200,"latency_ms":10}"#,
    "\n",
    r#"{"timestamp":"2026-05-06T10:00:02Z","path":"/a","status":500,"latency_ms":20}"#,
    "\n",
    r#"{"timestamp":"2026-05-06T10:00:03Z","path":"/b","status":200,"latency_ms":30}"#,
    "\n",
    r#"{"timestamp":"2026-05-06T10:00:11Z","path":"/a","status":200,"latency_ms":40}"#,
    "\n",
    r#"{"timestamp":"2026-05-06T10:00:12Z","path":"/b","status":503,"latency_ms":50}"#,
    "\n",
);

fn run(args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("app.log");
    std::fs::write(&f, LOG).unwrap();
    let out = nagare().arg("query").args(args).arg(&f).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const T0: i64 = 1_778_061_600; // 2026-05-06T10:00:00Z

#[test]
fn range_query_json_has_lokis_shape_and_aligned_steps() {
    let (code, out, err) = run(&[
        "--output",
        "json",
        r#"sum by (path) (count_over_time({filename=~".+"} | json [10s]))"#,
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "matrix");
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 2);
    assert_eq!(result[0]["metric"]["path"], "/a");
    // Steps at multiples of 10 s: (0,10] has /a ×2, (10,20] has /a ×1.
    assert_eq!(
        result[0]["values"],
        serde_json::json!([[T0 + 10, "2"], [T0 + 20, "1"]])
    );
    assert_eq!(
        result[1]["values"],
        serde_json::json!([[T0 + 10, "1"], [T0 + 20, "1"]])
    );
}

#[test]
fn instant_quantile_and_ratio() {
    let (code, out, err) = run(&[
        "--output",
        "json",
        "--instant",
        "--end",
        "2026-05-06T10:00:20Z",
        r#"quantile_over_time(0.5, {filename=~".+"} | json | __error__="" | unwrap latency_ms [1m])"#,
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["resultType"], "vector");
    // One series per label set (latency_ms dropped): five series of one
    // sample each; check one of them.
    assert!(v["data"]["result"].as_array().unwrap().len() >= 2);
    let (code, out, err) = run(&[
        "--output",
        "json",
        "--instant",
        "--end",
        "2026-05-06T10:00:20Z",
        r#"sum(count_over_time({filename=~".+"} | json | status >= 500 [1m])) / sum(count_over_time({filename=~".+"} | json [1m]))"#,
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "0.4");
}

#[test]
fn unwrap_error_fails_like_loki_and_error_filter_fixes_it() {
    let (code, _, err) = run(&[r#"sum_over_time({filename=~".+"} | json | unwrap path [1m])"#]);
    assert_eq!(code, 2);
    assert!(
        err.contains("pipeline error: 'SampleExtractionErr'"),
        "{err}"
    );
    assert!(err.contains("__error__=\"\""), "{err}");
    let (code, _, err) =
        run(&[r#"sum_over_time({filename=~".+"} | json | unwrap path | __error__="" [1m])"#]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn log_queries_newest_first_with_limit_or_forward() {
    let (code, out, _) = run(&["--limit", "2", r#"| json | path="/a""#]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("10:00:11"), "{out}");
    assert!(lines[1].contains("10:00:02"), "{out}");
    let (_, out, _) = run(&["--forward", "--limit", "1", r#"| json | path="/a""#]);
    assert!(out.contains("10:00:01"), "{out}");
}
