//! The access log says why a request failed, on the request's own line at
//! info level, and never shows a stream URL's path, query or credentials.
//! Against the real binary, whose log is what a user reads.

use std::io::Write;
use std::time::Duration;

use crate::common::*;

const ID: &str = "dQw4w9WgXcQ";
const WAIT: Duration = Duration::from_secs(10);

/// The access-log line of the request for `path`.
fn access_line(served: &mut Served, path: &str) -> String {
    let needle = format!("\"GET {path}\"");
    served
        .wait_for_line(WAIT, |l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no access line for {path}: {:#?}", served.log_lines()))
}

#[test]
fn a_failed_request_logs_its_cause_keeps_the_slash_and_counts_the_body() {
    let origin = Origin::start();
    let mut served = Served::start("[resolver]\ncommand = []\n", &[]);
    served.add(ID, &origin.url("/missing/x?sig=SECRET"), "A", "T");
    let path = format!("/proxy/{ID}/");
    let reply = get(served.addr, &path, &[]);
    assert_eq!(reply.status, 502);
    assert_eq!(reply.body_text(), "upstream answered 404\n");
    let line = access_line(&mut served, &path);
    assert!(
        line.contains(" INFO ") || line.contains("[INFO]"),
        "not at info: {line}"
    );
    assert!(
        line.contains(&format!("\"GET {path}\" 502 22B "))
            && line.ends_with("(upstream answered 404)"),
        "{line}"
    );
    // Refused connections name the host and the reason, not the URL.
    let dead = dead_port();
    let port = dead.port;
    served.add(
        ID,
        &format!("http://127.0.0.1:{port}/a?sig=SECRET"),
        "A",
        "T",
    );
    let reply = get(served.addr, &format!("/proxy/{ID}"), &[]);
    assert_eq!(reply.status, 502);
    let line = access_line(&mut served, &format!("/proxy/{ID}"));
    assert!(
        line.contains(&format!("upstream unreachable: 127.0.0.1:{port}: "))
            && line.to_lowercase().contains("connection refused"),
        "{line}"
    );
    assert!(
        served.log_lines().iter().all(|l| !l.contains("SECRET")),
        "a URL's query reached the log"
    );
}

#[test]
fn a_refused_url_that_cannot_be_refreshed_names_both_causes() {
    let origin = Origin::start();
    let mut served = Served::start(
        "[resolver]\ncommand = [\"icyproxy-test-no-such-resolver\", \"{video_id}\"]\n",
        &[],
    );
    served.add(ID, &origin.url("/missing/x"), "A", "T");
    let path = format!("/proxy/{ID}/");
    let reply = get(served.addr, &path, &[]);
    assert_eq!(reply.status, 502);
    let text = reply.body_text();
    assert!(
        text.starts_with(
            "upstream answered 404 and the URL could not be refreshed: resolver command \
             not found: icyproxy-test-no-such-resolver"
        ),
        "{text}"
    );
    let line = access_line(&mut served, &path);
    assert!(
        line.contains("upstream answered 404 and the URL could not be refreshed"),
        "{line}"
    );
}

#[test]
fn a_resolver_failure_is_on_the_request_line_with_its_last_stderr_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls");
    let mut served = Served::start(
        &fake_resolver("fail", &calls, "http://127.0.0.1:1/a").to_string(),
        &[],
    );
    let path = format!("/proxy/{ID}/");
    let reply = get(served.addr, &path, &[]);
    assert_eq!(reply.status, 502);
    let line = access_line(&mut served, &path);
    assert!(
        line.contains("exit status: 1")
            && line.contains("ERROR: [youtube] dQw4w9WgXcQ: Video unavailable"),
        "{line}"
    );
}

#[test]
fn credentials_in_a_refused_url_never_reach_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls");
    let mut served = Served::start(
        &fake_resolver("creds", &calls, "http://127.0.0.1:1/a").to_string(),
        &[],
    );
    let path = format!("/proxy/{ID}/");
    let reply = get(served.addr, &path, &[]);
    assert_eq!(reply.status, 502);
    let line = access_line(&mut served, &path);
    assert!(line.contains("no usable host"), "{line}");
    for l in served.log_lines() {
        assert!(
            !l.contains("secret") && !l.contains("SECRET"),
            "leaked: {l}"
        );
    }
}

#[test]
fn every_response_names_the_same_server() {
    let origin = Origin::start();
    let served = Served::start("[resolver]\ncommand = []\n", &[]);
    served.add(ID, &origin.url("/audio/1000"), "A", "T");
    let server = format!("icyproxy/{}", env!("CARGO_PKG_VERSION"));
    for (method, path) in [
        ("GET", format!("/proxy/{ID}/")),
        ("HEAD", format!("/proxy/{ID}/")),
        ("GET", "/health".to_owned()),
        ("GET", "/nowhere".to_owned()),
        ("GET", "/proxy/short".to_owned()),
        ("POST", "/health".to_owned()),
        ("GET", format!("/proxy/{ID}/cover.jpg")),
    ] {
        let reply = request(served.addr, method, &path, &[]);
        assert_eq!(
            reply.header("server"),
            Some(server.as_str()),
            "{method} {path}"
        );
    }
    // Answers tiny_http writes itself: an over-long request line (414), an
    // unsupported HTTP version (505).
    for raw in [
        format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000)),
        "GET /health HTTP/2.0\r\nHost: x\r\n\r\n".to_owned(),
    ] {
        let mut s = connect(served.addr);
        let _ = s.write_all(raw.as_bytes());
        let (status, headers) = read_head(&mut std::io::BufReader::new(s));
        let name = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("server"))
            .map(|(_, v)| v.as_str());
        assert_eq!(name, Some(server.as_str()), "{status}");
    }
}
