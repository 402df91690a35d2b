//! The batch source of the command line: files, gzip, stdin and followed
//! files, read one after another, each detected, joined where its format
//! needs it and framed into batches of whole lines.
//!
//! Each batch names its input by fingerprint and, where the bytes framed are
//! the input's own (not rewritten by a joiner), the offset just past it, so
//! a consumer can checkpoint. A followed file's offsets are mapped back
//! across rotations to the file they came from.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::batch::{Batch, BatchSource, InputId, InputInfo, Next, Position};
use crate::decode::detect::{self, Detected};
use crate::decode::Format;
use crate::formats::registry::Registry;
use crate::framing::{ChunkKind, Chunker, JsonJoiner};
use crate::record::Labels;

use super::followed::FollowSource;
use super::stdin::StoppableStdin;
use super::{open, FollowOptions, FollowPositions, InputError, InputSpec, Opened};

/// Bytes read from an input to detect its format.
pub(super) const SAMPLE_BYTES: usize = 64 * 1024;

/// The UTF-8 byte order mark some Windows tools write at the start of a
/// file: not part of the first line.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Decides from an input's stream labels whether it is read at all (the
/// query's stream selector, pushed down to the source).
pub type InputFilter<'a> = Arc<dyn Fn(&Labels) -> bool + Send + Sync + 'a>;

/// How inputs are read.
#[derive(Clone)]
pub struct ReadOptions {
    /// `None` detects the format per input.
    pub format: Option<Format>,
    /// Labels added to every input (`--label k=v`).
    pub labels: Labels,
    pub max_line: usize,
    pub follow: Option<FollowOptions>,
    /// The custom formats detection may pick.
    pub formats: &'static Registry,
    /// Set from outside (SIGINT/SIGTERM on a followed run): the sources end
    /// as when the consumer stops.
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// Reads `inputs` in order as batches.
pub struct FileSource<'a> {
    inputs: VecDeque<InputSpec>,
    opts: ReadOptions,
    filter: InputFilter<'a>,
    current: Option<Reading>,
    /// Set when the consumer stops: a followed file or stdin waiting for
    /// data then ends.
    stop: Arc<AtomicBool>,
}

/// How offsets in the framed stream map to positions in the input.
enum Positions {
    /// The framed bytes are the input's bytes.
    Direct(InputId),
    /// A followed file: mapped across rotations.
    Follow(FollowPositions),
    /// Rewritten before framing: no position.
    Unknown,
}

pub(super) struct Reading {
    info: Arc<InputInfo>,
    chunker: Chunker<Box<dyn Read + Send>>,
    positions: Positions,
    /// Input bytes before what was framed (a byte order mark).
    skipped: u64,
}

impl<'a> FileSource<'a> {
    pub fn new(inputs: Vec<InputSpec>, mut opts: ReadOptions, filter: InputFilter<'a>) -> Self {
        let stop = opts
            .interrupt
            .clone()
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        if let Some(f) = opts.follow.as_mut() {
            f.stop = Some(stop.clone());
        }
        FileSource {
            inputs: inputs.into(),
            opts,
            filter,
            current: None,
            stop,
        }
    }

    /// The sources that read `inputs`: one for all of them. With
    /// `--follow` the files are followed together by one
    /// [`FollowSource`](super::followed::FollowSource), however many there
    /// are (stdin, always followed, has a source of its own).
    pub fn split(
        inputs: Vec<InputSpec>,
        opts: &ReadOptions,
        filter: InputFilter<'a>,
    ) -> Vec<Box<dyn BatchSource + 'a>> {
        if opts.follow.is_none() {
            return vec![Box::new(FileSource::new(inputs, opts.clone(), filter))];
        }
        let (stdin, files): (Vec<InputSpec>, Vec<InputSpec>) = inputs
            .into_iter()
            .partition(|i| matches!(i, InputSpec::Stdin));
        let mut sources: Vec<Box<dyn BatchSource + 'a>> = Vec::new();
        if !stdin.is_empty() {
            sources.push(Box::new(FileSource::new(
                stdin,
                opts.clone(),
                filter.clone(),
            )));
        }
        if !files.is_empty() {
            sources.push(Box::new(FollowSource::new(files, opts.clone(), filter)));
        }
        sources
    }

    /// Opens an input and gets it ready for framing; `None` when the stream
    /// selector rules it out whole.
    fn start(&self, spec: &InputSpec) -> Result<Option<Reading>, InputError> {
        let mut opened = open(spec, self.opts.follow.as_ref())?;
        if let InputSpec::Stdin = spec {
            opened.reader = Box::new(StoppableStdin::new(self.stop.clone()));
        }
        let sample = read_sample(&mut opened.reader, opened.streaming).map_err(|e| InputError {
            name: spec.name(),
            message: e.to_string(),
        })?;
        Ok(Reading::start(
            &self.opts,
            &self.filter,
            spec,
            sample,
            opened,
        ))
    }
}

