//! Decoders: how a line of a given log format becomes fields, labels and an
//! event time.
//!
//! Each format is one file with a `decode` function; the set of formats is
//! listed once, in [`Format`]. Decoding never fails hard: a line its format
//! cannot decode completely is reported as not a record (malformed) and is
//! still passed on, with no decoded fields (envelope labels such as Fly's
//! `region` stay when the envelope itself decoded).

pub mod apache;
pub mod clf;
pub mod convex;
pub mod cri;
pub mod custom;
pub mod detect;
pub mod fly;
pub mod json;
pub mod logfmt;
pub mod loki;
pub mod nginx;
pub mod python;
pub mod syslog;

use crate::formats::registry::Registry;
use crate::framing::RecordStart;
use crate::record::{Fields, Labels};
pub use json::Want;

/// A custom format of a loaded registry (`formats::registry::Registry::keep`),
/// compared by identity: two registries may each define a format `x`.
#[derive(Clone, Copy)]
pub struct CustomRef(pub &'static crate::formats::CustomFormat);

impl PartialEq for CustomRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for CustomRef {}

impl std::hash::Hash for CustomRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state)
    }
}

impl std::fmt::Debug for CustomRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Custom({:?})", self.0.name)
    }
}

/// An input format: a built-in one, or a custom one from `parsers/*.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text: every line is a record with no fields.
    Raw,
    /// NDJSON (structlog and friends).
    Json,
    Logfmt,
    /// Fly.io log-shipper/NATS envelope, `flyctl logs --json`, and
    /// `flyctl logs` plain output.
    Fly,
    /// nginx combined log format, with an optional trailing `$request_time`.
    Nginx,
    /// Apache common and combined log formats.
    Apache,
    /// syslog, RFC 5424 and RFC 3164, with or without `<PRI>`.
    Syslog,
    /// Python `logging` lines, tracebacks joined to their record.
    Python,
    /// Kubernetes CRI container logs, partial lines joined.
    Cri,
    /// Convex log-stream events, current and legacy schema.
    Convex,
    /// Loki push-API bodies and query responses: one record per entry.
    Loki,
    /// A user-defined format (`parsers/*.toml`).
    Custom(CustomRef),
}

impl Format {
    /// Every built-in format, in detection priority order.
    /// Formats whose lines are also JSON come before `Json`, so they win
    /// ties with it.
    pub const ALL: [Format; 11] = [
        Format::Loki,
        Format::Fly,
        Format::Convex,
        Format::Json,
        Format::Cri,
        Format::Nginx,
        Format::Apache,
        Format::Syslog,
        Format::Python,
        Format::Logfmt,
        Format::Raw,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Json => "json",
            Format::Logfmt => "logfmt",
            Format::Fly => "fly",
            Format::Nginx => "nginx",
            Format::Apache => "apache",
            Format::Syslog => "syslog",
            Format::Python => "python",
            Format::Cri => "cri",
            Format::Convex => "convex",
            Format::Loki => "loki",
            Format::Custom(f) => f.0.name.as_str(),
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Format::Raw => "plain text lines, no fields",
            Format::Json => {
                "one JSON object per line (structlog, NDJSON); nested keys flatten as a_b"
            }
            Format::Logfmt => "key=value pairs",
            Format::Fly => {
                "Fly.io log-shipper envelope, flyctl logs --json, flyctl logs plain output"
            }
            Format::Nginx => "nginx combined log, optional trailing $request_time",
            Format::Apache => "Apache common or combined log",
            Format::Syslog => "syslog: RFC 5424, RFC 3164 (BSD), /var/log/syslog files",
            Format::Python => "Python logging default formats, tracebacks joined",
            Format::Cri => "Kubernetes CRI container logs, partial lines joined",
            Format::Convex => {
                "Convex log-stream events (current and legacy schema, webhook batches)"
            }
            Format::Loki => "Loki push-API bodies and query responses (JSON): one record per entry",
            Format::Custom(f) => f.0.description.as_str(),
        }
    }

    /// A built-in format, else a custom one of `formats`, by name (only
    /// that definition is compiled; one that does not compile is `None`).
    pub fn from_name(name: &str, formats: &'static Registry) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .or_else(|| formats.get(name).map(|f| Format::Custom(CustomRef(f))))
    }

    /// The custom formats of a registry, in the order they were read
    /// (compiling each as it is reached).
    pub fn custom(formats: &'static Registry) -> impl Iterator<Item = Format> {
        formats.compiled().map(|f| Format::Custom(CustomRef(f)))
    }

    /// Envelope formats: each line carries the app's own line (what the
    /// query sees) and stream labels of its own.
    pub fn is_envelope(self) -> bool {
        matches!(self, Format::Fly | Format::Cri | Format::Loki)
    }

    /// Whether [`Format::join_lines`] rewrites the stream, so that offsets in
    /// what is framed are no longer offsets in the input.
    pub fn rewrites_stream(self) -> bool {
        matches!(self, Format::Cri | Format::Loki | Format::Convex)
    }

    /// The reader framing reads from: formats that join lines before
    /// framing (or split documents into lines) wrap the input. `name`
    /// names the input in warnings.
    pub fn join_lines(
        self,
        input: Box<dyn std::io::Read + Send>,
        max_line: usize,
        name: &str,
    ) -> Box<dyn std::io::Read + Send> {
        use crate::framing::bodies::BodySplitter;
        // A document holds many lines' worth of records.
        let max_body = max_line.saturating_mul(64);
        match self {
            Format::Cri => Box::new(cri::PartialJoiner::new(input, max_line)),
            Format::Loki => Box::new(BodySplitter::new(
                input,
                b'{',
                loki::explode,
                max_body,
                name,
            )),
            Format::Convex => Box::new(BodySplitter::new(
                input,
                b'[',
                convex::explode,
                max_body,
                name,
            )),
            _ => input,
        }
    }

    /// For multi-line formats: where a record starts (the framing joins
    /// the lines in between). `None`: every line is a record.
    pub fn record_start(self) -> Option<&'static RecordStart> {
        match self {
            Format::Python => Some(&python::RECORD_START),
            Format::Custom(f) => f.0.multiline.as_ref(),
            _ => None,
        }
    }
}

