//! Following MPD's queue (`icyproxy::mpd::follow`) against a real MPD
//! started by each test: its own config, a null output, a random port and
//! a Unix socket in a temp dir. Queue entries that point at "the proxy" are
//! served by a small tone server (any path answers `tests/fixtures/tone.mp3`),
//! so MPD can play and pause them without errors that would move the queue.
//!
//! Without `mpd` the tests fail; `ICYPROXY_SKIP_MPD=1` skips them, as in
//! `tests/it/mpd.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::mpd::{Mpd, skip_mpd_test};
use crate::common::{fixture, wait_until};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use icyproxy::mpd::{FollowSettings, FollowStatus, Link, follow};

/// Generous: a loaded machine runs these ten times in a row.
const EVENT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------- logs

/// Every log line of the follower's module in this test binary, as
/// `LEVEL message`. Tests run in parallel, so each one looks only at
/// lines naming its own MPD address. The binary holds the other modules'
/// tests too, whose servers log access lines naming client ports and
/// `listening on` lines naming ports a test here may be given next: those
/// are not recorded.
struct Recorder(Mutex<Vec<String>>);

/// The module [`follow`] is defined in: the follower logs under it (or a
/// module inside it).
fn follower_module() -> &'static str {
    let path = std::any::type_name_of_val(&follow);
    path.rsplit_once("::").map_or(path, |(module, _)| module)
}

impl log::Log for Recorder {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        let module = follower_module();
        meta.target()
            .strip_prefix(module)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}", record.level(), record.args());
            eprintln!("log: {line}");
            self.0.lock().expect("log lock").push(line);
        }
    }

    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder(Mutex::new(Vec::new()));

/// Installs the recorder (once per binary).
fn record_logs() {
    if log::set_logger(&RECORDER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Log lines that contain every one of `needles`; a needle that ends in a
/// digit (an address) must not go on with another digit.
fn logged(needles: &[&str]) -> Vec<String> {
    logged_after(0, needles)
}

/// How many lines are recorded so far: lines after it are this test's
/// (a port an earlier test used can come round again).
fn log_mark() -> usize {
    RECORDER.0.lock().expect("log lock").len()
}

fn logged_after(mark: usize, needles: &[&str]) -> Vec<String> {
    RECORDER
        .0
        .lock()
        .expect("log lock")
        .iter()
        .skip(mark)
        .filter(|l| needles.iter().all(|n| mentions(l, n)))
        .cloned()
        .collect()
}

fn mentions(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(at, _)| {
        !needle.ends_with(|c: char| c.is_ascii_digit())
            || !line[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit())
    })
}

// ---------------------------------------------------------------- helpers

/// Answers every request with the tone, whatever the path: a stand-in for
/// the proxy (or any other HTTP server) that MPD can play from.
fn tone_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind tone server");
    let port = listener.local_addr().expect("addr").port();
    let body = Arc::new(std::fs::read(fixture("tone.mp3")).expect("tone.mp3"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let body = Arc::clone(&body);
            std::thread::spawn(move || {
                let mut r = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line == "\r\n" || line == "\n" => break,
                        Ok(_) => {}
                    }
                }
                let mut s = r.into_inner();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = s
                    .write_all(head.as_bytes())
                    .and_then(|()| s.write_all(&body));
            });
        }
    });
    port
}

/// A follower under test: its windows arrive on `windows`.
struct Following {
    status: Arc<FollowStatus>,
    windows: Receiver<Vec<String>>,
    stopping: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

fn start_following(
    address: &str,
    password: Option<&str>,
    warm_ahead: usize,
    proxy_port: u16,
) -> Following {
    record_logs();
    let (tx, windows) = crossbeam_channel::unbounded();
    let stopping = Arc::new(AtomicBool::new(false));
    let (status, handle) = follow(
        FollowSettings {
            address: address.to_owned(),
            password: password.map(str::to_owned),
            warm_ahead,
            proxy_port,
        },
        Arc::clone(&stopping),
        Box::new(move |ids| {
            let _ = tx.send(ids.iter().map(ToString::to_string).collect());
        }),
    )
    .expect("follower starts");
    Following {
        status,
        windows,
        stopping,
        handle: Some(handle),
    }
}

impl Following {
    /// The next window, within [`EVENT`].
    fn next(&self) -> Vec<String> {
        match self.windows.recv_timeout(EVENT) {
            Ok(w) => w,
            Err(RecvTimeoutError::Timeout) => panic!("no window within {EVENT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the follower thread ended"),
        }
    }

