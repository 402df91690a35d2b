//! Framing: from a byte stream to chunks of whole lines.
//!
//! A [`Chunker`] reads large blocks and hands out chunks that end on a line
//! boundary, so workers can process chunks in parallel and nothing ever
//! splits a line. Lines end in LF (a CR before it is dropped by
//! [`lines`]). A line longer than the limit is cut at the limit and flagged;
//! the rest of it is skipped, so memory stays bounded whatever the input.
//! Invalid UTF-8 is carried as bytes: framing never looks inside a line.

use std::io::{self, Read};

pub mod bodies;
pub mod multiline;

pub use multiline::{records, RecordStart};

/// Default maximum line length (1 MiB).
pub const DEFAULT_MAX_LINE: usize = 1 << 20;
/// Target size of a chunk handed to a worker: big enough that per-chunk
/// costs vanish, small enough that the chunks in flight (and their output,
/// up to 3× larger for JSON Lines) stay well inside the memory budget.
pub const CHUNK_SIZE: usize = 256 << 10;

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// Whole lines, each ending in `\n`.
    Lines,
    /// One line cut at the limit (no `\n`); its remainder was skipped.
    Truncated,
}

/// Splits a byte stream into chunks of whole lines.
///
/// Data is read straight into the caller's (recycled) chunk buffer; only the
/// partial line at the end of a read is copied, to the front of the next
/// chunk. Buffers keep their length between uses, so the steady state
/// neither allocates nor zero-fills.
pub struct Chunker<R> {
    reader: R,
    /// The partial line left over after the last chunk.
    carry: Vec<u8>,
    chunk_size: usize,
    max_line: usize,
    /// Keep reading until the buffer is full (files), or hand out what one
    /// read returned (pipes, followed files: lower latency).
    fill: bool,
    eof: bool,
    skipping: bool,
    /// Bytes handed out so far (offset of the next line in the stream).
    handed: u64,
    /// A read error held back until the data before it was handed out.
    pending_error: Option<io::Error>,
    /// For multi-line formats: chunks end where a record starts.
    record_start: Option<&'static RecordStart>,
    /// A record over the limit whose reader had nothing more yet: what was
    /// read of it (head and partial line) and where the cut stands.
    cutting: Option<(Vec<u8>, LongRecord)>,
}

impl<R: Read> Chunker<R> {
    pub fn new(reader: R, max_line: usize, fill: bool) -> Self {
        Chunker {
            reader,
            carry: Vec::new(),
            chunk_size: CHUNK_SIZE,
            max_line,
            fill,
            eof: false,
            skipping: false,
            handed: 0,
            pending_error: None,
            record_start: None,
            cutting: None,
        }
    }

    /// Ends chunks only where a record starts (multi-line formats), so no
    /// record is split between chunks. A record longer than the line limit
    /// is split at a line end.
    pub fn with_record_start(mut self, start: Option<&'static RecordStart>) -> Self {
        self.record_start = start;
        self
    }