/// The result of decoding one line, in buffers reused across lines.
#[derive(Default)]
pub struct Decoded {
    /// Fields the format decoded (labels to the query at once, like Loki's
    /// structured metadata).
    pub fields: Fields,
    /// Stream labels that come with each line (Fly's `provider`, `region`,
    /// `instance`).
    pub line_labels: Fields,
    /// For envelope formats: the app's own line.
    pub app_line: Vec<u8>,
    pub has_app_line: bool,
    /// Event time from the record, if it has one.
    pub ts: Option<i64>,
    /// The record has a time field that did not read: it keeps its
    /// arrival time, and is counted.
    pub ts_invalid: bool,
    /// The (app) line is exactly one valid JSON object, so a `| json` stage
    /// has nothing left to do.
    pub json_object: bool,
    /// The line decoded as logfmt without error.
    pub logfmt_ok: bool,
    /// Names of the structured metadata among `fields` (Loki's entries),
    /// which come first in it: a parsed label of the same name takes the
    /// `_extracted` suffix (Loki: stream > metadata > parsed).
    pub metadata: Fields,
}

impl Decoded {
    pub fn reset(&mut self) {
        self.fields.clear();
        self.line_labels.clear();
        self.app_line.clear();
        self.has_app_line = false;
        self.ts = None;
        self.ts_invalid = false;
        self.json_object = false;
        self.logfmt_ok = false;
        self.metadata.clear();
    }

    /// Makes `self` a copy of `other`, reusing buffers.
    pub fn copy_from(&mut self, other: &Decoded) {
        self.fields.copy_from(&other.fields);
        self.line_labels.copy_from(&other.line_labels);
        self.app_line.clear();
        self.app_line.extend_from_slice(&other.app_line);
        self.has_app_line = other.has_app_line;
        self.ts = other.ts;
        self.ts_invalid = other.ts_invalid;
        self.json_object = other.json_object;
        self.logfmt_ok = other.logfmt_ok;
        self.metadata.copy_from(&other.metadata);
    }

    /// The line a query sees: the app's line for envelopes, else the input
    /// line.
    pub fn line<'a>(&'a self, input: &'a [u8]) -> &'a [u8] {
        if self.has_app_line {
            &self.app_line
        } else {
            input
        }
    }
}

/// What a decoder needs to know besides the line.
pub struct DecodeCtx<'a> {
    /// Fields the query reads (the decoder may extract more, never fewer).
    pub want: &'a Want,
    /// Whether the event time is needed (`--since`, JSON output, …).
    pub need_ts: bool,
    /// The input's stream labels: extracted names that clash get the
    /// `_extracted` suffix, as in Loki.
    pub stream: &'a Labels,
    /// Read values as LogQL labels: Loki blanks a JSON string holding
    /// U+FFFD. Metrics read values as data and keep them.
    pub label_values: bool,
    /// The clock for times without a year (RFC 3164 syslog): when the line
    /// was read, so a December line read in January is last year's.
    pub now_ns: i64,
}

