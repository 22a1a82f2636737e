//! Web pages cannot drive the proxy through the user's browser: a request
//! a browser marks as made for another site, with a foreign `Origin`, or
//! "same-origin" with a rebound host name is refused with 403 before the
//! resolver runs; requests without those marks (MPD, curl) and addresses
//! typed into a browser are served as before.

use crate::common::*;

const UNKNOWN: &str = "kJQP7kiw5Fk";

fn calls(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn pages_are_refused_before_the_resolver_runs_and_players_are_served() {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls_file = dir.path().join("calls");
    let resolver = fake_resolver("json", &calls_file, &origin.url("/audio/1000"));
    let proxy = Proxy::start_with(&format!(
        "[server]\nallowed_hosts = [\"pi.local\"]\n{resolver}"
    ));
    let port = proxy.addr.port();
    let own = format!("http://127.0.0.1:{port}");
    let rebound = format!("evil.example:{port}");
    let rebound_origin = format!("http://{rebound}");
    let stream = format!("/proxy/{UNKNOWN}/");
    let cover = format!("/proxy/{UNKNOWN}/cover.jpg");
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);
    let refused: Vec<Case> = vec![
        (
            "GET",
            stream.as_str(),
            vec![("Sec-Fetch-Site", "cross-site")],
        ),
        (
            "HEAD",
            stream.as_str(),
            vec![("Sec-Fetch-Site", "same-site")],
        ),
        (
            "GET",
            stream.as_str(),
            vec![("Origin", "http://evil.example")],
        ),
        ("GET", stream.as_str(), vec![("Origin", "null")]),
        ("GET", "/health", vec![("Sec-Fetch-Site", "cross-site")]),
        ("GET", "/metrics", vec![("Origin", "http://evil.example")]),
        (
            "GET",
            stream.as_str(),
            vec![
                ("Host", rebound.as_str()),
                ("Sec-Fetch-Site", "same-origin"),
            ],
        ),
        (
            "GET",
            stream.as_str(),
            vec![
                ("Host", rebound.as_str()),
                ("Origin", rebound_origin.as_str()),
            ],
        ),
        (
            "GET",
            cover.as_str(),
            vec![("Sec-Fetch-Site", "cross-site")],
        ),
    ];
    for (method, path, headers) in &refused {
        let reply = request(proxy.addr, method, path, headers);
        assert_eq!(reply.status, 403, "{method} {path} {headers:?}");
        if *method == "GET" {
            assert!(
                reply.body_text().starts_with("forbidden: "),
                "{}",
                reply.body_text()
            );
        }
    }
    assert_eq!(calls(&calls_file), 0, "the resolver never ran for a page");
    assert!(
        get(proxy.addr, "/metrics", &[])
            .body_text()
            .contains(&format!(
                "icyproxy_requests_total{{status=\"403\"}} {}",
                refused.len()
            )),
    );

    // Typed into the address bar, or the page of this server itself.
    let reply = get(proxy.addr, "/health", &[("Sec-Fetch-Site", "none")]);
    assert_eq!(reply.status, 200);
    let pi = format!("pi.local:{port}");
    for headers in [
        vec![("Sec-Fetch-Site", "same-origin")],
        vec![("Origin", own.as_str())],
        vec![("Host", pi.as_str()), ("Sec-Fetch-Site", "same-origin")],
        vec![("Host", "localhost"), ("Origin", "http://localhost:80")],
    ] {
        let reply = get(proxy.addr, "/health", &headers);
        assert_eq!(reply.status, 200, "{headers:?}: {}", reply.body_text());
    }
    // A player (no marks) with any Host: resolved and streamed.
    let reply = get(
        proxy.addr,
        &stream,
        &[("Host", rebound.as_str()), ("Icy-MetaData", "1")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body_text());
    assert_eq!(reply.body.len(), 1000);
    assert_eq!(calls(&calls_file), 1);
}
