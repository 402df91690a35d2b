//! `nagare metrics`: the golden signals and derived metrics of a stream or
//! an archive, as a report, a Prometheus exposition, a `/metrics` endpoint
//! or a Pushgateway push.

use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{exit_status, say, InputOptions, EXIT_INPUT, EXIT_USAGE};
use crate::batch::Batch;
use crate::decode::{self, Format};
use crate::engine;
use crate::logql::ast::LogExpr;
use crate::logql::pipeline::{CompileOptions, CompiledQuery, Exec};
use crate::metrics::aggregate::{ChunkAgg, MetricsConfig, Observer, Totals};
use crate::metrics::exposition::{write_text, MetricFamily};
use crate::metrics::prom::QuerySeries;
use crate::metrics::report::{counters_json, json_report, table_report, QueryDisplay};
use crate::metrics::rules::CounterDef;
use crate::sink::pushgateway::{push, PushOptions};
use crate::sink::server::MetricsServer;
use crate::source::InputSpec;

/// What `metrics` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsOutput {
    Table,
    Json,
    Prom,
}

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushTarget {
    pub url: String,
    pub job: String,
    pub grouping: Vec<(String, String)>,
    /// While following: push every this often.
    pub interval: Duration,
}

/// Resolved options of `metrics`.
pub struct MetricsOptions {
    pub inputs: Vec<InputSpec>,
    pub unreadable_inputs: usize,
    pub output: MetricsOutput,
    pub config: MetricsConfig,
    /// Counters defined by the rules file.
    pub counters: Vec<CounterDef>,
    pub display: QueryDisplay,
    /// Metric name prefix (namespace), e.g. `nagare_`; empty for none.
    pub prefix: String,
    pub listen: Option<String>,
    pub push: Option<PushTarget>,
    pub engine: InputOptions,
}

/// A worker's reusable state.
struct WorkerState<'q> {
    /// The report's own pipeline: no stages, so it selects every line and
    /// decodes the fields the roles and rules read.
    exec: Exec<'q>,
    obs: Observer,
    /// One executor per rule counter, run on what `exec` decoded.
    rules: Vec<Exec<'q>>,
}

