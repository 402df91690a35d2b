//! `nagare-corpus`: a deterministic generator of synthetic log corpora for
//! nagare's tests and benchmarks.
//!
//! The output is a pure function of (seed, format, lines/bytes, start,
//! malformed on/off). One underlying sequence of *records* (structlog events
//! from a FastAPI app on Fly.io, interleaved with malformed lines) is rendered
//! in one of four forms: `structlog` (NDJSON), `fly` (log-shipper / NATS
//! envelope), `flyctl` (`flyctl logs` text) and `nginx` (combined log, request
//! events only). Only std + flate2 are used, with a hand-written PRNG and
//! hand-written float helpers (basic IEEE operations only), so the bytes are
//! stable across platforms and Rust versions.
//!
//! Record model: `--lines N` counts record slots (= structlog lines). Events
//! come from one PRNG stream and malformed lines from another, so the event
//! sequence is the same with or without `--no-malformed`, in every form, and a
//! shorter corpus is always a prefix of a longer one (same seed/start/form).
//!
//! structlog keys, in order (`?` = optional):
//! - `request`: timestamp, level, event, method, path, status, latency_ms,
//!   request_id, api_key_hash_prefix, tier, q?, page?, http?{client_ip, user_agent}
//! - `key.issued`: timestamp, level, event, request_id, key_id, tier
//! - `mcp.tool_call`: timestamp, level, event, request_id, tool, duration_ms
//! - `stripe.webhook`: timestamp, level, event, request_id, type, stripe_event_id
//! - `stripe.webhook.bad_signature`: timestamp, level, event, request_id, message
//! - `unhandled_exception`: timestamp, level, event, request_id, path, exc_info
//! - `db.error`: timestamp, level, event, request_id, route, path, message
//! - `payload.dump` (the ~2 MiB line, a malformed-stream record): timestamp,
//!   level, event, request_id, size, payload
//!
//! Auxiliary events precede the request they belong to and share its
//! request_id. Malformed kinds (~0.5% of records): truncated JSON, plain text,
//! empty line, JSON with invalid UTF-8 bytes, JSON scalars/arrays, plus the
//! huge line (first one within records 1000..1990, then every 50k-150k).

use flate2::write::GzEncoder;
use flate2::Compression;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};

const USAGE: &str = "\
nagare-corpus: deterministic synthetic log corpus generator for nagare

USAGE:
    nagare-corpus [--lines N | --bytes SIZE] [--seed S] [--format FORMAT] [--gzip]
                  [--start RFC3339] [--no-malformed] [-o FILE]

OPTIONS:
    --lines N          number of records to generate (default 10000). A record is one
                       line of the structlog form; the nginx form skips non-request events
    --bytes SIZE       stop after at least SIZE bytes of (uncompressed) output; SIZE is
                       an integer or decimal with optional suffix K/KB/M/MB/G/GB (powers
                       of 1000) or KiB/MiB/GiB (powers of 1024), e.g. 300MB
    --seed S           PRNG seed, decimal or 0x-hex u64 (default 1)
    --format FORMAT    structlog | fly | flyctl | nginx | hostile (default structlog);
                       hostile: JSON lines with random routes, methods, statuses, levels,
                       events, queries, Convex functions and statuses, and DB lock events
                       up to 30 minutes out of order (for bounded-state benchmarks)
    --gzip             gzip the output (a new gzip member every 64 MiB of uncompressed data)
    --start RFC3339    time of the first event (default 2026-05-06T10:00:00Z)
    --no-malformed     emit only well-formed events (the event sequence is unchanged;
                       malformed lines are simply not interleaved)
    -o, --output FILE  write to FILE instead of stdout
    -h, --help         print this help
";

const DEFAULT_START: &str = "2026-05-06T10:00:00Z";
const GZIP_MEMBER_BYTES: u64 = 64 << 20;
const CHUNK_BYTES: usize = 1 << 20;
/// Probability that a record slot holds a malformed line (the ~2 MiB line is extra).
const MALFORMED_RATE: f64 = 0.005;
/// Record slots before this index are always well-formed events.
const FIRST_MALFORMED_SLOT: u64 = 10;
/// Size of the payload string of the huge line.
const HUGE_PAYLOAD: usize = 2 << 20;

// ---------------------------------------------------------------------------
// Configuration and argument parsing
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Structlog,
    Fly,
    Flyctl,
    Nginx,
    /// Hostile structlog-shaped JSON for the bounded-state benchmarks.
    Hostile,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    Lines(u64),
    Bytes(u64),
}

#[derive(Clone, Debug)]
struct Config {
    limit: Limit,
    seed: u64,
    format: Format,
    gzip: bool,
    start_us: i64,
    malformed: bool,
    output: Option<String>,
    gzip_member_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limit: Limit::Lines(10_000),
            seed: 1,
            format: Format::Structlog,
            gzip: false,
            start_us: parse_rfc3339(DEFAULT_START).expect("default start"),
            malformed: true,
            output: None,
            gzip_member_bytes: GZIP_MEMBER_BYTES,
        }
    }
}

enum Parsed {
    Run(Config),
    Help,
}

fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut cfg = Config::default();
    let mut lines: Option<u64> = None;
    let mut bytes: Option<u64> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        let (name, inline) = match arg.find('=') {
            Some(p) if arg.starts_with("--") => (&arg[..p], Some(arg[p + 1..].to_string())),
            _ => (arg, None),
        };
        let takes_value = matches!(
            name,
            "--lines" | "--bytes" | "--seed" | "--format" | "--start" | "-o" | "--output"
        );
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| format!("missing value for {name}"))?
                        .clone();
                    i += 1;
                    v
                }
            }
        } else {
            if inline.is_some() {
                return Err(format!("{name} takes no value"));
            }
            String::new()
        };
        match name {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--lines" => {
                lines = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| format!("invalid --lines value: {value}"))?,
                )
            }
            "--bytes" => bytes = Some(parse_size(&value)?),
            "--seed" => cfg.seed = parse_seed(&value)?,
            "--format" => {
                cfg.format = match value.as_str() {
                    "structlog" | "json" => Format::Structlog,
                    "fly" => Format::Fly,
                    "flyctl" => Format::Flyctl,
                    "nginx" => Format::Nginx,
                    "hostile" => Format::Hostile,
                    _ => return Err(format!("unknown format: {value}")),
                }
            }
            "--start" => {
                cfg.start_us =
                    parse_rfc3339(&value).ok_or_else(|| format!("invalid --start: {value}"))?
            }
            "-o" | "--output" => cfg.output = Some(value),
            "--gzip" => cfg.gzip = true,
            "--no-malformed" => cfg.malformed = false,
            _ => return Err(format!("unknown argument: {arg}")),
        }
    }
    cfg.limit = match (lines, bytes) {
        (Some(_), Some(_)) => return Err("--lines and --bytes are mutually exclusive".into()),
        (Some(n), None) => Limit::Lines(n),
        (None, Some(b)) => Limit::Bytes(b),
        (None, None) => Limit::Lines(10_000),
    };
    Ok(Parsed::Run(cfg))
}

fn parse_seed(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse::<u64>(),
    };
    r.map_err(|_| format!("invalid --seed value: {s}"))
}

/// `--bytes`: a size as every nagare flag reads one (`nagare::units::parse_size`).
fn parse_size(s: &str) -> Result<u64, String> {
    nagare::units::parse_size(s).map_err(|_| format!("invalid --bytes value: {s}"))
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into microseconds since the epoch (UTC).
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0i64, |a, &c| a * 10 + (c - b'0') as i64))
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let st = i;
        let mut scale = 100_000i64;
        while i < b.len() && b[i].is_ascii_digit() {
            micros += (b[i] - b'0') as i64 * scale;
            scale /= 10;
            i += 1;
        }
        if i == st {
            return None;
        }
    }
    let offset_s = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        &c @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let v = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if c == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_s;
    Some(secs * 1_000_000 + micros)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats timestamps, caching the per-second prefix.
struct TsFmt {
    iso_sec: i64,
    iso: [u8; 19],
    ngx_sec: i64,
    ngx: [u8; 26],
}

fn put2(dst: &mut [u8], v: u32) {
    dst[0] = b'0' + (v / 10 % 10) as u8;
    dst[1] = b'0' + (v % 10) as u8;
}

fn put4(dst: &mut [u8], v: i64) {
    let v = v.rem_euclid(10_000) as u32;
    put2(&mut dst[0..2], v / 100);
    put2(&mut dst[2..4], v % 100);
}

impl TsFmt {
    fn new() -> Self {
        TsFmt {
            iso_sec: i64::MIN,
            iso: [0; 19],
            ngx_sec: i64::MIN,
            ngx: [0; 26],
        }
    }

    fn fields(sec: i64) -> (i64, u32, u32, u32, u32, u32) {
        let days = sec.div_euclid(86_400);
        let sod = sec.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, sod / 3600, sod / 60 % 60, sod % 60)
    }

    /// `YYYY-MM-DDTHH:MM:SS`
    fn iso_prefix(&mut self, sec: i64) -> &[u8; 19] {
        if sec != self.iso_sec {
            let (y, m, d, h, mi, s) = Self::fields(sec);
            let o = &mut self.iso;
            put4(&mut o[0..4], y);
            o[4] = b'-';
            put2(&mut o[5..7], m);
            o[7] = b'-';
            put2(&mut o[8..10], d);
            o[10] = b'T';
            put2(&mut o[11..13], h);
            o[13] = b':';
            put2(&mut o[14..16], mi);
            o[16] = b':';
            put2(&mut o[17..19], s);
            self.iso_sec = sec;
        }
        &self.iso
    }

    /// `2026-05-06T10:00:00.123456Z`
    fn push_us(&mut self, b: &mut Vec<u8>, t_us: i64) {
        b.extend_from_slice(self.iso_prefix(t_us.div_euclid(1_000_000)));
        b.push(b'.');
        push_padded(b, t_us.rem_euclid(1_000_000) as u64, 6);
        b.push(b'Z');
    }

    /// `2026-05-06T10:00:00.123456789Z`
    fn push_ns(&mut self, b: &mut Vec<u8>, t_ns: i128) {
        b.extend_from_slice(self.iso_prefix(t_ns.div_euclid(1_000_000_000) as i64));
        b.push(b'.');
        push_padded(b, t_ns.rem_euclid(1_000_000_000) as u64, 9);
        b.push(b'Z');
    }

    /// `06/May/2026:10:30:45 +0000`
    fn push_nginx(&mut self, b: &mut Vec<u8>, t_us: i64) {
        let sec = t_us.div_euclid(1_000_000);
        if sec != self.ngx_sec {
            let (y, m, d, h, mi, s) = Self::fields(sec);
            let o = &mut self.ngx;
            put2(&mut o[0..2], d);
            o[2] = b'/';
            o[3..6].copy_from_slice(MONTHS[(m - 1) as usize].as_bytes());
            o[6] = b'/';
            put4(&mut o[7..11], y);
            o[11] = b':';
            put2(&mut o[12..14], h);
            o[14] = b':';
            put2(&mut o[15..17], mi);
            o[17] = b':';
            put2(&mut o[18..20], s);
            o[20..26].copy_from_slice(b" +0000");
            self.ngx_sec = sec;
        }
        b.extend_from_slice(&self.ngx);
    }
}

// ---------------------------------------------------------------------------
// PRNG and deterministic math (basic IEEE-754 operations only)
// ---------------------------------------------------------------------------

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Stateless hash of (seed, index): used where a value must not consume PRNG state.
fn mix(seed: u64, idx: u64) -> u64 {
    let mut x = seed ^ idx.wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix64(&mut x)
}

