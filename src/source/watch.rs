//! File-system notifications for followed files: one inotify instance that
//! watches the *directories* of the followed paths, so a write, a create,
//! a rename or a delete of any file in them wakes the follower at once.
//!
//! inotify is used through `libc` directly: the follower already waits in
//! one place (a `poll(2)` with a timeout that doubles as the polling
//! fallback and the moment to look at the stop flag), so a blocking-free
//! file descriptor is all it needs, with no thread or channel of its own.
//! Where inotify is unavailable (another OS, no instance left, the watch
//! limit reached, a network file system that reports nothing), adding a
//! watch fails or no event comes and the follower's periodic polling does
//! the work, as before.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

/// A watch descriptor: which watched directory an event is about.
pub type Wd = i32;

/// What the kernel reported.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Something happened to the entry `name` of directory `wd` (written,
    /// created, renamed to or from, deleted, attributes changed).
    Entry { wd: Wd, name: &'a OsStr },
    /// The directory itself is gone: its watch was removed.
    Gone { wd: Wd },
    /// Events were dropped (queue overflow): anything may have changed.
    Overflow,
}

/// One inotify instance (or none, when it could not be made).
#[derive(Debug)]
pub struct Watcher {
    fd: Option<OwnedFd>,
    buf: Vec<u8>,
}

#[cfg(target_os = "linux")]
const DIR_EVENTS: u32 = libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF
    | libc::IN_ONLYDIR;

impl Watcher {
    /// A watcher; without inotify, one that watches nothing.
    pub fn new() -> Watcher {
        Watcher {
            fd: init(),
            buf: Vec::new(),
        }
    }

    /// Whether notifications work at all.
    pub fn active(&self) -> bool {
        self.fd.is_some()
    }

    /// Watches directory `dir`; `None` when it cannot be watched (the
    /// caller then polls what is in it). Watching the same directory twice
    /// gives the same descriptor.
    #[cfg(target_os = "linux")]
    pub fn watch_dir(&mut self, dir: &Path) -> Option<Wd> {
        let fd = self.fd.as_ref()?;
        let c = CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: a valid inotify descriptor and a NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), DIR_EVENTS) };
        if wd < 0 {
            let err = io::Error::last_os_error();
            tracing::debug!(dir = %dir.display(), error = %err, "follow: cannot watch, polling instead");
            return None;
        }
        Some(wd)
    }

    #[cfg(not(target_os = "linux"))]
    pub fn watch_dir(&mut self, _dir: &Path) -> Option<Wd> {
        None
    }

    /// Waits up to `timeout` for events and hands each to `on_event`.
    /// Returns whether any came. Without inotify it only sleeps.
    pub fn wait(&mut self, timeout: Duration, mut on_event: impl FnMut(Event<'_>)) -> bool {
        let Some(fd) = self.fd.as_ref() else {
            std::thread::sleep(timeout);
            return false;
        };
        let raw = fd.as_raw_fd();
        let mut pfd = libc::pollfd {
            fd: raw,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().clamp(0, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r <= 0 {
            return false;
        }
        self.read_events(&mut on_event)
    }

    #[cfg(target_os = "linux")]
    fn read_events(&mut self, on_event: &mut impl FnMut(Event<'_>)) -> bool {
        let Some(fd) = self.fd.as_ref() else {
            return false;
        };
        const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
        if self.buf.is_empty() {
            self.buf = vec![0u8; 64 * 1024];
        }
        let mut any = false;
        loop {
            // SAFETY: reading into our own buffer of that length.
            let n =
                unsafe { libc::read(fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), self.buf.len()) };
            if n <= 0 {
                // EAGAIN: all read (the descriptor is non-blocking).
                return any;
            }
            let data = &self.buf[..n as usize];
            let mut at = 0;
            while at + HEADER <= data.len() {
                // SAFETY: the kernel wrote whole events; read unaligned.
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(data[at..].as_ptr().cast()) };
                let name_start = at + HEADER;
                let name_end = (name_start + ev.len as usize).min(data.len());
                at = name_end;
                any = true;
                if ev.mask & libc::IN_Q_OVERFLOW != 0 {
                    on_event(Event::Overflow);
                } else if ev.mask & (libc::IN_IGNORED | libc::IN_DELETE_SELF | libc::IN_MOVE_SELF)
                    != 0
                {
                    on_event(Event::Gone { wd: ev.wd });
                } else {
                    let raw_name = &data[name_start..name_end];
                    let len = raw_name
                        .iter()
                        .position(|&b| b == 0)
                        .unwrap_or(raw_name.len());
                    on_event(Event::Entry {
                        wd: ev.wd,
                        name: OsStr::from_bytes(&raw_name[..len]),
                    });
                }
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn read_events(&mut self, _on_event: &mut impl FnMut(Event<'_>)) -> bool {
        false
    }
}

impl Default for Watcher {
    fn default() -> Self {
        Watcher::new()
    }
}

#[cfg(target_os = "linux")]
fn init() -> Option<OwnedFd> {
    // SAFETY: no arguments beyond flags.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if fd < 0 {
        let err = io::Error::last_os_error();
        tracing::debug!(error = %err, "follow: no inotify, polling instead");
        return None;
    }
    // SAFETY: a descriptor we just opened and own.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(not(target_os = "linux"))]
fn init() -> Option<OwnedFd> {
    None
}

/// The directory to watch for `path`, and the entry name events use.
pub fn dir_and_name(path: &Path) -> Option<(&Path, &OsStr)> {
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some((dir, name))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn reports_writes_creates_and_renames_in_a_watched_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Watcher::new();
        assert!(w.active());
        let wd = w.watch_dir(dir.path()).unwrap();
        assert_eq!(w.watch_dir(dir.path()), Some(wd));
        std::fs::write(dir.path().join("a.log"), b"x\n").unwrap();
        std::fs::rename(dir.path().join("a.log"), dir.path().join("b.log")).unwrap();
        let mut names = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while names.len() < 3 && Instant::now() < deadline {
            w.wait(Duration::from_millis(100), |e| {
                if let Event::Entry { wd: got, name } = e {
                    assert_eq!(got, wd);
                    names.push(name.to_string_lossy().into_owned());
                }
            });
        }
        assert!(names.iter().any(|n| n == "a.log"), "{names:?}");
        assert!(names.iter().any(|n| n == "b.log"), "{names:?}");
        // Nothing more: the wait times out.
        let t = Instant::now();
        assert!(!w.wait(Duration::from_millis(50), |_| {}));
        assert!(t.elapsed() >= Duration::from_millis(40));
        assert!(w.watch_dir(&dir.path().join("missing")).is_none());
    }

    #[test]
    fn dir_and_name_of_relative_paths() {
        assert_eq!(
            dir_and_name(Path::new("app.log")),
            Some((Path::new("."), OsStr::new("app.log")))
        );
        assert_eq!(
            dir_and_name(Path::new("/var/log/app.log")),
            Some((Path::new("/var/log"), OsStr::new("app.log")))
        );
    }
}
