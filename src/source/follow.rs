//! `--follow`: reading files with `tail -F` semantics.
//!
//! [`Tail`] follows one *path* (not one open file) and survives the usual
//! log-rotation schemes; it never blocks: when there is nothing to read it
//! says so (`WouldBlock`), and whoever drives it waits. [`FollowReader`]
//! is one `Tail` as a blocking [`Read`]; the command line's
//! `FollowSource` (`source/followed.rs`) drives the `Tail`s of all
//! followed files from one thread. Both wake on file-system notifications
//! for the path's directory (`source/watch.rs`, inotify) and poll as the
//! fallback.
//!
//! * **Not there yet / deleted**: while the path does not exist the tail
//!   waits for it (logged once at debug level) and reads a file that
//!   appears from its start. If a file was already open, that handle is kept
//!   and still read, so lines written to a deleted-but-still-open file by its
//!   writer are not lost. Holding the handle also means the kernel cannot
//!   hand the same inode number to the replacement file.
//! * **Rename rotation** (`mv app.log app.log.1`, then a new `app.log`): as
//!   soon as the path is seen to name a different file (device + inode
//!   differ) the new file is opened too, and kept in a queue of
//!   *generations* behind the old one. The old handle is read to its end
//!   before the next generation is read from offset 0, and it is only
//!   left once a newer generation holds data: with `logrotate`'s `create`
//!   option the new, empty file exists while the application is still
//!   writing into the renamed one (until its post-rotate reopen), and those
//!   lines must not be lost either. Opening each generation as soon as a
//!   notification names it means a file renamed away again moments later
//!   (rotation every 50 ms) is still read whole: the handle, not the name,
//!   is what is read.
//! * **copytruncate** (the file is truncated in place): when the open
//!   file's size is smaller than our offset we seek back to 0 and read it
//!   from the start. Notifications of each write make the tail read
//!   promptly, so little is unread when the truncation comes.
//! * **Too many open files**: an `open` that fails with `EMFILE`/`ENFILE`
//!   is not an error of the input: the tail reports itself starved
//!   ([`Tail::starved`]) and tries again on a later poll.
//!
//! # Limitations
//!
//! * copytruncate is inherently racy. Lines written between our last read and
//!   the truncation only end up in the copy and are not read here. And if the
//!   writer has already written *past our old offset* by the time we notice
//!   the truncation, the truncation cannot be detected by size at all: we
//!   keep reading from the old offset and miss the start of the new content.
//! * Lines written to a rotated-away file *after* we switched to a newer
//!   generation are lost (we switch only once a newer generation has data,
//!   which for a single well-behaved writer means it no longer writes the
//!   old one).
//! * A generation created and renamed away again before the tail looks at
//!   the path is skipped (as with `tail -F`); with notifications that takes
//!   a rotation faster than the follower thread can react to an event, or
//!   more than [`MAX_GENERATIONS`] generations unread.
//!
//! The steady state (read data, or poll an idle file) does not allocate: data
//! is read straight into the caller's buffer and `stat(2)` on the path uses
//! std's on-stack path conversion for paths shorter than a few hundred bytes.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::batch::{InputId, Position, FINGERPRINT_BYTES};

use super::watch::{dir_and_name, Watcher};

/// Lower bound for the sleep between polls, so that a zero `poll_interval`
/// does not turn into a busy loop.
const MIN_POLL: Duration = Duration::from_millis(1);

/// Segments kept for mapping stream offsets back to files: far more than a
/// reader can be behind (a segment starts at each rotation or truncation).
const MAX_SEGMENTS: usize = 64;

/// While a file has data, the path is looked at least this often.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// Generations of one path held open at most (each holds a file
/// descriptor): the one being read and the newer ones waiting behind it.
pub const MAX_GENERATIONS: usize = 16;

/// Where one stretch of the followed stream came from: from stream offset
/// `stream_start` on, the bytes are those of file `input` from `file_start`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    stream_start: u64,
    file_start: u64,
    input: InputId,
}

/// Maps offsets in the byte stream a [`FollowReader`] returns (which runs on
/// across rotations) back to a file and an offset in it, which is what a
/// checkpoint must name. Shared with whoever frames the stream.
#[derive(Debug, Clone, Default)]
pub struct FollowPositions {
    segments: Arc<Mutex<VecDeque<Segment>>>,
}

impl FollowPositions {
    fn push(&self, seg: Segment) {
        let Ok(mut v) = self.segments.lock() else {
            return;
        };
        // A segment that starts where the last one did replaces it: nothing
        // was read from the last one.
        if v.back().is_some_and(|b| b.stream_start == seg.stream_start) {
            v.pop_back();
        }
        v.push_back(seg);
        while v.len() > MAX_SEGMENTS {
            v.pop_front();
        }
    }