/// xoshiro256**
#[derive(Clone)]
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut x = seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F);
        let mut s = [0u64; 4];
        for v in s.iter_mut() {
            *v = splitmix64(&mut x);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    fn next_u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    fn u128(&mut self) -> u128 {
        ((self.next_u64() as u128) << 64) | self.next_u64() as u128
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Index chosen with the given integer weights.
    fn weighted(&mut self, w: &[u32]) -> usize {
        let total: u64 = w.iter().map(|&x| x as u64).sum();
        let mut x = self.below(total);
        for (i, &wi) in w.iter().enumerate() {
            if x < wi as u64 {
                return i;
            }
            x -= wi as u64;
        }
        w.len() - 1
    }

    /// Standard normal (Marsaglia polar method).
    fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.f64() - 1.0;
            let v = 2.0 * self.f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * det_ln(s) / s).sqrt();
            }
        }
    }

    /// Exponential with mean 1.
    fn exp1(&mut self) -> f64 {
        -det_ln(1.0 - self.f64())
    }
}

const LN2: f64 = std::f64::consts::LN_2;

/// Natural log for x > 0 using only basic IEEE operations (platform independent).
fn det_ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if e == 0 {
        // subnormal: not needed in practice, approximate as the smallest normal
        e = 1;
    }
    e -= 1023;
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..12 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    e as f64 * LN2 + 2.0 * sum
}

/// e^x using only basic IEEE operations (platform independent); x clamped to [-700, 700].
fn det_exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let n = (x / LN2).round();
    let r = x - n * LN2;
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut k = 1.0;
    for _ in 0..16 {
        term *= r / k;
        sum += term;
        k += 1.0;
    }
    let n = n as i64;
    sum * f64::from_bits(((1023 + n) as u64) << 52)
}

// ---------------------------------------------------------------------------
// Static vocabularies
// ---------------------------------------------------------------------------

struct Instance {
    id: &'static str,
    region: &'static str,
    host: &'static str,
}

const INSTANCES: [Instance; 3] = [
    Instance {
        id: "e784079b449483",
        region: "ams",
        host: "a3f1",
    },
    Instance {
        id: "148e21ea7d9e89",
        region: "iad",
        host: "7c20",
    },
    Instance {
        id: "3d8d9931f15e89",
        region: "sin",
        host: "0b9e",
    },
];
const INSTANCE_WEIGHTS: [u32; 3] = [50, 30, 20];

const LEVELS: [&str; 4] = ["debug", "info", "warning", "error"];
const L_INFO: u8 = 1;
const L_WARNING: u8 = 2;
const L_ERROR: u8 = 3;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const M_GET: u8 = 0;
const M_POST: u8 = 1;
const M_PUT: u8 = 2;
const M_DELETE: u8 = 3;

const TIERS: [&str; 3] = ["free", "pro", "enterprise"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Search,
    ItemNum,
    ItemUuid,
    ItemsCreate,
    UserKeys,
    Mcp,
    Healthz,
    Stripe,
    AdminKeys,
}

const ROUTES: [Route; 9] = [
    Route::Search,
    Route::ItemNum,
    Route::ItemUuid,
    Route::ItemsCreate,
    Route::UserKeys,
    Route::Mcp,
    Route::Healthz,
    Route::Stripe,
    Route::AdminKeys,
];
const ROUTE_WEIGHTS: [u32; 9] = [33, 13, 9, 5, 5, 12, 15, 3, 2];

impl Route {
    fn template(self) -> &'static str {
        match self {
            Route::Search => "/v1/search",
            Route::ItemNum => "/v1/items/{item_id}",
            Route::ItemUuid => "/v1/items/{item_uuid}",
            Route::ItemsCreate => "/v1/items",
            Route::UserKeys => "/v1/users/{user_id}/keys",
            Route::Mcp => "/v1/mcp",
            Route::Healthz => "/healthz",
            Route::Stripe => "/v1/stripe/webhook",
            Route::AdminKeys => "/admin/keys",
        }
    }

    /// Median latency in microseconds.
    fn median_us(self) -> f64 {
        match self {
            Route::Search => 25_000.0,
            Route::ItemNum => 9_000.0,
            Route::ItemUuid => 11_000.0,
            Route::ItemsCreate => 15_000.0,
            Route::UserKeys => 12_000.0,
            Route::Mcp => 150_000.0,
            Route::Healthz => 800.0,
            Route::Stripe => 40_000.0,
            Route::AdminKeys => 20_000.0,
        }
    }
}

const USER_AGENTS: [&str; 10] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "python-httpx/0.27.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "Consul Health Check",
    "mcp-client/0.4.1 (claude-desktop)",
    "Mozilla/5.0 (compatible; \"quoted\" bot\\1.0)",
];
const UA_STRIPE: u8 = 6;
const UA_HEALTH: u8 = 7;
const UA_MCP: u8 = 8;
const UA_GENERAL_WEIGHTS: [u32; 10] = [30, 20, 10, 20, 8, 6, 0, 0, 0, 1];

const REFERERS: [&str; 3] = [
    "-",
    "https://app.example.com/search",
    "https://docs.example.com/quickstart",
];

const TOOLS: [&str; 3] = ["search", "fetch", "summarize"];
const TOOL_WEIGHTS: [u32; 3] = [50, 35, 15];
const TOOL_MEDIAN_US: [f64; 3] = [40_000.0, 80_000.0, 900_000.0];

const STRIPE_TYPES: [&str; 6] = [
    "checkout.session.completed",
    "invoice.paid",
    "customer.subscription.updated",
    "invoice.payment_failed",
    "customer.subscription.deleted",
    "payment_intent.succeeded",
];
const STRIPE_WEIGHTS: [u32; 6] = [25, 30, 20, 8, 5, 12];

const DB_MESSAGES: [&str; 3] = [
    "sqlite3.OperationalError: database is locked",
    "(sqlite3.OperationalError) database is locked\n[SQL: UPDATE api_keys SET last_used_at=? WHERE id=?]\n[parameters: ('2026-05-06 10:00:00', 42)]",
    "database is locked (retries exhausted after 5 attempts)",
];
const DB_ROUTES: [Route; 7] = [
    Route::ItemNum,
    Route::ItemUuid,
    Route::ItemsCreate,
    Route::UserKeys,
    Route::AdminKeys,
    Route::Search,
    Route::Stripe,
];
const DB_ROUTE_WEIGHTS: [u32; 7] = [30, 15, 20, 15, 5, 10, 5];

const EXCEPTIONS: [&str; 5] = [
    "Traceback (most recent call last):\n  File \"/app/.venv/lib/python3.12/site-packages/starlette/middleware/errors.py\", line 165, in __call__\n    await self.app(scope, receive, _send)\n  File \"/app/api/routes/search.py\", line 88, in search\n    results = await index.query(q, page=page)\n  File \"/app/api/search/index.py\", line 212, in query\n    return self._rank(tokens)[offset:offset + limit]\nKeyError: 'tokens'",
    "Traceback (most recent call last):\n  File \"/app/.venv/lib/python3.12/site-packages/fastapi/routing.py\", line 297, in app\n    raw_response = await run_endpoint_function(\n  File \"/app/api/routes/items.py\", line 41, in get_item\n    return Item.model_validate(row)\n  File \"/app/.venv/lib/python3.12/site-packages/pydantic/main.py\", line 568, in model_validate\n    return cls.__pydantic_validator__.validate_python(obj)\npydantic_core._pydantic_core.ValidationError: 1 validation error for Item\nname\n  Input should be a valid string [type=string_type, input_value=None, input_type=NoneType]",
    "Traceback (most recent call last):\n  File \"/app/api/mcp/server.py\", line 133, in call_tool\n    result = await tool.run(**arguments)\n  File \"/app/api/mcp/tools.py\", line 57, in run\n    pattern = re.compile(arguments[\"pattern\"])\n  File \"/usr/local/lib/python3.12/re/__init__.py\", line 228, in compile\n    return _compile(pattern, flags)\nre.error: bad escape \\q at position 3",
    "Traceback (most recent call last):\n  File \"/app/api/routes/keys.py\", line 73, in issue_key\n    label.encode(\"ascii\")\nUnicodeEncodeError: 'ascii' codec can't encode character '\\xe9' in position 3: label \"café\" is not ASCII",
    "Traceback (most recent call last):\n  File \"/app/api/billing/stripe.py\", line 102, in handle\n    plan = PLANS[obj[\"items\"][\"data\"][0][\"price\"][\"lookup_key\"]]\nKeyError: 'enterprise_annual_v2'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"/app/api/billing/stripe.py\", line 110, in handle\n    raise HTTPException(status_code=500, detail=f\"unknown plan {key!r}\")\nfastapi.exceptions.HTTPException: 500: unknown plan 'enterprise_annual_v2'",
];

const PLAIN_TEXT: [&str; 8] = [
    "Traceback (most recent call last):",
    "INFO:     Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)",
    "INFO:     Started server process [7]",
    "INFO:     Waiting for application startup.",
    "INFO:     Application startup complete.",
    "  File \"/app/api/main.py\", line 42, in <module>",
    "WARNING:  StatReload detected changes in 'api/routes/search.py'. Reloading...",
    "Killed",
];

const SCALARS: [&str; 7] = [
    "[1,2]",
    "42",
    "-3.5e2",
    "\"just a string\"",
    "null",
    "true",
    "[{\"event\":\"request\"}]",
];

/// Queries placed at the top ranks of the Zipf distribution (interleaved with
/// generated ones) so that even small corpora contain them.
const SPECIAL_QUERIES: [&str; 40] = [
    "pricing",
    "api keys",
    "café",
    "Laptop",
    "laptop",
    "LAPTOP",
    "  laptop   stand ",
    "東京",
    "ｆｕｌｌｗｉｄｔｈ",
    "cafe\u{301}",
    "Café",
    "東京 ラーメン",
    "naïve bayes",
    "Zürich hotels",
    "straße",
    "STRASSE",
    "İstanbul",
    "Ελλάδα",
    "пример запроса",
    "🔥 deals",
    "\"exact phrase\"",
    "C:\\Users\\admin",
    "tab\tseparated",
    "100% cotton",
    "a&b=c",
    "c++ tutorial",
    "what is rust?",
    "rust vs go",
    "how to center a div",
    "mcp server",
    "fastapi depends",
    "sqlite wal mode",
    "stripe webhook",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "emoji 😀 test",
    "Search   With   Spaces",
    "UPPER lower MiXeD",
    "résumé template",
    "日本語 テキスト 検索",
];

const Q_ADJ: [&str; 40] = [
    "red",
    "blue",
    "cheap",
    "best",
    "new",
    "used",
    "wireless",
    "organic",
    "vintage",
    "portable",
    "small",
    "large",
    "electric",
    "wooden",
    "leather",
    "waterproof",
    "gaming",
    "budget",
    "premium",
    "smart",
    "kids",
    "mens",
    "womens",
    "outdoor",
    "indoor",
    "quiet",
    "fast",
    "light",
    "heavy duty",
    "ergonomic",
    "foldable",
    "compact",
    "classic",
    "modern",
    "rustic",
    "minimal",
    "retro",
    "solar",
    "digital",
    "handmade",
];
const Q_NOUN: [&str; 50] = [
    "chair",
    "desk",
    "lamp",
    "keyboard",
    "mouse",
    "monitor",
    "headphones",
    "backpack",
    "jacket",
    "shoes",
    "watch",
    "phone case",
    "charger",
    "kettle",
    "coffee grinder",
    "blender",
    "tent",
    "sleeping bag",
    "bike",
    "helmet",
    "camera",
    "tripod",
    "speaker",
    "router",
    "printer",
    "sofa",
    "rug",
    "mirror",
    "plant pot",
    "notebook",
    "pen",
    "mug",
    "bottle",
    "umbrella",
    "wallet",
    "sunglasses",
    "scarf",
    "gloves",
    "boots",
    "drone",
    "tablet",
    "e-reader",
    "microphone",
    "webcam",
    "ssd",
    "hub",
    "cable",
    "stand",
    "fan",
    "heater",
];
const VOCAB_SIZE: usize = 2000;

