//! Test helpers that run the REAL Prometheus and Pushgateway on loopback ports.
//!
//! Integration tests of the Prometheus outlets check against the real programs, not fakes:
//! [`Pushgateway::start`] runs `prometheus-pushgateway`, [`Prometheus::start`] runs
//! `prometheus` with a generated config that scrapes one target every second. Both listen on
//! a free `127.0.0.1` port, are waited for until `/-/ready` answers 200, keep their files in
//! a temporary directory, and are killed (and the directory removed) on drop, also when a
//! test panics.
//!
//! The binaries come from Debian's `prometheus` (`prometheus`, `promtool`) and
//! `prometheus-pushgateway` packages; when one is missing the helpers fail with a message
//! that names the package to install ([`require_binary`]).
//!
//! ```ignore
//! use common::prom::*;
//! let gw = Pushgateway::start()?;
//! // … push to gw.url() …
//! let text = pushgateway_metrics(gw.port())?;
//! let samples = parse_samples(&text);
//! ```
//!
//! Each integration test file that declares `mod common;` compiles this module and uses
//! only part of it, hence `allow(dead_code)`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nagare::sink::pushgateway::{http_exchange, HttpResponse, HttpUrl, Timeouts};
use tempfile::TempDir;

/// A failure of a test helper, with a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SupportError(pub String);

/// Shorthand for helper results.
pub type Result<T> = std::result::Result<T, SupportError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(SupportError(msg.into()))
}

/// How long a server may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Finds `name` on `PATH` (or in `/usr/bin`, `/usr/local/bin`); the error names the Debian
/// `package` that provides it.
pub fn require_binary(name: &str, package: &str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/bin".into());
    dirs.push("/usr/local/bin".into());
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    err(format!(
        "`{name}` was not found on PATH or in /usr/bin: install the Debian package `{package}` \
         (apt-get install {package}); the Prometheus integration tests need it"
    ))
}

/// A free TCP port on 127.0.0.1 (free when asked; a server that loses the race is retried).
pub fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .or_else(|e| err(format!("no free port on 127.0.0.1: {e}")))
}

/// A directory `$TMPDIR/nagare-{label}-XXXXXX`, removed on drop.
fn temp_dir(label: &str) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("nagare-{label}-"))
        .tempdir()
        .or_else(|e| err(format!("cannot create a temp dir for {label}: {e}")))
}