impl Reading {
    /// Gets an opened input ready for framing, from its first bytes
    /// (`sample`, read from `opened.reader` already): detects its format,
    /// labels it and joins its lines where the format needs it. `None`
    /// when the stream selector rules it out whole.
    pub(super) fn start(
        opts: &ReadOptions,
        filter: &InputFilter<'_>,
        spec: &InputSpec,
        mut sample: Vec<u8>,
        opened: Opened,
    ) -> Option<Reading> {
        let name = spec.name();
        let id = InputId::of(&sample);
        let skipped = if sample.starts_with(UTF8_BOM) {
            sample.drain(..UTF8_BOM.len());
            UTF8_BOM.len() as u64
        } else {
            0
        };
        if sample.starts_with(b"\xff\xfe") || sample.starts_with(b"\xfe\xff") {
            tracing::warn!(
                target: crate::diag::USER,
                "{name}: starts with a UTF-16 byte order mark; nagare reads UTF-8, so its lines are read as bytes (convert it with iconv -f UTF-16 -t UTF-8)"
            );
        }
        let detected = match opts.format {
            Some(f) => Detected {
                format: f,
                pretty_json: matches!(f, Format::Fly | Format::Json | Format::Convex)
                    && detect::is_pretty_json(&sample),
            },
            None => detect::detect(&sample, opts.formats),
        };
        tracing::info!(
            input = %name,
            format = detected.format.name(),
            pretty = detected.pretty_json,
            gzip = opened.gzip,
            "reading input"
        );
        let mut labels = opts.labels.clone();
        if !matches!(spec, InputSpec::Stdin) {
            labels.insert("filename", name.clone());
        }
        let envelope = detected.format.is_envelope();
        if !envelope && opts.follow.is_none() && !filter(&labels) {
            return None;
        }
        // A followed file is known by its first bytes, not by the tail
        // the sample read (reading starts at its end).
        let id = opened
            .positions
            .as_ref()
            .and_then(|p| p.position(0))
            .map_or(id, |p| p.input);
        let positions = match opened.positions {
            _ if detected.format.rewrites_stream() => Positions::Unknown,
            Some(p) => Positions::Follow(p),
            // The JSON joiner writes one byte for each it reads.
            None => Positions::Direct(id),
        };
        let info = Arc::new(InputInfo::new(id, name.clone(), labels, detected.format));
        // The sample is freed once read: a followed file keeps no buffer
        // of its own between reads.
        let head = Prefixed {
            head: sample,
            at: 0,
            inner: opened.reader,
        };
        let stream: Box<dyn Read + Send> = if detected.pretty_json {
            Box::new(JsonJoiner::new(head))
        } else {
            Box::new(head)
        };
        let stream = detected.format.join_lines(stream, opts.max_line, &name);
        let chunker = Chunker::new(stream, opts.max_line, !opened.streaming)
            .with_record_start(detected.format.record_start());
        Some(Reading {
            info,
            chunker,
            positions,
            skipped,
        })
    }

