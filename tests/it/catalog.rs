//! What sits beside the stream: playlists over HTTP, cover art for MPD's
//! `albumart`, `?icy=0` and `/metrics`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::*;
use icyproxy::catalog::model::NewTrack;
use icyproxy::catalog::store::TrackStore;
use icyproxy::video_id::VideoId;

const A: &str = "aaaaaaaaaaa";
const B: &str = "bbbbbbbbbbb";

fn store(proxy: &Proxy) -> TrackStore {
    TrackStore::open(&proxy.db_path).expect("open store")
}

fn add_full(proxy: &Proxy, id: &str, url: &str, artist: &str, title: &str, thumb: Option<&str>) {
    let mut t = NewTrack::new(id, url, artist, title)
        .expect("track")
        .with_album("Test Album");
    t.tags.duration_secs = Some(8);
    if let Some(thumb) = thumb {
        t = t.with_thumbnail(thumb).expect("thumbnail url");
    }
    store(proxy).upsert(&t).expect("upsert");
}

/// Whether the cover cache holds an image for `id`.
fn cached(cache: &std::path::Path, id: &str) -> bool {
    std::fs::read_dir(cache).is_ok_and(|dir| {
        dir.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("{id}-")) && name.ends_with(".img")
        })
    })
}

fn ids(list: &[&str]) -> Vec<VideoId> {
    list.iter()
        .map(|i| VideoId::parse(i).expect("id"))
        .collect()
}

#[test]
fn playlists_are_served_as_xspf_and_m3u() {
    let origin = Origin::start();
    let proxy = Proxy::start();
    add_full(
        &proxy,
        A,
        &origin.url("/audio/10"),
        "Rick & Co",
        "Never <Gonna>",
        None,
    );
    store(&proxy)
        .playlist_add("Road Trip 🚗", &ids(&[A, B, A]))
        .expect("playlist");
    store(&proxy)
        .playlist_add("Other", &ids(&[B]))
        .expect("playlist");

    let list = get(proxy.addr, "/playlists", &[]);
    assert_eq!(list.status, 200);
    let text = list.body_text();
    assert_eq!(text.lines().count(), 2);
    assert!(
        text.contains("Road Trip 🚗\t3\t/playlists/Road%20Trip%20%F0%9F%9A%97.xspf"),
        "{text}"
    );

    let host = [("Host", "music.local:8080")];
    let xspf = get(
        proxy.addr,
        "/playlists/Road%20Trip%20%F0%9F%9A%97.xspf",
        &host,
    );
    assert_eq!(xspf.status, 200);
    assert_eq!(xspf.header("content-type"), Some("application/xspf+xml"));
    let x = xspf.body_text();
    assert_eq!(x.matches("<track>").count(), 3);
    assert!(x.contains("<location>http://music.local:8080/proxy/aaaaaaaaaaa/?icy=0</location>"));
    assert!(x.contains("<creator>Rick &amp; Co</creator>"));
    assert!(x.contains("<title>Never &lt;Gonna&gt;</title>"));
    assert!(x.contains("<album>Test Album</album>"));
    assert!(x.contains("<duration>8000</duration>"));
    assert!(
        x.contains("<title>bbbbbbbbbbb</title>"),
        "unstored id stands in"
    );

    let m3u = get(proxy.addr, "/playlists/Other.m3u", &[]);
    assert_eq!(m3u.status, 200);
    assert_eq!(m3u.header("content-type"), Some("audio/x-mpegurl"));
    let lines: Vec<String> = m3u.body_text().lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "#EXTM3U");
    assert_eq!(lines[2], "#EXTINF:-1,bbbbbbbbbbb");
    assert_eq!(
        lines[3],
        format!("http://{}/proxy/bbbbbbbbbbb/?icy=0", proxy.addr)
    );

    let m3u = get(proxy.addr, "/playlists/Road%20Trip%20%F0%9F%9A%97.m3u", &[]);
    assert!(
        m3u.body_text()
            .contains("#EXTINF:8,Rick & Co - Never <Gonna>\n")
    );

    assert_eq!(get(proxy.addr, "/playlists/Nope.m3u", &[]).status, 404);
    assert_eq!(get(proxy.addr, "/playlists/.x.m3u", &[]).status, 400);
    assert_eq!(get(proxy.addr, "/playlists/a%2Fb.xspf", &[]).status, 400);
    // A hostile Host header does not end up in the file.
    let evil = get(
        proxy.addr,
        "/playlists/Other.m3u",
        &[("Host", "x\"><script>")],
    );
    assert!(!evil.body_text().contains("script"));
}

