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

use common::prom::{
    free_port, http_get, parse_samples, prometheus_query, pushgateway_metrics, require_binary,
    wait_for_query, Prometheus, Pushgateway, TextSample, SCRAPE_JOB,
};
use common::*;

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

// ---------------------------------------------------------------------------
// The Pushgateway client, the /metrics server and the test helpers against
// the real programs (moved here from the library's sink::tests_support)
// ---------------------------------------------------------------------------

mod sinks {
    use super::ok;
    use crate::common::prom::*;
    use nagare::metrics::exposition::{self, Histogram, MetricFamily, Sample, LATENCY_BUCKETS};
    use nagare::sink::pushgateway::{push, PushError, PushOptions};
    use nagare::sink::server::MetricsServer;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn families() -> Vec<MetricFamily> {
        let mut h = Histogram::new(&LATENCY_BUCKETS);
        for v in [0.003, 0.2, 0.2, 3.0] {
            h.observe(v);
        }
        vec![
            MetricFamily::counter("http_requests_total", "HTTP requests.")
                .with_sample(Sample::scalar(
                    &[("route", "/v1/x"), ("method", "GET"), ("status", "200")],
                    42.0,
                ))
                .with_sample(Sample::scalar(
                    &[("route", "/v1/x"), ("method", "GET"), ("status", "503")],
                    1.5e7,
                )),
            MetricFamily::counter("search_queries_total", "Top queries.")
                .with_sample(Sample::scalar(&[("q", "say \"hi\" \\ ünï\nx")], 3.0)),
            MetricFamily::histogram("http_request_duration_seconds", "Latency.")
                .with_sample(Sample::histogram(&[("route", "/v1/x")], &h)),
        ]
    }

