//! Warming the tracks MPD will play next: the real warming thread, the
//! real resolver subprocess (tests/fixtures/fake-resolver, which logs the
//! ids of each run), a real SQLite store and a real origin. The window is
//! given by hand here; tests/it/mpd.rs gives it through a real MPD's queue.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::common::*;
use icyproxy::app::warm::Warmer;
use icyproxy::catalog::model::NewTrack;
use icyproxy::catalog::store::TrackStore;
use icyproxy::config::Config;
use icyproxy::metrics::Metrics;
use icyproxy::video_id::VideoId;

const WAIT: Duration = Duration::from_secs(20);

struct World {
    origin: Origin,
    config: Config,
    calls: PathBuf,
    metrics: Arc<Metrics>,
    warmer: Warmer,
    stopping: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl Drop for World {
    fn drop(&mut self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn world(mode: &str, extra: &str) -> World {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls.log");
    let text = format!(
        "[store]\npath = {:?}\n{}{extra}",
        dir.path().join("t.db").display().to_string(),
        fake_resolver(mode, &calls, &origin.url("/audio/1000")),
    );
    let config = Config::from_toml(&text, None).expect("config");
    let StartedWarmer {
        warmer,
        metrics,
        stopping,
    } = start_warmer(&config);
    World {
        origin,
        config,
        calls,
        metrics,
        warmer,
        stopping,
        _dir: dir,
    }
}

impl World {
    /// One line per resolver run: the ids it was given.
    fn runs(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let mut words: Vec<String> = l.split_whitespace().map(str::to_owned).collect();
                words.pop(); // the pid
                words
            })
            .collect()
    }

    fn store(&self) -> TrackStore {
        TrackStore::open(&self.config.store.path).expect("store")
    }

    fn url_of(&self, id: &str) -> Option<String> {
        let id = VideoId::parse(id).expect("id");
        self.store()
            .get(&id)
            .expect("get")
            .and_then(|t| t.stream_url)
    }
}

fn ids(list: &[&str]) -> Vec<VideoId> {
    list.iter()
        .map(|i| VideoId::parse(i).expect("id"))
        .collect()
}

const SIX: [&str; 6] = [
    "warmTrack01",
    "warmTrack02",
    "warmTrack03",
    "warmTrack04",
    "warmTrack05",
    "warmTrack06",
];

#[test]
fn a_window_is_resolved_in_one_run_and_reported_warm() {
    let w = world("json", "");
    w.warmer.set_window(ids(&SIX));
    assert!(
        wait_until(WAIT, || w.warmer.warm_tracks() == 6),
        "warm: {}, runs: {:?}",
        w.warmer.warm_tracks(),
        w.runs()
    );
    assert_eq!(
        w.runs(),
        [SIX.map(str::to_owned).to_vec()],
        "one run, all six ids"
    );
    for id in SIX {
        assert!(w.url_of(id).is_some_and(|u| u.contains("gen=1")), "{id}");
    }
    // Already warm: a new window with the same ids runs nothing.
    w.warmer.set_window(ids(&SIX[..3]));
    assert!(wait_until(WAIT, || w.warmer.warm_tracks() == 3));
    assert_eq!(w.runs().len(), 1);
    let text = w.metrics.render();
    assert!(
        text.contains("icyproxy_resolver_batch_ids_total 6\n"),
        "{text}"
    );
    assert!(text.contains("icyproxy_warm_resolves_total 6\n"), "{text}");
}

#[test]
fn batches_are_at_most_batch_size_and_a_failing_id_waits_its_turn() {
    let w = world("missing", "batch_size = 4\n");
    w.warmer.set_window(ids(&SIX));
    // Two runs (4 + 2); the first id of each fails, like yt-dlp's private videos.
    assert!(
        wait_until(WAIT, || w.warmer.warm_tracks() == 4),
        "warm: {}, runs: {:?}",
        w.warmer.warm_tracks(),
        w.runs()
    );
    let runs = w.runs();
    assert_eq!(
        runs[0],
        SIX[..4].iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(
        runs[1],
        SIX[4..].iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    assert!(w.url_of(SIX[0]).is_none() && w.url_of(SIX[4]).is_none());
    assert!(w.url_of(SIX[1]).is_some() && w.url_of(SIX[5]).is_some());
    // The same window again: the failed ids wait (a minute at least).
    w.warmer.set_window(ids(&SIX));
    w.warmer.set_window(ids(&SIX[..2]));
    assert!(wait_until(WAIT, || w.warmer.warm_tracks() == 1));
    assert_eq!(w.runs().len(), 2, "{:?}", w.runs());
}

#[test]
fn a_url_about_to_expire_is_refreshed_before_anyone_asks_and_art_is_fetched() {
    let w = world("json", "refresh_margin_secs = 30\n");
    let soon = unix_now() + 40;
    let mut store = w.store();
    let track = NewTrack::new(
        SIX[0],
        &w.origin.url(&format!("/audio/1000?expire={soon}")),
        "Artist",
        "Title",
    )
    .expect("track")
    .with_thumbnail(&w.origin.url("/file/cover.jpg"))
    .expect("thumb");
    store.upsert(&track).expect("upsert");
    w.warmer.set_window(ids(&SIX[..1]));
    assert!(
        wait_until(WAIT, || w
            .url_of(SIX[0])
            .is_some_and(|u| u.contains("gen=1"))),
        "not refreshed: {:?}",
        w.url_of(SIX[0])
    );
    assert!(wait_until(WAIT, || w.warmer.warm_tracks() == 1));
    // Refreshed with the stored tags kept, and the art in the cache.
    let t = store
        .get(&VideoId::parse(SIX[0]).expect("id"))
        .expect("get")
        .expect("row");
    assert_eq!(
        (t.tags.artist.as_str(), t.tags.title.as_str()),
        ("Artist", "Title")
    );
    assert_eq!(w.origin.log.requests_for("cover.jpg").len(), 1);
    assert!(
        w.origin.log.requests_for("/audio/").is_empty(),
        "warming fetched audio"
    );
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
