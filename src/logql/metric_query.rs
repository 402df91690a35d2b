//! A metric query over a stream of records, as Loki evaluates a range (or
//! instant) query: every range aggregation collects its samples from one
//! pass over the records, then the expression is evaluated at each step and
//! written as it is produced.
//!
//! The three parts follow the engine's shape: a [`MetricPlan`] (compiled,
//! shared by the workers), a [`MetricWorker`] per worker that turns a batch
//! into samples, and a [`Collector`] that gathers them in read order. Any
//! source of batches or records feeds them the same way.

use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::ControlFlow;

use super::ast::{MetricExpr, RangeAggregation};
use super::eval::{self, LabelSet, RangeData, Series};
use super::pipeline::matchers_select;
use super::plan::Pushdown;
use super::result::{self, ResultWriter};
use super::sample::{ChunkSamples, ErrorSamples, KnownSteps, SampleExtractor, SampleWorker};
use crate::batch::{Batch, InputInfo};
use crate::record::Labels;

/// The range and steps asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricParams {
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Default: the largest range in the query (60 s without one).
    pub step: Option<i64>,
    pub instant: bool,
    /// More series than this (in the answer, or collected for one range
    /// aggregation) fail the query, as Loki's `max_query_series`; 0: no
    /// limit.
    pub max_series: usize,
}

/// Why a metric query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum MetricQueryError {
    /// The query cannot be evaluated as asked: a pipeline error, too many
    /// steps, a bad vector match (a usage error: exit 2).
    #[error("{0}")]
    Query(String),
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
}

/// When a sample carrying `__error__` fails a metric query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorMode {
    /// No start, end or instant: the query stands for all the data, so any
    /// error sample fails it.
    AnySample,
    /// When an evaluated window holds it, as in Loki.
    InWindows,
}

/// A metric query compiled for one run.
pub struct MetricPlan<'m> {
    expr: &'m MetricExpr,
    params: MetricParams,
    step: i64,
    mode: ErrorMode,
    ranges: Vec<&'m RangeAggregation>,
    extractors: Vec<SampleExtractor>,
    /// The steps, when known before reading.
    known_times: Option<Vec<i64>>,
}

/// The evaluation steps from `start` to `end`, or why there would be too
/// many (more than [`eval::MAX_STEPS`]: refused rather than cut short).
/// From a `--start` the steps are start, start + step, … as Loki's engine
/// evaluates them (`from_start`); over the data's own span the first is
/// aligned down to a multiple of the step.
fn checked_steps(
    start: i64,
    end: i64,
    step: i64,
    from_start: bool,
) -> Result<Vec<i64>, MetricQueryError> {
    let n = if from_start {
        eval::step_count_from(start, end, step)
    } else {
        eval::step_count(start, end, step)
    };
    if n > eval::MAX_STEPS as i128 {
        return Err(MetricQueryError::Query(format!(
            "the query would evaluate {n} steps of {}s from {} to {}, more than {}: give a larger --step or a shorter --start/--end",
            step as f64 / 1e9,
            crate::time::format_rfc3339_nano(start),
            crate::time::format_rfc3339_nano(end),
            eval::MAX_STEPS
        )));
    }
    Ok(if from_start {
        eval::steps_from(start, end, step)
    } else {
        eval::steps(start, end, step)
    })
}

impl<'m> MetricPlan<'m> {
    pub fn new(expr: &'m MetricExpr, params: MetricParams) -> Result<Self, MetricQueryError> {
        let step = params
            .step
            .or_else(|| eval::max_range(expr))
            .unwrap_or(60 * crate::time::NANOS_PER_SEC)
            .max(1);
        let mode = if params.instant || params.start.is_some() || params.end.is_some() {
            ErrorMode::InWindows
        } else {
            ErrorMode::AnySample
        };
        let known_times = match (params.instant, params.start, params.end) {
            (true, _, Some(end)) => Some(vec![end]),
            (false, Some(start), Some(end)) => Some(checked_steps(start, end, step, true)?),
            _ => None,
        };
        let ranges = eval::range_aggregations(expr);
        let extractors = ranges
            .iter()
            .zip(eval::projections(expr))
            .map(|(r, p)| SampleExtractor::compile(&r.log, p.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| MetricQueryError::Query(e.message))?;
        Ok(MetricPlan {
            expr,
            params,
            step,
            mode,
            ranges,
            extractors,
            known_times,
        })
    }

    /// Whether an input with these stream labels is read at all: some
    /// range aggregation's selector matches it.
    pub fn selects_input(&self, labels: &Labels) -> bool {
        self.extractors
            .iter()
            .any(|x| matchers_select(&x.query().matchers, labels))
    }

    /// What a store may use to find each range aggregation's candidates
    /// (see [`Pushdown`]), in the order of the collector's aggregations.
    pub fn pushdowns(&self) -> Vec<Pushdown> {
        let bounds = match (&self.known_times, self.params.start, self.params.end) {
            (Some(t), _, _) => t.first().zip(t.last()).map(|(a, b)| (*a, *b)),
            (None, Some(s), Some(e)) => Some((s, e)),
            _ => None,
        };
        Pushdown::of_metric(self.expr, bounds)
    }

    pub fn worker(&self) -> MetricWorker<'_> {
        MetricWorker {
            plan: self,
            workers: self.extractors.iter().map(|x| x.worker()).collect(),
        }
    }

