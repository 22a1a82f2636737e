//! yt-dlp's failures, named: a stand-in (`tests/fixtures/fake-ytdlp`) that
//! prints yt-dlp's real error lines, run by the real server for a real
//! request; each cause and its fix must reach the access log line, the 502
//! body, `/health` and `/metrics`. And warming's answer to a rate limit.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::common::*;
use icyproxy::app::warm::Warmer;
use icyproxy::config::Config;
use icyproxy::video_id::VideoId;

const WAIT: Duration = Duration::from_secs(30);

/// `[resolver] command` running the stand-in with its mode read from
/// `mode_file` on every run, and its calls logged to `calls`.
fn resolver(mode_file: &Path, calls: &Path, base: &str) -> String {
    format!(
        "[resolver]\ncommand = [{:?}, \"mode=@{}\", \"calls={}\", \"base={base}\", \"--no-warnings\", \
         \"-f\", \"bestaudio\", \"-j\", \"https://music.youtube.com/watch?v={{video_id}}\"]\n",
        fixture("fake-ytdlp").display().to_string(),
        mode_file.display(),
        calls.display(),
    )
}

/// Every class: the stand-in's mode, the class's name (metrics, /health),
/// its words, and a piece of its fix.
const CLASSES: [(&str, &str, &str, &str); 7] = [
    (
        "bot",
        "bot_check",
        "YouTube's bot check",
        "set [resolver] cookies_file",
    ),
    (
        "ratelimit",
        "rate_limited",
        "YouTube's rate limit",
        "about 300 videos an hour",
    ),
    (
        "private",
        "unavailable",
        "video unavailable",
        "it is not retried",
    ),
    ("age", "unavailable", "video unavailable", "age-restricted"),
    (
        "nojs",
        "no_js_runtime",
        "no JavaScript runtime for yt-dlp",
        "install deno",
    ),
    (
        "outdated",
        "outdated",
        "yt-dlp too old for YouTube",
        "upgrade it (",
    ),
    (
        "network",
        "network",
        "YouTube unreachable",
        "network and DNS",
    ),
];

#[test]
fn every_class_reaches_the_log_line_the_502_body_health_and_metrics() {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let (mode_file, calls) = (dir.path().join("mode"), dir.path().join("calls"));
    let mut served = Served::start(
        &resolver(&mode_file, &calls, &origin.url("/audio/100000")),
        &[],
    );
    let first = health(served.addr);
    assert_eq!(first["resolver"]["last_failure"], serde_json::Value::Null);
    for (i, (mode, name, label, fix)) in CLASSES.iter().enumerate() {
        std::fs::write(&mode_file, mode).expect("mode");
        let id = format!("errClass{i:03}");
        let reply = get(served.addr, &format!("/proxy/{id}/"), &[]);
        let body = reply.body_text();
        assert_eq!(reply.status, 502, "{mode}: {body}");
        assert!(body.contains(label) && body.contains(fix), "{mode}: {body}");
        assert!(body.contains("(fix: "), "{mode}: {body}");
        let line = served
            .wait_for_line(WAIT, |l| l.contains(&format!("\"GET /proxy/{id}/\" 502")))
            .unwrap_or_else(|| panic!("{mode}: no access line"));
        assert!(line.contains(label) && line.contains(fix), "{mode}: {line}");
        let resolver = &health(served.addr)["resolver"];
        assert_eq!(resolver["cause"], *name, "{mode}: {resolver}");
        let said = resolver["last_failure"].as_str().unwrap_or("");
        assert!(said.contains(&id) && said.contains(label), "{resolver}");
        assert!(
            resolver["fix"].as_str().is_some_and(|f| f.contains(fix)),
            "{resolver}"
        );
        assert!(
            resolver["at"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{resolver}"
        );
    }
    let metrics = get(served.addr, "/metrics", &[]).body_text();
    for (name, count) in [
        ("bot_check", 1),
        ("rate_limited", 1),
        ("unavailable", 2),
        ("no_js_runtime", 1),
        ("outdated", 1),
        ("network", 1),
        ("other", 0),
        ("timed_out", 0),
        ("not_found", 0),
    ] {
        let line = format!("icyproxy_resolver_failures_by_cause_total{{cause=\"{name}\"}} {count}");
        assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
    }
    assert!(
        metrics.contains("icyproxy_resolver_ids_total 7\n"),
        "{metrics}"
    );
}

#[test]
fn the_stand_in_prints_the_texts_the_classifier_names() {
    // The stand-in's lines are the table's: each mode, run by hand, is
    // classified as the server classified it above.
    use icyproxy::catalog::ytdlp_error::{Class, classify};
    for (mode, name, _, _) in CLASSES {
        let out = std::process::Command::new(fixture("fake-ytdlp"))
            .args([&format!("mode={mode}"), "-j", "dQw4w9WgXcQ"])
            .output()
            .expect("run the stand-in");
        assert_eq!(out.status.code(), Some(1));
        let class = classify(&String::from_utf8_lossy(&out.stderr), out.status.code());
        assert_eq!(class.name(), name, "{mode}");
        assert_ne!(class, Class::Other);
    }
}

/// The warming thread with the stand-in as its resolver.
fn warmer_with(mode_file: &Path, calls: &Path) -> (Warmer, Arc<AtomicBool>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[store]\npath = {:?}\n{}",
        dir.path().join("t.db").display().to_string(),
        resolver(mode_file, calls, "http://127.0.0.1:1/a"),
    );
    let config = Config::from_toml(&text, None).expect("config");
    let started = start_warmer(&config);
    (started.warmer, started.stopping, dir)
}

