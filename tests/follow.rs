//! `nagare filter -f` follows files like `tail -F`: growth, rename rotation,
//! copytruncate, and a file that appears after the start. Most tests write
//! numbered JSON lines, wait until nagare has printed what was written so
//! far, then rotate, and check that no line is lost or repeated; the
//! issue 12 tests rotate while writing (every 50 ms, every 0.2 s) and
//! follow thousands of files.

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

/// A `nagare filter -f` whose printed lines are collected by a thread.
struct Collector {
    child: Child,
    rx: Receiver<String>,
}

impl Collector {
    fn start(args: &[&str], paths: &[PathBuf], stderr: Stdio) -> Collector {
        Collector::start_with(nagare(), args, paths, stderr)
    }

    fn start_with(
        mut cmd: std::process::Command,
        args: &[&str],
        paths: &[PathBuf],
        stderr: Stdio,
    ) -> Collector {
        let mut child = cmd
            .args(["filter", "-f", "--line-buffered", "--threads", "2"])
            .args(args)
            .args(paths)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawning nagare");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Collector { child, rx }
    }

    /// Lines until `done` says enough or nothing came for `quiet`.
    fn collect(&self, quiet: Duration, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT * 3;
        let mut got = Vec::new();
        while !done(&got) && Instant::now() < deadline {
            match self.rx.recv_timeout(quiet) {
                Ok(l) => got.push(l),
                Err(_) => break,
            }
        }
        got
    }

    /// Ends the run with SIGTERM; its exit status.
    fn terminate(mut self) -> Option<i32> {
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn status_field(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The numbers of the printed lines (`{"n":…}`).
fn numbers(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect(l);
            v["n"].as_u64().unwrap() as usize
        })
        .collect()
}

/// How the writer of [`write_rotating`] rotates the file.
#[derive(Clone, Copy)]
enum Rotation {
    /// `mv app.log app.log.1` (replacing the last one), two more lines to
    /// the renamed file, then the application reopens `app.log`.
    Rename,
    /// `cp app.log app.log.1`, then truncate `app.log` in place; the
    /// application keeps writing its `O_APPEND` descriptor.
    CopyTruncate,
}

/// Writes lines `from..=to` to `path`, a few per millisecond, rotating
/// every `every`; returns how many rotations it made.
fn write_rotating(
    path: &Path,
    from: usize,
    to: usize,
    rotation: Rotation,
    every: Duration,
) -> usize {
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
    };
    let rotated = path.with_extension("log.1");
    let mut file = open();
    let mut last = Instant::now();
    let mut rotations = 0;
    let mut n = from;
    while n <= to {
        let mut text = String::new();
        for _ in 0..4 {
            if n <= to {
                text.push_str(&(line(n) + "\n"));
                n += 1;
            }
        }
        file.write_all(text.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(1));
        if last.elapsed() >= every && n <= to {
            last = Instant::now();
            rotations += 1;
            match rotation {
                Rotation::Rename => {
                    std::fs::rename(path, &rotated).unwrap();
                    for _ in 0..2 {
                        if n <= to {
                            file.write_all((line(n) + "\n").as_bytes()).unwrap();
                            n += 1;
                        }
                    }
                    file = open();
                }
                Rotation::CopyTruncate => {
                    std::fs::copy(path, &rotated).unwrap();
                    file.set_len(0).unwrap();
                }
            }
        }
    }
    rotations
}

const ROTATED_LINES: usize = 10_000;

/// Issue 12: renaming every 50 ms while 10,000 lines are written loses no
/// line and repeats none (polling every 100 ms delivered 1,600 of 5,000
/// at 60 ms).
#[test]
fn rename_every_50ms_loses_no_line() {
    let (_dir, path) = setup("app.log");
    append(&path, &lines(1..=1));
    let c = Collector::start(
        &["--format", "json", "|= \"\""],
        std::slice::from_ref(&path),
        Stdio::null(),
    );
    assert_eq!(numbers(&c.collect(TIMEOUT, |g| !g.is_empty())), [1]);
    let rotations = write_rotating(
        &path,
        2,
        ROTATED_LINES,
        Rotation::Rename,
        Duration::from_millis(50),
    );
    assert!(rotations >= 20, "only {rotations} rotations");
    let got = numbers(&c.collect(Duration::from_secs(2), |g| g.len() >= ROTATED_LINES - 1));
    let want: Vec<usize> = (2..=ROTATED_LINES).collect();
    if got != want {
        let missing = want.iter().filter(|n| !got.contains(n)).count();
        panic!(
            "{} lines printed, {missing} missing, after {rotations} rotations; first difference at {:?}",
            got.len(),
            got.iter().zip(&want).position(|(a, b)| a != b)
        );
    }
    assert_eq!(c.terminate(), Some(0));
}

