//! A tiny HTTP server for Prometheus to scrape: `GET /metrics` and `GET /healthz`.
//!
//! The agent keeps its derived metrics in memory and hands this server a snapshot closure
//! that renders them (see `metrics::exposition::to_text`); every scrape calls it once.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use nagare::sink::server::{MetricsServer, DEFAULT_ADDR};
//! let server = MetricsServer::start(DEFAULT_ADDR, Arc::new(|| "up_total 1\n".to_string()))?;
//! println!("scrape http://{}/metrics", server.local_addr());
//! server.shutdown();
//! # Ok::<(), nagare::sink::server::ServerError>(())
//! ```
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /metrics` (any query string) | 200, `text/plain; version=0.0.4; charset=utf-8`, the snapshot |
//! | `GET /healthz` | 200, `ok` |
//! | `HEAD` of those | the same headers, no body |
//! | `GET` of any other path | 404 |
//! | any other method | 405 with `Allow: GET, HEAD` |
//! | a malformed request, or one whose header passes 8 KiB | 400 / 431 |
//! | more than 64 connections at once | 503 |
//!
//! It is std only and synchronous: one accept thread (non-blocking accept, polled every
//! 20 ms so that [`MetricsServer::shutdown`] stops it promptly) and one short-lived thread
//! per connection, each bounded by read/write timeouts. Every answer carries
//! `Connection: close`. Input never panics the server; a panicking snapshot closure gives a
//! 500 and is logged.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The default listen address (the OpenTelemetry Prometheus exporter's port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";

/// The content type of `/metrics`.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The longest request header read; longer requests get 431.
pub const MAX_REQUEST_HEADER: usize = 8 * 1024;

/// Connections served at once; more get 503 at once.
pub const MAX_CONNECTIONS: usize = 64;

/// How long one read or write on a connection may block, and how long a whole request
/// header may take to arrive.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the accept loop checks for shutdown.
const POLL: Duration = Duration::from_millis(20);

/// The snapshot closure: renders the current metrics in the text format.
pub type Snapshot = Arc<dyn Fn() -> String + Send + Sync>;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address did not parse or resolve.
    #[error("metrics listen address {addr:?} is not valid: {source}")]
    Address {
        addr: String,
        #[source]
        source: io::Error,
    },
    /// Binding failed (in use, no permission, …).
    #[error("cannot listen for metrics on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: io::Error,
    },
}

/// A running metrics endpoint; stops on [`MetricsServer::shutdown`] or when dropped.
pub struct MetricsServer {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl MetricsServer {
    /// Binds `addr` (`host:port`; port 0 picks a free one) and serves in background threads.
    pub fn start(addr: &str, snapshot: Snapshot) -> Result<MetricsServer, ServerError> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|source| ServerError::Address {
                addr: addr.to_owned(),
                source,
            })?
            .collect();
        let listener = TcpListener::bind(&addrs[..]).map_err(|source| ServerError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
        let bind_err = |source| ServerError::Bind {
            addr: addr.to_owned(),
            source,
        };
        let local_addr = listener.local_addr().map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let accept_thread = std::thread::Builder::new()
            .name(format!("metrics-http {local_addr}"))
            .spawn(move || accept_loop(listener, snapshot, stop_flag))
            .map_err(bind_err)?;
        tracing::info!("serving metrics on http://{local_addr}/metrics");
        Ok(MetricsServer {
            local_addr,
            stop,
            accept_thread: Some(accept_thread),
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting (within about 20 ms) and waits for the accept thread; connections
    /// being served finish on their own within their timeouts.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn accept_loop(listener: TcpListener, snapshot: Snapshot, stop: Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, peer)) => {
                if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    let mut stream = stream;
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                    let _ = Answer::text(503, "Service Unavailable", "too many connections\n")
                        .write(&mut stream, true);
                    continue;
                }
                active.fetch_add(1, Ordering::SeqCst);
                let snapshot = Arc::clone(&snapshot);
                let guard = ActiveGuard(Arc::clone(&active));
                let spawned = std::thread::Builder::new()
                    .name("metrics-conn".into())
                    .spawn(move || {
                        let _guard = guard;
                        if let Err(e) = serve_connection(stream, &snapshot) {
                            tracing::debug!("metrics connection from {peer}: {e}");
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!("metrics server cannot start a thread for {peer}: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // E.g. EMFILE: back off instead of spinning.
                tracing::warn!("metrics server accept failed: {e}");
                std::thread::sleep(POLL * 5);
            }
        }
    }
}

/// Decrements the active-connection count when a connection thread ends (even by panic).
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
struct Request<'a> {
    method: &'a str,
    path: &'a str,
}

#[derive(Debug, PartialEq, Eq)]
enum ReadError {
    TooLarge,
    Malformed(&'static str),
}

fn serve_connection(mut stream: TcpStream, snapshot: &Snapshot) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let head = match read_head(&mut stream)? {
        Some(h) => h,
        None => return Ok(()), // closed before sending anything
    };
    let (answer, with_body) = match parse_request(&head) {
        Err(ReadError::TooLarge) => (
            Answer::text(
                431,
                "Request Header Fields Too Large",
                "request header too large\n",
            ),
            true,
        ),
        Err(ReadError::Malformed(why)) => (
            Answer::text(400, "Bad Request", format!("bad request: {why}\n")),
            true,
        ),
        Ok(req) => (route(&req, snapshot), req.method != "HEAD"),
    };
    answer.write(&mut stream, with_body)?;
    // Let the client read the answer before the socket closes.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// A response to send.
#[derive(Debug)]
struct Answer {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    /// Sends `Allow: GET, HEAD` (with 405).
    allow: bool,
}

impl Answer {
    fn text(status: u16, reason: &'static str, body: impl Into<String>) -> Answer {
        Answer {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: body.into().into_bytes(),
            allow: false,
        }
    }

    fn write(&self, stream: &mut TcpStream, with_body: bool) -> io::Result<()> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        if self.allow {
            out.push_str("Allow: GET, HEAD\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if with_body {
            bytes.extend_from_slice(&self.body);
        }
        stream.write_all(&bytes)?;
        stream.flush()
    }
}

fn route(req: &Request<'_>, snapshot: &Snapshot) -> Answer {
    let path = req.path.split(['?', '#']).next().unwrap_or("");
    if req.method != "GET" && req.method != "HEAD" {
        let mut a = Answer::text(
            405,
            "Method Not Allowed",
            format!("method {} is not allowed; use GET\n", req.method),
        );
        a.allow = true;
        return a;
    }
    match path {
        "/metrics" => match catch_unwind(AssertUnwindSafe(|| snapshot())) {
            Ok(text) => Answer {
                content_type: METRICS_CONTENT_TYPE,
                ..Answer::text(200, "OK", text)
            },
            Err(_) => {
                tracing::error!("the metrics snapshot panicked; answered 500");
                Answer::text(
                    500,
                    "Internal Server Error",
                    "the metrics snapshot failed\n",
                )
            }
        },
        "/healthz" => Answer::text(200, "OK", "ok"),
        _ => Answer::text(
            404,
            "Not Found",
            format!("not found: {path}; try /metrics or /healthz\n"),
        ),
    }
}

/// Reads until the end of the request header (`\r\n\r\n`, or `\n\n` from lenient clients),
/// at most [`MAX_REQUEST_HEADER`] bytes and about [`IO_TIMEOUT`] in all. The body, if
/// any, is never read. Returns `None` when the peer closed without sending anything; a
/// header that is cut off is returned as is (and then rejected as malformed).
fn read_head(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let started = Instant::now();
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        if started.elapsed() > IO_TIMEOUT {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request header too slow",
            ));
        }
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(if head.is_empty() { None } else { Some(head) });
        }
        head.extend_from_slice(&buf[..n]);
        if head_complete(&head) || head.len() > MAX_REQUEST_HEADER {
            return Ok(Some(head));
        }
    }
}

fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

fn parse_request(head: &[u8]) -> Result<Request<'_>, ReadError> {
    if head.len() > MAX_REQUEST_HEADER {
        return Err(ReadError::TooLarge);
    }
    if !head_complete(head) {
        return Err(ReadError::Malformed("incomplete request header"));
    }
    let text = std::str::from_utf8(head)
        .map_err(|_| ReadError::Malformed("request header is not UTF-8"))?;
    let line = text.split('\n').next().unwrap_or("").trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed("expected \"METHOD /path HTTP/1.1\""));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ReadError::Malformed("bad method"));
    }
    if !path.starts_with('/') {
        return Err(ReadError::Malformed("the path must start with '/'"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ReadError::Malformed(
            "only HTTP/1.0 and HTTP/1.1 are served",
        ));
    }
    Ok(Request { method, path })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::pushgateway::{http_exchange, HttpResponse, HttpUrl, Timeouts};

    fn start(body: &'static str) -> MetricsServer {
        MetricsServer::start("127.0.0.1:0", Arc::new(move || body.to_string())).unwrap()
    }

    fn request(server: &MetricsServer, method: &str, path: &str) -> HttpResponse {
        let url = HttpUrl::parse(&format!("http://{}", server.local_addr())).unwrap();
        let t = Timeouts {
            connect: Duration::from_secs(2),
            io: Duration::from_secs(5),
        };
        http_exchange(&url, method, path, None, t, 1 << 20).unwrap()
    }

    /// Sends raw bytes, returns the raw answer.
    fn raw(server: &MetricsServer, bytes: &[u8]) -> String {
        let mut s = TcpStream::connect(server.local_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn serves_metrics_health_and_errors() {
        let server = start("x_total 1\n");
        let r = request(&server, "GET", "/metrics");
        assert_eq!((r.status, r.text().as_str()), (200, "x_total 1\n"));
        assert_eq!(r.header("content-type"), Some(METRICS_CONTENT_TYPE));
        assert_eq!(r.header("connection"), Some("close"));
        assert_eq!(request(&server, "GET", "/metrics?name[]=x").status, 200);
        let r = request(&server, "GET", "/healthz");
        assert_eq!((r.status, r.text().as_str()), (200, "ok"));
        let r = request(&server, "HEAD", "/metrics");
        assert_eq!((r.status, r.header("content-length")), (200, Some("10")));
        assert!(r.body.is_empty());
        assert_eq!(request(&server, "GET", "/").status, 404);
        assert_eq!(request(&server, "GET", "/metricsx").status, 404);
        let r = request(&server, "POST", "/metrics");
        assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
        assert_eq!(request(&server, "DELETE", "/healthz").status, 405);
        server.shutdown();
    }

    #[test]
    fn garbage_never_panics() {
        let server = start("m 1\n");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"hello\r\n\r\n".to_vec(), "HTTP/1.1 400 "),
            (b"GET /metrics\r\n\r\n".to_vec(), "HTTP/1.1 400 "),
            (b"GET metrics HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.1 400 "),
            (b"GET /metrics SPDY/3\r\n\r\n".to_vec(), "HTTP/1.1 400 "),
            (b"get /metrics HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.1 400 "),
            (b"GET /\xff\xfe HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.1 400 "),
            (
                b"GET /metrics HTTP/1.1\r\nHost: x".to_vec(),
                "HTTP/1.1 400 ",
            ),
            (b"\0\0\0\0\n\n".to_vec(), "HTTP/1.1 400 "),
            (b"GET /metrics HTTP/1.0\n\n".to_vec(), "HTTP/1.1 200 "),
            (b"".to_vec(), ""),
        ];
        for (input, want) in cases {
            let answer = raw(&server, &input);
            assert!(answer.starts_with(want), "{input:?} -> {answer:?}");
        }
        let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_REQUEST_HEADER + 10));
        assert!(raw(&server, &big).starts_with("HTTP/1.1 431 "));
        // Still serving after all that.
        assert_eq!(request(&server, "GET", "/healthz").status, 200);
    }

    #[test]
    fn too_many_connections_get_503() {
        let server = start("m 1\n");
        // Idle connections occupy every slot (their threads wait for a request header).
        let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(server.local_addr()).unwrap())
            .collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let answer = raw(&server, b"GET /metrics HTTP/1.1\r\n\r\n");
            if answer.starts_with("HTTP/1.1 503 ") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no 503 with all slots busy: {answer:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(idle);
        // The slots free up once the idle peers are gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        while request(&server, "GET", "/healthz").status != 200 {
            assert!(Instant::now() < deadline, "slots were not freed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn panicking_snapshot_gives_500() {
        let server = MetricsServer::start("127.0.0.1:0", Arc::new(|| panic!("boom"))).unwrap();
        assert_eq!(request(&server, "GET", "/metrics").status, 500);
        assert_eq!(request(&server, "GET", "/healthz").status, 200);
    }

    #[test]
    fn bind_errors_name_the_address() {
        let first = start("");
        let addr = first.local_addr().to_string();
        let e = MetricsServer::start(&addr, Arc::new(String::new)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot listen for metrics on {addr}: ")),
            "{e}"
        );
        let e = MetricsServer::start("not an address", Arc::new(String::new)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("metrics listen address \"not an address\" is not valid"),
            "{e}"
        );
    }

    #[test]
    fn shutdown_is_prompt_and_frees_the_port() {
        let server = start("");
        let addr = server.local_addr();
        let started = Instant::now();
        server.shutdown();
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
        // The address can be bound again.
        drop(MetricsServer::start(&addr.to_string(), Arc::new(String::new)).unwrap());
    }

    #[test]
    fn parses_request_lines() {
        assert_eq!(
            parse_request(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"),
            Ok(Request {
                method: "GET",
                path: "/metrics"
            })
        );
        assert_eq!(
            parse_request(b"GET  /metrics HTTP/1.1\r\n\r\n").map(|_| ()),
            Err(ReadError::Malformed("expected \"METHOD /path HTTP/1.1\""))
        );
    }
}