impl DecodeCtx<'_> {
    /// Runs `f` with a context that wants every field and the event time of
    /// a line with no stream labels, read at `now_ns`: how `formats test`
    /// checks a sample, and how the decoders' tests decode.
    pub fn all_fields<R>(now_ns: i64, f: impl FnOnce(&DecodeCtx<'_>) -> R) -> R {
        let stream = Labels::new();
        f(&DecodeCtx {
            want: &Want::All,
            need_ts: true,
            stream: &stream,
            label_values: true,
            now_ns,
        })
    }
}

/// Field names, in priority order, that carry a JSON record's event time.
pub const TIME_FIELDS: [&str; 3] = ["timestamp", "time", "ts"];

/// Per-worker decoder state.
#[derive(Default)]
pub struct Decoder {
    json: json::JsonScanner,
    fly: fly::FlyScratch,
    clf: clf::Scratch,
    syslog: syslog::Scratch,
    convex: convex::ConvexScratch,
    loki: loki::LokiScratch,
    /// One per custom format seen, by the format's address (a worker
    /// meets one or two).
    custom: Vec<(usize, custom::CustomScratch)>,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Decodes `line` as `format` into `out` (reset first). Returns whether
    /// the line is a complete record; a `false` line is malformed but kept.
    pub fn decode(
        &mut self,
        format: Format,
        line: &[u8],
        ctx: &DecodeCtx<'_>,
        out: &mut Decoded,
    ) -> bool {
        out.reset();
        let ok = match format {
            Format::Raw => true,
            Format::Json => decode_json(&mut self.json, line, ctx, out),
            Format::Logfmt => logfmt::decode(line, ctx, out),
            Format::Fly => fly::decode(&mut self.fly, &mut self.json, line, ctx, out),
            Format::Nginx => nginx::decode(&mut self.clf, line, ctx, out),
            Format::Apache => apache::decode(&mut self.clf, line, ctx, out),
            Format::Syslog => syslog::decode(&mut self.syslog, line, ctx, out),
            Format::Python => python::decode(line, ctx, out),
            Format::Cri => cri::decode(&mut self.json, line, ctx, out),
            Format::Convex => convex::decode(&mut self.convex, &mut self.json, line, ctx, out),
            Format::Loki => loki::decode(&mut self.loki, &mut self.json, line, ctx, out),
            Format::Custom(f) => {
                let key = f.0 as *const crate::formats::CustomFormat as usize;
                let i = match self.custom.iter().position(|(k, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        self.custom.push((key, Default::default()));
                        self.custom.len() - 1
                    }
                };
                match custom::decode(f.0, &mut self.custom[i].1, line, ctx, out) {
                    custom::Outcome::Record => true,
                    custom::Outcome::RecordBadTime => {
                        out.ts_invalid = true;
                        true
                    }
                    custom::Outcome::Malformed => false,
                }
            }
        };
        user_labels_win(ctx.stream, &mut out.line_labels);
        ok
    }

    pub fn json_scanner(&mut self) -> &mut json::JsonScanner {
        &mut self.json
    }
}

/// A label given with `--label k=v` wins over a label of the same name that
/// the format sets (ARCHITECTURE.md, contract: "Records"): the line's own is
/// dropped. `filename` is the input's own, not the user's, so a format's
/// (Loki's stream label) still wins over it.
fn user_labels_win(stream: &Labels, line_labels: &mut Fields) {
    if line_labels.is_empty() || stream.iter().all(|(n, _)| n == "filename") {
        return;
    }
    line_labels.retain(|n, _| n == "filename" || !stream.contains(n));
}

/// Decodes one JSON object line (shared by the `json` format and the inner
/// line of Fly envelopes).
pub fn decode_json(
    scanner: &mut json::JsonScanner,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> bool {
    let clash = |n: &[u8]| ctx.stream.contains_bytes(n);
    let ok = scanner
        .scan_or_keep(ctx.label_values, line, ctx.want, &clash, &mut out.fields)
        .is_ok();
    out.json_object = ok;
    if !ok {
        out.fields.clear();
    }
    if ctx.need_ts {
        out.ts = TIME_FIELDS
            .iter()
            .find_map(|n| out.fields.get(n))
            .and_then(|v| crate::time::parse_event_time(v.as_bytes()));
    }
    ok
}

/// Wanted names plus the event-time fields when the time is needed.
pub fn want_with_time(want: &Want, need_ts: bool) -> Want {
    match want {
        Want::All => Want::All,
        _ if !need_ts => want.clone(),
        Want::Names(v) => {
            let mut v = v.to_vec();
            for t in TIME_FIELDS {
                if !v.iter().any(|n| n == t) {
                    v.push(t.to_string());
                }
            }
            Want::names(v)
        }
        Want::Nothing => Want::names(TIME_FIELDS),
    }
}