struct Vocab {
    queries: Vec<String>,
    /// Cumulative Zipf weights (integer arithmetic only).
    cum: Vec<u64>,
    /// Which queries have spaces/non-URL-safe bytes is computed at render time.
    total: u64,
}

impl Vocab {
    fn new() -> Vocab {
        let mut combos: Vec<String> = Vec::with_capacity(Q_ADJ.len() * Q_NOUN.len() + 200);
        for a in Q_ADJ.iter() {
            for n in Q_NOUN.iter() {
                combos.push(format!("{a} {n}"));
            }
        }
        for n in Q_NOUN.iter() {
            combos.push((*n).to_string());
        }
        // Fixed shuffle (independent of the user seed: the vocabulary never changes).
        let mut r = Rng::new(0x5e_ed0f_0cab, 7);
        for i in (1..combos.len()).rev() {
            let j = r.below(i as u64 + 1) as usize;
            combos.swap(i, j);
        }
        let mut queries = Vec::with_capacity(VOCAB_SIZE);
        let mut specials = SPECIAL_QUERIES.iter();
        let mut gen = combos.into_iter();
        while queries.len() < VOCAB_SIZE {
            // Ranks 0, 2, 4, ... are the special queries until they run out.
            if queries.len() % 2 == 0 {
                if let Some(s) = specials.next() {
                    queries.push((*s).to_string());
                    continue;
                }
            }
            queries.push(gen.next().expect("enough generated queries"));
        }
        let mut cum = Vec::with_capacity(VOCAB_SIZE);
        let mut total = 0u64;
        for r in 0..VOCAB_SIZE as u64 {
            total += (1u64 << 40) / (r + 1);
            cum.push(total);
        }
        Vocab {
            queries,
            cum,
            total,
        }
    }

    fn sample(&self, rng: &mut Rng) -> u16 {
        let x = rng.below(self.total);
        self.cum.partition_point(|&c| c <= x) as u16
    }
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Request,
    KeyIssued,
    McpToolCall,
    StripeWebhook,
    StripeBadSignature,
    UnhandledException,
    DbError,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::KeyIssued => "key.issued",
            Kind::McpToolCall => "mcp.tool_call",
            Kind::StripeWebhook => "stripe.webhook",
            Kind::StripeBadSignature => "stripe.webhook.bad_signature",
            Kind::UnhandledException => "unhandled_exception",
            Kind::DbError => "db.error",
        }
    }
}

const Q_ABSENT: u16 = u16::MAX;
const Q_EMPTY: u16 = u16::MAX - 1;

/// One structlog event with every field any form may render. All fields are
/// drawn for every request regardless of the output form, so the PRNG stream
/// (and thus the event sequence) is identical in all forms.
#[derive(Clone, Copy, Debug)]
struct Event {
    t_us: i64,
    kind: Kind,
    instance: u8,
    level: u8,
    route: Route,
    method: u8,
    id_num: u32,
    uuid: u128,
    status: u16,
    latency_us: u64,
    request_id: u128,
    key_prefix: u32,
    tier: u8,
    q: u16,
    q_ascii: bool,
    page: u8,
    http: bool,
    client_ip: u32,
    ua: u8,
    referer: u8,
    resp_bytes: u32,
    plus_spaces: bool,
    key_id: u64,
    tool: u8,
    duration_us: u64,
    stripe_type: u8,
    stripe_evt: u128,
    exc: u8,
    db_msg: u8,
}

const BLANK_EVENT: Event = Event {
    t_us: 0,
    kind: Kind::Request,
    instance: 0,
    level: L_INFO,
    route: Route::Healthz,
    method: M_GET,
    id_num: 0,
    uuid: 0,
    status: 200,
    latency_us: 0,
    request_id: 0,
    key_prefix: 0,
    tier: 0,
    q: Q_ABSENT,
    q_ascii: false,
    page: 0,
    http: false,
    client_ip: 0,
    ua: 0,
    referer: 0,
    resp_bytes: 0,
    plus_spaces: false,
    key_id: 0,
    tool: 0,
    duration_us: 0,
    stripe_type: 0,
    stripe_evt: 0,
    exc: 0,
    db_msg: 0,
};

const NUM_API_KEYS: u64 = 600;
const NUM_CLIENT_IPS: u64 = 5000;

struct EventGen {
    rng: Rng,
    seed: u64,
    vocab: Vocab,
    clock_us: i64,
    /// Events emitted so far.
    idx: u64,
    rate: f64,
    rate_until: u64,
    pending: VecDeque<Event>,
    incident_start: u64,
    incident_end: u64,
    burst_next_idx: u64,
    burst_times: [i64; 12],
    burst_len: usize,
    burst_pos: usize,
    first_burst: bool,
}

impl EventGen {
    fn new(seed: u64, start_us: i64) -> EventGen {
        let mut rng = Rng::new(seed, 1);
        let incident_start = rng.range(3000, 6000);
        let incident_end = incident_start + rng.range(200, 600);
        let burst_next_idx = rng.range(200, 1200);
        let rate = 50.0 + 150.0 * rng.f64();
        let rate_until = rng.range(2000, 10_000);
        EventGen {
            rng,
            seed,
            vocab: Vocab::new(),
            clock_us: start_us,
            idx: 0,
            rate,
            rate_until,
            pending: VecDeque::with_capacity(8),
            incident_start,
            incident_end,
            burst_next_idx,
            burst_times: [0; 12],
            burst_len: 0,
            burst_pos: 0,
            first_burst: true,
        }
    }

    fn next_event(&mut self) -> Event {
        if self.pending.is_empty() {
            self.gen_transaction();
        }
        let mut ev = self
            .pending
            .pop_front()
            .expect("transaction produced events");
        if self.idx >= self.rate_until {
            self.rate = 50.0 + 150.0 * self.rng.f64();
            self.rate_until = self.idx + self.rng.range(2000, 10_000);
        }
        // The first event is exactly at --start; then exponential gaps, >= 1us.
        if self.idx > 0 {
            let gap = (self.rng.exp1() * 1e6 / self.rate).round() as i64;
            self.clock_us += gap.max(1);
        }
        ev.t_us = self.clock_us;
        self.idx += 1;
        ev
    }

    fn in_incident(&mut self) -> bool {
        if self.idx >= self.incident_end {
            self.incident_start = self.incident_end + self.rng.range(15_000, 60_000);
            self.incident_end = self.incident_start + self.rng.range(200, 600);
        }
        self.idx >= self.incident_start && self.idx < self.incident_end
    }

    fn update_bursts(&mut self) {
        if self.burst_len > 0 && self.burst_pos == self.burst_len {
            self.burst_len = 0;
            self.burst_pos = 0;
            self.burst_next_idx = self.idx + self.rng.range(1500, 6000);
        }
        if self.burst_len == 0 && self.idx >= self.burst_next_idx {
            let k = self.rng.range(3, 12) as usize;
            let window_s = if self.first_burst {
                self.rng.range(3, 8)
            } else {
                self.rng.range(5, 45)
            };
            self.first_burst = false;
            for i in 0..k {
                self.burst_times[i] = self.clock_us + self.rng.below(window_s * 1_000_000) as i64;
            }
            self.burst_times[..k].sort_unstable();
            self.burst_len = k;
            self.burst_pos = 0;
            self.burst_next_idx = u64::MAX;
        }
    }

    fn gen_transaction(&mut self) {
        self.update_bursts();
        let incident = self.in_incident();
        let isolated_db = self.rng.chance(1.0 / 8000.0);
        if (self.burst_pos < self.burst_len && self.burst_times[self.burst_pos] <= self.clock_us)
            || isolated_db
        {
            if !isolated_db {
                self.burst_pos += 1;
            }
            return self.db_error_tx(incident);
        }
        let p_exc = if incident { 0.02 } else { 0.0015 };
        if self.rng.chance(p_exc) {
            return self.exception_tx(incident);
        }
        let route = ROUTES[self.rng.weighted(&ROUTE_WEIGHTS)];
        let mut req = self.request(route, incident);
        match route {
            Route::Mcp => {
                let n = self.rng.range(1, 2);
                for _ in 0..n {
                    let mut e = req;
                    e.kind = Kind::McpToolCall;
                    e.level = L_INFO;
                    e.tool = self.rng.weighted(&TOOL_WEIGHTS) as u8;
                    e.duration_us = self.lognormal(TOOL_MEDIAN_US[e.tool as usize], 0.8, incident);
                    self.pending.push_back(e);
                }
            }
            Route::Stripe => {
                let mut e = req;
                if self.rng.chance(0.10) {
                    e.kind = Kind::StripeBadSignature;
                    e.level = L_WARNING;
                    req.status = 400;
                    req.level = L_WARNING;
                    req.resp_bytes = 28;
                } else {
                    e.kind = Kind::StripeWebhook;
                    e.level = L_INFO;
                    e.stripe_type = self.rng.weighted(&STRIPE_WEIGHTS) as u8;
                    e.stripe_evt = self.rng.u128();
                }
                self.pending.push_back(e);
            }
            Route::UserKeys | Route::AdminKeys if req.method == M_POST && req.status == 201 => {
                let mut e = req;
                e.kind = Kind::KeyIssued;
                e.level = L_INFO;
                e.key_id = self.rng.next_u64();
                e.tier = self.rng.weighted(&[60, 30, 10]) as u8;
                self.pending.push_back(e);
            }
            _ => {}
        }
        self.pending.push_back(req);
    }

    fn db_error_tx(&mut self, incident: bool) {
        let route = DB_ROUTES[self.rng.weighted(&DB_ROUTE_WEIGHTS)];
        let mut req = self.request(route, incident);
        let mut e = req;
        e.kind = Kind::DbError;
        e.level = L_ERROR;
        e.db_msg = self.rng.weighted(&[60, 25, 15]) as u8;
        req.status = if self.rng.chance(0.3) { 503 } else { 500 };
        req.level = L_ERROR;
        req.latency_us = req.latency_us.max(5_000_000) + self.rng.below(3_000_000);
        req.resp_bytes = 21 + self.rng.below(40) as u32;
        self.pending.push_back(e);
        self.pending.push_back(req);
    }

    fn exception_tx(&mut self, incident: bool) {
        let route = ROUTES[self.rng.weighted(&[30, 15, 5, 5, 5, 20, 0, 15, 5])];
        let mut req = self.request(route, incident);
        let mut e = req;
        e.kind = Kind::UnhandledException;
        e.level = L_ERROR;
        e.exc = self.rng.below(EXCEPTIONS.len() as u64) as u8;
        req.status = 500;
        req.level = L_ERROR;
        req.resp_bytes = 21;
        self.pending.push_back(e);
        self.pending.push_back(req);
    }

    fn lognormal(&mut self, median_us: f64, sigma: f64, incident: bool) -> u64 {
        let mut v = median_us * det_exp(sigma * self.rng.normal());
        if incident {
            v *= 10.0;
        }
        (v.round() as u64).clamp(50, 120_000_000)
    }

