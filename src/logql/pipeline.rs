//! A log query compiled for execution, and the per-worker state that runs it
//! over lines.
//!
//! Order of work for one line, cheapest first: the stream selector (once
//! per input, or per line for formats whose lines carry stream labels), the
//! leading line filters on the raw bytes, then decoding (only the fields the
//! query reads), the time range, and the stages in the order written.

use memchr::memmem::Finder;

use super::ast::{LabelFormatOp, LabelSelectorItem, LogExpr, Parser, Stage};
use super::label_filter::{FilterState, LabelFilterExec, StrMatch};
use super::line_filter::LineFilterExec;
use super::parser_stages::{self, ParserExec};
use super::template::{Template, TemplateData};
use super::CompileError;
use crate::batch::Batch;
pub use crate::batch::InputInfo;
use crate::decode::{self, DecodeCtx, Decoded, Decoder, Format, Want};
use crate::framing::{self, ChunkKind};
use crate::record::Labels;

/// One compiled stream matcher.
#[derive(Debug)]
pub struct MatcherExec {
    pub name: String,
    pub m: StrMatch,
}

#[derive(Debug)]
enum StageExec {
    LineFilter(LineFilterExec),
    Parser(ParserExec),
    LabelFilter(LabelFilterExec),
    LineFormat(Template),
    LabelFormat(Vec<LabelFormatExec>),
    Drop(Vec<SelectorExec>),
    Keep(Vec<SelectorExec>),
}

#[derive(Debug)]
enum LabelFormatExec {
    Rename { dst: String, src: String },
    Template { dst: String, t: Template },
}

#[derive(Debug)]
struct SelectorExec {
    name: String,
    m: Option<StrMatch>,
}

/// Options that change what the pipeline must produce.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompileOptions {
    /// Every label is printed (`--output jsonl`), so decoders extract all.
    pub all_labels: bool,
    /// Event time is needed (`--since`, `--until`, JSON output).
    pub need_ts: bool,
    /// Only lines that their format could not decode pass (`filter
    /// --malformed`): the way to see what a format misses, since decoding
    /// marks such lines by a count, not by `__error__`.
    pub malformed_only: bool,
    /// Decoded values are data, not label values: a value holding U+FFFD
    /// is kept as it is (the metrics report counts such a search query),
    /// where a label value would be turned as Loki turns it.
    pub raw_values: bool,
}

/// A log query ready to run.
#[derive(Debug)]
pub struct CompiledQuery {
    pub matchers: Vec<MatcherExec>,
    /// Line filters written before any other stage: they run on raw bytes
    /// before decoding.
    pre_filters: Vec<LineFilterExec>,
    stages: Vec<StageExec>,
    /// Fields the query reads.
    pub want: Want,
    pub need_ts: bool,
    all_labels: bool,
    malformed_only: bool,
    raw_values: bool,
    /// Labels the label filters read (at most 64), so a run can say which
    /// of them no line had ([`Stats::labels_seen`]).
    filter_labels: Vec<String>,
}

impl CompiledQuery {
    pub fn compile(expr: &LogExpr, opts: CompileOptions) -> Result<CompiledQuery, CompileError> {
        let matchers = expr
            .matchers
            .iter()
            .map(|m| {
                Ok(MatcherExec {
                    name: m.name.clone(),
                    m: StrMatch::compile(m.op, &m.value, m.pos)?,
                })
            })
            .collect::<Result<Vec<_>, CompileError>>()?;
        let mut pre_filters = Vec::new();
        let mut stages = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut filter_labels: Vec<String> = Vec::new();
        let mut all = opts.all_labels;
        // `__timestamp__` in a template needs the event time decoded.
        let mut need_ts = opts.need_ts;
        for stage in &expr.stages {
            let exec = match stage {
                Stage::LineFilter(f) => {
                    let lf = LineFilterExec::compile(f)?;
                    if stages.is_empty() {
                        pre_filters.push(lf);
                        continue;
                    }
                    StageExec::LineFilter(lf)
                }
                Stage::Parser(p) => {
                    if let Parser::Json(params) | Parser::Logfmt { params, .. } = p {
                        names.extend(params.iter().map(|p| p.label.clone()));
                    }
                    StageExec::Parser(ParserExec::compile(p)?)
                }
                Stage::Decolorize => StageExec::Parser(ParserExec::Decolorize),
                Stage::LabelFilter(f) => {
                    let e = LabelFilterExec::compile(f)?;
                    let before = names.len();
                    e.names(&mut names);
                    filter_labels.extend_from_slice(&names[before..]);
                    StageExec::LabelFilter(e)
                }
                Stage::LineFormat(t) => {
                    let tpl = compile_template(t, 0)?;
                    names.extend(tpl.fields());
                    all |= tpl.reads_all_labels();
                    need_ts |= tpl.calls("__timestamp__");
                    StageExec::LineFormat(tpl)
                }
                Stage::LabelFormat(ops) => {
                    let mut out = Vec::new();
                    for op in ops {
                        out.push(match op {
                            LabelFormatOp::Rename { dst, src } => {
                                names.push(src.clone());
                                LabelFormatExec::Rename {
                                    dst: dst.clone(),
                                    src: src.clone(),
                                }
                            }
                            LabelFormatOp::Template { dst, template } => {
                                let t = compile_template(template, 0)?.named("label");
                                names.extend(t.fields());
                                all |= t.reads_all_labels();
                                need_ts |= t.calls("__timestamp__");
                                LabelFormatExec::Template {
                                    dst: dst.clone(),
                                    t,
                                }
                            }
                        });
                    }
                    StageExec::LabelFormat(out)
                }
                Stage::Drop(items) => StageExec::Drop(compile_selectors(items)?),
                Stage::Keep(items) => {
                    names.extend(items.iter().map(|i| i.name.clone()));
                    StageExec::Keep(compile_selectors(items)?)
                }
                Stage::Unwrap(_) => {
                    return Err(CompileError::new(
                        0,
                        "unwrap is only valid inside a range aggregation",
                    ))
                }
            };
            if matches!(exec, StageExec::Keep(_)) && opts.all_labels {
                // `keep` bounds what is printed; only kept names are needed.
                all = false;
            }
            stages.push(exec);
        }
        names.retain(|n| !n.starts_with("__error"));
        names.sort();
        names.dedup();
        filter_labels.retain(|n| !n.starts_with("__error"));
        filter_labels.sort();
        filter_labels.dedup();
        filter_labels.truncate(64);
        let want = if all { Want::All } else { Want::names(names) };
        Ok(CompiledQuery {
            matchers,
            pre_filters,
            stages,
            want,
            need_ts,
            all_labels: opts.all_labels,
            malformed_only: opts.malformed_only,
            raw_values: opts.raw_values,
            filter_labels,
        })
    }