    /// Gives the newest segment a new identity: its file has grown into
    /// more of the bytes a fingerprint covers.
    fn reidentify_last(&self, input: InputId) {
        if let Ok(mut v) = self.segments.lock() {
            if let Some(last) = v.back_mut() {
                last.input = input;
            }
        }
    }

    /// The file position of stream offset `at`. An offset on a boundary is
    /// the end of the earlier file: everything of it has been read.
    pub fn position(&self, at: u64) -> Option<Position> {
        let v = self.segments.lock().ok()?;
        let seg = v
            .iter()
            .rev()
            .find(|s| s.stream_start < at || (at == 0 && s.stream_start == 0))?;
        Some(Position {
            input: seg.input,
            offset: seg.file_start + (at - seg.stream_start),
        })
    }
}

/// Options for [`FollowReader`].
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// How often to look at the files when no notification comes (no
    /// inotify, a directory that cannot be watched, a deleted file still
    /// written). Default 100ms.
    pub poll_interval: Duration,
    /// `true` (default): read the content already in the file first, like
    /// `tail -F -n +1`. `false`: start at the end of the file as it is when
    /// the reader is constructed. Only applies to a file that exists when
    /// [`FollowReader::new`] is called; a file that appears later, or that
    /// replaces a rotated one, is always read from its start.
    pub from_start: bool,
    /// When set to `true`, [`Read::read`] returns `Ok(0)` (EOF) as soon as it
    /// has returned everything that was available when the flag was seen.
    pub stop: Option<Arc<AtomicBool>>,
    /// Return `Ok(0)` (EOF) after this long without new data.
    pub idle_timeout: Option<Duration>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll_interval: Duration::from_millis(100),
            from_start: true,
            stop: None,
            idle_timeout: None,
        }
    }
}

/// Identity of a file: device and inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Outcome of one poll of the file state.
enum Poll {
    /// `n > 0` bytes were read into the caller's buffer.
    Data(usize),
    /// The state changed (file opened, switched or rewound): poll again now.
    Retry,
    /// Nothing to read right now.
    Idle,
}

/// One open file the path named at some point.
struct Generation {
    file: File,
    id: FileId,
    /// Byte offset of the next read in `file`.
    offset: u64,
}

/// Whether an `open` failed for want of file descriptors (the process's
/// or the system's): a reason to try again later, not a broken input.
pub fn is_fd_exhaustion(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// One followed path, read without blocking; see the module documentation.
///
/// [`Tail::read_now`] returns data, `WouldBlock` when there is none yet,
/// or `Ok(0)` (the end) once the stop flag is set and everything available
/// has been returned. Errors other than "not found" and "too many open
/// files" are returned with the path in the message.
pub struct Tail {
    path: PathBuf,
    /// Oldest first: the front is being read, the back is what the path
    /// named when last looked at.
    gens: VecDeque<Generation>,
    /// Bytes returned so far, across files.
    stream: u64,
    positions: FollowPositions,
    /// Bytes the front file's fingerprint covers: a file opened while still
    /// short (a rotator's new file is empty) is fingerprinted again as it
    /// grows, until the fingerprint covers all it can.
    covered: usize,
    /// Seek to the end on the next successful open (`from_start == false`
    /// and the initial open failed with something other than NotFound).
    skip_to_end: bool,
    stop: Option<Arc<AtomicBool>>,
    /// The path did not exist when last looked at.
    missing: bool,
    /// "waiting for the path to appear" has been logged for this episode.
    missing_logged: bool,
    /// The last open failed for want of file descriptors.
    starved: bool,
    /// Look at the path before the next read (a notification named it).
    look: bool,
    last_look: Instant,
    last_data: Instant,
    /// Test hook run between hitting EOF and checking the path, to make the
    /// rotation race deterministic.
    #[cfg(test)]
    eof_hook: Option<Box<dyn FnMut() + Send>>,
}

impl fmt::Debug for Tail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tail")
            .field("path", &self.path)
            .field("generations", &self.gens.len())
            .field("id", &self.current_file_id())
            .field("offset", &self.offset())
            .finish()
    }
}

