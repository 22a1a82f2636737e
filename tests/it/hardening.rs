//! Hostile clients, odd metadata, failing disks and concurrent writers,
//! against the real binary where its log or its exit matters.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const ID: &str = "dQw4w9WgXcQ";

const TOKEN: &str = "hardening-token-0123456789";

/// What came back on a raw connection.
#[derive(Debug, PartialEq)]
enum Answer {
    Status(u16, Vec<(String, String)>),
    Closed,
}

fn raw(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut r = BufReader::new(s);
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) | Err(_) => return Answer::Closed,
        Ok(_) => {}
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    Answer::Status(status, headers)
}

fn good_stream_still_works(addr: SocketAddr, len: usize) {
    let reply = get(addr, &format!("/proxy/{ID}/"), &[("Icy-MetaData", "1")]);
    assert_eq!(reply.status, 200);
    let (audio, metas) = split_icy(&reply.body, 16000);
    assert!(
        audio == audio_bytes(len),
        "the good stream after a hostile request"
    );
    assert_eq!(stream_title(&metas[0]).as_deref(), Some("Artist - Title"));
}

#[test]
fn hostile_requests_get_precise_answers_and_break_nothing() {
    let _alone = alone();
    let len = 40_000;
    let origin = Origin::start();
    let mut served = Served::start("[resolver]\ncommand = []\n", &[]);
    served.add(ID, &origin.url(&format!("/audio/{len}")), "Artist", "Title");
    let p = format!("/proxy/{ID}");
    let get_line =
        |target: &str, extra: &str| format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    let long_path = format!("/proxy/{}", "a".repeat(64 * 1024));
    let big_header = format!("X-Big: {}\r\n", "b".repeat(16 * 1024));
    let many_headers = "X-Many: 1\r\n".repeat(1000);
    let mut cases: Vec<(String, Vec<u8>, Answer)> = Vec::new();
    let mut case = |name: &str, bytes: Vec<u8>, status: Option<u16>| {
        let want = status.map_or(Answer::Closed, |s| Answer::Status(s, Vec::new()));
        cases.push((name.to_owned(), bytes, want));
    };
    // Ids and paths.
    case(
        "10-char id",
        get_line("/proxy/dQw4w9WgXc", "").into(),
        Some(400),
    );
    case(
        "12-char id",
        get_line("/proxy/dQw4w9WgXcQQ", "").into(),
        Some(400),
    );
    case(
        "non-ASCII id",
        get_line("/proxy/dQw4w9WgXcé", "").into(),
        Some(400),
    );
    case(
        "percent-encoded id",
        get_line("/proxy/%64Qw4w9WgXcQ", "").into(),
        Some(400),
    );
    case(
        "%2e%2e",
        get_line("/proxy/%2e%2e/%2e%2e/etc", "").into(),
        Some(400),
    );
    case(
        "../",
        get_line("/proxy/../../etc/passwd", "").into(),
        Some(400),
    );
    case(
        "NUL in id",
        get_line("/proxy/dQw4w9W\0XcQ", "").into(),
        Some(400),
    );
    case("64 KiB path", get_line(&long_path, "").into(), Some(414));
    case(
        "query string",
        get_line(&format!("{p}?x=1&y"), "").into(),
        Some(200),
    );
    case(
        "trailing slash",
        get_line(&format!("{p}/"), "").into(),
        Some(200),
    );
    case(
        "double slash before",
        get_line(&format!("/{p}"), "").into(),
        Some(404),
    );
    case(
        "double slash inside",
        get_line(&format!("/proxy//{ID}"), "").into(),
        Some(400),
    );
    case(
        "unknown id",
        get_line("/proxy/zzzzzzzzzzz", "").into(),
        Some(404),
    );
    case(
        "file under id",
        get_line(&format!("{p}/cover.png"), "").into(),
        Some(404),
    );
    case("unknown path", get_line("/admin", "").into(), Some(404));
    // Methods.
    for method in [
        "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "BREW", "get",
    ] {
        case(
            method,
            format!("{method} {p} HTTP/1.1\r\nHost: x\r\n\r\n").into(),
            Some(405),
        );
    }
    // Malformed requests.
    case(
        "TLS hello",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
        None,
    );
    case("garbage line", b"HELLO WORLD\r\n\r\n".to_vec(), Some(400));
    case("HTTP/0.9", b"GET /health\r\n\r\n".to_vec(), Some(400));
    case(
        "HTTP/2.0",
        b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n".to_vec(),
        Some(505),
    );
    case(
        "16 KiB header",
        get_line("/health", &big_header).into(),
        Some(431),
    );
    case(
        "1000 headers",
        get_line("/health", &many_headers).into(),
        Some(431),
    );
    case(
        "header without colon",
        get_line("/health", "NoColonHere\r\n").into(),
        Some(400),
    );
    case(
        "absolute-form URI",
        b"GET http://x/health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        Some(200),
    );
    case(
        "missing Host",
        b"GET /health HTTP/1.1\r\n\r\n".to_vec(),
        Some(200),
    );
    case(
        "absurd Content-Length",
        get_line("/health", "Content-Length: 10000000000000\r\n").into(),
        Some(200),
    );
    case(
        "chunked body on GET",
        get_line("/health", "Transfer-Encoding: chunked\r\n").into(),
        Some(200),
    );
    case(
        "unknown Expect",
        get_line("/health", "Expect: teapot\r\n").into(),
        Some(417),
    );
    case(
        "bad playlist name",
        get_line("/playlists/%ZZ.m3u", "").into(),
        Some(400),
    );
    // Ranges.
    case(
        "malformed Range",
        get_line(&p, "Range: bytes=abc\r\n").into(),
        Some(200),
    );
    case(
        "multi-range",
        get_line(&p, "Range: bytes=0-1,5-6\r\n").into(),
        Some(200),
    );
    case(
        "reversed Range",
        get_line(&p, "Range: bytes=9-2\r\n").into(),
        Some(200),
    );
    case(
        "suffix Range",
        get_line(&p, "Range: bytes=-100\r\n").into(),
        Some(206),
    );
    case(
        "Range beyond the end",
        get_line(&p, "Range: bytes=99999999-\r\n").into(),
        Some(416),
    );
    // Icy-MetaData values.
    for value in ["0", "2", "yes", ""] {
        case(
            &format!("Icy-MetaData {value:?}"),
            get_line(&p, &format!("Icy-MetaData: {value}\r\n")).into(),
            Some(200),
        );
    }
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (name, bytes, want) in cases {
        let got = raw(served.addr, &bytes);
        match (&got, &want) {
            (Answer::Status(g, headers), Answer::Status(w, _)) => {
                assert_eq!(g, w, "{name}");
                if *w == 405 {
                    assert!(
                        headers
                            .iter()
                            .any(|(k, v)| k == "allow" && v == "GET, HEAD"),
                        "{name}"
                    );
                }
                if name.starts_with("Icy-MetaData") {
                    assert!(!headers.iter().any(|(k, _)| k == "icy-metaint"), "{name}");
                }
            }
            _ => assert_eq!(got, want, "{name}"),
        }
        good_stream_still_works(served.addr, len);
    }
    let panics: Vec<String> = served
        .log_lines()
        .iter()
        .filter(|l| l.contains("panick"))
        .cloned()
        .collect();
    assert!(panics.is_empty(), "{panics:#?}");
}

