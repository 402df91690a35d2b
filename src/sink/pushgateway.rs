//! Pushing metrics to a Prometheus Pushgateway over plain HTTP/1.1.
//!
//! A batch run ends with one [`push`]: an HTTP `PUT` of the text exposition (see
//! `metrics::exposition`) to `{url}/metrics/job/{job}{/label/value…}`. `PUT` replaces
//! every metric of that group, so the group always holds the totals of the last run (ARCHITECTURE.md,
//! contract: "Derived metrics").
//!
//! ```no_run
//! # use nagare::sink::pushgateway::{push, PushOptions};
//! let body = "# TYPE log_lines_total counter\nlog_lines_total 3\n";
//! let grouping = [("instance".to_string(), "web-1".to_string())];
//! push("http://127.0.0.1:9091", "nagare", &grouping, body, &PushOptions::default())?;
//! # Ok::<(), nagare::sink::pushgateway::PushError>(())
//! ```
//!
//! - Path segments are percent-encoded; a job or label value that contains `/` or is empty
//!   is sent in the Pushgateway's `name@base64/<base64url>` form.
//! - One deadline per push ([`PushOptions::max_elapsed`]) covers connecting, sending and
//!   reading the answer, of every attempt, and the waits between them: a server that
//!   trickles its answer a byte at a time cannot hold a push past it. A timeout is reported
//!   as one ("reading the response timed out after 10s").
//! - Connection errors, `5xx` and `429` are retried with exponential backoff and jitter,
//!   within [`PushOptions::max_attempts`] and the deadline. A `Retry-After` answer is
//!   honoured in both of its forms (seconds, or an HTTP date), capped at
//!   [`PushOptions::max_retry_after`]; no wait takes more than half of what is left of the
//!   deadline, so an attempt always follows it. Any other `4xx` fails at once, as the body
//!   or the URL is wrong and sending it again cannot help.
//! - Credentials ([`PushOptions::auth`], or `user:password@` in the URL) are sent as
//!   `Authorization: Basic …` or `Bearer …`, and never printed: errors and logs name the
//!   URL without them, and `Debug` shows `***`.
//! - Errors name the full push URL, the status and the first line of the Pushgateway's answer
//!   (which says what is wrong in the body), or the connection error.
//!
//! The client is std only (no runtime, no TLS): `https://` URLs are rejected with a clear
//! error. The small HTTP/1.1 client here ([`http_exchange`]) is shared with the test helpers.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime};

/// Limits, retry policy and credentials of one [`push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOptions {
    /// Time to establish the TCP connection (per address tried).
    pub connect_timeout: Duration,
    /// Time any single read or write may block.
    pub io_timeout: Duration,
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The delay before the second attempt; it doubles with each further attempt.
    pub initial_backoff: Duration,
    /// The longest delay between two attempts (not applied to `Retry-After`).
    pub max_backoff: Duration,
    /// The longest wait a `Retry-After` answer gets (a longer one is cut to this).
    pub max_retry_after: Duration,
    /// The deadline of the whole push: every attempt (connecting, sending, reading the
    /// answer) and every wait between attempts ends within this time of the start.
    pub max_elapsed: Duration,
    /// Credentials to send; `None` uses the URL's `user:password@`, if any.
    pub auth: Option<PushAuth>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(10),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(30),
            auth: None,
        }
    }
}

/// Credentials sent with a push (`Authorization` header). `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum PushAuth {
    /// HTTP basic authentication (RFC 7617).
    Basic { username: String, password: String },
    /// `Authorization: Bearer <token>` (RFC 6750).
    Bearer(String),
}

impl fmt::Debug for PushAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            PushAuth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

impl PushAuth {
    /// Checks that the credentials fit in a header (no control characters; no `:` in a
    /// basic-auth user name, RFC 7617); the error names what is wrong, never the secret.
    pub fn validate(&self) -> Result<(), String> {
        let bad = |s: &str| s.chars().any(char::is_control);
        match self {
            PushAuth::Basic { username, password } => {
                if username.contains(':') {
                    return Err("the basic-auth user name contains ':'".into());
                }
                if bad(username) {
                    return Err("the basic-auth user name contains a control character".into());
                }
                if bad(password) {
                    return Err("the basic-auth password contains a control character".into());
                }
            }
            PushAuth::Bearer(token) => {
                if token.is_empty() {
                    return Err("the bearer token is empty".into());
                }
                if bad(token) || token.contains(' ') {
                    return Err("the bearer token contains a space or a control character".into());
                }
            }
        }
        Ok(())
    }