    pub fn collector(&self) -> Collector {
        Collector {
            series: self.ranges.iter().map(|_| HashMap::new()).collect(),
            failed: self.ranges.iter().map(|_| ErrorSamples::new()).collect(),
            any_sample_fails: self.mode == ErrorMode::AnySample,
            max_series: self.params.max_series,
            too_many: false,
        }
    }

    fn known(&self, i: usize) -> Option<KnownSteps<'_>> {
        self.known_times.as_deref().map(|times| KnownSteps {
            range: self.ranges[i],
            times,
        })
    }

    /// Evaluates the collected samples and writes the answer.
    pub fn finish<W: Write>(
        &self,
        collected: Collector,
        w: &mut ResultWriter<W>,
    ) -> Result<(), MetricQueryError> {
        let max_series = self.params.max_series;
        if collected.too_many {
            return Err(series_limit(max_series));
        }
        let (data, failed) = collected.into_data();
        // Without start, end or instant the query stands for all the data,
        // so any sample carrying `__error__` fails it (the first one read
        // is named), whatever the steps.
        if self.mode == ErrorMode::AnySample {
            let first = failed
                .iter()
                .flat_map(|f| f.iter())
                .filter_map(|(msg, ts)| Some((*ts.iter().min()?, msg.as_str())))
                .min();
            if let Some((_, e)) = first {
                return Err(MetricQueryError::Query(e.to_string()));
            }
        }
        let times = match &self.known_times {
            Some(t) => t.clone(),
            None => self.steps_over(&data, &failed)?,
        };
        // Otherwise a sample with `__error__` fails the query when a window
        // the query evaluates holds it, as in Loki (the earliest such
        // step's error is named).
        let first_error = self
            .ranges
            .iter()
            .zip(&failed)
            .filter_map(|(r, f)| first_pipeline_error(r, f, &times))
            .min_by_key(|(t, _)| *t);
        if let Some((_, e)) = first_error {
            return Err(MetricQueryError::Query(e.to_string()));
        }
        let instant = self.params.instant;
        match eval::single_series_range(self.expr).filter(|_| !instant) {
            // Every output series is one collected series (so the limit
            // was checked as they were collected): evaluated and written
            // one at a time, each freed once written.
            Some(r) => result::write_per_series(w, r, data, &times)?,
            None => {
                let answer = result::evaluate_by_step(self.expr, instant, &data, &times)
                    .map_err(|e| MetricQueryError::Query(e.to_string()))?;
                if let result::QueryResult::Series(s) = &answer {
                    if max_series > 0 && s.len() > max_series {
                        return Err(series_limit(max_series));
                    }
                }
                result::write_result(w, answer)?;
            }
        }
        Ok(())
    }

    /// The steps over the data's own span where a bound was not given: a
    /// bound not given covers every sample the query read, those carrying
    /// `__error__` included, up to the first step at or after the last. An
    /// instant query without `--end` is evaluated at the last sample: a
    /// time rounded up to the step would leave a sample at the start of
    /// its window out.
    fn steps_over(
        &self,
        data: &RangeData,
        failed: &[ErrorSamples],
    ) -> Result<Vec<i64>, MetricQueryError> {
        let step = self.step;
        let (lo, hi) = data
            .iter()
            .flatten()
            .flat_map(|s| s.points.iter().map(|(t, _)| *t))
            .chain(failed.iter().flat_map(|f| f.values().flatten().copied()))
            .fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
        let start = self
            .params
            .start
            .unwrap_or(if lo == i64::MAX { 0 } else { lo });
        // Up to the first step at or after the last sample: on the grid
        // from `--start` when given, else on multiples of the step.
        let from_start = self.params.start.is_some();
        let end = self
            .params
            .end
            .unwrap_or(if hi == i64::MIN || (from_start && hi <= start) {
                start
            } else if from_start {
                let k = (hi as i128 - start as i128 + step as i128 - 1) / step as i128;
                (start as i128 + k * step as i128).min(i64::MAX as i128) as i64
            } else {
                hi.div_euclid(step) * step + if hi.rem_euclid(step) == 0 { 0 } else { step }
            });
        if self.params.instant {
            let at = self
                .params
                .end
                .unwrap_or(if hi == i64::MIN { start } else { hi });
            Ok(vec![at])
        } else {
            checked_steps(start, end, step, from_start)
        }
    }
}

