//! Unknown ids cannot make the proxy run the resolver without limit: at
//! most `[resolver] max_running` runs at once (counted by the stand-in
//! resolver itself), a stored track streams during a flood of unknown
//! ids, a request that finds no slot in time gets 503 with Retry-After,
//! and asking again for an id that just failed runs nothing.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;

const STORED: &str = "dQw4w9WgXcQ";

/// The most runs that overlapped, from the `start T` / `end T` lines the
/// stand-in resolver wrote.
fn most_at_once(spans: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(spans).unwrap_or_default();
    let mut events: Vec<(u128, i32)> = text
        .lines()
        .filter_map(|l| {
            let (kind, t) = l.split_once(' ')?;
            let t: u128 = t.trim().parse().ok()?;
            Some((t, if kind == "start" { 1 } else { -1 }))
        })
        .collect();
    // An end before a start at the same instant.
    events.sort();
    let (mut now, mut most, mut runs) = (0i32, 0i32, 0);
    for (_, change) in events {
        now += change;
        most = most.max(now);
        runs += usize::from(change > 0);
    }
    (most as usize, runs)
}

fn metric(addr: std::net::SocketAddr, name: &str) -> u64 {
    get(addr, "/metrics", &[])
        .body_text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[test]
fn a_flood_of_failing_unknown_ids_runs_two_at_a_time_and_stored_tracks_still_stream() {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls");
    let spans = dir.path().join("calls.spans");
    let resolver = fake_resolver("slowfail", &calls, &origin.url("/audio/10"));
    let proxy = Proxy::start_with(&format!("{resolver}slot_wait_secs = 3\n"));
    let len = 400_000;
    proxy.add(STORED, &origin.url(&format!("/audio/{len}")), "A", "T");
    assert_eq!(metric(proxy.addr, "icyproxy_resolver_slots"), 2);

    let addr = proxy.addr;
    let flood: Vec<_> = (0..40)
        .map(|i| {
            thread::spawn(move || {
                let method = if i % 2 == 0 { "GET" } else { "HEAD" };
                let reply = request(addr, method, &format!("/proxy/flood{i:06}/"), &[]);
                (reply.status, reply.header("Retry-After").map(str::to_owned))
            })
        })
        .collect();
    // The flood is under way once the resolver has started.
    assert!(
        wait_until(Duration::from_secs(20), || most_at_once(&spans).1 > 0),
        "the resolver never started"
    );
    let asked = Instant::now();
    let reply = get(addr, &format!("/proxy/{STORED}/"), &[]);
    let took = asked.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.body_text());
    assert_eq!(reply.body, audio_bytes(len));
    assert!(took < Duration::from_secs(2), "stored track took {took:?}");
    assert!(metric(addr, "icyproxy_resolver_running") <= 2);

    let answers: Vec<(u16, Option<String>)> = flood
        .into_iter()
        .map(|t| t.join().expect("flood thread"))
        .collect();
    let (most, runs) = most_at_once(&spans);
    let busy = answers.iter().filter(|(s, _)| *s == 503).count();
    eprintln!(
        "40 unknown ids: {runs} resolver runs, at most {most} at once; \
         {busy} answered 503; stored track 200 in {took:?}"
    );
    assert!(most <= 2, "{most} resolver runs at once");
    assert!(runs >= 1);
    for (status, retry_after) in &answers {
        assert!([502, 503].contains(status), "{answers:?}");
        if *status == 503 {
            assert!(retry_after.is_some(), "503 without Retry-After");
        }
    }
    assert!(answers.iter().any(|(s, _)| *s == 502), "{answers:?}");
    assert!(metric(addr, "icyproxy_resolver_busy_total") >= busy as u64 / 2);

    // An id that failed a moment ago: the same cause, no new run.
    let failed = std::fs::read_to_string(&calls).expect("calls");
    let id = failed
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().next())
        .expect("a run")
        .to_owned();
    let before = failed.lines().count();
    for method in ["GET", "HEAD", "GET"] {
        let reply = request(addr, method, &format!("/proxy/{id}/"), &[]);
        assert_eq!(reply.status, 502, "{method}");
        assert!(reply.header("Retry-After").is_some());
        if method == "GET" {
            let text = reply.body_text();
            assert!(
                text.contains("Video unavailable") && text.contains("next try in"),
                "{text}"
            );
        }
    }
    let after = std::fs::read_to_string(&calls).expect("calls");
    assert_eq!(after.lines().count(), before, "a failed id ran again");
    assert!(metric(addr, "icyproxy_resolver_recalled_failures_total") >= 3);
    assert_eq!(metric(addr, "icyproxy_resolver_running"), 0);
}
