//! Stream URL lifecycle over real sockets with a real resolver subprocess
//! (tests/fixtures/fake-resolver): resolving unknown ids, refreshing
//! expiring URLs, retries, resuming dropped and stalled connections.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::*;
use icyproxy::catalog::store::TrackStore;
use icyproxy::video_id::VideoId;

const ID: &str = "dQw4w9WgXcQ";
const NEW: &str = "newTrack_01";

/// The proxy with the fake resolver in `mode`, handing out URLs of
/// `origin_path` on `origin`. `extra` is appended right after the
/// `[resolver] command` line: bare keys land in `[resolver]`.
struct Setup {
    origin: Origin,
    proxy: Proxy,
    calls: PathBuf,
    _dir: tempfile::TempDir,
}

fn setup(mode: &str, origin_path: &str, extra: &str) -> Setup {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls.log");
    let command = fake_resolver(mode, &calls, &origin.url(origin_path));
    let proxy = Proxy::start_with(&format!("{command}{extra}"));
    Setup {
        origin,
        proxy,
        calls,
        _dir: dir,
    }
}

impl Setup {
    /// Lines the resolver wrote: one per run, `VIDEO_ID PID`.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn stored(&self, id: &str) -> Option<icyproxy::catalog::model::Track> {
        TrackStore::open(&self.proxy.db_path)
            .expect("open")
            .get(&VideoId::parse(id).expect("id"))
            .expect("get")
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[test]
fn an_unknown_id_is_resolved_stored_and_streamed() {
    let len = 700_000;
    let s = setup("json", &format!("/audio/{len}"), "");
    let reply = get(s.proxy.addr, &format!("/proxy/{NEW}/"), &[]);
    assert_eq!(reply.status, 200, "{}", reply.body_text());
    assert!(reply.body == audio_bytes(len));
    assert_eq!(
        reply.header("icy-name"),
        Some("Resolved Artist - Resolved Track")
    );
    let track = s.stored(NEW).expect("stored");
    assert_eq!(
        (track.tags.artist.as_str(), track.tags.title.as_str()),
        ("Resolved Artist", "Resolved Track")
    );
    assert_eq!(track.tags.duration_secs, Some(212));
    assert!(track.expires_at.expect("expire= kept") > now() as i64 + 21000);
    assert_eq!(s.calls().len(), 1);
    let again = get(
        s.proxy.addr,
        &format!("/proxy/{NEW}"),
        &[("Icy-MetaData", "1")],
    );
    let (audio, metas) = split_icy(&again.body, 16000);
    assert!(audio == audio_bytes(len));
    assert_eq!(
        stream_title(&metas[0]).as_deref(),
        Some("Resolved Artist - Resolved Track")
    );
    assert_eq!(s.calls().len(), 1, "a stored track is not resolved again");
    // HEAD of another unknown id resolves too.
    let head = request(s.proxy.addr, "HEAD", "/proxy/anotherOne1/", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(s.calls().len(), 2);
}

#[test]
fn plain_text_resolver_output_is_a_url() {
    let s = setup("plain", "/audio/1000", "");
    let reply = get(s.proxy.addr, &format!("/proxy/{NEW}"), &[]);
    assert_eq!(reply.status, 200);
    assert!(reply.body == audio_bytes(1000));
    assert_eq!(
        reply.header("icy-name"),
        Some(NEW),
        "no title: the id stands in"
    );
}

#[test]
fn expired_and_expiring_urls_are_refreshed_before_streaming() {
    let len = 300_000;
    let s = setup("json", &format!("/audio/{len}"), "");
    let cases = [
        format!("/audio/{len}?case=past&expire={}", now() - 10),
        format!("/audio/{len}?case=soon&expire={}", now() + 100), // inside the 300 s margin
    ];
    for (i, old) in cases.iter().enumerate() {
        s.proxy
            .add(ID, &s.origin.url(old), "Stored Artist", "Stored Title");
        let reply = get(s.proxy.addr, &format!("/proxy/{ID}/"), &[]);
        assert_eq!(reply.status, 200, "{old}");
        assert!(reply.body == audio_bytes(len), "{old}");
        assert_eq!(s.calls().len(), i + 1, "{old}");
        assert!(
            s.origin.log.requests_for(old).is_empty(),
            "the old URL was fetched: {old}"
        );
        let track = s.stored(ID).expect("stored");
        assert!(
            track.stream_url.is_some_and(|u| u.contains("gen=")),
            "new URL stored"
        );
        assert_eq!(
            track.tags.title, "Stored Title",
            "stored tags survive a refresh"
        );
        assert_eq!(
            reply.header("icy-name"),
            Some("Stored Artist - Stored Title")
        );
    }
    // A URL with plenty of time left is used as it is.
    let fresh = format!("/audio/{len}?case=fresh&expire={}", now() + 3600);
    s.proxy.add(ID, &s.origin.url(&fresh), "A", "T");
    assert_eq!(get(s.proxy.addr, &format!("/proxy/{ID}"), &[]).status, 200);
    assert_eq!(s.calls().len(), 2);
    assert_eq!(s.origin.log.requests_for(&fresh).len(), 1);
}

#[test]
fn a_url_without_expire_is_refreshed_once_old() {
    let s = setup("json", "/audio/5000", "max_age_secs = 600\n");
    s.proxy
        .add(ID, &s.origin.url("/audio/5000?case=noexpire"), "A", "T");
    assert_eq!(get(s.proxy.addr, &format!("/proxy/{ID}"), &[]).status, 200);
    assert_eq!(s.calls().len(), 0, "young enough");
    let conn = rusqlite::Connection::open(&s.proxy.db_path).expect("open");
    conn.execute("UPDATE tracks SET updated_at = updated_at - 601", [])
        .expect("age the row");
    let reply = get(s.proxy.addr, &format!("/proxy/{ID}"), &[]);
    assert!(reply.body == audio_bytes(5000));
    assert_eq!(s.calls().len(), 1);
}

#[test]
fn forbidden_upstream_refreshes_once_then_streams_or_gives_502() {
    let len = 400_000;
    let s = setup("json", &format!("/audio/{len}"), "");
    s.proxy
        .add(ID, &s.origin.url(&format!("/audio/{len}?deny=1")), "A", "T");
    for icy in ["0", "1"] {
        let reply = get(
            s.proxy.addr,
            &format!("/proxy/{ID}"),
            &[("Icy-MetaData", icy)],
        );
        assert_eq!(reply.status, 200);
        let audio = if icy == "1" {
            split_icy(&reply.body, 16000).0
        } else {
            reply.body.clone()
        };
        assert!(audio == audio_bytes(len));
    }
    assert_eq!(s.calls().len(), 1);

    let s = setup("deny", &format!("/audio/{len}"), "");
    s.proxy
        .add(ID, &s.origin.url(&format!("/audio/{len}?deny=1")), "A", "T");
    let reply = get(s.proxy.addr, &format!("/proxy/{ID}"), &[]);
    assert_eq!(reply.status, 502);
    assert!(reply.body_text().contains("403"));
    assert_eq!(s.calls().len(), 1, "refreshed once, not in a loop");
}

#[test]
fn without_a_resolver_forbidden_is_502_and_unknown_is_404() {
    let origin = Origin::start();
    let proxy = Proxy::start();
    proxy.add(ID, &origin.url("/audio/10?deny=1"), "A", "T");
    assert_eq!(get(proxy.addr, &format!("/proxy/{ID}"), &[]).status, 502);
    assert_eq!(get(proxy.addr, &format!("/proxy/{NEW}"), &[]).status, 404);
}

#[test]
fn a_body_of_many_chunks_is_joined_seamlessly() {
    let len = 3_000_000;
    let chunk = 262_144;
    let s = setup(
        "json",
        "/audio/1",
        &format!("[upstream]\nchunk_bytes = {chunk}\n"),
    );
    let path = format!("/audio/{len}?case=chunks");
    s.proxy.add(ID, &s.origin.url(&path), "A", "T");
    let reply = get(
        s.proxy.addr,
        &format!("/proxy/{ID}"),
        &[("Icy-MetaData", "1")],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-length").map(str::to_owned),
        Some(reply.body.len().to_string())
    );
    let (audio, _) = split_icy(&reply.body, 16000);
    assert!(audio == audio_bytes(len));
    let requests = s.origin.log.requests_for(&path);
    assert_eq!(requests.len(), len.div_ceil(chunk), "{requests:#?}");
    for (i, line) in requests.iter().enumerate() {
        let start = i * chunk;
        let last = (start + chunk).min(len) - 1;
        assert!(line.ends_with(&format!("bytes={start}-{last}")), "{line}");
    }
    // A client range across several chunks maps onto them.
    let reply = get(
        s.proxy.addr,
        &format!("/proxy/{ID}"),
        &[("Range", "bytes=100000-1999999")],
    );
    assert_eq!(reply.status, 206);
    assert_eq!(
        reply.header("content-range"),
        Some(format!("bytes 100000-1999999/{len}").as_str())
    );
    assert!(reply.body == audio_bytes(len)[100_000..2_000_000]);
    let reply = get(
        s.proxy.addr,
        &format!("/proxy/{ID}"),
        &[("Range", "bytes=2900000-")],
    );
    assert_eq!(reply.status, 206);
    assert!(reply.body == audio_bytes(len)[2_900_000..]);
}

#[test]
fn dropped_connections_are_resumed_byte_exact() {
    let len = 1_500_000;
    let chunk = 262_144;
    let s = setup(
        "json",
        "/audio/1",
        &format!("[upstream]\nchunk_bytes = {chunk}\n"),
    );
    // (A drop exactly at a piece boundary looks like the next piece: no
    // resume to prove there.)
    for (i, at) in [1usize, 100_000, chunk + 1, 700_001, len - 1]
        .into_iter()
        .enumerate()
    {
        for icy in [false, true] {
            let path = format!("/audio/{len}?case=drop{i}{icy}&drop_at={at}");
            s.proxy.add(ID, &s.origin.url(&path), "A", "T");
            let headers: &[(&str, &str)] = if icy { &[("Icy-MetaData", "1")] } else { &[] };
            let reply = get(s.proxy.addr, &format!("/proxy/{ID}"), headers);
            assert_eq!(reply.status, 200);
            let audio = if icy {
                split_icy(&reply.body, 16000).0
            } else {
                reply.body.clone()
            };
            assert!(audio == audio_bytes(len), "drop at {at}, icy {icy}");
            let requests = s.origin.log.requests_for(&path);
            assert!(
                requests.iter().any(|l| l.contains(&format!("bytes={at}-"))),
                "no resume from byte {at}: {requests:#?}"
            );
        }
    }
    assert!(s.calls().is_empty(), "a drop needs no new URL");
}

#[test]
fn a_resume_that_meets_403_refreshes_the_url() {
    let len = 1_000_000;
    let s = setup(
        "json",
        &format!("/audio/{len}"),
        "[upstream]\nchunk_bytes = 262144\n",
    );
    let path = format!("/audio/{len}?case=expiring&drop_at=500000&deny_after_drop=1");
    s.proxy.add(ID, &s.origin.url(&path), "A", "T");
    let reply = get(
        s.proxy.addr,
        &format!("/proxy/{ID}"),
        &[("Icy-MetaData", "1")],
    );
    let (audio, _) = split_icy(&reply.body, 16000);
    assert!(audio == audio_bytes(len));
    assert_eq!(s.calls().len(), 1);
    let fresh = s.origin.log.requests_for("gen=1");
    assert!(
        fresh.first().is_some_and(|l| l.contains("bytes=500000-")),
        "{fresh:#?}"
    );
}

#[test]
fn a_stalled_connection_is_resumed_after_the_read_timeout() {
    let len = 800_000;
    let s = setup(
        "json",
        "/audio/1",
        "[upstream]\nread_timeout_secs = 1\nchunk_bytes = 262144\n",
    );
    let path = format!("/audio/{len}?case=stall&stall_at=300000&stall_ms=4000");
    s.proxy.add(ID, &s.origin.url(&path), "A", "T");
    let started = Instant::now();
    let reply = get(s.proxy.addr, &format!("/proxy/{ID}"), &[]);
    let took = started.elapsed();
    assert!(reply.body == audio_bytes(len));
    assert!(
        took < Duration::from_secs(3),
        "resume waited for the stall: {took:?}"
    );
    assert!(
        s.origin
            .log
            .requests_for(&path)
            .iter()
            .any(|l| l.contains(" bytes=300000-"))
    );
}

#[test]
fn refused_and_5xx_before_the_first_byte_are_retried() {
    let len = 50_000;
    let s = setup("json", "/audio/1", "");
    // Refused: nothing listens; three retries with backoff, then 502.
    let dead = dead_port();
    s.proxy
        .add(ID, &format!("http://127.0.0.1:{}/x", dead.port), "A", "T");
    let started = Instant::now();
    assert_eq!(get(s.proxy.addr, &format!("/proxy/{ID}"), &[]).status, 502);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1750), "no retries: {took:?}");

