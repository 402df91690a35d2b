//! Helpers shared by the integration tests: the binaries under test, the
//! corpus generator, jq, and a few byte-level utilities; [`prom`] runs the
//! real Prometheus and Pushgateway and reads the text exposition.
//!
//! Each integration test file is its own crate and uses only part of this
//! module.
#![allow(dead_code)]

pub mod prom;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `nagare` binary built by cargo for these tests.
pub fn nagare_bin() -> &'static str {
    env!("CARGO_BIN_EXE_nagare")
}

/// The `nagare-corpus` binary built by cargo for these tests.
pub fn corpus_bin() -> &'static str {
    env!("CARGO_BIN_EXE_nagare-corpus")
}

/// Default maximum line length of nagare (1 MiB).
pub const MAX_LINE: usize = 1 << 20;

/// A `nagare` command with a clean environment for diagnostics.
pub fn nagare() -> Command {
    let mut c = Command::new(nagare_bin());
    c.env_remove("RUST_LOG");
    c.stdin(Stdio::null());
    c
}

/// Runs `nagare filter ARGS…` to completion.
pub fn filter<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    nagare()
        .arg("filter")
        .args(args)
        .output()
        .expect("running nagare")
}

/// Path of jq. The oracle tests need it: a missing jq fails the test with
/// a clear message, it never skips it.
pub fn jq() -> PathBuf {
    if let Some(p) = std::env::var_os("JQ") {
        return PathBuf::from(p);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("jq");
            if p.is_file() {
                return p;
            }
        }
    }
    let p = PathBuf::from("/usr/bin/jq");
    if p.is_file() {
        return p;
    }
    panic!(
        "jq is required by this test (it is the independent oracle nagare is compared with) \
         but was not found on PATH or at /usr/bin/jq; install it (apt-get install jq) or set JQ=/path/to/jq"
    );
}

/// Generates a corpus with `nagare-corpus` into `dir` and returns its path.
pub fn gen_corpus(dir: &Path, format: &str, lines: usize, seed: u64, gzip: bool) -> PathBuf {
    let name = format!("corpus.{format}{}", if gzip { ".gz" } else { "" });
    let path = dir.join(name);
    let mut cmd = Command::new(corpus_bin());
    cmd.args(["--lines", &lines.to_string(), "--seed", &seed.to_string()])
        .args(["--format", format])
        .arg("-o")
        .arg(&path);
    if gzip {
        cmd.arg("--gzip");
    }
    let out = cmd.output().expect("running nagare-corpus");
    assert!(
        out.status.success(),
        "nagare-corpus failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// Splits bytes into lines (LF terminated; a final line without LF counts;
/// a trailing LF does not start a new line).
pub fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return Vec::new();
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    body.split(|&c| c == b'\n').collect()
}

/// Lossy text of some bytes, shortened for messages.
pub fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out: String = s.chars().take(240).collect();
    if s.chars().count() > 240 {
        out.push_str(&format!("…({} bytes)", b.len()));
    }
    out
}

/// stdout of a finished command as lines.
pub fn stdout_lines(out: &Output) -> Vec<Vec<u8>> {
    split_lines(&out.stdout)
        .into_iter()
        .map(|l| l.to_vec())
        .collect()
}

/// stdout as UTF-8 lines (panics on invalid UTF-8).
pub fn stdout_strings(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .expect("stdout is UTF-8")
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Gzip-compresses `data` (one member).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Runs `nagare ARGS…` with `input` on stdin (written from a thread, so
/// a large input cannot deadlock against a full stdout pipe).
pub fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = nagare()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Runs `nagare metrics ARGS…` to completion.
pub fn metrics<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    nagare()
        .arg("metrics")
        .args(args)
        .output()
        .expect("running nagare")
}

/// Runs `nagare metrics --output json ARGS…`, asserts exit 0 and returns the
/// one JSON document it prints.
pub fn metrics_json<I, S>(args: I) -> serde_json::Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut all = vec![
        std::ffi::OsString::from("--output"),
        std::ffi::OsString::from("json"),
    ];
    all.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
    let out = metrics(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nagare metrics {all:?} failed: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "nagare metrics {all:?} printed no single JSON document ({e}): {}",
            show(&out.stdout)
        )
    })
}
