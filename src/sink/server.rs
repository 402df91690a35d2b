//! A tiny HTTP server for Prometheus to scrape: `GET /metrics` and `GET /healthz`.
//!
//! The agent keeps its derived metrics in memory and hands this server a snapshot closure
//! that renders them (see `metrics::exposition::to_text`).
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
//! | more than [`ServerOptions::max_connections`] connections at once | 503 |
//!
//! A big exposition (tens of MB) takes seconds to render, and scrapes come in bursts (two
//! Prometheus replicas, a retrying client, a curl loop), so the server is built to make a
//! scrape cost as little as possible:
//!
//! - **One render, shared.** The snapshot closure runs on one render thread, one call at a
//!   time. Every scrape that arrives while it runs waits for that rendering, and a rendering
//!   is served again, as the same shared bytes, for [`ServerOptions::max_age`] after it was
//!   made (or for as long as [`ServerOptions::version`] says nothing changed).
//! - **One poll loop.** Connections are non-blocking sockets on one `poll(2)` thread, so
//!   idle or slow clients cost a slot and a file descriptor, never a thread: the server
//!   runs on two threads however many clients there are.
//! - **Timeouts.** A client has [`ServerOptions::header_timeout`] from connecting to send
//!   its request header, must take some of its answer every
//!   [`ServerOptions::write_timeout`], and all of it within 2 minutes; a client that goes
//!   away costs nothing more than the write that finds out. Clients dropped are counted
//!   ([`MetricsServer::stats`]) and logged at debug level.
//!
//! Every answer carries `Connection: close`. Input never panics the server; a panicking
//! snapshot closure gives a 500 and is logged.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The default listen address (the OpenTelemetry Prometheus exporter's port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";

/// The content type of `/metrics`.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The longest request header read; longer requests get 431.
pub const MAX_REQUEST_HEADER: usize = 8 * 1024;

/// The default of [`ServerOptions::max_connections`].
pub const MAX_CONNECTIONS: usize = 1024;

/// The longest a whole answer may take to send, however steadily the client reads.
const MAX_RESPONSE_TIME: Duration = Duration::from_secs(120);

/// The longest a scrape waits for a rendering (a snapshot closure that hangs).
const MAX_RENDER_WAIT: Duration = Duration::from_secs(60);

/// How long, after answering, the server reads and discards what the client still sends
/// before it closes (closing with unread data would reset the connection and could cut
/// the answer off).
const LINGER: Duration = Duration::from_secs(2);

/// After `accept` fails for want of file descriptors, the pause before the next try.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The snapshot closure: renders the current metrics in the text format.
pub type Snapshot = Arc<dyn Fn() -> String + Send + Sync>;

/// Limits and caching of a [`MetricsServer`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// A rendering is served again to every scrape for this long after it was made.
    pub max_age: Duration,
    /// Bumped by the owner of the metrics whenever they change: while it holds the value
    /// it had when the last rendering began, that rendering is served however old it is.
    pub version: Option<Arc<AtomicU64>>,
    /// A client must send its whole request header within this time of connecting.
    pub header_timeout: Duration,
    /// A client that takes none of its answer for this long is dropped.
    pub write_timeout: Duration,
    /// Connections held at once (idle, waiting or being answered); more get 503.
    pub max_connections: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_age: Duration::from_secs(1),
            version: None,
            header_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// What a server has done so far (see [`MetricsServer::stats`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ServerStats {
    /// Calls of the snapshot closure.
    pub renders: u64,
    /// Answers sent in full.
    pub answered: u64,
    /// Clients dropped before their answer was sent in full: timed out (no complete
    /// request header in time, not reading their answer) or gone.
    pub dropped: u64,
    /// Connections turned away with 503 (too many at once).
    pub rejected: u64,
}