#[test]
fn slowloris_connections_do_not_delay_a_real_listener() {
    let _alone = alone();
    let origin = Origin::start();
    let proxy = Proxy::start();
    proxy.add(ID, &origin.url("/audio/100000"), "A", "T");
    let slow: Vec<TcpStream> = (0..200).map(|_| connect(proxy.addr)).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dripper = {
        let stop = std::sync::Arc::clone(&stop);
        let mut conns = slow;
        std::thread::spawn(move || {
            let request = b"GET /health HTTP/1.1\r\nX-Slow: 1";
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for c in &mut conns {
                    let _ = c.write_all(&request[i % request.len()..i % request.len() + 1]);
                }
                i += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..3 {
        let mut s = connect(proxy.addr);
        let started = Instant::now();
        write!(s, "GET /proxy/{ID}/ HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
        let mut r = BufReader::new(s);
        let (status, _) = read_head(&mut r);
        let mut first = [0u8; 1];
        r.read_exact(&mut first).expect("first byte");
        let took = started.elapsed();
        assert!(status.contains(" 200 "));
        assert!(took < Duration::from_secs(1), "first byte after {took:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = dripper.join();
}

#[test]
fn a_file_descriptor_flood_is_survived() {
    let _alone = alone();
    // A low descriptor limit and a connection cap set above it (the cap
    // derived from the limit keeps a flood below it: tests/connections.rs).
    // The flood makes accept() fail with EMFILE, which ends tiny_http's
    // accept thread; the server must start a new one, close the idle
    // connections the old one held (nothing would read their requests;
    // their header deadline is an hour away), and serve again once the
    // flood is over.
    let mut served = Served::start(
        "[server]\nmax_connections = 1000\nheader_timeout_secs = 3600\n[resolver]\ncommand = []\n",
        &["sh", "-c", "ulimit -n 48; exec \"$0\" \"$@\""],
    );
    let mut flood: Vec<TcpStream> = (0..120)
        .filter_map(|_| TcpStream::connect(served.addr).ok())
        .collect();
    let restarted = served.wait_for_line(Duration::from_secs(10), |l| {
        l.contains("accepting connections failed") && l.contains("restarting")
    });
    assert!(restarted.is_some(), "no restart: {:#?}", served.log_lines());
    let mut closed = vec![false; flood.len()];
    let mut one = [0u8; 1];
    for conn in &flood {
        conn.set_nonblocking(true).expect("nonblocking");
    }
    let closed_enough = wait_until(Duration::from_secs(10), || {
        for (conn, closed) in flood.iter_mut().zip(closed.iter_mut()) {
            *closed = *closed
                || match conn.read(&mut one) {
                    Ok(n) => n == 0,
                    Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
                };
        }
        closed.iter().filter(|c| **c).count() >= 20
    });
    let closed = closed.iter().filter(|c| **c).count();
    eprintln!(
        "{closed} of {} flood connections closed by restarts",
        flood.len()
    );
    assert!(
        closed_enough,
        "{closed} flood connections closed by restarts"
    );
    drop(flood);
    assert!(
        wait_until(Duration::from_secs(5), || std::panic::catch_unwind(|| {
            health(served.addr)
        })
        .is_ok()),
        "the server did not recover after the flood"
    );
    let metrics = get(served.addr, "/metrics", &[]).body_text();
    let by_restart = metrics
        .lines()
        .find_map(|l| l.strip_prefix("icyproxy_client_connections_closed_total{rule=\"restart\"} "))
        .and_then(|n| n.parse::<usize>().ok());
    assert!(by_restart >= Some(closed), "{metrics}");
    let lines = served.log_lines().to_vec();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("accepting connections failed") && l.contains("restarting")),
        "no clear log line about the accept failure: {lines:#?}"
    );
    assert!(
        served.child.try_wait().expect("wait").is_none(),
        "the server exited"
    );
}

/// A fresh server, 100 idle keep-alive connections, then one request on
/// each: every one is answered, none waits for another client to leave
/// (tiny_http's task pool used to queue connections behind busy threads).
#[test]
fn a_hundred_idle_connections_are_all_answered_at_once() {
    let _alone = alone();
    for round in 1..=10 {
        let served = Served::start("[resolver]\ncommand = []\n", &[]);
        let mut conns: Vec<TcpStream> = (0..100).map(|_| connect(served.addr)).collect();
        let started = Instant::now();
        for conn in &mut conns {
            conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("send");
        }
        let deadline = started + Duration::from_secs(2);
        for (i, conn) in conns.iter_mut().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            conn.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            let mut reader = BufReader::new(conn);
            let reply = read_reply(&mut reader, false);
            assert_eq!(reply.status, 200, "round {round}: connection {i}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "round {round}: 100 answers took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_thousand_idle_connections_cost_threads_and_memory_not_service() {
    let _alone = alone();
    let origin = Origin::start();
    // Neither closed for their silence nor at a cap while measured.
    let mut served = Served::start(
        "[server]\nheader_timeout_secs = 3600\nmax_connections = 1100\n[resolver]\ncommand = []\n",
        &[],
    );
    served.add(ID, &origin.url("/audio/40000"), "Artist", "Title");
    let pid = served.child.id();
    let status = |key: &str| proc_status(pid, key);
    let (rss0, threads0) = (status("VmRSS:"), status("Threads:"));
    // In batches of 100, each accepted before the next: a burst of 1000
    // would overflow the listen backlog (128), and the connects left in it
    // are only accepted after SYN-ACK retransmits, seconds later.
    let mut idle: Vec<TcpStream> = Vec::new();
    for batch in 1..=10u64 {
        idle.extend((0..100).filter_map(|_| TcpStream::connect(served.addr).ok()));
        assert!(
            wait_until(Duration::from_secs(20), || status("Threads:")
                >= threads0 + batch * 90),
            "batch {batch}: threads {}",
            status("Threads:")
        );
    }
    assert_eq!(idle.len(), 1000);
    let (rss1, threads1) = (status("VmRSS:"), status("Threads:"));
    eprintln!(
        "1000 idle connections: threads {threads0} -> {threads1}, RSS {:.1} -> {:.1} MB ({:.1} KB per connection)",
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0,
        (rss1.saturating_sub(rss0)) as f64 / 1000.0
    );
    good_stream_still_works(served.addr, 40_000);
    drop(idle);
    let _ = served.log_lines();
}

#[test]
fn hostile_metadata_stays_valid() {
    let _alone = alone();
    let len = 40_000;
    let origin = Origin::start();
    let proxy = Proxy::start();
    proxy.add(ID, &origin.url(&format!("/audio/{len}")), "A", "T");
    let conn = rusqlite::Connection::open(&proxy.db_path).expect("open");
    let cases: [(&str, Vec<u8>); 3] = [
        ("invalid UTF-8", b"Bad \xff\xfe Bytes".to_vec()),
        ("10 KiB", "x".repeat(10 * 1024).into_bytes()),
        ("quotes", b"It's \"quoted\" ';'".to_vec()),
    ];
    for (name, artist) in cases {
        conn.execute("UPDATE tracks SET artist = CAST(?1 AS TEXT)", [&artist])
            .expect("raw write");
        let plain = get(proxy.addr, &format!("/proxy/{ID}"), &[]);
        assert_eq!(plain.status, 200, "{name}");
        let icy_name = plain.header("icy-name").expect("icy-name");
        assert!(
            icy_name.len() <= 1024 && !icy_name.contains(['\r', '\n']),
            "{name}"
        );
        assert!(plain.body == audio_bytes(len), "{name}");
        let icy = get(
            proxy.addr,
            &format!("/proxy/{ID}"),
            &[("Icy-MetaData", "1")],
        );
        let (audio, metas) = split_icy(&icy.body, 16000);
        assert!(audio == audio_bytes(len), "{name}");
        let title = stream_title(&metas[0]).expect("a valid StreamTitle");
        if name == "10 KiB" {
            assert!(
                title.len() <= 4065 && title.starts_with("xxxx"),
                "cut to one block"
            );
        } else {
            assert!(title.ends_with(" - T"), "{name}: {title}");
        }
    }
}

#[test]
fn a_token_guards_every_route_from_the_network() {
    let _alone = alone();
    let origin = Origin::start();
    let proxy = Proxy::start_with(&format!(
        "[server]\nhost = \"0.0.0.0\"\ntoken = \"{TOKEN}\"\n"
    ));
    proxy.add(ID, &origin.url("/audio/1000"), "A", "T");
    icyproxy::catalog::store::TrackStore::open(&proxy.db_path)
        .expect("store")
        .playlist_add("P", &[icyproxy::video_id::VideoId::parse(ID).expect("id")])
        .expect("playlist");
    let lan = std::net::SocketAddr::new(lan_address(), proxy.addr.port());
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], proxy.addr.port()));
    let bearer = format!("Bearer {TOKEN}");
    for path in [
        format!("/proxy/{ID}/"),
        "/metrics".into(),
        "/playlists".into(),
        "/playlists/P.m3u".into(),
        format!("/proxy/{ID}/cover.jpg"),
    ] {
        let none = get(lan, &path, &[]);
        assert_eq!(none.status, 401, "{path}");
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        assert_eq!(
            get(lan, &format!("{path}?token=wrong"), &[]).status,
            401,
            "{path}"
        );
        // The cover is 404 (the track has none) once past the token.
        let fine = if path.ends_with("cover.jpg") {
            404
        } else {
            200
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        assert_eq!(
            get(lan, &format!("{path}{sep}token={TOKEN}"), &[]).status,
            fine,
            "{path}"
        );
        assert_eq!(
            get(lan, &path, &[("Authorization", &bearer)]).status,
            fine,
            "{path}"
        );
        // From this machine (MPD beside the server): no token needed.
        assert_eq!(get(local, &path, &[]).status, fine, "{path} from loopback");
    }
    // /health without the token: up, and nothing more.
    let short = get(lan, "/health", &[]);
    assert_eq!(short.status, 200, "health stays open");
    let short: serde_json::Value = serde_json::from_slice(&short.body).expect("json");
    assert_eq!(
        short,
        serde_json::json!({"status": "ok", "service": "icyproxy"})
    );
    let full = get(lan, &format!("/health?token={TOKEN}"), &[]);
    let full: serde_json::Value = serde_json::from_slice(&full.body).expect("json");
    assert!(
        full.get("resolver").is_some() && full.get("warnings").is_some(),
        "{full}"
    );
    assert_eq!(health(local)["tracks"], 1);
    // Entries for the network carry the token; those on loopback need none.
    let m3u = get(lan, &format!("/playlists/P.m3u?token={TOKEN}"), &[]);
    assert!(
        m3u.body_text()
            .contains(&format!("/proxy/{ID}/?icy=0&token={TOKEN}")),
        "{}",
        m3u.body_text()
    );
    let m3u = get(local, "/playlists/P.m3u", &[]).body_text();
    assert!(m3u.contains(&format!("/proxy/{ID}/?icy=0\n")), "{m3u}");
    assert!(!m3u.contains(TOKEN), "{m3u}");
}

#[test]
fn a_public_address_without_a_token_is_warned_about() {
    let _alone = alone();
    let mut served = Served::start(
        "[server]\nhost = \"0.0.0.0\"\n[resolver]\ncommand = []\n",
        &[],
    );
    let lines = served.log_lines().to_vec();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARN") && l.contains("without [server] token")),
        "{lines:#?}"
    );
}

#[test]
fn concurrent_cli_writes_and_stream_reads_never_see_a_locked_database() {
    let _alone = alone();
    let len = 20_000;
    let origin = Origin::start();
    let served = Served::start("[server]\nworkers = 64\n[resolver]\ncommand = []\n", &[]);
    served.add(ID, &origin.url(&format!("/audio/{len}")), "Artist", "Title");
    let addr = served.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..32)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = get(addr, &format!("/proxy/{ID}"), &[]);
                    if r.status == 503 {
                        // Busy is not a database failure: retry, as MPD does.
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    if r.status != 200 || r.body != audio_bytes(len) {
                        bad.push(format!(
                            "{} {}",
                            r.status,
                            r.body_text().chars().take(80).collect::<String>()
                        ));
                    }
                }
                bad
            })
        })
        .collect();
    let cfg = served.dir.path().join("proxy.toml");
    let mut failures = Vec::new();
    for i in 0..1000 {
        let id = format!("w{i:010}");
        let o = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
            .arg("--config")
            .arg(&cfg)
            .args([
                "add",
                &id,
                "--url",
                "http://h/x",
                "--title",
                &format!("T{i}"),
            ])
            .output()
            .expect("add");
        if !o.status.success() {
            failures.push(String::from_utf8_lossy(&o.stderr).into_owned());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let read_failures: Vec<String> = readers
        .into_iter()
        .flat_map(|r| r.join().expect("reader"))
        .collect();
    assert!(
        failures.is_empty(),
        "writes failed: {:?}",
        &failures[..failures.len().min(3)]
    );
    assert!(
        read_failures.is_empty(),
        "reads failed: {:?}",
        &read_failures[..read_failures.len().min(3)]
    );
    let conn = rusqlite::Connection::open(served.db()).expect("open");
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM tracks WHERE video_id LIKE 'w%'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(n, 1000, "every write is present");
}

#[test]
fn a_corrupt_database_stops_the_start_and_is_left_alone() {
    let _alone = alone();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("tracks.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&db, &garbage).expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
        .args(["--config", "/dev/null", "serve", "--port", "0", "--db"])
        .arg(&db)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a database"), "{err}");
    assert_eq!(
        std::fs::read(&db).expect("read"),
        garbage,
        "the file was changed"
    );
    assert!(!Path::new(&format!("{}-wal", db.display())).exists());
}

/// Runs `icyproxy ARGS` as an unprivileged user when we are root (so file
/// permissions apply), else as ourselves.
fn as_other_user(args: &[&str]) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let mut c = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_icyproxy"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_icyproxy"))
    };
    c.args(args);
    c
}