    /// The value of the `Authorization` header.
    fn header_value(&self) -> String {
        match self {
            PushAuth::Basic { username, password } => {
                let pair = format!("{username}:{password}");
                format!("Basic {}", base64(pair.as_bytes(), STANDARD))
            }
            PushAuth::Bearer(token) => format!("Bearer {token}"),
        }
    }
}

/// Why a push failed. Every variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The Pushgateway URL could not be parsed.
    #[error("pushgateway URL {url:?} is not valid: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Only `http://` is supported.
    #[error("pushgateway URL {url:?}: {scheme}:// is not supported yet; use http://host:port")]
    UnsupportedScheme { url: String, scheme: String },
    /// The job name or a grouping label cannot be pushed.
    #[error("pushgateway {url}: {reason}")]
    InvalidGrouping { url: String, reason: String },
    /// The Pushgateway answered with a status other than 2xx.
    #[error(
        "pushgateway {url} answered {status} {reason}: {first_line}{}",
        attempts_note(*attempts)
    )]
    Status {
        url: String,
        status: u16,
        reason: String,
        /// The first non-empty line of the response body.
        first_line: String,
        attempts: u32,
    },
    /// The Pushgateway could not be reached, or the exchange broke off.
    #[error("could not push to pushgateway {url}: {source}{}", attempts_note(*attempts))]
    Connection {
        url: String,
        #[source]
        source: io::Error,
        attempts: u32,
    },
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl PushError {
    /// The HTTP status, when the Pushgateway answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            PushError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How many attempts were made (0 when the request was never sent).
    pub fn attempts(&self) -> u32 {
        match self {
            PushError::Status { attempts, .. } | PushError::Connection { attempts, .. } => {
                *attempts
            }
            _ => 0,
        }
    }
}

/// `url` as it may be printed: a password in its user info (`user:pass@`)
/// becomes `***`, so an error message or a log line never shows it.
pub fn redact_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &url[start..start + at];
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_string()
            };
            format!("{}{shown}{}", &url[..start], &url[start + at..])
        }
        None => url.to_string(),
    }
}

/// Pushes `body` (text format 0.0.4) to the group `job` + `grouping` of the Pushgateway at
/// `url` (`http://[user:password@]host:port[/path]`), replacing the group's metrics (HTTP
/// `PUT`).
pub fn push(
    url: &str,
    job: &str,
    grouping: &[(String, String)],
    body: &str,
    opts: &PushOptions,
) -> Result<(), PushError> {
    let (base, url_auth) = parse_push_url(url)?;
    let path = format!("{}{}", base.path, group_path(url, job, grouping)?);
    let full = format!("http://{}{}", base.authority(), path);
    let auth = opts.auth.as_ref().or(url_auth.as_ref());
    if let Some(Err(reason)) = auth.map(PushAuth::validate) {
        return Err(PushError::InvalidUrl {
            url: redact_url(url),
            reason,
        });
    }
    let auth_header = auth.map(PushAuth::header_value);
    let mut headers = vec![("Content-Type", "text/plain; version=0.0.4")];
    if let Some(v) = &auth_header {
        headers.push(("Authorization", v.as_str()));
    }
    let deadline = Deadline {
        at: Instant::now() + opts.max_elapsed,
        total: opts.max_elapsed,
    };
    let max_attempts = opts.max_attempts.max(1);
    let timeouts = Timeouts {
        connect: opts.connect_timeout,
        io: opts.io_timeout,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (err, retry_after) = match exchange(
            &base,
            "PUT",
            &path,
            &headers,
            Some(body.as_bytes()),
            timeouts,
            Some(deadline),
            MAX_PUSH_RESPONSE,
        ) {
            Ok(resp) if (200..300).contains(&resp.status) => {
                tracing::debug!(url = %full, attempt, bytes = body.len(), "pushed metrics");
                return Ok(());
            }
            Ok(resp) => {
                let retryable = resp.status >= 500 || resp.status == 429;
                let retry_after = resp
                    .header("retry-after")
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                let err = PushError::Status {
                    url: full.clone(),
                    status: resp.status,
                    reason: resp.reason.clone(),
                    first_line: resp.first_body_line(),
                    attempts: attempt,
                };
                if !retryable {
                    return Err(err);
                }
                (err, retry_after)
            }
            Err(source) => (
                PushError::Connection {
                    url: full.clone(),
                    source,
                    attempts: attempt,
                },
                None,
            ),
        };
        if attempt >= max_attempts {
            return Err(err);
        }
        // The failure of this attempt, without the "gave up" note of the final error.
        let shown = err.to_string();
        let shown = shown
            .strip_suffix(&attempts_note(attempt))
            .unwrap_or(&shown);
        let left = deadline.at.saturating_duration_since(Instant::now());
        if left < MIN_ATTEMPT_TIME {
            tracing::warn!(url = %full, "push attempt {attempt} failed ({shown}); the {} time limit is reached, giving up", human_duration(opts.max_elapsed));
            return Err(err);
        }
        let wanted = match retry_after {
            Some(d) => d.min(opts.max_retry_after),
            None => backoff(opts, attempt),
        };
        // Leave at least as much time for the attempt as for the wait.
        let delay = wanted.min(left / 2);
        tracing::warn!(url = %full, "push attempt {attempt} of {max_attempts} failed ({shown}); retrying in {delay:?}");
        std::thread::sleep(delay);
    }
}

