//! `nagare query`: LogQL over files or stdin without an index. Log queries
//! print lines (newest first, like Loki; `--forward` oldest first); metric
//! queries are evaluated as Loki range queries (or `--instant`) and print a
//! table or Loki's `query_range` JSON. The meaning lives in `logql`; this
//! file wires options to a run and an exit status.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::sync::Arc;

use super::filter::Hints;
use super::{exit_status, report_query_error, say, InputOptions, EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::batch::Batch;
use crate::logql::ast::{Expr, LogExpr, MetricExpr};
use crate::logql::log_query::{LogQueryPlan, Newest};
use crate::logql::metric_query::{MetricParams, MetricPlan, MetricQueryError};
use crate::logql::parse;
use crate::logql::pipeline::{matchers_select, Stats};
use crate::logql::result::ResultWriter;
use crate::output::LineOutput;
use crate::record::Labels;
use crate::source::InputSpec;

pub use crate::logql::result::QueryOutput;

/// Resolved options of `query`.
pub struct QueryOptions {
    pub query: String,
    pub inputs: Vec<InputSpec>,
    pub unreadable_inputs: usize,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub step: Option<i64>,
    pub instant: bool,
    pub limit: usize,
    pub max_series: usize,
    pub forward: bool,
    pub output: QueryOutput,
    pub lines: LineOutput,
    pub engine: InputOptions,
}

fn run_metric(m: &MetricExpr, opts: &QueryOptions) -> i32 {
    let params = MetricParams {
        start: opts.start,
        end: opts.end,
        step: opts.step,
        instant: opts.instant,
        max_series: opts.max_series,
    };
    let plan = match MetricPlan::new(m, params) {
        Ok(p) => p,
        Err(e) => {
            say(&e);
            return EXIT_USAGE;
        }
    };
    let mut collector = plan.collector();
    let summary = {
        let plan = &plan;
        let make_worker = || {
            let mut w = plan.worker();
            move |b: &Batch| w.batch(b)
        };
        opts.engine.run(
            &opts.inputs,
            Arc::new(move |l: &Labels| plan.selects_input(l)),
            &make_worker,
            |o| collector.absorb(o.out),
        )
    };
    let stdout = io::stdout();
    let mut w = ResultWriter::new(
        io::BufWriter::with_capacity(1 << 16, stdout.lock()),
        opts.output,
        opts.instant,
    );
    let result = plan
        .finish(collector, &mut w)
        .and_then(|_| w.w.flush().map_err(MetricQueryError::from));
    match result {
        Ok(()) => {}
        Err(MetricQueryError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e @ MetricQueryError::Output(_)) => {
            say(&e);
            return EXIT_INPUT;
        }
        Err(e) => {
            say(&e);
            return EXIT_USAGE;
        }
    }
    exit_status(&summary, opts.unreadable_inputs)
}

fn run_log(log: &LogExpr, opts: &QueryOptions) -> i32 {
    let range = match (opts.start, opts.end) {
        (None, None) => None,
        (s, e) => Some((s.unwrap_or(i64::MIN), e.unwrap_or(i64::MAX))),
    };
    let plan = match LogQueryPlan::new(log, range, opts.lines) {
        Ok(p) => p,
        Err(e) => {
            report_query_error(&e.into_query_error(&opts.query));
            return EXIT_USAGE;
        }
    };
    let mut newest = Newest::new(opts.limit, opts.forward);
    let mut total = Stats::default();
    let summary = {
        let plan = &plan;
        let make_worker = || {
            let mut w = plan.worker();
            move |b: &Batch| {
                let hits = w.batch(b);
                (hits, w.take_stats())
            }
        };
        opts.engine.run(
            &opts.inputs,
            Arc::new(move |l: &Labels| matchers_select(&plan.query().matchers, l)),
            &make_worker,
            |o| {
                let (hits, stats) = o.out;
                total.add(&stats);
                newest.absorb(hits);
                ControlFlow::Continue(())
            },
        )
    };
    if !summary.stopped {
        // The selector and label-filter hints; the `__error__` one is
        // about the lines printed (below).
        Hints {
            query: &opts.query,
            log,
            q: plan.query(),
            total: &total,
            errors: 0,
            first_error: None,
            malformed_only: false,
        }
        .say();
    }
    let mut w = io::BufWriter::new(io::stdout().lock());
    let hits = newest.finish();
    let errors: Vec<&str> = hits.iter().filter_map(|h| h.error).collect();
    for h in hits.iter() {
        if let Err(e) = w.write_all(&h.printed) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return EXIT_OK;
            }
            say(format!("writing output: {e}"));
            return EXIT_INPUT;
        }
    }
    let _ = w.flush();
    if !errors.is_empty() && !opts.query.contains("__error__") {
        say(format!(
            "{} of the {} printed carry __error__ ({}); add | __error__=\"\" to the query to drop them",
            errors.len(),
            super::filter::plural(hits.len() as u64, "line"),
            errors[0],
        ));
    }
    exit_status(&summary, opts.unreadable_inputs)
}

pub fn run(opts: QueryOptions) -> i32 {
    let expr = match parse(&opts.query) {
        Ok(e) => e,
        Err(e) => {
            report_query_error(&e);
            return EXIT_USAGE;
        }
    };
    match &expr {
        Expr::Log(log) => run_log(log, &opts),
        Expr::Metric(m) => run_metric(m, &opts),
    }
}
