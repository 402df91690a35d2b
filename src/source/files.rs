//! The batch source of the command line: files, gzip, stdin and followed
//! files, read one after another, each detected, joined where its format
//! needs it and framed into batches of whole lines.
//!
//! Each batch names its input by fingerprint and, where the bytes framed are
//! the input's own (not rewritten by a joiner), the offset just past it, so
//! a consumer can checkpoint. A followed file's offsets are mapped back
//! across rotations to the file they came from.

use std::collections::VecDeque;
use std::io::{Cursor, Read};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::batch::{Batch, BatchSource, InputId, InputInfo, Next, Position};
use crate::decode::detect::{self, Detected};
use crate::decode::Format;
use crate::formats::registry::Registry;
use crate::framing::{ChunkKind, Chunker, JsonJoiner};
use crate::record::Labels;

use super::stdin::StoppableStdin;
use super::{open, FollowOptions, FollowPositions, InputError, InputSpec};

/// Bytes read from an input to detect its format.
const SAMPLE_BYTES: usize = 64 * 1024;

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

struct Reading {
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

    /// The sources that read `inputs`: one for all of them, or with
    /// `--follow` one per file, since followed files are read together.
    pub fn split(
        inputs: Vec<InputSpec>,
        opts: &ReadOptions,
        filter: InputFilter<'a>,
    ) -> Vec<Box<dyn BatchSource + 'a>> {
        if opts.follow.is_some() {
            inputs
                .into_iter()
                .map(|i| {
                    Box::new(FileSource::new(vec![i], opts.clone(), filter.clone()))
                        as Box<dyn BatchSource + 'a>
                })
                .collect()
        } else {
            vec![Box::new(FileSource::new(
                inputs,
                opts.clone(),
                filter.clone(),
            ))]
        }
    }

    /// Opens an input and gets it ready for framing; `None` when the stream
    /// selector rules it out whole.
    fn start(&self, spec: &InputSpec) -> Result<Option<Reading>, InputError> {
        let name = spec.name();
        let opened = open(spec, self.opts.follow.as_ref())?;
        let mut reader = match spec {
            InputSpec::Stdin => Box::new(StoppableStdin::new(self.stop.clone())),
            InputSpec::File(_) => opened.reader,
        };
        let mut sample = read_sample(&mut reader, opened.streaming).map_err(|e| InputError {
            name: name.clone(),
            message: e.to_string(),
        })?;
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
        let detected = match self.opts.format {
            Some(f) => Detected {
                format: f,
                pretty_json: matches!(f, Format::Fly | Format::Json | Format::Convex)
                    && detect::is_pretty_json(&sample),
            },
            None => detect::detect(&sample, self.opts.formats),
        };
        tracing::info!(
            input = %name,
            format = detected.format.name(),
            pretty = detected.pretty_json,
            gzip = opened.gzip,
            "reading input"
        );
        let mut labels = self.opts.labels.clone();
        if !matches!(spec, InputSpec::Stdin) {
            labels.insert("filename", name.clone());
        }
        let envelope = detected.format.is_envelope();
        if !envelope && self.opts.follow.is_none() && !(self.filter)(&labels) {
            return Ok(None);
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
        let stream: Box<dyn Read + Send> = if detected.pretty_json {
            Box::new(JsonJoiner::new(Cursor::new(sample).chain(reader)))
        } else {
            Box::new(Cursor::new(sample).chain(reader))
        };
        let stream = detected
            .format
            .join_lines(stream, self.opts.max_line, &name);
        let chunker = Chunker::new(stream, self.opts.max_line, !opened.streaming)
            .with_record_start(detected.format.record_start());
        Ok(Some(Reading {
            info,
            chunker,
            positions,
            skipped,
        }))
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
            let chunk_start = reading.skipped + reading.chunker.offset();
            match reading.chunker.next_chunk(&mut buf) {
                Ok(Some((kind, len))) => {
                    if kind == ChunkKind::Truncated {
                        if reading.info.format.record_start().is_some() {
                            tracing::warn!(
                                target: crate::diag::USER,
                                "{}: record at byte {chunk_start} is longer than {} bytes; \
                                 truncated (its first lines and its last line kept)",
                                reading.info.name,
                                self.opts.max_line
                            );
                        } else {
                            tracing::warn!(
                                target: crate::diag::USER,
                                "{}: line at byte {chunk_start} is longer than {} bytes; truncated",
                                reading.info.name,
                                self.opts.max_line
                            );
                        }
                    }
                    let at = reading.skipped + reading.chunker.offset();
                    let end = match &reading.positions {
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
                    return Next::Batch(Batch {
                        input: reading.info.clone(),
                        data: buf,
                        len,
                        kind,
                        arrival_ns: crate::time::now_ns(),
                        end,
                    });
                }
                Ok(None) => self.current = None,
                Err(e) => {
                    let failed = InputError {
                        name: reading.info.name.clone(),
                        message: format!("{e} (after {} bytes of data)", reading.chunker.offset()),
                    };
                    self.current = None;
                    return Next::Failed(failed);
                }
            }
        }
    }
}

fn read_sample(r: &mut dyn Read, streaming: bool) -> std::io::Result<Vec<u8>> {
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