/// Issue 12: copytruncate every 0.2 s while 10,000 lines are written loses
/// at most 1 % of them (polling every 100 ms lost about 45 %; GNU `tail -F`
/// loses a few, see benches/follow_rotation.sh). What is printed is in
/// order and printed once.
#[test]
fn copytruncate_every_200ms_loses_at_most_one_percent() {
    let (_dir, path) = setup("app.log");
    append(&path, &lines(1..=1));
    let c = Collector::start(
        &["--format", "json", "|= \"\""],
        std::slice::from_ref(&path),
        Stdio::null(),
    );
    assert_eq!(numbers(&c.collect(TIMEOUT, |g| !g.is_empty())), [1]);
    let rotations = write_rotating(
        &path,
        2,
        ROTATED_LINES,
        Rotation::CopyTruncate,
        Duration::from_millis(200),
    );
    assert!(rotations >= 5, "only {rotations} rotations");
    let got = numbers(&c.collect(Duration::from_secs(2), |g| {
        g.last()
            .is_some_and(|l| l.contains(&format!("\"n\":{ROTATED_LINES},")))
    }));
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "out of order or repeated"
    );
    let lost = ROTATED_LINES - 1 - got.len();
    eprintln!(
        "copytruncate: {} of {} lines, {lost} lost in {rotations} truncations",
        got.len(),
        ROTATED_LINES - 1
    );
    assert!(lost * 100 <= ROTATED_LINES, "{lost} lines lost");
    assert_eq!(c.terminate(), Some(0));
}

/// The open-files limit the children of this test get (soft, hard).
fn open_files_limit() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let l = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let v: Vec<u64> = l
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (v[0], v[1])
}

/// Issue 12: following many files takes a bounded number of threads (it
/// took one per file: 50,000 files made 15,391 threads and 4.3 GB, then
/// an abort). Every file's lines carry its own `filename`, and a line
/// appended later to any of them is printed.
#[test]
fn many_files_are_followed_by_a_bounded_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let n = 2_000usize.min(open_files_limit().1 as usize - 64);
    let paths: Vec<PathBuf> = (0..n)
        .map(|i| {
            let p = dir.path().join(format!("f{i:05}.log"));
            std::fs::write(&p, line(i) + "\n").unwrap();
            p
        })
        .collect();
    let pattern = dir.path().join("f*.log");
    let c = Collector::start(
        &["--format", "json", "--output", "jsonl", "|= \"\""],
        &[pattern],
        Stdio::null(),
    );
    let got = c.collect(TIMEOUT, |g| g.len() >= n);
    assert_eq!(got.len(), n);
    for l in &got {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let i: usize = v["labels"]["n"].as_str().unwrap().parse().unwrap();
        assert_eq!(v["labels"]["filename"], paths[i].to_str().unwrap(), "{l}");
    }
    let threads = c.status_field("Threads:");
    let rss_kb = c.status_field("VmRSS:");
    eprintln!(
        "{n} followed files: {threads} threads, {} MiB resident",
        rss_kb / 1024
    );
    // main, the follower, 2 workers, and a few of the runtime's own.
    assert!(threads <= 8, "{threads} threads for {n} files");
    assert!(rss_kb < 200 * 1024, "{rss_kb} kB resident for {n} files");
    append(&paths[n / 2], &(line(n) + "\n"));
    append(&paths[n - 1], &(line(n + 1) + "\n"));
    let more = c.collect(TIMEOUT, |g| g.len() >= 2);
    assert_eq!(more.len(), 2, "{more:?}");
    assert_eq!(c.terminate(), Some(0));
}

/// Issue 12: more followed files than file descriptors is said on stderr,
/// not a crash; the files that could be opened are followed.
#[test]
fn running_out_of_file_descriptors_is_said_and_the_rest_followed() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = (0..100)
        .map(|i| {
            let p = dir.path().join(format!("f{i:03}.log"));
            std::fs::write(&p, line(i) + "\n").unwrap();
            p
        })
        .collect();
    let mut sh = std::process::Command::new("sh");
    sh.env_remove("RUST_LOG").stdin(Stdio::null()).args([
        "-c",
        "ulimit -n 64 && exec \"$0\" \"$@\"",
        nagare_bin(),
    ]);
    let err = dir.path().join("stderr");
    let c = Collector::start_with(
        sh,
        &["--format", "json", "|= \"\""],
        &paths,
        Stdio::from(File::create(&err).unwrap()),
    );
    let got = c.collect(Duration::from_secs(2), |g| g.len() >= 100);
    assert!(got.len() >= 20 && got.len() < 100, "{} lines", got.len());
    // Still following: a line appended to an open file is printed.
    append(&paths[0], &(line(1000) + "\n"));
    assert_eq!(numbers(&c.collect(TIMEOUT, |g| !g.is_empty())), [1000]);
    assert_eq!(c.terminate(), Some(0));
    let said = std::fs::read_to_string(&err).unwrap();
    assert!(said.contains("too many open files"), "{said}");
    assert_eq!(
        said.lines().filter(|l| l.contains("too many")).count(),
        1,
        "{said}"
    );
}
