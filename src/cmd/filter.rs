//! `nagare filter`: LogQL log queries over stdin, files and followed files;
//! prints each selected record as it arrives.

use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;

use std::sync::Arc;

use super::{exit_status, report_query_error, say, InputOptions, EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::batch::Batch;
use crate::framing;
use crate::logql::ast::{Expr, LogExpr};
use crate::logql::parse;
use crate::logql::pipeline::{matchers_select, CompileOptions, CompiledQuery, Exec, Stats};
use crate::output::{write_record, LineOutput};
use crate::record::Labels;
use crate::source::InputSpec;

/// Resolved options of `filter`.
pub struct FilterOptions {
    pub query: String,
    pub inputs: Vec<InputSpec>,
    /// Inputs already found unreadable (e.g. a glob matching nothing).
    pub unreadable_inputs: usize,
    pub output: LineOutput,
    pub count: bool,
    /// Only lines their format could not decode.
    pub malformed_only: bool,
    pub time_range: Option<(i64, i64)>,
    pub line_buffered: bool,
    pub engine: InputOptions,
}

struct ChunkOut {
    bytes: Vec<u8>,
    stats: Stats,
    /// Selected records that carry `__error__`, and the first one's error.
    errors: u64,
    first_error: Option<&'static str>,
}

pub fn run(opts: FilterOptions) -> i32 {
    let expr = match parse(&opts.query) {
        Ok(e) => e,
        Err(e) => {
            report_query_error(&e);
            return EXIT_USAGE;
        }
    };
    let log = match expr {
        Expr::Log(l) => l,
        Expr::Metric(_) => {
            say(format!(
                "filter takes a log query; {:?} is a metric query (use `nagare query`)",
                opts.query
            ));
            return EXIT_USAGE;
        }
    };
    let compile_opts = CompileOptions {
        all_labels: opts.output == LineOutput::Jsonl,
        need_ts: opts.output == LineOutput::Jsonl || opts.time_range.is_some(),
        malformed_only: opts.malformed_only,
        raw_values: false,
    };
    let q = match CompiledQuery::compile(&log, compile_opts) {
        Ok(q) => q,
        Err(e) => {
            report_query_error(&e.into_query_error(&opts.query));
            return EXIT_USAGE;
        }
    };
    let mode = if opts.count { None } else { Some(opts.output) };
    let max_line = opts.engine.read.max_line;
    let time_range = opts.time_range;
    let q_ref = &q;
    // Output buffers go back to the workers once written, so big buffers
    // are not allocated and freed for every chunk (which fragments the heap
    // and lets RSS creep up on long inputs).
    let (pool_tx, pool_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let make_worker = move || {
        let mut exec = Exec::new(q_ref, time_range);
        let pool_rx = pool_rx.clone();
        move |batch: &Batch| {
            // Sized once for the largest usual output (JSON Lines is about
            // 3× the input), so buffers are not regrown chunk after chunk.
            let mut bytes = pool_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(4 * framing::CHUNK_SIZE));
            bytes.clear();
            exec.stats = Stats::default();
            let mut errors = 0;
            let mut first_error = None;
            exec.run_batch(batch, Some(max_line), |s| {
                if let Some(e) = s.exec.error() {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
                if let Some(mode) = mode {
                    write_record(mode, &s.record(), &mut bytes);
                }
            });
            ChunkOut {
                bytes,
                stats: exec.stats,
                errors,
                first_error,
            }
        }
    };
    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    let line_buffered = opts.line_buffered || terminal;
    let mut w = io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut total = Stats::default();
    let mut errors = 0;
    let mut first_error = None;
    let mut write_failed: Option<io::Error> = None;
    let mut pipe_closed = false;
    let summary = opts.engine.run(
        &opts.inputs,
        Arc::new(|labels: &Labels| matchers_select(&q.matchers, labels)),
        &make_worker,
        |o| {
            let (out, idle) = (o.out, o.idle);
            total.add(&out.stats);
            errors += out.errors;
            first_error = first_error.or(out.first_error);
            if out.bytes.is_empty() {
                let _ = pool_tx.send(out.bytes);
                return ControlFlow::Continue(());
            }
            let r = w.write_all(&out.bytes).and_then(|_| {
                if line_buffered || idle {
                    w.flush()
                } else {
                    Ok(())
                }
            });
            let _ = pool_tx.send(out.bytes);
            match r {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    // `| head` closed the pipe: done, quietly and successfully.
                    pipe_closed = true;
                    ControlFlow::Break(())
                }
                Err(e) => {
                    write_failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    );
    if pipe_closed {
        return EXIT_OK;
    }
    if !summary.stopped {
        let hints = Hints {
            query: &opts.query,
            log: &log,
            q: &q,
            total: &total,
            errors,
            first_error,
            malformed_only: opts.malformed_only,
        };
        hints.say();
    }
    if opts.count {
        let _ = writeln!(w, "{}", total.matched);
    }
    if let Err(e) = w.flush() {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return EXIT_OK;
        }
        write_failed.get_or_insert(e);
    }
    tracing::info!(
        lines = total.lines,
        decoded = total.decoded,
        malformed = total.malformed,
        bad_time = total.bad_time,
        truncated = total.truncated,
        matched = total.matched,
        "filter done"
    );
    if total.malformed > 0 && !opts.malformed_only {
        tracing::info!(
            "{} lines did not decode in their format; `--malformed` prints only those",
            total.malformed
        );
    }
    if let Some(e) = write_failed {
        say(format!("writing output: {e}"));
        return EXIT_INPUT;
    }
    exit_status(&summary, opts.unreadable_inputs)
}

/// What a silent or surprising answer does not say by itself: a selector
/// that matched no stream, a label filter on a label no line had, printed
/// lines that carry `__error__`. Each is said once, after the run.
pub(crate) struct Hints<'a> {
    pub query: &'a str,
    pub log: &'a LogExpr,
    pub q: &'a CompiledQuery,
    pub total: &'a Stats,
    /// Selected records that carry `__error__`, and the first one's error.
    pub errors: u64,
    pub first_error: Option<&'static str>,
    pub malformed_only: bool,
}

impl Hints<'_> {
    pub fn say(&self) {
        let t = self.total;
        let read = plural(t.lines, "line");
        if !self.log.matchers.is_empty() && t.selected == 0 && t.unchecked == 0 {
            let sel: Vec<String> = self
                .log
                .matchers
                .iter()
                .map(|m| format!("{}{}{:?}", m.name, m.op, m.value))
                .collect();
            say(format!(
                "no stream matched the selector {{{}}} ({read} read)",
                sel.join(", ")
            ));
            return;
        }
        if t.label_filtered > 0 {
            for (i, name) in self.q.filter_labels().iter().enumerate() {
                if t.labels_seen & (1 << i) == 0 {
                    say(format!(
                        "no line had the label {name:?} that a label filter reads ({read} read)"
                    ));
                }
            }
        }
        // A query that reads `__error__` asked for what it got.
        let mentions_error = self.query.contains("__error__");
        if self.errors > 0 && !mentions_error && !self.malformed_only {
            say(format!(
                "{} of the {} selected carry __error__{}; add | __error__=\"\" to the query to drop them",
                self.errors,
                plural(t.matched, "line"),
                self.first_error
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
            ));
        }
    }
}

pub(crate) fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