    let path = format!("/audio/{len}?case=flaky&fail5xx=2");
    s.proxy.add(ID, &s.origin.url(&path), "A", "T");
    let reply = get(s.proxy.addr, &format!("/proxy/{ID}"), &[]);
    assert_eq!(reply.status, 200);
    assert!(reply.body == audio_bytes(len));
    assert_eq!(s.origin.log.requests_for(&path).len(), 3);

    let path = format!("/audio/{len}?case=down&fail5xx=100");
    s.proxy.add(ID, &s.origin.url(&path), "A", "T");
    let started = Instant::now();
    let reply = get(s.proxy.addr, &format!("/proxy/{ID}"), &[]);
    assert_eq!(reply.status, 502);
    assert_eq!(
        s.origin.log.requests_for(&path).len(),
        4,
        "1 try + 3 retries"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1750) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn concurrent_requests_share_one_resolver_run() {
    let len = 200_000;
    let s = setup("slow", &format!("/audio/{len}"), "");
    let addr = s.proxy.addr;
    let clients: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(move || get(addr, &format!("/proxy/{NEW}/"), &[])))
        .collect();
    for c in clients {
        let reply = c.join().expect("client thread");
        assert_eq!(reply.status, 200);
        assert!(reply.body == audio_bytes(len));
    }
    assert_eq!(
        s.calls().len(),
        1,
        "8 concurrent requests, one resolver run"
    );
}