#[test]
fn a_database_that_is_not_writable_is_served_read_only() {
    let _alone = alone();
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("tracks.db");
    let db_s = db.to_str().expect("utf8").to_owned();
    let cfg = dir.path().join("proxy.toml");
    // The resolver's call log lives where anyone may write.
    let calls_dir = tempfile::tempdir().expect("tempdir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(calls_dir.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let calls = calls_dir.path().join("calls.log");
    let url = origin.url("/audio/5000");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = {db_s:?}\n{}",
            fake_resolver("json", &calls, &url)
        ),
    )
    .expect("config");
    let cfg_s = cfg.to_str().expect("utf8").to_owned();
    let o = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
        .args([
            "--config", &cfg_s, "add", ID, "--url", &url, "--artist", "A", "--title", "T",
        ])
        .output()
        .expect("add");
    assert!(o.status.success());
    // Read-only for everyone but root; the directory too (no -wal/-shm).
    for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
        let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o444));
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555))
        .expect("chmod dir");
    let port = free_port().to_string();
    let mut server = as_other_user(&["--config", &cfg_s, "serve", "--port", &port])
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let up = wait_until(Duration::from_secs(5), || TcpStream::connect(addr).is_ok());
    let output = up.then(|| {
        // A stored track, and an unknown one the resolver finds: played
        // from memory, since it cannot be stored.
        let resolved = get(addr, "/proxy/newTrack_01/", &[]);
        assert_eq!(resolved.status, 200, "{}", resolved.body_text());
        assert!(resolved.body == audio_bytes(5000));
        get(addr, &format!("/proxy/{ID}"), &[])
    });
    let _ = server.kill();
    let _ = server.wait();
    let mut log = String::new();
    if let Some(mut e) = server.stderr.take() {
        let _ = e.read_to_string(&mut log);
    }
    let reply = output.unwrap_or_else(|| panic!("the server did not start read-only: {log}"));
    assert_eq!(reply.status, 200);
    assert!(reply.body == audio_bytes(5000));
    assert_eq!(log.matches("serving it read-only").count(), 1, "{log}");
    assert!(log.contains("resolved track not stored"), "{log}");
    assert!(log.contains("serving it read-only"), "{log}");
    // A CLI write fails with a clear message.
    let o = as_other_user(&[
        "--config",
        &cfg_s,
        "add",
        "aaaaaaaaaaa",
        "--url",
        &url,
        "--title",
        "T",
    ])
    .output()
    .expect("add");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("readonly") || err.contains("read-only") || err.contains("unable to open"),
        "{err}"
    );
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("restore");
}