    /// The labels the label filters read; bit `i` of
    /// [`Stats::labels_seen`] says whether a line had the `i`th.
    pub fn filter_labels(&self) -> &[String] {
        &self.filter_labels
    }

    /// Whether a stream with these labels is selected (stream matchers are
    /// checked against stream labels only, as in Loki).
    pub fn selects(&self, labels: &dyn Fn(&str) -> Option<String>) -> bool {
        self.matchers
            .iter()
            .all(|m| m.m.matches(labels(&m.name).as_deref().unwrap_or("")))
    }

    /// A literal every selected line contains, when one is known before
    /// decoding: chunks can then be searched for it as a whole.
    pub fn chunk_literal(&self) -> Option<&Finder<'static>> {
        self.pre_filters.first().and_then(|f| f.required_literal())
    }

    /// Also extracts these fields (labels a caller reads that the query's
    /// own stages do not name).
    pub fn want_also(&mut self, names: &[String]) {
        if let Want::Names(v) = &self.want {
            let mut all: Vec<String> = v.to_vec();
            all.extend(names.iter().cloned());
            all.sort();
            all.dedup();
            self.want = Want::names(all);
        } else if matches!(self.want, Want::Nothing) && !names.is_empty() {
            self.want = Want::names(names.to_vec());
        }
    }

    /// Whether every stage only filters (no parser, no formatting, no
    /// label changes).
    pub fn only_filters(&self) -> bool {
        self.stages
            .iter()
            .all(|s| matches!(s, StageExec::LineFilter(_) | StageExec::LabelFilter(_)))
    }

    fn needs_decode(&self, format: Format) -> bool {
        format.is_envelope()
            || !self.stages.is_empty()
            || self.need_ts
            || self.all_labels
            || self.malformed_only
    }
}

/// Loki's `errTemplateFormat`.
const TEMPLATE_FORMAT_ERR: &str = "TemplateFormatErr";

fn compile_template(src: &str, pos: usize) -> Result<Template, CompileError> {
    Template::parse(src).map_err(|(at, msg)| {
        CompileError::new(pos, format!("invalid template at byte {at}: {msg}"))
    })
}

fn compile_selectors(items: &[LabelSelectorItem]) -> Result<Vec<SelectorExec>, CompileError> {
    items
        .iter()
        .map(|i| {
            Ok(SelectorExec {
                name: i.name.clone(),
                m: match &i.matcher {
                    Some((op, v)) => Some(StrMatch::compile(*op, v, 0)?),
                    None => None,
                },
            })
        })
        .collect()
}

/// Counters of what an executor saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub lines: u64,
    pub decoded: u64,
    pub malformed: u64,
    /// Records whose time field did not read (they keep arrival time).
    pub bad_time: u64,
    pub truncated: u64,
    pub matched: u64,
    /// Lines that passed the stream selector.
    pub selected: u64,
    /// Lines of envelope formats a literal search skipped: whether their
    /// stream labels matched is not known.
    pub unchecked: u64,
    /// Lines that reached a label filter.
    pub label_filtered: u64,
    /// Bit `i`: a line reaching a label filter had the label
    /// `CompiledQuery::filter_labels()[i]`.
    pub labels_seen: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.lines += o.lines;
        self.decoded += o.decoded;
        self.malformed += o.malformed;
        self.bad_time += o.bad_time;
        self.truncated += o.truncated;
        self.matched += o.matched;
        self.selected += o.selected;
        self.unchecked += o.unchecked;
        self.label_filtered += o.label_filtered;
        self.labels_seen |= o.labels_seen;
    }
}

/// Mutable per-line state, reused line after line (one per worker).
pub struct Exec<'q> {
    q: &'q CompiledQuery,
    decoder: Decoder,
    /// What the format decoded, and the fields stages extracted since.
    pub dec: Decoded,
    err: Option<&'static str>,
    err_details: String,
    /// The line after `line_format`.
    line_buf: Vec<u8>,
    replaced: bool,
    /// Stream and line labels have been copied into `dec.fields` (after
    /// `drop`, `keep` or `label_format`), which is then the whole label set.
    materialized: bool,
    ts: i64,
    scratch: parser_stages::Scratch,
    render: String,
    pub stats: Stats,
    time_range: Option<(i64, i64)>,
    want_ts: Want,
    /// The last input's serial and whether the selector matches it.
    selected: Option<(u64, bool)>,
    /// Whether the last line decoded completely in its format.
    decoded_ok: bool,
    /// The time of a line without one of its own (see [`Exec::run_batch`]):
    /// the last timed record's, or a later one's when none came before.
    fallback_ts: Option<i64>,
    /// The last timed record this worker saw, by input serial: the time of
    /// a chunk that has no timed record at all.
    last_timed: Option<(u64, i64)>,
    /// For looking ahead: what a time-only decode wants, and its output.
    want_time: Want,
    ahead: Decoded,
}

