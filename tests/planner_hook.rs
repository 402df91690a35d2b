//! The planner hook: a store that returns any superset of the records a
//! query's pushed-down conditions allow, run through the compiled query as
//! candidates, gives exactly the answer a full scan gives.

use std::sync::Arc;

use nagare::batch::{InputId, InputInfo};
use nagare::decode::Format;
use nagare::engine::{no_progress, Engine};
use nagare::formats::registry::Registry;
use nagare::logql::ast::Expr;
use nagare::logql::log_query::{LogQueryPlan, Newest};
use nagare::logql::metric_query::{MetricParams, MetricPlan};
use nagare::logql::parse;
use nagare::logql::plan::{LineCondition, Pushdown};
use nagare::logql::result::{QueryOutput, ResultWriter};
use nagare::output::LineOutput;
use nagare::record::Labels;
use nagare::source::{FileSource, InputSpec, ReadOptions};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/app.log");

fn labels() -> Labels {
    let mut l = Labels::new();
    l.insert("job", "app");
    l.insert("filename", FIXTURE);
    l
}

fn read_options() -> ReadOptions {
    let mut only_job = Labels::new();
    only_job.insert("job", "app");
    ReadOptions {
        format: None,
        labels: only_job,
        max_line: 1 << 20,
        follow: None,
        formats: Registry::empty(),
        interrupt: None,
    }
}

/// A toy store: the lines whose text satisfies the line conditions (what
/// an index of words would return), plus every tenth other line, to show
/// that extra candidates change nothing.
fn candidates(p: &Pushdown) -> Vec<Vec<u8>> {
    let text = std::fs::read(FIXTURE).unwrap();
    let has = |line: &[u8], s: &str| line.windows(s.len()).any(|w| w == s.as_bytes());
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .filter(|(i, line)| {
            i % 10 == 0
                || p.line.iter().all(|c| match c {
                    LineCondition::ContainsAny(v) => v.iter().any(|s| has(line, s)),
                    LineCondition::ContainsNone(v) => v.iter().all(|s| !has(line, s)),
                })
        })
        .map(|(_, l)| l.to_vec())
        .collect()
}

fn scan_engine() -> Engine {
    Engine {
        threads: 2,
        streaming: false,
    }
}

#[test]
fn metric_query_over_candidates_equals_the_full_scan() {
    let q = r#"sum by (path) (count_over_time({job="app"} |= "\"status\":5" | json | __error__="" [5m])) / on(path) sum by (path) (count_over_time({job="app"} | json | __error__="" | status = "200" [5m]))"#;
    let Expr::Metric(m) = parse(q).unwrap() else {
        panic!()
    };
    let params = MetricParams {
        ..Default::default()
    };
    // The full scan, through the engine.
    let plan = MetricPlan::new(&m, params).unwrap();
    let mut collector = plan.collector();
    let filter = Arc::new(|l: &Labels| plan.selects_input(l));
    let sources = FileSource::split(
        vec![InputSpec::File(FIXTURE.into())],
        &read_options(),
        filter,
    );
    let make_worker = || {
        let mut w = plan.worker();
        move |b: &nagare::batch::Batch| w.batch(b)
    };
    scan_engine().run(
        sources,
        &make_worker,
        |o| collector.absorb(o.out),
        &mut no_progress,
    );
    let mut scanned = ResultWriter::new(Vec::new(), QueryOutput::Json, false);
    plan.finish(collector, &mut scanned).unwrap();

    // The same query over each range aggregation's candidates.
    let plan = MetricPlan::new(&m, params).unwrap();
    let pushdowns = plan.pushdowns();
    assert_eq!(pushdowns.len(), 2);
    assert_eq!(
        pushdowns[0].line,
        vec![LineCondition::ContainsAny(vec!["\"status\":5".into()])]
    );
    assert_eq!(
        pushdowns[1].label_equals,
        vec![("status".into(), "200".into())]
    );
    let input = InputInfo::new(InputId::default(), FIXTURE.into(), labels(), Format::Json);
    let mut w = plan.worker();
    let mut out = w.samples();
    for (i, p) in pushdowns.iter().enumerate() {
        for line in candidates(p) {
            w.record(i, &input, &line, 0, &mut out);
        }
    }
    let mut collector = plan.collector();
    let _ = collector.absorb(out);
    let mut answered = ResultWriter::new(Vec::new(), QueryOutput::Json, false);
    plan.finish(collector, &mut answered).unwrap();
    let scanned = String::from_utf8(scanned.w).unwrap();
    assert!(scanned.contains("\"path\":\"/v1/search\""), "{scanned}");
    assert_eq!(String::from_utf8(answered.w).unwrap(), scanned);
}

#[test]
fn log_query_over_candidates_equals_the_full_scan() {
    let q = r#"{job="app"} |= "/v1/" != "search" | json | status >= 400"#;
    let Expr::Log(log) = parse(q).unwrap() else {
        panic!()
    };
    let plan = LogQueryPlan::new(&log, None, LineOutput::Jsonl).unwrap();
    let mut newest = Newest::new(1000, false);
    let filter =
        Arc::new(|l: &Labels| nagare::logql::pipeline::matchers_select(&plan.query().matchers, l));
    let sources = FileSource::split(
        vec![InputSpec::File(FIXTURE.into())],
        &read_options(),
        filter,
    );
    let make_worker = || {
        let mut w = plan.worker();
        move |b: &nagare::batch::Batch| w.batch(b)
    };
    scan_engine().run(
        sources,
        &make_worker,
        |o| {
            newest.absorb(o.out);
            std::ops::ControlFlow::Continue(())
        },
        &mut no_progress,
    );
    let scanned: Vec<Vec<u8>> = newest.finish().into_iter().map(|h| h.printed).collect();
    assert!(!scanned.is_empty());

    let input = InputInfo::new(InputId::default(), FIXTURE.into(), labels(), Format::Json);
    let mut w = plan.worker();
    let mut hits = Vec::new();
    for line in candidates(plan.pushdown()) {
        w.record(&input, &line, 0, &mut hits);
    }
    let mut newest = Newest::new(1000, false);
    newest.absorb(hits);
    let answered: Vec<Vec<u8>> = newest.finish().into_iter().map(|h| h.printed).collect();
    assert_eq!(answered, scanned);
}
