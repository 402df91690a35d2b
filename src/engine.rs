//! The batch engine: reads inputs in chunks of whole lines, processes the
//! chunks on all cores, and hands the results back in input order.
//!
//! ```text
//! reader thread(s) ──Job(seq, chunk)──▶ workers (N) ──(seq, out)──▶ caller, in seq order
//!        ▲                                  │
//!        └────────── recycled buffers ◀─────┘
//! ```
//! One reader reads the inputs one after another; with `--follow`, each
//! input has its own reader so they are read together. Channels are
//! bounded, so memory stays flat however long the input. The engine knows
//! nothing about queries: workers are whatever the command needs.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use crate::decode::detect::{self, Detected};
use crate::decode::Format;
use crate::framing::{ChunkKind, Chunker, JsonJoiner};
use crate::logql::pipeline::InputInfo;
use crate::record::Labels;
use crate::source::{self, FollowOptions, InputError, InputSpec};

/// A chunk of whole lines from one input.
pub struct Job {
    pub seq: u64,
    pub input: Arc<InputInfo>,
    /// The chunk is `data[..len]` (buffers are recycled at full size).
    pub data: Vec<u8>,
    pub len: usize,
    pub kind: ChunkKind,
    /// When the chunk was read: the timestamp of lines without one.
    pub arrival_ns: i64,
}

/// How the engine reads.
pub struct EngineOptions {
    /// `None` detects the format per input.
    pub format: Option<Format>,
    /// Labels added to every input (`--label k=v`).
    pub labels: Labels,
    pub max_line: usize,
    pub follow: Option<FollowOptions>,
    pub threads: usize,
}

/// What happened to the inputs.
#[derive(Debug, Default)]
pub struct Summary {
    pub errors: Vec<InputError>,
    /// The consumer stopped early (e.g. the output pipe closed).
    pub stopped: bool,
}

/// Bytes read from an input to detect its format.
const SAMPLE_BYTES: usize = 64 * 1024;

fn read_sample(r: &mut dyn Read, streaming: bool) -> std::io::Result<Vec<u8>> {
    let mut sample = vec![0u8; SAMPLE_BYTES];
    let mut n = 0;
    while n < SAMPLE_BYTES {
        let k = match r.read(&mut sample[n..]) {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if n == 0 {
                    return Err(e);
                }
                break;
            }
        };
        if k == 0 {
            break;
        }
        n += k;
        // A stream hands on what it has as soon as one line is complete,
        // so a live pipe is not held back waiting for 64 KiB.
        if streaming && sample[..n].contains(&b'\n') {
            break;
        }
    }
    sample.truncate(n);
    Ok(sample)
}

struct Shared<'a> {
    opts: &'a EngineOptions,
    select: &'a (dyn Fn(&Labels) -> bool + Sync),
    seq: Mutex<u64>,
    recycle: Receiver<Vec<u8>>,
    /// One token per chunk that may be read but not yet consumed: bounds
    /// memory even when one slow chunk holds up the in-order consumer.
    tokens: Receiver<()>,
    errors: Mutex<Vec<InputError>>,
    stop: AtomicBool,
}

impl Shared<'_> {
    fn report(&self, e: InputError) {
        tracing::debug!("{e}");
        eprintln!("nagare: {e}");
        if let Ok(mut v) = self.errors.lock() {
            v.push(e);
        }
    }

    /// Sends a job; assigning the sequence number and sending under one
    /// lock keeps channel order equal to sequence order.
    fn send(
        &self,
        jobs: &Sender<Job>,
        input: &Arc<InputInfo>,
        data: Vec<u8>,
        len: usize,
        kind: ChunkKind,
    ) -> bool {
        if self.tokens.recv().is_err() || self.stop.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(mut seq) = self.seq.lock() else {
            return false;
        };
        let job = Job {
            seq: *seq,
            input: input.clone(),
            data,
            len,
            kind,
            arrival_ns: crate::time::now_ns(),
        };
        *seq += 1;
        jobs.send(job).is_ok()
    }

    fn read_input(&self, spec: &InputSpec, jobs: &Sender<Job>) {
        let name = spec.name();
        let opened = match source::open(spec, self.opts.follow.as_ref()) {
            Ok(o) => o,
            Err(e) => return self.report(e),
        };
        let mut reader = opened.reader;
        let sample = match read_sample(&mut reader, opened.streaming) {
            Ok(s) => s,
            Err(e) => {
                return self.report(InputError {
                    name,
                    message: e.to_string(),
                })
            }
        };
        let detected = match self.opts.format {
            Some(f) => Detected {
                format: f,
                pretty_json: matches!(f, Format::Fly | Format::Json | Format::Convex)
                    && detect::is_pretty_json(&sample),
            },
            None => detect::detect(&sample),
        };
        tracing::info!(
            input = %name,
            format = detected.format.name(),
            pretty = detected.pretty_json,
            gzip = opened.gzip,
            "reading input"
        );
        let mut labels = self.opts.labels.clone();
        if !matches!(spec, InputSpec::Stdin) {
            labels.insert("filename", name.clone());
        }
        let selected = (self.select)(&labels);
        let info = Arc::new(InputInfo {
            name: name.clone(),
            labels,
            format: detected.format,
            selected,
        });
        if !selected && !detected.format.is_envelope() && self.opts.follow.is_none() {
            // The selector rules this input out whole: skip reading it.
            return;
        }
        let stream: Box<dyn Read + Send> = if detected.pretty_json {
            Box::new(JsonJoiner::new(Cursor::new(sample).chain(reader)))
        } else {
            Box::new(Cursor::new(sample).chain(reader))
        };
        let stream = detected
            .format
            .join_lines(stream, self.opts.max_line, &name);
        let mut chunker = Chunker::new(stream, self.opts.max_line, !opened.streaming)
            .with_record_start(detected.format.record_start());
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let mut buf = self.recycle.try_recv().unwrap_or_default();
            let chunk_start = chunker.offset();
            match chunker.next_chunk(&mut buf) {
                Ok(Some((kind, len))) => {
                    if kind == ChunkKind::Truncated {
                        eprintln!(
                            "nagare: {name}: line at byte {chunk_start} is longer than {} bytes; truncated",
                            self.opts.max_line
                        );
                    }
                    if !self.send(jobs, &info, buf, len, kind) {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    return self.report(InputError {
                        name,
                        message: format!("{e} (after {} bytes of data)", chunker.offset()),
                    })
                }
            }
        }
    }
}