    /// The next batch, read into `buf`.
    pub(super) fn step(&mut self, mut buf: Vec<u8>, max_line: usize) -> Step {
        let chunk_start = self.skipped + self.chunker.offset();
        match self.chunker.next_chunk(&mut buf) {
            Ok(Some((kind, len))) => {
                if kind == ChunkKind::Truncated {
                    if self.info.format.record_start().is_some() {
                        tracing::warn!(
                            target: crate::diag::USER,
                            "{}: record at byte {chunk_start} is longer than {max_line} bytes; \
                             truncated (its first lines and its last line kept)",
                            self.info.name,
                        );
                    } else {
                        tracing::warn!(
                            target: crate::diag::USER,
                            "{}: line at byte {chunk_start} is longer than {max_line} bytes; truncated",
                            self.info.name,
                        );
                    }
                }
                let at = self.skipped + self.chunker.offset();
                let end = match &self.positions {
                    // The rest of a cut line is skipped on the next
                    // read: no position inside it may be a checkpoint.
                    _ if kind == ChunkKind::Truncated => None,
                    Positions::Direct(id) => Some(Position {
                        input: *id,
                        offset: at,
                    }),
                    Positions::Follow(p) => p.position(at),
                    Positions::Unknown => None,
                };
                Step::Batch(Batch {
                    input: self.info.clone(),
                    data: buf,
                    len,
                    kind,
                    arrival_ns: crate::time::now_ns(),
                    end,
                })
            }
            Ok(None) => Step::End(buf),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Step::Blocked(buf),
            Err(e) => Step::Failed(
                InputError {
                    name: self.info.name.clone(),
                    message: format!("{e} (after {} bytes of data)", self.chunker.offset()),
                },
                buf,
            ),
        }
    }
}

/// What reading an input gave; the buffer comes back when it holds no
/// batch.
pub(super) enum Step {
    Batch(Batch),
    /// A followed file has nothing more for now.
    Blocked(Vec<u8>),
    End(Vec<u8>),
    Failed(InputError, Vec<u8>),
}

/// The bytes read for detection, then the rest of the input; the sample's
/// buffer is freed once it has been read.
struct Prefixed {
    head: Vec<u8>,
    at: usize,
    inner: Box<dyn Read + Send>,
}

impl Read for Prefixed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at < self.head.len() {
            let n = buf.len().min(self.head.len() - self.at);
            buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
            self.at += n;
            if self.at == self.head.len() {
                self.head = Vec::new();
                self.at = 0;
            }
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl BatchSource for FileSource<'_> {
    fn stop_signal(&self) -> Option<Arc<AtomicBool>> {
        Some(self.stop.clone())
    }

    fn next_batch(&mut self, mut buf: Vec<u8>) -> Next {
        loop {
            let Some(reading) = self.current.as_mut() else {
                let Some(spec) = self.inputs.pop_front() else {
                    return Next::End;
                };
                match self.start(&spec) {
                    Ok(r) => self.current = r,
                    Err(e) => return Next::Failed(e),
                }
                continue;
            };
            match reading.step(buf, self.opts.max_line) {
                Step::Batch(b) => return Next::Batch(b),
                // Stdin waits in its own reads: it never says WouldBlock.
                Step::End(b) | Step::Blocked(b) => {
                    buf = b;
                    self.current = None;
                }
                Step::Failed(e, _) => {
                    self.current = None;
                    return Next::Failed(e);
                }
            }
        }
    }
}