impl Tail {
    /// Follows `path`. If the file exists it is opened right away (and,
    /// with `from_start == false`, positioned at its current end), so that
    /// data appended before the first read is not skipped.
    pub fn new(path: PathBuf, from_start: bool, stop: Option<Arc<AtomicBool>>) -> Tail {
        let mut tail = Tail {
            path,
            gens: VecDeque::new(),
            stream: 0,
            positions: FollowPositions::default(),
            covered: 0,
            skip_to_end: !from_start,
            stop,
            missing: false,
            missing_logged: false,
            starved: false,
            look: false,
            last_look: Instant::now(),
            last_data: Instant::now(),
            #[cfg(test)]
            eof_hook: None,
        };
        if let Err(err) = tail.open_path() {
            tracing::debug!(error = %err, "follow: initial open failed, will retry on read");
        }
        tail
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offset in the file being read just past the last byte returned (0
    /// when no file is open).
    pub fn offset(&self) -> u64 {
        self.gens.front().map_or(0, |g| g.offset)
    }

    /// Device and inode of the file being read, if any.
    pub fn current_file_id(&self) -> Option<FileId> {
        self.gens.front().map(|g| g.id)
    }

    /// The map from offsets in what was returned to file positions.
    pub fn positions(&self) -> FollowPositions {
        self.positions.clone()
    }

    /// In the middle of a rotation: an older generation is still read, or
    /// the path is gone while its last file is still open. Such a tail is
    /// worth polling even without notifications for its name (the renamed
    /// or deleted file is written under another name, or none).
    pub fn rotating(&self) -> bool {
        self.gens.len() > 1 || (self.missing && !self.gens.is_empty())
    }

    /// The last attempt to open the path failed for want of file
    /// descriptors; it is tried again on a later poll.
    pub fn starved(&self) -> bool {
        self.starved
    }

    /// A notification named the path: look at it before the next read.
    pub fn look(&mut self) {
        self.look = true;
    }

    /// When data was last returned.
    pub fn last_data(&self) -> Instant {
        self.last_data
    }

    fn stop_requested(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::Acquire))
    }

    fn path_error(&self, err: io::Error) -> io::Error {
        io::Error::new(err.kind(), format!("{}: {}", self.path.display(), err))
    }

    /// The fingerprint of the front file's first bytes.
    fn fingerprint(&self) -> Option<InputId> {
        let file = &self.gens.front()?.file;
        let mut head = [0u8; FINGERPRINT_BYTES];
        let mut n = 0;
        while n < head.len() {
            match file.read_at(&mut head[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        Some(InputId::of(&head[..n]))
    }

    /// Starts a segment: from here on the stream holds the front file's
    /// bytes from its current offset.
    fn start_segment(&mut self) {
        let Some(input) = self.fingerprint() else {
            return;
        };
        self.covered = input.covered as usize;
        self.positions.push(Segment {
            stream_start: self.stream,
            file_start: self.offset(),
            input,
        });
    }

    /// Fingerprints the front file again once it has grown past what its
    /// fingerprint covers (cheap: at most until it covers all it can).
    fn grow_identity(&mut self) {
        if self.covered < FINGERPRINT_BYTES && self.offset() as usize > self.covered {
            if let Some(input) = self.fingerprint() {
                self.covered = input.covered as usize;
                self.positions.reidentify_last(input);
            }
        }
    }

    fn note_missing(&mut self) {
        self.missing = true;
        if !self.missing_logged {
            self.missing_logged = true;
            tracing::debug!(path = %self.path.display(), "follow: waiting for file to appear");
        }
    }

    /// Opens the path as the newest generation. `Retry` when a file not
    /// already held was opened, `Idle` when there is none (missing, the
    /// same file, no file descriptor left, too many generations).
    fn open_path(&mut self) -> io::Result<Poll> {
        if self.gens.len() >= MAX_GENERATIONS {
            return Ok(Poll::Idle);
        }
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                if self.gens.is_empty() {
                    // A file that appears later is new content: read it all.
                    self.skip_to_end = false;
                }
                self.note_missing();
                return Ok(Poll::Idle);
            }
            Err(err) if is_fd_exhaustion(&err) => {
                if !self.starved {
                    tracing::debug!(path = %self.path.display(), error = %err, "follow: cannot open yet");
                }
                self.starved = true;
                return Ok(Poll::Idle);
            }
            Err(err) => return Err(self.path_error(err)),
        };
        self.starved = false;
        self.missing = false;
        self.missing_logged = false;
        // Identity from the handle, not the path: the path may have changed
        // between a previous stat and this open.
        let meta = file.metadata().map_err(|e| self.path_error(e))?;
        let id = FileId::of(&meta);
        if self.gens.iter().any(|g| g.id == id) {
            return Ok(Poll::Idle);
        }
        let first = self.gens.is_empty();
        let offset = if first && self.skip_to_end {
            file.seek(SeekFrom::End(0))
                .map_err(|e| self.path_error(e))?
        } else {
            0
        };
        self.skip_to_end = false;
        self.gens.push_back(Generation { file, id, offset });
        if first {
            self.start_segment();
        }
        tracing::debug!(
            path = %self.path.display(),
            inode = meta.ino(),
            offset,
            generations = self.gens.len(),
            "follow: opened file"
        );
        Ok(Poll::Retry)
    }

    /// Reads from the front file into `buf`, advancing its offset.
    fn read_front(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(front) = self.gens.front_mut() else {
            return Ok(0);
        };
        let n = loop {
            match front.file.read(buf) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(self.path_error(err)),
            }
        };
        front.offset += n as u64;
        Ok(n)
    }

