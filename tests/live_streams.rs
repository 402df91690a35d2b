//! Live inputs through the engine: a closed output pipe ends `filter` at
//! once even while its input stays open, and every followed file is read
//! however many there are.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

/// Waits up to `limit` for the child to exit; kills it otherwise.
fn exit_within(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// `… | nagare filter | head -1`: once `head` is gone, the next write
/// fails and the filter ends quietly, though its stdin is still open (it
/// used to wait for the writer of its input to finish).
#[test]
fn a_closed_output_ends_filter_while_stdin_stays_open() {
    let mut child = common::nagare()
        .args(["filter", "|= \"\""])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    input.write_all(b"first\n").unwrap();
    input.flush().unwrap();
    let mut line = String::new();
    output.read_line(&mut line).unwrap();
    assert_eq!(line, "first\n");
    drop(output);
    // The next line's write finds the pipe closed.
    input.write_all(b"second\n").unwrap();
    input.flush().unwrap();
    let code = exit_within(&mut child, Duration::from_secs(10));
    drop(input);
    assert_eq!(
        code,
        Some(0),
        "filter did not end while its input stayed open"
    );
}

/// More followed files than the engine keeps batches in flight: a line
/// appended to the last one is printed (a waiting file used to hold a
/// slot, so files past the slots were never read).
#[test]
fn every_followed_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = (1..=8)
        .map(|i| {
            let p = dir.path().join(format!("{i}.log"));
            std::fs::write(&p, "").unwrap();
            p
        })
        .collect();
    let mut child = common::nagare()
        .args(["filter", "--threads", "1", "-f", "|= \"\""])
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let output = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in output.lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    // Let every follower open its file, then write to the last.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&files[7])
        .unwrap()
        .write_all(b"from the eighth file\n")
        .unwrap();
    let got = rx.recv_timeout(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got.as_deref(), Ok("from the eighth file"));
}

/// Sends `signal` (a `kill` name) to the child.
fn signal(child: &Child, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// SIGINT ends `metrics -f` as the end of its input would: the final report
/// is printed and the exit status is 0 (it used to die printing nothing).
#[test]
fn sigint_ends_a_followed_metrics_run_with_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(
        &log,
        "{\"status\":200,\"path\":\"/a\",\"latency_ms\":5}\n{\"status\":503,\"path\":\"/a\",\"latency_ms\":9}\n",
    )
    .unwrap();
    let mut child = common::nagare()
        .args(["metrics", "-f", "--output", "json"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    signal(&child, "INT");
    let code = exit_within(&mut child, Duration::from_secs(10));
    assert_eq!(code, Some(0));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let report: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(report["records"], 2);
    assert_eq!(report["requests"]["by_class"]["5xx"], 1);
}

/// SIGTERM ends `filter -f` quietly, after what it read was printed.
#[test]
fn sigterm_ends_a_followed_filter() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "one\ntwo\n").unwrap();
    let mut child = common::nagare()
        .args(["filter", "-f", "|= \"\""])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    signal(&child, "TERM");
    assert_eq!(exit_within(&mut child, Duration::from_secs(10)), Some(0));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert_eq!(out, "one\ntwo\n");
}
