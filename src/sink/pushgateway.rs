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
//! - Connection errors, `5xx` and `429` are retried with exponential backoff and jitter
//!   (a `Retry-After: <seconds>` answer is honoured), within [`PushOptions::max_attempts`]
//!   and [`PushOptions::max_elapsed`]; any other `4xx` fails at once, as the body or the URL
//!   is wrong and sending it again cannot help.
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
use std::time::{Duration, Instant};

/// Limits and retry policy of one [`push`].
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
    /// No new attempt starts once this much time has passed since the first one, and no
    /// wait is begun that would end after it.
    pub max_elapsed: Duration,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(10),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(60),
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
/// `url` (`http://host:port[/path]`), replacing the group's metrics (HTTP `PUT`).
pub fn push(
    url: &str,
    job: &str,
    grouping: &[(String, String)],
    body: &str,
    opts: &PushOptions,
) -> Result<(), PushError> {
    let base = HttpUrl::parse(url)?;
    let path = format!("{}{}", base.path, group_path(url, job, grouping)?);
    let full = format!("http://{}{}", base.authority(), path);
    let started = Instant::now();
    let deadline = started + opts.max_elapsed;
    let max_attempts = opts.max_attempts.max(1);
    let timeouts = Timeouts {
        connect: opts.connect_timeout,
        io: opts.io_timeout,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (err, retry_after) = match http_exchange(
            &base,
            "PUT",
            &path,
            Some(("text/plain; version=0.0.4", body.as_bytes())),
            timeouts,
            MAX_PUSH_RESPONSE,
        ) {
            Ok(resp) if (200..300).contains(&resp.status) => {
                tracing::debug!(url = %full, attempt, bytes = body.len(), "pushed metrics");
                return Ok(());
            }
            Ok(resp) => {
                let retryable = resp.status >= 500 || resp.status == 429;
                let retry_after = resp.header("retry-after").and_then(parse_retry_after);
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
        let delay = retry_after.unwrap_or_else(|| backoff(opts, attempt));
        if Instant::now() + delay > deadline {
            tracing::warn!(url = %full, "push attempt {attempt} failed ({err}); next wait {delay:?} would pass the {:?} limit, giving up", opts.max_elapsed);
            return Err(err);
        }
        tracing::warn!(url = %full, "push attempt {attempt} of {max_attempts} failed ({err}); retrying in {delay:?}");
        std::thread::sleep(delay);
    }
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

/// Base64 with the URL-safe alphabet and padding (RFC 4648 §5), as the Pushgateway reads it.
fn base64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    if data.is_empty() {
        // The Pushgateway's documented form for an empty value: `name@base64/=`.
        out.push('=');
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

/// `Retry-After` in seconds (the HTTP-date form is ignored: the normal backoff applies).
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
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
    let mut stream = connect(url, timeouts.connect)?;
    stream.set_read_timeout(Some(timeouts.io))?;
    stream.set_write_timeout(Some(timeouts.io))?;
    let mut req = format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\nUser-Agent: nagare\r\nAccept: */*\r\nConnection: close\r\n",
        url.authority()
    );
    if let Some((content_type, bytes)) = body {
        req.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            bytes.len()
        ));
    } else if method != "GET" && method != "HEAD" {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    if let Some((_, bytes)) = body {
        out.extend_from_slice(bytes);
    }
    stream.write_all(&out)?;
    stream.flush()?;

    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
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
            Err(e) => return Err(e),
        }
    }
    let mut resp = parse_response(&raw, method == "HEAD")?;
    if method == "HEAD" {
        resp.body.clear();
    }
    Ok(resp)
}

fn connect(url: &HttpUrl, timeout: Duration) -> io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port).to_socket_addrs()?.collect();
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("host {} resolved to no address", url.host),
    );
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = io::Error::new(e.kind(), format!("connecting to {addr}: {e}")),
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
        for url in [
            "http://u:s3cret@host:9091",
            "ftp://u:s3cret@host",
            "u:s3cret@host",
        ] {
            let e = push(url, "j", &[], "", &PushOptions::default()).unwrap_err();
            let shown = e.to_string();
            assert!(!shown.contains("s3cret"), "{shown}");
        }
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
            r.header("retry-after").and_then(parse_retry_after),
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
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
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
    fn never_retries_other_4xx_and_stops_on_long_retry_after() {
        let (url, h) = fake_server(vec![
            "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nno route\r\n",
        ]);
        let e = push(&url, "j", &[], "", &quick()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("pushgateway {url}/metrics/job/j answered 404 Not Found: no route")
        );
        h.join().unwrap();

        let (url, h) = fake_server(vec![
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\n\r\n",
        ]);
        let started = Instant::now();
        let e = push(&url, "j", &[], "", &quick()).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!((e.status(), e.attempts()), (Some(429), 1));
        h.join().unwrap();
    }
}