    /// A request event on `route`; draws every field in a fixed order.
    fn request(&mut self, route: Route, incident: bool) -> Event {
        let r = &mut self.rng;
        let mut e = BLANK_EVENT;
        e.kind = Kind::Request;
        e.route = route;
        e.instance = r.weighted(&INSTANCE_WEIGHTS) as u8;
        e.method = match route {
            Route::Search | Route::Healthz => M_GET,
            Route::ItemsCreate | Route::Mcp | Route::Stripe => M_POST,
            Route::ItemNum => [M_GET, M_PUT, M_DELETE][r.weighted(&[80, 12, 8])],
            Route::ItemUuid => [M_GET, M_DELETE][r.weighted(&[90, 10])],
            Route::UserKeys => [M_GET, M_POST][r.weighted(&[60, 40])],
            Route::AdminKeys => [M_GET, M_POST, M_DELETE][r.weighted(&[70, 25, 5])],
        };
        e.id_num = match route {
            Route::ItemNum => r.range(1, 99_999) as u32,
            Route::UserKeys => r.range(1, 5000) as u32,
            _ => 0,
        };
        e.uuid = if route == Route::ItemUuid {
            // RFC 4122 version 4 layout
            (r.u128() & !(0xf000u128 << 64) & !(0xc000u128 << 48))
                | (0x4000u128 << 64)
                | (0x8000u128 << 48)
        } else {
            0
        };
        e.request_id = r.u128();
        // API keys: skewed towards a few heavy users; tier is a property of the key.
        let key = r.below(NUM_API_KEYS).min(r.below(NUM_API_KEYS));
        e.key_prefix = (mix(self.seed ^ 0xa91, key) >> 32) as u32;
        e.tier = if key % 10 == 0 {
            2
        } else if key % 3 == 0 {
            1
        } else {
            0
        };
        let ip_idx = r.below(NUM_CLIENT_IPS);
        let h = mix(self.seed ^ 0x1b, ip_idx);
        e.client_ip = ((1 + (h >> 56) % 223) << 24) as u32 | (h as u32 & 0x00ff_fffe) | 1;
        e.ua = match route {
            Route::Stripe => UA_STRIPE,
            Route::Healthz => UA_HEALTH,
            Route::Mcp => UA_MCP,
            _ => r.weighted(&UA_GENERAL_WEIGHTS) as u8,
        };
        e.http = r.chance(0.25);
        e.referer = r.weighted(&[90, 7, 3]) as u8;
        e.plus_spaces = r.chance(0.5);
        if route == Route::Search {
            match r.weighted(&[85, 7, 8]) {
                0 => {
                    let q = self.vocab.sample(r);
                    e.q = q;
                    e.q_ascii = r.chance(0.4);
                    if r.chance(0.2) {
                        e.page = r.range(2, 10) as u8;
                    }
                }
                1 => e.q = Q_EMPTY,
                _ => e.q = Q_ABSENT,
            }
        }
        // Status
        let success = match (route, e.method) {
            (Route::ItemsCreate, _) => 201,
            (Route::UserKeys | Route::AdminKeys, M_POST) => 201,
            (_, M_DELETE) => 204,
            _ => 200,
        };
        e.status = if incident && r.chance(0.30) {
            [500, 502, 503][r.weighted(&[40, 35, 25])]
        } else if route == Route::Healthz {
            if r.chance(0.001) {
                503
            } else {
                200
            }
        } else {
            let s = [success, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503]
                [r.weighted(&[865, 5, 15, 20, 20, 10, 40, 20, 3, 1, 1])];
            if (s == 301 || s == 304) && e.method != M_GET {
                success
            } else {
                s
            }
        };
        e.level = match e.status {
            0..=399 => L_INFO,
            400..=499 => L_WARNING,
            _ => L_ERROR,
        };
        let median = route.median_us()
            * match e.status {
                304 | 401 | 403 | 429 | 301 => 0.2,
                _ => 1.0,
            };
        e.resp_bytes = match (e.status, route) {
            (204 | 304, _) => 0,
            (_, Route::Healthz) => 15,
            (200, Route::Search) => r.range(300, 30_000) as u32,
            (200..=299, _) => r.range(120, 6000) as u32,
            (301, _) => 162,
            _ => r.range(20, 300) as u32,
        };
        e.latency_us = self.lognormal(median, 0.7, incident);
        e
    }
}

// ---------------------------------------------------------------------------
// Malformed lines
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OddKind {
    Truncated,
    PlainText,
    Empty,
    InvalidUtf8,
    Scalar,
    Huge,
}

impl OddKind {
    /// Level shown by the fly/flyctl wrappers (the huge line is a `debug` event).
    fn wrapper_level(self) -> &'static str {
        if self == OddKind::Huge {
            "debug"
        } else {
            "info"
        }
    }
}

struct OddGen {
    rng: Rng,
    next_huge: u64,
}

impl OddGen {
    fn new(seed: u64) -> OddGen {
        let mut rng = Rng::new(seed, 2);
        let next_huge = rng.range(1000, 1990);
        OddGen { rng, next_huge }
    }

    /// Decides whether record slot `slot` holds a malformed line.
    fn decide(&mut self, slot: u64) -> Option<OddKind> {
        if slot < FIRST_MALFORMED_SLOT {
            return None;
        }
        if slot == self.next_huge {
            self.next_huge = slot + self.rng.range(50_000, 150_000);
            return Some(OddKind::Huge);
        }
        if !self.rng.chance(MALFORMED_RATE) {
            return None;
        }
        Some(
            [
                OddKind::Truncated,
                OddKind::PlainText,
                OddKind::Empty,
                OddKind::InvalidUtf8,
                OddKind::Scalar,
            ][self.rng.weighted(&[35, 25, 15, 10, 15])],
        )
    }

    /// Renders the raw text (no newline) of a malformed line into `b`.
    fn render(&mut self, kind: OddKind, b: &mut Vec<u8>, last: &Event, r: &mut Renderer) {
        match kind {
            OddKind::Truncated => {
                r.structlog(b, last);
                let len = b.len();
                let mut cut = self.rng.range(1, (len - 2) as u64) as usize;
                while cut > 1 && (b[cut] & 0xc0) == 0x80 {
                    cut -= 1;
                }
                b.truncate(cut);
            }
            OddKind::PlainText => {
                let t = PLAIN_TEXT[self.rng.below(PLAIN_TEXT.len() as u64) as usize];
                b.extend_from_slice(t.as_bytes());
            }
            OddKind::Empty => {}
            OddKind::InvalidUtf8 => {
                let bad: &[u8] = [
                    &b"caf\xc3\xa9 \xff\xfe broken"[..],
                    &b"trunc\xe6\x9d"[..],
                    &b"overlong \xc0\xaf lone \x80 cont"[..],
                ][self.rng.below(3) as usize];
                b.extend_from_slice(b"{\"timestamp\":\"");
                r.ts.push_us(b, last.t_us);
                b.extend_from_slice(
                    b"\",\"level\":\"info\",\"event\":\"request\",\"method\":\"GET\",\"path\":\"/v1/search\",\"status\":200,\"latency_ms\":3.2,\"request_id\":\"",
                );
                push_hex(b, self.rng.u128(), 32);
                b.extend_from_slice(b"\",\"q\":\"");
                b.extend_from_slice(bad);
                b.extend_from_slice(b"\"}");
            }
            OddKind::Scalar => {
                let t = SCALARS[self.rng.below(SCALARS.len() as u64) as usize];
                b.extend_from_slice(t.as_bytes());
            }
            OddKind::Huge => {
                b.extend_from_slice(b"{\"timestamp\":\"");
                r.ts.push_us(b, last.t_us);
                b.extend_from_slice(
                    b"\",\"level\":\"debug\",\"event\":\"payload.dump\",\"request_id\":\"",
                );
                push_hex(b, self.rng.u128(), 32);
                b.extend_from_slice(b"\",\"size\":");
                push_u64(b, HUGE_PAYLOAD as u64);
                b.extend_from_slice(b",\"payload\":\"");
                const B64: &[u8; 64] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                let mut left = HUGE_PAYLOAD;
                while left > 0 {
                    let mut x = self.rng.next_u64();
                    for _ in 0..left.min(10) {
                        b.push(B64[(x & 63) as usize]);
                        x >>= 6;
                    }
                    left -= left.min(10);
                }
                b.extend_from_slice(b"\"}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Rendering helpers
// ---------------------------------------------------------------------------

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_u64(b: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    b.extend_from_slice(&tmp[i..]);
}

fn push_padded(b: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    for i in (20 - width..20).rev() {
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    b.extend_from_slice(&tmp[20 - width..]);
}

fn push_hex(b: &mut Vec<u8>, v: u128, digits: usize) {
    for i in (0..digits).rev() {
        b.push(HEX[((v >> (4 * i)) & 0xf) as usize]);
    }
}

fn push_uuid(b: &mut Vec<u8>, v: u128) {
    push_hex(b, v >> 96, 8);
    b.push(b'-');
    push_hex(b, (v >> 80) & 0xffff, 4);
    b.push(b'-');
    push_hex(b, (v >> 64) & 0xffff, 4);
    b.push(b'-');
    push_hex(b, (v >> 48) & 0xffff, 4);
    b.push(b'-');
    push_hex(b, v & 0xffff_ffff_ffff, 12);
}

fn push_ip(b: &mut Vec<u8>, ip: u32) {
    for (i, sh) in [24, 16, 8, 0].iter().enumerate() {
        if i > 0 {
            b.push(b'.');
        }
        push_u64(b, ((ip >> sh) & 0xff) as u64);
    }
}

/// Milliseconds from microseconds, formatted like Python's repr(round(x, 3)).
fn push_ms(b: &mut Vec<u8>, us: u64) {
    push_u64(b, us / 1000);
    b.push(b'.');
    let frac = (us % 1000) as u32;
    let digits = [
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ];
    let mut n = 3;
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    b.extend_from_slice(&digits[..n]);
}

/// Seconds with exactly 3 decimals from microseconds (nginx `$request_time`), rounded.
fn push_secs3(b: &mut Vec<u8>, us: u64) {
    let ms = (us + 500) / 1000;
    push_u64(b, ms / 1000);
    b.push(b'.');
    push_padded(b, ms % 1000, 3);
}

/// Writes `s` as the body of a JSON string (no surrounding quotes). With
/// `ascii`, non-ASCII characters become `\uXXXX` escapes (lowercase hex,
/// surrogate pairs above U+FFFF), like Python's `json.dumps(ensure_ascii=True)`.
fn push_json_str(b: &mut Vec<u8>, s: &str, ascii: bool) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            0x80..=0xff if ascii => b"",
            _ => continue,
        };
        b.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if !esc.is_empty() {
            b.extend_from_slice(esc);
        } else if c < 0x20 {
            b.extend_from_slice(b"\\u00");
            b.push(HEX[(c >> 4) as usize]);
            b.push(HEX[(c & 0xf) as usize]);
        } else if (c & 0xc0) == 0x80 {
            // continuation byte: already handled with its lead byte
        } else {
            let ch = s[i..].chars().next().expect("char boundary");
            let mut units = [0u16; 2];
            for u in ch.encode_utf16(&mut units).iter() {
                b.extend_from_slice(b"\\u");
                push_hex(b, *u as u128, 4);
            }
        }
    }
    b.extend_from_slice(&bytes[run..]);
}

/// Escapes arbitrary bytes as the body of a JSON string; invalid UTF-8 is
/// replaced by U+FFFD (like any JSON encoder fed a lossily decoded string).
fn push_json_bytes(b: &mut Vec<u8>, raw: &[u8]) {
    match std::str::from_utf8(raw) {
        Ok(s) => push_json_str(b, s, false),
        Err(_) => push_json_str(b, &String::from_utf8_lossy(raw), false),
    }
}

/// URL-encodes a query value (unreserved characters kept, spaces as `+` or `%20`).
fn push_urlenc(b: &mut Vec<u8>, s: &str, plus: bool) {
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => b.push(c),
            b' ' if plus => b.push(b'+'),
            _ => {
                b.push(b'%');
                b.push(HEX[(c >> 4) as usize].to_ascii_uppercase());
                b.push(HEX[(c & 0xf) as usize].to_ascii_uppercase());
            }
        }
    }
}

/// nginx escapes `"`, `\` and non-printable bytes in logged strings as `\xHH`.
fn push_nginx_str(b: &mut Vec<u8>, s: &str) {
    for &c in s.as_bytes() {
        if c == b'"' || c == b'\\' || !(0x20..0x7f).contains(&c) {
            b.extend_from_slice(b"\\x");
            b.push(HEX[(c >> 4) as usize].to_ascii_uppercase());
            b.push(HEX[(c & 0xf) as usize].to_ascii_uppercase());
        } else {
            b.push(c);
        }
    }
}

struct Renderer {
    ts: TsFmt,
    vocab_queries: Vec<String>,
}

impl Renderer {
    fn push_path(&self, b: &mut Vec<u8>, e: &Event) {
        match e.route {
            Route::ItemNum => {
                b.extend_from_slice(b"/v1/items/");
                push_u64(b, e.id_num as u64);
            }
            Route::ItemUuid => {
                b.extend_from_slice(b"/v1/items/");
                push_uuid(b, e.uuid);
            }
            Route::UserKeys => {
                b.extend_from_slice(b"/v1/users/");
                push_u64(b, e.id_num as u64);
                b.extend_from_slice(b"/keys");
            }
            r => b.extend_from_slice(r.template().as_bytes()),
        }
    }