#[test]
fn a_hanging_resolver_is_killed_at_its_timeout() {
    let s = setup("hang", "/audio/10", "timeout_secs = 1\n");
    let started = Instant::now();
    let reply = get(s.proxy.addr, &format!("/proxy/{NEW}"), &[]);
    let took = started.elapsed();
    assert_eq!(reply.status, 504);
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let calls = s.calls();
    let pid = calls[0].split_whitespace().nth(1).expect("pid");
    let alive = std::process::Command::new("kill")
        .args(["-0", pid])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("kill -0")
        .success();
    assert!(!alive, "resolver process {pid} still running");
    assert!(s.stored(NEW).is_none());
}

#[test]
fn resolver_failures_are_clear_and_store_nothing() {
    for (mode, want) in [
        ("garbage", "output"),
        ("ftp", "http:// or https://"),
        ("fail", "Video unavailable"),
    ] {
        let s = setup(mode, "/audio/10", "");
        let reply = get(s.proxy.addr, &format!("/proxy/{NEW}"), &[]);
        assert_eq!(reply.status, 502, "{mode}");
        assert!(
            reply.body_text().contains(want),
            "{mode}: {}",
            reply.body_text()
        );
        assert!(s.stored(NEW).is_none(), "{mode} stored something");
    }
    let proxy =
        Proxy::start_with("[resolver]\ncommand = [\"no-such-resolver-xyz\", \"{video_id}\"]\n");
    let reply = get(proxy.addr, &format!("/proxy/{NEW}"), &[]);
    assert_eq!(reply.status, 502);
    assert!(
        reply
            .body_text()
            .contains("resolver command not found: no-such-resolver-xyz")
    );
}