/// Runs `workers` over every chunk of `inputs` and passes their outputs to
/// `consume` in input order. `select` decides from an input's labels
/// whether it is read at all. `consume` may stop the run early.
pub fn run<W, O>(
    inputs: &[InputSpec],
    opts: &EngineOptions,
    select: &(dyn Fn(&Labels) -> bool + Sync),
    make_worker: &(dyn Fn() -> W + Sync),
    mut consume: impl FnMut(O, bool) -> ControlFlow<()>,
) -> Summary
where
    W: FnMut(Job, &Sender<Vec<u8>>) -> O,
    O: Send,
{
    let threads = opts.threads.max(1);
    let (job_tx, job_rx) = bounded::<Job>(threads);
    let (out_tx, out_rx) = bounded::<(u64, O)>(threads);
    let (recycle_tx, recycle_rx) = unbounded::<Vec<u8>>();
    let in_flight = threads * 2 + 2;
    let (token_tx, token_rx) = bounded::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_tx.try_send(());
    }
    let streaming = opts.follow.is_some() || inputs.contains(&InputSpec::Stdin);
    let shared = Shared {
        opts,
        select,
        seq: Mutex::new(0),
        recycle: recycle_rx,
        tokens: token_rx,
        errors: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    };
    let mut stopped = false;
    std::thread::scope(|s| {
        let shared = &shared;
        // Readers.
        // Readers own the job senders: when the last reader ends, the
        // workers see the channel close and end too.
        if opts.follow.is_some() {
            for spec in inputs {
                let tx = job_tx.clone();
                s.spawn(move || shared.read_input(spec, &tx));
            }
        } else {
            let tx = job_tx.clone();
            s.spawn(move || {
                for spec in inputs {
                    if shared.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    shared.read_input(spec, &tx);
                }
            });
        }
        drop(job_tx);
        // Workers.
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let out_tx = out_tx.clone();
            let recycle_tx = recycle_tx.clone();
            s.spawn(move || {
                let mut work = make_worker();
                while let Ok(job) = job_rx.recv() {
                    let seq = job.seq;
                    let out = work(job, &recycle_tx);
                    if out_tx.send((seq, out)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(out_tx);
        drop(job_rx);
        // The caller's thread consumes in order.
        let mut next = 0u64;
        let mut pending: BTreeMap<u64, O> = BTreeMap::new();
        'outer: while let Ok((seq, out)) = out_rx.recv() {
            pending.insert(seq, out);
            while let Some(out) = pending.remove(&next) {
                next += 1;
                // "Idle" when nothing else is ready: a stream flushes then.
                let idle = streaming && pending.is_empty() && out_rx.is_empty();
                let flow = consume(out, idle);
                let _ = token_tx.try_send(());
                if flow.is_break() {
                    stopped = true;
                    shared.stop.store(true, Ordering::Relaxed);
                    break 'outer;
                }
            }
        }
        if stopped {
            // Drain, so blocked workers and readers can see the stop flag
            // and finish.
            shared.stop.store(true, Ordering::Relaxed);
            for _ in 0..in_flight {
                let _ = token_tx.try_send(());
            }
            while out_rx.recv().is_ok() {
                let _ = token_tx.try_send(());
            }
        }
    });
    let errors = shared.errors.into_inner().unwrap_or_default();
    Summary { errors, stopped }
}
