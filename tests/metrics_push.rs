//! `nagare metrics --push` flags (issue 12): credentials from files, the environment or
//! the URL reach the Pushgateway as an `Authorization` header and are never printed; a
//! bad push URL or an unreadable secret file exits 2 before any input is read.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const LINE: &str = "{\"status\":200,\"path\":\"/a\",\"latency_ms\":3}\n";

/// `nagare metrics ARGS…` with no push credentials from the caller's environment.
fn metrics_cmd(args: &[&str]) -> Command {
    let mut c = nagare();
    c.arg("metrics").args(args);
    for v in [
        "NAGARE_PUSH_USERNAME",
        "NAGARE_PUSH_PASSWORD",
        "NAGARE_PUSH_BEARER_TOKEN",
    ] {
        c.env_remove(v);
    }
    c
}

/// Runs with stdin open and silent: a command that read its input first would hang.
fn exits_before_reading(args: &[&str]) -> Output {
    let mut child = metrics_cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("nagare metrics {args:?} read its input before checking its flags");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// A server answering each of `n` connections with `answer`; returns its URL and the
/// `Authorization` header of each request (`None` when absent).
fn auth_server(
    n: usize,
    answer: &'static str,
) -> (String, std::thread::JoinHandle<Vec<Option<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        (0..n)
            .map(|_| {
                let (mut s, _) = listener.accept().unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                // The header, then the body by its Content-Length.
                loop {
                    let n = s.read(&mut buf).unwrap();
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        if raw.len() >= end + 4 + len || n == 0 {
                            break;
                        }
                    }
                    if n == 0 {
                        break;
                    }
                }
                s.write_all(answer.as_bytes()).unwrap();
                String::from_utf8_lossy(&raw)
                    .lines()
                    .find_map(|l| l.strip_prefix("Authorization: "))
                    .map(str::to_owned)
            })
            .collect()
    });
    (url, h)
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

#[test]
fn credentials_reach_the_pushgateway() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, LINE).unwrap();
    let log = log.to_str().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "pa55word\r\n").unwrap();

    let (url, h) = auth_server(5, OK);
    let run = |c: &mut Command| {
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        out
    };
    let token = token.to_str().unwrap();
    let password = password.to_str().unwrap();
    run(&mut metrics_cmd(&[
        "--push",
        &url,
        "--push-bearer-token-file",
        token,
        log,
    ]));
    run(&mut metrics_cmd(&[
        "--push",
        &url,
        "--push-basic-auth-username",
        "nagare",
        "--push-basic-auth-password-file",
        password,
        log,
    ]));
    run(
        metrics_cmd(&["--push", &url, "--push-basic-auth-username", "ci", log])
            .env("NAGARE_PUSH_PASSWORD", "from-env"),
    );
    run(metrics_cmd(&["--push", &url, log]).env("NAGARE_PUSH_BEARER_TOKEN", "env-token"));
    let with_user = url.replace("http://", "http://u:p%40ss@");
    let out = run(&mut metrics_cmd(&["--push", &with_user, log]));
    assert!(!stderr(&out).contains("p%40ss"));
    let seen = h.join().unwrap();
    assert_eq!(
        seen,
        [
            Some("Bearer s3cret-token".to_string()),
            // nagare:pa55word
            Some("Basic bmFnYXJlOnBhNTV3b3Jk".to_string()),
            // ci:from-env
            Some("Basic Y2k6ZnJvbS1lbnY=".to_string()),
            Some("Bearer env-token".to_string()),
            // u:p@ss
            Some("Basic dTpwQHNz".to_string()),
        ]
    );
}

#[test]
fn a_refused_push_never_prints_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, LINE).unwrap();
    let (url, h) = auth_server(
        1,
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 13\r\n\r\nbad password\n",
    );
    let with_user = url.replace("http://", "http://u:hunter2@");
    let out = metrics_cmd(&["--push", &with_user, log.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("answered 401 Unauthorized: bad password"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    h.join().unwrap();
}

#[test]
fn bad_push_flags_exit_2_before_reading_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-token");
    let missing = missing.to_str().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let empty = empty.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["--push", "http://gw:99999"], "--push: pushgateway URL"),
        (&["--push", "https://gw:9091"], "--push: pushgateway URL"),
        (&["--push", "gw:9091"], "expected http://host:port[/path]"),
        (
            &[
                "--push",
                "http://127.0.0.1:9091",
                "--push-bearer-token-file",
                missing,
            ],
            "--push-bearer-token-file",
        ),
        (
            &[
                "--push",
                "http://127.0.0.1:9091",
                "--push-bearer-token-file",
                empty,
            ],
            "the file is empty",
        ),
        (
            &[
                "--push",
                "http://127.0.0.1:9091",
                "--push-basic-auth-password-file",
                empty,
            ],
            "needs --push-basic-auth-username",
        ),
        (
            &["--push", "http://127.0.0.1:9091", "--push-timeout", "soon"],
            "--push-timeout",
        ),
    ];
    for (args, want) in cases {
        let out = exits_before_reading(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // The missing file is named.
    let out = exits_before_reading(&[
        "--push",
        "http://127.0.0.1:9091",
        "--push-bearer-token-file",
        missing,
    ]);
    assert!(stderr(&out).contains(missing), "{}", stderr(&out));
    // A password in a bad URL is not shown.
    let out = exits_before_reading(&["--push", "http://u:hunter2@gw:0"]);
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(2));
    // Auth flags without --push, or both kinds at once, are refused by the flag parser.
    let out = exits_before_reading(&["--push-bearer-token-file", missing]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