/// Below this much time left, no further attempt is made.
const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(10);

/// Splits a push URL into the URL proper and the credentials of its user info
/// (`http://user:password@host`, percent-decoded; a user alone has an empty password).
/// Errors name the URL with its secrets redacted.
pub fn parse_push_url(url: &str) -> Result<(HttpUrl, Option<PushAuth>), PushError> {
    let trimmed = url.trim();
    let start = trimmed.find("://").map_or(0, |i| i + 3);
    let authority_end = trimmed[start..]
        .find(['/', '?', '#'])
        .map_or(trimmed.len(), |i| start + i);
    let Some(at) = trimmed[start..authority_end].rfind('@') else {
        return Ok((HttpUrl::parse(url)?, None));
    };
    let userinfo = &trimmed[start..start + at];
    let bare = format!("{}{}", &trimmed[..start], &trimmed[start + at + 1..]);
    let invalid = |reason: &str| PushError::InvalidUrl {
        url: redact_url(url),
        reason: reason.to_owned(),
    };
    let base = HttpUrl::parse(&bare).map_err(|e| match e {
        PushError::InvalidUrl { reason, .. } => invalid(&reason),
        PushError::UnsupportedScheme { scheme, .. } => PushError::UnsupportedScheme {
            url: redact_url(url),
            scheme,
        },
        other => other,
    })?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |s: &str| {
        percent_decode(s).ok_or_else(|| invalid("the user info is not valid percent-encoded UTF-8"))
    };
    let auth = PushAuth::Basic {
        username: decode(user)?,
        password: decode(password)?,
    };
    auth.validate().map_err(|r| invalid(&r))?;
    Ok((base, Some(auth)))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The path of a group below the Pushgateway URL: `/metrics/job/{job}{/label/value…}`, each
/// segment percent-encoded, values with `/` (or empty) in the `@base64` form.
pub fn group_path(
    url: &str,
    job: &str,
    grouping: &[(String, String)],
) -> Result<String, PushError> {
    let invalid = |reason: String| PushError::InvalidGrouping {
        url: redact_url(url),
        reason,
    };
    if job.is_empty() {
        return Err(invalid("the job name is empty".into()));
    }
    let mut path = String::from("/metrics");
    push_segment(&mut path, "job", job);
    for (i, (name, value)) in grouping.iter().enumerate() {
        if !is_label_name(name) {
            return Err(invalid(format!(
                "grouping label name {name:?} is not valid: use letters, digits and '_' only, not starting with a digit or \"__\""
            )));
        }
        if name == "job" || grouping[..i].iter().any(|(n, _)| n == name) {
            return Err(invalid(format!("grouping label {name:?} is given twice")));
        }
        push_segment(&mut path, name, value);
    }
    Ok(path)
}

fn push_segment(path: &mut String, name: &str, value: &str) {
    path.push('/');
    path.push_str(name);
    if value.is_empty() || value.contains('/') {
        path.push_str("@base64/");
        path.push_str(&base64url(value.as_bytes()));
    } else {
        path.push('/');
        percent_encode(value, path);
    }
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && !name.starts_with("__")
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with the URL-safe alphabet and padding (RFC 4648 §5), as the Pushgateway reads it.
fn base64url(data: &[u8]) -> String {
    let mut out = base64(data, URL_SAFE);
    if data.is_empty() {
        // The Pushgateway's documented form for an empty value: `name@base64/=`.
        out.push('=');
    }
    out
}

/// Base64 with padding (RFC 4648) in the given alphabet.
fn base64(data: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn backoff(opts: &PushOptions, failed_attempts: u32) -> Duration {
    let exp = opts
        .initial_backoff
        .saturating_mul(1u32 << (failed_attempts - 1).min(20));
    let base = exp.min(opts.max_backoff);
    // "Equal jitter": half fixed, half random, so retries of many agents spread out.
    let half = base / 2;
    let nanos = half.as_nanos().min(u128::from(u64::MAX)) as u64;
    let jitter = if nanos == 0 { 0 } else { random_u64() % nanos };
    half + Duration::from_nanos(jitter)
}

fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// The wait a `Retry-After` value asks for (RFC 9110 §10.2.3): delay-seconds, or an
/// HTTP date (IMF-fixdate, and the obsolete RFC 850 and asctime forms) less `now`; a date
/// in the past is no wait. `None` for anything else.
fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // A number too large for u64 is a very long wait all the same.
        return Some(Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX)));
    }
    const FORMS: [&str; 3] = [
        "%a, %d %b %Y %H:%M:%S GMT", // Sun, 06 Nov 1994 08:49:37 GMT
        "%A, %d-%b-%y %H:%M:%S GMT", // Sunday, 06-Nov-94 08:49:37 GMT
        "%a %b %e %H:%M:%S %Y",      // Sun Nov  6 08:49:37 1994
    ];
    let date = FORMS
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(v, f).ok())?
        .and_utc();
    let at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(u64::try_from(date.timestamp()).ok()?))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `2s`, `1.5s`, `250ms`: a duration as a timeout message shows it.
