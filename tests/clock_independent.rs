//! Queries over an archive from the past give the same answer whatever the
//! clock says (issue: the first hour). A line without a time of its own (a
//! malformed line) takes the time of the record before it in its input, or
//! of the first one after it in its chunk; only an input that has shown no
//! timed record uses the time it was read. The clock is set with
//! `NAGARE_NOW`, on files and on stdin alike.

mod common;

use common::*;

const CLOCKS: [&str; 2] = ["2026-06-01T00:00:00Z", "2031-03-04T05:06:07Z"];

fn run(now: &str, args: &[&str], stdin: Option<&[u8]>) -> (String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = nagare()
        .env("NAGARE_NOW", now)
        .arg("query")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let out = child.wait_with_output().unwrap();
    if let Some(w) = writer {
        w.join().unwrap();
    }
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn answers_over_old_files_do_not_depend_on_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    // 3,000 records from 2026-05-06, some 15 of them malformed (no time).
    let corpus = gen_corpus(dir.path(), "structlog", 3_000, 5, false);
    let data = std::fs::read(&corpus).unwrap();
    let path = corpus.to_str().unwrap();
    let queries: [&[&str]; 5] = [
        &[
            "--output",
            "json",
            r#"sum(count_over_time({filename=~".+"}[10m]))"#,
        ],
        // The lines without a time (plain text, cut JSON).
        &[
            "--output",
            "json",
            r#"count_over_time({filename=~".+"} != "timestamp" [1h])"#,
        ],
        &[
            "--output",
            "json",
            "--start",
            "2026-05-06T09:00:00Z",
            "--end",
            "2026-05-06T12:00:00Z",
            "--step",
            "15m",
            r#"sum(count_over_time({filename=~".+"}[15m]))"#,
        ],
        &["--limit", "20", r#"{filename=~".+"}"#],
        &["--limit", "20", r#"{filename=~".+"} |= "request""#],
    ];
    for q in queries {
        let mut answers = Vec::new();
        for now in CLOCKS {
            let mut args: Vec<&str> = q.to_vec();
            args.push(path);
            answers.push(run(now, &args, None).0);
            // Stdin: the file's name is not a label there.
            let q_stdin: Vec<String> = q
                .iter()
                .map(|a| a.replace(r#"{filename=~".+"}"#, r#"{job="x"}"#))
                .collect();
            let mut args: Vec<&str> = vec!["--label", "job=x"];
            args.extend(q_stdin.iter().map(String::as_str));
            answers.push(run(now, &args, Some(&data)).0);
        }
        assert!(!answers[0].trim().is_empty(), "{q:?}: empty answer");
        assert_eq!(
            answers[0], answers[2],
            "{q:?}: the file's answer moved with the clock"
        );
        assert_eq!(
            answers[1], answers[3],
            "{q:?}: stdin's answer moved with the clock"
        );
        for a in &answers {
            assert!(
                !a.contains("2031-03") && !a.contains("2026-06-01T"),
                "{q:?}: {a}"
            );
        }
    }
}

/// An input without any timed record takes the time it was read: the
/// clock, here fixed.
#[test]
fn an_input_without_times_uses_the_clock() {
    let (out, _) = run(
        "2026-06-01T00:00:00Z",
        &["--label", "job=x", "--output", "json", r#"{job="x"}"#],
        Some(b"plain text\nmore text\n"),
    );
    assert_eq!(
        out.matches(r#""timestamp":"2026-06-01T00:00:00Z""#).count(),
        2,
        "{out}"
    );
}
