//! The bodies of the cargo-fuzz targets in `fuzz/`, one function per
//! target, each taking the fuzzer's bytes.
//!
//! They live in the library, not in `fuzz/fuzz_targets/`, so that the normal
//! build type-checks them against the current API and `tests/fuzz_entries.rs`
//! runs each on the repository's own inputs: `fuzz/` is a workspace of its
//! own built only with a nightly toolchain, and a target whose call went
//! stale would otherwise break unnoticed. Each function must not panic on
//! any input; the asserts in them are the properties being fuzzed.

use std::io::{Cursor, Read};

use crate::decode::custom::{self, CustomScratch};
use crate::decode::{DecodeCtx, Decoded, Decoder, Format, Want};
use crate::formats::timestamp::TimestampSpec;
use crate::framing::{self, Chunker};
use crate::logql::ast::Expr;
use crate::logql::explain::explain;
use crate::logql::pattern::Pattern;
use crate::logql::pipeline::CompiledQuery;
use crate::logql::template::{Template, TemplateData};
use crate::record::Labels;
use crate::time;

/// 2024-06-01T00:00:00Z: a fixed clock, so runs reproduce.
const NOW_NS: i64 = 1_717_200_000_000_000_000;

/// Splits `data` at the first `sep`: (before, after); all of it and an
/// empty rest when there is none.
fn split_at_byte(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    }
}

/// LogQL queries: parse, compile log queries (regexes, templates, parser
/// patterns), explain, and check that the canonical printing re-parses and
/// prints the same. Error columns must lie within the query.
pub fn logql_parse(data: &[u8]) {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    let len = q.chars().count();
    let expr = match crate::logql::parse(q) {
        Ok(e) => e,
        Err(e) => {
            let col = e.column();
            assert!(
                (1..=len + 1).contains(&col),
                "error column {col} for {q:?}: {e}"
            );
            let _ = e.to_string();
            return;
        }
    };
    if let Expr::Log(log) = &expr {
        if let Err(e) = CompiledQuery::compile(log, Default::default()) {
            let e = e.into_query_error(q);
            let col = e.column();
            assert!(
                (1..=len + 1).contains(&col),
                "compile error column {col} for {q:?}: {e}"
            );
        }
    }
    let _ = explain(&expr);
    let printed = expr.to_string();
    let again = crate::logql::parse(&printed)
        .unwrap_or_else(|e| panic!("{q:?} printed as {printed:?} does not re-parse: {e}"));
    assert_eq!(printed, again.to_string(), "{q:?} printed twice differs");
}

/// LogQL `pattern` expressions: the input up to its first newline is the
/// pattern, the rest a line to match. The four ways of matching must agree.
pub fn pattern(data: &[u8]) {
    let (pat, line) = split_at_byte(data, b'\n');
    let Ok(pat) = std::str::from_utf8(pat) else {
        return;
    };
    let Ok(p) = Pattern::parse(pat) else {
        return;
    };
    let _ = p.names().count();
    let mut n = 0usize;
    p.captures(line, |name, v| {
        n += name.len() + v.len();
    });
    let full = p.captures_full(line, |_, _| {});
    assert_eq!(full, p.test(line));
    assert_eq!(full, p.mismatch(line).is_none());
}

