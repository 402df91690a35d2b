//! Sources: where bytes come from. Standard input, files (plain or gzip,
//! told apart by their magic bytes, multi-member gzip included), globs, and
//! followed files (`tail -F`).

pub mod files;
pub mod follow;
pub mod followed;
pub mod stdin;
pub mod watch;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;

pub use files::{FileSource, ReadOptions};
pub use follow::{FollowOptions, FollowPositions, FollowReader};

/// Read buffer for files: large, so one syscall moves a lot.
const READ_BUF: usize = 256 * 1024;

/// One input named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    Stdin,
    File(PathBuf),
}

impl InputSpec {
    /// The name used in messages and as the `filename` label.
    pub fn name(&self) -> String {
        match self {
            InputSpec::Stdin => "-".to_string(),
            InputSpec::File(p) => p.display().to_string(),
        }
    }
}

/// An input that could not be read, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct InputError {
    pub name: String,
    pub message: String,
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands command-line arguments into inputs: `-` is stdin, glob patterns
/// are expanded (sorted) when no file has that literal name; with no
/// arguments, stdin. A pattern that matches nothing is an error.
pub fn expand(args: &[String]) -> (Vec<InputSpec>, Vec<InputError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    if args.is_empty() {
        inputs.push(InputSpec::Stdin);
    }
    for a in args {
        if a == "-" {
            inputs.push(InputSpec::Stdin);
        } else if has_glob_chars(a) && !Path::new(a).exists() {
            match glob::glob(a) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                    found.sort();
                    if found.is_empty() {
                        errors.push(InputError {
                            name: a.clone(),
                            message: "no files match this pattern".into(),
                        });
                    }
                    inputs.extend(found.into_iter().map(InputSpec::File));
                }
                Err(e) => errors.push(InputError {
                    name: a.clone(),
                    message: format!("invalid glob pattern: {e}"),
                }),
            }
        } else {
            inputs.push(InputSpec::File(PathBuf::from(a)));
        }
    }
    (inputs, errors)
}

/// Counts bytes read from the underlying file, so a gzip error can say how
/// far into the compressed file it happened.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Adds "at compressed byte N" to gzip errors.
struct GzipErrors<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for GzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "corrupt gzip data near compressed byte {}: {e}",
                    self.count.load(Ordering::Relaxed)
                ),
            )
        })
    }
}

/// An opened input: a byte stream, and whether it is a stream that should
/// be handed on as data arrives (stdin, followed files) rather than in
/// full buffers.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub streaming: bool,
    pub gzip: bool,
    /// For a followed file, which maps stream offsets across rotations
    /// back to files.
    pub positions: Option<FollowPositions>,
}

/// Opens an input; gzip is detected by its magic bytes.
pub fn open(spec: &InputSpec, follow: Option<&FollowOptions>) -> Result<Opened, InputError> {
    let name = spec.name();
    let err = |e: io::Error| InputError {
        name: name.clone(),
        message: e.to_string(),
    };
    match spec {
        InputSpec::Stdin => Ok(Opened {
            reader: Box::new(io::stdin()),
            streaming: true,
            gzip: false,
            positions: None,
        }),
        InputSpec::File(path) => {
            if let Some(opts) = follow {
                let reader = FollowReader::new(path.clone(), opts.clone());
                let positions = Some(reader.positions());
                return Ok(Opened {
                    reader: Box::new(reader),
                    streaming: true,
                    gzip: false,
                    positions,
                });
            }
            let file = File::open(path).map_err(err)?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(InputError {
                    name,
                    message: "is a directory".into(),
                });
            }
            let count = Arc::new(AtomicU64::new(0));
            let mut buffered = BufReader::with_capacity(
                READ_BUF,
                Counting {
                    inner: file,
                    count: count.clone(),
                },
            );
            let head = buffered.fill_buf().map_err(err)?;
            if head.starts_with(&[0x1f, 0x8b]) {
                Ok(Opened {
                    reader: Box::new(GzipErrors {
                        inner: MultiGzDecoder::new(buffered),
                        count,
                    }),
                    streaming: false,
                    gzip: true,
                    positions: None,
                })
            } else {
                Ok(Opened {
                    reader: Box::new(buffered),
                    streaming: false,
                    gzip: false,
                    positions: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_plain_and_multi_member_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.log");
        std::fs::write(&plain, b"one\ntwo\n").unwrap();
        let gz = dir.path().join("b.log.gz");
        let mut bytes = Vec::new();
        for part in [&b"one\n"[..], b"two\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(part).unwrap();
            bytes.extend(e.finish().unwrap());
        }
        std::fs::write(&gz, bytes).unwrap();
        for p in [plain, gz] {
            let mut o = open(&InputSpec::File(p), None).unwrap();
            let mut s = String::new();
            o.reader.read_to_string(&mut s).unwrap();
            assert_eq!(s, "one\ntwo\n");
        }
    }

    #[test]
    fn corrupt_gzip_error_names_offset() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("bad.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&b"line\n".repeat(1000)).unwrap();
        let mut bytes = e.finish().unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        bytes[n / 2 + 1] ^= 0xff;
        std::fs::write(&gz, bytes).unwrap();
        let mut o = open(&InputSpec::File(gz), None).unwrap();
        let mut v = Vec::new();
        let e = o.reader.read_to_end(&mut v).unwrap_err();
        assert!(e.to_string().contains("corrupt gzip data"), "{e}");
    }

    #[test]
    fn missing_file_and_empty_glob_are_named() {
        let e = open(&InputSpec::File("/nonexistent/x.log".into()), None)
            .err()
            .unwrap();
        assert_eq!(e.name, "/nonexistent/x.log");
        let (inputs, errors) = expand(&["/nonexistent/*.log".to_string()]);
        assert!(inputs.is_empty());
        assert_eq!(errors.len(), 1);
    }
}
