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
                    if end > self.max_line {
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
            if n > self.max_line && self.record_start.is_some() {
                // One record longer than the limit: split it at a line end
                // (the rest reads as records of their own).
                if let Some(p) = memchr::memrchr(b'\n', &buf[..n]) {
                    self.carry.extend_from_slice(&buf[p + 1..n]);
                    self.handed += p as u64 + 1;
                    return Ok(Some((ChunkKind::Lines, p + 1)));
                }
            }
            if n > self.max_line {
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
        c.chunk_size = 16;
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some((kind, len)) = c.next_chunk(&mut buf).unwrap() {
            assert_eq!(kind, ChunkKind::Lines);
            out.extend(records(&buf[..len], Some(&DIGIT)).map(<[u8]>::to_vec));
        }
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
        // A record over the limit is split at a line end, nothing lost.
        let got = multiline_records(b"1 x\n  aaaaaaaaaa\n  bbbbbbbbbb\n  c\n2 y\n", 20, true);
        let joined = got.join(&b"\n"[..]);
        assert_eq!(joined, b"1 x\n  aaaaaaaaaa\n  bbbbbbbbbb\n  c\n2 y");
        assert!(got.len() > 2);
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
