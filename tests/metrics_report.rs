//! `nagare metrics --output json` agrees with an independent computation
//! (ARCHITECTURE.md, contract: "Derived metrics"): every figure of the report is recomputed here
//! from the raw lines of a generated corpus, with serde_json, regex and
//! chrono only (no nagare library code), for the structlog form, the Fly
//! envelope form (gzip) and nginx combined logs.
//!
//! The oracle follows the contract, not the implementation:
//! - a line is first cut to the line limit (1 MiB, ARCHITECTURE.md, contract: "Quality bar");
//!   a *record* is a line that is exactly one valid UTF-8 JSON object (for
//!   Fly, the inner `message` must be one too; for nginx, a full match of
//!   the combined format), everything else is malformed;
//! - roles are found by name, first match wins; requests are records with
//!   an integer status; latency quantiles are nearest-rank (k = ceil(p·n))
//!   and nagare must be within 1 % of them;
//! - routes drop the query string and replace digit, UUID and ≥ 16-hex
//!   segments by `{id}`; lock events are records whose line contains
//!   `database is locked`, grouped into bursts by `--burst MIN/GAP`;
//! - queries are NFKC-normalized, lowercased, trimmed, whitespace-collapsed,
//!   top 20 by count (ties by string) plus `_other_`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

use common::*;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

const LINES: usize = 20_000;
const SEED: u64 = 11;
const SLOW_MS: f64 = 1000.0;
const LOCK_TEXT: &str = "database is locked";
const NS: i64 = 1_000_000_000;

/// Input forms the oracle decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Json,
    Fly,
    Nginx,
}

/// One decoded record: its fields, event time and the line the lock
/// pattern is matched on (the app's own line for Fly).
struct Rec {
    fields: Map<String, Value>,
    /// (unix nanoseconds, fraction digits of the timestamp text).
    ts: Option<(i64, u8)>,
    line: Vec<u8>,
}

// ---------------------------------------------------------------------------
// Decoding (independent of nagare)
// ---------------------------------------------------------------------------

fn rfc3339_ns(s: &str) -> Option<(i64, u8)> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let ns = t.timestamp_nanos_opt()?;
    let digits = match s.find('.') {
        Some(i) => s[i + 1..].bytes().take_while(u8::is_ascii_digit).count() as u8,
        None => 0,
    };
    Some((ns, digits))
}

fn json_object(text: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

fn decode_json(raw: &[u8]) -> Option<Rec> {
    let text = std::str::from_utf8(raw).ok()?;
    let fields = json_object(text)?;
    let ts = fields
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(rfc3339_ns);
    Some(Rec {
        fields,
        ts,
        line: raw.to_vec(),
    })
}

fn decode_fly(raw: &[u8]) -> Option<Rec> {
    let text = std::str::from_utf8(raw).ok()?;
    let envelope = json_object(text)?;
    let message = envelope.get("message")?.as_str()?;
    let fields = json_object(message)?;
    let ts = fields
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(rfc3339_ns)
        .or_else(|| {
            envelope
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(rfc3339_ns)
        });
    Some(Rec {
        fields,
        ts,
        line: message.as_bytes().to_vec(),
    })
}

/// `%XX` and `+` decoding of a query-string value.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `"0.231"` seconds → 231.0 ms, shifting the decimal point in the text.
fn seconds_text_to_ms(s: &str) -> Option<f64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = frac.to_string();
    while frac.len() < 3 {
        frac.push('0');
    }
    let text = format!("{int}{}.{}", &frac[..3], &frac[3..]);
    text.trim_end_matches('.').parse().ok()
}

fn nginx_re() -> regex::Regex {
    regex::Regex::new(
        r#"^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"(?: ([0-9.]+))?$"#,
    )
    .unwrap()
}

