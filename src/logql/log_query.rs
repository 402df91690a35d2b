//! A log query answered as Loki answers one: the `limit` newest selected
//! records (oldest with `forward`), in time order, whatever order they were
//! read in. Memory is bounded by the limit, not by the input.

use super::ast::LogExpr;
use super::pipeline::{CompileOptions, CompiledQuery, Exec, Stats};
use super::plan::Pushdown;
use super::CompileError;
use crate::batch::{Batch, InputInfo};
use crate::output::{write_record, LineOutput};

/// One selected record, printed.
pub struct Hit {
    pub ts: i64,
    pub printed: Vec<u8>,
    /// The record's `__error__`, if any.
    pub error: Option<&'static str>,
}

/// A log query compiled for one run.
pub struct LogQueryPlan {
    query: CompiledQuery,
    pushdown: Pushdown,
    range: Option<(i64, i64)>,
    lines: LineOutput,
}

impl LogQueryPlan {
    /// `range` bounds the event time: `[start, end)`.
    pub fn new(
        log: &LogExpr,
        range: Option<(i64, i64)>,
        lines: LineOutput,
    ) -> Result<LogQueryPlan, CompileError> {
        let query = CompiledQuery::compile(
            log,
            CompileOptions {
                all_labels: lines == LineOutput::Jsonl,
                need_ts: true,
                ..Default::default()
            },
        )?;
        Ok(LogQueryPlan {
            query,
            pushdown: Pushdown::of_log(log, range),
            range,
            lines,
        })
    }

    pub fn query(&self) -> &CompiledQuery {
        &self.query
    }

    /// What a store may use to find candidates (see [`Pushdown`]).
    pub fn pushdown(&self) -> &Pushdown {
        &self.pushdown
    }

    /// Per-worker state.
    pub fn worker(&self) -> LogQueryWorker<'_> {
        LogQueryWorker {
            plan: self,
            exec: Exec::new(&self.query, self.range),
        }
    }
}

pub struct LogQueryWorker<'p> {
    plan: &'p LogQueryPlan,
    exec: Exec<'p>,
}

impl LogQueryWorker<'_> {
    /// The selected records of one batch, printed.
    pub fn batch(&mut self, batch: &Batch) -> Vec<Hit> {
        let mut hits = Vec::new();
        let lines = self.plan.lines;
        self.exec.run_batch(batch, None, |s| {
            let r = s.record();
            let mut printed = Vec::new();
            write_record(lines, &r, &mut printed);
            hits.push(Hit {
                ts: r.timestamp(),
                printed,
                error: r.error(),
            });
        });
        hits
    }

    /// What the worker's executor counted since the last call (lines read,
    /// selected by the selector, …), for the hints a run ends with.
    pub fn take_stats(&mut self) -> Stats {
        std::mem::take(&mut self.exec.stats)
    }

    /// Runs the query on one candidate record from a store; a selected one
    /// is added to `hits`.
    pub fn record(&mut self, input: &InputInfo, line: &[u8], arrival_ns: i64, hits: &mut Vec<Hit>) {
        if self.exec.process(input, line, arrival_ns) {
            let r = self.exec.record(input, line);
            let mut printed = Vec::new();
            write_record(self.plan.lines, &r, &mut printed);
            hits.push(Hit {
                ts: r.timestamp(),
                printed,
                error: r.error(),
            });
        }
    }
}

/// Keeps the `limit` newest (or, `forward`, oldest) hits.
pub struct Newest {
    kept: Vec<Hit>,
    limit: usize,
    forward: bool,
}

impl Newest {
    pub fn new(limit: usize, forward: bool) -> Newest {
        Newest {
            kept: Vec::new(),
            limit: limit.max(1),
            forward,
        }
    }

    pub fn absorb(&mut self, hits: Vec<Hit>) {
        self.kept.extend(hits);
        // Trimmed now and then, not at every batch: sorting is the cost.
        if self.kept.len() > 4 * self.limit {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.forward {
            self.kept.sort_by_key(|h| h.ts);
        } else {
            self.kept.sort_by_key(|h| std::cmp::Reverse(h.ts));
        }
        self.kept.truncate(self.limit);
    }

    /// The answer, in output order.
    pub fn finish(mut self) -> Vec<Hit> {
        self.trim();
        self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(ts: i64) -> Hit {
        Hit {
            error: None,
            ts,
            printed: Vec::new(),
        }
    }

    /// Ties keep read order (a stable sort), as the files were read.
    #[test]
    fn keeps_the_newest_or_oldest_in_time_order() {
        let times = [5, 1, 9, 3, 7, 9, 2, 8, 6, 4, 0];
        let mut newest = Newest::new(3, false);
        let mut oldest = Newest::new(3, true);
        for t in times {
            newest.absorb(vec![hit(t)]);
            oldest.absorb(vec![hit(t)]);
        }
        let ts = |v: Vec<Hit>| v.iter().map(|h| h.ts).collect::<Vec<_>>();
        assert_eq!(ts(newest.finish()), vec![9, 9, 8]);
        assert_eq!(ts(oldest.finish()), vec![0, 1, 2]);
    }
}
