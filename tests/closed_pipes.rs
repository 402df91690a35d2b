//! A closed pipe ends a command quietly with the right status, never with a
//! panic (exit 101): `nagare explain … | head -1`, or a warning printed
//! while stderr goes to a `head` that has exited.

use std::process::{Command, Stdio};

mod common;

/// A pipe whose reading end is already closed, so every write to it
/// fails with EPIPE: the stdin of a process that has exited.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let writer = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    Stdio::from(writer)
}

#[test]
fn explain_into_a_closed_stdout_exits_quietly() {
    let long = (0..200)
        .map(|i| format!("sum(count_over_time({{app=\"a{i}\"}} |= \"x\" [5m]))"))
        .collect::<Vec<_>>()
        .join(" + ");
    let out = common::nagare()
        .args(["explain", &long])
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn warnings_into_a_closed_stderr_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "{\"status\":500}\n").unwrap();
    // A missing input is reported on stderr (exit 1); so is a bad flag
    // (exit 2), before any tracing is set up.
    let missing = common::nagare()
        .args(["filter", "| json"])
        .arg(&log)
        .arg(dir.path().join("missing.log"))
        .stdout(Stdio::piped())
        .stderr(closed_pipe())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(missing.stdout, b"{\"status\":500}\n");
    let bad_flag = common::nagare()
        .args(["filter", "--label", "9x=y", "| json"])
        .arg(&log)
        .stderr(closed_pipe())
        .output()
        .unwrap();
    assert_eq!(bad_flag.status.code(), Some(2));
}
