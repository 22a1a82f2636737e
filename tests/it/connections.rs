//! Client connections: deadlines for request heads and idle keep-alive
//! connections, the cap on open connections (issue 21), against the real
//! server over real sockets.

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::*;

const ID: &str = "dQw4w9WgXcQ";
const ID2: &str = "aaaaaaaaaaa";

/// `GET path` on a new connection: the body of a `200`, or what went
/// wrong, within 10 s.
fn fetch(addr: SocketAddr, path: &str) -> Result<String, String> {
    let limit = Duration::from_secs(10);
    let mut s = TcpStream::connect_timeout(&addr, limit).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(limit)).map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&reply);
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200 ") => Ok(body.to_owned()),
        _ => Err(format!("answered {reply:?}")),
    }
}

/// A metric's value from `/metrics` (`name` with its labels, if any).
/// Asked until answered: at a cap of two, a connection whose response has
/// just ended may hold its place a moment longer.
fn metric(addr: SocketAddr, name: &str) -> u64 {
    let mut asked = Err(String::new());
    wait_until(Duration::from_secs(10), || {
        asked = fetch(addr, "/metrics");
        asked.is_ok()
    });
    let text = asked.unwrap_or_else(|e| panic!("/metrics: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

fn closed_by(addr: SocketAddr, rule: &str) -> u64 {
    metric(
        addr,
        &format!("icyproxy_client_connections_closed_total{{rule=\"{rule}\"}}"),
    )
}

/// Reads until the server closes the connection (or `limit` passes):
/// what came, and when the end came (`None`: still open at `limit`).
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return (got, None);
        }
        s.set_read_timeout(Some(left)).expect("timeout");
        match s.read(&mut buf) {
            Ok(0) => return (got, Some(started.elapsed())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (got, None);
            }
            // A reset is a close too.
            Err(_) => return (got, Some(started.elapsed())),
        }
    }
}