    /// Offset in the stream of the next byte to be handed out.
    pub fn offset(&self) -> u64 {
        self.handed
    }

    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// One read into `buf[at..]`; returns the byte count (0 at EOF).
    fn read_once(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.reader.read(buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Discards input up to and including the next newline; what follows
    /// it becomes the carry.
    fn skip_rest_of_line(&mut self, buf: &mut [u8]) -> io::Result<()> {
        while self.skipping && !self.eof {
            let k = self.read_once(buf)?;
            if let Some(p) = memchr::memchr(b'\n', &buf[..k]) {
                self.carry.extend_from_slice(&buf[p + 1..k]);
                self.skipping = false;
                self.handed += p as u64 + 1;
            } else {
                // Skipped bytes count, so later offsets stay true.
                self.handed += k as u64;
            }
        }
        self.skipping = false;
        Ok(())
    }

    /// Fills `buf` with the next chunk and returns its kind and length
    /// (`buf[..len]`); `None` at end of stream. A chunk of lines ends in
    /// `\n`. On a read error, the bytes already read (even a partial last
    /// line) are handed out first and the error is returned by the next
    /// call. A reader that has nothing yet (`WouldBlock`, a followed file
    /// read without blocking) ends the chunk at the last whole line, or,
    /// with none, returns `WouldBlock` and keeps what it read for the next
    /// call.
    pub fn next_chunk(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<(ChunkKind, usize)>> {
        if let (Some((data, cut)), Some(rule)) = (self.cutting.take(), self.record_start) {
            if buf.len() < data.len() + self.chunk_size {
                buf.resize(data.len() + self.chunk_size, 0);
            }
            buf[..data.len()].copy_from_slice(&data);
            let len = self.go_on_cutting(buf, data.len(), cut, rule)?;
            return Ok(Some((ChunkKind::Truncated, len)));
        }
        if self.carry.is_empty() {
            if let Some(e) = self.pending_error.take() {
                return Err(e);
            }
        }
        if buf.len() < self.chunk_size {
            buf.resize(self.chunk_size, 0);
        }
        if self.skipping {
            self.skip_rest_of_line(buf)?;
        }
        if self.carry.len() >= buf.len() {
            buf.resize(self.carry.len() + self.chunk_size, 0);
        }
        let mut n = self.carry.len();
        buf[..n].copy_from_slice(&self.carry);
        self.carry.clear();
        // Where the newline search resumes (bytes before have none).
        let mut scanned = 0;
        // Lines that start before this were checked for a record start.
        let mut checked = 0;
        loop {
            // Read: fill the buffer (files) or take one read (streams).
            let mut read_error = None;
            let mut would_block = false;
            while !self.eof && n < buf.len() {
                match self.read_once(&mut buf[n..]) {
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        would_block = true;
                        break;
                    }
                    Err(e) => {
                        read_error = Some(e);
                        break;
                    }
                }
                if !self.fill && memchr::memchr(b'\n', &buf[scanned..n]).is_some() {
                    break;
                }
            }
            if let Some(e) = read_error {
                self.eof = true;
                if n == 0 {
                    return Err(e);
                }
                self.pending_error = Some(e);
            }
            if let Some(p) = memchr::memrchr(b'\n', &buf[scanned..n]) {
                let end = scanned + p + 1;
                let cut = match self.record_start {
                    None => Some(end),
                    Some(rule) => {
                        let at = multiline::last_record_start(buf, checked, end, rule);
                        checked = end;
                        at
                    }
                };
                if let Some(end) = cut {
                    // A buffer grown for an earlier long line can hold a
                    // whole line over the limit: it is cut all the same,
                    // so the answer never depends on buffer history.
                    if let (true, Some(rule)) = (end > self.max_line, self.record_start) {
                        // A record over the limit: one record, cut once.
                        if let Some((s, e)) =
                            first_overlong_record(&buf[..end], self.max_line, rule)
                        {
                            if s > 0 {
                                self.carry.extend_from_slice(&buf[s..n]);
                                self.handed += s as u64;
                                return Ok(Some((ChunkKind::Lines, s)));
                            }
                            self.carry.extend_from_slice(&buf[e..n]);
                            self.handed += e as u64;
                            let len = cut_record(buf, e - 1, self.max_line);
                            return Ok(Some((ChunkKind::Truncated, len)));
                        }
                    } else if end > self.max_line {
                        if let Some((s, e)) = first_overlong_line(&buf[..end], self.max_line) {
                            if s > 0 {
                                self.carry.extend_from_slice(&buf[s..n]);
                                self.handed += s as u64;
                                return Ok(Some((ChunkKind::Lines, s)));
                            }
                            self.carry.extend_from_slice(&buf[e..n]);
                            self.handed += e as u64;
                            return Ok(Some((ChunkKind::Truncated, self.max_line)));
                        }
                    }
                    self.carry.extend_from_slice(&buf[end..n]);
                    self.handed += end as u64;
                    return Ok(Some((ChunkKind::Lines, end)));
                }
            }
            scanned = n;
            if let (true, Some(rule)) = (n > self.max_line, self.record_start) {
                // No record starts after the first in the complete lines:
                // a record over the limit stays one record, truncated once
                // (its head and its last line). The partial line may start
                // the next record: then the record before it may fit.
                let complete = memchr::memrchr(b'\n', &buf[..n]).map_or(0, |p| p + 1);
                let partial_starts = complete > 0 && rule.is_start(&buf[complete..n]);
                if complete > 0 && complete - 1 > self.max_line {
                    let len = self.cut_long_record(buf, n, rule)?;
                    return Ok(Some((ChunkKind::Truncated, len)));
                }
                if n - complete > self.max_line || self.eof {
                    if partial_starts {
                        self.carry.extend_from_slice(&buf[complete..n]);
                        self.handed += complete as u64;
                        return Ok(Some((ChunkKind::Lines, complete)));
                    }
                    if self.eof {
                        self.handed += n as u64;
                        let len = cut_record(buf, n, self.max_line);
                        return Ok(Some((ChunkKind::Truncated, len)));
                    }
                    let len = self.cut_long_record(buf, n, rule)?;
                    return Ok(Some((ChunkKind::Truncated, len)));
                }
                // The partial line decides: read on.
            } else if n > self.max_line {
                self.handed += n as u64;
                self.skipping = !self.eof;
                return Ok(Some((ChunkKind::Truncated, self.max_line)));
            }
            if self.eof {
                if n == 0 {
                    return Ok(None);
                }
                if buf[n - 1] == b'\n' {
                    // Only multi-line: the last record ends the input.
                    self.handed += n as u64;
                    return Ok(Some((ChunkKind::Lines, n)));
                }
                if n == buf.len() {
                    buf.push(b'\n');
                } else {
                    buf[n] = b'\n';
                }
                self.handed += n as u64;
                return Ok(Some((ChunkKind::Lines, n + 1)));
            }
            if would_block {
                // Nothing more for now: keep the partial line for later.
                self.carry.extend_from_slice(&buf[..n]);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            if n == buf.len() {
                // One line longer than the buffer: grow, up to the limit.
                let grow = buf.len().min(self.max_line + 1);
                buf.resize(buf.len() + grow, 0);
            }
        }
    }
}

impl<R: Read> Chunker<R> {
    /// A multi-line record longer than the limit (it starts at `buf[0]`, no
    /// other record starts in `buf[..n]`): keeps its first lines, up to the
    /// limit less room for the last line, and its last line (where a Python
    /// traceback names the exception), cut to that room; skips the lines
    /// between, up to where the next record starts (that becomes the
    /// carry). Returns the length of the kept record in `buf`; the same
    /// bytes as [`cut_record`] gives for the whole record.
    fn cut_long_record(
        &mut self,
        buf: &mut Vec<u8>,
        n: usize,
        rule: &RecordStart,
    ) -> io::Result<usize> {
        let room = last_line_room(self.max_line);
        let head_max = self.max_line - room;
        // The head: whole lines up to the limit less the room, or (a first
        // line longer than that) the start of the first line.
        let (head_end, in_long_line) = match memchr::memrchr(b'\n', &buf[..head_max]) {
            Some(p) => (p + 1, false),
            None => (first_line_head(head_max, room), true),
        };
        let cut = LongRecord {
            head_end,
            last: Vec::new(),
            skipped: 0,
            in_long_line,
        };
        self.go_on_cutting(buf, n, cut, rule)
    }

    /// Reads a cut record on to its end: `buf[..cut.head_end]` is its head,
    /// `buf[cut.head_end..n]` what follows, not looked at yet.
    fn go_on_cutting(
        &mut self,
        buf: &mut Vec<u8>,
        mut n: usize,
        mut cut: LongRecord,
        rule: &RecordStart,
    ) -> io::Result<usize> {
        let room = last_line_room(self.max_line);
        let head_end = cut.head_end;
        let mut pos = head_end;
        loop {
            if cut.in_long_line {
                match memchr::memchr(b'\n', &buf[pos..n]) {
                    Some(p) => {
                        cut.skipped += p as u64 + 1;
                        pos += p + 1;
                        cut.in_long_line = false;
                    }
                    None => {
                        cut.skipped += (n - pos) as u64;
                        pos = n;
                    }
                }
            }
            while let Some(p) = memchr::memchr(b'\n', &buf[pos..n]).filter(|_| !cut.in_long_line) {
                let line = &buf[pos..pos + p];
                if rule.is_start(line) {
                    // The next record: it is read as usual.
                    self.carry.extend_from_slice(&buf[pos..n]);
                    return Ok(self.keep_head_and_last(buf, &cut));
                }
                cut.last.clear();
                cut.last.extend_from_slice(&line[..line.len().min(room)]);
                cut.skipped += p as u64 + 1;
                pos += p + 1;
            }
            // Keep the partial line, right after the head.
            buf.copy_within(pos..n, head_end);
            n = head_end + (n - pos);
            pos = head_end;
            if n - head_end > self.max_line {
                if rule.is_start(&buf[head_end..n]) {
                    // The next record, with a first line over the limit:
                    // the line rule cuts it.
                    self.carry.extend_from_slice(&buf[head_end..n]);
                    return Ok(self.keep_head_and_last(buf, &cut));
                }
                // A continuation line over the limit: its start stands for
                // it.
                cut.last.clear();
                cut.last.extend_from_slice(&buf[head_end..head_end + room]);
                cut.skipped += (n - head_end) as u64;
                n = head_end;
                cut.in_long_line = true;
            }
            if self.eof {
                if n > head_end && !cut.in_long_line {
                    cut.last.clear();
                    cut.last
                        .extend_from_slice(&buf[head_end..n.min(head_end + room)]);
                    cut.skipped += (n - head_end) as u64;
                }
                return Ok(self.keep_head_and_last(buf, &cut));
            }
            if buf.len() - n < self.chunk_size {
                buf.resize(n + self.chunk_size, 0);
            }
            match self.read_once(&mut buf[n..]) {
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Nothing more for now (a followed file): the record
                    // goes on where it stopped on the next call.
                    self.cutting = Some((buf[..n].to_vec(), cut));
                    return Err(e);
                }
                Err(e) => {
                    // What was read is handed out first.
                    self.eof = true;
                    self.pending_error = Some(e);
                }
            }
        }
    }

    /// Writes the last line after the head and accounts for the record's
    /// bytes.
    fn keep_head_and_last(&mut self, buf: &mut Vec<u8>, cut: &LongRecord) -> usize {
        let (head_end, last) = (cut.head_end, &cut.last[..]);
        self.handed += head_end as u64 + cut.skipped;
        let whole_lines = buf[head_end - 1] == b'\n';
        if last.is_empty() {
            // The record's own final newline is not part of it.
            return head_end - usize::from(whole_lines);
        }
        let mut at = head_end;
        if buf.len() < at + 1 + last.len() {
            buf.resize(at + 1 + last.len(), 0);
        }
        if !whole_lines {
            buf[at] = b'\n';
            at += 1;
        }
        buf[at..at + last.len()].copy_from_slice(last);
        at + last.len()
    }
}

/// The head kept of a first line longer than `head_max`: one byte less
/// when a last line may follow it, for the newline put between them.
fn first_line_head(head_max: usize, room: usize) -> usize {
    if room > 0 {
        head_max - 1
    } else {
        head_max
    }
}

/// A record over the limit being read to its end (see
/// [`Chunker::cut_long_record`]).
struct LongRecord {
    /// Its head is `buf[..head_end]`.
    head_end: usize,
    /// Its last complete line so far, cut to the room.
    last: Vec<u8>,
    /// Stream bytes of the record past the head, all skipped.
    skipped: u64,
    /// Inside a continuation line too long to hold: skip to its end.
    in_long_line: bool,
}

/// Room kept for the last line of a record over the limit.
fn last_line_room(max_line: usize) -> usize {
    (max_line / 4).min(LAST_LINE_ROOM)
}

/// The first record of `chunk` (whole lines, records split by `rule`)
/// longer than `max_line` bytes without its final newline: its start and
/// the offset just past it (the next record's start).
fn first_overlong_record(
    chunk: &[u8],
    max_line: usize,
    rule: &RecordStart,
) -> Option<(usize, usize)> {
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', chunk) {
        let next = nl + 1;
        let ends_record = next == chunk.len() || {
            let rest = &chunk[next..];
            let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            rule.is_start(&rest[..len])
        };
        if ends_record {
            if nl - start > max_line {
                return Some((start, next));
            }
            start = next;
        }
    }
    None
}

/// Cuts the record `buf[..len]` (longer than `max_line`) in place, as the
/// chunker cuts one it cannot hold: its first lines up to the limit less
/// the room for the last line (or the start of its first line, if that is
/// longer), then its last line cut to the room. Returns the new length.
pub fn cut_record(buf: &mut [u8], len: usize, max_line: usize) -> usize {
    let room = last_line_room(max_line);
    let head_max = (max_line - room).min(len);
    let (head_end, whole_lines) = match memchr::memrchr(b'\n', &buf[..head_max]) {
        Some(p) => (p + 1, true),
        None => (first_line_head(head_max, room), false),
    };
    let last_start = match memchr::memrchr(b'\n', &buf[head_end..len]) {
        Some(p) => head_end + p + 1,
        // The last line starts right after the head.
        None if whole_lines => head_end,
        None => len,
    };
    let keep = (len - last_start).min(room);
    if keep == 0 {
        // Nothing of a last line: the head, without its newline.
        return head_end - usize::from(whole_lines);
    }
    let mut at = head_end;
    if !whole_lines {
        buf[at] = b'\n';
        at += 1;
    }
    buf.copy_within(last_start..last_start + keep, at);
    at + keep
}

/// Room kept for the last line of a multi-line record over the limit (at
/// most a quarter of the limit).
const LAST_LINE_ROOM: usize = 64 << 10;

/// The first line of `chunk` (whole lines) longer than `max_line` bytes
/// without its newline: its start and the offset just past its newline.
fn first_overlong_line(chunk: &[u8], max_line: usize) -> Option<(usize, usize)> {
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', chunk) {
        if nl - start > max_line {
            return Some((start, nl + 1));
        }
        start = nl + 1;
    }
    None
}