    #[test]
    fn parses_text_samples() {
        let s = parse_samples(
            "# HELP a b\na_total{x=\"1\",y=\"q\\\"\\\\\\n\"} 2 1700000000\nb +Inf\nbad line\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "a_total");
        assert_eq!(s[0].labels["y"], "q\"\\\n");
        assert_eq!(s[0].value, 2.0);
        assert_eq!(s[1].value, f64::INFINITY);
    }

    #[test]
    fn missing_binary_names_the_package() {
        let e = require_binary("no-such-binary-nagare", "some-package").unwrap_err();
        assert!(
            e.0.contains("install the Debian package `some-package`"),
            "{e}"
        );
    }

    /// Push to the real Pushgateway and read the same values back from its `/metrics`.
    #[test]
    fn real_pushgateway_round_trip() {
        let gw = ok(Pushgateway::start());
        let body = exposition::to_text(&families(), "nagare_");
        let grouping = vec![
            ("instance".to_string(), "web 1:80".to_string()),
            ("dir".to_string(), "/var/log/app".to_string()),
        ];
        push(
            &gw.url(),
            "batch/nightly",
            &grouping,
            &body,
            &PushOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let got = parse_samples(&ok(pushgateway_metrics(gw.port())));
        let group = |s: &TextSample| {
            s.labels.get("job").map(String::as_str) == Some("batch/nightly")
                && s.labels.get("instance").map(String::as_str) == Some("web 1:80")
                && s.labels.get("dir").map(String::as_str) == Some("/var/log/app")
        };
        for want in parse_samples(&body) {
            let found = got.iter().find(|s| {
                s.name == want.name
                    && group(s)
                    && want.labels.iter().all(|(k, v)| s.labels.get(k) == Some(v))
                    && s.labels.len() == want.labels.len() + 3
            });
            let found =
                found.unwrap_or_else(|| panic!("{want:?} not read back from the pushgateway"));
            assert_eq!(found.value, want.value, "{want:?}");
        }
        // The push time is recorded for the group too.
        assert!(got
            .iter()
            .any(|s| s.name == "push_time_seconds" && group(s) && s.value > 0.0));

        // PUT replaces the group: a second push without the histogram removes it.
        let body2 = exposition::to_text(&families()[..1], "nagare_");
        push(
            &gw.url(),
            "batch/nightly",
            &grouping,
            &body2,
            &PushOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let got = parse_samples(&ok(pushgateway_metrics(gw.port())));
        assert!(!got
            .iter()
            .any(|s| s.name.starts_with("nagare_http_request_duration_seconds")));
        assert!(got
            .iter()
            .any(|s| s.name == "nagare_http_requests_total" && group(s)));
    }

    /// A broken body gets the Pushgateway's 400 with URL, status and its first line, at once.
    #[test]
    fn real_pushgateway_rejects_broken_body() {
        let gw = ok(Pushgateway::start());
        let body = "# TYPE a_total counter\na_total 1\nthis is { not valid\n";
        let started = Instant::now();
        let e = push(&gw.url(), "x", &[], body, &PushOptions::default()).unwrap_err();
        let msg = e.to_string();
        let prefix = format!(
            "pushgateway {}/metrics/job/x answered 400 Bad Request: ",
            gw.url()
        );
        assert!(msg.starts_with(&prefix), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert_eq!((e.status(), e.attempts()), (Some(400), 1), "{msg}");
        assert!(started.elapsed() < Duration::from_secs(5));
        println!("400 message: {msg}");
    }

    /// A closed port gives a connection error after the bounded retries.
    #[test]
    fn closed_port_gives_connection_error_after_retries() {
        let port = ok(free_port());
        let url = format!("http://127.0.0.1:{port}");
        let opts = PushOptions {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            ..PushOptions::default()
        };
        let started = Instant::now();
        let e = push(&url, "x", &[], "a 1\n", &opts).unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(e, PushError::Connection { attempts: 4, .. }),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("could not push to pushgateway {url}/metrics/job/x: connecting to 127.0.0.1:{port}: ")), "{msg}");
        assert!(msg.ends_with("(gave up after 4 attempts)"), "{msg}");
        // Waits: ~25-50 + 50-100 + 100-200 ms.
        assert!(
            took >= Duration::from_millis(175) && took < Duration::from_secs(3),
            "{took:?}"
        );

        // The overall time bound stops retrying early.
        let opts = PushOptions {
            max_attempts: 100,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(100),
            max_elapsed: Duration::from_millis(300),
            ..PushOptions::default()
        };
        let started = Instant::now();
        let e = push(&url, "x", &[], "a 1\n", &opts).unwrap_err();
        assert!(e.attempts() >= 3 && e.attempts() <= 8, "{e}");
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
    }

    /// A real Prometheus scrapes a MetricsServer; `up` and a value come back through its API.
    #[test]
    fn real_prometheus_scrapes_metrics_server() {
        let body = exposition::to_text(&families(), "");
        let server = MetricsServer::start("127.0.0.1:0", Arc::new(move || body.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        let prom = ok(Prometheus::start(server.local_addr()));
        let timeout = Duration::from_secs(30);
        let up = ok(wait_for_query(
            prom.port(),
            &format!("up{{job=\"{SCRAPE_JOB}\"}}"),
            timeout,
            |r| r.len() == 1 && r[0].value == 1.0,
        ));
        assert_eq!(up[0].labels["instance"], server.local_addr().to_string());
        let r = ok(prometheus_query(
            prom.port(),
            "http_requests_total{status=\"503\"}",
        ));
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].value, 1.5e7);
        assert_eq!(r[0].labels["route"], "/v1/x");
        let r = ok(prometheus_query(prom.port(), "search_queries_total"));
        assert_eq!(r[0].labels["q"], "say \"hi\" \\ ünï\nx");
        let r = ok(prometheus_query(
            prom.port(),
            "histogram_quantile(0.5, sum by (le) (http_request_duration_seconds_bucket))",
        ));
        assert!(r[0].value > 0.1 && r[0].value <= 0.25, "{r:?}");
        // No scrape errors or dropped samples.
        let r = ok(prometheus_query(prom.port(), "scrape_samples_scraped"));
        assert_eq!(r[0].value, 17.0, "{r:?}");
        drop(prom);
        server.shutdown();
    }
}

// ---------------------------------------------------------------------------
// The exposition writer through the real promtool (moved here from the unit
// tests of metrics::exposition)
// ---------------------------------------------------------------------------

mod exposition_writer {
    use nagare::metrics::exposition::{
        to_text, validate, Histogram, MetricFamily, Sample, LATENCY_BUCKETS, NAGARE_PREFIX,
    };
    use std::io::Write;
    use std::process::{Command, Stdio};

    use crate::common::prom::require_binary;

    /// The full set of names of the metric catalogue, with awkward label values, through the real
    /// `promtool check metrics`: exit 0 and no lint output at all.
    #[test]
    fn promtool_check_metrics_passes_without_warnings() {
        let promtool = require_binary("promtool", "prometheus").unwrap_or_else(|e| panic!("{e}"));
        let mut h = Histogram::new(&LATENCY_BUCKETS);
        for v in [0.004, 0.02, 0.3, 0.3, 7.0, 12.0] {
            h.observe(v);
        }
        let mut g = Histogram::new(&LATENCY_BUCKETS);
        g.observe(0.1);
        let mut conv = Histogram::new(&LATENCY_BUCKETS);
        conv.observe(0.03);
        let families = vec![
            MetricFamily::counter(
                "http_requests_total",
                "HTTP requests by route, method and status.",
            )
            .with_sample(Sample::scalar(
                &[("status", "500"), ("route", "/v1/x"), ("method", "GET")],
                2.0,
            ))
            .with_sample(Sample::scalar(
                &[("route", "/v1/x"), ("method", "GET"), ("status", "200")],
                1234567.0,
            )),
            MetricFamily::histogram(
                "http_request_duration_seconds",
                "Request latency in seconds.",
            )
            .with_sample(Sample::histogram(&[("route", "/v1/y")], &g))
            .with_sample(Sample::histogram(&[("route", "/v1/x")], &h)),
            MetricFamily::gauge("queue_depth", "Records waiting.")
                .with_sample(Sample::scalar(&[], 0.25)),
            MetricFamily::counter(
                "http_slow_requests_total",
                "Requests slower than the threshold.",
            )
            .with_sample(Sample::scalar(&[("route", "/v1/{id}")], 1.0)),
            MetricFamily::counter("db_lock_events_total", "Database lock events by route.")
                .with_sample(Sample::scalar(&[("route", "_other_")], 3.0)),
            MetricFamily::counter("db_lock_bursts_total", "Database lock bursts.")
                .with_sample(Sample::scalar(&[], 1.0)),
            MetricFamily::counter("search_queries_total", "Top search queries.")
                .with_sample(Sample::scalar(
                    &[("q", "a \"quoted\"\\ query\nline2 ünï")],
                    5.0,
                ))
                .with_sample(Sample::scalar(&[("q", "_other_")], 9.0)),
            MetricFamily::counter("log_events_total", "Events by name.")
                .with_sample(Sample::scalar(&[("event", "start")], 1.0)),
            MetricFamily::counter("log_lines_total", "Lines by level.")
                .with_sample(Sample::scalar(&[("level", "info")], 1e12)),
            MetricFamily::counter("log_malformed_lines_total", "Malformed lines.")
                .with_sample(Sample::scalar(&[], 0.0)),
            MetricFamily::counter("convex_function_execution_total", "Convex executions.")
                .with_sample(Sample::scalar(
                    &[("function_name", "messages:list"), ("status", "success")],
                    2.0,
                )),
            MetricFamily::histogram(
                "convex_function_execution_seconds",
                "Convex execution time.",
            )
            .with_sample(Sample::histogram(
                &[("function_name", "messages:list")],
                &conv,
            )),
        ];
        assert!(validate(&families, NAGARE_PREFIX).is_ok());
        for prefix in ["", NAGARE_PREFIX] {
            let text = to_text(&families, prefix);
            let mut child = Command::new(&promtool)
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("running {}: {e}", promtool.display()));
            child
                .stdin
                .take()
                .expect("stdin is piped")
                .write_all(text.as_bytes())
                .expect("writing to promtool");
            let out = child.wait_with_output().expect("waiting for promtool");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stdout.trim().is_empty() && stderr.trim().is_empty(),
                "promtool check metrics (prefix {prefix:?}) said {}:\nstdout: {stdout}\nstderr: {stderr}\ninput:\n{text}",
                out.status
            );
        }
    }
}
