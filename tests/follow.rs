//! `nagare filter -f` follows files like `tail -F`: growth, rename rotation,
//! copytruncate, and a file that appears after the start. Every test writes
//! numbered JSON lines, waits until nagare has printed what was written so
//! far (the follower polls every 200 ms), then rotates, and checks that no
//! line is lost or repeated.

mod common;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use common::*;

/// How long to wait for expected output before failing.
const TIMEOUT: Duration = Duration::from_secs(20);

fn line(n: usize) -> String {
    format!("{{\"n\":{n},\"msg\":\"line {n}\"}}")
}

fn lines(range: std::ops::RangeInclusive<usize>) -> String {
    range.map(|n| line(n) + "\n").collect()
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
}

/// A running `nagare filter -f`, its stdout read by a thread.
struct Follower {
    child: Child,
    rx: Receiver<String>,
    seen: Vec<String>,
    what: String,
}

impl Follower {
    fn start(query: &str, path: &Path) -> Follower {
        let mut child = nagare()
            .args(["filter", "-f", "--line-buffered", "--format", "json", query])
            .arg(path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning nagare");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines() {
                match l {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        Follower {
            child,
            rx,
            seen: Vec::new(),
            what: format!("nagare filter -f {query:?} {}", path.display()),
        }
    }

    /// Waits until exactly lines 1..=n have been printed, in order.
    fn expect_through(&mut self, n: usize) {
        let deadline = Instant::now() + TIMEOUT;
        while self.seen.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.try_wait();
                    panic!(
                        "{}: output ended (status {status:?}) after {} lines: {:?}",
                        self.what,
                        self.seen.len(),
                        self.seen
                    );
                }
            }
        }
        let want: Vec<String> = (1..=n).map(line).collect();
        assert_eq!(
            self.seen, want,
            "{}: after {TIMEOUT:?} the output is not exactly lines 1..={n}",
            self.what
        );
    }

    /// Nothing more arrives for a while (no repeated or stray lines).
    fn expect_quiet(&mut self, d: Duration) {
        if let Ok(l) = self.rx.recv_timeout(d) {
            panic!(
                "{}: unexpected extra line {l:?} after {:?}",
                self.what, self.seen
            );
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

#[test]
fn follows_a_growing_file() {
    let (_dir, path) = setup("app.log");
    append(&path, &lines(1..=5));
    let mut f = Follower::start(r#"| json | __error__="""#, &path);
    f.expect_through(5);
    for n in 6..=10 {
        append(&path, &lines(n..=n));
        std::thread::sleep(Duration::from_millis(60));
    }
    f.expect_through(10);
    // A line that is not JSON is read and filtered out; a line written in
    // two parts is printed once, whole.
    append(&path, "not json\n");
    append(&path, &lines(11..=30));
    let l31 = line(31);
    let (a, b) = l31.split_at(10);
    append(&path, a);
    std::thread::sleep(Duration::from_millis(700));
    append(&path, &format!("{b}\n"));
    f.expect_through(31);
    f.expect_quiet(Duration::from_millis(600));
}

#[test]
fn follows_across_rename_rotation() {
    let (dir, path) = setup("app.log");
    append(&path, &lines(1..=10));
    let mut f = Follower::start(r#"| json | __error__="""#, &path);
    f.expect_through(10);
    // The application still holds the old file open when it is renamed.
    let mut old = OpenOptions::new().append(true).open(&path).unwrap();
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    old.write_all(lines(11..=15).as_bytes()).unwrap();
    old.flush().unwrap();
    // logrotate's `create`: a new, empty file at the path.
    File::create(&path).unwrap();
    f.expect_through(15);
    drop(old);
    // The application reopens the path and writes the new file.
    append(&path, &lines(16..=25));
    f.expect_through(25);
    append(&path, &lines(26..=30));
    f.expect_through(30);
    f.expect_quiet(Duration::from_millis(600));
}

#[test]
fn follows_across_copytruncate() {
    let (dir, path) = setup("app.log");
    append(&path, &lines(1..=10));
    let mut f = Follower::start(r#"| json | __error__="""#, &path);
    f.expect_through(10);
    std::fs::copy(&path, dir.path().join("app.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    // Less than the old size is written before the follower looks again.
    append(&path, &lines(11..=12));
    f.expect_through(12);
    append(&path, &lines(13..=40));
    f.expect_through(40);
    f.expect_quiet(Duration::from_millis(600));
}

#[test]
fn follows_a_file_created_after_start() {
    let (_dir, path) = setup("late.log");
    let mut f = Follower::start(r#"| json | __error__="""#, &path);
    // Let the follower poll for the missing path a few times.
    std::thread::sleep(Duration::from_millis(700));
    f.expect_quiet(Duration::from_millis(10));
    append(&path, &lines(1..=5));
    f.expect_through(5);
    append(&path, &lines(6..=12));
    f.expect_through(12);
    f.expect_quiet(Duration::from_millis(600));
}

/// Two followed files are read together; each one's lines keep their order.
#[test]
fn follows_two_files_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    append(&a, &lines(1..=3));
    append(&b, "");
    let mut child = nagare()
        .args([
            "filter",
            "-f",
            "--line-buffered",
            "--format",
            "json",
            "--output",
            "jsonl",
        ])
        .arg(r#"| json | __error__="""#)
        .arg(&a)
        .arg(&b)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut got: Vec<(String, String)> = Vec::new();
    let mut collect = |want: usize| {
        let deadline = Instant::now() + TIMEOUT;
        while got.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(l) = rx.recv_timeout(left) else { break };
            let v: serde_json::Value = serde_json::from_str(&l).unwrap();
            let file = v["labels"]["filename"].as_str().unwrap().to_string();
            got.push((file, v["labels"]["n"].as_str().unwrap().to_string()));
        }
        got.clone()
    };
    collect(3);
    append(&b, &lines(1..=4));
    append(&a, &lines(4..=6));
    let all = collect(10);
    let _ = child.kill();
    let _ = child.wait();
    let of = |p: &Path| -> Vec<String> {
        all.iter()
            .filter(|(f, _)| f == p.to_str().unwrap())
            .map(|(_, n)| n.clone())
            .collect()
    };
    assert_eq!(of(&a), ["1", "2", "3", "4", "5", "6"], "{all:?}");
    assert_eq!(of(&b), ["1", "2", "3", "4"], "{all:?}");
}