    fn common_head(&mut self, b: &mut Vec<u8>, e: &Event) {
        b.extend_from_slice(b"{\"timestamp\":\"");
        self.ts.push_us(b, e.t_us);
        b.extend_from_slice(b"\",\"level\":\"");
        b.extend_from_slice(LEVELS[e.level as usize].as_bytes());
        b.extend_from_slice(b"\",\"event\":\"");
        b.extend_from_slice(e.kind.name().as_bytes());
        b.push(b'"');
    }

    fn request_id(b: &mut Vec<u8>, e: &Event) {
        b.extend_from_slice(b",\"request_id\":\"");
        push_hex(b, e.request_id, 32);
        b.push(b'"');
    }

    /// The structlog JSON line of an event (no newline).
    fn structlog(&mut self, b: &mut Vec<u8>, e: &Event) {
        self.common_head(b, e);
        match e.kind {
            Kind::Request => {
                b.extend_from_slice(b",\"method\":\"");
                b.extend_from_slice(METHODS[e.method as usize].as_bytes());
                b.extend_from_slice(b"\",\"path\":\"");
                self.push_path(b, e);
                b.extend_from_slice(b"\",\"status\":");
                push_u64(b, e.status as u64);
                b.extend_from_slice(b",\"latency_ms\":");
                push_ms(b, e.latency_us);
                Self::request_id(b, e);
                b.extend_from_slice(b",\"api_key_hash_prefix\":\"");
                push_hex(b, e.key_prefix as u128, 8);
                b.extend_from_slice(b"\",\"tier\":\"");
                b.extend_from_slice(TIERS[e.tier as usize].as_bytes());
                b.push(b'"');
                if e.q != Q_ABSENT {
                    b.extend_from_slice(b",\"q\":\"");
                    if e.q != Q_EMPTY {
                        push_json_str(b, &self.vocab_queries[e.q as usize], e.q_ascii);
                    }
                    b.push(b'"');
                }
                if e.page > 0 {
                    b.extend_from_slice(b",\"page\":");
                    push_u64(b, e.page as u64);
                }
                if e.http {
                    b.extend_from_slice(b",\"http\":{\"client_ip\":\"");
                    push_ip(b, e.client_ip);
                    b.extend_from_slice(b"\",\"user_agent\":\"");
                    push_json_str(b, USER_AGENTS[e.ua as usize], false);
                    b.extend_from_slice(b"\"}");
                }
            }
            Kind::KeyIssued => {
                Self::request_id(b, e);
                b.extend_from_slice(b",\"key_id\":\"key_");
                push_hex(b, e.key_id as u128, 16);
                b.extend_from_slice(b"\",\"tier\":\"");
                b.extend_from_slice(TIERS[e.tier as usize].as_bytes());
                b.push(b'"');
            }
            Kind::McpToolCall => {
                Self::request_id(b, e);
                b.extend_from_slice(b",\"tool\":\"");
                b.extend_from_slice(TOOLS[e.tool as usize].as_bytes());
                b.extend_from_slice(b"\",\"duration_ms\":");
                push_ms(b, e.duration_us);
            }
            Kind::StripeWebhook => {
                Self::request_id(b, e);
                b.extend_from_slice(b",\"type\":\"");
                b.extend_from_slice(STRIPE_TYPES[e.stripe_type as usize].as_bytes());
                b.extend_from_slice(b"\",\"stripe_event_id\":\"evt_");
                const B62: &[u8; 62] =
                    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
                let mut v = e.stripe_evt;
                for _ in 0..24 {
                    b.push(B62[(v % 62) as usize]);
                    v /= 62;
                }
                b.push(b'"');
            }
            Kind::StripeBadSignature => {
                Self::request_id(b, e);
                b.extend_from_slice(b",\"message\":\"bad signature\"");
            }
            Kind::UnhandledException => {
                Self::request_id(b, e);
                b.extend_from_slice(b",\"path\":\"");
                self.push_path(b, e);
                b.extend_from_slice(b"\",\"exc_info\":\"");
                // ensure_ascii for odd-numbered templates: exercises \u00e9 escapes
                push_json_str(b, EXCEPTIONS[e.exc as usize], e.exc % 2 == 1);
                b.push(b'"');
            }
            Kind::DbError => {
                Self::request_id(b, e);
                b.extend_from_slice(b",\"route\":\"");
                b.extend_from_slice(e.route.template().as_bytes());
                b.extend_from_slice(b"\",\"path\":\"");
                self.push_path(b, e);
                b.extend_from_slice(b"\",\"message\":\"");
                push_json_str(b, DB_MESSAGES[e.db_msg as usize], false);
                b.push(b'"');
            }
        }
        b.push(b'}');
    }

    /// The nginx combined line (+ `$request_time`) of a request event (no newline).
    fn nginx(&mut self, b: &mut Vec<u8>, e: &Event) {
        push_ip(b, e.client_ip);
        b.extend_from_slice(b" - - [");
        self.ts.push_nginx(b, e.t_us);
        b.extend_from_slice(b"] \"");
        b.extend_from_slice(METHODS[e.method as usize].as_bytes());
        b.push(b' ');
        self.push_path(b, e);
        if e.q != Q_ABSENT {
            b.extend_from_slice(b"?q=");
            if e.q != Q_EMPTY {
                push_urlenc(b, &self.vocab_queries[e.q as usize], e.plus_spaces);
            }
        }
        if e.page > 0 {
            b.extend_from_slice(if e.q == Q_ABSENT {
                b"?page="
            } else {
                b"&page="
            });
            push_u64(b, e.page as u64);
        }
        b.extend_from_slice(b" HTTP/1.1\" ");
        push_u64(b, e.status as u64);
        b.push(b' ');
        push_u64(b, e.resp_bytes as u64);
        b.extend_from_slice(b" \"");
        b.extend_from_slice(REFERERS[e.referer as usize].as_bytes());
        b.extend_from_slice(b"\" \"");
        push_nginx_str(b, USER_AGENTS[e.ua as usize]);
        b.extend_from_slice(b"\" ");
        push_secs3(b, e.latency_us);
    }

    /// `flyctl logs` prefix: `<time> app[<instance>] <region> [<level>] `.
    fn flyctl_prefix(&mut self, b: &mut Vec<u8>, t_us: i64, instance: u8, level: &str) {
        let inst = &INSTANCES[instance as usize];
        self.ts.push_us(b, t_us);
        b.extend_from_slice(b" app[");
        b.extend_from_slice(inst.id.as_bytes());
        b.extend_from_slice(b"] ");
        b.extend_from_slice(inst.region.as_bytes());
        b.extend_from_slice(b" [");
        b.extend_from_slice(level.as_bytes());
        b.extend_from_slice(b"] ");
    }

    /// Fly log-shipper envelope around `msg` (no newline).
    fn fly(&mut self, b: &mut Vec<u8>, t_ns: i128, instance: u8, level: &str, msg: &[u8]) {
        let inst = &INSTANCES[instance as usize];
        b.extend_from_slice(b"{\"event\":{\"provider\":\"app\"},\"fly\":{\"app\":{\"instance\":\"");
        b.extend_from_slice(inst.id.as_bytes());
        b.extend_from_slice(b"\",\"name\":\"api\"},\"region\":\"");
        b.extend_from_slice(inst.region.as_bytes());
        b.extend_from_slice(b"\"},\"host\":\"");
        b.extend_from_slice(inst.host.as_bytes());
        b.extend_from_slice(b"\",\"log\":{\"level\":\"");
        b.extend_from_slice(level.as_bytes());
        b.extend_from_slice(b"\"},\"message\":\"");
        push_json_bytes(b, msg);
        b.extend_from_slice(b"\",\"timestamp\":\"");
        self.ts.push_ns(b, t_ns);
        b.extend_from_slice(b"\"}");
    }
}

// ---------------------------------------------------------------------------
// Output sink (chunked, optionally multi-member gzip)
// ---------------------------------------------------------------------------

enum Out<W: Write> {
    Plain(W),
    Gz(GzEncoder<W>),
}

struct Sink<W: Write> {
    out: Option<Out<W>>,
    chunk: Vec<u8>,
    member_limit: u64,
    member_bytes: u64,
}

impl<W: Write> Sink<W> {
    fn new(w: W, gzip: bool, member_limit: u64) -> Self {
        let out = if gzip {
            Out::Gz(GzEncoder::new(w, Compression::default()))
        } else {
            Out::Plain(w)
        };
        Sink {
            out: Some(out),
            chunk: Vec::with_capacity(CHUNK_BYTES + (HUGE_PAYLOAD * 2)),
            member_limit,
            member_bytes: 0,
        }
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.chunk.len() >= CHUNK_BYTES {
            self.flush_chunk()?;
        }
        Ok(())
    }