#[test]
fn icy_0_never_inserts_blocks() {
    let len = 100_000;
    let origin = Origin::start();
    let proxy = Proxy::start();
    proxy.add(A, &origin.url(&format!("/audio/{len}")), "Artist", "Title");
    for path in [format!("/proxy/{A}/?icy=0"), format!("/proxy/{A}?icy=0")] {
        let reply = get(proxy.addr, &path, &[("Icy-MetaData", "1")]);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("icy-metaint"), None);
        assert_eq!(reply.header("icy-name"), Some("Artist - Title"));
        assert_eq!(reply.header("accept-ranges"), Some("bytes"));
        assert!(reply.body == audio_bytes(len));
    }
}

#[test]
fn cover_art_is_fetched_once_cached_and_bounded() {
    let origin = Origin::start();
    let cover = std::fs::read(fixture("cover.jpg")).expect("fixture");
    // Room for two covers, not three.
    let proxy = Proxy::start_with(&format!("[cover]\nmax_bytes = {}\n", cover.len() * 2 + 100));
    let thumb = origin.url("/file/cover.jpg");
    let refusing = dead_port();
    let dead = format!("http://127.0.0.1:{}/cover.jpg", refusing.port);
    add_full(&proxy, A, &origin.url("/audio/10"), "A", "T", Some(&thumb));
    add_full(&proxy, B, &origin.url("/audio/10"), "B", "T", None);

    let reply = get(proxy.addr, &format!("/proxy/{A}/cover.jpg"), &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("image/jpeg"));
    assert!(reply.body == cover);
    let again = get(proxy.addr, &format!("/proxy/{A}/cover.jpg"), &[]);
    assert!(again.body == cover);
    let head = request(proxy.addr, "HEAD", &format!("/proxy/{A}/cover.jpg"), &[]);
    assert_eq!(
        head.header("content-length"),
        Some(cover.len().to_string().as_str())
    );
    assert_eq!(
        origin.log.requests_for("/file/cover.jpg").len(),
        1,
        "fetched once"
    );

    // cover.png and other names: 404 at once, upstream untouched.
    let before = origin.requests();
    for name in ["cover.png", "folder.jpg", "x"] {
        let started = Instant::now();
        assert_eq!(
            get(proxy.addr, &format!("/proxy/{A}/{name}"), &[]).status,
            404
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    assert_eq!(origin.requests(), before);

    // No thumbnail, an unknown id, a dead thumbnail host, a cut download: 404.
    assert_eq!(
        get(proxy.addr, &format!("/proxy/{B}/cover.jpg"), &[]).status,
        404
    );
    assert_eq!(
        get(proxy.addr, "/proxy/ccccccccccc/cover.jpg", &[]).status,
        404
    );
    add_full(&proxy, B, &origin.url("/audio/10"), "B", "T", Some(&dead));
    assert_eq!(
        get(proxy.addr, &format!("/proxy/{B}/cover.jpg"), &[]).status,
        404
    );
    let cut = origin.url("/file/cover.jpg?drop_after=1000");
    add_full(&proxy, B, &origin.url("/audio/10"), "B", "T", Some(&cut));
    assert_eq!(
        get(proxy.addr, &format!("/proxy/{B}/cover.jpg"), &[]).status,
        404
    );
    let cache = proxy.config.cover.cache_dir.clone();
    assert!(!cached(&cache, B), "a partial download was cached");

    // Three covers into room for two: the oldest goes.
    for (i, id) in ["ddddddddddd", "eeeeeeeeeee"].into_iter().enumerate() {
        std::thread::sleep(Duration::from_millis(20));
        let url = origin.url(&format!("/file/cover.jpg?n={i}"));
        add_full(&proxy, id, &origin.url("/audio/10"), "X", "T", Some(&url));
        assert_eq!(
            get(proxy.addr, &format!("/proxy/{id}/cover.jpg"), &[]).status,
            200
        );
    }
    let total: u64 = std::fs::read_dir(&cache)
        .expect("cache dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "img"))
        .map(|e| e.metadata().expect("meta").len())
        .sum();
    assert!(
        total <= cover.len() as u64 * 2 + 100,
        "cache holds {total} bytes"
    );
    assert!(!cached(&cache, A), "the oldest was not evicted");
}

#[test]
fn concurrent_cover_requests_fetch_once() {
    let origin = Origin::start();
    let proxy = Proxy::start();
    let slow = origin.url("/file/cover.jpg?delay_ms=300");
    add_full(&proxy, A, &origin.url("/audio/10"), "A", "T", Some(&slow));
    let cover = std::fs::read(fixture("cover.jpg")).expect("fixture");
    let addr = proxy.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || get(addr, &format!("/proxy/{A}/cover.jpg"), &[])))
        .collect();
    for c in clients {
        let reply = c.join().expect("client");
        assert_eq!(reply.status, 200);
        assert!(reply.body == cover);
    }
    assert_eq!(
        origin.log.requests_for("delay_ms=300").len(),
        1,
        "fetched more than once"
    );
}

#[test]
fn cover_art_does_not_wait_for_a_stream_slot() {
    let origin = Origin::start();
    let proxy = Proxy::start_with("[server]\nworkers = 1\n");
    add_full(
        &proxy,
        A,
        &origin.url("/audio/1000000?stall_after=1000&stall_ms=3000"),
        "A",
        "T",
        Some(&origin.url("/file/cover.jpg")),
    );
    let mut s = connect(proxy.addr);
    std::io::Write::write_all(
        &mut s,
        format!("GET /proxy/{A}/ HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .expect("send");
    assert!(wait_until(
        Duration::from_secs(2),
        || health(proxy.addr)["active_streams"] == 1
    ));
    let started = Instant::now();
    assert_eq!(
        get(proxy.addr, &format!("/proxy/{A}/cover.jpg"), &[]).status,
        200
    );
    // Not after the stream's 3 s stall: art never waits on a stream.
    assert!(started.elapsed() < Duration::from_millis(1500));
}

/// Parses Prometheus text into `name{labels}` -> value, checking every
/// sample line has the right shape and every metric a TYPE line.
fn parse_metrics(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            typed.push(parts.next().expect("name").to_owned());
            assert!(matches!(parts.next(), Some("counter" | "gauge")), "{line}");
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').expect("sample line");
        let name = key.split('{').next().expect("name");
        assert!(typed.iter().any(|t| t == name), "no TYPE for {name}");
        samples.insert(key.to_owned(), value.parse().expect("numeric value"));
    }
    samples
}

#[test]
fn metrics_count_what_happened() {
    let len = 50_000;
    let origin = Origin::start();
    let proxy = Proxy::start();
    proxy.add(A, &origin.url(&format!("/audio/{len}?fail5xx=1")), "A", "T");
    assert_eq!(get(proxy.addr, &format!("/proxy/{A}"), &[]).status, 200);
    assert_eq!(get(proxy.addr, "/proxy/short", &[]).status, 400);
    assert_eq!(get(proxy.addr, &format!("/proxy/{B}"), &[]).status, 404);
    // A request is counted just after its answer is sent: poll briefly.
    let fetches = std::cell::Cell::new(0.0);
    let fetch = || {
        fetches.set(fetches.get() + 1.0);
        let reply = get(proxy.addr, "/metrics", &[]);
        assert_eq!(reply.status, 200);
        assert!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/plain"))
        );
        parse_metrics(&reply.body_text())
    };
    // The 400 is answered (and then counted) on a thread of its own, so it
    // may be counted after the 404 that was sent later: wait for both.
    assert!(wait_until(Duration::from_secs(10), || {
        let m = fetch();
        m.get("icyproxy_requests_total{status=\"404\"}") == Some(&1.0)
            && m.get("icyproxy_requests_total{status=\"400\"}") == Some(&1.0)
    }));
    // The stream, and every /metrics answered before this one (the one
    // just before may be counted a moment after its answer arrived).
    let mut m = fetch();
    assert!(wait_until(Duration::from_secs(10), || {
        m = fetch();
        m["icyproxy_requests_total{status=\"200\"}"] == fetches.get()
    }));
    assert_eq!(m["icyproxy_requests_total{status=\"400\"}"], 1.0);
    assert_eq!(m["icyproxy_requests_total{status=\"404\"}"], 1.0);
    assert_eq!(m["icyproxy_active_streams"], 0.0);
    assert!(m["icyproxy_bytes_sent_total"] >= len as f64);
    assert_eq!(m["icyproxy_upstream_retries_total"], 1.0);
    assert_eq!(m["icyproxy_resolver_ids_total"], 0.0);
    assert_eq!(m["icyproxy_resolver_failures_total"], 0.0);
    assert_eq!(m["icyproxy_url_refreshes_total"], 0.0);
}
