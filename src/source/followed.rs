//! The command line's source for followed files (`--follow`): one source,
//! read by one engine thread, follows every file, however many, the way
//! one `tail -F` process does.
//!
//! Each file is a non-blocking [`Tail`] with its own framing (format,
//! labels, `InputInfo`, positions), so batches still come from one file
//! each and carry its identity and offsets. A file is read when there is
//! reason to think it has something: a notification for its directory
//! names it (or, in the middle of a rotation, any file there), or a poll
//! is due. Files whose directory cannot be watched, symlinks (their
//! target's directory is not the one watched) and files in the middle of a
//! rotation are polled every `poll_interval`; every file is also looked at
//! every [`FULL_SWEEP_POLLS`] poll intervals, in case a notification was
//! missed. While files have data they are read in turn, a batch each, so
//! one busy file does not hold the others back, and notifications are
//! taken in between.
//!
//! A file keeps no buffer of its own between reads: the bytes read to
//! detect its format are freed once framed, reads go into the engine's
//! recycled buffers, and only a partial last line is carried.
//!
//! A file that cannot be opened for want of file descriptors (`EMFILE`) is
//! said once on stderr, the others are followed, and it is tried again at
//! each full sweep.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ffi::OsString;
use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::batch::{BatchSource, Next};

use super::files::{read_sample_step, InputFilter, ReadOptions, Reading, Step, SAMPLE_BYTES};
use super::follow::{SharedTail, Tail};
use super::watch::{dir_and_name, Event, Watcher, Wd};
use super::{FollowOptions, InputError, InputSpec, Opened};

/// Every file is looked at once every this many poll intervals, even
/// without a notification.
pub const FULL_SWEEP_POLLS: u32 = 20;

/// While files have data, notifications are taken at least this often.
const EVENT_CHECK: Duration = Duration::from_millis(5);

/// How long one wait lasts at most, so the stop flag is seen promptly.
const MAX_WAIT: Duration = Duration::from_millis(100);

/// A directory of followed files.
struct Dir {
    path: PathBuf,
    wd: Option<Wd>,
    /// Followed files by their name in this directory.
    names: HashMap<OsString, Vec<usize>>,
}

enum State {
    /// Reading the first bytes, to detect the format.
    Detecting(Vec<u8>),
    Reading(Reading),
    Done,
}

struct Followed {
    spec: InputSpec,
    tail: SharedTail,
    dir: Option<usize>,
    /// Polled every interval whatever notifications say (a symlink).
    always_poll: bool,
    state: State,
}

/// Follows many files from one thread; see the module documentation.
pub struct FollowSource<'a> {
    files: Vec<Followed>,
    dirs: Vec<Dir>,
    wds: HashMap<Wd, Vec<usize>>,
    watcher: Watcher,
    opts: ReadOptions,
    follow: FollowOptions,
    filter: InputFilter<'a>,
    /// Set from outside: the consumer stopped, or a signal.
    stop: Arc<AtomicBool>,
    /// Set here once stopping: tails end when they have nothing more.
    ending: Arc<AtomicBool>,
    ready: VecDeque<usize>,
    queued: Vec<bool>,
    rotating: BTreeSet<usize>,
    starved: BTreeSet<usize>,
    starved_said: bool,
    live: usize,
    next_fast: Instant,
    next_full: Instant,
    last_events: Instant,
    last_data: Instant,
    scratch: Vec<u8>,
}

impl<'a> FollowSource<'a> {
    /// Follows `inputs` (files). The files that exist are opened now, so
    /// nothing written before the first read is missed.
    pub fn new(inputs: Vec<InputSpec>, opts: ReadOptions, filter: InputFilter<'a>) -> Self {
        let stop = opts
            .interrupt
            .clone()
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        let follow = opts.follow.clone().unwrap_or_default();
        let ending = Arc::new(AtomicBool::new(false));
        let mut watcher = Watcher::new();
        let mut dirs: Vec<Dir> = Vec::new();
        let mut dir_index: HashMap<PathBuf, usize> = HashMap::new();
        let mut wds: HashMap<Wd, Vec<usize>> = HashMap::new();
        let mut files = Vec::with_capacity(inputs.len());
        for (i, spec) in inputs.into_iter().enumerate() {
            let path = match &spec {
                InputSpec::File(p) => p.clone(),
                InputSpec::Stdin => PathBuf::from("-"),
            };
            let always_poll = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            let dir = dir_and_name(&path).map(|(dir, name)| {
                let d = *dir_index.entry(dir.to_path_buf()).or_insert_with(|| {
                    let wd = watcher.watch_dir(dir);
                    if let Some(wd) = wd {
                        wds.entry(wd).or_default().push(dirs.len());
                    }
                    dirs.push(Dir {
                        path: dir.to_path_buf(),
                        wd,
                        names: HashMap::new(),
                    });
                    dirs.len() - 1
                });
                dirs[d].names.entry(name.to_owned()).or_default().push(i);
                d
            });
            let tail = Tail::new(path, follow.from_start, Some(ending.clone()));
            files.push(Followed {
                spec,
                tail: SharedTail::new(tail),
                dir,
                always_poll,
                state: State::Detecting(Vec::new()),
            });
        }
        let n = files.len();
        let now = Instant::now();
        let mut source = FollowSource {
            files,
            dirs,
            wds,
            watcher,
            opts,
            follow,
            filter,
            stop,
            ending,
            ready: VecDeque::with_capacity(n),
            queued: vec![false; n],
            rotating: BTreeSet::new(),
            starved: BTreeSet::new(),
            starved_said: false,
            live: n,
            next_fast: now,
            next_full: now,
            last_events: now,
            last_data: now,
            scratch: Vec::new(),
        };
        for i in 0..n {
            source.mark(i);
        }
        source.schedule(now);
        source
    }