#[derive(Debug, Default)]
struct Counters {
    renders: AtomicU64,
    answered: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
}

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
    wake: UnixStream,
    counters: Arc<Counters>,
    loop_thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl MetricsServer {
    /// Binds `addr` (`host:port`; port 0 picks a free one) and serves in background
    /// threads, with the default [`ServerOptions`].
    pub fn start(addr: &str, snapshot: Snapshot) -> Result<MetricsServer, ServerError> {
        MetricsServer::start_with(addr, snapshot, ServerOptions::default())
    }

    /// [`MetricsServer::start`] with other limits.
    pub fn start_with(
        addr: &str,
        snapshot: Snapshot,
        opts: ServerOptions,
    ) -> Result<MetricsServer, ServerError> {
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
        // std listens with a backlog of 128: a burst of scrapes past that has its SYNs
        // dropped and retried a second later. Ask for the system's maximum instead.
        // SAFETY: a valid, bound, listening socket.
        unsafe { libc::listen(listener.as_raw_fd(), libc::SOMAXCONN) };
        // The render thread and `shutdown` wake the poll loop by writing a byte here.
        let (wake_rx, wake_tx) = UnixStream::pair().map_err(bind_err)?;
        wake_rx.set_nonblocking(true).map_err(bind_err)?;
        wake_tx.set_nonblocking(true).map_err(bind_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());

        let (order_tx, order_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<Rendered>();
        let render_wake = wake_tx.try_clone().map_err(bind_err)?;
        let version = opts.version.clone();
        let render_counters = Arc::clone(&counters);
        std::thread::Builder::new()
            .name("metrics-render".into())
            .spawn(move || {
                render_loop(
                    &snapshot,
                    version.as_deref(),
                    &order_rx,
                    &done_tx,
                    &render_wake,
                    &render_counters,
                )
            })
            .map_err(bind_err)?;

        let server = Server {
            listener,
            wake: wake_rx,
            stop: Arc::clone(&stop),
            opts,
            counters: Arc::clone(&counters),
            conns: Vec::new(),
            cache: None,
            rendering: false,
            order: order_tx,
            done: done_rx,
            accept_paused_until: None,
        };
        let loop_thread = std::thread::Builder::new()
            .name(format!("metrics-http {local_addr}"))
            .spawn(move || server.run())
            .map_err(bind_err)?;
        tracing::info!("serving metrics on http://{local_addr}/metrics");
        Ok(MetricsServer {
            local_addr,
            stop,
            wake: wake_tx,
            counters,
            loop_thread: Some(loop_thread),
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the server has done so far.
    pub fn stats(&self) -> ServerStats {
        let c = &self.counters;
        ServerStats {
            renders: c.renders.load(Ordering::Relaxed),
            answered: c.answered.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
        }
    }

    /// Stops serving: closes the listening socket and every connection, and returns once
    /// the poll loop has ended (at once). A rendering under way finishes on its own.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = (&self.wake).write(&[1]);
        if let Some(t) = self.loop_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// The outcome of one call of the snapshot closure.
struct Rendered {
    /// The exposition; `None` when the closure panicked.
    body: Option<Arc<Vec<u8>>>,
    /// When the rendering ended.
    at: Instant,
    /// [`ServerOptions::version`] when it began.
    version: u64,
}

/// Renders whenever the poll loop asks, one rendering at a time; ends when the loop does.
fn render_loop(
    snapshot: &Snapshot,
    version: Option<&AtomicU64>,
    orders: &mpsc::Receiver<()>,
    done: &mpsc::Sender<Rendered>,
    mut wake: &UnixStream,
    counters: &Counters,
) {
    while orders.recv().is_ok() {
        let v = version.map_or(0, |v| v.load(Ordering::SeqCst));
        let started = Instant::now();
        let body = match catch_unwind(AssertUnwindSafe(|| snapshot())) {
            Ok(text) => Some(Arc::new(text.into_bytes())),
            Err(_) => {
                tracing::error!("the metrics snapshot panicked; answered 500");
                None
            }
        };
        counters.renders.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            bytes = body.as_ref().map_or(0, |b| b.len()),
            "rendered the metrics in {:?}",
            started.elapsed()
        );
        let rendered = Rendered {
            body,
            at: Instant::now(),
            version: v,
        };
        if done.send(rendered).is_err() {
            return;
        }
        let _ = wake.write(&[1]);
    }
}

/// The poll loop's state.
struct Server {
    listener: TcpListener,
    wake: UnixStream,
    stop: Arc<AtomicBool>,
    opts: ServerOptions,
    counters: Arc<Counters>,
    conns: Vec<Conn>,
    /// The last good rendering.
    cache: Option<Rendered>,
    /// A rendering was ordered and has not come back yet.
    rendering: bool,
    order: mpsc::Sender<()>,
    done: mpsc::Receiver<Rendered>,
    accept_paused_until: Option<Instant>,
}

/// One client connection.
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    state: State,
    /// When the connection is dropped (or, lingering, closed) unless it moves on.
    deadline: Instant,
}

enum State {
    /// Reading the request header.
    Head(Vec<u8>),
    /// A `/metrics` request waiting for the rendering under way.
    Waiting { with_body: bool },
    /// Sending an answer: header, then (unless answering HEAD) the body.
    Write {
        head: Vec<u8>,
        body: Arc<Vec<u8>>,
        with_body: bool,
        sent: usize,
        /// No answer takes longer than this.
        cutoff: Instant,
    },
    /// Answered; reading what the client still sends until it closes.
    Linger,
    /// To be removed.
    Closed,
}

impl Server {
    fn run(mut self) {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        while !self.stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            self.expire(now);
            let accepting = self.accept_paused_until.is_none_or(|t| now >= t);
            if accepting {
                self.accept_paused_until = None;
            }
            fds.clear();
            fds.push(pollfd(self.wake.as_raw_fd(), libc::POLLIN));
            fds.push(pollfd(
                self.listener.as_raw_fd(),
                if accepting { libc::POLLIN } else { 0 },
            ));
            for c in &self.conns {
                let events = match c.state {
                    State::Head(_) | State::Linger => libc::POLLIN,
                    State::Write { .. } => libc::POLLOUT,
                    // Errors and hang-ups are reported whatever is asked.
                    State::Waiting { .. } | State::Closed => 0,
                };
                fds.push(pollfd(c.stream.as_raw_fd(), events));
            }
            let next = self
                .conns
                .iter()
                .map(|c| c.deadline)
                .chain(self.accept_paused_until)
                .min();
            let timeout = next.map_or(Duration::from_secs(1), |t| {
                t.saturating_duration_since(now) + Duration::from_millis(1)
            });
            let timeout_ms = timeout.min(Duration::from_secs(1)).as_millis() as libc::c_int;
            // SAFETY: `fds` is a valid array of `fds.len()` pollfds for the whole call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::warn!("metrics server poll failed: {e}");
                    std::thread::sleep(ACCEPT_BACKOFF);
                }
                continue;
            }
            if n == 0 {
                continue;
            }
            if fds[0].revents != 0 {
                self.take_renderings();
            }
            // Connections first (by index, as polled), then newcomers.
            for (i, fd) in fds[2..].iter().enumerate() {
                if fd.revents != 0 {
                    self.on_ready(i, fd.revents);
                }
            }
            self.conns.retain(|c| !matches!(c.state, State::Closed));
            if fds[1].revents != 0 {
                self.accept_all();
            }
        }
    }

    /// Drops the connections whose time is up.
    fn expire(&mut self, now: Instant) {
        for c in &mut self.conns {
            if c.deadline > now {
                continue;
            }
            match &c.state {
                State::Linger | State::Closed => {}
                State::Waiting { .. } => {
                    // The rendering hangs: say so rather than keep the client forever.
                    let a = Answer::text(
                        503,
                        "Service Unavailable",
                        "the metrics are still being rendered; try again later\n",
                    );
                    c.answer(a, true, &self.counters, &self.opts, now);
                    continue;
                }
                State::Head(buf) => {
                    let why = if buf.is_empty() {
                        "sent no request"
                    } else {
                        "sent no complete request header"
                    };
                    drop_client(c, &self.counters, why);
                    continue;
                }
                State::Write { .. } => {
                    drop_client(c, &self.counters, "took too long to read the answer");
                    continue;
                }
            }
            c.state = State::Closed;
        }
        self.conns.retain(|c| !matches!(c.state, State::Closed));
    }

    /// Accepts every pending connection.
    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    let now = Instant::now();
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    if self.conns.len() >= self.opts.max_connections {
                        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!("metrics server: too many connections; 503 to {peer}");
                        let a = Answer::text(503, "Service Unavailable", "too many connections\n");
                        // Best effort: the answer is small and the socket's buffer empty.
                        let _ = (&stream).write(&a.head(true));
                        let _ = stream.shutdown(std::net::Shutdown::Write);
                        continue;
                    }
                    self.conns.push(Conn {
                        stream,
                        peer,
                        state: State::Head(Vec::new()),
                        deadline: now + self.opts.header_timeout,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    // E.g. EMFILE: the listener stays readable, so back off instead of spinning.
                    tracing::warn!("metrics server accept failed: {e}");
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    /// Handles readiness of connection `i`.
    fn on_ready(&mut self, i: usize, revents: libc::c_short) {
        let now = Instant::now();
        let c = &mut self.conns[i];
        match &mut c.state {
            State::Head(buf) => match read_more(&c.stream, buf) {
                Ok(ReadState::More) => {}
                Ok(ReadState::Eof) if buf.is_empty() => c.state = State::Closed,
                Ok(ReadState::Eof | ReadState::Complete) => {
                    let head = std::mem::take(buf);
                    self.on_request(i, &head, now);
                }
                Err(e) => {
                    let why = format!("read failed: {e}");
                    drop_client(c, &self.counters, &why);
                }
            },
            State::Waiting { .. } => {
                if revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                    drop_client(c, &self.counters, "went away before its answer");
                }
            }
            State::Write { .. } => c.write_more(&self.counters, &self.opts, now),
            State::Linger => {
                let mut sink = [0u8; 4096];
                loop {
                    match (&c.stream).read(&mut sink) {
                        Ok(0) => {
                            c.state = State::Closed;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            c.state = State::Closed;
                            break;
                        }
                    }
                }
            }
            State::Closed => {}
        }
    }

    /// A whole request header arrived on connection `i` (or as much as will come).
    fn on_request(&mut self, i: usize, head: &[u8], now: Instant) {
        let routed = match parse_request(head) {
            Err(ReadError::TooLarge) => Routed::Answer(
                Answer::text(
                    431,
                    "Request Header Fields Too Large",
                    "request header too large\n",
                ),
                true,
            ),
            Err(ReadError::Malformed(why)) => Routed::Answer(
                Answer::text(400, "Bad Request", format!("bad request: {why}\n")),
                true,
            ),
            Ok(req) => route(&req),
        };
        match routed {
            Routed::Answer(a, with_body) => {
                self.conns[i].answer(a, with_body, &self.counters, &self.opts, now)
            }
            Routed::Metrics { with_body } => {
                if let Some(body) = self.fresh(now) {
                    let a = metrics_answer(body);
                    self.conns[i].answer(a, with_body, &self.counters, &self.opts, now);
                    return;
                }
                let c = &mut self.conns[i];
                c.state = State::Waiting { with_body };
                c.deadline = now + MAX_RENDER_WAIT;
                if !self.rendering {
                    self.rendering = self.order.send(()).is_ok();
                }
            }
        }
    }

    /// The cached rendering, if it may still be served.
    fn fresh(&self, now: Instant) -> Option<Arc<Vec<u8>>> {
        let c = self.cache.as_ref()?;
        let unchanged = self
            .opts
            .version
            .as_ref()
            .is_some_and(|v| v.load(Ordering::SeqCst) == c.version);
        let young = now.saturating_duration_since(c.at) < self.opts.max_age;
        (unchanged || young).then(|| c.body.clone()).flatten()
    }

    /// Takes finished renderings and answers the scrapes waiting for them.
    fn take_renderings(&mut self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = (&self.wake).read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        let mut last = None;
        while let Ok(r) = self.done.try_recv() {
            last = Some(r);
        }
        let Some(r) = last else { return };
        self.rendering = false;
        let now = Instant::now();
        let body = r.body.clone();
        if body.is_some() {
            self.cache = Some(r);
        }
        for c in &mut self.conns {
            if let State::Waiting { with_body } = c.state {
                let a = match &body {
                    Some(b) => metrics_answer(Arc::clone(b)),
                    None => Answer::text(
                        500,
                        "Internal Server Error",
                        "the metrics snapshot failed\n",
                    ),
                };
                c.answer(a, with_body, &self.counters, &self.opts, now);
            }
        }
    }
}

fn pollfd(fd: std::os::fd::RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Drops a client before its answer was sent in full: counted, logged at debug level.
fn drop_client(c: &mut Conn, counters: &Counters, why: &str) {
    counters.dropped.fetch_add(1, Ordering::Relaxed);
    tracing::debug!("metrics server dropped the client {}: {why}", c.peer);
    c.state = State::Closed;
}

impl Conn {
    /// Starts sending `a` (its body too, unless answering HEAD).
    fn answer(
        &mut self,
        a: Answer,
        with_body: bool,
        counters: &Counters,
        opts: &ServerOptions,
        now: Instant,
    ) {
        self.state = State::Write {
            head: a.head(false),
            body: a.body,
            with_body,
            sent: 0,
            cutoff: now + MAX_RESPONSE_TIME,
        };
        self.deadline = now + opts.write_timeout.min(MAX_RESPONSE_TIME);
        // Most answers fit the socket's buffer: send at once rather than after one more poll.
        self.write_more(counters, opts, now);
    }

    /// Writes as much of the answer as the socket takes now.
    fn write_more(&mut self, counters: &Counters, opts: &ServerOptions, now: Instant) {
        let State::Write {
            head,
            body,
            with_body,
            sent,
            cutoff,
        } = &mut self.state
        else {
            return;
        };
        let total = head.len() + if *with_body { body.len() } else { 0 };
        let mut progressed = false;
        while *sent < total {
            let chunk = if *sent < head.len() {
                &head[*sent..]
            } else {
                &body[*sent - head.len()..]
            };
            match (&self.stream).write(chunk) {
                Ok(0) => break,
                Ok(n) => {
                    *sent += n;
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    let why = format!("went away during its answer ({e})");
                    drop_client(self, counters, &why);
                    return;
                }
            }
        }
        if *sent >= total {
            counters.answered.fetch_add(1, Ordering::Relaxed);
            // Let the client read the answer to its end, then close.
            let _ = self.stream.shutdown(std::net::Shutdown::Write);
            self.state = State::Linger;
            self.deadline = now + LINGER;
        } else if progressed {
            self.deadline = (now + opts.write_timeout).min(*cutoff);
        }
    }
}

/// How far reading a request header got.
enum ReadState {
    More,
    Complete,
    Eof,
}

/// Reads what the socket has into `buf`, up to the end of the header (or past the limit).
fn read_more(mut stream: &TcpStream, buf: &mut Vec<u8>) -> io::Result<ReadState> {
    let mut chunk = [0u8; 2048];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(ReadState::Eof),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if head_complete(buf) || buf.len() > MAX_REQUEST_HEADER {
                    return Ok(ReadState::Complete);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadState::More),
            Err(e) => return Err(e),
        }
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

/// A response to send.
#[derive(Debug)]
struct Answer {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: Arc<Vec<u8>>,
    /// Sends `Allow: GET, HEAD` (with 405).
    allow: bool,
}

impl Answer {
    fn text(status: u16, reason: &'static str, body: impl Into<String>) -> Answer {
        Answer {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: Arc::new(body.into().into_bytes()),
            allow: false,
        }
    }

    /// The status line and header (and the body after them, if `with_body`).
    fn head(&self, with_body: bool) -> Vec<u8> {
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
        bytes
    }
}

fn metrics_answer(body: Arc<Vec<u8>>) -> Answer {
    Answer {
        status: 200,
        reason: "OK",
        content_type: METRICS_CONTENT_TYPE,
        body,
        allow: false,
    }
}

/// What a request asks for.
enum Routed {
    /// This answer (with its body unless `false`).
    Answer(Answer, bool),
    /// The metrics, once rendered.
    Metrics { with_body: bool },
}

fn route(req: &Request<'_>) -> Routed {
    let path = req.path.split(['?', '#']).next().unwrap_or("");
    if req.method != "GET" && req.method != "HEAD" {
        let mut a = Answer::text(
            405,
            "Method Not Allowed",
            format!("method {} is not allowed; use GET\n", req.method),
        );
        a.allow = true;
        return Routed::Answer(a, true);
    }
    let with_body = req.method != "HEAD";
    match path {
        "/metrics" => Routed::Metrics { with_body },
        "/healthz" => Routed::Answer(Answer::text(200, "OK", "ok"), with_body),
        _ => Routed::Answer(
            Answer::text(
                404,
                "Not Found",
                format!("not found: {path}; try /metrics or /healthz\n"),
            ),
            with_body,
        ),
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
        let opts = ServerOptions {
            max_connections: 8,
            ..ServerOptions::default()
        };
        let server =
            MetricsServer::start_with("127.0.0.1:0", Arc::new(|| "m 1\n".into()), opts).unwrap();
        // Idle connections occupy every slot (they have not sent a request header yet).
        let idle: Vec<TcpStream> = (0..8)
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
        assert!(server.stats().rejected >= 1);
        drop(idle);
        // The slots free up once the idle peers are gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        while request(&server, "GET", "/healthz").status != 200 {
            assert!(Instant::now() < deadline, "slots were not freed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Idle and slow clients are dropped after the header timeout, and counted.
    #[test]
    fn idle_and_slow_clients_time_out() {
        let opts = ServerOptions {
            header_timeout: Duration::from_millis(300),
            ..ServerOptions::default()
        };
        let server =
            MetricsServer::start_with("127.0.0.1:0", Arc::new(|| "m 1\n".into()), opts).unwrap();
        let mut idle = TcpStream::connect(server.local_addr()).unwrap();
        let mut slow = TcpStream::connect(server.local_addr()).unwrap();
        slow.write_all(b"GET /metrics HT").unwrap();
        let started = Instant::now();
        for s in [&mut idle, &mut slow] {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut out = Vec::new();
            // Closed without an answer (EOF, or a reset).
            let _ = s.read_to_end(&mut out);
            assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(server.stats().dropped, 2);
        assert_eq!(request(&server, "GET", "/healthz").status, 200);
    }

    /// Scrapes that come together share one rendering; a later one renders anew, unless
    /// the version says nothing changed.
    #[test]
    fn scrapes_share_renderings() {
        let version = Arc::new(AtomicU64::new(0));
        let opts = ServerOptions {
            max_age: Duration::from_millis(200),
            version: Some(Arc::clone(&version)),
            ..ServerOptions::default()
        };
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        let snapshot: Snapshot = Arc::new(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
            format!("renders_total {}\n", n + 1)
        });
        let server = MetricsServer::start_with("127.0.0.1:0", snapshot, opts).unwrap();
        let scrapes: Vec<_> = (0..20)
            .map(|_| {
                let addr = server.local_addr();
                std::thread::spawn(move || {
                    let url = HttpUrl::parse(&format!("http://{addr}")).unwrap();
                    let t = Timeouts {
                        connect: Duration::from_secs(2),
                        io: Duration::from_secs(5),
                    };
                    http_exchange(&url, "GET", "/metrics", None, t, 1 << 20)
                        .unwrap()
                        .text()
                })
            })
            .collect();
        for s in scrapes {
            assert_eq!(s.join().unwrap(), "renders_total 1\n");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Older than max_age, but nothing changed: served again.
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(
            request(&server, "GET", "/metrics").text(),
            "renders_total 1\n"
        );
        // A change: rendered anew (HEAD too needs the length).
        version.fetch_add(1, Ordering::SeqCst);
        let r = request(&server, "HEAD", "/metrics");
        assert_eq!((r.status, r.header("content-length")), (200, Some("16")));
        assert_eq!(
            request(&server, "GET", "/metrics").text(),
            "renders_total 2\n"
        );
        assert_eq!(server.stats().renders, 2);
        assert_eq!(server.stats().dropped, 0);
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