/// User-defined formats (`parsers/*.toml`): the input up to its first NUL
/// byte is the definition; if it loads, its samples are checked, each line
/// of the rest is decoded with it, and its multi-line rule runs on the rest.
pub fn format_definition(data: &[u8]) {
    let (def, rest) = split_at_byte(data, 0);
    let Ok(text) = std::str::from_utf8(def) else {
        return;
    };
    let fmt = match crate::formats::definition::parse(text, "fuzz.toml") {
        Ok(f) => f,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = crate::formats::samples::check(&fmt, NOW_NS);
    let stream = Labels::new();
    let mut scratch = CustomScratch::default();
    let mut out = Decoded::default();
    for need_ts in [true, false] {
        let ctx = DecodeCtx {
            want: &Want::All,
            need_ts,
            stream: &stream,
            label_values: need_ts,
            now_ns: NOW_NS,
        };
        for line in rest.split(|&b| b == b'\n') {
            out.reset();
            let _ = custom::decode(&fmt, &mut scratch, line, &ctx, &mut out);
        }
    }
    if let Some(start) = &fmt.multiline {
        let _ = start.is_start(rest);
    }
}

/// The built-in decoders: the input as one line in every format, as a
/// stream through the readers in front of framing (CRI partial-line joiner,
/// Loki/Convex body splitters) and the multi-line (Python) framing, and as
/// a sample for format detection.
pub fn decoders(data: &[u8]) {
    let mut stream = Labels::new();
    stream.insert("app", "web");
    stream.insert("level", "info");
    let mut dec = Decoder::new();
    let mut out = Decoded::default();
    for (want, need_ts, label_values) in [
        (Want::All, true, true),
        (Want::names(["status", "msg", "level", "app"]), false, false),
    ] {
        let ctx = DecodeCtx {
            want: &want,
            need_ts,
            stream: &stream,
            label_values,
            now_ns: NOW_NS,
        };
        for f in Format::ALL {
            let _ = dec.decode(f, data, &ctx, &mut out);
            let _ = out.line(data).len();
        }
    }

    let _ = crate::decode::detect::detect(data, crate::formats::registry::Registry::empty());
    let _ = crate::decode::detect::is_pretty_json(data);

    // A small line limit reaches the too-long paths.
    for format in [Format::Cri, Format::Loki, Format::Convex] {
        for max_line in [16, 1 << 20] {
            let mut joined = Vec::new();
            let mut r = format.join_lines(Box::new(Cursor::new(data.to_vec())), max_line, "fuzz");
            let _ = r.read_to_end(&mut joined);
        }
    }

    // Multi-line records (Python tracebacks): framing cuts only where a
    // record starts, and a record over the limit stays one record, cut to
    // the limit; every input byte is accounted for.
    let rule = Format::Python.record_start();
    for max_line in [16, 1 << 20] {
        for fill in [true, false] {
            let mut chunker =
                Chunker::new(Cursor::new(data), max_line, fill).with_record_start(rule);
            let mut buf = Vec::new();
            while let Ok(Some((kind, n))) = chunker.next_chunk(&mut buf) {
                match kind {
                    framing::ChunkKind::Truncated => assert!(n <= max_line, "cut record too long"),
                    framing::ChunkKind::Lines => {
                        for record in framing::records(&buf[..n], rule) {
                            assert!(record.len() <= max_line, "record over the limit");
                        }
                    }
                }
                // (A last line without `\n` is handed out with one added.)
                assert!(
                    chunker.offset() <= data.len() as u64,
                    "framing is past the end of its input"
                );
            }
            assert_eq!(
                chunker.offset(),
                data.len() as u64,
                "input bytes unaccounted"
            );
        }
    }
}

/// Fixed labels a fuzzed template renders over (and the template tests).
pub struct FixedLabels(&'static [(&'static str, &'static str)]);

impl TemplateData for FixedLabels {
    fn label(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
    fn line(&self) -> &[u8] {
        b"the Line"
    }
    fn timestamp_ns(&self) -> i64 {
        // 2021-11-02T03:04:05.123456789Z
        1_635_822_245_123_456_789
    }
    fn for_each_label<'s>(&'s self, f: &mut dyn FnMut(&'s str, &'s str)) {
        for (k, v) in self.0 {
            f(k, v);
        }
    }
}

pub const TEMPLATE_LABELS: FixedLabels = FixedLabels(&[
    ("status", "503"),
    ("path", "/v1/items"),
    ("lvl", " warn "),
    ("err", "ErrTimeout"),
    (
        "json",
        r#"{"a":1,"b":[1,2.5,"x"],"c":{"d":null},"queries":[{"query":"q1"},{"query":"q2"}]}"#,
    ),
    ("from", "1679577215"),
    ("ms", "1679577215123"),
    ("ts", "2021-11-02T10:00:00Z"),
    ("n", "12"),
    ("f", "2.5"),
    ("hex", "0x1f"),
    ("b64", "aGVsbG8="),
    ("url", "a b&c=d/é"),
    ("multi", "a\nb"),
]);

/// `line_format`/`label_format` templates (Go text/template, from users):
/// parse, list fields, and render over fixed labels. Rendering is bounded
/// (output size, depth, loop iterations, function work), so a hang or an
/// out-of-memory here is a bug.
pub fn template(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let t = match Template::parse(src) {
        Ok(t) => t,
        Err((pos, _)) => {
            assert!(
                pos <= src.len(),
                "error position {pos} past the end of {src:?}"
            );
            return;
        }
    };
    let _ = t.fields();
    let _ = t.reads_all_labels();
    let _ = t.calls("now");
    let mut out = String::new();
    let _ = t.render(&TEMPLATE_LABELS, &mut out);
    let _ = t.named("label").render(&TEMPLATE_LABELS, &mut out);
}

/// Timestamp parsers: every `pub` parser in [`crate::time`] on the input,
/// the duration and size parsers of [`crate::units`], and user strftime
/// formats (`timestamp.format` in a format definition):
/// the input up to its first newline is the format, the rest the time.
pub fn time(data: &[u8]) {
    let _ = time::parse_rfc3339(data);
    let _ = time::parse_rfc2822(data);
    let _ = time::parse_epoch(data);
    let _ = time::parse_clf(data);
    let _ = time::fraction_digits(data);
    if let Some(ns) = time::parse_event_time(data) {
        let _ = time::format_rfc3339_nano(ns);
        let _ = time::format_rfc3339_digits(ns, time::fraction_digits(data));
    }
    for now in [NOW_NS, 0, i64::MIN, i64::MAX] {
        if let Some((_, used)) = time::parse_bsd_syslog(data, now) {
            assert!(used <= data.len());
        }
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::units::parse_duration(s);
    let _ = crate::units::parse_size(s);
    let _ = crate::units::parse_humanize_bytes(s);
    let _ = time::parse_cli_time(s, NOW_NS);
    let (fmt, text) = s.split_once('\n').unwrap_or((s, ""));
    for f in [None, Some(fmt)] {
        if let Ok(spec) = TimestampSpec::new("ts", f) {
            let _ = spec.parse(text, NOW_NS);
        }
    }
}

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by its name in `fuzz/Cargo.toml`.
pub const TARGETS: [(&str, Target); 6] = [
    ("logql_parse", logql_parse),
    ("pattern", pattern),
    ("format_definition", format_definition),
    ("decoders", decoders),
    ("template", template),
    ("time", time),
];
