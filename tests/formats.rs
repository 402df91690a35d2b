//! The built-in formats end to end, on sample lines from each format's own
//! documentation (`fixtures/formats/`, see its README): the fields and
//! event times `nagare filter --format NAME --output jsonl` gives, format
//! detection, and bad input (kept, counted as malformed, never a panic).

mod common;

use std::process::Output;

use common::*;
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!("{}/fixtures/formats/{name}.log", env!("CARGO_MANIFEST_DIR"))
}

fn jsonl(out: &Output) -> Vec<Value> {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The records of a fixture read as `format`, in logcli's JSON Lines shape.
fn records(format: &str, query: &str) -> Vec<Value> {
    jsonl(&filter([
        "--format",
        format,
        "--output",
        "jsonl",
        query,
        &fixture(format),
    ]))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn label<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v["labels"][name].as_str()
}

#[test]
fn apache_common_and_combined() {
    let r = records("apache", "|= \"\"");
    assert_eq!(r.len(), 3);
    let common = &r[0];
    assert_eq!(label(common, "remote_addr"), Some("127.0.0.1"));
    assert_eq!(label(common, "user"), Some("frank"));
    assert_eq!(label(common, "method"), Some("GET"));
    assert_eq!(label(common, "path"), Some("/apache_pb.gif"));
    assert_eq!(label(common, "protocol"), Some("HTTP/1.0"));
    assert_eq!(label(common, "status"), Some("200"));
    assert_eq!(label(common, "bytes"), Some("2326"));
    assert_eq!(common["timestamp"], "2000-10-10T20:55:36Z");
    let combined = &r[1];
    assert_eq!(
        label(combined, "referer"),
        Some("http://www.example.com/start.html")
    );
    assert_eq!(
        label(combined, "user_agent"),
        Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
    );
    let search = &r[2];
    assert_eq!(label(search, "q"), Some("café bar"));
    assert_eq!(label(search, "page"), Some("2"));
    assert_eq!(label(search, "bytes"), Some("0"));
    assert_eq!(label(search, "user"), None);
    // Fields are labels at once: no parser stage.
    assert_eq!(records("apache", "| status >= 400").len(), 1);
}

#[test]
fn syslog_rfc3164_and_rfc5424_examples() {
    let r = records("syslog", "|= \"\"");
    assert_eq!(r.len(), 8);
    let su = &r[0];
    assert_eq!(label(su, "facility"), Some("auth"));
    assert_eq!(label(su, "severity"), Some("crit"));
    assert_eq!(label(su, "hostname"), Some("mymachine"));
    assert_eq!(label(su, "app_name"), Some("su"));
    assert_eq!(
        label(su, "message"),
        Some("'su root' failed for lonvick on /dev/pts/8")
    );
    // No year in RFC 3164: the latest one not in the future.
    let ts = su["timestamp"].as_str().unwrap();
    assert!(ts.ends_with("-10-11T22:14:15Z"), "{ts}");
    let year: i64 = ts[..4].parse().unwrap();
    let now = chrono::Utc::now();
    let this_year = chrono::Datelike::year(&now) as i64;
    assert!(year == this_year || year == this_year - 1, "{ts}");

    assert_eq!(label(&r[1], "hostname"), Some("10.0.0.99"));
    assert_eq!(label(&r[1], "message"), Some("Use the BFG!"));
    assert_eq!(label(&r[3], "facility"), Some("kern"));
    assert_eq!(label(&r[3], "severity"), Some("emerg"));

    let rfc5424 = &r[4];
    assert_eq!(label(rfc5424, "hostname"), Some("mymachine.example.com"));
    assert_eq!(label(rfc5424, "msgid"), Some("ID47"));
    assert_eq!(label(rfc5424, "procid"), None);
    assert_eq!(
        label(rfc5424, "message"),
        Some("'su root' failed for lonvick on /dev/pts/8")
    );
    assert_eq!(rfc5424["timestamp"], "2003-10-11T22:14:15.003Z");
    assert_eq!(label(&r[5], "procid"), Some("8710"));
    assert_eq!(r[5]["timestamp"], "2003-08-24T12:14:15.000003Z");
    let sd = &r[6];
    assert_eq!(label(sd, "facility"), Some("local4"));
    assert_eq!(label(sd, "severity"), Some("notice"));
    assert_eq!(label(sd, "sd_exampleSDID_32473_iut"), Some("3"));
    assert_eq!(
        label(sd, "sd_exampleSDID_32473_eventSource"),
        Some("Application")
    );
    assert_eq!(label(sd, "sd_exampleSDID_32473_eventID"), Some("1011"));
    assert_eq!(
        label(sd, "message"),
        Some("An application event log entry...")
    );
    assert_eq!(label(&r[7], "sd_examplePriority_32473_class"), Some("high"));
    assert_eq!(label(&r[7], "message"), None);

    let errs = records("syslog", r#"| sd_exampleSDID_32473_eventID = "1011""#);
    assert_eq!(errs.len(), 2);
}

#[test]
fn syslog_files_without_pri() {
    let input = b"May  6 10:30:45 web-1 sshd[4242]: Accepted publickey for deploy\n\
2026-05-06T10:30:46.123456+00:00 web-1 kernel: eth0: link up\n";
    let r = jsonl(&run_stdin(
        &["filter", "--format", "syslog", "--output", "jsonl"],
        input,
    ));
    assert_eq!(r.len(), 2);
    assert_eq!(label(&r[0], "app_name"), Some("sshd"));
    assert_eq!(label(&r[0], "procid"), Some("4242"));
    assert_eq!(label(&r[0], "hostname"), Some("web-1"));
    assert_eq!(label(&r[1], "app_name"), Some("kernel"));
    assert_eq!(label(&r[1], "message"), Some("eth0: link up"));
    assert_eq!(r[1]["timestamp"], "2026-05-06T10:30:46.123456Z");
}

#[test]
fn python_records_with_tracebacks() {
    let r = records("python", "|= \"\"");
    assert_eq!(r.len(), 11, "21 lines, two tracebacks joined");
    assert_eq!(label(&r[0], "logger"), Some("simple_example"));
    assert_eq!(label(&r[0], "level"), Some("DEBUG"));
    assert_eq!(label(&r[0], "message"), Some("debug message"));
    assert_eq!(r[0]["timestamp"], "2005-03-19T15:10:26.618Z");
    let tb = &r[5];
    assert_eq!(label(tb, "exc_type"), Some("ZeroDivisionError"));
    assert_eq!(label(tb, "exc_message"), Some("division by zero"));
    let line = tb["line"].as_str().unwrap();
    assert!(line.starts_with("2005-03-19 15:10:26,801 - simple_example - ERROR - division failed\nTraceback (most recent call last):\n"));
    assert!(line.ends_with("ZeroDivisionError: division by zero"));
    assert_eq!(label(&r[9], "logger"), Some("root"));
    assert_eq!(
        label(&r[9], "message"),
        Some("And non-ASCII stuff, too, like Øresund and Malmö")
    );
    let flask = &r[10];
    assert_eq!(label(flask, "module"), Some("app"));
    assert_eq!(label(flask, "level"), Some("ERROR"));
    assert_eq!(label(flask, "exc_type"), Some("sqlite3.OperationalError"));
    assert_eq!(flask["timestamp"], "2005-03-19T15:10:27.01Z");

    // Raw output prints a record as written, traceback and all.
    let out = filter([
        "--format",
        "python",
        "|= \"ZeroDivisionError\"",
        &fixture("python"),
    ]);
    assert_eq!(stdout(&out).lines().count(), 6);
    let locked = records("python", "|= \"database is locked\" | level = \"ERROR\"");
    assert_eq!(locked.len(), 1);
}

/// A traceback longer than the line limit stays one record, truncated
/// once with a warning: its first lines and its last line (the exception)
/// are kept, the record count is right and `exc_type` is read.
#[test]
fn python_traceback_over_the_limit_stays_one_record() {
    let mut input = String::from(
        "2005-03-19 15:10:26,801 - app - ERROR - failed\nTraceback (most recent call last):\n",
    );
    for i in 0..200 {
        input.push_str(&format!("  File \"x.py\", line {i}, in f\n    g()\n"));
    }
    input.push_str("ValueError: bad value\n2005-03-19 15:10:27,000 - app - INFO - next\n");
    let out = run_stdin(
        &[
            "filter",
            "--format",
            "python",
            "--output",
            "jsonl",
            "--max-line-length",
            "1KiB",
            "|= \"\"",
        ],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = jsonl(&out);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(label(&r[0], "exc_type"), Some("ValueError"));
    assert_eq!(label(&r[0], "level"), Some("ERROR"));
    let line = r[0]["line"].as_str().unwrap();
    assert!(line.starts_with("2005-03-19 15:10:26,801 - app - ERROR - failed\nTraceback"));
    assert!(line.ends_with("\nValueError: bad value"), "{line}");
    assert!(line.len() <= 1024, "{}", line.len());
    assert_eq!(label(&r[1], "message"), Some("next"));
    let err = stderr(&out);
    assert_eq!(err.matches("truncated").count(), 1, "{err}");
    assert!(
        err.contains("record at byte 0 is longer than 1024 bytes"),
        "{err}"
    );
}

#[test]
fn cri_partial_lines_are_joined() {
    let r = records("cri", "|= \"\"");
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["line"], "The content of the log entry 1");
    assert_eq!(label(&r[0], "stream"), Some("stdout"));
    assert_eq!(label(&r[0], "tag"), Some("F"));
    assert_eq!(r[0]["timestamp"], "2016-10-06T00:17:09.669794202Z");
    assert_eq!(
        r[1]["line"],
        "First line of log entry 2Second line of the log entry 2Last line of the log entry 2"
    );
    assert_eq!(r[1]["timestamp"], "2016-10-06T00:17:09.669794202Z");
    // A JSON container line is decoded too; stream is a stream label.
    let errs = records("cri", r#"{stream="stderr"} | status >= 500"#);
    assert_eq!(errs.len(), 1);
    assert_eq!(label(&errs[0], "path"), Some("/v1/search"));
    assert_eq!(label(&errs[0], "level"), Some("error"));
    // Line filters see the container's line, not the CRI prefix.
    assert_eq!(records("cri", "!= \"stdout\"").len(), 3);
}

#[test]
fn convex_current_and_legacy_events() {
    let r = records("convex", "|= \"\"");
    assert_eq!(r.len(), 10);
    let console = &r[0];
    assert_eq!(label(console, "topic"), Some("console"));
    assert_eq!(label(console, "function_path"), Some("messages:send"));
    assert_eq!(label(console, "function_type"), Some("mutation"));
    assert_eq!(label(console, "request_id"), Some("d064ef901f7ec0b7"));
    assert_eq!(label(console, "level"), Some("LOG"));
    assert_eq!(label(console, "message"), Some("'Sent message!'"));
    assert_eq!(console["timestamp"], "2024-05-16T17:06:12.882Z");
    // The line is the event as it came.
    assert!(console["line"]
        .as_str()
        .unwrap()
        .starts_with("{\"topic\":\"console\""));

    // The docs' query example, under `data` as Axiom stores it.
    let query = &r[1];
    assert_eq!(label(query, "topic"), Some("function_execution"));
    assert_eq!(label(query, "function_path"), Some("message:list"));
    assert_eq!(label(query, "function_type"), Some("query"));
    assert_eq!(label(query, "function_cached"), Some("false"));
    assert_eq!(label(query, "request_id"), Some("892104e63bd39d9a"));
    assert_eq!(label(query, "status"), Some("success"));
    assert_eq!(label(query, "execution_time_ms"), Some("294"));
    assert_eq!(label(query, "usage_database_read_bytes"), Some("1077"));
    assert_eq!(label(query, "usage_database_read_documents"), Some("3"));
    assert_eq!(query["timestamp"], "2024-05-17T19:24:01.548Z");

    let failure = &r[2];
    assert_eq!(label(failure, "status"), Some("failure"));
    assert!(label(failure, "error_message")
        .unwrap()
        .starts_with("Uncaught Error: database is locked\n"));
    assert_eq!(label(&r[3], "audit_log_action"), Some("push_config"));
    assert_eq!(label(&r[4], "num_running_jobs"), Some("2"));
    assert_eq!(label(&r[5], "topic"), Some("verification"));

    // Legacy events: the same names.
    let console = &r[6];
    assert_eq!(label(console, "topic"), Some("console"));
    assert_eq!(label(console, "function_path"), Some("myDir/myFile"));
    assert_eq!(label(console, "function_type"), Some("query"));
    assert_eq!(label(console, "function_cached"), Some("true"));
    assert_eq!(label(console, "level"), Some("LOG"));
    assert_eq!(label(console, "message"), Some("'My log message'"));
    assert_eq!(console["timestamp"], "2023-09-18T19:45:50.531Z");
    assert_eq!(label(console, "_functionPath"), None);
    let record = &r[7];
    assert_eq!(label(record, "topic"), Some("function_execution"));
    assert_eq!(label(record, "function_path"), Some("POST /sendImage"));
    assert_eq!(label(record, "function_type"), Some("http_action"));
    assert_eq!(label(record, "status"), Some("failure"));
    assert_eq!(label(record, "execution_time_ms"), Some("73"));
    assert!(label(record, "error_message")
        .unwrap()
        .starts_with("Unexpected Error: Some error message"));
    assert_eq!(label(&r[8], "topic"), Some("audit_log"));
    assert_eq!(label(&r[8], "audit_log_action"), Some("push_config"));
    assert_eq!(label(&r[9], "message"), Some("Convex connection test"));

    // Fields are labels at once, in either schema.
    let failures = records("convex", r#"| status = "failure""#);
    assert_eq!(failures.len(), 2);
    let slow = records("convex", "| execution_time_ms > 100");
    assert_eq!(slow.len(), 2);

    // The metrics read them without any role configured.
    let out = filter_like(
        &["metrics", "--format", "convex", "--output", "json"],
        "convex",
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"], 10, "{v}");
    assert_eq!(v["malformed"], 0, "{v}");
    let functions = v["convex_functions"].to_string();
    assert!(functions.contains("POST /sendImage"), "{functions}");
    assert!(functions.contains("message:list"), "{functions}");
    // Console lines name their function but are no executions.
    assert!(!functions.contains("unknown"), "{functions}");
}

fn filter_like(args: &[&str], fixture_name: &str) -> Output {
    let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    v.push(fixture(fixture_name));
    let out = nagare().args(&v).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out
}

#[test]
fn convex_webhook_batches() {
    let body = b"[\n  {\"topic\": \"console\", \"timestamp\": 1715879172882, \"function\": {\"path\": \"a:b\", \"type\": \"query\"}, \"log_level\": \"WARN\", \"message\": \"hi\"},\n  {\"topic\": \"verification\", \"timestamp\": 1715879172883, \"message\": \"Convex connection test\"}\n]\n";
    let r = jsonl(&run_stdin(
        &[
            "filter", "--format", "convex", "--output", "jsonl", "|= \"\"",
        ],
        body,
    ));
    assert_eq!(r.len(), 2);
    assert_eq!(label(&r[0], "level"), Some("WARN"));
    assert_eq!(label(&r[0], "function_path"), Some("a:b"));
    assert_eq!(r[1]["timestamp"], "2024-05-16T17:06:12.883Z");
}

#[test]
fn loki_push_bodies_and_query_responses() {
    let r = records("loki", "|= \"\"");
    assert_eq!(r.len(), 5, "one record per entry");
    let fizz = &r[0];
    assert_eq!(fizz["line"], "fizzbuzz");
    assert_eq!(label(fizz, "foo"), Some("bar2"));
    assert_eq!(fizz["timestamp"], "2019-10-11T18:23:58Z");
    let err = &r[1];
    assert_eq!(label(err, "app"), Some("api"));
    assert_eq!(label(err, "env"), Some("prod"));
    assert_eq!(label(err, "trace_id"), Some("0242ac120002"));
    assert_eq!(label(err, "user_id"), Some("superUser123"));
    // The entry line is only the line, as in Loki: a parser stage reads it.
    assert_eq!(label(err, "status"), None);
    assert_eq!(err["timestamp"], "2019-10-11T18:23:59Z");
    assert_eq!(r[2]["line"], "GET /healthz 200");
    assert_eq!(label(&r[2], "trace_id"), None);
    // The query response, pretty-printed over many lines.
    let foo = &r[3];
    assert_eq!(foo["line"], "foo");
    assert_eq!(label(foo, "job"), Some("varlogs"));
    assert_eq!(label(foo, "level"), Some("info"));
    // The stream's own filename label wins over the input's.
    assert_eq!(label(foo, "filename"), Some("/var/log/myproject.log"));
    assert_eq!(foo["timestamp"], "2019-09-23T19:21:37.240578Z");
    assert_eq!(r[4]["line"], "bar");

    // Stream selectors match the entries' labels; structured metadata are
    // labels at once; the line's own fields come from `| json`.
    assert_eq!(records("loki", r#"{app="api"} | status >= 500"#).len(), 0);
    let errs = records("loki", r#"{app="api"} | json | status >= 500"#);
    assert_eq!(errs.len(), 1);
    // Loki's series for a json stage with a parameter: the stream labels,
    // the metadata and the one extracted label, nothing else.
    // (Read from stdin, so no `filename` label joins them; the plain-text
    // entry fails `| json` as in Loki and is left out.)
    let out = run_stdin(
        &[
            "query",
            "--format",
            "loki",
            "--output",
            "json",
            r#"count_over_time({app="api"} | json who="path" | __error__="" [1m])"#,
        ],
        &std::fs::read(fixture("loki")).unwrap(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let metrics: Vec<String> = doc["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metric"].to_string())
        .collect();
    assert_eq!(
        metrics,
        [
            r#"{"app":"api","env":"prod","trace_id":"0242ac120002","user_id":"superUser123","who":"/v1/search"}"#
        ],
        "{doc}"
    );
    assert_eq!(records("loki", r#"{job="varlogs"}"#).len(), 2);
    assert_eq!(records("loki", r#"| trace_id = "0242ac120002""#).len(), 1);
    // Raw output prints each entry's line.
    let out = filter(["--format", "loki", "|= \"\"", &fixture("loki")]);
    assert_eq!(stdout(&out), "fizzbuzz\n{\"level\":\"error\",\"status\":503,\"path\":\"/v1/search\",\"latency_ms\":1200}\nGET /healthz 200\nfoo\nbar\n");
}

#[test]
fn loki_metric_responses_are_skipped_with_a_warning() {
    let input = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"level":"info"},"values":[[1588889221,"137.95"]]}],"stats":{}}}
{"streams":[{"stream":{"a":"b"},"values":[["1570818238000000000","x"]]}]}
"#;
    let out = run_stdin(&["filter", "--output", "jsonl", "|= \"\""], input);
    let r = jsonl(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["line"], "x");
    assert!(
        stderr(&out).contains("holds no log entries"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn each_fixture_is_detected() {
    for name in [
        "json", "logfmt", "fly", "nginx", "apache", "syslog", "python", "cri", "convex", "loki",
    ] {
        let out = nagare()
            .env("RUST_LOG", "info")
            .args(["filter", "-v", "|= \"\"", &fixture(name)])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("format=\"{name}\"")), "{name}: {err}");
    }
}

#[test]
fn lines_that_do_not_match_are_kept_and_counted() {
    let cases: [(&str, &[u8]); 7] = [
        (
            "apache",
            b"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 5\nnot apache\n",
        ),
        (
            "syslog",
            b"<34>Oct 11 22:14:15 host su: ok\nnot syslog\n<34>1 2003-10-11T22:14:15Z h a - - [bad\n",
        ),
        (
            "python",
            b"stray line before any record\nERROR:root:boom\n  continuation\n",
        ),
        ("cri", b"2016-10-06T00:17:09Z stdout F ok\nnot cri\n"),
        ("nginx", b"not nginx\n"),
        (
            "convex",
            b"{\"topic\":\"verification\",\"timestamp\":1715973800000}\nnot convex\n",
        ),
        (
            "loki",
            b"{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"x\"]]}]}\nnot loki\n",
        ),
    ];
    for (format, input) in cases {
        let out = run_stdin(&["metrics", "--format", format, "--output", "json"], input);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let lines = v["lines"].as_u64().unwrap();
        let malformed = v["malformed"].as_u64().unwrap();
        let records = v["records"].as_u64().unwrap();
        assert_eq!(records + malformed, lines, "{format}: {v}");
        let want_malformed = match format {
            "syslog" => 2,
            _ => 1,
        };
        assert_eq!(malformed, want_malformed, "{format}: {v}");
        // Kept: a raw line filter still sees them.
        let out = run_stdin(&["filter", "--format", format, "|= \"not \""], input);
        if format != "python" {
            assert_eq!(stdout(&out).lines().count(), 1, "{format}");
        }
    }
}

/// Deterministic garbage: bytes that stress the parsers (brackets, digits,
/// quotes, separators, invalid UTF-8) in lines of every length.
fn garbage(seed: u64, lines: usize) -> Vec<u8> {
    const ALPHABET: &[u8] =
        b"<>[]{}\"\\:=- 0123456789TZ.,/+-PFstdoutrerrOctMay\xff\xfe\xc3\xef\xbb\xbf\t\r";
    let mut x = seed;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    for _ in 0..lines {
        let len = (next() % 120) as usize;
        for _ in 0..len {
            out.push(ALPHABET[(next() % ALPHABET.len() as u64) as usize]);
        }
        out.push(b'\n');
    }
    out
}

#[test]
fn garbage_bytes_never_panic() {
    let mut input = garbage(0x9e37_79b9_7f4a_7c15, 3000);
    // Valid lines of every format in between, so decoders get past their
    // first checks.
    for name in [
        "apache", "syslog", "python", "cri", "nginx", "convex", "loki",
    ] {
        input.extend(std::fs::read(fixture(name)).unwrap());
        input.extend(garbage(name.len() as u64 + 1, 200));
    }
    for format in [
        "auto", "apache", "nginx", "syslog", "python", "cri", "json", "logfmt", "fly", "convex",
        "loki",
    ] {
        for args in [
            vec!["filter", "--format", format, "--output", "jsonl"],
            vec!["metrics", "--format", format, "--output", "json"],
        ] {
            let out = run_stdin(&args, &input);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            assert!(!stderr(&out).contains("panicked"), "{args:?}");
        }
    }
}