    /// Windows until one equals `want`; panics (showing what came) when
    /// none does within [`EVENT`]. Returns how long it took.
    fn until(&self, want: &[&str]) -> Duration {
        let started = Instant::now();
        let mut seen = Vec::new();
        loop {
            let left = EVENT.saturating_sub(started.elapsed());
            match self.windows.recv_timeout(left) {
                Ok(w) if w == want => return started.elapsed(),
                Ok(w) => seen.push(w),
                Err(_) => panic!("never the window {want:?}; saw {seen:?}"),
            }
        }
    }

    /// Asserts that no window arrives for a short while.
    fn quiet(&self, how_long: Duration) {
        if let Ok(w) = self.windows.recv_timeout(how_long) {
            panic!("unexpected window {w:?}");
        }
    }

    fn wait_link(&self, want: Link, limit: Duration) -> Duration {
        let started = Instant::now();
        assert!(
            wait_until(limit, || self.status.link() == want),
            "link is {:?}, not {want:?}, after {limit:?}",
            self.status.link()
        );
        started.elapsed()
    }

    /// Whether the thread is still running.
    fn running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Sets `stopping` and joins the thread; returns how long that took.
    fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            let (tx, rx) = crossbeam_channel::bounded(1);
            std::thread::spawn(move || {
                let _ = tx.send(handle.join().is_ok());
            });
            assert_eq!(
                rx.recv_timeout(EVENT),
                Ok(true),
                "the follower did not end cleanly"
            );
        }
        started.elapsed()
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}

/// An 11-character test id.
fn tid(n: usize) -> String {
    format!("followT{n:04}")
}

fn proxy_url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

// ---------------------------------------------------------------- tests

/// A mixed queue: only this port's `/proxy/ID` entries count, in the order
/// of need; moving, `repeat` and deleting change the window; changes that
/// leave it alone call nobody; a stop while in `idle` is quick.
#[test]
fn the_window_follows_the_queue() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let (proxy, other) = (tone_server(), tone_server());
    let mpd = Mpd::started("");
    let mut c = mpd.connect();
    let f = start_following(&mpd.address(), None, 5, proxy);
    assert_eq!(f.next(), Vec::<String>::new(), "an empty queue");
    f.wait_link(Link::Connected, EVENT);

    let queue = [
        proxy_url(proxy, &format!("/proxy/{}/", tid(0))),
        proxy_url(proxy, &format!("/proxy/{}?icy=0", tid(1))),
        proxy_url(proxy, &format!("/proxy/{}/", tid(2))),
        proxy_url(other, &format!("/proxy/{}/", tid(3))),
        proxy_url(proxy, "/file/tone.mp3"),
        proxy_url(proxy, &format!("/proxy/{}/?icy=0&x=1", tid(5))),
        format!("http://localhost:{proxy}/proxy/{}", tid(6)),
        proxy_url(proxy, &format!("/proxy/{}/", tid(2))),
    ];
    c.add_all(&queue);
    // Stopped with no current song: what a bare `play` would start with.
    f.until(&[&tid(0), &tid(1), &tid(2), &tid(5)]);

    let sent = Instant::now();
    c.play_paused(2);
    f.until(&[&tid(2), &tid(5), &tid(6)]);
    eprintln!("window after play 2 + pause: {:?}", sent.elapsed());

    // The current song moved to the end: nothing after it without repeat.
    c.ok("move 2 7");
    f.until(&[&tid(2)]);
    // With repeat, it wraps: nextsong is 0, then 0..4 in queue order.
    c.ok("repeat 1");
    f.until(&[&tid(2), &tid(0), &tid(1), &tid(5)]);
    c.ok("delete 0");
    f.until(&[&tid(2), &tid(1), &tid(5), &tid(6)]);
    // The duplicate of the current song and the other port's entry: the
    // window stays the same, so on_window is not called ...
    c.ok("delete 5");
    c.ok("delete 1");
    // ... and the next window is the one after this change.
    c.ok("delete 0");
    assert_eq!(f.next(), [tid(2), tid(5), tid(6)]);
    f.quiet(Duration::from_millis(500));

    let took = f.stop();
    assert!(
        took < Duration::from_millis(1500),
        "stop in idle took {took:?}"
    );
    eprintln!("stop while in idle: {took:?}");
}