fn human_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The most of a push response that is read (error bodies are one line).
const MAX_PUSH_RESPONSE: usize = 64 * 1024;

/// A parsed `http://host:port[/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port, 80 when not given.
    pub port: u16,
    /// Path prefix without a trailing `/` (`""` for none).
    pub path: String,
}

impl HttpUrl {
    /// Parses `http://host[:port][/path]`; `https` and other schemes are rejected.
    pub fn parse(url: &str) -> Result<HttpUrl, PushError> {
        let invalid = |reason: &str| PushError::InvalidUrl {
            url: redact_url(url),
            reason: reason.to_owned(),
        };
        let trimmed = url.trim();
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return Err(invalid("expected http://host:port[/path]"));
        };
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(PushError::UnsupportedScheme {
                url: redact_url(url),
                scheme: scheme.to_ascii_lowercase(),
            });
        }
        if rest.contains(['?', '#']) {
            return Err(invalid("a query string or fragment is not allowed"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(invalid("user info (user@host) is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some((host, after)) = v6.split_once(']') else {
                return Err(invalid("unclosed '[' in the host"));
            };
            match after {
                "" => (host, None),
                p => match p.strip_prefix(':') {
                    Some(p) => (host, Some(p)),
                    None => return Err(invalid("unexpected text after ']'")),
                },
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("the host is empty"));
        }
        if host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(invalid("the host contains a space or a control character"));
        }
        let port =
            match port {
                None => 80,
                Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    invalid(&format!("port {p:?} is not a number from 1 to 65535"))
                })?,
            };
        if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(invalid("the path contains a space or a control character"));
        }
        Ok(HttpUrl {
            host: host.to_owned(),
            port,
            path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

/// Connect and I/O timeouts of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Per address tried.
    pub connect: Duration,
    /// Per read or write call.
    pub io: Duration,
}

/// An HTTP response, read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// Header names (lowercased) and values.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first non-empty line of the body, cut to 300 characters, for error messages.
    pub fn first_body_line(&self) -> String {
        let text = self.text();
        match text.lines().map(str::trim).find(|l| !l.is_empty()) {
            Some(l) if l.chars().count() > 300 => {
                format!("{}…", l.chars().take(300).collect::<String>())
            }
            Some(l) => l.to_owned(),
            None => "(empty response body)".to_owned(),
        }
    }
}

/// One HTTP/1.1 request with `Connection: close`, the response read in full (at most
/// `max_response` bytes, else an error). `body` is `(content type, bytes)`.
pub fn http_exchange(
    url: &HttpUrl,
    method: &str,
    path_and_query: &str,
    body: Option<(&str, &[u8])>,
    timeouts: Timeouts,
    max_response: usize,
) -> io::Result<HttpResponse> {
    let headers: Vec<(&str, &str)> = body.iter().map(|(t, _)| ("Content-Type", *t)).collect();
    exchange(
        url,
        method,
        path_and_query,
        &headers,
        body.map(|(_, b)| b),
        timeouts,
        None,
        max_response,
    )
}

/// The end of a whole push, and its length (for messages).
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    total: Duration,
}

