//! A metric query reads its inputs once, however many range aggregations it
//! has: stdin, gzip and `--follow` give the same answer as a plain file
//! (they used to give nothing, or decompress once per aggregation).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nagare::batch::{Batch, BatchSource, InputId, InputInfo, Next};
use nagare::decode::Format;
use nagare::engine::{no_progress, Engine};
use nagare::framing::ChunkKind;
use nagare::logql::ast::Expr;
use nagare::logql::metric_query::{MetricParams, MetricPlan};
use nagare::logql::parse;
use nagare::logql::result::{QueryOutput, ResultWriter};
use nagare::record::Labels;

mod common;

/// Three GETs and two POSTs within ten seconds.
const LOG: &str = concat!(
    "{\"ts\":\"2026-05-06T10:00:01Z\",\"msg\":\"GET /a\"}\n",
    "{\"ts\":\"2026-05-06T10:00:02Z\",\"msg\":\"POST /a\"}\n",
    "{\"ts\":\"2026-05-06T10:00:03Z\",\"msg\":\"GET /b\"}\n",
    "{\"ts\":\"2026-05-06T10:00:07Z\",\"msg\":\"POST /b\"}\n",
    "{\"ts\":\"2026-05-06T10:00:09Z\",\"msg\":\"GET /c\"}\n",
);

const RATIO: &str = r#"sum(count_over_time({job="x"} |= "GET" [1h])) / sum(count_over_time({job="x"} |= "POST" [1h]))"#;

/// Runs `nagare query` with `args`, feeding `stdin`; returns status, stdout
/// and stderr.
fn query(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let args: Vec<&str> = std::iter::once("query")
        .chain(args.iter().copied())
        .collect();
    let out = common::run_stdin(&args, stdin);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stdin_gzip_and_follow_answer_as_the_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log");
    std::fs::write(&file, LOG).unwrap();
    let gz = dir.path().join("app.log.gz");
    std::fs::write(&gz, common::gzip(LOG.as_bytes())).unwrap();
    let file = file.to_str().unwrap();
    let gz = gz.to_str().unwrap();

    let base = ["--label", "job=x", "--instant", RATIO];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    let (code, from_file, err) = query(
        &with(&[file]).iter().map(String::as_str).collect::<Vec<_>>(),
        b"",
    );
    assert_eq!(code, 0, "{err}");
    // 3 GETs / 2 POSTs in the hour ending at the last sample (an instant
    // query without --end is evaluated there).
    assert_eq!(from_file, "{}\n  2026-05-06T10:00:09Z  1.5\n");
    for (what, args, stdin) in [
        ("stdin", vec![], LOG.as_bytes()),
        ("stdin as -", vec!["-"], LOG.as_bytes()),
        ("gzip", vec![gz], &b""[..]),
        ("--follow on stdin", vec!["-f"], LOG.as_bytes()),
    ] {
        let (code, out, err) = query(
            &with(&args).iter().map(String::as_str).collect::<Vec<_>>(),
            stdin,
        );
        assert_eq!(code, 0, "{what}: {err}");
        assert_eq!(out, from_file, "{what}: {err}");
    }
}

/// Each input is opened and read once per query: `-v` logs every input
/// the engine starts reading.
#[test]
fn each_input_is_read_once_per_query() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("app.log.gz");
    std::fs::write(&gz, common::gzip(LOG.as_bytes())).unwrap();
    let out = Command::new(common::nagare_bin())
        .env("RUST_LOG", "info")
        .args(["query", "--label", "job=x", RATIO])
        .arg(&gz)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("reading input").count(), 1, "{err}");
}

/// A source that counts what it hands out, in batches of one line.
struct Lines {
    input: Arc<InputInfo>,
    lines: Vec<&'static str>,
    read: Arc<AtomicUsize>,
}