struct View<'a> {
    dec: &'a Decoded,
    stream: &'a Labels,
    materialized: bool,
    err: &'a mut Option<&'static str>,
    details: &'a mut String,
    line: &'a [u8],
    ts: i64,
}

fn lookup<'a>(
    name: &str,
    dec: &'a Decoded,
    stream: &'a Labels,
    materialized: bool,
    err: Option<&'static str>,
    details: &'a str,
) -> Option<&'a str> {
    if name == "__error__" {
        return err;
    }
    if name == "__error_details__" {
        return Some(details).filter(|d| !d.is_empty());
    }
    if let Some(v) = dec.fields.get(name) {
        return Some(v);
    }
    if materialized {
        return None;
    }
    dec.line_labels.get(name).or_else(|| stream.get(name))
}

impl FilterState for View<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        lookup(
            name,
            self.dec,
            self.stream,
            self.materialized,
            *self.err,
            self.details,
        )
    }
    fn has_error(&self) -> bool {
        self.err.is_some()
    }
    fn set_error(&mut self, err: &'static str, details: &str) {
        *self.err = Some(err);
        self.details.clear();
        self.details.push_str(details);
    }
}

impl TemplateData for View<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        FilterState::label(self, name)
    }
    fn line(&self) -> &[u8] {
        self.line
    }
    fn timestamp_ns(&self) -> i64 {
        self.ts
    }
    fn for_each_label<'s>(&'s self, f: &mut dyn FnMut(&'s str, &'s str)) {
        if !self.materialized {
            for (n, v) in self.stream.iter() {
                if !self.dec.fields.contains(n) && !self.dec.line_labels.contains(n) {
                    f(n, v);
                }
            }
            for (n, v) in self.dec.line_labels.iter() {
                if !self.dec.fields.contains(n) {
                    f(n, v);
                }
            }
        }
        for (n, v) in self.dec.fields.iter() {
            f(n, v);
        }
        // Loki keeps the error and its details apart (LabelsBuilder's err
        // and errDetails): `drop __error__` leaves the details.
        if let Some(e) = *self.err {
            f("__error__", e);
        }
        if !self.details.is_empty() {
            f("__error_details__", self.details);
        }
    }
}

/// The labels of a record frozen at one point of a `label_format` stage.
struct Snapshot<'a> {
    labels: &'a [(String, String)],
    line: &'a [u8],
    ts: i64,
}

impl TemplateData for Snapshot<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn line(&self) -> &[u8] {
        self.line
    }
    fn timestamp_ns(&self) -> i64 {
        self.ts
    }
    fn for_each_label<'s>(&'s self, f: &mut dyn FnMut(&'s str, &'s str)) {
        for (n, v) in self.labels {
            f(n, v);
        }
    }
}

impl<'q> Exec<'q> {
    pub fn new(q: &'q CompiledQuery, time_range: Option<(i64, i64)>) -> Exec<'q> {
        Exec {
            q,
            decoder: Decoder::new(),
            dec: Decoded::default(),
            err: None,
            err_details: String::new(),
            line_buf: Vec::new(),
            replaced: false,
            materialized: false,
            ts: 0,
            scratch: parser_stages::Scratch::default(),
            render: String::new(),
            stats: Stats::default(),
            time_range,
            want_ts: decode::want_with_time(&q.want, q.need_ts || time_range.is_some()),
            selected: None,
            decoded_ok: false,
            fallback_ts: None,
            last_timed: None,
            want_time: decode::want_with_time(&Want::Nothing, true),
            ahead: Decoded::default(),
        }
    }

    /// The event time of one line, read with a time-only decode.
    fn time_of(&mut self, input: &InputInfo, line: &[u8], now_ns: i64) -> Option<i64> {
        let ctx = DecodeCtx {
            want: &self.want_time,
            need_ts: true,
            stream: &input.labels,
            label_values: false,
            now_ns,
        };
        self.decoder
            .decode(input.format, line, &ctx, &mut self.ahead);
        self.ahead.ts
    }

    /// The time of the last line of `gap` (lines, a literal search skipped)
    /// that has one.
    fn last_time_in(&mut self, input: &InputInfo, gap: &[u8], now_ns: i64) -> Option<i64> {
        let gap = gap.strip_suffix(b"\n").unwrap_or(gap);
        gap.rsplit(|&b| b == b'\n')
            .find_map(|line| self.time_of(input, line.strip_suffix(b"\r").unwrap_or(line), now_ns))
    }

    /// The time of the first record of `data` that has one (records a line
    /// filter would drop count too: the rule is about the input, not the
    /// query).
    fn first_time_in(&mut self, input: &InputInfo, data: &[u8], now_ns: i64) -> Option<i64> {
        framing::records(data, input.format.record_start())
            .find_map(|record| self.time_of(input, record, now_ns))
    }

    /// Whether the stream selector matches the input's own labels: decided
    /// once per input (formats with per-line stream labels decide per line).
    fn selects_input(&mut self, input: &InputInfo) -> bool {
        match self.selected {
            Some((serial, yes)) if serial == input.serial => yes,
            _ => {
                let yes = matchers_select(&self.q.matchers, &input.labels);
                self.selected = Some((input.serial, yes));
                yes
            }
        }
    }

    /// The record loop every command shares: runs the query over each line
    /// (or multi-line record) of a batch and hands each selected one to
    /// `on_selected`. When the query's first stage needs a literal, the
    /// batch is searched for it as a whole, as grep does, and lines without
    /// it are never looked at one by one. Framing has cut every line and
    /// multi-line record over the limit already; `cut_at` (the filter's)
    /// only guards what it prints.
    pub fn run_batch(
        &mut self,
        batch: &Batch,
        cut_at: Option<usize>,
        on_selected: impl FnMut(Selected<'_, 'q>),
    ) {
        let (lines, decoded) = (self.stats.lines, self.stats.decoded);
        self.run_batch_lines(batch, cut_at, on_selected);
        let input = &*batch.input;
        if !input.format.is_envelope() {
            if self.selects_input(input) {
                self.stats.selected += self.stats.lines - lines;
            }
        } else {
            // Every envelope line looked at is decoded.
            self.stats.unchecked +=
                (self.stats.lines - lines).saturating_sub(self.stats.decoded - decoded);
        }
    }

    fn run_batch_lines(
        &mut self,
        batch: &Batch,
        cut_at: Option<usize>,
        mut on_selected: impl FnMut(Selected<'_, 'q>),
    ) {
        let input = &*batch.input;
        let data = batch.bytes();
        let arrival = batch.arrival_ns;
        // A line without a time of its own takes the time of the record
        // before it in the input, or of the first one after it in this
        // chunk when none came before in it; only a chunk without any timed
        // record falls back to what this worker last saw of the input, and
        // an input that has shown none to the time it was read. So answers
        // over old files do not depend on the clock.
        self.fallback_ts = None;
        if self.q.need_ts || self.time_range.is_some() {
            self.fallback_ts = self
                .first_time_in(input, data, arrival)
                .or(match self.last_timed {
                    Some((serial, ts)) if serial == input.serial => Some(ts),
                    _ => None,
                });
        }
        // `gap`: the lines between the last one looked at and this one,
        // which a literal search skipped (their times were not read).
        let mut one = |exec: &mut Exec<'q>, line: &[u8], gap: &[u8]| {
            let line = match cut_at {
                Some(max) if line.len() > max => {
                    exec.stats.truncated += 1;
                    &line[..max]
                }
                _ => line,
            };
            if exec.process_after(input, line, arrival, gap) {
                on_selected(Selected {
                    exec,
                    input,
                    raw: line,
                });
            }
        };
        if batch.kind == ChunkKind::Truncated {
            self.stats.lines += 1;
            self.stats.truncated += 1;
            one(self, data, &[]);
            return;
        }
        let literal = match input.format {
            // Envelope lines carry the app line escaped: no raw search.
            Format::Fly => None,
            // A hit's line may be inside a record of many lines.
            f if f.record_start().is_some() => None,
            _ => self.q.chunk_literal(),
        };
        if let Some(finder) = literal {
            self.stats.lines += memchr::memchr_iter(b'\n', data).count() as u64;
            let mut pos = 0;
            while pos < data.len() {
                let Some(i) = finder.find(&data[pos..]) else {
                    break;
                };
                let hit = pos + i;
                let start = memchr::memrchr(b'\n', &data[..hit]).map_or(0, |p| p + 1);
                let end = memchr::memchr(b'\n', &data[hit..]).map_or(data.len(), |p| hit + p);
                let line = &data[start..end];
                one(
                    self,
                    line.strip_suffix(b"\r").unwrap_or(line),
                    &data[pos..start],
                );
                pos = end + 1;
            }
        } else {
            for line in framing::records(data, input.format.record_start()) {
                self.stats.lines += 1;
                one(self, line, &[]);
            }
        }
    }

