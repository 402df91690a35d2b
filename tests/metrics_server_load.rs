//! The `/metrics` server under load (issue 12): a 2 MB exposition, 500 idle sockets, then
//! 200 scrapes at once, on loopback. Every scrape is answered in full within 2 s, the idle
//! sockets are closed by the server's header timeout, and the server runs on two threads
//! however many clients there are.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use nagare::sink::server::{MetricsServer, ServerOptions, Snapshot};

const IDLE: usize = 500;
const SCRAPES: usize = 200;
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// About 2 MB of exposition.
fn exposition() -> String {
    let mut s = String::from("# HELP load_total A big family.\n# TYPE load_total counter\n");
    let mut i = 0u64;
    while s.len() < 2 << 20 {
        s.push_str(&format!(
            "load_total{{route=\"/v1/items/{i}\",method=\"GET\"}} {i}\n"
        ));
        i += 1;
    }
    s
}

/// Room for 700 sockets at both ends in this one process.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls with a valid rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The threads of this process whose name starts with `prefix`, and all of them.
fn threads(prefix: &str) -> (usize, usize) {
    let mut named = 0;
    let mut all = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        all += 1;
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.starts_with(prefix) {
            named += 1;
        }
    }
    (named, all)
}

/// One scrape: the whole answer, and how long it took from connecting.
fn scrape(addr: SocketAddr) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: load\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    (out, started.elapsed())
}

#[test]
fn scrapes_are_answered_under_load() {
    raise_fd_limit();
    let body = exposition();
    let want = body.clone();
    let renders = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&renders);
    let snapshot: Snapshot = Arc::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        body.clone()
    });
    let opts = ServerOptions {
        header_timeout: HEADER_TIMEOUT,
        ..ServerOptions::default()
    };
    let server = MetricsServer::start_with("127.0.0.1:0", snapshot, opts).unwrap();
    let addr = server.local_addr();

    // 500 clients connect and say nothing.
    let mut idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let opened = Instant::now();
    // They hold no worker: a scrape meanwhile is answered at once.
    let (answer, took) = scrape(addr);
    assert!(answer.ends_with(want.as_bytes()), "{} bytes", answer.len());
    assert!(
        took < Duration::from_secs(2),
        "a scrape beside the idle sockets: {took:?}"
    );
    // The server closes every idle socket once its header timeout has passed.
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "an idle socket was answered");
    }
    let closed_after = opened.elapsed();
    assert!(
        closed_after < HEADER_TIMEOUT * 3,
        "idle sockets closed after {closed_after:?}"
    );
    drop(idle);
    assert_eq!(server.stats().dropped, IDLE as u64);

    // 200 scrapes at once.
    let gate = Arc::new(Barrier::new(SCRAPES + 1));
    let clients: Vec<_> = (0..SCRAPES)
        .map(|_| {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || {
                gate.wait();
                scrape(addr)
            })
        })
        .collect();
    gate.wait();
    let (server_threads, all_threads) = threads("metrics-");
    let mut slowest = Duration::ZERO;
    for c in clients {
        let (answer, took) = c.join().unwrap();
        let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]).into_owned();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(
            answer.ends_with(want.as_bytes()),
            "cut short: {} bytes",
            answer.len()
        );
        slowest = slowest.max(took);
    }
    let stats = server.stats();
    println!(
        "{SCRAPES} scrapes of {} bytes: slowest {slowest:?}; server threads {server_threads}, \
         process threads {all_threads}; renders {}; {stats:?}",
        want.len(),
        renders.load(Ordering::SeqCst)
    );
    assert!(
        slowest < Duration::from_secs(2),
        "slowest scrape {slowest:?}"
    );
    // The poll loop and the render thread, whatever the number of clients.
    assert_eq!(server_threads, 2);
    assert!(all_threads <= SCRAPES + 8, "{all_threads} threads");
    assert_eq!(stats.dropped, IDLE as u64, "{stats:?}");
    assert_eq!(stats.answered, SCRAPES as u64 + 1, "{stats:?}");
    // Renderings are shared: far fewer than scrapes.
    assert!(renders.load(Ordering::SeqCst) <= 4, "{stats:?}");
    server.shutdown();
}
