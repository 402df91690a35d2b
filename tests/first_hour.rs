//! What a new user meets in the first hour (issue 13): the README's first
//! examples give the right answer, and a mistake is told on stderr with an
//! exact message and exit status instead of a silent empty answer.

mod common;

use common::*;
use std::process::{Command, Stdio};

/// The README's examples that pipe `flyctl logs` into `nagare filter`.
fn readme_flyctl_examples() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    readme
        .lines()
        .filter(|l| l.starts_with("flyctl logs") && l.contains("| nagare filter"))
        .map(str::to_string)
        .collect()
}

/// Runs a README command line with `sh`, `flyctl logs …` replaced by the
/// contents of `input` and `nagare` by the binary under test.
fn run_readme_line(line: &str, input: &std::path::Path) -> std::process::Output {
    let (_, rest) = line.split_once("| nagare ").expect("a nagare pipe");
    let rest = rest.split(" # ").next().unwrap().trim_end();
    Command::new("sh")
        .arg("-c")
        .arg(format!("cat \"$1\" | \"$0\" {rest}"))
        .arg(nagare_bin())
        .arg(input)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("running sh")
}

/// `flyctl logs` plain output: the word before `[instance]` is the event
/// provider, not the app's name; the README's examples name the app with
/// `--label app=…` (or select the provider) and print the app's 5xx lines.
#[test]
fn readme_flyctl_example_finds_the_5xx_lines() {
    let dir = tempfile::tempdir().unwrap();
    let flyctl = gen_corpus(dir.path(), "flyctl", 4000, 7, false);
    let structlog = gen_corpus(dir.path(), "structlog", 4000, 7, false);
    // The same events as structlog lines: those whose status is >= 500.
    let want: Vec<Vec<u8>> = std::fs::read(&structlog)
        .unwrap()
        .split(|&c| c == b'\n')
        .filter(|l| {
            serde_json::from_slice::<serde_json::Value>(l)
                .is_ok_and(|v| v["status"].as_f64().is_some_and(|s| s >= 500.0))
        })
        .map(<[u8]>::to_vec)
        .collect();
    assert!(want.len() > 5, "the corpus has 5xx lines: {}", want.len());
    let examples = readme_flyctl_examples();
    assert!(
        examples.iter().any(|l| l.contains("--label app=")),
        "the README names the app with --label: {examples:?}"
    );
    for line in &examples {
        let out = run_readme_line(line, &flyctl);
        assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr(&out));
        assert!(stdout_lines(&out) == want, "{line}: {}", show(&out.stdout));
    }
}