    /// Whether the last line decoded completely in its format.
    pub fn decoded_ok(&self) -> bool {
        self.decoded_ok
    }

    /// The view of the last selected record.
    pub fn record<'a>(&'a self, input: &'a InputInfo, raw: &'a [u8]) -> Record<'a> {
        Record {
            exec: self,
            input,
            raw,
        }
    }

    pub fn query(&self) -> &'q CompiledQuery {
        self.q
    }

    /// Runs the query on one line; returns whether it is selected. After a
    /// `true`, [`Exec::line`], [`Exec::labels`] and [`Exec::timestamp`]
    /// describe the result.
    pub fn process(&mut self, input: &InputInfo, raw: &[u8], arrival_ns: i64) -> bool {
        self.process_after(input, raw, arrival_ns, &[])
    }

    /// [`Exec::process`] for a line that follows `gap`, lines not looked
    /// at: a line without a time takes the last time among them.
    fn process_after(
        &mut self,
        input: &InputInfo,
        raw: &[u8],
        arrival_ns: i64,
        gap: &[u8],
    ) -> bool {
        let q = self.q;
        self.err = None;
        self.err_details.clear();
        self.replaced = false;
        self.materialized = false;
        self.ts = self.fallback_ts.unwrap_or(arrival_ns);
        // Envelope lines carry their own stream labels and app line: the
        // selector and line filters are checked once decoded.
        let envelope = input.format.is_envelope();
        if !envelope && !self.selects_input(input) {
            return false;
        }
        if !envelope && !q.pre_filters.iter().all(|f| f.matches(raw)) {
            return false;
        }
        if q.needs_decode(input.format) {
            let need_ts = q.need_ts || self.time_range.is_some();
            let ctx = DecodeCtx {
                want: &self.want_ts,
                need_ts,
                stream: &input.labels,
                label_values: !q.raw_values,
                now_ns: arrival_ns,
            };
            let ok = self.decoder.decode(input.format, raw, &ctx, &mut self.dec);
            self.decoded_ok = ok;
            self.stats.decoded += 1;
            if !ok {
                self.stats.malformed += 1;
            }
            if self.dec.ts_invalid {
                self.stats.bad_time += 1;
            }
            if ok && q.malformed_only {
                return false;
            }
            if let Some(ts) = self.dec.ts {
                self.ts = ts;
                self.fallback_ts = Some(ts);
                self.last_timed = Some((input.serial, ts));
            } else if need_ts && !gap.is_empty() {
                if let Some(ts) = self.last_time_in(input, gap, arrival_ns) {
                    self.ts = ts;
                    self.fallback_ts = Some(ts);
                    self.last_timed = Some((input.serial, ts));
                }
            }
        } else {
            self.dec.reset();
            self.decoded_ok = false;
        }
        if envelope {
            if !self.selects_decoded_labels(input) {
                return false;
            }
            self.stats.selected += 1;
            if !q.pre_filters.iter().all(|f| f.matches(self.dec.line(raw))) {
                return false;
            }
        }
        if let Some((start, end)) = self.time_range {
            if self.ts < start || self.ts >= end {
                return false;
            }
        }
        self.run_stages(input, raw)
    }

    /// The stages in order; counts the line if all keep it.
    fn run_stages(&mut self, input: &InputInfo, raw: &[u8]) -> bool {
        let mut probed = false;
        for stage in &self.q.stages {
            if let StageExec::LabelFilter(_) = stage {
                self.probe_labels(input, &mut probed);
            }
            if !self.run_stage(stage, input, raw) {
                return false;
            }
        }
        self.stats.matched += 1;
        true
    }

    /// Notes which of the labels the label filters read this line has
    /// (until each has been seen once), and counts the line once.
    fn probe_labels(&mut self, input: &InputInfo, probed: &mut bool) {
        if !*probed {
            *probed = true;
            self.stats.label_filtered += 1;
        }
        let names = &self.q.filter_labels;
        let all = u64::MAX >> (64 - names.len().max(1));
        if self.stats.labels_seen & all == all {
            return;
        }
        for (i, n) in names.iter().enumerate() {
            if self.stats.labels_seen & (1 << i) == 0 && self.label(input, n).is_some() {
                self.stats.labels_seen |= 1 << i;
            }
        }
    }

    /// Like [`Exec::process`], for a line another component already
    /// decoded (the metrics engine evaluates its rule queries so, without
    /// decoding each line once per rule).
    /// `on_selected` runs on a selected record, while its labels can be
    /// read. The decoded line is lent, not copied, when the query only
    /// filters; it is handed back unchanged either way.
    pub fn process_decoded<R>(
        &mut self,
        input: &InputInfo,
        raw: &[u8],
        decoded: &mut Decoded,
        arrival_ns: i64,
        on_selected: impl FnOnce(&Exec<'q>) -> R,
    ) -> Option<R> {
        if self.q.only_filters() {
            std::mem::swap(&mut self.dec, decoded);
            let out = self
                .run_decoded(input, raw, arrival_ns)
                .then(|| on_selected(self));
            std::mem::swap(&mut self.dec, decoded);
            out
        } else {
            self.dec.copy_from(decoded);
            self.run_decoded(input, raw, arrival_ns)
                .then(|| on_selected(self))
        }
    }

    /// The selector (over input and per-line stream labels) and the leading
    /// line filters, for a line already decoded.
    fn selects_decoded(&self, input: &InputInfo, raw: &[u8]) -> bool {
        self.selects_decoded_labels(input)
            && self
                .q
                .pre_filters
                .iter()
                .all(|f| f.matches(self.dec.line(raw)))
    }

    /// The selector over input and per-line stream labels.
    fn selects_decoded_labels(&self, input: &InputInfo) -> bool {
        let dec = &self.dec;
        self.q.matchers.iter().all(|m| {
            let v = dec
                .line_labels
                .get(&m.name)
                .or_else(|| input.labels.get(&m.name))
                .unwrap_or("");
            m.m.matches(v)
        })
    }

    fn run_decoded(&mut self, input: &InputInfo, raw: &[u8], arrival_ns: i64) -> bool {
        self.err = None;
        self.err_details.clear();
        self.replaced = false;
        self.materialized = false;
        match self.dec.ts {
            Some(ts) => {
                self.ts = ts;
                self.fallback_ts = Some(ts);
                self.last_timed = Some((input.serial, ts));
            }
            None => self.ts = self.fallback_ts.unwrap_or(arrival_ns),
        }
        self.selects_decoded(input, raw) && self.run_stages(input, raw)
    }

    /// The value of a label of the last selected record.
    pub fn label<'a>(&'a self, input: &'a InputInfo, name: &str) -> Option<&'a str> {
        lookup(
            name,
            &self.dec,
            &input.labels,
            self.materialized,
            self.err,
            &self.err_details,
        )
    }

    fn run_stage(&mut self, stage: &StageExec, input: &InputInfo, raw: &[u8]) -> bool {
        let line: &[u8] = if self.replaced {
            &self.line_buf
        } else if self.dec.has_app_line {
            &self.dec.app_line
        } else {
            raw
        };
        match stage {
            StageExec::LineFilter(f) => f.matches(line),
            StageExec::Parser(p) => {
                let stream = &input.labels;
                let line_labels = &self.dec.line_labels;
                let metadata = &self.dec.metadata;
                let materialized = self.materialized;
                // Loki's precedence: stream > structured metadata > parsed.
                let clash = |n: &str| {
                    !materialized
                        && (stream.contains(n) || line_labels.contains(n) || metadata.contains(n))
                };
                let already = !self.replaced
                    && match p {
                        ParserExec::Json => self.dec.json_object,
                        ParserExec::Logfmt {
                            strict: _,
                            keep_empty: false,
                        } => self.dec.logfmt_ok,
                        _ => false,
                    };
                if already {
                    return true;
                }
                let out = p.run(
                    line,
                    &self.q.want,
                    &clash,
                    &mut self.scratch,
                    &mut self.dec.fields,
                    metadata.len(),
                );
                match out {
                    parser_stages::Outcome::Ok => {}
                    // Loki's addErrLabel: details only come with an error
                    // that has them.
                    parser_stages::Outcome::Error(e, details) => {
                        self.err = Some(e);
                        if !details.is_empty() {
                            self.err_details.clear();
                            self.err_details.push_str(&details);
                        }
                    }
                    parser_stages::Outcome::ReplaceLine(new_line) => {
                        self.line_buf = new_line;
                        self.replaced = true;
                    }
                }
                true
            }
            StageExec::LabelFilter(f) => {
                let mut view = View {
                    dec: &self.dec,
                    stream: &input.labels,
                    materialized: self.materialized,
                    err: &mut self.err,
                    details: &mut self.err_details,
                    line,
                    ts: self.ts,
                };
                f.eval(&mut view)
            }
            StageExec::LineFormat(t) => {
                let view = View {
                    dec: &self.dec,
                    stream: &input.labels,
                    materialized: self.materialized,
                    err: &mut self.err,
                    details: &mut self.err_details,
                    line,
                    ts: self.ts,
                };
                match t.render(&view, &mut self.render) {
                    Ok(()) => {
                        self.line_buf.clear();
                        self.line_buf.extend_from_slice(self.render.as_bytes());
                        self.replaced = true;
                    }
                    // As Loki: the line is kept and the error recorded.
                    Err(e) => self.set_template_error(&e),
                }
                true
            }
            StageExec::LabelFormat(ops) => {
                self.materialize(input);
                // Loki renders every template of one stage against the
                // labels as they were at its first template: a template
                // does not see what an earlier one in the stage set.
                let templates = ops
                    .iter()
                    .filter(|o| matches!(o, LabelFormatExec::Template { .. }))
                    .count();
                let mut snapshot: Option<Vec<(String, String)>> = None;
                for op in ops {
                    match op {
                        LabelFormatExec::Rename { dst, src } => {
                            // As Loki: a missing source changes nothing
                            // (`dst` keeps whatever it had); otherwise set
                            // then delete, in that order, so `a=a` removes
                            // `a` as Loki's does.
                            let v = self.dec.fields.get(src).map(str::to_string);
                            if let Some(v) = v {
                                self.dec.fields.set(dst, &v);
                                self.dec.fields.remove(src);
                            }
                        }
                        LabelFormatExec::Template { dst, t } => {
                            let line: &[u8] = if self.replaced {
                                &self.line_buf
                            } else if self.dec.has_app_line {
                                &self.dec.app_line
                            } else {
                                raw
                            };
                            let view = View {
                                dec: &self.dec,
                                stream: &input.labels,
                                materialized: true,
                                err: &mut self.err,
                                details: &mut self.err_details,
                                line,
                                ts: self.ts,
                            };
                            let rendered = if templates > 1 {
                                let labels = snapshot.get_or_insert_with(|| {
                                    let mut v = Vec::new();
                                    view.for_each_label(&mut |n, val| {
                                        v.push((n.to_string(), val.to_string()))
                                    });
                                    v
                                });
                                let snap = Snapshot {
                                    labels,
                                    line,
                                    ts: self.ts,
                                };
                                t.render(&snap, &mut self.render)
                            } else {
                                t.render(&view, &mut self.render)
                            };
                            match rendered {
                                Ok(()) => self.dec.fields.set(dst, &self.render),
                                // As Loki: the label is left as it was.
                                Err(e) => self.set_template_error(&e),
                            }
                        }
                    }
                }
                true
            }
            StageExec::Drop(items) => {
                self.materialize(input);
                for item in items {
                    let hit = |v: &str| item.m.as_ref().is_none_or(|m| m.matches(v));
                    if item.name == "__error__" {
                        if self.err.is_some_and(hit) {
                            self.err = None;
                        }
                        continue;
                    }
                    if item.name == "__error_details__" {
                        if hit(&self.err_details) {
                            self.err_details.clear();
                        }
                        continue;
                    }
                    self.dec.fields.retain(|n, v| !(n == item.name && hit(v)));
                }
                true
            }
            StageExec::Keep(items) => {
                self.materialize(input);
                self.dec.fields.retain(|n, v| {
                    items
                        .iter()
                        .any(|i| i.name == n && i.m.as_ref().is_none_or(|m| m.matches(v)))
                });
                true
            }
        }
    }

    /// A template that fails to execute sets `__error__` as Loki's does,
    /// with Go's message as the details.
    fn set_template_error(&mut self, details: &str) {
        self.err = Some(TEMPLATE_FORMAT_ERR);
        self.err_details.clear();
        self.err_details.push_str(details);
    }

    /// Copies stream and line labels into the field table, which from then
    /// on is the complete label set.
    fn materialize(&mut self, input: &InputInfo) {
        if self.materialized {
            return;
        }
        let Decoded {
            fields,
            line_labels,
            ..
        } = &mut self.dec;
        for (n, v) in line_labels.iter().chain(input.labels.iter()) {
            if !fields.contains(n) {
                fields.set(n, v);
            }
        }
        self.materialized = true;
    }

    /// The line to print for the last selected record.
    pub fn line<'a>(&'a self, raw: &'a [u8]) -> &'a [u8] {
        if self.replaced {
            &self.line_buf
        } else {
            self.dec.line(raw)
        }
    }

    /// The event time of the last record (arrival time if it has none).
    pub fn timestamp(&self) -> i64 {
        self.ts
    }

    /// Calls `f` for every label of the last selected record, in no
    /// particular order: stream labels, line labels, fields and errors.
    pub fn for_each_label<'a>(&'a self, input: &'a InputInfo, mut f: impl FnMut(&'a str, &'a str)) {
        if !self.materialized {
            for (n, v) in input.labels.iter() {
                if !self.dec.fields.contains(n) && !self.dec.line_labels.contains(n) {
                    f(n, v);
                }
            }
            for (n, v) in self.dec.line_labels.iter() {
                if !self.dec.fields.contains(n) {
                    f(n, v);
                }
            }
        }
        for (n, v) in self.dec.fields.iter() {
            f(n, v);
        }
        if let Some(e) = self.err {
            f("__error__", e);
        }
        if !self.err_details.is_empty() {
            f("__error_details__", &self.err_details);
        }
    }

    /// The error label of the last record, if any.
    pub fn error(&self) -> Option<&'static str> {
        self.err
    }
}

