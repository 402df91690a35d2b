//! Standard input that a waiting reader can be told to stop reading: a
//! blocking read of a live pipe cannot be interrupted, and a `filter` whose
//! output pipe closed (`| head -1`) must end then, not when the writer of
//! its input does. The reader waits with `poll(2)` in short slices and
//! looks at the stop flag between them; data is read straight into the
//! caller's buffer, so a fast pipe costs one extra system call per read.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How long one wait for data lasts before the stop flag is looked at.
const STOP_CHECK_MS: libc::c_int = 50;

/// A `Read` over stdin that returns end of input once `stop` is set.
pub struct StoppableStdin {
    stdin: io::Stdin,
    stop: Arc<AtomicBool>,
}

impl StoppableStdin {
    pub fn new(stop: Arc<AtomicBool>) -> StoppableStdin {
        StoppableStdin {
            stdin: io::stdin(),
            stop,
        }
    }

    /// Waits until stdin has data (or end of input, or an error, which the
    /// read then reports); `false` when told to stop first.
    fn wait_readable(&self) -> io::Result<bool> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let mut fd = libc::pollfd {
                fd: libc::STDIN_FILENO,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, for the duration of the call.
            let n = unsafe { libc::poll(&mut fd, 1, STOP_CHECK_MS) };
            if n > 0 {
                return Ok(true);
            }
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

impl Read for StoppableStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || !self.wait_readable()? {
            return Ok(0);
        }
        self.stdin.read(buf)
    }
}