fn ids(names: &[&str]) -> Vec<VideoId> {
    names
        .iter()
        .map(|n| VideoId::parse(n).expect("id"))
        .collect()
}

fn runs(calls: &Path) -> Vec<String> {
    std::fs::read_to_string(calls)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_rate_limit_pauses_warming_and_new_ids_wait() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mode_file, calls) = (dir.path().join("mode"), dir.path().join("calls"));
    // Control: after an ordinary failure, a new id in the window is
    // resolved at once.
    std::fs::write(&mode_file, "other").expect("mode");
    let (warmer, stopping, _db) = warmer_with(&mode_file, &calls);
    warmer.set_window(ids(&["aaaaaaaaaa1"]));
    assert!(wait_until(WAIT, || runs(&calls).len() == 1));
    warmer.set_window(ids(&["aaaaaaaaaa1", "aaaaaaaaaa2"]));
    assert!(
        wait_until(WAIT, || runs(&calls).len() == 2),
        "{:?}",
        runs(&calls)
    );
    assert!(!warmer.paused());
    stopping.store(true, std::sync::atomic::Ordering::SeqCst);

    // A rate limit: paused, and a new id is not resolved.
    std::fs::remove_file(&calls).expect("rm");
    std::fs::write(&mode_file, "ratelimit").expect("mode");
    let (warmer, stopping, _db) = warmer_with(&mode_file, &calls);
    warmer.set_window(ids(&["bbbbbbbbbb1"]));
    assert!(wait_until(WAIT, || warmer.paused()), "{:?}", runs(&calls));
    assert_eq!(runs(&calls), ["ratelimit bbbbbbbbbb1"]);
    std::fs::write(&mode_file, "ok").expect("mode");
    warmer.set_window(ids(&["bbbbbbbbbb1", "bbbbbbbbbb2"]));
    // The control resolved its new id well within this.
    assert!(
        !wait_until(Duration::from_secs(3), || runs(&calls).len() > 1),
        "warming went on: {:?}",
        runs(&calls)
    );
    assert!(warmer.paused());
    stopping.store(true, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn an_unavailable_id_is_not_warmed_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mode_file, calls) = (dir.path().join("mode"), dir.path().join("calls"));
    std::fs::write(&mode_file, "private").expect("mode");
    let (warmer, stopping, _db) = warmer_with(&mode_file, &calls);
    warmer.set_window(ids(&["ccccccccccc"]));
    assert!(wait_until(WAIT, || runs(&calls).len() == 1));
    // A new window with it and a new id: only the new one is resolved.
    std::fs::write(&mode_file, "ok").expect("mode");
    warmer.set_window(ids(&["ccccccccccc", "ccccccccccd"]));
    assert!(wait_until(WAIT, || runs(&calls).len() == 2));
    assert_eq!(runs(&calls)[1], "ok ccccccccccd", "{:?}", runs(&calls));
    assert!(!warmer.paused());
    stopping.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// `search`, `radio` and `playlist import` say a yt-dlp failure as the
/// server does: its cause named and the fix, each once.
#[test]
fn every_command_says_a_failure_classified_with_its_fix_once() {
    let music = crate::common::music::Music::new();
    let line = "ERROR: [youtube:tab] x: Unable to download API page: [Errno -3] Temporary \
                failure in name resolution (caused by TransportError('[Errno -3] Temporary \
                failure in name resolution'))";
    for key in ["search", "RDAMVMseedsong001", "PLnet"] {
        std::fs::write(music.dir.join(format!("{key}.fail")), line).expect("fail file");
    }
    let env = crate::common::env(&music.resolver("json", "http://127.0.0.1:9/a", ""));
    for args in [
        &["search", "daft punk"][..],
        &["radio", "seedsong001"],
        &[
            "playlist",
            "import",
            "https://music.youtube.com/playlist?list=PLnet",
        ],
    ] {
        let o = crate::common::icyproxy(&env, args, None);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let said = crate::common::stderr(&o);
        assert_eq!(
            said.matches("YouTube unreachable").count(),
            1,
            "{args:?}: {said}"
        );
        assert_eq!(
            said.matches("check this machine's network and DNS").count(),
            1,
            "{args:?}: {said}"
        );
    }
    // A failure the classifier does not know keeps yt-dlp's own words.
    let url = "https://music.youtube.com/playlist?list=PLnone";
    let o = crate::common::icyproxy(&env, &["playlist", "import", url], None);
    let said = crate::common::stderr(&o);
    assert!(said.contains("The playlist does not exist"), "{said}");
    assert!(!said.contains("resolver failed"), "{said}");
}

/// `curl -I` of a failing id: `HEAD` has no body, so the reason comes in
/// `X-Icyproxy-Error` (the cause's name), on `GET` too.
#[test]
fn a_failing_head_says_why_in_a_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mode = dir.path().join("mode");
    std::fs::write(&mode, "bot").expect("mode");
    let calls = dir.path().join("calls");
    let proxy = Proxy::start_with(&resolver(&mode, &calls, "http://127.0.0.1:9/a"));
    let head = request(proxy.addr, "HEAD", "/proxy/dQw4w9WgXcQ/", &[]);
    assert_eq!(head.status, 502);
    assert_eq!(head.header("x-icyproxy-error"), Some("YouTube's bot check"));
    let get = get(proxy.addr, "/proxy/dQw4w9WgXcQ/", &[]);
    assert_eq!(get.header("x-icyproxy-error"), Some("YouTube's bot check"));
    let missing = crate::common::get(proxy.addr, "/nowhere", &[]);
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .header("x-icyproxy-error")
            .is_some_and(|r| r.starts_with("not found"))
    );
}
