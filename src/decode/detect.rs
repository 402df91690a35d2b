//! `--format auto`: which format an input is in, from its first lines.
//!
//! Every format scores the number of sample lines it decodes; the highest
//! score wins and ties go to the format listed first in [`Format::ALL`]
//! (Fly before JSON, since every Fly envelope is also JSON), and built-in
//! formats win ties with custom ones (`parsers/*.toml`). Input that no
//! format decodes is read as plain text.

use super::json::JsonScanner;
use super::{apache, convex, cri, fly, logfmt, loki, nginx, python, syslog, Format};
use crate::formats::registry::Registry;
use crate::framing::JsonJoiner;

/// The outcome of detection for one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub format: Format,
    /// Pretty-printed multi-line JSON (`flyctl logs --json`): the source must
    /// join each object back into one line.
    pub pretty_json: bool,
}

/// How many lines of the sample are scored.
const SAMPLE_LINES: usize = 64;

/// Whether a sample starts with pretty-printed JSON: the first non-blank
/// line opens an object that does not close on that line.
pub fn is_pretty_json(sample: &[u8]) -> bool {
    let first = sample
        .split(|&c| c == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty());
    match first {
        Some(l) => l == b"{",
        None => false,
    }
}

fn decodes(format: Format, line: &[u8], now_ns: i64) -> bool {
    match format {
        Format::Fly => fly::looks_like(line),
        Format::Json => JsonScanner::validate(line).is_ok(),
        Format::Nginx => nginx::looks_like(line),
        Format::Apache => apache::looks_like(line),
        Format::Syslog => syslog::looks_like(line, now_ns),
        Format::Python => python::is_record_start(line),
        Format::Cri => cri::looks_like(line),
        Format::Convex => convex::looks_like(line),
        Format::Loki => loki::looks_like(line),
        Format::Logfmt => matches!(logfmt::scan(line, true, |_, _, _| {}), Ok(n) if n >= 2),
        Format::Raw => false,
        Format::Custom(_) => {
            let stream = crate::record::Labels::new();
            let ctx = super::DecodeCtx {
                want: &super::Want::Nothing,
                need_ts: false,
                stream: &stream,
                label_values: false,
                now_ns,
            };
            super::Decoder::new().decode(format, line, &ctx, &mut super::Decoded::default())
        }
    }
}

fn sample_lines(text: &[u8]) -> Vec<&[u8]> {
    text.split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
        .take(SAMPLE_LINES)
        .collect()
}

/// Picks the format of `sample` (the first bytes of an input) among the
/// built-in formats and the custom ones of `formats`.
pub fn detect(sample: &[u8], formats: &'static Registry) -> Detected {
    let pretty_json = is_pretty_json(sample);
    // Loki bodies are read whole wherever they start (the format splits
    // them itself), so they are scored with pretty-printed JSON joined.
    let joined = JsonJoiner::join_all(sample);
    let text: &[u8] = if pretty_json { &joined } else { sample };
    let lines = sample_lines(text);
    let joined_lines = sample_lines(&joined);
    let now_ns = crate::time::now_ns();
    let mut best = (Format::Raw, 0usize);
    let score = |format: Format, best: &mut (Format, usize)| {
        let lines = if format == Format::Loki {
            &joined_lines
        } else {
            &lines
        };
        let score = lines.iter().filter(|l| decodes(format, l, now_ns)).count();
        if score > best.1 {
            *best = (format, score);
        }
    };
    // Built-in formats first, so they win ties; then custom ones, compiled
    // only when one could win: when no built-in format decodes every line.
    for format in Format::ALL {
        score(format, &mut best);
    }
    if best.1 < lines.len() {
        for format in Format::custom(formats) {
            score(format, &mut best);
        }
    }
    Detected {
        format: best.0,
        pretty_json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_each_format() {
        let cases: [(&str, Format); 6] = [
            ("{\"a\":1}\n{\"b\":2}\nnot json\n", Format::Json),
            (
                "{\"fly\":{\"app\":{\"name\":\"api\"}},\"message\":\"x\",\"timestamp\":\"2026-05-06T10:00:00Z\"}\n",
                Format::Fly,
            ),
            ("2026-05-06T10:30:45Z app[1a2b] ams [info] hello\n", Format::Fly),
            (
                "1.2.3.4 - - [06/May/2026:10:30:45 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"\n",
                Format::Nginx,
            ),
            ("level=info msg=\"hi there\" a=1\n", Format::Logfmt),
            ("just some text\nmore text\n", Format::Raw),
        ];
        for (sample, want) in cases {
            assert_eq!(
                detect(sample.as_bytes(), Registry::empty()).format,
                want,
                "{sample}"
            );
        }
    }

    #[test]
    fn pretty_flyctl_json() {
        let sample = b"{\n    \"timestamp\": \"2026-05-06T10:00:00Z\",\n    \"message\": \"hi\",\n    \"instance\": \"1\",\n    \"region\": \"ams\"\n}\n";
        let d = detect(sample, Registry::empty());
        assert!(d.pretty_json);
        assert_eq!(d.format, Format::Fly);
    }

    #[test]
    fn each_format_fixture_is_detected_as_its_format() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/formats");
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("log") {
                continue;
            }
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            let sample = std::fs::read(&path).unwrap();
            assert_eq!(
                detect(&sample, Registry::empty()).format.name(),
                name,
                "{}",
                path.display()
            );
            seen.push(name);
        }
        seen.sort();
        let mut all: Vec<String> = Format::ALL
            .iter()
            .filter(|f| **f != Format::Raw)
            .map(|f| f.name().to_string())
            .collect();
        all.sort();
        assert_eq!(seen, all, "one fixture per built-in format");
    }
}
