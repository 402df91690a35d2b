//! Every label of the derived metrics stays bounded whatever the input
//! (ARCHITECTURE.md, contract: "Derived metrics"): at most 200 routes (the first seen) and 200
//! event names, the rest as `_other_`; at most 21 `search_queries_total`
//! series; label values cut to 64 characters; `--redact-queries` shows a
//! short hash. The input, generated here and fed on stdin, has 100,000
//! distinct paths, event names and queries (some longer than 64
//! characters), plus about 11,000 lines of 25 popular queries.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Stdio;
use std::sync::OnceLock;

use common::prom::{parse_samples, TextSample};
use common::*;

const DISTINCT: usize = 100_000;
const POPULAR: usize = 25;
/// After every `EXTRA_EVERY`-th distinct line comes a popular query.
const EXTRA_EVERY: usize = 9;

/// One generated line: (path, event, q).
fn lines() -> Vec<(String, String, String)> {
    let mut v = Vec::with_capacity(DISTINCT + DISTINCT / EXTRA_EVERY + 1);
    for n in 0..DISTINCT {
        // Every 7th value is longer than 64 characters (a unique prefix).
        let long = if n % 7 == 3 {
            "long".repeat(20)
        } else {
            String::new()
        };
        v.push((
            format!("/p/s{n}{long}/x"),
            format!("event.{n}{long}"),
            format!("Query {n}{long}"),
        ));
        if n % EXTRA_EVERY == 0 {
            let k = n % POPULAR;
            v.push((
                "/popular".to_string(),
                "popular".to_string(),
                format!("popular {k}"),
            ));
        }
    }
    v
}

fn input() -> String {
    let mut s = String::new();
    for (i, (path, event, q)) in lines().iter().enumerate() {
        s.push_str(&format!(
            "{{\"timestamp\":\"2026-05-06T10:{:02}:{:02}Z\",\"level\":\"info\",\"event\":\"{event}\",\
             \"method\":\"GET\",\"path\":\"{path}\",\"status\":200,\"latency_ms\":3.5,\"q\":\"{q}\"}}\n",
            (i / 60) % 60,
            i % 60
        ));
    }
    s
}

/// `nagare metrics --output prom ARGS` over the generated input on stdin.
fn run_on_stdin(args: &[&str]) -> String {
    let mut child = nagare()
        .args(["metrics", "--output", "prom"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running nagare");
    let mut stdin = child.stdin.take().unwrap();
    let data = input();
    let writer = std::thread::spawn(move || stdin.write_all(data.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().expect("feeding stdin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8(out.stdout).expect("exposition is UTF-8")
}

fn plain() -> &'static [TextSample] {
    static S: OnceLock<Vec<TextSample>> = OnceLock::new();
    S.get_or_init(|| parse_samples(&run_on_stdin(&[])))
}

fn redacted() -> &'static [TextSample] {
    static S: OnceLock<Vec<TextSample>> = OnceLock::new();
    S.get_or_init(|| parse_samples(&run_on_stdin(&["--redact-queries"])))
}

fn family<'a>(samples: &'a [TextSample], name: &str) -> Vec<&'a TextSample> {
    samples.iter().filter(|s| s.name == name).collect()
}

fn values(samples: &[&TextSample], label: &str) -> BTreeSet<String> {
    samples
        .iter()
        .filter_map(|s| s.labels.get(label).cloned())
        .collect()
}

fn cut(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The first `n` distinct values of `key` in input order.
fn first_distinct(
    n: usize,
    key: impl Fn(&(String, String, String)) -> &String,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for l in &lines() {
        let v = key(l);
        if seen.insert(v.clone()) {
            order.push(cut(v));
            if order.len() == n {
                break;
            }
        }
    }
    order.into_iter().collect()
}

fn total_lines() -> f64 {
    lines().len() as f64
}

#[test]
fn routes_are_the_first_200_plus_other() {
    let reqs = family(plain(), "http_requests_total");
    let routes = values(&reqs, "route");
    assert!(
        routes.len() <= 201,
        "http_requests_total has {} distinct routes",
        routes.len()
    );
    assert!(routes.contains("_other_"), "no _other_ route");
    let named: BTreeSet<String> = routes
        .iter()
        .filter(|r| *r != "_other_")
        .map(|r| cut(r))
        .collect();
    assert_eq!(
        named,
        first_distinct(200, |l| &l.0),
        "the named routes are the first 200 seen"
    );
    let sum: f64 = reqs.iter().map(|s| s.value).sum();
    assert_eq!(sum, total_lines(), "every request is counted once");
    for name in [
        "http_request_duration_seconds_count",
        "http_slow_requests_total",
    ] {
        let n = values(&family(plain(), name), "route").len();
        assert!(n <= 201, "{name} has {n} distinct routes");
    }
}

#[test]
fn events_are_the_first_200_plus_other() {
    let events = family(plain(), "log_events_total");
    let names = values(&events, "event");
    assert!(
        names.len() <= 201,
        "log_events_total has {} distinct events",
        names.len()
    );
    assert!(names.contains("_other_"), "no _other_ event");
    let named: BTreeSet<String> = names
        .iter()
        .filter(|r| *r != "_other_")
        .map(|r| cut(r))
        .collect();
    assert_eq!(named, first_distinct(200, |l| &l.1));
    let sum: f64 = events.iter().map(|s| s.value).sum();
    assert_eq!(sum, total_lines());
}

#[test]
fn queries_are_at_most_21_series() {
    let qs = family(plain(), "search_queries_total");
    assert!(
        qs.len() <= 21,
        "search_queries_total has {} series",
        qs.len()
    );
    let names = values(&qs, "q");
    assert_eq!(names.len(), qs.len(), "one series per q value");
    assert!(names.contains("_other_"));
    let popular: BTreeSet<String> = (0..POPULAR).map(|k| format!("popular {k}")).collect();
    for q in names.iter().filter(|q| *q != "_other_") {
        assert!(
            popular.contains(q),
            "{q:?} is named although 25 queries are far more frequent"
        );
    }
    let sum: f64 = qs.iter().map(|s| s.value).sum();
    assert_eq!(sum, total_lines(), "named + _other_ = every query");
}

#[test]
fn label_values_are_at_most_64_characters() {
    let mut long: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for s in plain() {
        for (k, v) in &s.labels {
            let n = v.chars().count();
            if n > 64 {
                long.entry(format!("{}{{{k}}}", s.name))
                    .or_insert((n, v.clone()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "label values longer than 64 characters (family{{label}} → length, example):\n{}",
        long.iter()
            .map(|(k, (n, v))| format!("  {k}: {n} chars, e.g. {v:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn redacted_queries_are_short_hashes() {
    let re = regex::Regex::new("^h:[0-9a-f]{12}$").unwrap();
    let qs = family(redacted(), "search_queries_total");
    assert!(qs.len() <= 21 && qs.len() > 1, "{} series", qs.len());
    for s in &qs {
        let q = &s.labels["q"];
        assert!(
            q == "_other_" || re.is_match(q),
            "redacted q label {q:?} is not h: + 12 hex digits"
        );
    }
    let names = values(&qs, "q");
    assert_eq!(
        names.len(),
        qs.len(),
        "distinct queries get distinct hashes"
    );
    // Same counts as without redaction, only the labels differ.
    let mut a: Vec<f64> = qs.iter().map(|s| s.value).collect();
    let mut b: Vec<f64> = family(plain(), "search_queries_total")
        .iter()
        .map(|s| s.value)
        .collect();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    assert_eq!(a, b);
}
