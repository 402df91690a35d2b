//! Whole JSON documents that hold many records: a Loki push or query body,
//! a Convex log-stream webhook batch (an array of events). [`BodySplitter`]
//! finds each top-level document that starts a line (pretty-printed over
//! many lines or not), hands it to the format's [`Explode`] function, which
//! writes one line per record, and passes every other line on unchanged, so
//! the framing and the decoder downstream see one record per line.
//!
//! Memory is bounded: a document longer than `max_body` is not split but
//! passed on as it is (its lines are then malformed for the format), with a
//! warning.

use std::io::{self, Read};

/// What a format made of one document.
pub enum Exploded {
    /// Its records were written, one line each (maybe none).
    Lines,
    /// It holds no records of the format, on purpose (a metric query
    /// response): nothing was written; the reason is warned about once.
    Skipped(&'static str),
    /// Not a document of the format: it is passed on as one line.
    NotABody,
}

/// Turns one document (`body`, whitespace and newlines included) into
/// record lines appended to `out`.
pub type Explode = fn(body: &[u8], out: &mut Vec<u8>) -> Exploded;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (after `pending_ws`).
    LineStart,
    /// Inside a line that is not a document: passed on up to its newline.
    PassLine,
    /// Inside a document being collected into `body`.
    Body,
    /// Inside a document too long to collect: passed on as it is.
    PassBody,
    /// After a document's last byte, on the same line.
    AfterBody,
}

pub struct BodySplitter<R> {
    inner: R,
    explode: Explode,
    /// The byte that opens a document (`{` or `[`) at the start of a line.
    open: u8,
    max_body: usize,
    name: String,
    state: State,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Blanks at the start of the current line, not yet passed on.
    pending_ws: Vec<u8>,
    body: Vec<u8>,
    input: Vec<u8>,
    output: Vec<u8>,
    out_pos: usize,
    warned_skip: bool,
    warned_long: bool,
    eof: bool,
}

/// Writes `raw` with CR and LF as spaces: JSON whitespace inside a document
/// (a raw newline cannot be inside a valid JSON string), so the document or
/// value stays on one line.
pub fn push_one_line(out: &mut Vec<u8>, raw: &[u8]) {
    let start = out.len();
    out.extend_from_slice(raw);
    for c in &mut out[start..] {
        if *c == b'\n' || *c == b'\r' {
            *c = b' ';
        }
    }
}

impl<R: Read> BodySplitter<R> {
    pub fn new(inner: R, open: u8, explode: Explode, max_body: usize, name: &str) -> Self {
        BodySplitter {
            inner,
            explode,
            open,
            max_body,
            name: name.to_string(),
            state: State::LineStart,
            depth: 0,
            in_string: false,
            escaped: false,
            pending_ws: Vec::new(),
            body: Vec::new(),
            input: Vec::new(),
            output: Vec::new(),
            out_pos: 0,
            warned_skip: false,
            warned_long: false,
            eof: false,
        }
    }

