//! The batch engine: takes batches from sources, processes them on all
//! cores, and hands the results back in the order the batches were read.
//!
//! ```text
//! source(s) ──Batch(seq)──▶ workers (N) ──(seq, out)──▶ consume, in seq order ──▶ handled
//!     ▲                        │
//!     └─── recycled buffers ◀──┘
//! ```
//! Each source is read by its own thread (a source reads its inputs one
//! after another; all followed files are one source, which reads them
//! together without a thread per file). Channels are bounded, so memory stays flat however long the
//! input. The engine knows nothing about files or queries: sources say
//! where batches come from, workers what is computed, `consume` what is
//! done with it; after `consume` returns, the batch counts as handled and
//! is reported, in read order, to whoever keeps checkpoints.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use crate::batch::{Batch, BatchSource, Handled, Next};
use crate::source::InputError;

/// What happened to the inputs.
#[derive(Debug, Default)]
pub struct Summary {
    /// Inputs that could not be read (each was also reported to the user).
    pub errors: Vec<InputError>,
    /// The consumer stopped early (e.g. the output pipe closed).
    pub stopped: bool,
}

/// A batch's output as it reaches the consumer.
pub struct Output<O> {
    pub out: O,
    /// Which batch it came from.
    pub batch: Handled,
    /// Nothing else is ready: a streaming consumer flushes now.
    pub idle: bool,
}

/// How the engine runs.
pub struct Engine {
    pub threads: usize,
    /// The input is a live stream (stdin, followed files): consumers are
    /// told when nothing else is ready, so they flush.
    pub streaming: bool,
}

/// A numbered batch on its way to a worker.
struct Job {
    seq: u64,
    batch: Batch,
}

struct Shared {
    seq: Mutex<u64>,
    recycle: Receiver<Vec<u8>>,
    /// One token per batch that may be read but not yet consumed: bounds
    /// memory even when one slow batch holds up the in-order consumer.
    tokens: Receiver<()>,
    errors: Mutex<Vec<InputError>>,
    stop: AtomicBool,
}

impl Shared {
    fn report(&self, e: InputError) {
        tracing::error!(target: crate::diag::USER, "{e}");
        if let Ok(mut v) = self.errors.lock() {
            v.push(e);
        }
    }

    /// Sends a batch; numbering and sending under one lock keeps channel
    /// order equal to sequence order.
    fn send(&self, jobs: &Sender<Job>, batch: Batch) -> bool {
        let Ok(mut seq) = self.seq.lock() else {
            return false;
        };
        let job = Job { seq: *seq, batch };
        *seq += 1;
        jobs.send(job).is_ok()
    }

    /// Reads a source to its end. The token is taken once a batch is in
    /// hand, not before reading: a followed file waiting for data must not
    /// hold one, or files beyond the token count could never be read.
    fn read_source(&self, source: &mut dyn BatchSource, jobs: &Sender<Job>) {
        while !self.stop.load(Ordering::Relaxed) {
            let buf = self.recycle.try_recv().unwrap_or_default();
            match source.next_batch(buf) {
                Next::Batch(b) => {
                    if self.tokens.recv().is_err()
                        || self.stop.load(Ordering::Relaxed)
                        || !self.send(jobs, b)
                    {
                        return;
                    }
                }
                Next::Failed(e) => self.report(e),
                Next::End => return,
            }
        }
    }
}