/// A queue of 10,000 entries: the window comes from `status` and small
/// `playlistinfo` ranges (MPD's own log of the commands it processed), and
/// what the follower reads stays far below one listing of the queue.
#[test]
fn a_long_queue_costs_only_the_window() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let proxy = tone_server();
    let mpd = Mpd::started("");
    let mut c = mpd.connect();
    let ids: Vec<String> = (0..10_000).map(tid).collect();
    let started = Instant::now();
    for batch in ids.chunks(1000) {
        let urls: Vec<String> = batch
            .iter()
            .map(|id| proxy_url(proxy, &format!("/proxy/{id}/")))
            .collect();
        c.add_all(&urls);
    }
    eprintln!("10,000 entries added in {:?}", started.elapsed());
    // What reading the whole queue once would cost.
    let whole: usize = c
        .ok("playlistinfo")
        .iter()
        .map(|(k, v)| k.len() + v.len() + 3)
        .sum();

    let f = start_following(&mpd.address(), None, 5, proxy);
    let took = f.until(&[&ids[0], &ids[1], &ids[2], &ids[3], &ids[4], &ids[5]]);
    eprintln!("first window of a 10,000-entry queue: {took:?}");
    let sent = Instant::now();
    c.play_paused(5000);
    f.until(
        &ids[5000..5006]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    eprintln!("window after play 5000 + pause: {:?}", sent.elapsed());
    c.ok("repeat 1");
    c.play_paused(9998);
    let wrapped = [&ids[9998], &ids[9999], &ids[0], &ids[1], &ids[2], &ids[3]];
    f.until(&wrapped.map(String::as_str));
    // Deleting one entry near the start shifts the window's positions.
    c.ok("delete 1");
    f.until(&[&ids[9998], &ids[9999], &ids[0], &ids[2], &ids[3], &ids[4]]);

    let read = f.status.bytes_read();
    eprintln!("the follower read {read} bytes; one playlistinfo of the queue is {whole} bytes");
    assert!(whole > 500_000, "{whole}");
    assert!(read < 20_000, "the follower read {read} bytes");
    f.stop();

    // MPD's log: only ranged reads, none wider than the window. The test's
    // own client sent the one bare `playlistinfo`.
    let reads = mpd.commands("playlistinfo");
    let ranged: Vec<&String> = reads.iter().filter(|c| c.contains(':')).collect();
    assert_eq!(reads.len(), ranged.len() + 1, "{reads:?}");
    assert!(ranged.len() >= 5, "{reads:?}");
    for read in &ranged {
        let range = read.trim_start_matches("playlistinfo ");
        let (start, end) = range.split_once(':').expect("START:END");
        let width = end.parse::<usize>().expect("end") - start.parse::<usize>().expect("start");
        assert!((1..=6).contains(&width), "{read}");
    }
    eprintln!("MPD saw the follower read: {ranged:?}");
}