impl BatchSource for Lines {
    fn next_batch(&mut self, mut buf: Vec<u8>) -> Next {
        let i = self.read.fetch_add(1, Ordering::SeqCst);
        let Some(line) = self.lines.get(i) else {
            return Next::End;
        };
        buf.clear();
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        Next::Batch(Batch {
            input: self.input.clone(),
            len: buf.len(),
            data: buf,
            kind: ChunkKind::Lines,
            arrival_ns: 0,
            end: None,
        })
    }
}

/// Through the library: a query with three range aggregations takes each
/// batch from its source once.
#[test]
fn a_query_with_three_range_aggregations_takes_each_batch_once() {
    let Expr::Metric(m) = parse(&format!(
        r#"{RATIO} + sum(count_over_time({{job="x"}} |= "/c" [1h]))"#
    ))
    .unwrap() else {
        panic!("not a metric query")
    };
    let plan = MetricPlan::new(
        &m,
        MetricParams {
            instant: true,
            ..Default::default()
        },
    )
    .unwrap();
    let mut labels = Labels::new();
    labels.insert("job", "x");
    let read = Arc::new(AtomicUsize::new(0));
    let source = Lines {
        input: Arc::new(InputInfo::new(
            InputId::of(LOG.as_bytes()),
            "-".into(),
            labels,
            Format::Json,
        )),
        lines: LOG.lines().collect(),
        read: read.clone(),
    };
    let mut collector = plan.collector();
    let make_worker = || {
        let mut w = plan.worker();
        move |b: &Batch| w.batch(b)
    };
    let summary = Engine {
        threads: 2,
        streaming: false,
    }
    .run(
        vec![Box::new(source)],
        &make_worker,
        |o| collector.absorb(o.out),
        &mut no_progress,
    );
    assert!(summary.errors.is_empty());
    // Five batches and the call that found the end.
    assert_eq!(read.load(Ordering::SeqCst), 6);
    let mut w = ResultWriter::new(Vec::new(), QueryOutput::Table, true);
    plan.finish(collector, &mut w).unwrap();
    assert_eq!(
        String::from_utf8(w.w).unwrap(),
        "{}\n  2026-05-06T10:00:09Z  2.5\n"
    );
}

/// With no bounds, any error sample fails the query, and the earliest of
/// each aggregation's first errors is named, as when each aggregation read
/// the input on its own: here `b`'s error (01:00) in the second file, not
/// `a`'s (05:00) read first.
#[test]
fn the_earliest_pipeline_error_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e1 = dir.path().join("e1.log");
    let e2 = dir.path().join("e2.log");
    std::fs::write(&e1, "ts=2024-01-01T05:00:00Z a=bad b=1\n").unwrap();
    std::fs::write(&e2, "ts=2024-01-01T01:00:00Z a=1 b=worse\n").unwrap();
    let out = common::nagare()
        .args([
            "query",
            "--label",
            "job=x",
            r#"sum(sum_over_time({job="x"} | logfmt | unwrap a [1h])) + sum(sum_over_time({job="x"} | logfmt | unwrap b [1h]))"#,
        ])
        .arg(&e1)
        .arg(&e2)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(r#"b="worse""#), "{err}");
}

/// Multi-line records longer than --max-line-length stay one record in
/// every command, cut once with a warning: the first lines and the last
/// one (where a traceback names the exception) are kept. The Flask record
/// of the fixture is 236 bytes; its last line, 44, fits the quarter of a
/// 200-byte limit kept for it.
#[test]
fn long_multi_line_records_stay_one_record_in_every_command() {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/formats/python.log");
    let out = common::nagare()
        .args([
            "query",
            "--max-line-length",
            "200",
            r#"sum(count_over_time({filename=~".+"} |= "locked" [1h]))"#,
            python,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("  1\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("is longer than 200 bytes; truncated").count(),
        1,
        "{err}"
    );
    let out = common::nagare()
        .args([
            "metrics",
            "--max-line-length",
            "200",
            "--output",
            "json",
            python,
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["db_locks"]["events"], 1);
}