#[test]
fn the_resolve_command_stores_and_prints() {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls.log");
    let config = dir.path().join("proxy.toml");
    let write_config = |mode: &str| {
        let text = fake_resolver(mode, &calls, &origin.url("/audio/10")).to_string();
        std::fs::write(&config, text).expect("config");
    };
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_icyproxy"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .expect("run")
    };
    write_config("json");
    let o = run(&["resolve", NEW]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("artist\tResolved Artist\n") && out.contains("gen=1"),
        "{out}"
    );
    write_config("garbage");
    let o = run(&["resolve", "otherTrack1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("output"));
    let o = run(&["get", "otherTrack1"]);
    assert_eq!(o.status.code(), Some(1), "garbage stored nothing");
    let listed = run(&["list"]).stdout;
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 1);
}

/// A fresh URL YouTube makes wait (`available_at` 3 s ahead; the origin
/// refuses it until then): the request waits, no request reaches upstream
/// early, and every one carries the resolver's headers (User-Agent
/// included) but never its `Accept-Encoding`.
#[test]
fn available_at_is_waited_for_and_the_resolvers_headers_are_sent() {
    let s = setup("later", "/audio/30000", "");
    let started = Instant::now();
    let reply = get(s.proxy.addr, &format!("/proxy/{NEW}/"), &[]);
    let took = started.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.body_text());
    assert!(reply.body == audio_bytes(30_000));
    assert!(took >= Duration::from_secs(1), "did not wait: {took:?}");
    let agents = s.origin.log.agents.lock().expect("agents").clone();
    assert!(!agents.is_empty());
    for line in &agents {
        assert_eq!(line, "200 Mozilla/5.0 (icyproxy test) -", "{agents:?}");
    }
    // A request more than max_wait_secs ahead of available_at: 504 at once.
    let s = setup("later", "/audio/30000", "max_wait_secs = 1\n");
    let started = Instant::now();
    let reply = get(s.proxy.addr, &format!("/proxy/{NEW}/"), &[]);
    assert_eq!(reply.status, 504, "{}", reply.body_text());
    assert!(
        reply.body_text().contains("max_wait_secs"),
        "{}",
        reply.body_text()
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(s.origin.log.agents.lock().expect("agents").is_empty());
}

/// A server stop ends a request that waits for `available_at` at once,
/// with a 503 that says so (nothing timed out), and upstream is never asked.
#[test]
fn a_stop_ends_a_wait_for_available_at_with_503() {
    let s = setup("later", "/audio/30000", "");
    let addr = s.proxy.addr;
    let client = std::thread::spawn(move || get(addr, &format!("/proxy/{NEW}/"), &[]));
    std::thread::sleep(Duration::from_millis(1000));
    let Setup { proxy, origin, .. } = s;
    let took = proxy.stop();
    let reply = client.join().expect("client thread");
    assert_eq!(reply.status, 503, "{}", reply.body_text());
    assert_eq!(reply.body_text(), "server shutting down\n");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert!(origin.log.agents.lock().expect("agents").is_empty());
}
