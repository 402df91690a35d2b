//! Framing: from a byte stream to chunks of whole lines.
//!
//! A [`Chunker`] reads large blocks and hands out chunks that end on a line
//! boundary, so workers can process chunks in parallel and nothing ever
//! splits a line. Lines end in LF (a CR before it is dropped by
//! [`lines`]). A line longer than the limit is cut at the limit and flagged;
//! the rest of it is skipped, so memory stays bounded whatever the input.
//! Invalid UTF-8 is carried as bytes: framing never looks inside a line.

use std::io::{self, Read};

/// Default maximum line length (1 MiB).
pub const DEFAULT_MAX_LINE: usize = 1 << 20;
/// Target size of a chunk handed to a worker.
pub const CHUNK_SIZE: usize = 1 << 20;

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// Whole lines, each ending in `\n`.
    Lines,
    /// One line cut at the limit (no `\n`); its remainder was skipped.
    Truncated,
}

/// Splits a byte stream into chunks of whole lines.
pub struct Chunker<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max_line: usize,
    /// Keep reading until the buffer is full (files), or hand out what one
    /// read returned (pipes, followed files: lower latency).
    fill: bool,
    eof: bool,
    skipping: bool,
    /// Bytes consumed from the stream so far (for error messages).
    consumed: u64,
    /// A read error held back until the data before it was handed out.
    pending_error: Option<io::Error>,
}

impl<R: Read> Chunker<R> {
    pub fn new(reader: R, max_line: usize, fill: bool) -> Self {
        let cap = CHUNK_SIZE.max(max_line + 1);
        Chunker {
            reader,
            buf: vec![0; cap],
            start: 0,
            end: 0,
            max_line,
            fill,
            eof: false,
            skipping: false,
            consumed: 0,
            pending_error: None,
        }
    }

    /// Offset in the stream of the next byte to be handed out.
    pub fn offset(&self) -> u64 {
        self.consumed - (self.end - self.start) as u64
    }

    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    fn read_more(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            if self.end == self.buf.len() {
                return Ok(());
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    self.consumed += n as u64;
                    if !self.fill {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends the next chunk to `out`; `None` at end of stream. On a read
    /// error, the bytes already read (even a partial last line) are handed
    /// out first and the error is returned by the following call.
    pub fn next_chunk(&mut self, out: &mut Vec<u8>) -> io::Result<Option<ChunkKind>> {
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        loop {
            if self.skipping {
                match memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                    Some(p) => {
                        self.start += p + 1;
                        self.skipping = false;
                    }
                    None => self.start = self.end,
                }
            }
            if !self.skipping {
                let avail = &self.buf[self.start..self.end];
                if let Some(p) = memchr::memrchr(b'\n', avail) {
                    out.extend_from_slice(&avail[..=p]);
                    self.start += p + 1;
                    return Ok(Some(ChunkKind::Lines));
                }
                if avail.len() > self.max_line {
                    out.extend_from_slice(&avail[..self.max_line]);
                    self.start = self.end;
                    self.skipping = true;
                    return Ok(Some(ChunkKind::Truncated));
                }
                if self.eof {
                    if avail.is_empty() {
                        return Ok(None);
                    }
                    out.extend_from_slice(avail);
                    out.push(b'\n');
                    self.start = self.end;
                    return Ok(Some(ChunkKind::Lines));
                }
            } else if self.eof {
                return Ok(None);
            }
            if let Err(e) = self.read_more() {
                // Hand out what we have before the error; report it next.
                let avail = &self.buf[self.start..self.end];
                if !self.skipping && !avail.is_empty() {
                    out.extend_from_slice(avail);
                    out.push(b'\n');
                    self.start = self.end;
                    self.eof = true;
                    self.pending_error = Some(e);
                    return Ok(Some(ChunkKind::Lines));
                }
                return Err(e);
            }
        }
    }
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

    fn chunks(input: &[u8], max_line: usize, fill: bool) -> Vec<(ChunkKind, Vec<u8>)> {
        let mut c = Chunker::new(input, max_line, fill);
        let mut v = Vec::new();
        loop {
            let mut out = Vec::new();
            match c.next_chunk(&mut out).unwrap() {
                Some(k) => v.push((k, out)),
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
        assert_eq!(c.next_chunk(&mut out).unwrap(), Some(ChunkKind::Lines));
        assert_eq!(out, b"a\nb\n");
        assert!(c.next_chunk(&mut out).is_err());
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