/// MPD absent at start, started later, killed and started again: the
/// follower connects and reconnects on its own, says so once per change,
/// and counts the reconnect. Also over MPD's Unix socket.
#[test]
fn mpd_coming_and_going() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let proxy = tone_server();
    let mut mpd = Mpd::new("");
    let addr = mpd.address();
    let started = Instant::now();
    let f = start_following(&addr, None, 5, proxy);
    assert_eq!(f.status.link(), Link::Disconnected);
    assert!(
        wait_until(EVENT, || !logged(&["WARN", "MPD not available", &addr])
            .is_empty()),
        "no warning about the missing MPD"
    );

    mpd.start();
    let mpd_up = Instant::now();
    let took = f.wait_link(Link::Connected, Duration::from_secs(35));
    eprintln!(
        "connected {took:?} after MPD started ({:?} after the follower)",
        started.elapsed()
    );
    assert!(mpd_up.elapsed() < Duration::from_secs(30));
    assert_eq!(f.next(), Vec::<String>::new());
    assert_eq!(f.status.reconnects(), 0);
    let mut c = mpd.connect();
    c.add_all(&[proxy_url(proxy, &format!("/proxy/{}/", tid(7)))]);
    assert_eq!(f.next(), [tid(7)]);

    mpd.kill();
    f.wait_link(Link::Disconnected, EVENT);
    mpd.start();
    let took = f.wait_link(Link::Connected, Duration::from_secs(35));
    eprintln!("reconnected {took:?} after MPD restarted");
    assert_eq!(f.status.reconnects(), 1);
    // The restarted MPD has an empty queue.
    assert_eq!(f.next(), Vec::<String>::new());

    let took = f.stop();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    // One line per change of state, however many attempts.
    assert_eq!(logged(&["WARN", "MPD not available", &addr]).len(), 1);
    assert_eq!(logged(&["WARN", "MPD connection lost", &addr]).len(), 1);
    assert_eq!(logged(&["INFO", "MPD connected at", &addr]).len(), 2);

    // The same MPD over its Unix socket.
    let socket = mpd.socket.display().to_string();
    let f = start_following(&socket, None, 5, proxy);
    assert_eq!(f.next(), Vec::<String>::new());
    assert_eq!(f.status.link(), Link::Connected);
    let mut c = mpd.connect();
    c.add_all(&[proxy_url(proxy, &format!("/proxy/{}", tid(8)))]);
    assert_eq!(f.next(), [tid(8)]);
    f.stop();
}

/// MPD with a password and no default permissions: a wrong password (or
/// none) is one clear warning however many retries; the right one works.
#[test]
fn a_password_mpd_refuses_is_said_once() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let proxy = tone_server();
    let mpd = Mpd::started("password \"secret@read,add,control\"\ndefault_permissions \"\"\n");
    let addr = mpd.address();

    let f = start_following(&addr, Some("wrong"), 5, proxy);
    // Three attempts (at 0, 1 and 3 s), seen in MPD's log.
    assert!(
        wait_until(EVENT, || mpd.commands("password").len() >= 3),
        "{:?}",
        mpd.commands("password")
    );
    assert_eq!(f.status.link(), Link::Disconnected);
    let warned = logged(&["WARN", &addr]);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("MPD refused the password"), "{warned:?}");
    assert!(
        warned[0].contains("[mpd] password"),
        "says what to fix: {warned:?}"
    );
    f.stop();

    // No password at all: MPD refuses `status`; also one line.
    let f = start_following(&addr, None, 5, proxy);
    assert!(
        wait_until(EVENT, || mpd.commands("status").len() >= 2),
        "{:?}",
        mpd.commands("status")
    );
    let warned = logged(&["WARN", &addr, "needs a password"]);
    assert_eq!(warned.len(), 1, "{:?}", logged(&[&addr]));
    assert_eq!(f.status.link(), Link::Disconnected);
    f.stop();

    let f = start_following(&addr, Some("secret"), 5, proxy);
    assert_eq!(f.next(), Vec::<String>::new());
    assert_eq!(f.status.link(), Link::Connected);
    f.stop();
    assert_eq!(logged(&["INFO", "MPD connected at", &addr]).len(), 1);
}

