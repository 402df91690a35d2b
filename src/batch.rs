//! Batches: the unit of work between a source and the engine.
//!
//! A [`BatchSource`] hands out chunks of whole lines ([`Batch`]), each
//! tagged with the input it came from and, where the source can say, the
//! position in that input just past the batch. The engine runs workers over
//! batches and reports back, in input order, when each batch has been
//! handled ([`Handled`]): what a checkpoint needs, since every line before
//! that position has then been dealt with.
//!
//! An input is known by its [`InputId`], a fingerprint of its first
//! decompressed bytes, not by its path: a renamed file, or one compressed
//! later by a log rotator, is still the same input. The path is only for
//! messages and the `filename` label.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::decode::Format;
use crate::framing::ChunkKind;
use crate::record::Labels;
use crate::source::InputError;

/// How many leading bytes of an input its fingerprint covers.
pub const FINGERPRINT_BYTES: usize = 1024;

/// An input's identity: a hash of its first decompressed bytes (at most
/// [`FINGERPRINT_BYTES`]) and how many bytes it covers. An input shorter
/// than that is still growing into its identity: a consumer that keeps
/// checkpoints can compare `covered` to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct InputId {
    pub hash: u64,
    pub covered: u32,
}

impl InputId {
    /// The fingerprint of an input that starts with `head`. FNV-1a (64 bit):
    /// fixed and simple, so a fingerprint written today means the same in
    /// any later version (std's hasher makes no such promise).
    pub fn of(head: &[u8]) -> InputId {
        let head = &head[..head.len().min(FINGERPRINT_BYTES)];
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in head {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        InputId {
            hash: h,
            covered: head.len() as u32,
        }
    }
}

impl std::fmt::Display for InputId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}/{}", self.hash, self.covered)
    }
}

/// A place in an input: its identity and a byte offset into its
/// decompressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub input: InputId,
    pub offset: u64,
}

/// What the pipeline needs to know about the input a line came from.
#[derive(Debug)]
pub struct InputInfo {
    /// Unique among the inputs of this process: an executor caches
    /// per-input decisions (is this stream selected?) by it.
    pub serial: u64,
    pub id: InputId,
    /// For messages and the `filename` label.
    pub name: String,
    pub labels: Labels,
    pub format: Format,
}

impl InputInfo {
    pub fn new(id: InputId, name: String, labels: Labels, format: Format) -> InputInfo {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        InputInfo {
            serial: NEXT.fetch_add(1, Ordering::Relaxed),
            id,
            name,
            labels,
            format,
        }
    }
}

/// A chunk of whole lines (or one cut line) from one input.
pub struct Batch {
    pub input: Arc<InputInfo>,
    /// The lines are `data[..len]`: buffers are recycled at full size.
    pub data: Vec<u8>,
    pub len: usize,
    pub kind: ChunkKind,
    /// When the batch was read: the time of lines that have none of their
    /// own.
    pub arrival_ns: i64,
    /// The position just past the batch's last byte, when the source can
    /// map what it hands out back to the input's bytes (not for inputs
    /// rewritten before framing, such as joined CRI partial lines, nor for
    /// a line cut at the limit, whose rest is skipped after it).
    pub end: Option<Position>,
}

impl Batch {
    pub fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

/// What a source has next.
pub enum Next {
    Batch(Batch),
    /// One input could not be read (named); the source goes on with its
    /// other inputs on the next call.
    Failed(InputError),
    /// Nothing more.
    End,
}

/// Where the engine's batches come from. A source reads its inputs one
/// after another (or, following files, together); the engine reads
/// several sources at once, a thread each.
pub trait BatchSource: Send {
    /// The next batch, read into `buf` (a recycled buffer, possibly empty).
    fn next_batch(&mut self, buf: Vec<u8>) -> Next;

    /// A flag the source watches while it waits for data (a live pipe, a
    /// followed file): once set, `next_batch` soon returns `End`. The
    /// engine sets it when the consumer stops, so no reader is left
    /// waiting for input nobody wants.
    fn stop_signal(&self) -> Option<Arc<AtomicBool>> {
        None
    }
}

/// The engine's report that a batch has been handled: its output was
/// consumed. Reports come in the order the batches were read.
#[derive(Debug, Clone)]
pub struct Handled {
    pub input: Arc<InputInfo>,
    pub end: Option<Position>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_leading_bytes_only() {
        let a = InputId::of(&[b'x'; 5000]);
        let mut longer = vec![b'x'; 5000];
        longer.extend_from_slice(b"tail");
        assert_eq!(a, InputId::of(&longer));
        assert_eq!(a.covered as usize, FINGERPRINT_BYTES);
        assert_ne!(InputId::of(b"one\n"), InputId::of(b"two\n"));
        assert_eq!(InputId::of(b"ab").covered, 2);
        // FNV-1a's published test vector: the value must never change,
        // since checkpoints store it.
        assert_eq!(InputId::of(b"a").hash, 0xaf63_dc4c_8601_ec8c);
    }
}