#[test]
fn sigkill_during_imports_loses_no_committed_row() {
    let _alone = alone();
    const BATCH: usize = 5000;
    let origin = Origin::start();
    let served = Served::start("[resolver]\ncommand = []\n", &[]);
    served.add(ID, &origin.url("/audio/50000000"), "A", "T");
    // A stream in flight while the server dies.
    let addr = served.addr;
    let listener = std::thread::spawn(move || {
        let mut s = connect(addr);
        let _ = write!(s, "GET /proxy/{ID}/ HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buf = [0u8; 4096];
        while s.read(&mut buf).is_ok_and(|n| n > 0) {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let cfg = served.dir.path().join("proxy.toml");
    let wal = served.dir.path().join("tracks.db-wal");
    let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let mut committed = 0;
    let mut killed = 0;
    for batch in 0..12 {
        let lines: String = (0..BATCH)
            .map(|i| format!("k{batch:04}{i:06}\thttp://h/{i}\tA\tT{i}\n"))
            .collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
            .arg("--config")
            .arg(&cfg)
            .args(["import", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("import");
        let before = wal_len();
        // An import killed early may close its stdin before all is written.
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(lines.as_bytes());
        if batch % 3 == 1 {
            // Kill it inside its transaction: once the journal grows.
            let _ = wait_until(Duration::from_secs(2), || wal_len() > before);
            let _ = child.kill();
        }
        if batch == 6 {
            // The server dies mid-import, mid-stream.
            Command::new("kill")
                .args(["-KILL", &served.child.id().to_string()])
                .status()
                .expect("kill");
        }
        let was_killed = batch % 3 == 1;
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            committed += BATCH;
        } else {
            killed += 1;
            assert!(
                was_killed,
                "batch {batch} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let _ = listener.join();
    let conn = rusqlite::Connection::open(served.db()).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    let n: usize = conn
        .query_row(
            "SELECT count(*) FROM tracks WHERE video_id LIKE 'k%'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count") as usize;
    assert_eq!(n % BATCH, 0, "a partial import: {n} rows");
    // A killed import either committed whole (the kill came after its
    // COMMIT) or left nothing; every import that exited 0 is there.
    assert!(
        n >= committed && n <= committed + killed * BATCH,
        "{n} rows, {committed} reported committed, {killed} killed"
    );
    assert!(
        (6 * BATCH..12 * BATCH).contains(&committed),
        "kills did not land: {committed}"
    );
}