/// One look at a followed file, read without blocking, for its first
/// bytes: adds what there is to `sample` and returns its length once it is
/// complete as [`read_sample`] makes it (a whole line, or
/// [`SAMPLE_BYTES`]), or at the end; `WouldBlock` while it is not.
pub(super) fn read_sample_step(
    r: &mut dyn Read,
    sample: &mut Vec<u8>,
    scratch: &mut [u8],
) -> std::io::Result<usize> {
    loop {
        let room = SAMPLE_BYTES.saturating_sub(sample.len()).min(scratch.len());
        if room == 0 {
            return Ok(sample.len());
        }
        match r.read(&mut scratch[..room]) {
            Ok(0) => return Ok(sample.len()),
            Ok(k) => {
                sample.extend_from_slice(&scratch[..k]);
                if scratch[..k].contains(&b'\n') {
                    return Ok(sample.len());
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock || sample.is_empty() => return Err(e),
            // What was read is framed; the error comes again from there.
            Err(_) => return Ok(sample.len()),
        }
    }
}

pub(super) fn read_sample(r: &mut dyn Read, streaming: bool) -> std::io::Result<Vec<u8>> {
    let mut sample = vec![0u8; SAMPLE_BYTES];
    let mut n = 0;
    while n < SAMPLE_BYTES {
        let k = match r.read(&mut sample[n..]) {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if n == 0 {
                    return Err(e);
                }
                break;
            }
        };
        if k == 0 {
            break;
        }
        n += k;
        // A stream hands on what it has as soon as one line is complete,
        // so a live pipe is not held back waiting for 64 KiB.
        if streaming && sample[..n].contains(&b'\n') {
            break;
        }
    }
    sample.truncate(n);
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn opts() -> ReadOptions {
        ReadOptions {
            format: None,
            labels: Labels::new(),
            max_line: 1 << 20,
            follow: None,
            formats: Registry::empty(),
            interrupt: None,
        }
    }

    fn all() -> InputFilter<'static> {
        Arc::new(|_: &Labels| true)
    }

    fn drain(src: &mut dyn BatchSource) -> (Vec<(String, Option<Position>, usize)>, usize) {
        let mut out = Vec::new();
        let mut failed = 0;
        loop {
            match src.next_batch(Vec::new()) {
                Next::Batch(b) => out.push((b.input.name.clone(), b.end, b.len)),
                Next::Failed(_) => failed += 1,
                Next::End => return (out, failed),
            }
        }
    }

    #[test]
    fn batches_carry_identity_and_offsets_also_through_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let body = "{\"msg\":\"a\"}\n".repeat(50_000);
        let plain = dir.path().join("a.log");
        std::fs::write(&plain, &body).unwrap();
        let gz = dir.path().join("a.log.1.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(body.as_bytes()).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let mut src = FileSource::new(
            vec![
                InputSpec::File(plain),
                InputSpec::File(dir.path().join("missing.log")),
                InputSpec::File(gz),
            ],
            opts(),
            all(),
        );
        let (batches, failed) = drain(&mut src);
        assert_eq!(failed, 1);
        // The same bytes compressed later are the same input.
        let ids: Vec<InputId> = batches
            .iter()
            .filter_map(|b| b.1.map(|p| p.input))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] == w[1]));
        for name in ["a.log", "a.log.1.gz"] {
            let mine: Vec<_> = batches.iter().filter(|b| b.0.ends_with(name)).collect();
            assert!(mine.len() > 1, "{name}: {} batches", mine.len());
            let mut at = 0;
            for (_, end, len) in mine {
                at += *len as u64;
                assert_eq!(end.unwrap().offset, at);
            }
            assert_eq!(at, body.len() as u64);
        }
    }

    /// A UTF-8 byte order mark is not part of the first line; positions
    /// still count it, since it is in the file.
    #[test]
    fn a_byte_order_mark_is_skipped_but_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bom.log");
        std::fs::write(&p, b"\xef\xbb\xbf{\"a\":1}\n{\"a\":2}\n").unwrap();
        let mut src = FileSource::new(vec![InputSpec::File(p)], opts(), all());
        let Next::Batch(b) = src.next_batch(Vec::new()) else {
            panic!("no batch")
        };
        assert_eq!(b.bytes(), b"{\"a\":1}\n{\"a\":2}\n");
        assert_eq!(b.input.format, Format::Json);
        assert_eq!(b.end.unwrap().offset, 3 + 16);
    }

    #[test]
    fn unselected_inputs_are_not_read_and_rewritten_streams_have_no_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("app.log");
        std::fs::write(&json, "{\"a\":1}\n").unwrap();
        let none: InputFilter<'static> = Arc::new(|_: &Labels| false);
        let mut src = FileSource::new(vec![InputSpec::File(json.clone())], opts(), none);
        assert_eq!(drain(&mut src).0.len(), 0);
        let mut src = FileSource::new(vec![InputSpec::File(json)], opts(), all());
        assert_eq!(drain(&mut src).0.len(), 1);
        let p = dir.path().join("cri.log");
        std::fs::write(
            &p,
            "2024-01-01T00:00:00.000000000Z stdout P hello \n2024-01-01T00:00:00.000000001Z stdout F world\n",
        )
        .unwrap();
        let mut src = FileSource::new(vec![InputSpec::File(p)], opts(), all());
        let (batches, _) = drain(&mut src);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].1, None);
    }
}
