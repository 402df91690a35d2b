//! Kubernetes container logs in the CRI format (what the kubelet writes
//! under /var/log/pods):
//!
//! `2016-10-06T00:17:09.669794202Z stdout F log text`
//!
//! `<time> <stream> <tag> <message>`; the tag is `F` for a full line or `P`
//! for a partial one (the runtime splits long lines), more attributes may
//! follow after `:`. [`PartialJoiner`] joins a stream's `P` lines with the
//! line that ends them before framing, as the kubelet does when it reads
//! them back, so each record is one whole line.
//!
//! As with Fly, the container's own line is the line the query sees and
//! `filter` prints; a JSON object there is decoded too (its own time wins).
//! `stream` (`stdout`/`stderr`) is a stream label of the line, so
//! `{stream="stderr"}` selects it (as Loki's `cri` stage makes it a label);
//! `tag` is a field (unless the JSON has its own). Inner JSON keys named `stream` get the `_extracted`
//! suffix, as in Loki.

use std::io::{self, Read};

use super::json::JsonScanner;
use super::{DecodeCtx, Decoded};

pub struct CriLine<'a> {
    pub time: &'a [u8],
    pub stream: &'a [u8],
    pub tag: &'a [u8],
    pub message: &'a [u8],
}

/// Splits a CRI line; `None` if it is not one.
pub fn parse(line: &[u8]) -> Option<CriLine<'_>> {
    let mut parts = line.splitn(4, |&c| c == b' ');
    let time = parts.next()?;
    let stream = parts.next()?;
    let tag = parts.next()?;
    let message = parts.next().unwrap_or(b"");
    if !(stream == b"stdout" || stream == b"stderr") {
        return None;
    }
    if !matches!(tag.split(|&c| c == b':').next(), Some(b"F" | b"P")) {
        return None;
    }
    crate::time::parse_rfc3339(time)?;
    Some(CriLine {
        time,
        stream,
        tag,
        message,
    })
}

pub fn decode(json: &mut JsonScanner, line: &[u8], ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let Some(p) = parse(line) else {
        return false;
    };
    out.line_labels.set_with_name_bytes(b"stream", |b| {
        b.push_str(if p.stream == b"stdout" {
            "stdout"
        } else {
            "stderr"
        })
    });
    out.app_line.clear();
    out.app_line.extend_from_slice(p.message);
    out.has_app_line = true;
    if p.message.first() == Some(&b'{') {
        // Plain text is a whole record too: only a JSON message is parsed.
        super::fly::decode_inner(json, ctx, out);
    }
    // The container's own `tag` field, if it has one, wins.
    if ctx.want.wants("tag") && !out.fields.contains("tag") {
        out.fields
            .set_with("tag", |b| b.push_str(&String::from_utf8_lossy(p.tag)));
    }
    if out.ts.is_none() && ctx.need_ts {
        out.ts = crate::time::parse_rfc3339(p.time);
    }
    true
}

pub fn looks_like(line: &[u8]) -> bool {
    parse(line).is_some()
}

/// A partial line waiting for the rest of its stream's line.
#[derive(Default)]
struct Pending {
    time: Vec<u8>,
    message: Vec<u8>,
    active: bool,
}

/// Joins each stream's partial (`P`) lines with the line that completes
/// them into one `F` line with the first part's time. Other lines pass
/// unchanged; a joined line longer than `max_line` (or one still partial at
/// the end) is handed on as a `P` line, so memory stays bounded.
pub struct PartialJoiner<R> {
    inner: R,
    max_line: usize,
    /// Bytes read but not yet framed (an incomplete line).
    input: Vec<u8>,
    output: Vec<u8>,
    out_pos: usize,
    /// stdout, stderr.
    pending: [Pending; 2],
    /// Inside a line too long to hold: pass bytes on up to its newline.
    passing: bool,
    eof: bool,
}

impl<R: Read> PartialJoiner<R> {
    pub fn new(inner: R, max_line: usize) -> Self {
        PartialJoiner {
            inner,
            max_line,
            input: Vec::new(),
            output: Vec::new(),
            out_pos: 0,
            pending: Default::default(),
            passing: false,
            eof: false,
        }
    }

    fn emit(output: &mut Vec<u8>, p: &mut Pending, stream: &[u8], tag: &[u8]) {
        output.extend_from_slice(&p.time);
        output.push(b' ');
        output.extend_from_slice(stream);
        output.push(b' ');
        output.extend_from_slice(tag);
        output.push(b' ');
        output.extend_from_slice(&p.message);
        output.push(b'\n');
        p.time.clear();
        p.message.clear();
        p.active = false;
    }

    /// One complete line (with its `\n`, if it had one).
    fn line(&mut self, line: &[u8]) {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let Some(p) = parse(body) else {
            self.output.extend_from_slice(line);
            return;
        };
        let i = usize::from(p.stream == b"stderr");
        let pending = &mut self.pending[i];
        let partial = p.tag.first() == Some(&b'P');
        if !partial && !pending.active {
            self.output.extend_from_slice(line);
            return;
        }
        if !pending.active {
            pending.time.extend_from_slice(p.time);
            pending.active = true;
        }
        pending.message.extend_from_slice(p.message);
        if !partial {
            Self::emit(&mut self.output, pending, p.stream, b"F");
        } else if pending.message.len() > self.max_line {
            Self::emit(&mut self.output, pending, p.stream, b"P");
        }
    }