/// Turns a batch of lines into its contribution.
fn observe_batch(
    batch: &Batch,
    cfg: &MetricsConfig,
    state: &mut WorkerState<'_>,
    counters: &[CounterDef],
    max_line: usize,
) -> ChunkAgg {
    let WorkerState { exec, obs, rules } = state;
    let mut chunk = ChunkAgg::default();
    let arrival = batch.arrival_ns;
    let raw_query_field = matches!(batch.input.format, Format::Nginx | Format::Apache);
    exec.run_batch(batch, max_line, |s| {
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
        for (i, (rule, def)) in rules.iter_mut().zip(counters).enumerate() {
            let values = rule.process_decoded(s.input, s.raw, dec, arrival, |exec| {
                def.labels
                    .iter()
                    .map(|l| {
                        let v = exec.label(s.input, l).unwrap_or("");
                        crate::metrics::normalize::truncate_label(v, 64).to_string()
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

fn render_prom(
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

pub fn run(opts: MetricsOptions) -> i32 {
    let cfg = Arc::new(opts.config.clone());
    let counters = Arc::new(opts.counters);
    let mut names = cfg.roles.all_names();
    names.extend(crate::metrics::rules::wanted_fields(&counters));
    names.extend(decode::TIME_FIELDS.iter().map(|s| s.to_string()));
    let report_query = match CompiledQuery::compile(
        &LogExpr {
            matchers: Vec::new(),
            selector_written: false,
            stages: Vec::new(),
        },
        CompileOptions {
            need_ts: true,
            raw_values: true,
            ..Default::default()
        },
    ) {
        Ok(mut q) => {
            q.want_also(&names);
            q
        }
        Err(e) => {
            say(&e.message);
            return EXIT_USAGE;
        }
    };
    let totals = Arc::new(Mutex::new(Totals::new(&cfg)));
    let series = Arc::new(Mutex::new(QuerySeries::default()));
    let disp = opts.display;
    let prefix = opts.prefix.clone();

    let render = {
        let totals = totals.clone();
        let series = series.clone();
        let cfg = cfg.clone();
        let prefix = prefix.clone();
        let counters = counters.clone();
        move || -> String {
            let t = totals.lock().unwrap_or_else(|e| e.into_inner());
            let mut s = series.lock().unwrap_or_else(|e| e.into_inner());
            render_prom(&mut s, &t, &cfg, &disp, &prefix, &counters)
        }
    };

    let server = match &opts.listen {
        Some(addr) => match MetricsServer::start(addr, Arc::new(render.clone())) {
            Ok(s) => {
                say(format!("serving /metrics on http://{}", s.local_addr()));
                Some(s)
            }
            Err(e) => {
                say(format!("--listen {addr}: {e}"));
                return EXIT_USAGE;
            }
        },
        None => None,
    };

    let mut push_failed = false;
    let render_for_push = render.clone();
    let do_push = move |target: &PushTarget| -> bool {
        let body = render_for_push();
        match push(
            &target.url,
            &target.job,
            &target.grouping,
            &body,
            &PushOptions::default(),
        ) {
            Ok(()) => true,
            Err(e) => {
                say(format!("push failed: {e}"));
                false
            }
        }
    };
    // While following, push on a timer (also when the stream is idle), on
    // its own thread so a slow gateway never holds up reading.
    let push_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let periodic_failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pusher = match (&opts.push, opts.engine.read.follow.is_some()) {
        (Some(target), true) => {
            let target = target.clone();
            let stop = push_stop.clone();
            let failed = periodic_failed.clone();
            let do_push = do_push.clone();
            Some(std::thread::spawn(move || {
                let mut last = Instant::now();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100).min(target.interval));
                    if last.elapsed() >= target.interval {
                        if !do_push(&target) {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        last = Instant::now();
                    }
                }
            }))
        }
        _ => None,
    };

    let cfg_w = cfg.clone();
    let report_query = &report_query;
    let counters_ref: &[CounterDef] = &counters;
    let max_line = opts.engine.read.max_line;
    let make_worker = move || {
        let cfg = cfg_w.clone();
        let mut state = WorkerState {
            exec: Exec::new(report_query, None),
            obs: Observer::default(),
            rules: counters_ref
                .iter()
                .map(|c| Exec::new(&c.query, None))
                .collect(),
        };
        move |batch: &Batch| observe_batch(batch, &cfg, &mut state, counters_ref, max_line)
    };
    let every_input = Arc::new(|_: &crate::record::Labels| true);
    let summary = opts.engine.engine(&opts.inputs).run(
        opts.engine.sources(&opts.inputs, every_input),
        &make_worker,
        |o| {
            totals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add_chunk(&o.out, &cfg);
            ControlFlow::Continue(())
        },
        &mut engine::no_progress,
    );

    let t = totals.lock().unwrap_or_else(|e| e.into_inner());
    let stdout = io::stdout();
    let mut w = io::BufWriter::new(stdout.lock());
    let written = match opts.output {
        MetricsOutput::Json => {
            if cfg.window_ns.is_some() {
                let w_ns = cfg.window_ns.unwrap_or(0);
                let mut r = Ok(());
                for (start, agg) in &t.windows {
                    let mut doc = json_report(agg, &cfg, &disp);
                    doc["counters"] = counters_json(agg, &counters);
                    doc["window"] = serde_json::json!({
                        "start": crate::time::format_rfc3339_digits(*start, t.all.ts_digits),
                        "end": crate::time::format_rfc3339_digits(start + w_ns, t.all.ts_digits),
                    });
                    r = r.and_then(|_| writeln!(w, "{doc}"));
                }
                r
            } else {
                let mut doc = json_report(&t.all, &cfg, &disp);
                doc["counters"] = counters_json(&t.all, &counters);
                writeln!(w, "{doc}")
            }
        }
        MetricsOutput::Table => {
            let color = io::stdout().is_terminal();
            write!(w, "{}", table_report(&t.all, &cfg, &disp, color))
        }
        MetricsOutput::Prom => {
            let mut s = series.lock().unwrap_or_else(|e| e.into_inner());
            write!(
                w,
                "{}",
                render_prom(&mut s, &t, &cfg, &disp, &prefix, &counters)
            )
        }
    };
    drop(t);
    if let Err(e) = written.and_then(|_| w.flush()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            say(format!("writing output: {e}"));
            return EXIT_INPUT;
        }
    }
    push_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(p) = pusher {
        let _ = p.join();
    }
    push_failed |= periodic_failed.load(std::sync::atomic::Ordering::Relaxed);
    if let Some(target) = &opts.push {
        // A batch push carries the totals of the run (it replaces the group).
        push_failed |= !do_push(target);
    }
    drop(server);
    if push_failed {
        return EXIT_INPUT;
    }
    exit_status(&summary, opts.unreadable_inputs)
}
