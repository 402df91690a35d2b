//! The time bounds of `nagare query` as Loki treats them: an instant query
//! over the data is evaluated at its last sample (not at a time rounded up
//! to the step, whose window would leave a sample at its start out), and
//! an end before the start is refused with Loki's message.

mod common;

fn query(args: &[&str], log: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("app.log");
    std::fs::write(&f, log).unwrap();
    let out = common::nagare()
        .arg("query")
        .args(args)
        .arg(&f)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Samples at 09:00:20, 10:00:00 and 10:00:20: a 1h window ending at the
/// last one, (09:00:20, 10:00:20], holds the two at 10:00; one ending at
/// 11:00 (the step after the data) would hold only the last.
#[test]
fn instant_query_is_evaluated_at_the_last_sample() {
    let log = concat!(
        "{\"ts\":\"2026-05-06T09:00:20Z\",\"msg\":\"a\"}\n",
        "{\"ts\":\"2026-05-06T10:00:00Z\",\"msg\":\"a\"}\n",
        "{\"ts\":\"2026-05-06T10:00:20Z\",\"msg\":\"a\"}\n",
    );
    let (code, out, err) = query(
        &[
            "--label",
            "job=x",
            "--instant",
            r#"sum(count_over_time({job="x"}[1h]))"#,
        ],
        log,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "{}\n  2026-05-06T10:00:20Z  2\n");
    // With --end the query is evaluated there, exactly.
    let (code, out, _) = query(
        &[
            "--label",
            "job=x",
            "--instant",
            "--end",
            "2026-05-06T11:00:00Z",
            r#"sum(count_over_time({job="x"}[1h]))"#,
        ],
        log,
    );
    assert_eq!(code, 0);
    assert_eq!(out, "{}\n  2026-05-06T11:00:00Z  1\n");
}

/// Loki's `errEndBeforeStart` (pkg/loghttp/query.go): refused, exit 2.
#[test]
fn end_before_start_is_refused() {
    let (code, out, err) = query(
        &[
            "--start",
            "2026-05-06T11:00:00Z",
            "--end",
            "2026-05-06T10:00:00Z",
            r#"sum(count_over_time({job="x"}[1h]))"#,
        ],
        "{\"msg\":\"a\"}\n",
    );
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("end timestamp must not be before or equal to start time"),
        "{err}"
    );
}

/// Loki's `max_query_series` (`--max-series`, default 20,000): an answer
/// of more series fails with Loki's message (pkg/logqlmodel/error.go
/// `NewSeriesLimitError`), and so do the collected series of a range
/// aggregation, so memory stays bounded however many series the input has.
#[test]
fn too_many_series_fail_with_lokis_message() {
    let log: String = (0..5)
        .map(|i| format!("{{\"ts\":\"2026-05-06T10:00:0{i}Z\",\"id\":\"{i}\"}}\n"))
        .collect();
    let by_id = r#"sum by (id) (count_over_time({job="x"} | json [1m]))"#;
    let (code, _, err) = query(&["--label", "job=x", "--max-series", "5", by_id], &log);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = query(&["--label", "job=x", "--max-series", "4", by_id], &log);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("maximum number of series (4) reached for a single query"),
        "{err}"
    );
    // The same through a binary operation (evaluated step by step).
    let (code, _, err) = query(
        &[
            "--label",
            "job=x",
            "--max-series",
            "4",
            &format!("{by_id} * 2"),
        ],
        &log,
    );
    assert_eq!(code, 2);
    assert!(err.contains("maximum number of series (4)"), "{err}");
    // 0: no limit.
    let (code, _, _) = query(&["--label", "job=x", "--max-series", "0", by_id], &log);
    assert_eq!(code, 0);
}