    /// Whether a generation newer than the front has data: then the writer
    /// has moved on, and the front ends where it ends now.
    fn newer_has_data(&self) -> io::Result<bool> {
        for g in self.gens.iter().skip(1) {
            if g.file.metadata().map_err(|e| self.path_error(e))?.len() > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One non-blocking step: read data, or detect and handle a state change.
    fn poll(&mut self, buf: &mut [u8]) -> io::Result<Poll> {
        if self.gens.is_empty() {
            return self.open_path();
        }
        // While the front has data, still look at the path when told to
        // or now and then: a new generation must be opened before it is
        // renamed away, however far behind the front is.
        if self.look || self.last_look.elapsed() >= LOOK_EVERY {
            self.look_at_path()?;
        }
        let n = self.read_front(buf)?;
        if n > 0 {
            return Ok(Poll::Data(n));
        }

        #[cfg(test)]
        if let Some(hook) = self.eof_hook.as_mut() {
            hook();
        }

        // At the end of the front file. Truncated in place (copytruncate)?
        // Its own size says, whatever the path names now. See the module
        // docs for the undetectable case where the writer already wrote
        // past our old offset.
        let offset = self.offset();
        let len = match self.gens.front() {
            Some(front) => front.file.metadata().map_err(|e| self.path_error(e))?.len(),
            None => return Ok(Poll::Retry),
        };
        if len < offset {
            tracing::debug!(
                path = %self.path.display(),
                old_offset = offset,
                new_len = len,
                "follow: file truncated, reading from start"
            );
            if let Some(front) = self.gens.front_mut() {
                if let Err(e) = front.file.seek(SeekFrom::Start(0)) {
                    return Err(self.path_error(e));
                }
                front.offset = 0;
            }
            self.start_segment();
            return Ok(Poll::Retry);
        }

        // A newer generation has data: drain the front (this read happens
        // after we saw the data, so it sees everything written to the front
        // before that), then leave it.
        if self.newer_has_data()? {
            let n = self.read_front(buf)?;
            if n > 0 {
                return Ok(Poll::Data(n));
            }
            if let Some(old) = self.gens.pop_front() {
                tracing::debug!(
                    path = %self.path.display(),
                    old_inode = old.id.ino,
                    old_offset = old.offset,
                    "follow: file rotated, switching to the next generation"
                );
            }
            self.start_segment();
            return Ok(Poll::Retry);
        }

        self.look_at_path()
    }

    /// Looks at what the path names now: a file not held yet is opened
    /// (`Retry`), before it can be renamed away in turn, and read once the
    /// older ones are done.
    fn look_at_path(&mut self) -> io::Result<Poll> {
        self.look = false;
        self.last_look = Instant::now();
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                // Deleted or renamed away: keep the handles (their writer may
                // still append) and wait for the path to reappear.
                self.note_missing();
                return Ok(Poll::Idle);
            }
            Err(err) => return Err(self.path_error(err)),
        };
        self.missing = false;
        self.missing_logged = false;
        let id = FileId::of(&meta);
        if self.gens.iter().any(|g| g.id == id) {
            return Ok(Poll::Idle);
        }
        self.open_path()
    }

    /// Reads what is there now into `buf`: `Ok(n > 0)`, `WouldBlock` when
    /// nothing is, `Ok(0)` when stopping and nothing is.
    pub fn read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Sampled before polling: everything written before the flag was
        // set is returned before we report the end.
        let stopping = self.stop_requested();
        loop {
            match self.poll(buf)? {
                Poll::Data(n) => {
                    self.stream += n as u64;
                    self.grow_identity();
                    self.last_data = Instant::now();
                    return Ok(n);
                }
                Poll::Retry => continue,
                Poll::Idle => break,
            }
        }
        if stopping {
            Ok(0)
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
}

/// A [`Tail`] shared between the reader chain that frames its bytes and
/// the follower that schedules it.
#[derive(Debug, Clone)]
pub struct SharedTail(pub Arc<Mutex<Tail>>);

impl SharedTail {
    pub fn new(tail: Tail) -> SharedTail {
        SharedTail(Arc::new(Mutex::new(tail)))
    }

