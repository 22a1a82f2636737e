//! Every error status the proxy promises, over real sockets, and the pool
//! answering 503 at once when it is full.

use std::io::{BufReader, Read, Write};
use std::time::{Duration, Instant};

use crate::common::*;
use icyproxy::stream::retry::{Recovery, Stage};

const ID: &str = "dQw4w9WgXcQ";

/// Error bodies are one short line of text.
fn assert_one_line(reply: &Reply) {
    let text = reply.body_text();
    assert!(
        text.ends_with('\n') && text.trim_end().lines().count() == 1,
        "{text:?}"
    );
    assert!(text.len() < 200, "{text:?}");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|v| v.starts_with("text/plain"))
    );
}

#[test]
fn request_errors_have_precise_statuses() {
    let proxy = Proxy::start();
    let cases: [(&str, &str, u16); 12] = [
        ("GET", "/proxy/short", 400),
        ("GET", "/proxy/dQw4w9WgXcQQ", 400),
        ("GET", "/proxy/%41Qw4w9WgXcQ", 400),
        ("HEAD", "/proxy/bad", 400),
        ("GET", "/proxy/dQw4w9WgXcQ", 404),
        ("HEAD", "/proxy/dQw4w9WgXcQ/", 404),
        ("GET", "/", 404),
        ("GET", "/proxy/dQw4w9WgXcQ/x/y", 404),
        ("POST", "/proxy/dQw4w9WgXcQ", 405),
        ("DELETE", "/health", 405),
        ("OPTIONS", "/proxy/dQw4w9WgXcQ/", 405),
        ("PUT", "/elsewhere", 404),
    ];
    for (method, path, want) in cases {
        let reply = request(proxy.addr, method, path, &[]);
        assert_eq!(reply.status, want, "{method} {path}");
        if method != "HEAD" {
            assert_one_line(&reply);
        }
        if want == 405 {
            assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{method} {path}");
        }
    }
}

#[test]
fn upstream_failures_map_to_502_and_504() {
    let origin = Origin::start();
    let proxy = Proxy::start_with("[upstream]\nread_timeout_secs = 1\nconnect_timeout_secs = 1\n");
    let dead = dead_port();
    let port = dead.port;
    let cases = [
        (
            format!("http://127.0.0.1:{port}/audio/10"),
            502,
            "unreachable",
        ),
        (origin.url("/audio/10?status=403"), 502, "403"),
        (origin.url("/audio/10?status=404"), 502, "404"),
        (origin.url("/audio/10?status=500"), 502, "500"),
        (origin.url("/nothing"), 502, "404"),
        (origin.url("/audio/10?delay_ms=3000"), 504, "timed out"),
    ];
    for (url, want, text) in cases {
        proxy.add(ID, &url, "A", "T");
        for method in ["GET", "HEAD"] {
            let started = Instant::now();
            let reply = request(proxy.addr, method, &format!("/proxy/{ID}"), &[]);
            assert_eq!(reply.status, want, "{method} {url}");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{method} {url} took too long"
            );
            if method == "GET" {
                assert_one_line(&reply);
                assert!(
                    reply.body_text().contains(text),
                    "{:?} lacks {text:?}",
                    reply.body_text()
                );
            }
        }
    }
}

#[test]
fn a_non_http_stream_url_written_by_another_program_is_never_fetched() {
    let proxy = Proxy::start();
    proxy.add(ID, "http://127.0.0.1:1/x", "A", "T");
    let conn = rusqlite::Connection::open(&proxy.db_path).expect("open");
    conn.execute("UPDATE tracks SET stream_url = 'file:///etc/passwd'", [])
        .expect("raw update");
    let reply = get(proxy.addr, &format!("/proxy/{ID}"), &[]);
    assert_eq!(reply.status, 502);
    assert!(!reply.body_text().contains("root:"));
}

#[test]
fn a_full_pool_answers_503_at_once_and_health_still_answers() {
    let origin = Origin::start();
    let proxy = Proxy::start_with("[server]\nworkers = 2\n");
    proxy.add(
        ID,
        &origin.url("/audio/1000000?stall_after=1000&stall_ms=5000"),
        "A",
        "T",
    );
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect(proxy.addr);
        write!(s, "GET /proxy/{ID} HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
        let mut r = BufReader::new(s);
        let (status, _) = read_head(&mut r);
        assert!(status.contains(" 200 "));
        let mut first = [0u8; 1000];
        r.read_exact(&mut first).expect("first bytes");
        held.push(r);
    }
    let h = health(proxy.addr);
    assert_eq!(h["active_streams"], 2);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["service"], "icyproxy");
    assert_eq!(h["tracks"], 1);
    let mut s = connect(proxy.addr);
    let started = Instant::now();
    write!(
        s,
        "GET /proxy/{ID} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let reply = read_reply(&mut BufReader::new(s), false);
    let took = started.elapsed();
    eprintln!("503 after {took:?}");
    assert_eq!(reply.status, 503);
    assert!(reply.header("retry-after").is_some());
    assert_one_line(&reply);
    // At once means: not after the 5 s the held streams stall for.
    assert!(took < Duration::from_secs(2), "503 took {took:?}");
    // HEAD is not a stream: it is still answered.
    let head = request(proxy.addr, "HEAD", &format!("/proxy/{ID}"), &[]);
    assert_eq!(head.status, 200);
    drop(held);
    assert!(wait_until(
        Duration::from_secs(8),
        || health(proxy.addr)["active_streams"] == 0
    ));
    assert_eq!(
        get(
            proxy.addr,
            &format!("/proxy/{ID}"),
            &[("Range", "bytes=0-99")]
        )
        .status,
        206
    );
}

/// An unreachable upstream keeps its cause, not only its text: a refused
/// connection is an OS error of that kind (retried), told apart from an
/// answer that cannot be true (never retried).
#[test]
fn an_unreachable_upstream_keeps_its_cause() {
    use std::error::Error as _;
    let config = icyproxy::config::Config::from_toml("", None).expect("defaults");
    let upstream = icyproxy::stream::upstream::Upstream::new(&config.upstream).expect("agent");
    let dead = dead_port();
    let url = format!("http://127.0.0.1:{}/audio", dead.port);
    let Err(e) = upstream.get(&url, None, &[]) else {
        panic!("a dead port answered");
    };
    assert_eq!(Recovery::of(&e, Stage::Open), Recovery::Retry, "{e}");
    let io = e
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("no io::Error under {e:?}"));
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
    assert!(
        e.to_string()
            .starts_with("upstream unreachable: 127.0.0.1:"),
        "{e}"
    );
}
