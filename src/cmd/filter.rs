//! `nagare filter`: LogQL log queries over stdin, files and followed files;
//! prints each selected record as it arrives.

use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;

use std::sync::Arc;

use super::{exit_status, report_query_error, say, InputOptions, EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::batch::Batch;
use crate::framing;
use crate::logql::ast::Expr;
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
            exec.run_batch(batch, Some(max_line), |s| {
                if let Some(mode) = mode {
                    write_record(mode, &s.record(), &mut bytes);
                }
            });
            ChunkOut {
                bytes,
                stats: exec.stats,
            }
        }
    };
    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    let line_buffered = opts.line_buffered || terminal;
    let mut w = io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut total = Stats::default();
    let mut write_failed: Option<io::Error> = None;
    let mut pipe_closed = false;
    let summary = opts.engine.run(
        &opts.inputs,
        Arc::new(|labels: &Labels| matchers_select(&q.matchers, labels)),
        &make_worker,
        |o| {
            let (out, idle) = (o.out, o.idle);
            total.add(&out.stats);
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
