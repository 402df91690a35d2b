//! Loki's LogQL semantics, pinned on small hand-written fixtures
//! (`fixtures/semantics/`, described in its README). Each test names the
//! fixture lines (1-based) a query must select, in input order.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/semantics")
        .join(name)
}

fn fixture_lines(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap();
    split_lines(&data)
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect()
}

/// Runs `nagare filter FLAGS… QUERY FILE` (exit 0 required) and returns the
/// 1-based numbers of the fixture lines it printed.
fn selected(flags: &[&str], query: &str, path: &Path) -> Vec<usize> {
    let lines = fixture_lines(path);
    let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    args.push(query.to_string());
    args.push(path.display().to_string());
    let out = filter(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nagare filter {args:?} failed: {}",
        stderr(&out)
    );
    stdout_lines(&out)
        .iter()
        .map(|l| {
            let pos: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, f)| *f == l)
                .map(|(i, _)| i + 1)
                .collect();
            assert_eq!(
                pos.len(),
                1,
                "{query}: printed a line that is not exactly one fixture line: {}",
                show(l)
            );
            pos[0]
        })
        .collect()
}

/// `--output jsonl` records, parsed.
fn jsonl(flags: &[&str], query: &str, path: &Path) -> Vec<Value> {
    let mut args: Vec<String> = vec!["--output".into(), "jsonl".into()];
    args.extend(flags.iter().map(|s| s.to_string()));
    args.push(query.to_string());
    args.push(path.display().to_string());
    let out = filter(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout_strings(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn record_for<'a>(records: &'a [Value], line: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["line"] == line)
        .unwrap_or_else(|| panic!("no record with line {line:?} in {records:#?}"))
}

fn records() -> PathBuf {
    fixture("records.log")
}

/// Loki 3 (grafana/loki#12378, `NumericLabelFilter.Process`): a numeric
/// filter no longer passes error lines; a line without the label is
/// dropped even when it carries `__error__`, and a value that is present is
/// compared. Only a string filter such as `__error__=""` removes the error
/// lines that keep their label.
#[test]
fn numeric_filters_drop_error_lines_without_the_label() {
    let f = records();
    assert_eq!(
        selected(&[], "| json | status >= 500", &f),
        [1, 4, 7, 12],
        "error lines without status (3 plain text, 9 array, 10 empty, 11 scalar) \
         are dropped; 4 (truncated, status=500 read before the error) is compared; \
         7 (status=\"abc\") passes with LabelFilterErr"
    );
    assert_eq!(
        selected(&[], r#"| json | __error__="" | status >= 500"#, &f),
        [1, 7, 12]
    );
    assert_eq!(
        selected(&[], r#"| json | status >= 500 | __error__="""#, &f),
        [1, 12],
        "the LabelFilterErr set on line 7 is an error like any other"
    );
    assert_eq!(
        selected(&[], r#"| json | __error__="JSONParserErr""#, &f),
        [3, 4, 9, 10, 11]
    );
}

/// A numeric filter drops a record that lacks the label, an error line
/// included (Loki 3's `NumericLabelFilter.Process`: `if !ok { return line,
/// false }` comes first).
#[test]
fn numeric_filter_drops_records_without_the_label() {
    assert_eq!(
        selected(&[], "| json | status >= 0", &records()),
        [1, 2, 4, 7, 8, 12],
        "lines 5 and 6 have no status, nor have the error lines 3, 9, 10, 11"
    );
}

/// A string filter reads a missing label as "".
#[test]
fn string_filters_read_a_missing_label_as_empty() {
    let f = records();
    assert_eq!(
        selected(&[], r#"| json | __error__="" | q="""#, &f),
        [1, 2, 6, 7, 8, 12]
    );
    assert_eq!(
        selected(&[], r#"| json | q="""#, &f),
        [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12],
        "error lines have no q either (line 4 is cut before q's value)"
    );
    assert_eq!(
        selected(&[], r#"| json | __error__="" | method!="GET""#, &f),
        [5, 6, 7, 8, 12]
    );
}

/// Loki's json parser keeps the labels it extracted before it hit the
/// error (`jsonparser.ObjectEach` calls back per key), and sets
/// `__error__` and `__error_details__`.
#[test]
fn json_error_line_keeps_the_fields_before_the_error() {
    let f = records();
    assert_eq!(
        selected(&[], r#"| json | path="/v1/search""#, &f),
        [4, 5, 6]
    );
    let recs = jsonl(&[], r#"| json | path="/v1/search""#, &f);
    let r = record_for(&recs, r#"{"status":500,"path":"/v1/search","q""#);
    assert_eq!(r["labels"]["__error__"], "JSONParserErr");
    assert_eq!(r["labels"]["status"], "500");
    assert_eq!(r["labels"]["path"], "/v1/search");
    assert!(r["labels"].get("q").is_none(), "{r}");
}

/// Regex label matchers are anchored; line-filter regexes are not.
#[test]
fn label_regex_is_anchored_line_regex_is_not() {
    let f = records();
    assert_eq!(selected(&[], r#"| json | path=~"/v1""#, &f), [2]);
    assert_eq!(
        selected(&[], r#"| json | __error__="" | path=~"/v1.*""#, &f),
        [1, 2, 5, 6]
    );
    assert_eq!(
        selected(&[], r#"| json | __error__="" | path!~"/v1""#, &f),
        [1, 5, 6, 7, 8, 12]
    );
    assert_eq!(selected(&[], r#"|~ "/v1""#, &f), [1, 2, 4, 5, 6]);
    assert_eq!(selected(&[], r#"|~ "^\\{\"path""#, &f), [5, 6]);
}

/// A value that does not parse as a number sets
/// `__error__="LabelFilterErr"` (visible in jsonl) and the line passes.
#[test]
fn unparsable_number_sets_label_filter_err_and_passes() {
    let f = records();
    let recs = jsonl(&[], "| json | status >= 500", &f);
    let r = record_for(&recs, r#"{"status":"abc","path":"/bad"}"#);
    assert_eq!(r["labels"]["__error__"], "LabelFilterErr", "{r}");
    assert_eq!(r["labels"]["status"], "abc");
    // Line 4 keeps its first error: the filter compares status=500 and
    // sets no LabelFilterErr over the JSONParserErr.
    let r = record_for(&recs, r#"{"status":500,"path":"/v1/search","q""#);
    assert_eq!(r["labels"]["__error__"], "JSONParserErr", "{r}");
    assert!(recs.iter().all(|r| r["line"] != "not json at all"));
    let r = record_for(
        &recs,
        r#"{"status":503,"path":"/v1/x","method":"GET","level":"error"}"#,
    );
    assert!(r["labels"].get("__error__").is_none(), "{r}");
    assert_eq!(
        selected(
            &[],
            r#"| json | status >= 500 | __error__="LabelFilterErr""#,
            &f
        ),
        [7]
    );
}

/// Nested objects flatten with `_`.
#[test]
fn nested_fields_flatten_with_underscore() {
    assert_eq!(
        selected(&[], r#"| json | http_client_ip="10.0.0.1""#, &records()),
        [8]
    );
}

/// An extracted name that is already a stream label gets the `_extracted`
/// suffix; the stream label keeps its value.
#[test]
fn extracted_suffix_when_a_json_key_is_a_stream_label() {
    let f = records();
    let recs = jsonl(
        &["--label", "app=x"],
        r#"{app="x"} | json | status = 502 | __error__="""#,
        &f,
    );
    assert_eq!(recs.len(), 1, "{recs:#?}");
    let labels = &recs[0]["labels"];
    assert_eq!(labels["app"], "x", "{labels}");
    assert_eq!(labels["app_extracted"], "inner", "{labels}");
    assert_eq!(labels["filename"], f.display().to_string(), "{labels}");
    assert_eq!(
        selected(
            &["--label", "app=x"],
            r#"{app="x"} | json | app_extracted="inner""#,
            &f
        ),
        [12]
    );
    assert_eq!(
        selected(&["--label", "app=x"], r#"{app="inner"} | json"#, &f),
        Vec::<usize>::new(),
        "stream matchers see stream labels only"
    );
    // Without the stream label, the key is extracted under its own name.
    assert_eq!(selected(&[], r#"| json | app="inner""#, &f), [12]);
}

/// Loki's `unescapeJSONString` turns the replacement character U+FFFD,
/// escaped or not, into a space ("the rune error replacement is rejected
/// by Prometheus hence replacing them with space", `removeInvalidUtf`).
#[test]
fn json_values_holding_the_replacement_character_get_spaces() {
    let f = fixture("replacement_char.log");
    assert_eq!(selected(&[], r#"| json | q="café   x""#, &f), [1, 2]);
    assert_eq!(selected(&[], r#"| json | q=~"caf.*""#, &f), [1, 2, 3]);
    assert!(selected(&[], r#"| json | q="""#, &f).is_empty());
}

/// For Fly envelopes, the printed line is the app's own line (the inner
/// `message`) unchanged, whatever characters it holds; `| json` and the
/// label filters work on it, and `app`/`region`/`instance` are stream
/// labels.
#[test]
fn fly_prints_the_app_line_unchanged() {
    let f = fixture("fly.log");
    let want: Vec<String> = fixture_lines(&f)
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_slice(l).unwrap();
            v["message"].as_str().unwrap().to_string()
        })
        .collect();
    let run = |args: &[&str]| -> Vec<String> {
        let mut a: Vec<&str> = args.to_vec();
        a.push(f.to_str().unwrap());
        let out = filter(&a);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let pick = |ns: &[usize]| -> Vec<String> { ns.iter().map(|n| want[n - 1].clone()).collect() };
    assert_eq!(run(&["--format", "fly", r#"|= """#]), want);
    assert_eq!(run(&[r#"|= """#]), want, "auto-detected as fly");
    assert_eq!(
        run(&["| json | status >= 500"]),
        pick(&[1, 2, 3]),
        "1–3 are JSON records with status 5xx; 4 is an error line without \
         status, dropped as Loki 3 does"
    );
    assert_eq!(
        run(&[r#"{app="api", region="ams"} | json | __error__="" | status=502"#]),
        pick(&[2])
    );
    assert_eq!(
        run(&[r#"| json | __error__="" | q=~"café  .*""#]),
        pick(&[2, 3]),
        "U+FFFD in q is a space (Loki's unescapeJSONString)"
    );
}

/// Fields a format decodes are labels without a parser stage, but only for
/// a complete record: "A line that its format cannot decode is kept, not
/// dropped: it has no decoded fields" (ARCHITECTURE.md, contract: "Records"). Line 4 is
/// truncated JSON, so it has no `status` and a numeric filter drops it; no
/// parser ran, so no `__error__` lets it pass either.
#[test]
fn format_fields_exist_only_for_complete_records() {
    let f = records();
    assert_eq!(
        selected(&["--format", "json"], "| status >= 400", &f),
        [1, 7, 8, 12],
        "7 passes with LabelFilterErr; 4 (truncated) has no decoded fields"
    );
    assert_eq!(
        selected(&["--format", "json"], r#"| path="/v1/search""#, &f),
        [5, 6]
    );
}

/// Lines ending in CRLF give the same answers as LF lines.
#[test]
fn crlf_lines_behave_like_lf_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 2] = [
        (
            "records.log",
            &[
                "| json | status >= 500",
                r#"| json | __error__="" | q="""#,
                r#"| json | path=~"/v1""#,
                r#"|~ "error\"}$""#,
                r#"| json | __error__="" | status >= 400 | line_format "{{.status}} {{.path}}|""#,
            ],
        ),
        (
            "access.log",
            &[
                "| latency_ms > 1000",
                r#"|~ "0\\.231$""#,
                r#"| user_agent="Consul Health Check""#,
                r#"| q="café bar" | line_format "{{.q}}|{{.request_time}}|""#,
            ],
        ),
    ];
    for (name, queries) in cases {
        let lf = fixture(name);
        let crlf = dir.path().join(name);
        let text = std::fs::read(&lf).unwrap();
        let mut converted = Vec::new();
        for l in split_lines(&text) {
            converted.extend_from_slice(l);
            converted.extend_from_slice(b"\r\n");
        }
        std::fs::write(&crlf, converted).unwrap();
        for q in queries {
            let a = filter([*q, lf.to_str().unwrap()]);
            let b = filter([*q, crlf.to_str().unwrap()]);
            assert_eq!(a.status.code(), Some(0), "{q}: {}", stderr(&a));
            assert!(
                !a.stdout.is_empty(),
                "{name}: {q} selects nothing on LF input"
            );
            assert_eq!(
                String::from_utf8_lossy(&b.stdout),
                String::from_utf8_lossy(&a.stdout),
                "{name}: {q}: CRLF input answers differently from LF input"
            );
            assert_eq!(b.status.code(), Some(0));
        }
    }
    // The values themselves carry no CR.
    let crlf = dir.path().join("access.log");
    let out = filter([
        r#"| status=503 | line_format "[{{.request_time}}][{{.latency_ms}}]""#,
        crlf.to_str().unwrap(),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[1.502][1502]\n");
}

fn explain(query: &str) -> std::process::Output {
    nagare()
        .args(["explain", query])
        .output()
        .expect("running nagare")
}

/// `nagare explain`: exit 0 and a plan for a valid query; exit 2 and the
/// column for an invalid one.
#[test]
fn explain_exit_status_and_column() {
    for q in [
        r#"{app="x"} | json | status >= 500"#,
        r#"| json | __error__="" | path=~"/v1/.*" and (status >= 400 or latency_ms > 250)"#,
        r#"sum by (path) (rate({job="app"} | json [5m]))"#,
    ] {
        let out = explain(q);
        assert_eq!(out.status.code(), Some(0), "{q}: {}", stderr(&out));
        assert!(!out.stdout.is_empty(), "{q}: no plan printed");
    }
    // The query ends where a number is expected: the error points just past
    // its end (column 30 of 29 characters).
    let q = r#"{app="x"} | json | status >= "#;
    let out = explain(q);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("line 1, col 30"),
        "explain {q:?}: {}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

/// Every command reports a bad query the same way: exit 2 and the column.
#[test]
fn every_command_reports_a_bad_query_with_its_column() {
    let file = records();
    let file = file.to_str().unwrap();
    let bad: [(&str, &str); 4] = [
        // A stray token: column of the ')'.
        (r#"{app="x"} | json | status >= 500 )"#, "col 34"),
        // An invalid regex: column of its string.
        (r#"| json | path=~"(""#, "col 16"),
        // `{}` is rejected, as Loki rejects it.
        ("{}", "col 1"),
        // A call where a label filter's operator belongs: column of '('.
        (r#"| json | status >= 500 | bogus("x")"#, "col 31"),
    ];
    for (q, col) in bad {
        let runs = [
            ("explain", explain(q)),
            ("filter", filter([q, file])),
            (
                "filter --output jsonl",
                filter(["--output", "jsonl", q, file]),
            ),
            ("filter --count", filter(["--count", q, file])),
        ];
        for (cmd, out) in runs {
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{cmd} {q:?}: {err}");
            assert!(
                err.contains(&format!("line 1, {col}")),
                "{cmd} {q:?}: expected {col} in: {err}"
            );
            assert!(out.stdout.is_empty(), "{cmd} {q:?} printed output");
        }
    }
}

fn ips() -> PathBuf {
    fixture("ips.log")
}

/// `ip()` line filters find an address anywhere in the line, parsing each
/// address-shaped run whole (Loki's `ipFilter.filter`): `10.0.0.5.1` is not
/// an address, and an IPv4-mapped IPv6 address is not IPv4.
#[test]
fn ip_line_filters_scan_like_loki() {
    let f = ips();
    assert_eq!(selected(&[], r#"|= ip("10.0.0.0/8")"#, &f), [1, 4]);
    assert_eq!(selected(&[], r#"!= ip("10.0.0.0/8")"#, &f), [2, 3, 5, 6]);
    assert_eq!(selected(&[], r#"|= ip("2001:db8::/32")"#, &f), [2]);
    assert_eq!(
        selected(&[], r#"|= ip("10.9.9.1-10.9.9.9") or "mapped""#, &f),
        [4, 6]
    );
}

/// `ip()` label filters (Loki's `IPLabelFilter`): the value is scanned for
/// an address; a missing label fails `=` and `!=` alike; a line that
/// already carries `__error__` passes.
#[test]
fn ip_label_filters_follow_loki() {
    let f = ips();
    assert_eq!(
        selected(&[], r#"| logfmt | addr = ip("10.0.0.5")"#, &f),
        [1]
    );
    assert_eq!(
        selected(&[], r#"| logfmt | addr != ip("10.0.0.5")"#, &f),
        [2, 3, 5, 6]
    );
    assert_eq!(
        selected(&[], r#"| logfmt | addr = ip("172.16.0.0/12")"#, &f),
        [5]
    );
    assert_eq!(
        selected(&[], r#"| logfmt | addr = ip("10.0.0.1-10.0.0.9")"#, &f),
        [1]
    );
    // Every line fails `| json`, so every line passes the ip filter.
    assert_eq!(
        selected(&[], r#"| json | addr = ip("10.0.0.5")"#, &f),
        [1, 2, 3, 4, 5, 6]
    );
}

/// A bad `ip()` pattern is a query error (exit 2) pointing at the filter.
#[test]
fn bad_ip_pattern_is_a_query_error() {
    for q in [r#"|= ip("10.0.0.0/33")"#, r#"| logfmt | addr = ip("nope")"#] {
        let out = filter([q, ips().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{q}");
        let e = stderr(&out);
        assert!(e.contains("ip: invalid pattern"), "{q}: {e}");
        assert!(e.contains("col "), "{q}: {e}");
    }
}

/// Pattern line filters without a capture are valid, as Loki's
/// `pattern.ParseLineFilter` (Test_ParseLineFilter) allows, and match as
/// its `Matcher.Test`; a query starting with `!>` is taken for the query,
/// not a file name.
#[test]
fn pattern_line_filters_without_captures() {
    let input = b"foo\nbar\nxx foo\nfoo bar\n\nbaz\n";
    let run = |q: &str| -> Vec<String> {
        let out = run_stdin(&["filter", q], input);
        assert_eq!(out.status.code(), Some(0), "{q}: {}", stderr(&out));
        stdout_strings(&out)
    };
    // Without a capture the literal is searched for and must end the line,
    // so "bar" matches "foo bar" and "foo" matches "xx foo".
    assert_eq!(run(r#"!> "foo" or "bar""#), ["", "baz"]);
    assert_eq!(
        run(r#"|> "foo" or "bar""#),
        ["foo", "bar", "xx foo", "foo bar"]
    );
    assert_eq!(run(r#"!> """#), ["foo", "bar", "xx foo", "foo bar", "baz"]);
    assert_eq!(run(r#"|> """#), [""]);
    assert_eq!(run(r#"|> "foo <_>""#), ["foo bar"]);
}
