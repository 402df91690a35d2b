//! The state of `nagare metrics` stays bounded on hostile input (issue:
//! hardening): every family has a series cap (`series_cap`, default 1,000;
//! past it method and status fold to `_other_` and the status class, counted
//! in `series_folded_total{family}`), and DB lock bursts are found with a
//! reorder window, late events counted. The hostile input comes from the
//! repository's generator (`nagare-corpus --format hostile`): random routes,
//! methods, statuses, Convex functions and statuses, and lock events up to
//! 30 minutes out of order.

mod common;

use std::collections::BTreeSet;

use common::prom::{parse_samples, TextSample};
use common::*;

fn family<'a>(samples: &'a [TextSample], name: &str) -> Vec<&'a TextSample> {
    samples.iter().filter(|s| s.name == name).collect()
}

fn one(samples: &[TextSample], name: &str, label: Option<(&str, &str)>) -> f64 {
    let found: Vec<_> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| label.is_none_or(|(k, v)| s.labels.get(k).map(String::as_str) == Some(v)))
        .collect();
    assert_eq!(found.len(), 1, "{name} {label:?}: {found:?}");
    found[0].value
}

#[test]
fn hostile_input_keeps_every_family_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = gen_corpus(dir.path(), "hostile", 60_000, 7, false);
    let caps = ["--series-cap", "100", "--lock-reorder-window", "5m"];
    let out = metrics(
        ["--output", "prom"]
            .iter()
            .chain(caps.iter())
            .map(|s| s.to_string())
            .chain([corpus.to_str().unwrap().to_string()]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let samples = parse_samples(&text);
    let json = metrics_json(caps.iter().copied().chain([corpus.to_str().unwrap()]));

    // http_requests_total: 100 named series, plus at most one folded series
    // per (route, status class); every request still counted, 5xx too.
    let requests = family(&samples, "http_requests_total");
    let named = requests
        .iter()
        .filter(|s| s.labels["status"].len() == 3 && !s.labels["status"].ends_with("xx"))
        .count();
    assert_eq!(named, 100);
    assert!(requests.len() <= 100 + 5 * 201, "{}", requests.len());
    let total: f64 = requests.iter().map(|s| s.value).sum();
    assert_eq!(total, json["requests"]["total"].as_f64().unwrap());
    let fivexx: f64 = requests
        .iter()
        .filter(|s| s.labels["status"].starts_with('5'))
        .map(|s| s.value)
        .sum();
    assert_eq!(
        fivexx,
        json["requests"]["by_class"]["5xx"].as_f64().unwrap()
    );
    let folded_requests: f64 = requests
        .iter()
        .filter(|s| s.labels["status"].ends_with("xx"))
        .map(|s| s.value)
        .sum();
    assert!(folded_requests > 0.0);
    assert_eq!(
        one(
            &samples,
            "series_folded_total",
            Some(("family", "http_requests_total"))
        ),
        folded_requests
    );

    // Convex executions: 100 named series, the rest keep their (capped)
    // function and fold their status.
    let executions = family(&samples, "convex_function_execution_total");
    let functions: BTreeSet<&str> = executions
        .iter()
        .map(|s| s.labels["function_name"].as_str())
        .collect();
    assert!(
        executions.len() <= 100 + functions.len(),
        "{}",
        executions.len()
    );
    assert!(functions.len() <= 201);
    assert!(
        one(
            &samples,
            "series_folded_total",
            Some(("family", "convex_function_execution_total"))
        ) > 0.0
    );

    // Lock events half an hour late are counted, reported, in no burst.
    let late = one(&samples, "db_lock_late_events_total", None);
    assert!(late > 0.0);
    let locks = &json["db_locks"];
    assert_eq!(locks["late_events"].as_f64().unwrap(), late);
    let in_bursts: u64 = locks["bursts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["events"].as_u64().unwrap())
        .sum();
    assert_eq!(
        in_bursts + locks["outside_bursts"].as_u64().unwrap() + late as u64,
        locks["events"].as_u64().unwrap()
    );

    // The whole exposition stays small: 60,000 random lines, a few hundred KB.
    assert!(text.len() < 1 << 20, "{} bytes", text.len());
}

/// On input whose lock events come in order, the window changes nothing:
/// the bursts are those of the sorted list (DESIGN: "answers on in-order
/// input do not change").
#[test]
fn in_order_lock_events_give_the_same_bursts_with_a_window() {
    let app = "fixtures/app.log";
    let without = metrics_json([app]);
    for window in ["0s", "5m"] {
        let with = metrics_json(["--lock-reorder-window", window, app]);
        assert_eq!(with["db_locks"], without["db_locks"], "window {window}");
    }
    assert!(!without["db_locks"]["bursts"].as_array().unwrap().is_empty());
    assert!(without["db_locks"].get("late_events").is_none());
}

#[test]
fn late_lock_events_are_reported() {
    let line = |t: &str| {
        format!("{{\"timestamp\":\"2026-05-06T{t}Z\",\"route\":\"/a\",\"message\":\"database is locked\"}}\n")
    };
    let input: String = ["10:00:00", "10:00:01", "10:00:02", "10:20:00", "09:59:00"]
        .iter()
        .map(|t| line(t))
        .collect();
    let out = run_stdin(
        &["metrics", "--output", "json", "--lock-reorder-window", "5m"],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let locks = &doc["db_locks"];
    assert_eq!(locks["events"], 5);
    assert_eq!(locks["late_events"], 1);
    assert_eq!(locks["bursts"].as_array().unwrap().len(), 1);
    assert_eq!(locks["bursts"][0]["events"], 3);
    assert_eq!(locks["outside_bursts"], 1);
    // Without a window (a batch run's default) the late event is placed.
    let out = run_stdin(&["metrics", "--output", "json"], input.as_bytes());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["db_locks"]["bursts"][0]["events"], 4);
    assert!(doc["db_locks"].get("late_events").is_none());
    // The table says so too.
    let out = run_stdin(
        &["metrics", "--lock-reorder-window", "5m"],
        input.as_bytes(),
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("1 late events"), "{table}");
}

#[test]
fn bad_caps_and_windows_are_usage_errors() {
    for (args, want) in [
        (vec!["--series-cap", "0"], "--series-cap must be at least 1"),
        (
            vec!["--lock-reorder-window", "soon"],
            "--lock-reorder-window \"soon\"",
        ),
    ] {
        let out = metrics(args.iter().chain(&["fixtures/app.log"]));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
}
