//! Deriving the metrics from records: the report's own pipeline (a query
//! with no stages, so every line is seen, that decodes just the fields the
//! roles and rule counters read), the rule counters run on what it
//! decoded, and the observer that turns each record into a batch's
//! contribution ([`ChunkAgg`]). Any source of batches feeds it the same way.

use std::sync::Arc;

use super::aggregate::{ChunkAgg, MetricsConfig, Observer, Totals};
use super::exposition::{write_text, MetricFamily};
use super::normalize::truncate_label;
use super::prom::QuerySeries;
use super::report::QueryDisplay;
use super::rules::{self, CounterDef};
use crate::batch::Batch;
use crate::decode::{self, Format};
use crate::logql::ast::LogExpr;
use crate::logql::pipeline::{CompileOptions, CompiledQuery, Exec};
use crate::logql::CompileError;

/// Rule-counter label values are cut to this many characters.
const RULE_LABEL_MAX: usize = 64;

/// What the workers share.
pub struct DerivePlan {
    query: CompiledQuery,
    cfg: Arc<MetricsConfig>,
    counters: Arc<Vec<CounterDef>>,
}

impl DerivePlan {
    pub fn new(
        cfg: Arc<MetricsConfig>,
        counters: Arc<Vec<CounterDef>>,
    ) -> Result<DerivePlan, CompileError> {
        let mut names = cfg.roles.all_names();
        names.extend(rules::wanted_fields(&counters));
        names.extend(decode::TIME_FIELDS.iter().map(|s| s.to_string()));
        let mut query = CompiledQuery::compile(
            &LogExpr {
                matchers: Vec::new(),
                selector_written: false,
                stages: Vec::new(),
            },
            CompileOptions {
                need_ts: true,
                // Metrics read values as data: a search query holding
                // U+FFFD still counts.
                raw_values: true,
                ..Default::default()
            },
        )?;
        query.want_also(&names);
        Ok(DerivePlan {
            query,
            cfg,
            counters,
        })
    }

    pub fn worker(&self) -> DeriveWorker<'_> {
        DeriveWorker {
            plan: self,
            exec: Exec::new(&self.query, None),
            obs: Observer::default(),
            rules: self
                .counters
                .iter()
                .map(|c| Exec::new(&c.query, None))
                .collect(),
        }
    }
}

/// A worker's reusable state.
pub struct DeriveWorker<'p> {
    plan: &'p DerivePlan,
    exec: Exec<'p>,
    obs: Observer,
    /// One executor per rule counter, run on what `exec` decoded.
    rules: Vec<Exec<'p>>,
}

impl DeriveWorker<'_> {
    /// Turns a batch of lines into its contribution.
    pub fn batch(&mut self, batch: &Batch) -> ChunkAgg {
        let DeriveWorker {
            plan,
            exec,
            obs,
            rules,
        } = self;
        let cfg = &*plan.cfg;
        let mut chunk = ChunkAgg::default();
        let arrival = batch.arrival_ns;
        let raw_query_field = matches!(batch.input.format, Format::Nginx | Format::Apache);
        exec.run_batch(batch, None, |s| {
            let record = s.exec.decoded_ok();
            let dec = &mut s.exec.dec;
            let app_line = dec.line(s.raw);
            obs.observe(
                &mut chunk,
                cfg,
                &dec.fields,
                app_line,
                dec.ts,
                arrival,
                record,
                raw_query_field,
            );
            if !record {
                return;
            }
            for (i, (rule, def)) in rules.iter_mut().zip(plan.counters.iter()).enumerate() {
                let values = rule.process_decoded(s.input, s.raw, dec, arrival, |exec| {
                    def.labels
                        .iter()
                        .map(|l| {
                            let v = exec.label(s.input, l).unwrap_or("");
                            truncate_label(v, RULE_LABEL_MAX).to_string()
                        })
                        .collect::<Vec<String>>()
                });
                if let Some(values) = values {
                    let window = cfg.window_of(dec.ts.unwrap_or(arrival));
                    if let Some(agg) = chunk.windows.get_mut(&window) {
                        agg.count_rule(i, values);
                    }
                }
            }
        });
        chunk
    }
}

/// The Prometheus text exposition of the totals so far.
pub fn exposition(
    series: &mut QuerySeries,
    totals: &Totals,
    cfg: &MetricsConfig,
    disp: &QueryDisplay,
    prefix: &str,
    counters: &[CounterDef],
) -> String {
    let fams: Vec<MetricFamily> = series.families(&totals.all, cfg, disp, counters);
    let mut out = String::new();
    write_text(&fams, prefix, &mut out);
    out
}