/// A child process killed and reaped on drop; its output goes to a log file.
struct Server {
    name: &'static str,
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `n` lines of a file, for error messages.
fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Starts `bin` with `args(port)` on a free port and waits for `/-/ready`; retries with
/// another port when the first was taken in the meantime.
fn start_server(
    name: &'static str,
    bin: &Path,
    dir: &Path,
    args: &dyn Fn(u16) -> Vec<String>,
) -> Result<Server> {
    let mut last = String::new();
    for attempt in 1..=3 {
        let port = free_port()?;
        let log = dir.join(format!("{name}-{attempt}.log"));
        let out = fs::File::create(&log)
            .or_else(|e| err(format!("cannot create {}: {e}", log.display())))?;
        let out2 = out
            .try_clone()
            .or_else(|e| err(format!("cannot reopen {}: {e}", log.display())))?;
        let child = Command::new(bin)
            .args(args(port))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(out2)
            .spawn()
            .or_else(|e| err(format!("cannot run {}: {e}", bin.display())))?;
        let mut server = Server {
            name,
            child,
            port,
            log,
        };
        match wait_ready(&mut server, READY_TIMEOUT) {
            Ok(()) => return Ok(server),
            Err(e) => {
                last = e.0;
                let in_use = tail(&server.log, 20).contains("address already in use");
                if !in_use {
                    break;
                }
            }
        }
    }
    err(last)
}

fn wait_ready(server: &mut Server, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    while started.elapsed() < timeout {
        if let Ok(Some(status)) = server.child.try_wait() {
            return err(format!(
                "{} on 127.0.0.1:{} exited with {status} before it was ready; its log ({}):\n{}",
                server.name,
                server.port,
                server.log.display(),
                tail(&server.log, 20)
            ));
        }
        match http_get(server.port, "/-/ready") {
            Ok(r) if r.status == 200 => return Ok(()),
            Ok(r) => last = format!("{} {}", r.status, r.first_body_line()),
            Err(e) => last = e.0,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    err(format!(
        "{} on 127.0.0.1:{} was not ready after {timeout:?} (last: {last}); its log ({}):\n{}",
        server.name,
        server.port,
        server.log.display(),
        tail(&server.log, 20)
    ))
}

/// A running `prometheus-pushgateway` on 127.0.0.1, killed on drop.
pub struct Pushgateway {
    server: Server,
    _dir: TempDir,
}

impl Pushgateway {
    /// Starts the real Pushgateway on a free loopback port (no persistence).
    pub fn start() -> Result<Pushgateway> {
        let bin = require_binary("prometheus-pushgateway", "prometheus-pushgateway")?;
        let dir = temp_dir("pushgateway")?;
        let server = start_server("prometheus-pushgateway", &bin, dir.path(), &|port| {
            vec![format!("--web.listen-address=127.0.0.1:{port}")]
        })?;
        Ok(Pushgateway { server, _dir: dir })
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// `http://127.0.0.1:PORT`, the URL to push to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }
}

/// A running `prometheus` on 127.0.0.1 scraping given targets every second, killed on drop.
pub struct Prometheus {
    server: Server,
    dir: TempDir,
}

/// The `job` label Prometheus gives the scraped targets.
pub const SCRAPE_JOB: &str = "nagare";

impl Prometheus {
    /// Starts the real Prometheus scraping `target` (`/metrics`) every second under the job
    /// [`SCRAPE_JOB`], with its TSDB in a temporary directory.
    pub fn start(target: SocketAddr) -> Result<Prometheus> {
        let bin = require_binary("prometheus", "prometheus")?;
        let dir = temp_dir("prometheus")?;
        let config = dir.path().join("prometheus.yml");
        fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: {SCRAPE_JOB}\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .or_else(|e| err(format!("cannot write {}: {e}", config.display())))?;
        let data = dir.path().join("data");
        let server = start_server("prometheus", &bin, dir.path(), &|port| {
            vec![
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", data.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--log.level=warn".into(),
            ]
        })?;
        Ok(Prometheus { server, dir })
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The temporary directory with its config, data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// `GET http://127.0.0.1:{port}{path}`, read in full (at most 16 MiB).
pub fn http_get(port: u16, path: &str) -> Result<HttpResponse> {
    let url = HttpUrl {
        host: "127.0.0.1".into(),
        port,
        path: String::new(),
    };
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        io: Duration::from_secs(10),
    };
    http_exchange(&url, "GET", path, None, timeouts, 16 << 20)
        .or_else(|e| err(format!("GET http://127.0.0.1:{port}{path}: {e}")))
}

/// One element of a Prometheus instant-query result.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    /// The series labels (`__name__` included when the result has it).
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// Runs an instant query through `/api/v1/query`; a vector result gives one element per
/// series, a scalar result one element without labels.
pub fn prometheus_query(port: u16, promql: &str) -> Result<Vec<QuerySample>> {
    let mut path = String::from("/api/v1/query?query=");
    for b in promql.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            path.push(b as char);
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    let resp = http_get(port, &path)?;
    let what = format!("Prometheus query {promql:?} on port {port}");
    let json: serde_json::Value = serde_json::from_slice(&resp.body).or_else(|e| {
        err(format!(
            "{what}: answer {} is not JSON ({e}): {}",
            resp.status,
            resp.first_body_line()
        ))
    })?;
    if json["status"] != "success" {
        return err(format!(
            "{what} failed ({}): {} {}",
            resp.status, json["errorType"], json["error"]
        ));
    }
    let data = &json["data"];
    let parse_value = |v: &serde_json::Value| -> Result<f64> {
        // [ <unix time>, "<value as string>" ]
        let text = v[1].as_str().unwrap_or("");
        parse_float(text).ok_or_else(|| SupportError(format!("{what}: value {v} is not a number")))
    };
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(QuerySample {
                    labels,
                    value: parse_value(&r["value"])?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![QuerySample {
            labels: BTreeMap::new(),
            value: parse_value(&data["result"])?,
        }]),
        other => err(format!("{what}: result type {other:?} is not handled")),
    }
}

/// Repeats [`prometheus_query`] until `done` accepts the result or `timeout` passes; the
/// error shows the last result.
pub fn wait_for_query(
    port: u16,
    promql: &str,
    timeout: Duration,
    done: impl Fn(&[QuerySample]) -> bool,
) -> Result<Vec<QuerySample>> {
    let started = Instant::now();
    loop {
        let last = prometheus_query(port, promql);
        if let Ok(r) = &last {
            if done(r) {
                return last;
            }
        }
        if started.elapsed() > timeout {
            return err(format!(
                "Prometheus query {promql:?} did not give the expected result within {timeout:?}; last: {last:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The Pushgateway's own `/metrics` text (pushed groups plus its internal metrics).
pub fn pushgateway_metrics(port: u16) -> Result<String> {
    let r = http_get(port, "/metrics")?;
    if r.status != 200 {
        return err(format!(
            "GET http://127.0.0.1:{port}/metrics answered {} {}: {}",
            r.status,
            r.reason,
            r.first_body_line()
        ));
    }
    Ok(r.text())
}

/// One sample line of the text format.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSample {
    /// The metric name (with `_bucket`/`_sum`/`_count`/`_total` as written).
    pub name: String,
    /// The labels, unescaped.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// Parses the sample lines of a text exposition (comments skipped, label values unescaped,
/// timestamps ignored); lines that do not parse are skipped.
pub fn parse_samples(text: &str) -> Vec<TextSample> {
    text.lines().filter_map(parse_sample_line).collect()
}

fn parse_sample_line(line: &str) -> Option<TextSample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        loop {
            // Skip separators.
            while matches!(chars.peek(), Some((_, ',' | ' '))) {
                chars.next();
            }
            match chars.peek() {
                Some((i, '}')) => {
                    rest = &after[i + 1..];
                    break;
                }
                None => return None,
                _ => {}
            }
            let mut label = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                label.push(c);
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '"' => break,
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    c => value.push(c),
                }
            }
            labels.insert(label.trim().to_owned(), value);
        }
    }
    let value = parse_float(rest.split_whitespace().next()?)?;
    Some(TextSample {
        name,
        labels,
        value,
    })
}

/// Parses a float as Prometheus writes it (`+Inf`, `-Inf`, `NaN` included).
pub fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        s => s.parse().ok(),
    }
}