    /// Tracks strings and nesting; returns whether `c` closed the document.
    fn track(&mut self, c: u8) -> bool {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if c == b'\\' {
                self.escaped = true;
            } else if c == b'"' {
                self.in_string = false;
            }
            return false;
        }
        match c {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                return self.depth == 0;
            }
            _ => {}
        }
        false
    }

    fn start_body(&mut self, c: u8) {
        self.pending_ws.clear();
        self.body.clear();
        self.body.push(c);
        self.depth = 1;
        self.in_string = false;
        self.escaped = false;
        self.state = State::Body;
    }

    fn finish_body(&mut self) {
        match (self.explode)(&self.body, &mut self.output) {
            Exploded::Lines => {}
            Exploded::Skipped(why) => {
                if !self.warned_skip {
                    tracing::warn!(target: crate::diag::USER, "{}: {why}; skipped", self.name);
                    self.warned_skip = true;
                }
            }
            Exploded::NotABody => {
                push_one_line(&mut self.output, &self.body);
                self.output.push(b'\n');
            }
        }
        self.body.clear();
    }

    /// A document cut short (a raw newline in a string, or the end of the
    /// input): passed on as one line, for the decoder to find malformed.
    fn abandon_body(&mut self, newline: bool) {
        push_one_line(&mut self.output, &self.body);
        if newline {
            self.output.push(b'\n');
        }
        self.body.clear();
        self.state = State::LineStart;
    }

    fn process(&mut self) {
        let input = std::mem::take(&mut self.input);
        let mut i = 0;
        while i < input.len() {
            let c = input[i];
            match self.state {
                State::LineStart => match c {
                    b' ' | b'\t' | b'\r' => self.pending_ws.push(c),
                    b'\n' => {
                        self.output.append(&mut self.pending_ws);
                        self.output.push(b'\n');
                    }
                    _ if c == self.open => self.start_body(c),
                    _ => {
                        self.output.append(&mut self.pending_ws);
                        self.state = State::PassLine;
                        continue;
                    }
                },
                State::PassLine => {
                    let rest = &input[i..];
                    match memchr::memchr(b'\n', rest) {
                        Some(p) => {
                            self.output.extend_from_slice(&rest[..p + 1]);
                            self.state = State::LineStart;
                            i += p + 1;
                        }
                        None => {
                            self.output.extend_from_slice(rest);
                            i = input.len();
                        }
                    }
                    continue;
                }
                State::Body => {
                    if self.in_string && c == b'\n' {
                        self.abandon_body(true);
                    } else {
                        self.body.push(c);
                        if self.track(c) {
                            self.finish_body();
                            self.state = State::AfterBody;
                        } else if self.body.len() > self.max_body {
                            if !self.warned_long {
                                tracing::warn!(
                                    target: crate::diag::USER,
                                    "{}: a JSON document is longer than {} bytes; not split (kept as malformed lines)",
                                    self.name, self.max_body
                                );
                                self.warned_long = true;
                            }
                            self.output.append(&mut self.body);
                            self.state = State::PassBody;
                        }
                    }
                }
                State::PassBody => {
                    self.output.push(c);
                    if self.in_string && c == b'\n' {
                        self.in_string = false;
                        self.escaped = false;
                        self.state = State::LineStart;
                    } else if self.track(c) {
                        self.state = State::PassLine;
                    }
                }
                State::AfterBody => match c {
                    b' ' | b'\t' | b'\r' => {}
                    b'\n' => self.state = State::LineStart,
                    _ if c == self.open => self.start_body(c),
                    _ => {
                        self.state = State::PassLine;
                        continue;
                    }
                },
            }
            i += 1;
        }
        self.input = input;
        self.input.clear();
        if self.eof {
            if self.state == State::Body {
                self.abandon_body(false);
            }
            self.output.append(&mut self.pending_ws);
        }
    }
}

impl<R: Read> Read for BodySplitter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(n) = crate::framing::drain_output(&mut self.output, &mut self.out_pos, buf)
            {
                return Ok(n);
            }
            if self.eof {
                return Ok(0);
            }
            self.input.resize(64 * 1024, 0);
            let k = match self.inner.read(&mut self.input) {
                Ok(k) => k,
                Err(e) => {
                    self.input.clear();
                    return Err(e);
                }
            };
            self.input.truncate(k);
            if k == 0 {
                self.eof = true;
            }
            self.process();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test format: an array's elements become lines; `["skip"]` is
    /// skipped; anything else is not a body.
    fn explode(body: &[u8], out: &mut Vec<u8>) -> Exploded {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Exploded::NotABody;
        };
        match v {
            serde_json::Value::Array(a) if a == [serde_json::json!("skip")] => {
                Exploded::Skipped("skipping")
            }
            serde_json::Value::Array(a) => {
                for e in a {
                    out.extend_from_slice(e.to_string().as_bytes());
                    out.push(b'\n');
                }
                Exploded::Lines
            }
            _ => Exploded::NotABody,
        }
    }

    fn split(input: &[u8], max_body: usize) -> String {
        let mut s = BodySplitter::new(input, b'[', explode, max_body, "test");
        let mut out = Vec::new();
        // Small reads exercise state kept across blocks.
        let mut buf = [0u8; 7];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn documents_become_lines_and_other_lines_pass() {
        assert_eq!(
            split(
                b"plain [x]\n[1, \"a]\\\"\"]\n  [\n  {\"k\": [2]},\n  3\n]\n\n{\"a\":1}",
                1000
            ),
            "plain [x]\n1\n\"a]\\\"\"\n{\"k\":[2]}\n3\n\n{\"a\":1}"
        );
        // Not a document of the format: one line; skipped: nothing.
        assert_eq!(
            split(b"[1,\n2,]\n[\"skip\"]\nend\n", 1000),
            "[1, 2,]\nend\n"
        );
        // Two on a line, and text after one.
        assert_eq!(split(b"[1] [2] tail\n", 1000), "1\n2\ntail\n");
    }

    #[test]
    fn broken_and_long_documents_are_passed_on() {
        // A raw newline inside a string ends the document.
        assert_eq!(split(b"[\"a\nb\"]\n[1]\n", 1000), "[\"a\nb\"]\n1\n");
        // Cut short at the end of the input.
        assert_eq!(split(b"[1,\n2", 1000), "[1, 2");
        // Over the limit: as it is.
        assert_eq!(split(b"[1,2,3,4,5,6]\n[7]\n", 4), "[1,2,3,4,5,6]\n7\n");
    }
}