/// Something that is not quite MPD: not MPD at all, odd lines, an ACK
/// where an answer should be, a connection closed mid-answer, silence
/// before or after the greeting. The follower never panics, warns once,
/// keeps retrying, and still stops at once.
#[test]
fn odd_servers_are_a_lost_connection() {
    // Each server greets with the script's first line, reads one command,
    // sends the rest and hangs up. `None`: accepts and never writes.
    let scripts: [Option<&'static str>; 6] = [
        Some("HTTP/1.1 400 Bad Request\r\n\r\n"),
        Some("OK MPD 0.23.5\nno separator here\n"),
        Some("OK MPD 0.23.5\nACK [5@0] {status} unknown command\n"),
        Some("OK MPD 0.23.5\nrepeat: 0\nplaylistlen"),
        Some("OK MPD 0.23.5\nplaylistlength: 2\nsong: x\nOK\n"),
        Some("OK MPD 0.23.5\nplaylistlength: 2\nsong: 0\nOK\nfile: x\n"),
    ];
    let mut runs = Vec::new();
    let mark = log_mark();
    for script in scripts {
        let (addr, connections) = odd_server(script);
        let f = start_following(&addr, None, 5, 1);
        runs.push((script, addr, connections, f));
    }
    // Silence before the greeting, and after it: the follower waits (up
    // to 10 s) for an answer.
    let mut silent = Vec::new();
    for script in [None, Some("OK MPD 0.23.5\n")] {
        let (addr, connections) = odd_server(script);
        let f = start_following(&addr, None, 5, 1);
        assert_eq!(connections.recv_timeout(EVENT), Ok(()));
        silent.push((addr, f));
    }

    // Stopped while it waits (before its 10 s answer timeout, however
    // slow the machine is with the rest below): nothing to say.
    for (addr, f) in silent {
        assert!(f.running());
        let took = f.stop();
        assert!(
            took < Duration::from_millis(1500),
            "stop while waiting for MPD: {took:?}"
        );
        let lines = logged_after(mark, &[&addr]);
        assert!(lines.is_empty(), "{lines:?}");
    }

    for (script, addr, connections, f) in runs {
        // The first attempt and a retry after about a second.
        for _ in 0..2 {
            assert_eq!(connections.recv_timeout(EVENT), Ok(()), "{script:?}");
        }
        assert_eq!(f.status.link(), Link::Disconnected, "{script:?}");
        assert!(f.running(), "{script:?}: the thread ended");
        let took = f.stop();
        assert!(
            took < Duration::from_millis(1500),
            "{script:?}: stop took {took:?}"
        );
        let lines = logged_after(mark, &[&addr]);
        assert_eq!(lines.len(), 1, "{script:?}: {lines:?}");
        assert!(lines[0].starts_with("WARN MPD not available"), "{lines:?}");
        eprintln!("{script:?}: {}", lines[0]);
    }
}

/// A fake server on 127.0.0.1 (see the test above); each accepted
/// connection is reported on the channel.
fn odd_server(script: Option<&'static str>) -> (String, Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, connections) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let _ = tx.send(());
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            match script {
                Some(text) => {
                    let (greeting, rest) = text.split_once('\n').unwrap_or((text, ""));
                    let _ = s.write_all(format!("{greeting}\n").as_bytes());
                    let mut line = String::new();
                    let _ = r.read_line(&mut line);
                    let _ = s.write_all(rest.as_bytes());
                    if rest.is_empty() {
                        // Greeted, then silence until the client hangs up.
                        let _ = r.read_to_end(&mut Vec::new());
                    }
                }
                None => {
                    let _ = r.read_to_end(&mut Vec::new());
                }
            }
        }
    });
    (addr, connections)
}