    /// Frames what has been read into output.
    fn process(&mut self) {
        let input = std::mem::take(&mut self.input);
        let mut start = 0;
        if self.passing {
            match memchr::memchr(b'\n', &input) {
                Some(p) => {
                    self.output.extend_from_slice(&input[..p + 1]);
                    self.passing = false;
                    start = p + 1;
                }
                None => {
                    self.output.extend_from_slice(&input);
                    start = input.len();
                }
            }
        }
        while let Some(p) = memchr::memchr(b'\n', &input[start..]) {
            self.line(&input[start..start + p + 1]);
            start += p + 1;
        }
        let mut rest = input;
        rest.drain(..start);
        if self.eof && !rest.is_empty() {
            self.line(&rest);
            rest.clear();
        } else if rest.len() > self.max_line {
            // No newline in sight: hand it on for the framing to cut.
            self.output.extend_from_slice(&rest);
            rest.clear();
            self.passing = true;
        }
        self.input = rest;
        if self.eof {
            for (i, stream) in [&b"stdout"[..], b"stderr"].into_iter().enumerate() {
                if self.pending[i].active {
                    Self::emit(&mut self.output, &mut self.pending[i], stream, b"P");
                }
            }
        }
    }
}

impl<R: Read> Read for PartialJoiner<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(n) = crate::framing::drain_output(&mut self.output, &mut self.out_pos, buf)
            {
                return Ok(n);
            }
            if self.eof {
                return Ok(0);
            }
            let old = self.input.len();
            self.input.resize(old + 64 * 1024, 0);
            let k = match self.inner.read(&mut self.input[old..]) {
                Ok(k) => k,
                Err(e) => {
                    self.input.truncate(old);
                    return Err(e);
                }
            };
            self.input.truncate(old + k);
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
    use crate::decode::Format;

    use crate::time::parse_rfc3339;

    fn run(line: &str) -> (bool, Decoded) {
        let mut d = crate::decode::Decoder::new();
        let mut out = Decoded::default();
        let ok = DecodeCtx::all_fields(0, |ctx| {
            d.decode(Format::Cri, line.as_bytes(), ctx, &mut out)
        });
        (ok, out)
    }

    #[test]
    fn plain_and_json_messages() {
        let (ok, out) = run("2016-10-06T00:17:09.669794202Z stdout F log content 1");
        assert!(ok);
        assert_eq!(out.line_labels.get("stream"), Some("stdout"));
        assert_eq!(out.fields.get("tag"), Some("F"));
        assert_eq!(out.app_line, b"log content 1");
        assert!(!out.json_object);
        assert_eq!(out.ts, parse_rfc3339(b"2016-10-06T00:17:09.669794202Z"));

        let (ok, out) = run(
            r#"2016-10-06T00:17:10.113242941Z stderr F {"level":"error","stream":"x","timestamp":"2016-10-06T00:17:10Z"}"#,
        );
        assert!(ok);
        assert!(out.json_object);
        assert_eq!(out.line_labels.get("stream"), Some("stderr"));
        assert_eq!(out.fields.get("level"), Some("error"));
        assert_eq!(out.fields.get("stream_extracted"), Some("x"));
        assert_eq!(out.ts, parse_rfc3339(b"2016-10-06T00:17:10Z"));

        let (ok, out) = run("2016-10-06T00:17:09.669794202Z stdout F");
        assert!(ok);
        assert_eq!(out.app_line, b"");
    }

    #[test]
    fn not_cri() {
        for l in [
            "",
            "hello",
            "2016-10-06T00:17:09Z stdin F x",
            "2016-10-06T00:17:09Z stdout X x",
            "yesterday stdout F x",
        ] {
            assert!(!run(l).0, "{l}");
        }
    }

    fn join(input: &[u8], max_line: usize) -> String {
        let mut out = String::new();
        let mut j = PartialJoiner::new(input, max_line);
        let mut all = Vec::new();
        j.read_to_end(&mut all).unwrap();
        out.push_str(&String::from_utf8_lossy(&all));
        out
    }

    #[test]
    fn joins_partial_lines_per_stream() {
        let input = b"2016-10-06T00:17:09.1Z stdout P first \n\
2016-10-06T00:17:09.2Z stderr F an error\n\
not cri\n\
2016-10-06T00:17:09.3Z stdout P second \n\
2016-10-06T00:17:09.4Z stdout F third\n\
2016-10-06T00:17:09.5Z stdout F whole";
        assert_eq!(
            join(input, 1000),
            "2016-10-06T00:17:09.2Z stderr F an error\n\
not cri\n\
2016-10-06T00:17:09.1Z stdout F first second third\n\
2016-10-06T00:17:09.5Z stdout F whole"
        );
        // Still partial at the end, or over the limit: handed on as P.
        assert_eq!(
            join(b"2016-10-06T00:17:09.1Z stdout P abc\n", 1000),
            "2016-10-06T00:17:09.1Z stdout P abc\n"
        );
        assert_eq!(
            join(
                b"2016-10-06T00:17:09.1Z stdout P abc\n2016-10-06T00:17:09.2Z stdout P def\n2016-10-06T00:17:09.3Z stdout F g\n",
                4
            ),
            "2016-10-06T00:17:09.1Z stdout P abcdef\n2016-10-06T00:17:09.3Z stdout F g\n"
        );
    }
}