fn decode_nginx(re: &regex::Regex, raw: &[u8]) -> Option<Rec> {
    let text = std::str::from_utf8(raw).ok()?;
    let c = re.captures(text)?;
    let time = chrono::DateTime::parse_from_str(&c[4], "%d/%b/%Y:%H:%M:%S %z").ok()?;
    let mut fields = Map::new();
    let mut request = c[5].split(' ');
    let method = request.next().unwrap_or("");
    let target = request.next().unwrap_or("");
    fields.insert("method".into(), Value::from(method));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    fields.insert("path".into(), Value::from(path));
    fields.insert("status".into(), Value::from(c[6].parse::<u64>().ok()?));
    if let Some(t) = c.get(10) {
        fields.insert(
            "latency_ms".into(),
            Value::from(seconds_text_to_ms(t.as_str())?),
        );
    }
    for param in query.split('&') {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        if k == "q" && !fields.contains_key("q") {
            fields.insert("q".into(), Value::from(url_decode(v)));
        }
    }
    Some(Rec {
        fields,
        ts: Some((time.timestamp_nanos_opt()?, 0)),
        line: raw.to_vec(),
    })
}

// ---------------------------------------------------------------------------
// Roles and normalization (ARCHITECTURE.md, contract: "Derived metrics")
// ---------------------------------------------------------------------------

const STATUS: [&str; 4] = [
    "status",
    "status_code",
    "response_status",
    "response.status",
];
const ROUTE: [&str; 5] = ["route", "path", "endpoint", "function.path", "url"];
const LATENCY: [(&str, f64); 6] = [
    ("latency_ms", 1.0),
    ("duration_ms", 1.0),
    ("elapsed_ms", 1.0),
    ("execution_time_ms", 1.0),
    ("request_time", 1000.0),
    ("duration", 1000.0),
];
const QUERY: [&str; 2] = ["q", "query"];
const EVENT: [&str; 2] = ["event", "msg"];
const LEVEL: [&str; 2] = ["level", "severity"];

/// A field by name; a dotted name also reaches into nested objects.
fn field<'a>(f: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = f.get(name) {
        return Some(v);
    }
    let (head, rest) = name.split_once('.')?;
    match f.get(head)? {
        Value::Object(inner) => field(inner, rest),
        _ => None,
    }
}

/// The first role name the record has (first match wins).
fn role<'a>(f: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| field(f, n))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn integer_status(v: &Value) -> Option<u16> {
    let n: u64 = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (100..=599).contains(&n).then_some(n as u16)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn is_id_segment(s: &str) -> bool {
    let hex = |c: char| c.is_ascii_hexdigit();
    let uuid = s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => hex(c),
        });
    !s.is_empty()
        && (s.chars().all(|c| c.is_ascii_digit()) || (s.len() >= 16 && s.chars().all(hex)) || uuid)
}

