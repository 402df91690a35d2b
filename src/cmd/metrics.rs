//! `nagare metrics`: the golden signals and derived metrics of a stream or
//! an archive, as a report, a Prometheus exposition, a `/metrics` endpoint
//! or a Pushgateway push.

use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::decode::{self, DecodeCtx, Decoded, Decoder, Format, Want};
use crate::engine::{self, EngineOptions, Job};
use crate::framing::{self, ChunkKind};
use crate::logql::pipeline::Exec;
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
    pub engine: EngineOptions,
}

/// A worker's reusable state.
struct WorkerState<'q> {
    decoder: Decoder,
    dec: Decoded,
    obs: Observer,
    /// One executor per rule counter.
    rules: Vec<Exec<'q>>,
}

/// Turns a chunk of lines into its contribution.
fn observe_chunk(
    job: &Job,
    cfg: &MetricsConfig,
    want: &Want,
    state: &mut WorkerState<'_>,
    counters: &[CounterDef],
) -> ChunkAgg {
    let WorkerState {
        decoder,
        dec,
        obs,
        rules,
    } = state;
    let mut chunk = ChunkAgg::default();
    let input = &*job.input;
    let data = &job.data[..job.len];
    let ctx = DecodeCtx {
        want,
        need_ts: true,
        stream: &input.labels,
        // Metrics read values as data: a query holding U+FFFD still counts.
        label_values: false,
        now_ns: job.arrival_ns,
    };
    let raw_query_field = matches!(input.format, Format::Nginx | Format::Apache);
    let mut one = |line: &[u8]| {
        let record = decoder.decode(input.format, line, &ctx, dec);
        let app_line = dec.line(line);
        obs.observe(
            &mut chunk,
            cfg,
            &dec.fields,
            app_line,
            dec.ts,
            job.arrival_ns,
            record,
            raw_query_field,
        );
        if !record {
            return;
        }
        for (i, (exec, def)) in rules.iter_mut().zip(counters).enumerate() {
            let values = exec.process_decoded(input, line, dec, job.arrival_ns, |exec| {
                def.labels
                    .iter()
                    .map(|l| {
                        let v = exec.label(input, l).unwrap_or("");
                        crate::metrics::normalize::truncate_label(v, 64).to_string()
                    })
                    .collect::<Vec<String>>()
            });
            if let Some(values) = values {
                let window = cfg.window_of(dec.ts.unwrap_or(job.arrival_ns));
                if let Some(agg) = chunk.windows.get_mut(&window) {
                    agg.count_rule(i, values);
                }
            }
        }
    };
    if job.kind == ChunkKind::Truncated {
        one(data);
    } else {
        for line in framing::records(data, input.format.record_start()) {
            one(line);
        }
    }
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
    let want = Want::names(names);
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
                eprintln!("nagare: serving /metrics on http://{}", s.local_addr());
                Some(s)
            }
            Err(e) => {
                eprintln!("nagare: --listen {addr}: {e}");
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
                eprintln!("nagare: push failed: {e}");
                false
            }
        }
    };
    // While following, push on a timer (also when the stream is idle), on
    // its own thread so a slow gateway never holds up reading.
    let push_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let periodic_failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pusher = match (&opts.push, opts.engine.follow.is_some()) {
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
    let want_ref = &want;
    let counters_ref: &[CounterDef] = &counters;
    let make_worker = move || {
        let cfg = cfg_w.clone();
        let mut state = WorkerState {
            decoder: Decoder::new(),
            dec: Decoded::default(),
            obs: Observer::default(),
            rules: counters_ref
                .iter()
                .map(|c| Exec::new(&c.query, None))
                .collect(),
        };
        move |job: Job, recycle: &crossbeam_channel::Sender<Vec<u8>>| {
            let c = observe_chunk(&job, &cfg, want_ref, &mut state, counters_ref);
            let _ = recycle.send(job.data);
            c
        }
    };
    let select = |_: &crate::record::Labels| true;
    let summary = engine::run(
        &opts.inputs,
        &opts.engine,
        &select,
        &make_worker,
        |chunk: ChunkAgg, _idle| {
            totals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add_chunk(&chunk, &cfg);
            ControlFlow::Continue(())
        },
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
            eprintln!("nagare: writing output: {e}");
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
    if summary.errors.is_empty() && opts.unreadable_inputs == 0 {
        EXIT_OK
    } else {
        EXIT_INPUT
    }
}