/// A record the executor just selected, handed to the record loop's
/// consumer with the executor itself (the metrics engine runs its rule
/// queries on what this one decoded).
pub struct Selected<'a, 'q> {
    pub exec: &'a mut Exec<'q>,
    pub input: &'a InputInfo,
    pub raw: &'a [u8],
}

impl Selected<'_, '_> {
    pub fn record(&self) -> Record<'_> {
        self.exec.record(self.input, self.raw)
    }
}

/// A selected record as every consumer sees it: its line (after
/// `line_format`), time, labels and error, read from the executor that
/// selected it. Valid until the executor processes the next line.
pub struct Record<'a> {
    pub exec: &'a Exec<'a>,
    pub input: &'a InputInfo,
    /// The line as read (before envelopes are opened or lines formatted).
    pub raw: &'a [u8],
}

impl<'a> Record<'a> {
    /// The line to print: the input line, the app's line of an envelope,
    /// or the `line_format` output.
    pub fn line(&self) -> &'a [u8] {
        self.exec.line(self.raw)
    }

    /// The event time (arrival time for a line without one).
    pub fn timestamp(&self) -> i64 {
        self.exec.timestamp()
    }

    pub fn label(&self, name: &str) -> Option<&'a str> {
        self.exec.label(self.input, name)
    }

    /// Every label, in no particular order: stream labels, line labels,
    /// fields, then `__error__` and `__error_details__` when set.
    pub fn for_each_label(&self, f: impl FnMut(&'a str, &'a str)) {
        self.exec.for_each_label(self.input, f)
    }

    /// The error label, if a stage set one.
    pub fn error(&self) -> Option<&'static str> {
        self.exec.error()
    }
}