    /// Writes the buffered whole lines; starts a new gzip member when due.
    fn flush_chunk(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        match self.out.as_mut().expect("sink open") {
            Out::Plain(w) => w.write_all(&self.chunk)?,
            Out::Gz(g) => {
                g.write_all(&self.chunk)?;
                self.member_bytes += self.chunk.len() as u64;
            }
        }
        self.chunk.clear();
        if self.member_bytes >= self.member_limit {
            if let Some(Out::Gz(g)) = self.out.take() {
                let w = g.finish()?;
                self.out = Some(Out::Gz(GzEncoder::new(w, Compression::default())));
            }
            self.member_bytes = 0;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.flush_chunk()?;
        let mut w = match self.out.take().expect("sink open") {
            Out::Plain(w) => w,
            Out::Gz(g) => g.finish()?,
        };
        w.flush()?;
        Ok(w)
    }
}

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Stats {
    /// Record slots generated (events + malformed lines, incl. skipped ones in nginx form).
    records: u64,
    events: u64,
    malformed: u64,
    /// Lines written.
    lines: u64,
    /// Uncompressed bytes written.
    bytes: u64,
}

fn generate<W: Write>(cfg: &Config, w: W) -> io::Result<(W, Stats)> {
    if cfg.format == Format::Hostile {
        return generate_hostile(cfg, w);
    }
    let mut sink = Sink::new(w, cfg.gzip, cfg.gzip_member_bytes);
    let mut events = EventGen::new(cfg.seed, cfg.start_us);
    let mut odd = OddGen::new(cfg.seed);
    let mut r = Renderer {
        ts: TsFmt::new(),
        vocab_queries: events.vocab.queries.clone(),
    };
    let mut line: Vec<u8> = Vec::with_capacity(HUGE_PAYLOAD + 4096);
    let mut last = BLANK_EVENT;
    let mut st = Stats::default();
    let mut slot = 0u64;
    loop {
        match cfg.limit {
            Limit::Lines(n) if st.records >= n => break,
            Limit::Bytes(n) if st.bytes >= n => break,
            _ => {}
        }
        let kind = if cfg.malformed {
            odd.decide(slot)
        } else {
            None
        };
        let rec_idx = slot;
        slot += 1;
        st.records += 1;
        let start = sink.chunk.len();
        let b = &mut sink.chunk;
        match kind {
            Some(k) => {
                st.malformed += 1;
                line.clear();
                odd.render(k, &mut line, &last, &mut r);
                match cfg.format {
                    Format::Structlog | Format::Nginx | Format::Hostile => {
                        b.extend_from_slice(&line)
                    }
                    Format::Flyctl => {
                        r.flyctl_prefix(b, last.t_us, last.instance, k.wrapper_level());
                        b.extend_from_slice(&line);
                    }
                    Format::Fly => {
                        let t_ns = envelope_ns(cfg.seed, rec_idx, last.t_us);
                        r.fly(b, t_ns, last.instance, k.wrapper_level(), &line);
                    }
                }
            }
            None => {
                let e = events.next_event();
                last = e;
                st.events += 1;
                match cfg.format {
                    // generate_hostile writes that form.
                    Format::Structlog | Format::Hostile => r.structlog(b, &e),
                    Format::Flyctl => {
                        r.flyctl_prefix(b, e.t_us, e.instance, LEVELS[e.level as usize]);
                        r.structlog(b, &e);
                    }
                    Format::Fly => {
                        line.clear();
                        r.structlog(&mut line, &e);
                        let t_ns = envelope_ns(cfg.seed, rec_idx, e.t_us);
                        r.fly(b, t_ns, e.instance, LEVELS[e.level as usize], &line);
                    }
                    Format::Nginx => {
                        if e.kind != Kind::Request {
                            continue;
                        }
                        r.nginx(b, &e);
                    }
                }
            }
        }
        b.push(b'\n');
        st.lines += 1;
        st.bytes += (b.len() - start) as u64;
        sink.maybe_flush()?;
    }
    let w = sink.finish()?;
    Ok((w, st))
}

/// A random word of lower-case letters (no digits, so a route segment is
/// never taken for an id).
fn word(rng: &mut Rng, out: &mut Vec<u8>) {
    let mut n = rng.next_u64() >> 28;
    for _ in 0..rng.range(3, 9) {
        out.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
}

/// `--format hostile`: every label the metrics derive takes random values
/// (routes, methods, statuses, levels, events, queries, Convex functions
/// and statuses), and lock events arrive out of order, 2% of them up to 30
/// minutes late. Routes come from a pool of 400 (so the first 200 seen are
/// named and each meets many methods and statuses). Time advances 10 ms a
/// record from `--start`.
fn generate_hostile<W: Write>(cfg: &Config, w: W) -> io::Result<(W, Stats)> {
    let mut sink = Sink::new(w, cfg.gzip, cfg.gzip_member_bytes);
    let mut rng = Rng::new(cfg.seed, 0x4057_11e5);
    let mut ts = TsFmt::new();
    let mut st = Stats::default();
    let mut rec = 0u64;
    loop {
        match cfg.limit {
            Limit::Lines(n) if st.records >= n => break,
            Limit::Bytes(n) if st.bytes >= n => break,
            _ => {}
        }
        let mut t_us = cfg.start_us + rec as i64 * 10_000;
        rec += 1;
        st.records += 1;
        st.events += 1;
        let start = sink.chunk.len();
        let b = &mut sink.chunk;
        let kind = rng.below(100);
        if kind >= 80 {
            // A lock event: most within a minute of now, some half an hour late.
            let back = if rng.below(50) == 0 {
                rng.below(1_800_000_000)
            } else {
                rng.below(60_000_000)
            };
            t_us -= back as i64;
        }
        b.extend_from_slice(b"{\"timestamp\":\"");
        b.extend_from_slice(ts.iso_prefix(t_us.div_euclid(1_000_000)));
        let _ = write!(b, ".{:06}Z\"", t_us.rem_euclid(1_000_000));
        match kind {
            0..=54 => {
                let _ = write!(
                    b,
                    ",\"level\":\"l{}\",\"event\":\"e{}\",\"method\":\"M{}\",\"path\":\"/",
                    rng.below(1000),
                    rng.next_u64() >> 20,
                    rng.below(100_000)
                );
                // 400 routes, more than the route cap, each seen often.
                let mut pool = Rng::new(rng.below(400), 0x0a0a);
                word(&mut pool, b);
                let _ = write!(
                    b,
                    "\",\"status\":{},\"latency_ms\":{}.{},\"q\":\"q{}\"}}",
                    rng.range(100, 599),
                    rng.below(20_000),
                    rng.below(10),
                    rng.next_u64() >> 16
                );
            }
            55..=79 => {
                let _ = write!(
                    b,
                    ",\"topic\":\"function_execution\",\"function\":{{\"path\":\"m{}:f{}\"}},\
                     \"status\":\"s{}\",\"execution_time_ms\":{}}}",
                    // 300 functions (more than the cap), 1,000 statuses.
                    rng.below(20),
                    rng.below(15),
                    rng.below(1000),
                    rng.below(5000)
                );
            }
            _ => {
                b.extend_from_slice(b",\"level\":\"error\",\"event\":\"db.error\",\"route\":\"/");
                word(&mut rng, b);
                b.extend_from_slice(
                    b"\",\"message\":\"sqlite3.OperationalError: database is locked\"}",
                );
            }
        }
        b.push(b'\n');
        st.lines += 1;
        st.bytes += (b.len() - start) as u64;
        sink.maybe_flush()?;
    }
    let w = sink.finish()?;
    Ok((w, st))
}

/// Envelope (shipper) time: 1–9 ms after the app time, nanosecond precision;
/// derived statelessly from (seed, record index) so it does not perturb the events.
fn envelope_ns(seed: u64, rec_idx: u64, t_us: i64) -> i128 {
    let h = mix(seed ^ 0xf1f1, rec_idx);
    t_us as i128 * 1000 + 1_000_000 + (h % 8_000_000) as i128
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match parse_args(&args) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return;
        }
        Ok(Parsed::Run(c)) => c,
        Err(e) => {
            eprintln!("nagare-corpus: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let result = match &cfg.output {
        Some(path) => File::create(path)
            .and_then(|f| generate(&cfg, BufWriter::with_capacity(1 << 18, f)).map(|_| ())),
        None => {
            let stdout = io::stdout();
            let lock = stdout.lock();
            generate(&cfg, BufWriter::with_capacity(1 << 18, lock)).map(|_| ())
        }
    };
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("nagare-corpus: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    // ----- a small strict JSON parser (tests only; no serde_json here) -----

    #[derive(Debug, Clone, PartialEq)]
    enum J {
        Null,
        Bool(bool),
        Num(String),
        Str(String),
        Arr(Vec<J>),
        Obj(Vec<(String, J)>),
    }

    impl J {
        fn get(&self, k: &str) -> Option<&J> {
            match self {
                J::Obj(kv) => kv.iter().find(|(kk, _)| kk == k).map(|(_, v)| v),
                _ => None,
            }
        }
        fn str(&self, k: &str) -> &str {
            match self.get(k) {
                Some(J::Str(s)) => s,
                other => panic!("key {k}: expected string, got {other:?}"),
            }
        }
        fn num(&self, k: &str) -> &str {
            match self.get(k) {
                Some(J::Num(s)) => s,
                other => panic!("key {k}: expected number, got {other:?}"),
            }
        }
        fn keys(&self) -> Vec<&str> {
            match self {
                J::Obj(kv) => kv.iter().map(|(k, _)| k.as_str()).collect(),
                _ => vec![],
            }
        }
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl<'a> P<'a> {
        fn ws(&mut self) {
            while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> Result<(), String> {
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected {:?} at {}", c as char, self.i))
            }
        }
        fn value(&mut self) -> Result<J, String> {
            self.ws();
            let v = match self.s.get(self.i).ok_or("eof")? {
                b'{' => {
                    self.i += 1;
                    let mut kv = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                    } else {
                        loop {
                            self.ws();
                            let k = self.string()?;
                            self.ws();
                            self.eat(b':')?;
                            let v = self.value()?;
                            kv.push((k, v));
                            self.ws();
                            if self.s.get(self.i) == Some(&b',') {
                                self.i += 1;
                            } else {
                                self.eat(b'}')?;
                                break;
                            }
                        }
                    }
                    J::Obj(kv)
                }
                b'[' => {
                    self.i += 1;
                    let mut a = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                    } else {
                        loop {
                            a.push(self.value()?);
                            self.ws();
                            if self.s.get(self.i) == Some(&b',') {
                                self.i += 1;
                            } else {
                                self.eat(b']')?;
                                break;
                            }
                        }
                    }
                    J::Arr(a)
                }
                b'"' => J::Str(self.string()?),
                b't' => self.lit("true", J::Bool(true))?,
                b'f' => self.lit("false", J::Bool(false))?,
                b'n' => self.lit("null", J::Null)?,
                _ => {
                    let st = self.i;
                    if self.s.get(self.i) == Some(&b'-') {
                        self.i += 1;
                    }
                    let d0 = self.i;
                    while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                        self.i += 1;
                    }
                    if self.i == d0 || (self.s[d0] == b'0' && self.i - d0 > 1) {
                        return Err(format!("bad number at {st}"));
                    }
                    if self.s.get(self.i) == Some(&b'.') {
                        self.i += 1;
                        let f0 = self.i;
                        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                            self.i += 1;
                        }
                        if self.i == f0 {
                            return Err("bad fraction".into());
                        }
                    }
                    if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
                        self.i += 1;
                        if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                            self.i += 1;
                        }
                        let e0 = self.i;
                        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                            self.i += 1;
                        }
                        if self.i == e0 {
                            return Err("bad exponent".into());
                        }
                    }
                    J::Num(String::from_utf8(self.s[st..self.i].to_vec()).unwrap())
                }
            };
            Ok(v)
        }
        fn lit(&mut self, w: &str, v: J) -> Result<J, String> {
            if self.s[self.i..].starts_with(w.as_bytes()) {
                self.i += w.len();
                Ok(v)
            } else {
                Err(format!("bad literal at {}", self.i))
            }
        }
        fn hex4(&mut self) -> Result<u32, String> {
            let h = self.s.get(self.i..self.i + 4).ok_or("short \\u")?;
            self.i += 4;
            u32::from_str_radix(std::str::from_utf8(h).unwrap(), 16).map_err(|e| e.to_string())
        }
        fn string(&mut self) -> Result<String, String> {
            self.eat(b'"')?;
            let mut out = String::new();
            loop {
                let st = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'"' && self.s[self.i] != b'\\' {
                    if self.s[self.i] < 0x20 {
                        return Err("control char in string".into());
                    }
                    self.i += 1;
                }
                out.push_str(std::str::from_utf8(&self.s[st..self.i]).map_err(|e| e.to_string())?);
                match self.s.get(self.i) {
                    None => return Err("unterminated string".into()),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(out);
                    }
                    _ => {
                        self.i += 1;
                        let c = *self.s.get(self.i).ok_or("eof in escape")?;
                        self.i += 1;
                        match c {
                            b'"' => out.push('"'),
                            b'\\' => out.push('\\'),
                            b'/' => out.push('/'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'n' => out.push('\n'),
                            b'r' => out.push('\r'),
                            b't' => out.push('\t'),
                            b'u' => {
                                let mut cp = self.hex4()?;
                                if (0xd800..0xdc00).contains(&cp) {
                                    self.eat(b'\\')?;
                                    self.eat(b'u')?;
                                    let lo = self.hex4()?;
                                    if !(0xdc00..0xe000).contains(&lo) {
                                        return Err("bad low surrogate".into());
                                    }
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                }
                                out.push(char::from_u32(cp).ok_or("bad code point")?);
                            }
                            _ => return Err(format!("bad escape {}", c as char)),
                        }
                    }
                }
            }
        }
    }

    fn parse_json(line: &[u8]) -> Result<J, String> {
        std::str::from_utf8(line).map_err(|e| e.to_string())?;
        let mut p = P { s: line, i: 0 };
        let v = p.value()?;
        p.ws();
        if p.i != line.len() {
            return Err(format!("trailing data at {}", p.i));
        }
        Ok(v)
    }

    // ----- helpers -----

    fn cfg(format: Format, lines: u64, seed: u64, malformed: bool) -> Config {
        Config {
            limit: Limit::Lines(lines),
            seed,
            format,
            malformed,
            ..Config::default()
        }
    }

    fn gen(c: &Config) -> (Vec<u8>, Stats) {
        let (v, st) = generate(c, Vec::new()).unwrap();
        (v, st)
    }

    fn lines(buf: &[u8]) -> Vec<&[u8]> {
        assert!(
            buf.is_empty() || buf.ends_with(b"\n"),
            "output ends with newline"
        );
        let mut v: Vec<&[u8]> = buf.split(|&c| c == b'\n').collect();
        v.pop();
        v
    }

    /// A well-formed structlog event line (object with timestamp, level, event first).
    fn as_event(line: &[u8]) -> Option<J> {
        let j = parse_json(line).ok()?;
        let k = j.keys();
        if k.len() >= 3 && k[..3] == ["timestamp", "level", "event"] {
            Some(j)
        } else {
            None
        }
    }

    fn ts_us(s: &str) -> i64 {
        parse_rfc3339(s).unwrap_or_else(|| panic!("bad timestamp {s}"))
    }

    fn is_canonical_ts(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 27
            && b[26] == b'Z'
            && b[19] == b'.'
            && b[20..26].iter().all(u8::is_ascii_digit)
            && parse_rfc3339(s).is_some()
    }

    fn url_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }

    // ----- tests -----

    #[test]
    fn deterministic_per_seed_and_format() {
        for f in [
            Format::Structlog,
            Format::Fly,
            Format::Flyctl,
            Format::Nginx,
        ] {
            let a = gen(&cfg(f, 3000, 7, true)).0;
            let b = gen(&cfg(f, 3000, 7, true)).0;
            assert_eq!(a, b, "{f:?} not deterministic");
            let c = gen(&cfg(f, 3000, 8, true)).0;
            assert_ne!(a, c, "{f:?}: different seeds gave the same output");
        }
    }

    #[test]
    fn golden_first_line() {
        // Pins the byte-exact output: if this changes, every corpus changes.
        let (out, _) = gen(&cfg(Format::Structlog, 1, 1, true));
        let first = String::from_utf8(out).unwrap();
        assert_eq!(
            first,
            "{\"timestamp\":\"2026-05-06T10:00:00.000000Z\",\"level\":\"info\",\"event\":\"request\",\"method\":\"GET\",\"path\":\"/v1/users/2660/keys\",\"status\":200,\"latency_ms\":6.47,\"request_id\":\"4ad8d1c6c149f7056a7e8d97669860d7\",\"api_key_hash_prefix\":\"b95bae3d\",\"tier\":\"free\",\"http\":{\"client_ip\":\"4.71.35.139\",\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\"}}\n"
        );
    }

    #[test]
    fn shorter_corpus_is_a_prefix() {
        let a = gen(&cfg(Format::Structlog, 1500, 3, true)).0;
        let b = gen(&cfg(Format::Structlog, 4000, 3, true)).0;
        assert!(b.starts_with(&a));
    }

    #[test]
    fn no_malformed_keeps_the_event_sequence() {
        let (with, st) = gen(&cfg(Format::Structlog, 20_000, 5, true));
        let (without, st2) = gen(&cfg(Format::Structlog, 20_000, 5, false));
        assert!(st.malformed > 0);
        assert_eq!(st2.malformed, 0);
        assert_eq!(st2.events, 20_000);
        let ev_with: Vec<&[u8]> = lines(&with)
            .into_iter()
            .filter(|l| as_event(l).is_some_and(|j| j.str("event") != "payload.dump"))
            .collect();
        let ev_without = lines(&without);
        assert!(ev_with.len() < ev_without.len());
        assert_eq!(&ev_without[..ev_with.len()], &ev_with[..]);
    }

    #[test]
    fn structlog_events_parse_with_stable_keys() {
        let (out, st) = gen(&cfg(Format::Structlog, 30_000, 11, false));
        let ls = lines(&out);
        assert_eq!(ls.len(), 30_000);
        assert_eq!(st.lines, 30_000);
        let mut kinds = std::collections::BTreeMap::new();
        let mut prev = i64::MIN;
        for l in ls {
            let j = parse_json(l).unwrap_or_else(|e| {
                panic!("{e}: {}", String::from_utf8_lossy(l));
            });
            let ts = j.str("timestamp");
            assert!(is_canonical_ts(ts), "{ts}");
            let t = ts_us(ts);
            assert!(t > prev, "timestamps strictly increase across events");
            prev = t;
            let ev = j.str("event").to_string();
            let keys: Vec<&str> = j.keys();
            let expected: &[&str] = match ev.as_str() {
                "request" => &[
                    "timestamp",
                    "level",
                    "event",
                    "method",
                    "path",
                    "status",
                    "latency_ms",
                    "request_id",
                    "api_key_hash_prefix",
                    "tier",
                    "q",
                    "page",
                    "http",
                ],
                "key.issued" => &[
                    "timestamp",
                    "level",
                    "event",
                    "request_id",
                    "key_id",
                    "tier",
                ],
                "mcp.tool_call" => &[
                    "timestamp",
                    "level",
                    "event",
                    "request_id",
                    "tool",
                    "duration_ms",
                ],
                "stripe.webhook" => &[
                    "timestamp",
                    "level",
                    "event",
                    "request_id",
                    "type",
                    "stripe_event_id",
                ],
                "stripe.webhook.bad_signature" => {
                    &["timestamp", "level", "event", "request_id", "message"]
                }
                "unhandled_exception" => &[
                    "timestamp",
                    "level",
                    "event",
                    "request_id",
                    "path",
                    "exc_info",
                ],
                "db.error" => &[
                    "timestamp",
                    "level",
                    "event",
                    "request_id",
                    "route",
                    "path",
                    "message",
                ],
                other => panic!("unexpected event {other}"),
            };
            // keys appear in the expected order; only q/page/http are optional
            let mut it = expected.iter();
            for k in &keys {
                assert!(it.any(|e| e == k), "{ev}: key order {keys:?}");
            }
            for k in expected {
                if !matches!(*k, "q" | "page" | "http") {
                    assert!(keys.contains(k), "{ev} lacks {k}");
                }
            }
            let level = j.str("level");
            match ev.as_str() {
                "request" => {
                    let status: u16 = j.num("status").parse().unwrap();
                    let want = match status {
                        0..=399 => "info",
                        400..=499 => "warning",
                        _ => "error",
                    };
                    assert_eq!(level, want);
                    assert!(j.num("latency_ms").contains('.'));
                    assert_eq!(j.str("api_key_hash_prefix").len(), 8);
                    assert_eq!(j.str("request_id").len(), 32);
                    if j.get("q").is_some() || j.get("page").is_some() {
                        assert_eq!(j.str("path"), "/v1/search");
                    }
                    if let Some(h) = j.get("http") {
                        assert_eq!(h.keys(), ["client_ip", "user_agent"]);
                    }
                }
                "stripe.webhook.bad_signature" => {
                    assert_eq!(level, "warning");
                    assert_eq!(j.str("message"), "bad signature");
                }
                "unhandled_exception" => {
                    assert_eq!(level, "error");
                    let exc = j.str("exc_info");
                    assert!(exc.starts_with("Traceback (most recent call last):\n"));
                    assert!(exc.matches("\n  File \"").count() >= 1);
                }
                "db.error" => {
                    assert_eq!(level, "error");
                    assert!(j.str("message").contains("database is locked"));
                }
                _ => {}
            }
            *kinds.entry(ev).or_insert(0u64) += 1;
        }
        let req = kinds["request"] as f64 / 30_000.0;
        assert!((0.75..0.86).contains(&req), "request share {req}");
        for k in [
            "key.issued",
            "mcp.tool_call",
            "stripe.webhook",
            "stripe.webhook.bad_signature",
            "unhandled_exception",
            "db.error",
        ] {
            assert!(
                kinds.get(k).copied().unwrap_or(0) > 0,
                "no {k} in {kinds:?}"
            );
        }
    }

    #[test]
    fn escapes_and_non_ascii_present() {
        let out = gen(&cfg(Format::Structlog, 30_000, 1, false)).0;
        let s = String::from_utf8(out).unwrap();
        for needle in [
            "\\\"",
            "\\\\",
            "\\u00e9",
            "café",
            "東京",
            "ｆｕｌｌｗｉｄｔｈ",
            "\\n  File",
            "\"q\":\"\"",
        ] {
            assert!(s.contains(needle), "corpus lacks {needle}");
        }
    }

    #[test]
    fn malformed_lines_share_and_kinds() {
        let (out, st) = gen(&cfg(Format::Structlog, 60_000, 2, true));
        let mut kinds = std::collections::BTreeMap::new();
        let mut bad = 0u64;
        for l in lines(&out) {
            let k = if l.len() > 2 << 20 {
                assert!(as_event(l).is_some(), "huge line is a valid JSON object");
                "huge"
            } else if as_event(l).is_some() {
                continue;
            } else if l.is_empty() {
                "empty"
            } else if std::str::from_utf8(l).is_err() {
                "invalid_utf8"
            } else if parse_json(l).is_ok() {
                "scalar"
            } else if l.starts_with(b"{\"timestamp\":") {
                "truncated"
            } else {
                "text"
            };
            if k != "huge" {
                bad += 1;
            }
            *kinds.entry(k).or_insert(0u64) += 1;
        }
        let share = bad as f64 / 60_000.0;
        assert!((0.003..0.008).contains(&share), "malformed share {share}");
        assert_eq!(bad + kinds.get("huge").copied().unwrap_or(0), st.malformed);
        for k in [
            "empty",
            "invalid_utf8",
            "scalar",
            "truncated",
            "text",
            "huge",
        ] {
            assert!(kinds.contains_key(k), "missing {k}: {kinds:?}");
        }
    }

    #[test]
    fn huge_line_in_every_2000_line_corpus() {
        for seed in 0..6 {
            let out = gen(&cfg(Format::Structlog, 2000, seed, true)).0;
            let huge: Vec<&[u8]> = lines(&out)
                .into_iter()
                .filter(|l| l.len() > 1 << 20)
                .collect();
            assert_eq!(huge.len(), 1, "seed {seed}");
            assert!(huge[0].len() >= 2 << 20);
            let j = as_event(huge[0]).unwrap();
            assert_eq!(j.str("event"), "payload.dump");
        }
    }

    fn db_error_times(seed: u64, n: u64) -> Vec<(usize, i64)> {
        let out = gen(&cfg(Format::Structlog, n, seed, false)).0;
        lines(&out)
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let j = as_event(l)?;
                (j.str("event") == "db.error").then(|| (i, ts_us(j.str("timestamp"))))
            })
            .collect()
    }

    #[test]
    fn db_errors_come_in_bursts() {
        for seed in 0..4 {
            let t = db_error_times(seed, 30_000);
            // the first burst lies within the first 2000 lines
            assert!(
                t.iter().filter(|(i, _)| *i < 2000).count() >= 3,
                "seed {seed}: {t:?}"
            );
            // clusters: consecutive db errors at most 10 s apart
            let mut clusters = vec![1usize];
            for w in t.windows(2) {
                if w[1].1 - w[0].1 <= 10_000_000 {
                    *clusters.last_mut().unwrap() += 1;
                } else {
                    clusters.push(1);
                }
            }
            let bursts = clusters.iter().filter(|&&c| c >= 3).count();
            let in_bursts: usize = clusters.iter().filter(|&&c| c >= 3).sum();
            assert!(in_bursts * 10 >= t.len() * 7, "seed {seed}: {clusters:?}");
            assert!(bursts >= 3, "seed {seed}: {bursts} bursts");
        }
    }

    #[test]
    fn incident_in_a_10k_corpus() {
        let out = gen(&cfg(Format::Structlog, 10_000, 4, false)).0;
        let mut statuses = Vec::new();
        for l in lines(&out) {
            let j = as_event(l).unwrap();
            if j.str("event") == "request" {
                statuses.push(j.num("status").parse::<u16>().unwrap() >= 500);
            }
        }
        let w = 200;
        let max = statuses
            .windows(w)
            .map(|s| s.iter().filter(|&&x| x).count())
            .max()
            .unwrap();
        assert!(
            max as f64 / w as f64 > 0.2,
            "peak 5xx share {}",
            max as f64 / w as f64
        );
        let total = statuses.iter().filter(|&&x| x).count() as f64 / statuses.len() as f64;
        assert!(total < 0.05, "overall 5xx share {total}");
    }

    #[test]
    fn fly_envelope_wraps_the_structlog_line() {
        let (sl, _) = gen(&cfg(Format::Structlog, 5000, 9, true));
        let (fly, _) = gen(&cfg(Format::Fly, 5000, 9, true));
        let (a, b) = (lines(&sl), lines(&fly));
        assert_eq!(a.len(), b.len());
        for (s, f) in a.iter().zip(b.iter()) {
            let j = parse_json(f).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(f)));
            assert_eq!(
                j.keys(),
                ["event", "fly", "host", "log", "message", "timestamp"]
            );
            assert_eq!(j.get("event").unwrap().str("provider"), "app");
            let flyo = j.get("fly").unwrap();
            let app = flyo.get("app").unwrap();
            assert_eq!(app.str("name"), "api");
            let inst = INSTANCES
                .iter()
                .position(|i| i.id == app.str("instance"))
                .unwrap();
            assert_eq!(flyo.str("region"), INSTANCES[inst].region);
            assert_eq!(j.str("host"), INSTANCES[inst].host);
            assert_eq!(j.str("message"), String::from_utf8_lossy(s));
            let env = j.str("timestamp");
            assert_eq!(env.len(), 30, "{env}");
            if let Some(inner) = as_event(s) {
                assert_eq!(j.get("log").unwrap().str("level"), inner.str("level"));
                let d = ts_us(env) - ts_us(inner.str("timestamp"));
                assert!((1000..=9000).contains(&d), "envelope lag {d}us");
            }
        }
    }

    #[test]
    fn flyctl_prefixes_the_structlog_line() {
        let (sl, _) = gen(&cfg(Format::Structlog, 5000, 9, true));
        let (fc, _) = gen(&cfg(Format::Flyctl, 5000, 9, true));
        let (a, b) = (lines(&sl), lines(&fc));
        assert_eq!(a.len(), b.len());
        for (s, f) in a.iter().zip(b.iter()) {
            assert!(f.ends_with(s));
            let prefix = std::str::from_utf8(&f[..f.len() - s.len()]).unwrap();
            let parts: Vec<&str> = prefix.split(' ').collect();
            assert_eq!(parts.len(), 5, "{prefix:?}");
            assert!(is_canonical_ts(parts[0]));
            let inst = parts[1]
                .strip_prefix("app[")
                .unwrap()
                .strip_suffix(']')
                .unwrap();
            let i = INSTANCES.iter().position(|x| x.id == inst).unwrap();
            assert_eq!(parts[2], INSTANCES[i].region);
            assert!(parts[3].starts_with('[') && parts[3].ends_with(']'));
            assert_eq!(parts[4], "");
            if let Some(j) = as_event(s) {
                assert_eq!(parts[0], j.str("timestamp"));
                assert_eq!(parts[3], format!("[{}]", j.str("level")));
            }
        }
    }

    #[test]
    fn nginx_renders_request_events() {
        let (sl, _) = gen(&cfg(Format::Structlog, 8000, 12, true));
        let (ng, _) = gen(&cfg(Format::Nginx, 8000, 12, true));
        let wanted: Vec<&[u8]> = lines(&sl)
            .into_iter()
            .filter(|l| match as_event(l) {
                Some(j) => matches!(j.str("event"), "request" | "payload.dump"),
                None => true,
            })
            .collect();
        let got = lines(&ng);
        assert_eq!(wanted.len(), got.len());
        let mut checked = 0;
        for (s, n) in wanted.iter().zip(got.iter()) {
            let Some(j) = as_event(s).filter(|j| j.str("event") == "request") else {
                assert_eq!(s, n, "malformed lines are copied verbatim");
                continue;
            };
            let n = std::str::from_utf8(n).unwrap();
            // ip - - [date] "METHOD target HTTP/1.1" status bytes "ref" "ua" rt
            let (ip, rest) = n.split_once(" - - [").unwrap();
            let octets: Vec<u8> = ip.split('.').map(|o| o.parse().unwrap()).collect();
            assert_eq!(octets.len(), 4);
            if let Some(h) = j.get("http") {
                assert_eq!(h.str("client_ip"), ip);
            }
            let (date, rest) = rest.split_once("] \"").unwrap();
            assert_eq!(date.len(), 26);
            assert!(date.ends_with(" +0000"));
            let t = ts_us(j.str("timestamp"));
            let mut tf = TsFmt::new();
            let mut d = Vec::new();
            tf.push_nginx(&mut d, t);
            assert_eq!(date.as_bytes(), &d[..]);
            let (req, rest) = rest.split_once(" HTTP/1.1\" ").unwrap();
            let (method, target) = req.split_once(' ').unwrap();
            assert_eq!(method, j.str("method"));
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (target, None),
            };
            assert_eq!(path, j.str("path"));
            let mut q = None;
            let mut page = None;
            for kv in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap();
                assert!(v.bytes().all(|c| c.is_ascii_graphic() && c != b'"'));
                match k {
                    "q" => q = Some(url_decode(v)),
                    "page" => page = Some(v.to_string()),
                    _ => panic!("{kv}"),
                }
            }
            assert_eq!(q.as_deref(), j.get("q").map(|_| j.str("q")));
            assert_eq!(page.as_deref(), j.get("page").map(|_| j.num("page")));
            let fields: Vec<&str> = rest.splitn(3, ' ').collect();
            assert_eq!(fields[0], j.num("status"));
            fields[1].parse::<u32>().unwrap();
            let tail = fields[2];
            assert!(tail.starts_with('"'));
            let rt = tail.rsplit(' ').next().unwrap();
            let (secs, ms) = rt.split_once('.').unwrap();
            assert_eq!(ms.len(), 3);
            let lat: f64 = j.num("latency_ms").parse().unwrap();
            let rt_ms = secs.parse::<u64>().unwrap() * 1000 + ms.parse::<u64>().unwrap();
            assert!((rt_ms as f64 - lat).abs() <= 0.5 + 1e-9, "{rt} vs {lat}");
            assert_eq!(tail.matches('"').count(), 4, "{tail}");
            checked += 1;
        }
        assert!(checked > 5000);
    }

    #[test]
    fn gzip_is_multi_member_and_round_trips() {
        let plain = gen(&cfg(Format::Fly, 6000, 3, true)).0;
        let mut c = cfg(Format::Fly, 6000, 3, true);
        c.gzip = true;
        c.gzip_member_bytes = 1 << 20;
        let gz = gen(&c).0;
        let mut all = Vec::new();
        flate2::read::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all, plain);
        let mut first = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut first)
            .unwrap();
        assert!(first.len() < plain.len(), "expected several gzip members");
        assert!(first.len() as u64 >= 1 << 20);
        assert_eq!(gen(&c).0, gz, "gzip output deterministic");
    }

    #[test]
    fn bytes_limit_stops_after_crossing() {
        for f in [Format::Structlog, Format::Nginx] {
            let c = Config {
                limit: Limit::Bytes(300_000),
                format: f,
                malformed: false,
                ..Config::default()
            };
            let (out, st) = gen(&c);
            assert_eq!(out.len() as u64, st.bytes);
            assert!(out.len() >= 300_000);
            let ls = lines(&out);
            let last = ls.last().unwrap().len() + 1;
            assert!(out.len() - last < 300_000);
        }
    }

    #[test]
    fn start_time_is_honoured() {
        let mut c = cfg(Format::Structlog, 3, 1, true);
        c.start_us = parse_rfc3339("2024-02-29T23:59:59.999999+02:00").unwrap();
        let out = gen(&c).0;
        assert!(out.starts_with(b"{\"timestamp\":\"2024-02-29T21:59:59.999999Z\""));
    }

    #[test]
    fn time_helpers() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for d in [-800_000i64, -1, 0, 1, 11_016, 20_579, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(
            parse_rfc3339("2026-05-06T10:00:00Z"),
            Some(1_778_061_600_000_000)
        );
        assert_eq!(
            parse_rfc3339("2026-05-06T12:00:00.5+02:00"),
            Some(1_778_061_600_500_000)
        );
        assert_eq!(parse_rfc3339("2026-05-06T10:00:00"), None);
        assert_eq!(parse_rfc3339("2026-13-06T10:00:00Z"), None);
        let mut f = TsFmt::new();
        let mut b = Vec::new();
        f.push_us(&mut b, 1_778_061_600_123_456);
        b.push(b' ');
        f.push_ns(&mut b, 1_778_061_600_123_456_789);
        b.push(b' ');
        f.push_nginx(&mut b, 1_778_063_445_000_000);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "2026-05-06T10:00:00.123456Z 2026-05-06T10:00:00.123456789Z 06/May/2026:10:30:45 +0000"
        );
    }

    #[test]
    fn number_and_string_helpers() {
        let f = |us| {
            let mut b = Vec::new();
            push_ms(&mut b, us);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(f(12_345), "12.345");
        assert_eq!(f(12_300), "12.3");
        assert_eq!(f(12_000), "12.0");
        assert_eq!(f(5), "0.005");
        let mut b = Vec::new();
        push_secs3(&mut b, 231_499);
        b.push(b' ');
        push_secs3(&mut b, 1_999_500);
        assert_eq!(b, b"0.231 2.000");
        let mut b = Vec::new();
        push_json_str(&mut b, "é\"\\\n\t\u{1}😀", true);
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            "\\u00e9\\\"\\\\\\n\\t\\u0001\\ud83d\\ude00"
        );
        let mut b = Vec::new();
        push_json_str(&mut b, "café 東京", false);
        assert_eq!(std::str::from_utf8(&b).unwrap(), "café 東京");
        let mut b = Vec::new();
        push_urlenc(&mut b, "café a&b", false);
        assert_eq!(b, b"caf%C3%A9%20a%26b");
        let mut b = Vec::new();
        push_json_bytes(&mut b, b"a\xff\xfeb\"");
        assert_eq!(std::str::from_utf8(&b).unwrap(), "a\u{fffd}\u{fffd}b\\\"");
    }

    #[test]
    fn deterministic_math_is_accurate() {
        for &x in &[1e-12, 0.001, 0.3, 0.5, 0.72, 0.999999, 1.0] {
            assert!(
                (det_ln(x) - f64::ln(x)).abs() < 1e-12 * (1.0 + f64::ln(x).abs()),
                "ln {x}"
            );
        }
        for &x in &[-30.0, -2.5, -0.1, 0.0, 0.3, 1.0, 5.7, 40.0] {
            assert!((det_exp(x) / f64::exp(x) - 1.0).abs() < 1e-13, "exp {x}");
        }
    }

    #[test]
    fn argument_parsing() {
        let p = |s: &str| parse_args(&s.split_whitespace().map(String::from).collect::<Vec<_>>());
        let Ok(Parsed::Run(c)) =
            p("--bytes 300MB --seed 0x10 --format=nginx --gzip --no-malformed -o x")
        else {
            panic!()
        };
        assert_eq!(c.limit, Limit::Bytes(300_000_000));
        assert_eq!(c.seed, 16);
        assert_eq!(c.format, Format::Nginx);
        assert!(c.gzip && !c.malformed);
        assert_eq!(c.output.as_deref(), Some("x"));
        let Ok(Parsed::Run(c)) = p("") else { panic!() };
        assert_eq!(c.limit, Limit::Lines(10_000));
        assert_eq!(c.seed, 1);
        assert!(matches!(p("--help"), Ok(Parsed::Help)));
        assert!(p("--lines 5 --bytes 5").is_err());
        assert!(p("--format xml").is_err());
        assert!(p("--lines").is_err());
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("64k"), Ok(64_000));
        assert_eq!(parse_size("7"), Ok(7));
        assert!(parse_size("MB").is_err());
    }
}