#[test]
fn a_connection_without_a_whole_request_head_is_closed_at_the_header_deadline() {
    let _alone = alone();
    let proxy = Proxy::start_with("[server]\nheader_timeout_secs = 1\nidle_timeout_secs = 30\n");
    let addr = proxy.addr;
    // Silent: closed without a word, after the deadline and not before.
    let mut silent = connect(addr);
    let (got, closed) = read_until_closed(&mut silent, Duration::from_secs(10));
    let closed = closed.expect("a silent connection is closed");
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    assert!(
        closed >= Duration::from_millis(900),
        "closed after {closed:?}"
    );
    // Half a head: 408, then closed.
    let mut half = connect(addr);
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .expect("send");
    let (got, closed) = read_until_closed(&mut half, Duration::from_secs(10));
    assert!(closed.is_some(), "half a head is closed");
    assert!(
        got.starts_with(b"HTTP/1.1 408 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    // A byte every 200 ms (a head of 26 s): each byte does not earn more
    // time, the whole head is due within the deadline.
    let mut drip = connect(addr);
    let mut writer = drip.try_clone().expect("clone");
    let dripper = thread::spawn(move || {
        let head = format!("GET /health HTTP/1.1\r\nX-Slow: {}", "a".repeat(100));
        for byte in head.bytes() {
            if writer.write_all(&[byte]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let (got, closed) = read_until_closed(&mut drip, Duration::from_secs(10));
    let closed = closed.expect("a dripping head is closed");
    assert!(closed < Duration::from_secs(5), "closed after {closed:?}");
    assert!(
        got.starts_with(b"HTTP/1.1 408 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    drop(drip);
    let _ = dripper.join();
    assert_eq!(closed_by(addr, "header_timeout"), 3);
    assert_eq!(closed_by(addr, "idle_timeout"), 0);
    assert_eq!(get(addr, "/health", &[]).status, 200);
}

#[test]
fn a_keep_alive_connection_idle_past_the_idle_deadline_is_closed() {
    let _alone = alone();
    let proxy = Proxy::start_with("[server]\nheader_timeout_secs = 8\nidle_timeout_secs = 2\n");
    let addr = proxy.addr;
    let ask = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    // Requests 400 ms apart for longer than the idle deadline: never idle
    // for 2 s, never closed.
    let mut busy = connect(addr);
    let mut reader = BufReader::new(busy.try_clone().expect("clone"));
    for _ in 0..7 {
        busy.write_all(ask).expect("send");
        assert_eq!(read_reply(&mut reader, false).status, 200);
        thread::sleep(Duration::from_millis(400));
    }
    // Then silent: closed after the idle deadline (2 s), not the header
    // deadline (8 s).
    busy.write_all(ask).expect("send");
    assert_eq!(read_reply(&mut reader, false).status, 200);
    let (got, closed) = read_until_closed(&mut busy, Duration::from_secs(10));
    let closed = closed.expect("an idle connection is closed");
    assert!(
        got.is_empty(),
        "closed without a word: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        (Duration::from_millis(1900)..Duration::from_secs(7)).contains(&closed),
        "closed {closed:?} after its last answer"
    );
    assert_eq!(closed_by(addr, "idle_timeout"), 1);
    assert_eq!(closed_by(addr, "header_timeout"), 0);
}

#[test]
fn a_long_stream_is_not_cut_by_either_deadline() {
    let _alone = alone();
    let len = 200_000;
    let origin = Origin::start();
    let proxy = Proxy::start_with("[server]\nheader_timeout_secs = 1\nidle_timeout_secs = 1\n");
    // Upstream pauses 3 s mid-song: the client neither sends nor receives
    // a byte for three times either deadline.
    proxy.add(
        ID,
        &origin.url(&format!("/audio/{len}?stall_after=50000&stall_ms=3000")),
        "Artist",
        "Title",
    );
    let started = Instant::now();
    let reply = get(
        proxy.addr,
        &format!("/proxy/{ID}/"),
        &[("Icy-MetaData", "1")],
    );
    let took = started.elapsed();
    assert_eq!(reply.status, 200);
    let (audio, metas) = split_icy(&reply.body, 16000);
    assert!(audio == audio_bytes(len), "the stream came whole");
    assert_eq!(stream_title(&metas[0]).as_deref(), Some("Artist - Title"));
    assert!(took >= Duration::from_secs(3), "the stream took {took:?}");
    assert_eq!(closed_by(proxy.addr, "header_timeout"), 0);
    assert_eq!(closed_by(proxy.addr, "idle_timeout"), 0);
}

/// A stream whose client reads its head, then nothing: its response stays
/// in progress (more than the socket buffers hold) until read.
struct HeldStream {
    reader: BufReader<TcpStream>,
    len: usize,
}

impl HeldStream {
    fn start(addr: SocketAddr, id: &str, len: usize) -> HeldStream {
        let mut s = connect(addr);
        write!(
            s,
            "GET /proxy/{id}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut reader = BufReader::new(s);
        let (status, _) = read_head(&mut reader);
        assert!(status.contains(" 200 "), "{status}");
        HeldStream { reader, len }
    }

    /// Reads the rest: the whole song must come.
    fn finish(mut self) {
        let mut body = Vec::new();
        self.reader.read_to_end(&mut body).expect("body");
        assert!(
            body == audio_bytes(self.len),
            "a held stream came whole ({} bytes)",
            body.len()
        );
    }
}

/// More than loopback holds for a client that stops reading (a send buffer
/// of at most 4 MiB here; the receive buffer grows only as the client reads).
const BIG: usize = 24 * 1024 * 1024;

#[test]
fn at_the_cap_idle_connections_make_room_and_streams_are_never_closed() {
    let _alone = alone();
    let origin = Origin::start();
    let proxy = Proxy::start_with("[server]\nmax_connections = 20\nheader_timeout_secs = 3600\n");
    let addr = proxy.addr;
    proxy.add(ID, &origin.url(&format!("/audio/{BIG}")), "A", "T");
    proxy.add(ID2, &origin.url("/audio/100000"), "B", "U");
    let held = HeldStream::start(addr, ID, BIG);
    // 50 connections that never send a byte, for 19 places.
    let mut idle: Vec<TcpStream> = (0..50).map(|_| connect(addr)).collect();
    assert!(
        wait_until(Duration::from_secs(10), || closed_by(addr, "cap") >= 31),
        "cap closes: {}",
        closed_by(addr, "cap")
    );
    assert_eq!(get(addr, "/health", &[]).status, 200);
    let reply = get(addr, &format!("/proxy/{ID2}/"), &[]);
    assert_eq!(reply.status, 200);
    assert!(
        reply.body == audio_bytes(100_000),
        "a stored track streams whole"
    );
    assert!(metric(addr, "icyproxy_client_connections") <= 20);
    assert_eq!(metric(addr, "icyproxy_client_connections_max"), 20);
    // The oldest idle ones were closed; the newest are still open.
    let mut closed = 0;
    for conn in &mut idle {
        if read_until_closed(conn, Duration::from_millis(100))
            .1
            .is_some()
        {
            closed += 1;
        }
    }
    assert!(
        (30..=50).contains(&closed),
        "{closed} of 50 idle connections closed"
    );
    assert_eq!(closed_by(addr, "refused"), 0);
    held.finish();
}

#[test]
fn at_the_cap_with_every_connection_busy_a_new_one_is_refused() {
    let _alone = alone();
    let origin = Origin::start();
    let proxy = Proxy::start_with("[server]\nmax_connections = 2\n");
    let addr = proxy.addr;
    proxy.add(ID, &origin.url(&format!("/audio/{BIG}")), "A", "T");
    let held = [
        HeldStream::start(addr, ID, BIG),
        HeldStream::start(addr, ID, BIG),
    ];
    let mut refused = connect(addr);
    let _ = refused.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    let (got, closed) = read_until_closed(&mut refused, Duration::from_secs(10));
    assert!(
        closed.is_some() && got.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    for stream in held {
        stream.finish();
    }
    // Their connections close with their responses: room again.
    assert!(wait_until(Duration::from_secs(10), || probe_health(
        addr,
        Duration::from_secs(2)
    )
    .is_ok()));
    assert!(closed_by(addr, "refused") >= 1);
    assert_eq!(closed_by(addr, "cap"), 0);
}

/// Connections that never send a byte, held open by one thread: each one
/// the server closes is opened again, until `stop`.
struct Flood {
    stop: Arc<AtomicBool>,
    /// Connections opened, the first ones and the reopened ones.
    opened: Arc<AtomicUsize>,
    /// Set once every connection has been opened once.
    first_pass: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Flood {
    fn start(addr: SocketAddr, n: usize) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicUsize::new(0));
        let first_pass = Arc::new(AtomicBool::new(false));
        let (s, o, f) = (
            Arc::clone(&stop),
            Arc::clone(&opened),
            Arc::clone(&first_pass),
        );
        let thread = thread::spawn(move || {
            let mut conns: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
            let mut one = [0u8; 1];
            while !s.load(Ordering::SeqCst) {
                for slot in conns.iter_mut() {
                    if s.load(Ordering::SeqCst) {
                        break;
                    }
                    let alive = match slot {
                        Some(c) => {
                            matches!(c.read(&mut one), Err(e) if e.kind() == ErrorKind::WouldBlock)
                        }
                        None => false,
                    };
                    if !alive {
                        *slot = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
                            .ok()
                            .filter(|c| c.set_nonblocking(true).is_ok());
                        if slot.is_some() {
                            o.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                f.store(true, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(20));
            }
        });
        Flood {
            stop,
            opened,
            first_pass,
            thread,
        }
    }

    /// Stops the flood, closes its connections; returns how many it opened.
    fn stop(self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        self.opened.load(Ordering::SeqCst)
    }
}

/// `GET /health` on a new connection: how long the answer took, or why
/// there was none within `limit`.
fn probe_health(addr: SocketAddr, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, limit).map_err(|e| format!("connect: {e}"))?;
    let left = || {
        limit
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1))
    };
    s.set_write_timeout(Some(left()))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.starts_with(b"HTTP/1.1 200 ") || !head.windows(4).any(|w| w == b"\r\n\r\n") {
        s.set_read_timeout(Some(left()))
            .map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => return Err(format!("closed after {:?}", started.elapsed())),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read after {:?}: {e}", started.elapsed())),
        }
        if head.len() >= 12 && !head.starts_with(b"HTTP/1.1 200 ") {
            return Err(format!("answered {:?}", String::from_utf8_lossy(&head)));
        }
    }
    Ok(started.elapsed())
}

/// Issue 21: under the packaged `LimitNOFILE=1024`, 1,100 connections
/// that never send a byte made `/health` time out for as long as they were
/// held (every descriptor taken, accept failing with EMFILE). Now the
/// longest-idle connection makes room for a new one, and the server never
/// runs out of descriptors.
#[test]
fn eleven_hundred_idle_connections_under_ulimit_1024_leave_health_answering() {
    let _alone = alone();
    let mut served = Served::start(
        "[resolver]\ncommand = []\n",
        &["sh", "-c", "ulimit -n 1024; exec \"$0\" \"$@\""],
    );
    let addr = served.addr;
    let started = Instant::now();
    let flood = Flood::start(addr, 1100);
    assert!(
        wait_until(Duration::from_secs(60), || flood
            .first_pass
            .load(Ordering::SeqCst)),
        "1,100 connections not opened within 60 s"
    );
    let opening = started.elapsed();
    let mut probes = Vec::new();
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until {
        probes.push(probe_health(addr, Duration::from_secs(5)));
        thread::sleep(Duration::from_millis(300));
    }
    // What the server saw, the flood still on (when it answers).
    let metrics = probe_health(addr, Duration::from_secs(5))
        .and_then(|_| fetch(addr, "/metrics"))
        .unwrap_or_default();
    let opened = flood.stop();
    let slowest = probes.iter().filter_map(|p| p.as_ref().ok()).max();
    let seen: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("icyproxy_client_connections"))
        .collect();
    eprintln!(
        "1,100 idle connections opened in {opening:?}; {} probes during the flood \
         ({opened} connections opened in all): {} answered, slowest {slowest:?}; {seen:?}",
        probes.len(),
        probes.iter().filter(|p| p.is_ok()).count(),
    );
    for (i, probe) in probes.iter().enumerate() {
        match probe {
            Ok(took) => assert!(*took < Duration::from_secs(2), "probe {i}: {took:?}"),
            Err(why) => panic!("probe {i}: {why}\nall: {probes:?}"),
        }
    }
    let lines = served.log_lines().to_vec();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("accepting connections failed")),
        "the server ran out of descriptors: {lines:#?}"
    );
}
