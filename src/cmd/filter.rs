//! `nagare filter`: LogQL log queries over stdin, files and followed files;
//! prints each selected record as it arrives.

use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;

use super::{report_query_error, EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::engine::{self, EngineOptions, Job};
use crate::framing::{self, ChunkKind};
use crate::logql::ast::Expr;
use crate::logql::parse;
use crate::logql::pipeline::{matchers_select, CompileOptions, CompiledQuery, Exec, Stats};
use crate::output::{write_record, LineOutput};
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
    pub engine: EngineOptions,
}

struct ChunkOut {
    bytes: Vec<u8>,
    stats: Stats,
}

/// Runs one chunk through the query, appending selected records to `out`.
fn filter_chunk(
    exec: &mut Exec<'_>,
    job: &Job,
    mode: Option<LineOutput>,
    max_line: usize,
    out: &mut Vec<u8>,
) {
    let input = &*job.input;
    let data = &job.data[..job.len];
    let one = |exec: &mut Exec<'_>, line: &[u8], out: &mut Vec<u8>| {
        let line = if line.len() > max_line {
            exec.stats.truncated += 1;
            &line[..max_line]
        } else {
            line
        };
        if exec.process(input, line, job.arrival_ns) {
            if let Some(mode) = mode {
                write_record(mode, exec, input, line, out);
            }
        }
    };
    if job.kind == ChunkKind::Truncated {
        exec.stats.lines += 1;
        exec.stats.truncated += 1;
        one(exec, data, out);
        return;
    }
    let q = exec.query();
    let literal = match input.format {
        // Envelope lines carry the app line escaped: no raw search.
        crate::decode::Format::Fly => None,
        // A hit's line may be inside a record of many lines.
        f if f.record_start().is_some() => None,
        _ => q.chunk_literal(),
    };
    if let Some(finder) = literal {
        // Find candidate lines by searching the whole chunk, as grep does:
        // lines without the literal are never looked at one by one.
        exec.stats.lines += memchr::memchr_iter(b'\n', data).count() as u64;
        let mut pos = 0;
        while pos < data.len() {
            let Some(i) = finder.find(&data[pos..]) else {
                break;
            };
            let hit = pos + i;
            let start = memchr::memrchr(b'\n', &data[..hit]).map_or(0, |p| p + 1);
            let end = memchr::memchr(b'\n', &data[hit..]).map_or(data.len(), |p| hit + p);
            let line = &data[start..end];
            one(exec, line.strip_suffix(b"\r").unwrap_or(line), out);
            pos = end + 1;
        }
    } else {
        for line in framing::records(data, input.format.record_start()) {
            exec.stats.lines += 1;
            one(exec, line, out);
        }
    }
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
            eprintln!(
                "nagare: filter takes a log query; {:?} is a metric query (use `nagare query`)",
                opts.query
            );
            return EXIT_USAGE;
        }
    };
    let compile_opts = CompileOptions {
        all_labels: opts.output == LineOutput::Jsonl,
        need_ts: opts.output == LineOutput::Jsonl || opts.time_range.is_some(),
        malformed_only: opts.malformed_only,
    };
    let q = match CompiledQuery::compile(&log, compile_opts) {
        Ok(q) => q,
        Err(e) => {
            report_query_error(&e.into_query_error(&opts.query));
            return EXIT_USAGE;
        }
    };
    let mode = if opts.count { None } else { Some(opts.output) };
    let max_line = opts.engine.max_line;
    let time_range = opts.time_range;
    let q_ref = &q;
    // Output buffers go back to the workers once written, so big buffers
    // are not allocated and freed for every chunk (which fragments the heap
    // and lets RSS creep up on long inputs).
    let (pool_tx, pool_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let make_worker = move || {
        let mut exec = Exec::new(q_ref, time_range);
        let pool_rx = pool_rx.clone();
        move |job: Job, recycle: &crossbeam_channel::Sender<Vec<u8>>| {
            // Sized once for the largest usual output (JSON Lines is about
            // 3× the input), so buffers are not regrown chunk after chunk.
            let mut bytes = pool_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(4 * framing::CHUNK_SIZE));
            bytes.clear();
            exec.stats = Stats::default();
            filter_chunk(&mut exec, &job, mode, max_line, &mut bytes);
            let _ = recycle.send(job.data);
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
    let select = |labels: &crate::record::Labels| matchers_select(&q.matchers, labels);
    let summary = engine::run(
        &opts.inputs,
        &opts.engine,
        &select,
        &make_worker,
        |out: ChunkOut, idle| {
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
                    std::process::exit(EXIT_OK);
                }
                Err(e) => {
                    write_failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    );
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
        eprintln!("nagare: writing output: {e}");
        return EXIT_INPUT;
    }
    if summary.errors.is_empty() && opts.unreadable_inputs == 0 {
        EXIT_OK
    } else {
        EXIT_INPUT
    }
}