impl Engine {
    /// Runs `make_worker`'s workers over every batch of `sources` and
    /// passes their outputs to `consume` in read order; each batch is then
    /// reported to `handled`. `consume` may stop the run early.
    pub fn run<'s, W, O>(
        &self,
        sources: Vec<Box<dyn BatchSource + 's>>,
        make_worker: &(dyn Fn() -> W + Sync),
        mut consume: impl FnMut(Output<O>) -> ControlFlow<()>,
        handled: &mut dyn FnMut(&Handled),
    ) -> Summary
    where
        W: FnMut(&Batch) -> O,
        O: Send,
    {
        let threads = self.threads.max(1);
        let (job_tx, job_rx) = bounded::<Job>(threads);
        let (out_tx, out_rx) = bounded::<(u64, O, Handled)>(threads);
        let (recycle_tx, recycle_rx) = unbounded::<Vec<u8>>();
        let in_flight = threads * 2 + 2;
        let (token_tx, token_rx) = bounded::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = token_tx.try_send(());
        }
        let shared = Shared {
            seq: Mutex::new(0),
            recycle: recycle_rx,
            tokens: token_rx,
            errors: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        };
        let mut stopped = false;
        let stop_signals: Vec<_> = sources.iter().filter_map(|s| s.stop_signal()).collect();
        std::thread::scope(|s| {
            let shared = &shared;
            // Readers own the job senders: when the last reader ends, the
            // workers see the channel close and end too.
            for mut source in sources {
                let tx = job_tx.clone();
                s.spawn(move || shared.read_source(&mut *source, &tx));
            }
            drop(job_tx);
            for _ in 0..threads {
                let job_rx = job_rx.clone();
                let out_tx = out_tx.clone();
                let recycle_tx = recycle_tx.clone();
                s.spawn(move || {
                    let mut work = make_worker();
                    while let Ok(job) = job_rx.recv() {
                        let out = work(&job.batch);
                        let Batch {
                            input, data, end, ..
                        } = job.batch;
                        let _ = recycle_tx.send(data);
                        if out_tx.send((job.seq, out, Handled { input, end })).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(out_tx);
            drop(job_rx);
            // The caller's thread consumes in order.
            let mut next = 0u64;
            let mut pending: BTreeMap<u64, (O, Handled)> = BTreeMap::new();
            'outer: while let Ok((seq, out, batch)) = out_rx.recv() {
                pending.insert(seq, (out, batch));
                while let Some((out, batch)) = pending.remove(&next) {
                    next += 1;
                    let idle = self.streaming && pending.is_empty() && out_rx.is_empty();
                    let flow = consume(Output {
                        out,
                        batch: batch.clone(),
                        idle,
                    });
                    let _ = token_tx.try_send(());
                    if flow.is_break() {
                        stopped = true;
                        shared.stop.store(true, Ordering::Relaxed);
                        for s in &stop_signals {
                            s.store(true, Ordering::Relaxed);
                        }
                        break 'outer;
                    }
                    handled(&batch);
                }
            }
            if stopped {
                // Drain, so blocked workers and readers can see the stop
                // flag and finish.
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
}

/// Nothing to report: for runs that keep no checkpoints.
pub fn no_progress(_: &Handled) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{InputId, InputInfo, Position};
    use crate::decode::Format;
    use crate::framing::ChunkKind;
    use crate::record::Labels;
    use std::sync::Arc;

    /// Hands out `n` batches of one input, with growing offsets.
    struct Counting {
        input: Arc<InputInfo>,
        n: u64,
        at: u64,
    }

    impl BatchSource for Counting {
        fn next_batch(&mut self, mut buf: Vec<u8>) -> Next {
            if self.at == self.n {
                return Next::End;
            }
            self.at += 1;
            buf.clear();
            buf.extend_from_slice(format!("{}\n", self.at).as_bytes());
            Next::Batch(Batch {
                input: self.input.clone(),
                len: buf.len(),
                data: buf,
                kind: ChunkKind::Lines,
                arrival_ns: 0,
                end: Some(Position {
                    input: self.input.id,
                    offset: self.at,
                }),
            })
        }
    }

    fn source(name: &str, n: u64) -> Box<dyn BatchSource> {
        let id = InputId::of(name.as_bytes());
        Box::new(Counting {
            input: Arc::new(InputInfo::new(id, name.into(), Labels::new(), Format::Raw)),
            n,
            at: 0,
        })
    }

    /// Workers finish out of order (the first batches are the slowest), yet
    /// outputs and "handled" reports arrive in read order, each input's
    /// offsets growing one by one.
    #[test]
    fn handled_reports_arrive_in_input_order() {
        let engine = Engine {
            threads: 4,
            streaming: false,
        };
        let make_worker = || {
            |b: &Batch| {
                let n: u64 = std::str::from_utf8(b.bytes())
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                if n % 7 == 1 {
                    std::thread::sleep(std::time::Duration::from_millis(3));
                }
                n
            }
        };
        let mut seen = Vec::new();
        let mut reports: Vec<(String, u64)> = Vec::new();
        let summary = engine.run(
            vec![source("a", 200), source("b", 200)],
            &make_worker,
            |o| {
                seen.push((o.batch.input.name.clone(), o.out));
                ControlFlow::Continue(())
            },
            &mut |h| reports.push((h.input.name.clone(), h.end.unwrap().offset)),
        );
        assert!(summary.errors.is_empty() && !summary.stopped);
        assert_eq!(reports.len(), 400);
        for name in ["a", "b"] {
            let offsets: Vec<u64> = reports
                .iter()
                .filter(|r| r.0 == name)
                .map(|r| r.1)
                .collect();
            assert_eq!(offsets, (1..=200).collect::<Vec<_>>(), "{name}");
            let outs: Vec<u64> = seen.iter().filter(|r| r.0 == name).map(|r| r.1).collect();
            assert_eq!(outs, (1..=200).collect::<Vec<_>>(), "{name}");
        }
    }

    /// A consumer that stops is not sent more, and what it did not handle
    /// is not reported handled.
    #[test]
    fn stopping_reports_nothing_after_the_stop() {
        let engine = Engine {
            threads: 2,
            streaming: false,
        };
        let make_worker = || |b: &Batch| b.len;
        let mut consumed = 0;
        let mut handled = 0;
        let summary = engine.run(
            vec![source("a", 10_000)],
            &make_worker,
            |_| {
                consumed += 1;
                if consumed == 5 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
            &mut |_| handled += 1,
        );
        assert!(summary.stopped);
        assert_eq!(consumed, 5);
        assert_eq!(handled, 4);
    }
}
