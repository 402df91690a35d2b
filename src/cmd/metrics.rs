//! `nagare metrics`: the golden signals and derived metrics of a stream or
//! an archive, as a report, a Prometheus exposition, a `/metrics` endpoint
//! or a Pushgateway push.

use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{exit_status, say, InputOptions, EXIT_INPUT, EXIT_USAGE};
use crate::batch::Batch;
use crate::metrics::aggregate::{MetricsConfig, Totals};
use crate::metrics::derive::{exposition, DerivePlan};
use crate::metrics::prom::QuerySeries;
use crate::metrics::report::{table_report, write_json, QueryDisplay};
use crate::metrics::rules::CounterDef;
use crate::sink::pushgateway::{push, PushAuth, PushOptions};
use crate::sink::server::{MetricsServer, ServerOptions};
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
    /// The time limit of one push, retries included.
    pub timeout: Duration,
    /// Credentials (never printed: `Debug` shows `***`).
    pub auth: Option<PushAuth>,
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

pub fn run(opts: MetricsOptions) -> i32 {
    let cfg = Arc::new(opts.config.clone());
    let counters = Arc::new(opts.counters);
    let plan = match DerivePlan::new(cfg.clone(), counters.clone()) {
        Ok(p) => p,
        Err(e) => {
            say(&e);
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
            exposition(&mut s, &t, &cfg, &disp, &prefix, &counters)
        }
    };

    // Bumped on every change of the totals: while it holds still, the server serves
    // its last rendering again instead of rendering the same text anew.
    let version = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let server_opts = ServerOptions {
        version: Some(version.clone()),
        ..ServerOptions::default()
    };
    let server = match &opts.listen {
        Some(addr) => {
            match MetricsServer::start_with(addr, Arc::new(render.clone()), server_opts) {
                Ok(s) => {
                    say(format!("serving /metrics on http://{}", s.local_addr()));
                    Some(s)
                }
                Err(e) => {
                    say(format!("--listen {addr}: {e}"));
                    return EXIT_USAGE;
                }
            }
        }
        None => None,
    };

    let mut push_failed = false;
    let render_for_push = render.clone();
    let do_push = move |target: &PushTarget| -> bool {
        let body = render_for_push();
        let push_opts = PushOptions {
            max_elapsed: target.timeout,
            auth: target.auth.clone(),
            ..PushOptions::default()
        };
        match push(
            &target.url,
            &target.job,
            &target.grouping,
            &body,
            &push_opts,
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

    let make_worker = || {
        let mut w = plan.worker();
        move |batch: &Batch| w.batch(batch)
    };
    let summary = opts.engine.run(
        &opts.inputs,
        Arc::new(|_: &crate::record::Labels| true),
        &make_worker,
        |o| {
            totals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add_chunk(&o.out, &cfg);
            version.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ControlFlow::Continue(())
        },
    );

    let t = totals.lock().unwrap_or_else(|e| e.into_inner());
    let stdout = io::stdout();
    let mut w = io::BufWriter::new(stdout.lock());
    let written = match opts.output {
        MetricsOutput::Json => write_json(&mut w, &t, &cfg, &disp, &counters),
        MetricsOutput::Table => {
            let color = io::stdout().is_terminal();
            write!(w, "{}", table_report(&t.all, &cfg, &disp, color))
        }
        MetricsOutput::Prom => {
            let mut s = series.lock().unwrap_or_else(|e| e.into_inner());
            write!(
                w,
                "{}",
                exposition(&mut s, &t, &cfg, &disp, &prefix, &counters)
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
    // Like a Prometheus exporter, a server outlives its input: it serves
    // the final totals until SIGINT or SIGTERM (which `main` arms for
    // `--listen`), and then the run ends as it would have (exit 0).
    if let (Some(s), None, Some(stop)) = (
        &server,
        &opts.engine.read.follow,
        &opts.engine.read.interrupt,
    ) {
        if !stop.load(std::sync::atomic::Ordering::Relaxed) {
            say(format!(
                "input ended; still serving /metrics on http://{} until interrupted (Ctrl-C or SIGTERM)",
                s.local_addr()
            ));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    drop(server);
    if push_failed {
        return EXIT_INPUT;
    }
    exit_status(&summary, opts.unreadable_inputs)
}