/// Loki's error for too many series (`NewSeriesLimitError` in
/// pkg/logqlmodel/error.go).
fn series_limit(limit: usize) -> MetricQueryError {
    MetricQueryError::Query(format!(
        "maximum number of series ({limit}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()"
    ))
}

/// The first step whose window of `r` holds an error sample, and that
/// sample's pipeline error (Loki evaluates step by step and stops at the
/// first).
fn first_pipeline_error<'e>(
    r: &RangeAggregation,
    errors: &'e ErrorSamples,
    times: &[i64],
) -> Option<(i64, &'e str)> {
    errors
        .iter()
        .filter_map(|(msg, ts)| {
            let t = ts
                .iter()
                .filter_map(|&p| eval::first_step_covering(r, times, p))
                .min()?;
            Some((t, msg.as_str()))
        })
        .min()
}

/// One worker's state: a sample worker per range aggregation, all fed from
/// the same records.
pub struct MetricWorker<'p> {
    plan: &'p MetricPlan<'p>,
    workers: Vec<SampleWorker<'p>>,
}

impl MetricWorker<'_> {
    /// Every range aggregation's samples of one batch.
    pub fn batch(&mut self, batch: &Batch) -> Vec<ChunkSamples> {
        let plan = self.plan;
        self.workers
            .iter_mut()
            .enumerate()
            .map(|(i, w)| w.batch(batch, plan.known(i)))
            .collect()
    }

    /// Empty samples, one per range aggregation, for [`MetricWorker::record`].
    pub fn samples(&self) -> Vec<ChunkSamples> {
        self.workers
            .iter()
            .map(|_| ChunkSamples::default())
            .collect()
    }

    /// Runs range aggregation `range` on one candidate record from a
    /// store, adding its sample to `out[range]`.
    pub fn record(
        &mut self,
        range: usize,
        input: &InputInfo,
        line: &[u8],
        arrival_ns: i64,
        out: &mut [ChunkSamples],
    ) {
        let known = self.plan.known(range);
        if let (Some(w), Some(o)) = (self.workers.get_mut(range), out.get_mut(range)) {
            w.record(input, line, arrival_ns, known, o);
        }
    }
}

/// The samples gathered so far, per range aggregation.
pub struct Collector {
    series: Vec<HashMap<LabelSet, Vec<(i64, f64)>>>,
    failed: Vec<ErrorSamples>,
    any_sample_fails: bool,
    max_series: usize,
    /// A range aggregation collected more series than the limit: the
    /// query fails, and reading stops so memory stays bounded.
    too_many: bool,
}

impl Collector {
    /// Adds one batch's samples (in read order). Breaks when the answer is
    /// already known to be an error, so reading can stop.
    ///
    /// When any error sample fails the query, each range aggregation keeps
    /// the errors of the first batch that had any, and reading stops once
    /// every aggregation has some: the earliest of them is named, as when
    /// each aggregation read the input on its own and stopped at its first.
    pub fn absorb(&mut self, chunk: Vec<ChunkSamples>) -> ControlFlow<()> {
        for ((series, failed), c) in self.series.iter_mut().zip(&mut self.failed).zip(chunk) {
            for (labels, points) in c.series {
                match series.get_mut(&labels) {
                    Some(all) => all.extend_from_slice(&points),
                    None => {
                        series.insert(labels, points);
                    }
                }
            }
            if self.any_sample_fails && !failed.is_empty() {
                continue;
            }
            for (msg, times) in c.errors {
                failed.entry(msg).or_default().extend(times);
            }
        }
        if self.max_series > 0 && self.series.iter().any(|s| s.len() > self.max_series) {
            self.too_many = true;
            return ControlFlow::Break(());
        }
        if self.any_sample_fails && self.failed.iter().all(|f| !f.is_empty()) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Each range aggregation's series, sorted by labels with their points
    /// in time order, and its error samples.
    fn into_data(self) -> (RangeData, Vec<ErrorSamples>) {
        let data = self
            .series
            .into_iter()
            .map(|m| {
                let mut out: Vec<Series> = m
                    .into_iter()
                    .map(|(labels, mut points)| {
                        points.sort_by_key(|(t, _)| *t);
                        // Growth slack is up to half of every series' samples.
                        points.shrink_to_fit();
                        Series { labels, points }
                    })
                    .collect();
                out.sort_by(|a, b| a.labels.cmp(&b.labels));
                out
            })
            .collect();
        (data, self.failed)
    }
}