/// Whether a stream matcher list selects `labels` (used per input).
pub fn matchers_select(matchers: &[MatcherExec], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.m.matches(labels.get(&m.name).unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logql::ast::Expr;
    use crate::logql::parse;

    /// Runs `query` over `lines` (format `format`, stream labels `labels`)
    /// and returns, per selected line, the printed line and its labels.
    fn run(
        query: &str,
        format: Format,
        labels: &[(&str, &str)],
        lines: &[&str],
    ) -> Vec<(String, Vec<(String, String)>)> {
        let Ok(Expr::Log(log)) = parse(query) else {
            panic!("not a log query: {query}")
        };
        let q = CompiledQuery::compile(
            &log,
            CompileOptions {
                all_labels: true,
                need_ts: false,
                ..Default::default()
            },
        )
        .unwrap();
        let mut l = Labels::new();
        for (k, v) in labels {
            l.insert(*k, *v);
        }
        let input = InputInfo::new(Default::default(), "t".into(), l, format);
        let mut exec = Exec::new(&q, None);
        let mut out = Vec::new();
        for line in lines {
            if exec.process(&input, line.as_bytes(), 0) {
                let mut ls = Vec::new();
                exec.for_each_label(&input, |n, v| ls.push((n.to_string(), v.to_string())));
                ls.sort();
                out.push((
                    String::from_utf8_lossy(exec.line(line.as_bytes())).into_owned(),
                    ls,
                ));
            }
        }
        out
    }

    fn printed(query: &str, lines: &[&str]) -> Vec<String> {
        run(query, Format::Raw, &[], lines)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    const LINES: [&str; 5] = [
        r#"{"status":503,"path":"/v1/x","q":"a"}"#,
        r#"{"status":200,"path":"/v1"}"#,
        r#"{"path":"/v1/y"}"#,
        "plain text",
        r#"{"status":"abc"}"#,
    ];

    /// Loki 3 (grafana/loki#12378, `NumericLabelFilter.Process`): the
    /// error line without `status` ("plain text") is dropped.
    #[test]
    fn numeric_filters_drop_error_lines_without_the_label() {
        assert_eq!(
            printed("| json | status >= 500", &LINES),
            vec![LINES[0], LINES[4]]
        );
        // `{"status":"abc"}` is valid JSON: it reaches the numeric filter,
        // which cannot parse "abc", sets LabelFilterErr and passes it.
        assert_eq!(
            printed(r#"| json | __error__="" | status >= 500"#, &LINES),
            vec![LINES[0], LINES[4]]
        );
        assert_eq!(
            printed(
                r#"| json | __error__="" | status >= 500 | __error__="""#,
                &LINES
            ),
            vec![LINES[0]]
        );
        // "abc" is not a number: LabelFilterErr is set, and the line passes.
        let got = run("| json | status >= 500", Format::Raw, &[], &LINES[4..]);
        assert!(got[0]
            .1
            .contains(&("__error__".to_string(), "LabelFilterErr".to_string())));
    }

    #[test]
    fn missing_labels() {
        // String filters read a missing label as "".
        assert_eq!(
            printed(r#"| json | __error__="" | q="""#, &LINES),
            vec![LINES[1], LINES[2], LINES[4]]
        );
        // Numeric filters drop lines without the label.
        assert_eq!(
            printed(r#"| json | __error__="" | status < 1000"#, &LINES),
            vec![LINES[0], LINES[1], LINES[4]]
        );
    }

    #[test]
    fn anchoring() {
        assert_eq!(printed(r#"| json | path=~"/v1""#, &LINES), vec![LINES[1]]);
        assert_eq!(printed(r#"|~ "/v1""#, &LINES).len(), 3);
    }

    #[test]
    fn or_evaluates_both_sides() {
        // Left side fails, right side matches: the line passes.
        assert_eq!(
            printed(
                r#"| json | __error__="" | status >= 500 or path="/v1/y""#,
                &LINES
            ),
            vec![LINES[0], LINES[2], LINES[4]]
        );
    }

    #[test]
    fn extracted_suffix_for_stream_labels() {
        let got = run(
            "| json",
            Format::Raw,
            &[("app", "api")],
            &[r#"{"app":"other","x":1}"#],
        );
        let labels = &got[0].1;
        assert!(labels.contains(&("app".into(), "api".into())));
        assert!(labels.contains(&("app_extracted".into(), "other".into())));
    }

    #[test]
    fn format_fields_are_labels_without_a_parser() {
        let got = run(
            "| status >= 500",
            Format::Json,
            &[],
            &[r#"{"status":503}"#, r#"{"status":200}"#],
        );
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn selector_uses_stream_labels_only() {
        assert_eq!(
            run(
                r#"{job="api"} | json"#,
                Format::Raw,
                &[("job", "api")],
                &LINES[..1]
            )
            .len(),
            1
        );
        assert!(run(
            r#"{job="web"} | json"#,
            Format::Raw,
            &[("job", "api")],
            &LINES[..1]
        )
        .is_empty());
    }

    /// Loki's Test_DropLabels ("drop by __error__"): dropping `__error__`
    /// leaves `__error_details__`, which only its own drop removes
    /// (dropLabelMatches resets err and errDetails apart).
    #[test]
    fn drop_error_leaves_its_details_as_loki() {
        let names = |q: &str| -> Vec<String> {
            let got = run(q, Format::Raw, &[], &["plain text"]);
            let mut v: Vec<String> = got[0].1.iter().map(|(n, _)| n.clone()).collect();
            v.sort();
            v
        };
        assert_eq!(names("| json"), ["__error__", "__error_details__"]);
        assert_eq!(
            names(r#"| json | drop __error__="JSONParserErr""#),
            ["__error_details__"]
        );
        assert_eq!(
            names(r#"| json | drop __error__, __error_details__"#),
            Vec::<String>::new()
        );
        // The details stay visible to later stages too.
        let got = run(
            r#"| json | drop __error__ | __error_details__!="""#,
            Format::Raw,
            &[],
            &["plain text"],
        );
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn drop_keep_and_label_format() {
        let got = run(
            r#"| json | drop q, status="503""#,
            Format::Raw,
            &[],
            &LINES[..1],
        );
        assert_eq!(got[0].1, vec![("path".to_string(), "/v1/x".to_string())]);
        let got = run(
            r#"| json | keep path"#,
            Format::Raw,
            &[("job", "x")],
            &LINES[..1],
        );
        assert_eq!(got[0].1, vec![("path".to_string(), "/v1/x".to_string())]);
        let got = run(
            r#"| json | label_format route=path, s="{{.status}}!""#,
            Format::Raw,
            &[],
            &LINES[..1],
        );
        let names: Vec<&str> = got[0].1.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"route") && !names.contains(&"path"));
        assert!(got[0].1.contains(&("s".into(), "503!".into())));
        // Renaming a label that is not there changes nothing (Loki's
        // LabelsFormatter only renames what it finds): no empty `route`,
        // and an existing `path` is not overwritten.
        let got = run(
            r#"| json | label_format route=nope, path=nope"#,
            Format::Raw,
            &[],
            &LINES[..1],
        );
        assert!(!got[0].1.iter().any(|(n, _)| n == "route" || n == "nope"));
        assert!(got[0].1.contains(&("path".into(), "/v1/x".into())));
        // `path=path` sets then deletes `path` (Loki's order).
        let got = run(
            r#"| json | label_format path=path"#,
            Format::Raw,
            &[],
            &LINES[..1],
        );
        assert!(!got[0].1.iter().any(|(n, _)| n == "path"));
    }

    #[test]
    fn line_format_then_filters_see_the_new_line() {
        assert_eq!(
            printed(
                r#"| json | __error__="" | line_format "{{.path}} {{.status}}" |= "503""#,
                &LINES
            ),
            vec!["/v1/x 503"]
        );
    }

    #[test]
    fn template_errors_set_template_format_err() {
        // Loki's LineFormatter: on an execution error the line is kept and
        // __error__/__error_details__ say why.
        let out = run(
            r#"| json | line_format "{{ div 1 0 }}""#,
            Format::Raw,
            &[],
            &[r#"{"a":"1"}"#],
        );
        assert_eq!(out[0].0, r#"{"a":"1"}"#);
        let labels = &out[0].1;
        assert!(labels.contains(&("__error__".into(), "TemplateFormatErr".into())));
        assert!(labels.contains(&(
            "__error_details__".into(),
            r#"template: line:1:3: executing "line" at <div 1 0>: error calling div: runtime error: integer divide by zero"#.into()
        )));
        // label_format leaves the label as it was; its template is "label".
        let out = run(
            r#"| json | label_format a="{{ div 1 0 }}""#,
            Format::Raw,
            &[],
            &[r#"{"a":"1"}"#],
        );
        let labels = &out[0].1;
        assert!(labels.contains(&("a".into(), "1".into())));
        assert!(labels.iter().any(|(n, v)| n == "__error_details__"
            && v.starts_with(r#"template: label:1:3: executing "label""#)));
        // A string filter on __error__ drops such lines, as in Loki.
        assert!(printed(
            r#"| json | line_format "{{ div 1 0 }}" | __error__="""#,
            &[r#"{"a":"1"}"#]
        )
        .is_empty());
    }

    #[test]
    fn label_format_templates_see_the_labels_of_the_stage_start() {
        // Loki builds one label map per label_format stage.
        let out = run(
            r#"| json | label_format x="{{.a}}2", y="<{{.x}}>" | label_format z="{{.x}}""#,
            Format::Raw,
            &[],
            &[r#"{"a":"1"}"#],
        );
        let labels = &out[0].1;
        assert!(labels.contains(&("x".into(), "12".into())));
        assert!(labels.contains(&("y".into(), "<>".into())));
        assert!(labels.contains(&("z".into(), "12".into())));
    }

    #[test]
    fn templates_reading_every_label_get_them() {
        let out = printed(
            r#"| json | line_format "{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}""#,
            &[r#"{"b":"2","a":"1"}"#],
        );
        assert_eq!(out, vec!["a=1;b=2;"]);
    }
}