/// Bytes a rewriting reader (CRI joiner, body splitter) has produced and
/// not yet handed out: copies as much as fits into `buf`; `None` (and the
/// buffer emptied for reuse) once everything has been handed out.
pub fn drain_output(output: &mut Vec<u8>, pos: &mut usize, buf: &mut [u8]) -> Option<usize> {
    if *pos < output.len() {
        let n = buf.len().min(output.len() - *pos);
        buf[..n].copy_from_slice(&output[*pos..*pos + n]);
        *pos += n;
        return Some(n);
    }
    output.clear();
    *pos = 0;
    None
}

/// Iterates the lines of a chunk without their terminators (`\n`, `\r\n`).
pub fn lines(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let mut rest = Some(body);
    std::iter::from_fn(move || {
        let r = rest?;
        let line = match memchr::memchr(b'\n', r) {
            Some(p) => {
                rest = Some(&r[p + 1..]);
                &r[..p]
            }
            None => {
                rest = None;
                r
            }
        };
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// Joins pretty-printed JSON objects (`flyctl logs --json`) into one line
/// each, by turning newlines inside an object into spaces. One byte in, one
/// byte out, so offsets are unchanged.
pub struct JsonJoiner<R> {
    inner: R,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl<R> JsonJoiner<R> {
    pub fn new(inner: R) -> Self {
        JsonJoiner {
            inner,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }

    fn transform(&mut self, buf: &mut [u8]) {
        for c in buf {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if *c == b'\\' {
                    self.escaped = true;
                } else if *c == b'"' {
                    self.in_string = false;
                } else if *c == b'\n' {
                    // A raw newline cannot be inside a valid JSON string:
                    // the object is broken; end it here so later lines are
                    // not swallowed.
                    self.in_string = false;
                    self.depth = 0;
                }
                continue;
            }
            match *c {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                b'\n' | b'\r' if self.depth > 0 => *c = b' ',
                _ => {}
            }
        }
    }
}

impl JsonJoiner<&[u8]> {
    /// Joins a whole buffer (used on detection samples).
    pub fn join_all(sample: &[u8]) -> Vec<u8> {
        let mut v = sample.to_vec();
        JsonJoiner::new(&b""[..]).transform(&mut v);
        v
    }
}

impl<R: Read> Read for JsonJoiner<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.transform(&mut buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A followed file read without blocking: pieces, with `WouldBlock`
    /// between them, then the end.
    struct Pieces(std::collections::VecDeque<Option<&'static [u8]>>);

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                None => Ok(0),
                Some(None) => Err(io::ErrorKind::WouldBlock.into()),
                Some(Some(p)) => {
                    buf[..p.len()].copy_from_slice(p);
                    Ok(p.len())
                }
            }
        }
    }

    /// Nothing more for now ends a chunk at its last whole line, or keeps
    /// a partial line for the next call; offsets stay those of the stream.
    #[test]
    fn would_block_keeps_the_partial_line_for_later() {
        let pieces = [
            Some(&b"one\ntw"[..]),
            None,
            Some(b"o"),
            None,
            Some(b"\nthree"),
            None,
        ];
        let mut c = Chunker::new(Pieces(pieces.into_iter().collect()), 1 << 20, false);
        let mut buf = Vec::new();
        let mut next = |c: &mut Chunker<Pieces>| match c.next_chunk(&mut buf) {
            Ok(Some((_, len))) => Ok(String::from_utf8(buf[..len].to_vec()).unwrap()),
            Ok(None) => Ok("<end>".into()),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(next(&mut c), Ok("one\n".into()));
        assert_eq!(c.offset(), 4);
        assert_eq!(next(&mut c), Err(io::ErrorKind::WouldBlock));
        assert_eq!(next(&mut c), Err(io::ErrorKind::WouldBlock));
        assert_eq!(next(&mut c), Ok("two\n".into()));
        assert_eq!(next(&mut c), Err(io::ErrorKind::WouldBlock));
        assert_eq!(c.offset(), 8);
        assert_eq!(next(&mut c), Ok("three\n".into()));
        assert_eq!(next(&mut c), Ok("<end>".into()));
    }

    /// A record over the limit whose reader has nothing more for a while
    /// (a followed file) is cut as when it all came at once.
    #[test]
    fn would_block_inside_a_cut_record() {
        let whole: &[u8] = b"1 a\n bbbbbb\n cccccc\n dd\n Err: x\n2 y\n";
        let pieces = [
            Some(&b"1 a\n bbbbbb\n cccc"[..]),
            None,
            Some(b"cc\n dd\n"),
            None,
            None,
            Some(b" Err: x\n"),
            None,
            Some(b"2 y\n"),
        ];
        let mut c = Chunker::new(Pieces(pieces.into_iter().collect()), 16, false)
            .with_record_start(Some(&DIGIT));
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            match c.next_chunk(&mut buf) {
                Ok(Some((ChunkKind::Truncated, len))) => got.push(buf[..len].to_vec()),
                Ok(Some((ChunkKind::Lines, len))) => {
                    got.extend(records(&buf[..len], Some(&DIGIT)).map(<[u8]>::to_vec))
                }
                Ok(None) => break,
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            }
        }
        assert_eq!(got, multiline_records(whole, 16, false));
        assert_eq!(got, vec![b"1 a\n bbbbbb\n Err".to_vec(), b"2 y".to_vec()]);
        assert_eq!(c.offset(), whole.len() as u64);
    }

    fn chunks(input: &[u8], max_line: usize, fill: bool) -> Vec<(ChunkKind, Vec<u8>)> {
        let mut c = Chunker::new(input, max_line, fill);
        let mut v = Vec::new();
        let mut buf = Vec::new();
        loop {
            match c.next_chunk(&mut buf).unwrap() {
                Some((k, len)) => v.push((k, buf[..len].to_vec())),
                None => return v,
            }
        }
    }

    #[test]
    fn whole_lines_and_final_partial_line() {
        let got = chunks(b"a\nbb\r\nccc", 100, true);
        let all: Vec<u8> = got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(all, b"a\nbb\r\nccc\n");
        let ls: Vec<&[u8]> = lines(&all).collect();
        assert_eq!(ls, vec![&b"a"[..], b"bb", b"ccc"]);
    }

    #[test]
    fn empty_lines_are_lines() {
        let ls: Vec<&[u8]> = lines(b"\n\nx\n").collect();
        assert_eq!(ls, vec![&b""[..], b"", b"x"]);
    }

    #[test]
    fn long_line_is_truncated_and_rest_skipped() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * CHUNK_SIZE));
        input.extend_from_slice(b"\nafter\n");
        let got = chunks(&input, 1000, true);
        let kinds: Vec<ChunkKind> = got.iter().map(|(k, _)| *k).collect();
        assert!(kinds.contains(&ChunkKind::Truncated));
        let trunc = got
            .iter()
            .find(|(k, _)| *k == ChunkKind::Truncated)
            .unwrap();
        assert_eq!(trunc.1.len(), 1000);
        let text: Vec<u8> = got
            .iter()
            .filter(|(k, _)| *k == ChunkKind::Lines)
            .flat_map(|(_, b)| b.clone())
            .collect();
        assert_eq!(text, b"short\nafter\n");
    }

    /// A buffer grown by one long line must not let a later long line
    /// through whole, and offsets count the skipped bytes: both used to
    /// depend on which recycled buffer a chunk got.
    #[test]
    fn long_lines_are_cut_whatever_the_buffer_and_offsets_stay_true() {
        let long = |c: u8, n: usize| {
            let mut v = vec![c; n];
            v.push(b'\n');
            v
        };
        let max = 1000;
        let mut input = long(b'a', 5000);
        input.extend(long(b'b', 10));
        input.extend(long(b'c', 1500));
        input.extend(long(b'd', 10));
        let mut c = Chunker::new(&input[..], max, true);
        let mut buf = vec![0; 64 * 1024]; // bigger than every line
        let mut got = Vec::new();
        loop {
            let at = c.offset();
            match c.next_chunk(&mut buf).unwrap() {
                Some((k, len)) => {
                    for l in lines(&buf[..len]) {
                        got.push((k, at, l.len(), l[0]));
                        if k == ChunkKind::Truncated {
                            break;
                        }
                    }
                }
                None => break,
            }
        }
        assert_eq!(
            got,
            [
                (ChunkKind::Truncated, 0, max, b'a'),
                (ChunkKind::Lines, 5001, 10, b'b'),
                (ChunkKind::Truncated, 5012, max, b'c'),
                (ChunkKind::Lines, 6513, 10, b'd'),
            ]
        );
        assert_eq!(c.offset(), input.len() as u64);
        // The skipping path (a small buffer) counts skipped bytes too.
        let mut c = Chunker::new(&input[..], max, true);
        let mut buf = Vec::new();
        let mut starts = Vec::new();
        loop {
            let at = c.offset();
            match c.next_chunk(&mut buf).unwrap() {
                Some((ChunkKind::Truncated, _)) => starts.push(at),
                Some(_) => {}
                None => break,
            }
        }
        assert_eq!(starts, [0, 5012]);
        assert_eq!(c.offset(), input.len() as u64);
    }

    #[test]
    fn read_error_hands_out_partial_data_then_errors() {
        struct Failing(Vec<u8>, bool);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if !self.1 {
                    self.1 = true;
                    buf[..self.0.len()].copy_from_slice(&self.0);
                    return Ok(self.0.len());
                }
                Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt"))
            }
        }
        let mut c = Chunker::new(Failing(b"a\nb".to_vec(), false), 100, true);
        let mut out = Vec::new();
        let (kind, len) = c.next_chunk(&mut out).unwrap().unwrap();
        assert_eq!(kind, ChunkKind::Lines);
        assert_eq!(&out[..len], b"a\n");
        let (_, len) = c.next_chunk(&mut out).unwrap().unwrap();
        assert_eq!(&out[..len], b"b\n");
        assert!(c.next_chunk(&mut out).is_err());
    }

    fn starts_with_digit(l: &[u8]) -> bool {
        l.first().is_some_and(u8::is_ascii_digit)
    }

    static DIGIT: RecordStart = RecordStart::Fn(starts_with_digit);

    /// Records of `input` chunked with tiny reads and buffers.
    fn multiline_records(input: &[u8], max_line: usize, fill: bool) -> Vec<Vec<u8>> {
        let small = multiline_records_in(input, max_line, fill, 16);
        // With a buffer that holds the whole input, records over the limit
        // are cut in the buffer: the same bytes.
        let big = multiline_records_in(input, max_line, fill, 1 << 16);
        assert_eq!(small, big, "streaming and in-buffer cuts differ");
        small
    }

    fn multiline_records_in(
        input: &[u8],
        max_line: usize,
        fill: bool,
        chunk_size: usize,
    ) -> Vec<Vec<u8>> {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let k = self.0.len().min(buf.len()).min(7);
                buf[..k].copy_from_slice(&self.0[..k]);
                self.0 = &self.0[k..];
                Ok(k)
            }
        }
        let mut c = Chunker::new(Trickle(input), max_line, fill).with_record_start(Some(&DIGIT));
        c.chunk_size = chunk_size;
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut handed = 0;
        while let Some((kind, len)) = c.next_chunk(&mut buf).unwrap() {
            match kind {
                ChunkKind::Lines => {
                    out.extend(records(&buf[..len], Some(&DIGIT)).map(<[u8]>::to_vec))
                }
                // One record, cut: as the record path takes it.
                ChunkKind::Truncated => out.push(buf[..len].to_vec()),
            }
            assert!(c.offset() >= handed);
            handed = c.offset();
        }
        assert_eq!(c.offset(), input.len() as u64, "every byte accounted for");
        out
    }

    #[test]
    fn multiline_chunks_never_split_a_record() {
        let input = b"1 first\n  a\n  b\n  c\n2 second\n3 third\n  tail line\n  end";
        for fill in [true, false] {
            let got = multiline_records(input, 1000, fill);
            assert_eq!(
                got,
                vec![
                    b"1 first\n  a\n  b\n  c".to_vec(),
                    b"2 second".to_vec(),
                    b"3 third\n  tail line\n  end".to_vec()
                ],
                "fill={fill}"
            );
        }
    }

    /// Random inputs of short and long lines, record starts and not: the
    /// streaming and in-buffer cuts agree, every byte is accounted for, no
    /// record is longer than the limit and no record but the first lacks a
    /// start.
    #[test]
    fn multiline_cuts_agree_on_random_input() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for case in 0..300 {
            let mut input = Vec::new();
            for _ in 0..next(12) {
                let start = next(3) == 0;
                input.push(if start { b'1' } else { b' ' });
                let len = if next(6) == 0 { next(90) } else { next(8) };
                input.extend(std::iter::repeat_n(b'x', len as usize));
                if next(10) != 0 {
                    input.push(b'\n');
                }
            }
            for max_line in [8, 20, 40] {
                for fill in [true, false] {
                    let got = multiline_records(&input, max_line, fill);
                    for (i, r) in got.iter().enumerate() {
                        assert!(r.len() <= max_line, "case {case}: {r:?} over {max_line}");
                        if i > 0 {
                            assert!(starts_with_digit(r), "case {case}: {r:?}");
                        }
                    }
                }
            }
        }
    }

    /// A record over the limit stays one record, truncated once: its first
    /// lines (up to the limit less a quarter) and its last line (cut to that
    /// quarter); the next record is read as usual.
    #[test]
    fn multiline_record_over_the_limit_stays_one_record() {
        for fill in [true, false] {
            let got = multiline_records(
                b"1 x\n  aaaaaaaaaa\n  bbbbbbbbbb\n  Err: c\n2 y\n",
                20,
                fill,
            );
            assert_eq!(
                got,
                vec![b"1 x\n  Err".to_vec(), b"2 y".to_vec()],
                "fill={fill}"
            );
            // Head lines as many as fit; at the end of input without a newline.
            let got = multiline_records(b"1 ab\n2 cd\n ef\n gh\n ij\n kl\n mn\n E", 12, fill);
            assert_eq!(
                got,
                vec![b"1 ab".to_vec(), b"2 cd\n ef\n E".to_vec()],
                "fill={fill}"
            );
            // A continuation line over the limit is skipped whole.
            let long = format!("1 a\n {}\n Z\n2 b\n", "x".repeat(100));
            let got = multiline_records(long.as_bytes(), 40, fill);
            assert_eq!(
                got,
                vec![b"1 a\n Z".to_vec(), b"2 b".to_vec()],
                "fill={fill}"
            );
            // ... and is the last line when nothing follows it.
            let long = format!("1 a\n b\n {}\n2 c\n", "y".repeat(100));
            let got = multiline_records(long.as_bytes(), 40, fill);
            assert_eq!(
                got,
                vec![b"1 a\n b\n yyyyyyyyy".to_vec(), b"2 c".to_vec()],
                "fill={fill}"
            );
            // The next record's first line over the limit is cut on its own.
            let long = format!(
                "1 a\n b\n c\n d\n e\n f\n g\n h\n i\n j\n k\n l\n m\n2{}\n3 z\n",
                "q".repeat(100)
            );
            let got = multiline_records(long.as_bytes(), 40, fill);
            // (the record before it, 39 bytes, fits and is whole)
            assert_eq!(got[0], long.as_bytes()[..39].to_vec(), "fill={fill}");
            // A single-line record keeps the head: the limit less the room
            // and a byte for the newline a last line would take.
            assert_eq!(
                got[1],
                [b"2".as_slice(), &[b'q'; 28]].concat(),
                "fill={fill}"
            );
            assert_eq!(got[2], b"3 z".to_vec(), "fill={fill}");
        }
    }

    #[test]
    fn joiner_makes_one_line_per_object() {
        let pretty =
            b"{\n  \"a\": \"x{\\\"\",\n  \"b\": {\n    \"c\": 1\n  }\n}\n{\n  \"d\": 2\n}\n";
        let joined = JsonJoiner::join_all(pretty);
        let ls: Vec<&[u8]> = lines(&joined).collect();
        assert_eq!(ls.len(), 2);
        assert!(crate::decode::json::JsonScanner::validate(ls[0]).is_ok());
        assert!(crate::decode::json::JsonScanner::validate(ls[1]).is_ok());
    }
}