    fn poll_interval(&self) -> Duration {
        self.follow.poll_interval.max(Duration::from_millis(1))
    }

    fn schedule(&mut self, now: Instant) {
        self.next_fast = now + self.poll_interval();
        self.next_full = now + self.poll_interval() * FULL_SWEEP_POLLS;
    }

    /// Queues file `i` to be read.
    fn mark(&mut self, i: usize) {
        mark(&mut self.ready, &mut self.queued, &self.files, i);
    }

    fn mark_all(&mut self) {
        for i in 0..self.files.len() {
            self.mark(i);
        }
    }

    /// Whether file `i` is polled every interval.
    fn polled(&self, i: usize) -> bool {
        let f = &self.files[i];
        f.always_poll
            || f.dir.is_none_or(|d| self.dirs[d].wd.is_none())
            || self.rotating.contains(&i)
    }

    /// Takes the notifications that came (waiting up to `timeout`) and
    /// queues the files they may concern.
    fn take_events(&mut self, timeout: Duration) {
        let FollowSource {
            watcher,
            dirs,
            wds,
            files,
            ready,
            queued,
            rotating,
            ..
        } = self;
        let mut all = false;
        let mut gone = Vec::new();
        watcher.wait(timeout, |ev| match ev {
            Event::Entry { wd, name } => {
                for &d in wds.get(&wd).map_or(&[][..], |v| &v[..]) {
                    if let Some(list) = dirs[d].names.get(name) {
                        for &i in list {
                            files[i].tail.with(|t| t.look());
                            mark(ready, queued, files, i);
                        }
                    }
                    // A renamed-away or deleted file being written: its
                    // name is no longer the followed one.
                    for &i in rotating.iter() {
                        if files[i].dir == Some(d) {
                            mark(ready, queued, files, i);
                        }
                    }
                }
            }
            Event::Gone { wd } => gone.push(wd),
            Event::Overflow => all = true,
        });
        for wd in gone {
            for d in self.wds.remove(&wd).unwrap_or_default() {
                tracing::debug!(dir = %self.dirs[d].path.display(), "follow: directory watch gone, polling");
                self.dirs[d].wd = None;
            }
            all = true;
        }
        if all {
            self.mark_all();
        }
        self.last_events = Instant::now();
    }

    /// Queues the files due a look by the clock.
    fn sweep(&mut self, now: Instant) {
        if now >= self.next_full {
            for d in 0..self.dirs.len() {
                if self.dirs[d].wd.is_none() {
                    let path = self.dirs[d].path.clone();
                    if let Some(wd) = self.watcher.watch_dir(&path) {
                        self.dirs[d].wd = Some(wd);
                        self.wds.entry(wd).or_default().push(d);
                    }
                }
            }
            self.mark_all();
            self.schedule(now);
        } else if now >= self.next_fast {
            for i in 0..self.files.len() {
                if self.polled(i) {
                    self.mark(i);
                }
            }
            self.next_fast = now + self.poll_interval();
        }
    }

    /// Says on stderr when files cannot be opened for want of file
    /// descriptors, and when they all could again.
    fn say_starved(&mut self) {
        if !self.starved.is_empty() && !self.starved_said {
            self.starved_said = true;
            let first = self.starved.first().map(|&i| self.files[i].spec.name());
            tracing::warn!(
                target: crate::diag::USER,
                "cannot open {} followed file(s) yet (first {}): too many open files (the limit is {}); following the others and trying again every {:?}",
                self.starved.len(),
                first.unwrap_or_default(),
                open_files_limit().map_or("unknown".to_string(), |n| n.to_string()),
                self.poll_interval() * FULL_SWEEP_POLLS,
            );
        } else if self.starved.is_empty() && self.starved_said {
            self.starved_said = false;
            tracing::warn!(target: crate::diag::USER, "all followed files are open now");
        }
    }