/// A label given with `--label k=v` wins over a label of the same name that
/// a format sets (Fly's envelope sets `app`).
#[test]
fn user_label_wins_over_a_format_label() {
    let fly = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/fly.log");
    let n = std::fs::read(fly)
        .unwrap()
        .iter()
        .filter(|&&c| c == b'\n')
        .count();
    // Without --label, the envelope's app name.
    let out = filter(["--count", r#"{app="api"}"#, fly]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_strings(&out), [n.to_string()]);
    // With it, the user's.
    let out = filter(["--count", "--label", "app=web", r#"{app="web"}"#, fly]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_strings(&out), [n.to_string()]);
    let out = filter(["--count", "--label", "app=web", r#"{app="api"}"#, fly]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_strings(&out), ["0"]);
    let out = filter([
        "--output",
        "jsonl",
        "--label",
        "app=web",
        "| json | keep app, region",
        fly,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first: serde_json::Value = serde_json::from_str(&stdout_strings(&out)[0]).unwrap();
    assert_eq!(first["labels"]["app"], "web", "{first}");
    // The format's other labels stay.
    assert!(first["labels"]["region"].is_string(), "{first}");
    // The metric query sees the same labels.
    let out = nagare()
        .args(["query", "--label", "app=web", "--instant"])
        .arg(r#"sum by (app) (count_over_time({app="web"} [1h]))"#)
        .arg(fly)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout_strings(&out).concat().contains("web"),
        "{}",
        show(&out.stdout)
    );
}

/// A first argument that reads as a pipeline once a `|` is put before it is
/// a query that lost its `|`, not a missing file.
#[test]
fn pipeline_without_its_bar_is_not_a_missing_file() {
    let out = filter(["json | status>500"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "nagare: \"json | status>500\" is not a file; did you mean '| json | status>500'? \
         (a query starts with '{', '|', '!=' or '!~')\n"
    );
    assert!(out.stdout.is_empty());
    // A missing file is still a missing file (exit 1 with files, or 2 with
    // nothing readable at all, as before).
    let out = filter(["no-such-file.log"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!stderr(&out).contains("did you mean"), "{}", stderr(&out));
    // A file of that name is read, as any file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("json"), "a\n").unwrap();
    let out = nagare()
        .current_dir(dir.path())
        .args(["filter", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"a\n");
}

/// Writes `text` to a file named `name` in a fresh directory.
fn input(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

const FLYCTL: &str = "\
2026-05-06T10:30:45Z app[148ed193b95089] ams [info] {\"status\":503}
2026-05-06T10:30:46Z proxy[148ed193b95089] ams [error][PC01] instance refused connection
2026-05-06T10:30:47Z app[148ed193b95089] ams [info] {\"status\":200}
";

/// A selector that matches no stream says so once, with the lines read,
/// instead of a silent empty answer.
#[test]
fn selector_matching_no_stream_is_said() {
    let (_d, p) = input("fly.txt", FLYCTL);
    let out = nagare()
        .args(["filter", r#"{app="api"} | json | status >= 500"#])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "nagare: no stream matched the selector {app=\"api\"} (3 lines read)\n"
    );
    // The same over stdin, counted.
    let out = run_stdin(
        &["filter", "--count", r#"{app="api", region=~"a.*"}"#],
        FLYCTL.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"0\n");
    assert_eq!(
        stderr(&out),
        "nagare: no stream matched the selector {app=\"api\", region=~\"a.*\"} (3 lines read)\n"
    );
    // `nagare query` (a log query) says the same.
    let out = nagare()
        .args(["query", r#"{app="api"} | json | status >= 500"#])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "nagare: no stream matched the selector {app=\"api\"} (3 lines read)\n"
    );
    // A selector that matches says nothing, even with no line selected.
    let out = run_stdin(
        &[
            "filter",
            "--count",
            r#"{provider="app"} |= "nothing like this""#,
        ],
        FLYCTL.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"0\n");
    assert_eq!(stderr(&out), "");
}

/// A label filter on a label no line has says so once.
#[test]
fn label_filter_on_a_label_no_line_has_is_said() {
    let (_d, p) = input(
        "app.log",
        "{\"status\":503,\"path\":\"/a\"}\n{\"status\":200,\"path\":\"/b\"}\n",
    );
    let out = nagare()
        .args(["filter", "| json | statuss >= 500"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "nagare: no line had the label \"statuss\" that a label filter reads (2 lines read)\n"
    );
    let out = nagare()
        .args(["query", "| json | statuss >= 500"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "nagare: no line had the label \"statuss\" that a label filter reads (2 lines read)\n"
    );
    // A label some line has: nothing said.
    let out = nagare()
        .args(["filter", r#"| json | status >= 500 or path="/c""#])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"{\"status\":503,\"path\":\"/a\"}\n");
    assert_eq!(stderr(&out), "");
}

/// Printed lines that carry `__error__` get one hint with the count and
/// the fix; a query that reads `__error__` gets none.
#[test]
fn error_lines_in_a_log_answer_are_said_once() {
    let (_d, p) = input(
        "app.log",
        "{\"status\":503}\noops, not JSON\n{\"status\":504}\n",
    );
    let out = nagare()
        .args(["filter", "| json"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_lines(&out).len(), 3);
    assert_eq!(
        stderr(&out),
        "nagare: 1 of the 3 lines selected carry __error__ (JSONParserErr); \
         add | __error__=\"\" to the query to drop them\n"
    );
    let out = nagare()
        .args(["filter", "| json | __error__=\"\""])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_lines(&out).len(), 2);
    assert_eq!(stderr(&out), "");
    // `nagare query`: the lines it prints.
    let out = nagare().args(["query", "| json"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_lines(&out).len(), 3);
    assert_eq!(
        stderr(&out),
        "nagare: 1 of the 3 lines printed carry __error__ (JSONParserErr); \
         add | __error__=\"\" to the query to drop them\n"
    );
    // Metric queries fail on error samples, as before.
    let out = nagare()
        .args([
            "query",
            "sum(count_over_time({filename=~\".+\"} | json [1h]))",
        ])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("__error__=\"\""), "{}", stderr(&out));
}

/// `metrics --listen` without `-f` goes on serving after its input ends,
/// as a Prometheus exporter does, says so, and SIGTERM ends it with exit 0.
#[test]
fn metrics_listen_keeps_serving_after_the_input_ends() {
    use std::io::{BufRead, BufReader, Read, Write};
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/app.log");
    let mut child = nagare()
        .args([
            "metrics",
            "--output",
            "json",
            "--listen",
            "127.0.0.1:0",
            app,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Whatever happens below, the child does not outlive the test.
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(120));
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("nagare: serving /metrics on http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .trim_end()
        .to_string();
    let mut ended = String::new();
    err.read_line(&mut ended).unwrap();
    assert_eq!(
        ended,
        format!(
            "nagare: input ended; still serving /metrics on http://{addr} \
             until interrupted (Ctrl-C or SIGTERM)\n"
        )
    );
    // The report was printed already; the totals are served.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(
        body.starts_with("HTTP/1.1 200"),
        "{}",
        show(body.as_bytes())
    );
    assert!(
        body.contains("\nlog_lines_total"),
        "{}",
        show(body.as_bytes())
    );
    let st = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert_eq!(out.status.code(), Some(0), "{rest}");
    assert_eq!(rest, "");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.is_object());
    drop(watchdog);
}

/// An error inside a `line_format` or `label_format` template points at its
/// column in the query (escapes counted as written), not at column 1.
#[test]
fn template_errors_point_at_their_column() {
    let cases = [
        (
            r#"{app="api"} | json | line_format "{{.status | nosuch}}""#,
            "nagare: parse error at line 1, col 47: invalid template: function \"nosuch\" not defined\n\
             \x20 {app=\"api\"} | json | line_format \"{{.status | nosuch}}\"\n\
             \x20                                               ^\n",
        ),
        (
            r#"| json | label_format x="{{.status", y=z"#,
            "nagare: parse error at line 1, col 35: invalid template: unclosed action\n\
             \x20 | json | label_format x=\"{{.status\", y=z\n\
             \x20                                   ^\n",
        ),
        (
            r#"| line_format "\"a\" {{.b | nosuch}}""#,
            "nagare: parse error at line 1, col 29: invalid template: function \"nosuch\" not defined\n\
             \x20 | line_format \"\\\"a\\\" {{.b | nosuch}}\"\n\
             \x20                             ^\n",
        ),
    ];
    for (query, want) in cases {
        let out = filter([query, "/dev/null"]);
        assert_eq!(out.status.code(), Some(2), "{query}");
        assert_eq!(stderr(&out), want, "{query}");
        let out = nagare().args(["explain", query]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{query}");
        assert_eq!(stderr(&out), want, "{query}");
    }
}

/// A `nagare` run in `dir` with no user config folder.
fn nagare_in(dir: &std::path::Path, home: &std::path::Path) -> Command {
    let mut c = nagare();
    c.current_dir(dir)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME");
    c
}

/// The shipped custom formats work from any directory (built into the
/// binary); `./parsers` still overrides them, and `formats list` says where
/// each came from.
#[test]
fn shipped_formats_work_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let log = dir.path().join("router.log");
    std::fs::write(
        &log,
        "2026-05-06T10:30:45.123456+00:00 heroku[router]: at=error code=H12 desc=\"Request timeout\" method=GET path=\"/v1/x\" host=api.example.com request_id=8601b555 fwd=\"1.2.3.4\" dyno=web.1 connect=1ms service=30001ms status=503 bytes=0 protocol=https\n",
    )
    .unwrap();
    let out = nagare_in(dir.path(), home.path())
        .args([
            "filter",
            "--format",
            "heroku-router",
            "--count",
            "| status >= 500",
        ])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"1\n", "{}", stderr(&out));
    let list = |d: &std::path::Path| {
        let out = nagare_in(d, home.path())
            .args(["formats", "list"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout_strings(&out)
    };
    let row = |rows: &[String], name: &str| -> Vec<String> {
        rows.iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name}: {rows:?}"))
            .split_whitespace()
            .take(4)
            .map(str::to_string)
            .collect()
    };
    let rows = list(dir.path());
    assert_eq!(
        row(&rows, "uvicorn"),
        ["uvicorn", "regex", "built-in", "parsers/uvicorn.toml"]
    );
    assert_eq!(row(&rows, "json")[..2], ["json", "built-in"]);
    // A definition in ./parsers overrides the built-in one.
    std::fs::create_dir(dir.path().join("parsers")).unwrap();
    std::fs::write(
        dir.path().join("parsers/uvicorn.toml"),
        "name = \"uvicorn\"\ndescription = \"mine\"\npattern = '<a> <b>'\n",
    )
    .unwrap();
    let rows = list(dir.path());
    assert_eq!(
        row(&rows, "uvicorn"),
        ["uvicorn", "pattern", "parsers/uvicorn.toml", "mine"]
    );
    assert_eq!(
        row(&rows, "klog")[..3],
        ["klog", "regex", "built-in"],
        "the others stay"
    );
    // A broken definition in ./parsers costs nothing until it is needed…
    std::fs::write(
        dir.path().join("parsers/bad.toml"),
        "name = \"bad\"\npattern = '<a>'\ntypes = { a = \"number\" }\n",
    )
    .unwrap();
    let out = nagare_in(dir.path(), home.path())
        .args(["filter", "--format", "json", "--count", "|= \"x\""])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    // …and stops the command that names it.
    let out = nagare_in(dir.path(), home.path())
        .args(["filter", "--format", "bad", "|= \"x\""])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "nagare: parsers/bad.toml:3:15: unknown type \"number\" for \"a\" \
         (one of: int, float, seconds, ms, bytes, bool, string, quoted, query)\n"
    );
}