/// How long the next blocking call may take: the per-call `timeout`, cut to what is left
/// of the deadline. Also returns the error to report if the call times out.
fn call_budget(
    timeout: Duration,
    deadline: Option<Deadline>,
    what: &str,
) -> io::Result<(Duration, io::Error)> {
    let per_call = || {
        timed_out(format!(
            "{what} timed out after {}",
            human_duration(timeout)
        ))
    };
    let Some(d) = deadline else {
        return Ok((timeout, per_call()));
    };
    let whole = || {
        timed_out(format!(
            "{what}: the push timed out after {}",
            human_duration(d.total)
        ))
    };
    let left = d.at.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(1) {
        Err(whole())
    } else if left < timeout {
        Ok((left, whole()))
    } else {
        Ok((timeout, per_call()))
    }
}

fn timed_out(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, msg)
}

/// Whether an error is a socket timeout (`EAGAIN` from a read or write timeout reads
/// "Resource temporarily unavailable": it is reported as the timeout it is).
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// [`http_exchange`] with more header lines and an optional deadline over the whole
/// exchange (connecting, sending, reading).
#[allow(clippy::too_many_arguments)]
fn exchange(
    url: &HttpUrl,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    timeouts: Timeouts,
    deadline: Option<Deadline>,
    max_response: usize,
) -> io::Result<HttpResponse> {
    let mut stream = connect(url, timeouts.connect, deadline)?;
    let mut req = format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\nUser-Agent: nagare\r\nAccept: */*\r\nConnection: close\r\n",
        url.authority()
    );
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(bytes) = body {
        req.push_str(&format!("Content-Length: {}\r\n", bytes.len()));
    } else if method != "GET" && method != "HEAD" {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    if let Some(bytes) = body {
        out.extend_from_slice(bytes);
    }
    let mut sent = 0;
    while sent < out.len() {
        let (limit, on_timeout) = call_budget(timeouts.io, deadline, "sending the request")?;
        stream.set_write_timeout(Some(limit))?;
        match stream.write(&out[sent..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the server stopped taking the request",
                ))
            }
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(on_timeout),
            Err(e) => return Err(e),
        }
    }

    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let (limit, on_timeout) = call_budget(timeouts.io, deadline, "reading the response")?;
        stream.set_read_timeout(Some(limit))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if raw.len() > max_response {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("response larger than {max_response} bytes"),
                    ));
                }
                if response_complete(&raw) || (method == "HEAD" && header_end(&raw).is_some()) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A server that answers early (e.g. 400 while we still send) may reset the
            // connection after its answer: keep what was read.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Err(e) if is_timeout(&e) => return Err(on_timeout),
            Err(e) => return Err(e),
        }
    }
    let mut resp = parse_response(&raw, method == "HEAD")?;
    if method == "HEAD" {
        resp.body.clear();
    }
    Ok(resp)
}

fn connect(url: &HttpUrl, timeout: Duration, deadline: Option<Deadline>) -> io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port).to_socket_addrs()?.collect();
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("host {} resolved to no address", url.host),
    );
    for addr in addrs {
        let what = format!("connecting to {addr}");
        let (limit, on_timeout) = call_budget(timeout, deadline, &what)?;
        match TcpStream::connect_timeout(&addr, limit) {
            Ok(s) => return Ok(s),
            Err(e) if is_timeout(&e) => last = on_timeout,
            Err(e) => last = io::Error::new(e.kind(), format!("{what}: {e}")),
        }
    }
    Err(last)
}

fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Whether a response with a Content-Length has all its body (else read to EOF).
fn response_complete(raw: &[u8]) -> bool {
    let Some(end) = header_end(raw) else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .is_some_and(|len| raw.len() >= end + len)
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Parses a full response; `no_body` for answers to HEAD, whose Content-Length describes a
/// body that is not sent.
fn parse_response(raw: &[u8], no_body: bool) -> io::Result<HttpResponse> {
    if raw.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection without answering",
        ));
    }
    let end = header_end(raw).ok_or_else(|| bad("the response has no complete header"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("response header is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/"))
        .ok_or_else(|| bad(format!("malformed status line {status_line:?}")))?;
    let reason = parts.next().unwrap_or("").trim().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if no_body || matches!(status, 100..=199 | 204 | 304) {
        Vec::new()
    } else if chunked {
        dechunk(rest)?
    } else if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if rest.len() < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("response body cut short: {} of {len} bytes", rest.len()),
            ));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        reason,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("chunked body cut short"))?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| bad(format!("bad chunk size {size_text:?}")))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(bad("chunked body cut short"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A password in a push URL never reaches a message (the URL is
    /// refused, since user info is not supported, and named redacted).
    #[test]
    fn passwords_in_urls_are_never_printed() {
        assert_eq!(
            redact_url("http://u:s3cret@host:9091/p"),
            "http://u:***@host:9091/p"
        );
        assert_eq!(redact_url("https://tok3n@host"), "https://***@host");
        assert_eq!(redact_url("http://host:9091/a@b"), "http://host:9091/a@b");
        let once = PushOptions {
            max_attempts: 1,
            ..PushOptions::default()
        };
        for url in [
            // A closed port: the push fails after sending nothing.
            "http://u:s3cret@127.0.0.1:1",
            "ftp://u:s3cret@host",
            "u:s3cret@host",
            "http://u:s3cret@host:0",
            "http://u:s3cret%zz@host",
        ] {
            let e = push(url, "j", &[], "", &once).unwrap_err();
            let shown = e.to_string();
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        let auth = PushAuth::Basic {
            username: "u".into(),
            password: "s3cret".into(),
        };
        let shown = format!(
            "{:?}",
            PushOptions {
                auth: Some(auth),
                ..once.clone()
            }
        );
        assert!(
            !shown.contains("s3cret") && shown.contains("\"u\""),
            "{shown}"
        );
        let shown = format!("{:?}", PushAuth::Bearer("t0ken".into()));
        assert_eq!(shown, "Bearer(***)");
        let e = group_path("http://u:s3cret@host", "", &[]).unwrap_err();
        assert!(!e.to_string().contains("s3cret"));
    }

    fn g(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect()
    }

    #[test]
    fn parses_urls() {
        let u = HttpUrl::parse("http://127.0.0.1:9091").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 9091, "")
        );
        let u = HttpUrl::parse("HTTP://gw.example/prefix/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("gw.example", 80, "/prefix")
        );
        let u = HttpUrl::parse("http://[::1]:9091/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.authority()),
            ("::1", 9091, "[::1]:9091".into())
        );
        assert_eq!(u.to_string(), "http://[::1]:9091/x");
    }

    #[test]
    fn rejects_bad_urls_with_reasons() {
        let cases = [
            ("https://gw:9091", "https:// is not supported yet"),
            ("127.0.0.1:9091", "expected http://host:port[/path]"),
            ("http://:9091", "the host is empty"),
            ("http://gw:99999", "port \"99999\" is not a number"),
            ("http://gw:0", "port \"0\""),
            ("http://gw:9091/?a=b", "query string"),
            ("http://u@gw:9091", "user info"),
            ("http://[::1:9091", "unclosed"),
        ];
        for (url, want) in cases {
            let e = HttpUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(want), "{url}: {e}");
            // User info may be a secret (a token alone, or user:password):
            // the URL is named with it redacted.
            assert!(e.contains(&redact_url(url)), "{url}: {e}");
        }
        assert_eq!(redact_url("http://u@gw:9091"), "http://***@gw:9091");
    }

    #[test]
    fn builds_group_paths() {
        assert_eq!(
            group_path("u", "nagare", &[]).unwrap(),
            "/metrics/job/nagare"
        );
        assert_eq!(
            group_path(
                "u",
                "my job",
                &g(&[("instance", "web-1:80"), ("dir", "/var/tmp")])
            )
            .unwrap(),
            "/metrics/job/my%20job/instance/web-1%3A80/dir@base64/L3Zhci90bXA="
        );
        assert_eq!(
            group_path("u", "a/b", &g(&[("empty", "")])).unwrap(),
            "/metrics/job@base64/YS9i/empty@base64/="
        );
        let e = group_path("http://x", "", &[]).unwrap_err().to_string();
        assert_eq!(e, "pushgateway http://x: the job name is empty");
        let e = group_path("u", "j", &g(&[("bad-name", "v")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("grouping label name \"bad-name\" is not valid"),
            "{e}"
        );
        let e = group_path("u", "j", &g(&[("job", "v")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("given twice"), "{e}");
    }

    #[test]
    fn base64url_matches_rfc4648() {
        for (input, want) in [
            ("", "="),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("/var/tmp", "L3Zhci90bXA="),
            ("\u{ff}\u{fe}?>", "w7_Dvj8-"),
        ] {
            assert_eq!(base64url(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let opts = PushOptions {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..PushOptions::default()
        };
        for _ in 0..50 {
            let d1 = backoff(&opts, 1);
            assert!(
                d1 >= Duration::from_millis(50) && d1 < Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = backoff(&opts, 3);
            assert!(
                d3 >= Duration::from_millis(200) && d3 < Duration::from_millis(400),
                "{d3:?}"
            );
            let d30 = backoff(&opts, 30);
            assert!(
                d30 >= Duration::from_millis(250) && d30 < Duration::from_millis(500),
                "{d30:?}"
            );
        }
    }

    #[test]
    fn parses_responses() {
        let r = parse_response(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nRetry-After: 3\r\n\r\nline1\nline2",
            false,
        )
        .unwrap();
        assert_eq!((r.status, r.reason.as_str()), (400, "Bad Request"));
        assert_eq!(r.first_body_line(), "line1");
        assert_eq!(
            r.header("retry-after")
                .and_then(|v| parse_retry_after(v, SystemTime::now())),
            Some(Duration::from_secs(3))
        );
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", false).unwrap();
        assert_eq!(r.body, b"abcde");
        assert_eq!(
            parse_response(b"HTTP/1.0 204\r\n\r\n", false)
                .unwrap()
                .first_body_line(),
            "(empty response body)"
        );
        for garbage in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\n",
            b"SSH-2.0\r\n\r\n",
            b"HTTP/1.1 abc\r\n\r\n",
        ] {
            assert!(parse_response(garbage, false).is_err(), "{garbage:?}");
        }
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", false).is_err());
        assert!(parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            false
        )
        .is_err());
    }

    /// Both forms of `Retry-After` (RFC 9110 §10.2.3), the date in its three spellings.
    #[test]
    fn parses_retry_after() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let before = date - Duration::from_secs(90);
        for v in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            " Sun, 06 Nov 1994 08:49:37 GMT ",
        ] {
            assert_eq!(
                parse_retry_after(v, before),
                Some(Duration::from_secs(90)),
                "{v:?}"
            );
        }
        // A date already past: no wait.
        assert_eq!(
            parse_retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                date + Duration::from_secs(5)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("120", before),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", before),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in ["", "-5", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 PST"] {
            assert_eq!(parse_retry_after(bad, before), None, "{bad:?}");
        }
    }

    /// A one-shot fake server answering each connection with the next canned response.
    fn fake_server(responses: Vec<&'static str>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for resp in responses {
                let (mut s, _) = listener.accept().unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the header and the Content-Length body.
                loop {
                    let n = s.read(&mut buf).unwrap();
                    raw.extend_from_slice(&buf[..n]);
                    if let Some(end) = header_end(&raw) {
                        let head = String::from_utf8_lossy(&raw[..end]).to_string();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .map(|v| v.trim().parse::<usize>().unwrap())
                            .unwrap_or(0);
                        if raw.len() >= end + len || n == 0 {
                            break;
                        }
                    }
                }
                requests.push(String::from_utf8_lossy(&raw).into_owned());
                s.write_all(resp.as_bytes()).unwrap();
            }
            requests
        });
        (url, handle)
    }

    fn quick() -> PushOptions {
        PushOptions {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            max_attempts: 3,
            ..PushOptions::default()
        }
    }

    #[test]
    fn retries_5xx_and_429_then_succeeds() {
        let (url, h) = fake_server(vec![
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ]);
        push(&url, "j", &g(&[("instance", "a")]), "x 1\n", &quick()).unwrap();
        let reqs = h.join().unwrap();
        assert_eq!(reqs.len(), 3);
        assert!(
            reqs[0].starts_with("PUT /metrics/job/j/instance/a HTTP/1.1\r\n"),
            "{}",
            reqs[0]
        );
        assert!(reqs[0].contains("Content-Type: text/plain; version=0.0.4\r\n"));
        assert!(reqs[0].ends_with("\r\n\r\nx 1\n"));
    }

    #[test]
    fn gives_up_after_max_attempts_on_5xx() {
        let (url, h) = fake_server(vec![
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops\n",
            "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 8\r\n\r\nstill\nx\n",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nlast\n",
        ]);
        let e = push(&url, "j", &[], "x 1\n", &quick()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("pushgateway {url}/metrics/job/j answered 500 Internal Server Error: last (gave up after 3 attempts)")
        );
        assert_eq!((e.status(), e.attempts()), (Some(500), 3));
        h.join().unwrap();
    }

    #[test]
    fn never_retries_other_4xx() {
        let (url, h) = fake_server(vec![
            "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nno route\r\n",
        ]);
        let e = push(&url, "j", &[], "", &quick()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("pushgateway {url}/metrics/job/j answered 404 Not Found: no route")
        );
        h.join().unwrap();
    }

    /// A long `Retry-After` is cut to half of what is left of the deadline (and to
    /// `max_retry_after`), not a reason to give up at once.
    #[test]
    fn caps_a_long_retry_after() {
        let (url, h) = fake_server(vec![
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ]);
        let opts = PushOptions {
            max_elapsed: Duration::from_secs(2),
            ..quick()
        };
        let started = Instant::now();
        push(&url, "j", &[], "", &opts).unwrap();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_millis(1900),
            "{took:?}"
        );
        assert_eq!(h.join().unwrap().len(), 2);

        let (url, h) = fake_server(vec![
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 99999999999999999999\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ]);
        let opts = PushOptions {
            max_retry_after: Duration::from_millis(200),
            ..quick()
        };
        let started = Instant::now();
        push(&url, "j", &[], "", &opts).unwrap();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_secs(2),
            "{took:?}"
        );
        h.join().unwrap();
    }

    /// `Retry-After` as an HTTP date is honoured.
    #[test]
    fn honours_a_retry_after_date() {
        // Two seconds ahead, in whole seconds: a wait of more than one second.
        let at = SystemTime::now() + Duration::from_secs(2);
        let secs = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        let date = chrono::DateTime::from_timestamp(secs as i64, 0)
            .unwrap()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let first = format!(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {date}\r\nContent-Length: 0\r\n\r\n"
        );
        let (url, h) = fake_server(vec![
            Box::leak(first.into_boxed_str()),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ]);
        let started = Instant::now();
        push(&url, "j", &[], "", &quick()).unwrap();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert_eq!(h.join().unwrap().len(), 2);
    }

    /// A server that trickles its answer a byte at a time cannot hold a push past its
    /// deadline, and the error says it timed out.
    #[test]
    fn one_deadline_per_push() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            for b in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                .iter()
                .cycle()
            {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let opts = PushOptions {
            max_elapsed: Duration::from_millis(1500),
            ..quick()
        };
        let started = Instant::now();
        let e = push(&url, "j", &[], "x 1\n", &opts).unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1800), "{took:?}");
        assert_eq!(
            e.to_string(),
            format!("could not push to pushgateway {url}/metrics/job/j: reading the response: the push timed out after 1.5s")
        );

        // A server that says nothing: the per-read timeout, named as a timeout.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let keep = std::thread::spawn(move || {
            let conns: Vec<_> = (0..2).map(|_| listener.accept().unwrap()).collect();
            std::thread::sleep(Duration::from_millis(800));
            drop(conns);
        });
        let opts = PushOptions {
            io_timeout: Duration::from_millis(200),
            max_attempts: 2,
            ..quick()
        };
        let e = push(&url, "j", &[], "x 1\n", &opts).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown
                .ends_with("reading the response timed out after 200ms (gave up after 2 attempts)"),
            "{shown}"
        );
        assert!(!shown.contains("temporarily unavailable"), "{shown}");
        keep.join().unwrap();
    }

    /// Basic auth (from the options or the URL) and bearer tokens reach the server.
    #[test]
    fn sends_credentials() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let auth_line = |req: &str| {
            req.lines()
                .find_map(|l| l.strip_prefix("Authorization: "))
                .map(str::to_owned)
        };
        let (url, h) = fake_server(vec![ok, ok, ok, ok]);
        let basic = PushOptions {
            auth: Some(PushAuth::Basic {
                username: "Aladdin".into(),
                password: "open sesame".into(),
            }),
            ..quick()
        };
        push(&url, "j", &[], "", &basic).unwrap();
        let bearer = PushOptions {
            auth: Some(PushAuth::Bearer("t0k.en".into())),
            ..quick()
        };
        push(&url, "j", &[], "", &bearer).unwrap();
        let with_userinfo = url.replace("http://", "http://us%65r:p%40ss:w@");
        push(&with_userinfo, "j", &[], "", &quick()).unwrap();
        push(&url, "j", &[], "", &quick()).unwrap();
        let reqs = h.join().unwrap();
        assert_eq!(
            auth_line(&reqs[0]).as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(auth_line(&reqs[1]).as_deref(), Some("Bearer t0k.en"));
        // user:p@ss:w
        assert_eq!(
            auth_line(&reqs[2]).as_deref(),
            Some("Basic dXNlcjpwQHNzOnc=")
        );
        assert_eq!(auth_line(&reqs[3]), None);
        assert!(reqs[2].starts_with("PUT /metrics/job/j HTTP/1.1\r\n"));

        let (base, auth) = parse_push_url("http://tok@gw:9091/p").unwrap();
        assert_eq!(base.to_string(), "http://gw:9091/p");
        assert_eq!(
            auth,
            Some(PushAuth::Basic {
                username: "tok".into(),
                password: String::new()
            })
        );
        let e = push(
            &url,
            "j",
            &[],
            "",
            &PushOptions {
                auth: Some(PushAuth::Bearer("a\r\nX-Evil: 1".into())),
                ..quick()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("control character"), "{e}");
    }
}
