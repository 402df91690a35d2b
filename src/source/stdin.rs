//! Standard input, read on a thread of its own, so that a source waiting
//! for a live pipe can be told to stop: a blocking read of stdin cannot be
//! interrupted, and a `filter` whose output pipe closed (`| head -1`)
//! must end then, not when the writer of its input does.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};

/// Bytes one read of stdin may return.
const BLOCK: usize = 256 * 1024;
/// How often a waiting reader looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// A `Read` over stdin that returns end of input once `stop` is set.
pub struct StdinPump {
    blocks: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
    stop: Arc<AtomicBool>,
}

impl StdinPump {
    /// Starts the thread that reads stdin. It ends at end of input, on an
    /// error, or when this reader is dropped; a thread still blocked in a
    /// read when the process exits is ended with it.
    pub fn new(stop: Arc<AtomicBool>) -> StdinPump {
        let (tx, blocks) = bounded::<io::Result<Vec<u8>>>(2);
        std::thread::spawn(move || {
            let mut stdin = io::stdin().lock();
            loop {
                let mut buf = vec![0u8; BLOCK];
                let sent = match stdin.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        tx.send(Ok(buf))
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        StdinPump {
            blocks,
            current: Vec::new(),
            pos: 0,
            stop,
        }
    }
}

impl Read for StdinPump {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            match self.blocks.recv_timeout(STOP_CHECK) {
                Ok(Ok(block)) => {
                    self.current = block;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