    /// Runs `f` on the tail.
    pub fn with<T>(&self, f: impl FnOnce(&mut Tail) -> T) -> T {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

impl Read for SharedTail {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.with(|t| t.read_now(buf))
    }
}

/// A [`Read`] that follows a path with `tail -F` semantics; see the module
/// documentation.
///
/// `read` blocks until data is available, waking on notifications for
/// the path's directory and every `poll_interval`, and only returns
/// `Ok(0)` when stopping (stop flag or idle timeout). Errors other than
/// "not found" are returned, with the path in the message; the reader
/// stays usable afterwards.
pub struct FollowReader {
    tail: Tail,
    opts: FollowOptions,
    watcher: Watcher,
    /// "too many open files" has been said for this episode.
    starved_logged: bool,
}

impl fmt::Debug for FollowReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FollowReader")
            .field("tail", &self.tail)
            .field("opts", &self.opts)
            .finish()
    }
}

impl FollowReader {
    /// Creates a reader following `path`.
    ///
    /// If the file exists it is opened right away (and, with
    /// `from_start == false`, positioned at its current end), so that data
    /// appended between `new` and the first `read` is not skipped. Failing
    /// that, opening is retried by `read`, which reports errors.
    pub fn new(path: PathBuf, opts: FollowOptions) -> FollowReader {
        let mut watcher = Watcher::new();
        if let Some((dir, _)) = dir_and_name(&path) {
            watcher.watch_dir(dir);
        }
        FollowReader {
            tail: Tail::new(path, opts.from_start, opts.stop.clone()),
            opts,
            watcher,
            starved_logged: false,
        }
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        self.tail.path()
    }

    /// Offset in the currently open file just past the last byte `read`
    /// returned (0 when no file is open). When wrapped in a `BufReader`,
    /// bytes still sitting unconsumed in its buffer are counted as read:
    /// subtract them (`BufReader::buffer().len()`) when checkpointing.
    pub fn offset(&self) -> u64 {
        self.tail.offset()
    }

    /// The map from offsets in what `read` returned to file positions.
    pub fn positions(&self) -> FollowPositions {
        self.tail.positions()
    }

    /// Inode number of the currently open file, if any.
    pub fn current_inode(&self) -> Option<u64> {
        self.tail.current_file_id().map(|id| id.ino)
    }

    /// Device and inode of the currently open file, if any.
    pub fn current_file_id(&self) -> Option<FileId> {
        self.tail.current_file_id()
    }
}

