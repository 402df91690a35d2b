//! `nagare metrics` against the real Prometheus components (ARCHITECTURE.md, contract: "Derived
//! metrics", "Quality bar: real components in tests"): a batch push lands in
//! a real Pushgateway with the values of `--output prom`, a push to a closed
//! port fails naming the URL, a followed run serving `/metrics` is scraped
//! by a real Prometheus whose PromQL answers agree with nagare's own report,
//! and `promtool check metrics` accepts the exposition.
//!
//! The binaries come from the Debian packages `prometheus` (prometheus,
//! promtool) and `prometheus-pushgateway`; a missing one fails the test with
//! the package to install.

mod common;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use nagare::sink::tests_support::{
    free_port, http_get, parse_samples, prometheus_query, pushgateway_metrics, require_binary,
    wait_for_query, Prometheus, Pushgateway, TextSample, SCRAPE_JOB,
};

/// Latency histogram bucket bounds (seconds), ARCHITECTURE.md, contract: "latency".
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn prom_text(file: &Path) -> String {
    let out = metrics(["--output", "prom", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8(out.stdout).expect("exposition is UTF-8")
}

fn sum_of(samples: &[TextSample], name: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn batch_push_lands_in_the_pushgateway_with_the_prom_values() {
    let gw = ok(Pushgateway::start());
    let dir = tempfile::tempdir().unwrap();
    let corpus = gen_corpus(dir.path(), "structlog", 20_000, 11, false);
    let want = parse_samples(&prom_text(&corpus));

    let out = metrics([
        "--push",
        &gw.url(),
        "--job",
        "test",
        corpus.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "push to {} failed: {}",
        gw.url(),
        stderr(&out)
    );
    let pushed: Vec<TextSample> = parse_samples(&ok(pushgateway_metrics(gw.port())))
        .into_iter()
        .filter(|s| s.labels.get("job").map(String::as_str) == Some("test"))
        .collect();
    let strip = |s: &TextSample| {
        let mut l = s.labels.clone();
        l.remove("job");
        if l.get("instance").is_some_and(String::is_empty) {
            l.remove("instance");
        }
        (s.name.clone(), l)
    };
    let got: BTreeMap<(String, BTreeMap<String, String>), f64> =
        pushed.iter().map(|s| (strip(s), s.value)).collect();

    // The four figures the brief names …
    for name in [
        "http_requests_total",
        "log_malformed_lines_total",
        "db_lock_events_total",
    ] {
        let w = sum_of(&want, name);
        let g: f64 = pushed
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.value)
            .sum();
        assert!(w > 0.0, "{name} is 0 in the exposition");
        assert!(close(w, g), "{name}: --output prom {w}, pushgateway {g}");
    }
    let other = |v: &[TextSample]| {
        v.iter()
            .find(|s| {
                s.name == "search_queries_total"
                    && s.labels.get("q").map(String::as_str) == Some("_other_")
            })
            .map(|s| s.value)
    };
    assert_eq!(
        other(&pushed),
        other(&want),
        "search_queries_total{{q=\"_other_\"}}"
    );
    assert!(other(&want).unwrap_or(0.0) > 0.0);

    // … and every other sample of the exposition, too.
    let mut missing = Vec::new();
    for s in &want {
        let key = (s.name.clone(), s.labels.clone());
        match got.get(&key) {
            Some(v) if close(*v, s.value) => {}
            other => missing.push(format!(
                "{} {:?}: want {}, got {other:?}",
                s.name, s.labels, s.value
            )),
        }
    }
    assert!(
        missing.is_empty(),
        "{} sample(s) differ between --output prom and the pushed group:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn push_to_a_closed_port_fails_naming_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("app.log");
    std::fs::write(&f, "{\"status\":200,\"path\":\"/a\",\"latency_ms\":3}\n").unwrap();
    let port = ok(free_port());
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let out = metrics(["--push", &url, "--job", "test", f.to_str().unwrap()]);
    let took = started.elapsed();
    let err = stderr(&out);
    eprintln!("failed push took {took:?}: {err}");
    assert!(
        matches!(out.status.code(), Some(c) if c != 0),
        "a failed push must fail the run: {:?}\n{err}",
        out.status
    );
    assert!(err.contains(&url), "stderr must name {url}: {err}");
    assert!(
        took < Duration::from_secs(30),
        "gave up only after {took:?}"
    );
}

#[test]
fn promtool_accepts_the_exposition() {
    let promtool = ok(require_binary("promtool", "prometheus"));
    let dir = tempfile::tempdir().unwrap();
    let corpus = gen_corpus(dir.path(), "structlog", 20_000, 11, false);
    let text = prom_text(&corpus);
    assert!(text.contains("http_request_duration_seconds_bucket"));
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics has complaints:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// A followed run scraped by a real Prometheus
// ---------------------------------------------------------------------------

/// Requests per appended batch; every batch holds the same multiset of
/// (route, method, status, latency), so a rate over any whole number of
/// batches has the distribution of one batch.
const BATCH: usize = 100;

/// Line `i` of batch `b`: deterministic. Latencies (ms): 50 in (5,10],
/// 25 in (10,25], 15 in (25,50], 7 in (100,250], 3 in (250,500], so the
/// nearest-rank p95 lies in the (0.1 s, 0.25 s] bucket with a margin on both
/// sides (90 % and 97 % cumulative). 7 of 100 are 5xx.
fn request_line(b: usize, i: usize) -> String {
    let latency = match i {
        0..=49 => 6.0 + (i % 4) as f64,
        50..=74 => 12.0 + (i % 10) as f64,
        75..=89 => 30.0 + (i % 15) as f64,
        90..=96 => 120.0 + 10.0 * (i % 7) as f64,
        _ => 300.0 + 50.0 * (i % 3) as f64,
    } + 0.25;
    let path = match i % 4 {
        0 => format!("/v1/items/{}", b * BATCH + i),
        1 => "/v1/search".to_string(),
        2 => "/healthz".to_string(),
        _ => format!("/v1/users/{}/keys", 1000 + i),
    };
    let method = if i % 10 == 3 { "POST" } else { "GET" };
    let status = if i % 20 == 7 {
        503
    } else if i % 50 == 11 {
        500
    } else if i % 25 == 13 {
        404
    } else {
        200
    };
    let secs = b * 2 + i / 50;
    format!(
        "{{\"timestamp\":\"2026-05-06T10:{:02}:{:02}.{:03}Z\",\"level\":\"info\",\"event\":\"request\",\
         \"method\":\"{method}\",\"path\":\"{path}\",\"status\":{status},\"latency_ms\":{latency}}}\n",
        secs / 60,
        secs % 60,
        i * 7 % 1000
    )
}

fn batch(b: usize) -> String {
    (0..BATCH).map(|i| request_line(b, i)).collect()
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
}

/// The followed `nagare metrics`, killed on drop (also when a test panics).
struct Follower {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Follower {
    fn start(file: &Path) -> (Follower, std::net::SocketAddr) {
        let mut child = nagare()
            .args(["metrics", "-f", "--listen", "127.0.0.1:0"])
            .arg(file)
            .args(["--format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running nagare metrics -f");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let f = Follower { child, stderr: rx };
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match f.stderr.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(addr) = line
                        .split("http://")
                        .nth(1)
                        .and_then(|a| a.trim().parse().ok())
                    {
                        return (f, addr);
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("nagare metrics -f --listen did not say where it serves /metrics; stderr: {seen:?}");
    }
}

/// Sum of `http_requests_total` as nagare serves it now.
fn served_requests(addr: std::net::SocketAddr) -> f64 {
    match http_get(addr.port(), "/metrics") {
        Ok(r) if r.status == 200 => sum_of(&parse_samples(&r.text()), "http_requests_total"),
        _ => -1.0,
    }
}

/// The bucket `(lo, hi]` of [`BUCKETS`] that holds `v` (seconds).
fn bucket_of(v: f64) -> (f64, f64) {
    let mut lo = 0.0;
    for b in BUCKETS {
        if v <= b {
            return (lo, b);
        }
        lo = b;
    }
    (lo, f64::INFINITY)
}

#[test]
fn followed_run_is_scraped_by_prometheus_and_agrees_with_the_report() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log");
    // Batch 0 is there from the start, so every series exists at the first
    // scrape and later increases are all seen by rate().
    std::fs::write(&file, batch(0)).unwrap();
    let (follower, addr) = Follower::start(&file);
    let prom = ok(Prometheus::start(addr));
    let timeout = Duration::from_secs(20);
    ok(wait_for_query(
        prom.port(),
        &format!("sum(http_requests_total{{job=\"{SCRAPE_JOB}\"}})"),
        timeout,
        |r| r.len() == 1 && r[0].value == BATCH as f64,
    ));

    // Append 20 more batches, a few per scrape.
    let batches = 20;
    for b in 1..=batches {
        append(&file, &batch(b));
        std::thread::sleep(Duration::from_millis(300));
    }
    let total = ((batches + 1) * BATCH) as f64;
    let deadline = Instant::now() + timeout;
    while served_requests(addr) != total {
        assert!(
            Instant::now() < deadline,
            "nagare serves {} requests, {total} were written",
            served_requests(addr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Prometheus has scraped the final state (and ≥ 3 samples by now).
    ok(wait_for_query(
        prom.port(),
        "sum(http_requests_total)",
        timeout,
        |r| r.len() == 1 && r[0].value == total,
    ));
    let samples = ok(prometheus_query(prom.port(), "count_over_time(up[5m])"));
    assert!(samples.len() == 1 && samples[0].value >= 3.0, "{samples:?}");

    let q =
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))";
    let r = ok(prometheus_query(prom.port(), q));
    assert_eq!(r.len(), 1, "{q}: {r:?}");
    let prom_p95 = r[0].value;

    let ratio_q =
        "sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))";
    let r = ok(prometheus_query(prom.port(), ratio_q));
    assert_eq!(r.len(), 1, "{ratio_q}: {r:?}");
    let ratio = r[0].value;
    drop(prom);
    drop(follower);

    // nagare's own report on the same file.
    let report = metrics_json([file.to_str().unwrap()]);
    assert_eq!(report["requests"]["total"].as_u64(), Some(total as u64));
    let p95_s = report["latency_ms"]["p95"].as_f64().unwrap() / 1000.0;
    let (lo, hi) = bucket_of(p95_s);
    let nagare_ratio = report["requests"]["error_rate_5xx"].as_f64().unwrap();
    eprintln!(
        "p95: Prometheus {prom_p95} s, nagare {p95_s} s; 5xx ratio: Prometheus {ratio}, nagare {nagare_ratio}"
    );
    assert!(
        prom_p95 >= lo && prom_p95 <= hi,
        "Prometheus p95 {prom_p95} s is not within the bucket ({lo}, {hi}] of nagare's p95 {p95_s} s"
    );
    assert!(
        ratio > 0.0 && ratio < 1.0,
        "5xx ratio from Prometheus is {ratio}"
    );
    assert!(
        (ratio - nagare_ratio).abs() < 0.03,
        "5xx ratio: Prometheus {ratio}, nagare {nagare_ratio}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "took {:?}",
        started.elapsed()
    );
}