    /// Reads file `i`: a batch, nothing for now, or its end or failure.
    fn step(&mut self, i: usize, buf: Vec<u8>) -> (Option<Next>, Vec<u8>) {
        let out = self.step_file(i, buf);
        let (rotating, starved) = self.files[i].tail.with(|t| (t.rotating(), t.starved()));
        let done = matches!(self.files[i].state, State::Done);
        if rotating && !done {
            self.rotating.insert(i);
        } else {
            self.rotating.remove(&i);
        }
        if starved && !done {
            self.starved.insert(i);
        } else {
            self.starved.remove(&i);
        }
        out
    }

    fn step_file(&mut self, i: usize, mut buf: Vec<u8>) -> (Option<Next>, Vec<u8>) {
        let max_line = self.opts.max_line;
        let f = &mut self.files[i];
        if let State::Detecting(sample) = &mut f.state {
            if self.scratch.len() < SAMPLE_BYTES {
                self.scratch.resize(SAMPLE_BYTES, 0);
            }
            match read_sample_step(&mut f.tail, sample, &mut self.scratch) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => return (None, buf),
                Err(e) => {
                    let failed = InputError {
                        name: f.spec.name(),
                        message: e.to_string(),
                    };
                    f.state = State::Done;
                    self.live -= 1;
                    return (Some(Next::Failed(failed)), buf);
                }
                Ok(0) => {
                    // Stopping before the file had a byte.
                    f.state = State::Done;
                    self.live -= 1;
                    return (None, buf);
                }
                Ok(_) => {}
            }
            let sample = std::mem::take(sample);
            let opened = Opened {
                reader: Box::new(f.tail.clone()),
                streaming: true,
                gzip: false,
                positions: Some(f.tail.with(|t| t.positions())),
            };
            f.state = match Reading::start(&self.opts, &self.filter, &f.spec, sample, opened) {
                Some(r) => State::Reading(r),
                None => {
                    self.live -= 1;
                    State::Done
                }
            };
        }
        let State::Reading(r) = &mut f.state else {
            return (None, buf);
        };
        match r.step(buf, max_line) {
            Step::Batch(b) => (Some(Next::Batch(b)), Vec::new()),
            Step::Blocked(b) => {
                buf = b;
                (None, buf)
            }
            Step::End(b) => {
                f.state = State::Done;
                self.live -= 1;
                (None, b)
            }
            Step::Failed(e, b) => {
                f.state = State::Done;
                self.live -= 1;
                (Some(Next::Failed(e)), b)
            }
        }
    }

    /// Starts stopping: every file is read to what it has now, then ends.
    fn begin_ending(&mut self) {
        if !self.ending.swap(true, Ordering::AcqRel) {
            self.mark_all();
        }
    }
}

fn mark(ready: &mut VecDeque<usize>, queued: &mut [bool], files: &[Followed], i: usize) {
    if !queued[i] && !matches!(files[i].state, State::Done) {
        queued[i] = true;
        ready.push_back(i);
    }
}

/// The soft limit on open files, for messages.
fn open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (r == 0).then_some(lim.rlim_cur)
}

impl BatchSource for FollowSource<'_> {
    fn stop_signal(&self) -> Option<Arc<AtomicBool>> {
        Some(self.stop.clone())
    }

    fn next_batch(&mut self, mut buf: Vec<u8>) -> Next {
        loop {
            let now = Instant::now();
            if !self.ending.load(Ordering::Acquire) {
                if now.duration_since(self.last_events) >= EVENT_CHECK {
                    self.take_events(Duration::ZERO);
                }
                self.sweep(now);
            }
            if let Some(i) = self.ready.pop_front() {
                self.queued[i] = false;
                let (next, b) = self.step(i, buf);
                buf = b;
                match next {
                    Some(Next::Batch(batch)) => {
                        // It may have more: back in the queue, after the others.
                        self.mark(i);
                        self.last_data = Instant::now();
                        return Next::Batch(batch);
                    }
                    Some(other) => return other,
                    None => continue,
                }
            }
            self.say_starved();
            if self.live == 0 || self.ending.load(Ordering::Acquire) {
                // Ending: every file was queued when it began and has been
                // read to its end since.
                return Next::End;
            }
            if self.stop.load(Ordering::Acquire) {
                self.begin_ending();
                continue;
            }
            let mut wait = self
                .next_fast
                .min(self.next_full)
                .saturating_duration_since(now)
                .min(MAX_WAIT);
            if let Some(timeout) = self.follow.idle_timeout {
                let idle = self.last_data.elapsed();
                if idle >= timeout {
                    self.begin_ending();
                    continue;
                }
                wait = wait.min(timeout - idle);
            }
            self.take_events(wait);
        }
    }
}