impl Read for FollowReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tail.read_now(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            if self.tail.starved() != self.starved_logged {
                self.starved_logged = self.tail.starved();
                if self.starved_logged {
                    tracing::warn!(
                        target: crate::diag::USER,
                        "{}: cannot open: too many open files; retrying",
                        self.tail.path().display()
                    );
                }
            }
            let mut sleep = self.opts.poll_interval.max(MIN_POLL);
            if let Some(timeout) = self.opts.idle_timeout {
                let idle = self.tail.last_data().elapsed();
                if idle >= timeout {
                    return Ok(0);
                }
                sleep = sleep.min(timeout - idle);
            }
            self.watcher.wait(sleep, |_| {});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use std::io::Write;
    use std::sync::atomic::AtomicU64;
    use std::thread::{self, JoinHandle};

    /// Generous bound for anything the tests wait on.
    const WAIT: Duration = Duration::from_secs(30);
    const LINE_LEN: u64 = 12; // "line 000001\n"

    fn opts(poll_ms: u64) -> FollowOptions {
        FollowOptions {
            poll_interval: Duration::from_millis(poll_ms),
            from_start: true,
            stop: None,
            // Safety net only: tests end via the stop flag unless noted.
            idle_timeout: Some(WAIT),
        }
    }

    struct ReaderOutput {
        data: Vec<u8>,
        offset: u64,
        file_id: Option<FileId>,
        finished_at: Instant,
    }

    /// A reader running on its own thread, publishing how many bytes it read.
    struct Harness {
        progress: Arc<AtomicU64>,
        stop: Arc<AtomicBool>,
        handle: JoinHandle<io::Result<ReaderOutput>>,
    }

    impl Harness {
        /// The reader is constructed on the calling thread, so the initial
        /// open (and the `from_start == false` position) happen before return.
        fn spawn(path: PathBuf, mut opts: FollowOptions) -> Harness {
            let stop = Arc::new(AtomicBool::new(false));
            opts.stop = Some(Arc::clone(&stop));
            let mut reader = FollowReader::new(path, opts);
            let progress = Arc::new(AtomicU64::new(0));
            let thread_progress = Arc::clone(&progress);
            let handle = thread::spawn(move || {
                let mut data = Vec::new();
                // Odd size so that reads split lines.
                let mut buf = [0u8; 37];
                loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                    thread_progress.store(data.len() as u64, Ordering::Release);
                }
                Ok(ReaderOutput {
                    data,
                    offset: reader.offset(),
                    file_id: reader.current_file_id(),
                    finished_at: Instant::now(),
                })
            });
            Harness {
                progress,
                stop,
                handle,
            }
        }

        fn progress(&self) -> Arc<AtomicU64> {
            Arc::clone(&self.progress)
        }

        /// Waits for the reader thread to end on its own (no stop flag).
        fn join(self) -> ReaderOutput {
            let deadline = Instant::now() + WAIT * 2;
            while !self.handle.is_finished() {
                assert!(Instant::now() < deadline, "reader did not finish");
                thread::sleep(Duration::from_millis(5));
            }
            self.handle
                .join()
                .expect("reader thread panicked")
                .expect("reader returned an error")
        }

        /// Sets the stop flag and waits for the reader thread.
        fn stop(self) -> ReaderOutput {
            self.stop.store(true, Ordering::Release);
            self.join()
        }
    }

    /// Waits until the reader has read `bytes` bytes in total.
    fn wait_for_progress(progress: &AtomicU64, bytes: u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            let got = progress.load(Ordering::Acquire);
            if got == bytes {
                return;
            }
            assert!(got < bytes, "reader read {got} bytes, only {bytes} written");
            assert!(
                Instant::now() < deadline,
                "reader stuck at {got} of {bytes} bytes"
            );
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Writes numbered lines, one `write` call per line.
    struct Lines {
        next: u64,
    }

    impl Lines {
        fn new() -> Lines {
            Lines { next: 1 }
        }

        fn write(&mut self, file: &mut File, count: u64) {
            for _ in 0..count {
                let line = format!("line {:06}\n", self.next);
                file.write_all(line.as_bytes()).unwrap();
                self.next += 1;
            }
        }

        /// Total bytes written so far.
        fn bytes(&self) -> u64 {
            (self.next - 1) * LINE_LEN
        }

        fn count(&self) -> u64 {
            self.next - 1
        }
    }

    /// Asserts that `data` is exactly lines 1..=n, reporting the first
    /// mismatch instead of dumping everything.
    fn assert_lines(data: &[u8], n: u64) {
        let text = std::str::from_utf8(data).expect("utf-8");
        let mut expected = 1u64;
        for got in text.split_inclusive('\n') {
            let want = format!("line {expected:06}\n");
            assert_eq!(got, want, "at line {expected} (of {n})");
            expected += 1;
        }
        assert_eq!(expected - 1, n, "line count");
        assert_eq!(data.len() as u64, n * LINE_LEN);
    }

    fn append(path: &Path) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
    }

    fn inode(path: &Path) -> FileId {
        FileId::of(&fs::metadata(path).unwrap())
    }

    #[test]
    fn plain_appends_end_on_idle_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = append(&path);
        let mut lines = Lines::new();
        lines.write(&mut file, 100); // existing content, read first

        let mut o = opts(10);
        o.idle_timeout = Some(Duration::from_secs(1));
        let h = Harness::spawn(path.clone(), o);
        let writer = thread::spawn(move || {
            for _ in 0..20 {
                lines.write(&mut file, 100);
                thread::sleep(Duration::from_millis(2));
            }
            lines.count()
        });
        let n = writer.join().unwrap();
        // No stop flag: the reader ends through the idle timeout.
        let out = h.join();
        assert_lines(&out.data, n);
        assert_eq!(out.offset, fs::metadata(&path).unwrap().len());
        assert_eq!(out.file_id, Some(inode(&path)));
    }

    /// Offsets in the followed stream map back to the file they came
    /// from: through a rename rotation to the new file (by the fingerprint
    /// of its first bytes), and through copytruncate to the start again.
    #[test]
    fn positions_map_stream_offsets_back_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(&path, b"first file, line 1\nfirst file, line 2\n").unwrap();
        let mut o = opts(5);
        o.idle_timeout = Some(Duration::from_millis(100));
        let mut r = FollowReader::new(path.clone(), o);
        let positions = r.positions();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let mut read_all = |r: &mut FollowReader, got: &mut Vec<u8>| loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        };
        read_all(&mut r, &mut got);
        let first_len = got.len() as u64;
        let first = InputId::of(b"first file, line 1\nfirst file, line 2\n");
        assert_eq!(
            positions.position(first_len),
            Some(Position {
                input: first,
                offset: first_len
            })
        );
        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        fs::write(&path, b"second\n").unwrap();
        read_all(&mut r, &mut got);
        assert_eq!(&got[first_len as usize..], b"second\n");
        // The boundary is the end of the first file: all of it was read.
        assert_eq!(positions.position(first_len).unwrap().input, first);
        assert_eq!(
            positions.position(first_len + 7),
            Some(Position {
                input: InputId::of(b"second\n"),
                offset: 7
            })
        );
        assert_eq!(positions.position(3).unwrap().offset, 3);
        // copytruncate: the same file starts again from its first byte.
        fs::write(&path, b"3\n").unwrap();
        read_all(&mut r, &mut got);
        assert_eq!(&got[first_len as usize + 7..], b"3\n");
        assert_eq!(
            positions.position(first_len + 9),
            Some(Position {
                input: InputId::of(b"3\n"),
                offset: 2
            })
        );
        // A file first seen short is fingerprinted again as it grows.
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"4\n")
            .unwrap();
        read_all(&mut r, &mut got);
        assert_eq!(
            positions.position(first_len + 11),
            Some(Position {
                input: InputId::of(b"3\n4\n"),
                offset: 4
            })
        );
    }

    #[test]
    fn rename_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let h = Harness::spawn(path.clone(), opts(10));
        let progress = h.progress();
        let writer_path = path.clone();
        let writer = thread::spawn(move || {
            let path = writer_path;
            let mut lines = Lines::new();
            let mut file = append(&path);
            for round in 0..6 {
                lines.write(&mut file, 300);
                // Lagging more than one generation behind is not supported
                // (see module docs): let the reader reach the current file.
                wait_for_progress(&progress, lines.bytes());
                lines.write(&mut file, 50); // maybe not read before rename
                let rotated = path.with_extension(format!("log.{round}"));
                fs::rename(&path, &rotated).unwrap();
                if round % 2 == 0 {
                    // logrotate `create`: the new, empty file exists while the
                    // application still writes the old one.
                    File::create(&path).unwrap();
                    lines.write(&mut file, 20);
                    thread::sleep(Duration::from_millis(30));
                    lines.write(&mut file, 20);
                    file = append(&path);
                } else {
                    // The application renames and reopens; the path is
                    // missing for a while, the old file still gets lines.
                    lines.write(&mut file, 20);
                    thread::sleep(Duration::from_millis(30));
                    lines.write(&mut file, 20);
                    file = append(&path);
                }
                lines.write(&mut file, 100);
            }
            lines.write(&mut file, 100);
            wait_for_progress(&progress, lines.bytes());
            lines.count()
        });
        let n = writer.join().unwrap();
        let out = h.stop();
        assert_lines(&out.data, n);
        assert_eq!(out.offset, fs::metadata(&path).unwrap().len());
        assert_eq!(out.file_id, Some(inode(&path)));
    }

    /// Deterministic version of the rotation race: after our read hit EOF
    /// but before we looked at the path, the writer appended to the old file,
    /// renamed it and wrote to a new one. The old lines must come first.
    #[test]
    fn rotation_between_eof_and_path_check_drains_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = append(&path);
        let mut lines = Lines::new();
        lines.write(&mut file, 10);
        let stop = Arc::new(AtomicBool::new(false));
        let mut o = opts(10);
        o.stop = Some(Arc::clone(&stop));
        let mut reader = FollowReader::new(path.clone(), o);
        let mut data = vec![0u8; 10 * LINE_LEN as usize];
        reader.read_exact(&mut data).unwrap();

        let hook_stop = Arc::clone(&stop);
        let mut fired = false;
        reader.tail.eof_hook = Some(Box::new(move || {
            if fired {
                return;
            }
            fired = true;
            lines.write(&mut file, 5);
            fs::rename(&path, path.with_extension("log.1")).unwrap();
            let mut new = append(&path);
            lines.write(&mut new, 5);
            hook_stop.store(true, Ordering::Release);
        }));
        reader.read_to_end(&mut data).unwrap();
        assert_lines(&data, 20);
        assert_eq!(reader.offset(), 5 * LINE_LEN);
    }

    #[test]
    fn copytruncate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let h = Harness::spawn(path.clone(), opts(10));
        let progress = h.progress();
        let writer_path = path.clone();
        let writer = thread::spawn(move || {
            let path = writer_path;
            let mut lines = Lines::new();
            // O_APPEND, as copytruncate requires of the writer.
            let mut file = append(&path);
            for round in 0..5 {
                lines.write(&mut file, 300);
                // logrotate's copytruncate window: the reader has caught up.
                wait_for_progress(&progress, lines.bytes());
                let copy = path.with_extension(format!("log.{round}"));
                fs::copy(&path, &copy).unwrap();
                file.set_len(0).unwrap();
                // Less than the old size, so the truncation is detectable,
                // then let the reader notice it before writing more.
                lines.write(&mut file, 1);
                wait_for_progress(&progress, lines.bytes());
                lines.write(&mut file, 200);
            }
            wait_for_progress(&progress, lines.bytes());
            lines.count()
        });
        let n = writer.join().unwrap();
        let out = h.stop();
        assert_lines(&out.data, n);
        assert_eq!(out.offset, 201 * LINE_LEN);
        assert_eq!(out.file_id, Some(inode(&path)));
    }

    #[test]
    fn file_created_after_reader_starts() {
        for from_start in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("app.log");
            let mut o = opts(10);
            // A file that appears later is read from its start either way.
            o.from_start = from_start;
            let h = Harness::spawn(path.clone(), o);
            let progress = h.progress();
            let writer_path = path.clone();
            let writer = thread::spawn(move || {
                thread::sleep(Duration::from_millis(100));
                let mut lines = Lines::new();
                let mut file = append(&writer_path);
                lines.write(&mut file, 500);
                thread::sleep(Duration::from_millis(20));
                lines.write(&mut file, 500);
                wait_for_progress(&progress, lines.bytes());
                lines.count()
            });
            let n = writer.join().unwrap();
            let out = h.stop();
            assert_lines(&out.data, n);
            assert_eq!(out.file_id, Some(inode(&path)));
        }
    }

    #[test]
    fn file_deleted_and_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = append(&path);
        let h = Harness::spawn(path.clone(), opts(10));
        let progress = h.progress();
        let writer_path = path.clone();
        let writer = thread::spawn(move || {
            let path = writer_path;
            let mut lines = Lines::new();
            for _ in 0..3 {
                // No synchronisation: the reader may still be behind when the
                // file is deleted; it keeps the handle and drains it.
                lines.write(&mut file, 400);
                fs::remove_file(&path).unwrap();
                // Still open in the writer: lines to the deleted file.
                lines.write(&mut file, 10);
                // Path missing for a good number of polls.
                thread::sleep(Duration::from_millis(150));
                file = append(&path);
                lines.write(&mut file, 100);
                wait_for_progress(&progress, lines.bytes());
            }
            lines.count()
        });
        let n = writer.join().unwrap();
        let out = h.stop();
        assert_lines(&out.data, n);
        assert_eq!(out.offset, 100 * LINE_LEN);
        assert_eq!(out.file_id, Some(inode(&path)));
    }

    #[test]
    fn from_start_false_skips_existing_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = append(&path);
        for i in 0..100 {
            writeln!(file, "stale {i:05}").unwrap();
        }
        let stale_len = fs::metadata(&path).unwrap().len();
        let mut o = opts(10);
        o.from_start = false;
        let h = Harness::spawn(path.clone(), o);
        let progress = h.progress();
        let writer = thread::spawn(move || {
            let mut lines = Lines::new();
            lines.write(&mut file, 500);
            wait_for_progress(&progress, lines.bytes());
            lines.count()
        });
        let n = writer.join().unwrap();
        let out = h.stop();
        assert_lines(&out.data, n);
        assert_eq!(out.offset, stale_len + n * LINE_LEN);
    }

    #[test]
    fn stop_flag_ends_read_after_draining() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = append(&path);
        let mut o = opts(10);
        o.idle_timeout = None; // only the stop flag can end it
        let h = Harness::spawn(path.clone(), o);
        let mut lines = Lines::new();
        lines.write(&mut file, 100);
        wait_for_progress(&h.progress, lines.bytes());
        // Written right before the stop flag: must still be returned.
        lines.write(&mut file, 100);
        let stopped_at = Instant::now();
        let out = h.stop();
        assert_lines(&out.data, lines.count());
        let after = out.finished_at.saturating_duration_since(stopped_at);
        assert!(after < Duration::from_secs(5), "took {after:?} after stop");
    }

    #[test]
    fn stop_flag_wakes_a_blocked_reader_promptly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.log");
        let stop = Arc::new(AtomicBool::new(false));
        let mut o = opts(10);
        o.idle_timeout = None;
        o.stop = Some(Arc::clone(&stop));
        let mut reader = FollowReader::new(path, o);
        let handle = thread::spawn(move || {
            let mut buf = [0u8; 16];
            reader.read(&mut buf).map(|n| (n, Instant::now()))
        });
        thread::sleep(Duration::from_millis(100));
        let stopped_at = Instant::now();
        stop.store(true, Ordering::Release);
        let (n, returned_at) = handle.join().unwrap().unwrap();
        assert_eq!(n, 0);
        assert!(returned_at.duration_since(stopped_at) < Duration::from_secs(5));
    }

    #[test]
    fn errors_carry_the_path() {
        let dir = tempfile::tempdir().unwrap();
        // A directory opens fine on Linux but cannot be read.
        let mut reader = FollowReader::new(dir.path().to_path_buf(), opts(10));
        let mut buf = [0u8; 16];
        let err = reader.read(&mut buf).unwrap_err();
        assert_ne!(err.kind(), io::ErrorKind::NotFound);
        let msg = err.to_string();
        assert!(
            msg.contains(&dir.path().display().to_string()),
            "message without path: {msg}"
        );
    }

    #[test]
    fn empty_buffer_returns_zero_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let mut reader = FollowReader::new(dir.path().join("none.log"), opts(10));
        assert_eq!(reader.read(&mut []).unwrap(), 0);
        assert_eq!(reader.offset(), 0);
        assert_eq!(reader.current_inode(), None);
    }
}