fn normalize_route(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(|s| if is_id_segment(s) { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn normalize_query(q: &str) -> String {
    let nfkc: String = q.nfkc().collect();
    nfkc.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Nearest-rank percentile: the k-th smallest value, k = ceil(p/100 · n).
fn nearest_rank(sorted: &[f64], p: u64) -> f64 {
    let n = sorted.len() as u64;
    let k = (p * n).div_ceil(100).max(1);
    sorted[(k - 1) as usize]
}

fn fmt_ts(ns: i64, digits: u8) -> String {
    let t = chrono::DateTime::from_timestamp(ns.div_euclid(NS), ns.rem_euclid(NS) as u32)
        .expect("timestamp in range");
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if digits > 0 {
        let frac = format!("{:09}", ns.rem_euclid(NS));
        s.push('.');
        s.push_str(&frac[..digits.min(9) as usize]);
    }
    s.push('Z');
    s
}

// ---------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------

#[derive(Default, Debug)]
struct RouteO {
    requests: u64,
    errors_5xx: u64,
    slow: u64,
    latencies: Vec<f64>,
}

#[derive(Default, Debug)]
struct Oracle {
    lines: u64,
    records: u64,
    malformed: u64,
    first: Option<i64>,
    last: Option<i64>,
    digits: u8,
    by_status: BTreeMap<u16, u64>,
    without_status: u64,
    without_latency: u64,
    latencies: Vec<f64>,
    slow: u64,
    routes: BTreeMap<String, RouteO>,
    /// Lock events: (time, normalized route).
    locks: Vec<(i64, Option<String>)>,
    queries: HashMap<String, u64>,
    events: BTreeMap<String, u64>,
    levels: BTreeMap<String, u64>,
    /// Requests per 1-minute window of event time (keyed by window start).
    requests_per_minute: BTreeMap<i64, u64>,
}

impl Oracle {
    fn build(form: Form, data: &[u8]) -> Oracle {
        let re = nginx_re();
        let mut o = Oracle::default();
        for raw in split_lines(data) {
            let raw = &raw[..raw.len().min(MAX_LINE)];
            o.lines += 1;
            let rec = match form {
                Form::Json => decode_json(raw),
                Form::Fly => decode_fly(raw),
                Form::Nginx => decode_nginx(&re, raw),
            };
            match rec {
                Some(r) => o.observe(&r),
                None => o.malformed += 1,
            }
        }
        for r in o.routes.values_mut() {
            r.latencies.sort_by(f64::total_cmp);
        }
        o.latencies.sort_by(f64::total_cmp);
        o
    }

    fn observe(&mut self, r: &Rec) {
        self.records += 1;
        let f = &r.fields;
        if let Some((ns, digits)) = r.ts {
            self.first = Some(self.first.map_or(ns, |x| x.min(ns)));
            self.last = Some(self.last.map_or(ns, |x| x.max(ns)));
            self.digits = self.digits.max(digits);
        }
        let route = role(f, &ROUTE)
            .and_then(text)
            .filter(|s| !s.is_empty())
            .map(|s| normalize_route(&s));
        if contains_bytes(&r.line, LOCK_TEXT.as_bytes()) {
            let (ns, _) = r.ts.expect("lock events of the corpus carry a timestamp");
            self.locks.push((ns, route.clone()));
        }
        match role(f, &STATUS).and_then(integer_status) {
            Some(status) => {
                *self.by_status.entry(status).or_default() += 1;
                if let Some((ns, _)) = r.ts {
                    *self
                        .requests_per_minute
                        .entry(ns - ns.rem_euclid(60 * NS))
                        .or_default() += 1;
                }
                let ro = self
                    .routes
                    .entry(route.unwrap_or_else(|| "_unknown_".into()))
                    .or_default();
                ro.requests += 1;
                if status >= 500 {
                    ro.errors_5xx += 1;
                }
                let latency = LATENCY
                    .iter()
                    .find_map(|(n, scale)| field(f, n).map(|v| (v, scale)))
                    .and_then(|(v, scale)| number(v).map(|x| x * scale));
                match latency {
                    Some(ms) => {
                        ro.latencies.push(ms);
                        self.latencies.push(ms);
                        if ms > SLOW_MS {
                            ro.slow += 1;
                            self.slow += 1;
                        }
                    }
                    None => self.without_latency += 1,
                }
            }
            None => self.without_status += 1,
        }
        if let Some(q) = role(f, &QUERY).and_then(text) {
            let q = normalize_query(&q);
            if !q.is_empty() {
                *self.queries.entry(q).or_default() += 1;
            }
        }
        if let Some(e) = role(f, &EVENT).and_then(text) {
            *self.events.entry(e).or_default() += 1;
        }
        if let Some(l) = role(f, &LEVEL).and_then(text) {
            *self.levels.entry(l).or_default() += 1;
        }
    }

    fn requests(&self) -> u64 {
        self.by_status.values().sum()
    }

    fn class(&self, c: u16) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| **s / 100 == c)
            .map(|(_, n)| n)
            .sum()
    }

    /// Top 20 queries (count desc, ties by string; label cut to 64
    /// characters) and `_other_`.
    fn top_queries(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(&String, &u64)> = self.queries.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let total: u64 = self.queries.values().sum();
        let top: Vec<(String, u64)> = v
            .iter()
            .take(20)
            .map(|(q, n)| (truncate_chars(q, 64), **n))
            .collect();
        let named: u64 = top.iter().map(|(_, n)| n).sum();
        let mut out = top;
        out.push(("_other_".into(), total - named));
        out
    }

    /// Bursts under `min/gap`: (start, end, events, routes) and the count
    /// outside any burst.
    fn bursts(&self, min: usize, gap_ns: i64) -> (Vec<Value>, u64) {
        let mut ev = self.locks.clone();
        ev.sort_by_key(|e| e.0);
        let mut bursts = Vec::new();
        let mut outside = 0;
        let mut i = 0;
        while i < ev.len() {
            let mut j = i + 1;
            while j < ev.len() && ev[j].0 - ev[j - 1].0 <= gap_ns {
                j += 1;
            }
            let group = &ev[i..j];
            if group.len() >= min {
                let routes: BTreeSet<&String> = group.iter().filter_map(|e| e.1.as_ref()).collect();
                bursts.push(serde_json::json!({
                    "start": fmt_ts(group[0].0, self.digits),
                    "end": fmt_ts(group[group.len() - 1].0, self.digits),
                    "events": group.len(),
                    "routes": routes.into_iter().collect::<Vec<_>>(),
                }));
            } else {
                outside += group.len() as u64;
            }
            i = j;
        }
        (bursts, outside)
    }
}

fn contains_bytes(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/// Collects every disagreement, so one run lists them all.
struct Diff {
    what: String,
    errors: Vec<String>,
}

impl Diff {
    fn new(what: &str) -> Diff {
        Diff {
            what: what.into(),
            errors: Vec::new(),
        }
    }

    fn eq(&mut self, key: &str, got: &Value, want: Value) {
        if *got != want {
            self.errors
                .push(format!("{key}: nagare {got}, expected {want}"));
        }
    }

    fn u64(&mut self, key: &str, got: &Value, want: u64) {
        if got.as_u64() != Some(want) {
            self.errors
                .push(format!("{key}: nagare {got}, expected {want}"));
        }
    }

    fn ratio(&mut self, key: &str, got: &Value, want: f64) {
        match got.as_f64() {
            Some(g) if (g - want).abs() <= 1e-9 => {}
            _ => self
                .errors
                .push(format!("{key}: nagare {got}, expected {want}")),
        }
    }

    /// Within 1 % of the exact value (plus the report's 3-decimal rounding).
    fn quantile(&mut self, key: &str, got: &Value, exact: f64) {
        let tol = 0.01 * exact.abs() + 0.0006;
        match got.as_f64() {
            Some(g) if (g - exact).abs() <= tol => {}
            _ => self.errors.push(format!(
                "{key}: nagare {got}, exact nearest-rank {exact} (allowed ±{tol:.4})"
            )),
        }
    }

    fn finish(self) {
        assert!(
            self.errors.is_empty(),
            "{}: {} disagreement(s) with the independent computation:\n  {}",
            self.what,
            self.errors.len(),
            self.errors.join("\n  ")
        );
    }
}

fn counts_json<K: ToString>(m: &BTreeMap<K, u64>) -> BTreeMap<String, u64> {
    m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn object_counts(v: &Value) -> Option<BTreeMap<String, u64>> {
    v.as_object()?
        .iter()
        .map(|(k, n)| n.as_u64().map(|n| (k.clone(), n)))
        .collect()
}

/// Compares every figure of one report with the oracle.
fn compare(what: &str, got: &Value, o: &Oracle) {
    let mut d = Diff::new(what);
    d.u64("lines", &got["lines"], o.lines);
    d.u64("records", &got["records"], o.records);
    d.u64("malformed", &got["malformed"], o.malformed);
    d.eq(
        "span.start",
        &got["span"]["start"],
        Value::from(fmt_ts(o.first.unwrap(), o.digits)),
    );
    d.eq(
        "span.end",
        &got["span"]["end"],
        Value::from(fmt_ts(o.last.unwrap(), o.digits)),
    );

    // Requests.
    let req = &got["requests"];
    let total = o.requests();
    d.u64("requests.total", &req["total"], total);
    for c in 1..=5u16 {
        let key = format!("{c}xx");
        match req["by_class"].get(&key) {
            Some(v) => d.u64(&format!("requests.by_class.{key}"), v, o.class(c)),
            None if c == 1 => {}
            None => d.errors.push(format!("requests.by_class.{key} is missing")),
        }
    }
    let want_status = counts_json(&o.by_status);
    if object_counts(&req["by_status"]).as_ref() != Some(&want_status) {
        d.errors.push(format!(
            "requests.by_status: nagare {}, expected {want_status:?}",
            req["by_status"]
        ));
    }
    d.ratio(
        "requests.error_rate_5xx",
        &req["error_rate_5xx"],
        o.class(5) as f64 / total as f64,
    );
    d.u64(
        "requests.without_latency",
        &req["without_latency"],
        o.without_latency,
    );
    d.u64(
        "records_without_status",
        &got["records_without_status"],
        o.without_status,
    );

    // Latency and slow requests.
    for (p, key) in [(50, "p50"), (95, "p95"), (99, "p99")] {
        d.quantile(
            &format!("latency_ms.{key}"),
            &got["latency_ms"][key],
            nearest_rank(&o.latencies, p),
        );
    }
    d.u64(
        "slow_requests.total",
        &got["slow_requests"]["total"],
        o.slow,
    );
    d.ratio(
        "slow_requests.threshold_ms",
        &got["slow_requests"]["threshold_ms"],
        SLOW_MS,
    );

    // Routes.
    let routes = got["routes"].as_array().cloned().unwrap_or_default();
    let got_names: BTreeSet<String> = routes
        .iter()
        .filter_map(|r| r["route"].as_str().map(str::to_string))
        .collect();
    let want_names: BTreeSet<String> = o.routes.keys().cloned().collect();
    if got_names != want_names || routes.len() != want_names.len() {
        d.errors.push(format!(
            "routes: nagare {got_names:?} ({} entries), expected {want_names:?}",
            routes.len()
        ));
    }
    for r in &routes {
        let Some(name) = r["route"].as_str() else {
            continue;
        };
        let Some(w) = o.routes.get(name) else {
            continue;
        };
        let k = |f: &str| format!("routes[{name}].{f}");
        d.u64(&k("requests"), &r["requests"], w.requests);
        d.u64(&k("errors_5xx"), &r["errors_5xx"], w.errors_5xx);
        d.ratio(
            &k("error_rate_5xx"),
            &r["error_rate_5xx"],
            w.errors_5xx as f64 / w.requests as f64,
        );
        d.u64(&k("slow"), &r["slow"], w.slow);
        for (p, key) in [(50, "p50_ms"), (95, "p95_ms"), (99, "p99_ms")] {
            d.quantile(&k(key), &r[key], nearest_rank(&w.latencies, p));
        }
    }

    // DB locks (default burst spec 3/5m).
    let locks = &got["db_locks"];
    d.u64("db_locks.events", &locks["events"], o.locks.len() as u64);
    let mut by_route: BTreeMap<String, u64> = BTreeMap::new();
    for (_, r) in &o.locks {
        if let Some(r) = r {
            *by_route.entry(r.clone()).or_default() += 1;
        }
    }
    if object_counts(&locks["by_route"]).as_ref() != Some(&by_route) {
        d.errors.push(format!(
            "db_locks.by_route: nagare {}, expected {by_route:?}",
            locks["by_route"]
        ));
    }
    compare_bursts(&mut d, got, o, 3, 5 * 60 * NS);

    // Top queries.
    let want_q: Vec<Value> = o
        .top_queries()
        .into_iter()
        .map(|(q, n)| serde_json::json!({"q": q, "count": n}))
        .collect();
    let got_q: Vec<Value> = got["top_queries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| serde_json::json!({"q": e["q"], "count": e["count"]}))
        .collect();
    if got_q != want_q {
        d.errors.push(format!(
            "top_queries:\n    nagare   {}\n    expected {}",
            Value::from(got_q),
            Value::from(want_q)
        ));
    }

    // Events and levels.
    let want_events = counts_json(&o.events);
    if object_counts(&got["events"]).as_ref() != Some(&want_events) {
        d.errors.push(format!(
            "events: nagare {}, expected {want_events:?}",
            got["events"]
        ));
    }
    let want_levels = counts_json(&o.levels);
    if object_counts(&got["levels"]).as_ref() != Some(&want_levels) {
        d.errors.push(format!(
            "levels: nagare {}, expected {want_levels:?}",
            got["levels"]
        ));
    }
    d.finish();
}

fn compare_bursts(d: &mut Diff, got: &Value, o: &Oracle, min: usize, gap_ns: i64) {
    let (bursts, outside) = o.bursts(min, gap_ns);
    let locks = &got["db_locks"];
    let got_bursts: Vec<Value> = locks["bursts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|b| {
            serde_json::json!({"start": b["start"], "end": b["end"],
                               "events": b["events"], "routes": b["routes"]})
        })
        .collect();
    if got_bursts != bursts {
        d.errors.push(format!(
            "db_locks.bursts ({min}/{gap_ns}ns):\n    nagare   {}\n    expected {}",
            Value::from(got_bursts),
            Value::from(bursts)
        ));
    }
    let got_outside = locks
        .get("outside_bursts")
        .or_else(|| locks.get("outside"))
        .cloned()
        .unwrap_or(Value::Null);
    d.u64(
        &format!("db_locks.outside_bursts ({min}/{gap_ns}ns)"),
        &got_outside,
        outside,
    );
}

fn read_maybe_gzip(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

/// The oracle's sanity: the corpus must exercise what is being compared.
fn assert_corpus_exercises(o: &Oracle, form: Form) {
    assert!(o.malformed > 0, "{form:?}: corpus has no malformed line");
    assert!(o.requests() > 1000, "{form:?}: too few requests");
    assert!(o.class(5) > 0, "{form:?}: no 5xx");
    assert!(o.slow > 0, "{form:?}: no slow request");
    assert!(o.routes.len() >= 5, "{form:?}: too few routes");
    assert!(o.queries.len() > 21, "{form:?}: too few distinct queries");
    if form != Form::Nginx {
        assert!(o.locks.len() >= 6, "{form:?}: too few lock events");
        assert!(o.without_status > 0, "{form:?}: no non-request record");
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn structlog_report_equals_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let path = gen_corpus(dir.path(), "structlog", LINES, SEED, false);
    let o = Oracle::build(Form::Json, &std::fs::read(&path).unwrap());
    assert_corpus_exercises(&o, Form::Json);
    let got = metrics_json([&path]);
    compare("structlog", &got, &o);

    // Tighter burst specs split the lock events into several bursts.
    let (b, _) = o.bursts(3, 10 * NS);
    assert!(b.len() >= 2, "3/10s should give several bursts: {b:?}");
    for (spec, min, gap) in [("3/10s", 3, 10 * NS), ("2/3s", 2, 3 * NS)] {
        let got = metrics_json(["--burst", spec, path.to_str().unwrap()]);
        let mut d = Diff::new(&format!("structlog --burst {spec}"));
        compare_bursts(&mut d, &got, &o, min, gap);
        d.u64(
            "db_locks.events",
            &got["db_locks"]["events"],
            o.locks.len() as u64,
        );
        d.finish();
    }
}

#[test]
fn fly_gzip_report_equals_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let path = gen_corpus(dir.path(), "fly", LINES, SEED, true);
    let o = Oracle::build(Form::Fly, &read_maybe_gzip(&path));
    assert_corpus_exercises(&o, Form::Fly);
    let got = metrics_json([&path]);
    compare("fly (gzip)", &got, &o);
    let got = metrics_json(["--burst", "3/10s", path.to_str().unwrap()]);
    let mut d = Diff::new("fly (gzip) --burst 3/10s");
    compare_bursts(&mut d, &got, &o, 3, 10 * NS);
    d.finish();

    // Same events as the structlog form: the figures the envelope does not
    // change are the same.
    let s = Oracle::build(
        Form::Json,
        &std::fs::read(gen_corpus(dir.path(), "structlog", LINES, SEED, false)).unwrap(),
    );
    assert_eq!(s.locks, o.locks, "lock events differ between the forms");
    assert_eq!(s.lines, o.lines);
}

#[test]
fn nginx_report_equals_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let path = gen_corpus(dir.path(), "nginx", LINES, SEED, false);
    let o = Oracle::build(Form::Nginx, &std::fs::read(&path).unwrap());
    assert_corpus_exercises(&o, Form::Nginx);
    assert!(
        o.queries.keys().any(|q| q.contains(' ')),
        "no URL-encoded space in the nginx queries"
    );
    let got = metrics_json([&path]);
    compare("nginx", &got, &o);
}

#[test]
fn windows_sum_to_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let path = gen_corpus(dir.path(), "structlog", LINES, SEED, false);
    let o = Oracle::build(Form::Json, &std::fs::read(&path).unwrap());
    let out = metrics(["--output", "json", "--window", "1m", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let docs: Vec<Value> = stdout_strings(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        docs.len() >= 3,
        "a 2½-minute corpus gives ≥ 3 one-minute windows: {}",
        docs.len()
    );
    let sum = |key: &dyn Fn(&Value) -> u64| docs.iter().map(key).sum::<u64>();
    assert_eq!(
        sum(&|d| d["requests"]["total"].as_u64().unwrap()),
        o.requests(),
        "per-window requests must sum to the total"
    );
    assert_eq!(sum(&|d| d["lines"].as_u64().unwrap()), o.lines);
    assert_eq!(sum(&|d| d["malformed"].as_u64().unwrap()), o.malformed);
    // Each window's requests are those whose event time falls in it.
    let mut got: BTreeMap<i64, u64> = BTreeMap::new();
    for d in &docs {
        let n = d["requests"]["total"].as_u64().unwrap();
        if n == 0 {
            continue;
        }
        let start = d["window"]["start"]
            .as_str()
            .and_then(rfc3339_ns)
            .unwrap_or_else(|| panic!("window without an RFC 3339 start: {d}"));
        let end = d["window"]["end"].as_str().and_then(rfc3339_ns).unwrap();
        assert_eq!(end.0 - start.0, 60 * NS, "{}", d["window"]);
        got.insert(start.0, n);
    }
    assert_eq!(got, o.requests_per_minute);
}

/// A FastAPI-middleware style log: `status_code`, and `duration` in seconds.
fn fastapi_fixture(dir: &Path) -> (std::path::PathBuf, Vec<f64>) {
    let rows: [(&str, &str, u16, f64); 10] = [
        ("GET", "/v1/items/17", 200, 0.012),
        ("GET", "/v1/items/18", 200, 0.034),
        ("GET", "/v1/items/19?full=1", 404, 0.008),
        ("POST", "/v1/items", 201, 0.120),
        ("GET", "/v1/items/20", 500, 1.250),
        ("GET", "/v1/search?q=x", 200, 0.045),
        ("GET", "/v1/search", 503, 2.5),
        ("GET", "/healthz", 200, 0.001),
        ("GET", "/v1/items/21", 200, 0.020),
        ("DELETE", "/v1/items/22", 204, 0.015),
    ];
    let mut text = String::new();
    for (i, (m, p, s, d)) in rows.iter().enumerate() {
        text.push_str(&format!(
            "{{\"timestamp\":\"2026-05-06T10:00:{i:02}.000Z\",\"level\":\"info\",\
             \"event\":\"request finished\",\"method\":\"{m}\",\"path\":\"{p}\",\
             \"status_code\":{s},\"duration\":{d}}}\n"
        ));
    }
    let path = dir.join("fastapi.log");
    std::fs::write(&path, text).unwrap();
    let mut ms: Vec<f64> = rows.iter().map(|r| r.3 * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    (path, ms)
}

#[test]
fn field_overrides_read_status_code_and_duration_in_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ms) = fastapi_fixture(dir.path());
    let p = path.to_str().unwrap();
    let got = metrics_json([
        "--field",
        "status=status_code",
        "--field",
        "latency=duration:s",
        p,
    ]);
    let mut d = Diff::new("--field status=status_code --field latency=duration:s");
    d.u64("requests.total", &got["requests"]["total"], 10);
    d.u64("records_without_status", &got["records_without_status"], 0);
    d.u64(
        "requests.by_class.5xx",
        &got["requests"]["by_class"]["5xx"],
        2,
    );
    d.u64(
        "requests.by_class.4xx",
        &got["requests"]["by_class"]["4xx"],
        1,
    );
    d.u64(
        "requests.by_class.2xx",
        &got["requests"]["by_class"]["2xx"],
        7,
    );
    d.ratio(
        "requests.error_rate_5xx",
        &got["requests"]["error_rate_5xx"],
        0.2,
    );
    d.u64(
        "requests.without_latency",
        &got["requests"]["without_latency"],
        0,
    );
    d.u64("slow_requests.total", &got["slow_requests"]["total"], 2);
    for (p, key) in [(50, "p50"), (95, "p95"), (99, "p99")] {
        d.quantile(
            &format!("latency_ms.{key}"),
            &got["latency_ms"][key],
            nearest_rank(&ms, p),
        );
    }
    let routes: BTreeMap<String, u64> = got["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["route"].as_str().unwrap().to_string(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<String, u64> = [
        ("/v1/items/{id}", 6),
        ("/v1/items", 1),
        ("/v1/search", 2),
        ("/healthz", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if routes != want {
        d.errors
            .push(format!("routes: nagare {routes:?}, expected {want:?}"));
    }
    d.finish();

    // The unit suffix matters: read as milliseconds, the same numbers are
    // 1000 times smaller.
    let got_ms = metrics_json(["--field", "latency=duration:ms", p]);
    let mut d = Diff::new("--field latency=duration:ms");
    d.quantile(
        "latency_ms.p50",
        &got_ms["latency_ms"]["p50"],
        nearest_rank(&ms, 50) / 1000.0,
    );
    d.u64("slow_requests.total", &got_ms["slow_requests"]["total"], 0);
    d.finish();

    // An override replaces the role's names: a status field that no record
    // has leaves every record out of requests.
    let none = metrics_json(["--field", "status=http_status", p]);
    let mut d = Diff::new("--field status=http_status");
    d.u64("requests.total", &none["requests"]["total"], 0);
    d.u64(
        "records_without_status",
        &none["records_without_status"],
        10,
    );
    d.finish();
}

#[test]
fn table_output_starts_with_the_golden_signals() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = fastapi_fixture(dir.path());
    let out = metrics([path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.contains("Golden signals")),
        "the default table output begins with the golden-signals header:\n{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(text.contains("10 requests"), "{text}");
}
