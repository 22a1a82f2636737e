//! The audio cache on real files: a song streamed whole is kept and plays
//! again from disk (byte-exact, seekable, with ICY blocks) with no
//! upstream request and no resolver run; what is not read whole is never
//! kept; the bounds hold; a kill during a write leaves nothing half-served.

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use icyproxy::catalog::discover::LIKED_NAME;
use icyproxy::catalog::store::TrackStore;
use icyproxy::video_id::VideoId;

use crate::common::{
    Origin, Proxy, Served, audio_bytes, connect, fake_resolver, get, health, read_head, request,
    split_icy, stream_title, wait_until,
};

const ID: &str = "cAcHeSong01";
const LEN: usize = 300_000;
const LIMIT: Duration = Duration::from_secs(20);

/// `[cache]` in `dir`, and small upstream pieces (a song is many ranged
/// requests, as from googlevideo).
fn cache_config(dir: &Path, extra: &str) -> String {
    format!(
        "[cache]\ndir = {:?}\n{extra}\n[upstream]\nchunk_bytes = 65536\nretries = 3\n",
        dir.display().to_string()
    )
}

/// The files in the cache directory, by name.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn kept_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.audio"))
}

/// Whether the store has `id`'s entry (written after its file is renamed
/// into place).
fn is_kept(db: &Path, id: &str) -> bool {
    let id = VideoId::parse(id).expect("id");
    TrackStore::open(db).is_ok_and(|s| s.kept_song(&id).is_ok_and(|k| k.is_some()))
}

fn entries(addr: std::net::SocketAddr) -> u64 {
    health(addr)["cache"]["entries"].as_u64().unwrap_or(0)
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// The headers a client sees, without those that differ by time.
fn shown(reply: &crate::common::Reply) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = reply
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    h.sort();
    h
}

#[test]
fn a_song_played_once_plays_again_from_disk_with_upstream_and_the_resolver_gone() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, calls, db) = (
        tmp.path().join("audio"),
        tmp.path().join("calls"),
        tmp.path().join("t.db"),
    );
    let store = format!("[store]\npath = {:?}\n", db.display().to_string());
    let url = origin.url(&format!("/audio/{LEN}"));
    let first = Proxy::start_with(&format!(
        "{store}{}{}",
        cache_config(&dir, ""),
        fake_resolver("music", &calls, &url)
    ));
    let path = format!("/proxy/{ID}/");
    let head_streamed = request(first.addr, "HEAD", &path, &[]);
    let streamed = get(first.addr, &path, &[]);
    assert_eq!(streamed.status, 200);
    assert!(streamed.body == audio_bytes(LEN), "streamed whole");
    assert!(wait_until(LIMIT, || entries(first.addr) == 1), "kept");
    drop(first);

    // The resolver now fails, and upstream is never asked.
    let second = Proxy::start_with(&format!(
        "{store}{}{}",
        cache_config(&dir, ""),
        fake_resolver("fail", &calls, &url)
    ));
    let (runs, asked) = (lines(&calls), origin.requests());
    let again = get(second.addr, &path, &[]);
    assert_eq!(again.status, 200);
    assert!(again.body == audio_bytes(LEN), "byte-exact from disk");
    assert_eq!(
        shown(&again),
        shown(&streamed),
        "the same head as streaming"
    );
    let head = request(second.addr, "HEAD", &path, &[]);
    assert_eq!(shown(&head), shown(&head_streamed), "HEAD as streaming");

    let part = get(second.addr, &path, &[("Range", "bytes=1000-1999")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/300000"));
    assert!(part.body == audio_bytes(LEN)[1000..2000]);
    let tail = get(second.addr, &path, &[("Range", "bytes=-500")]);
    assert!(tail.status == 206 && tail.body == audio_bytes(LEN)[LEN - 500..]);
    let past = get(second.addr, &path, &[("Range", "bytes=300000-")]);
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */300000"));

    let icy = get(second.addr, &path, &[("Icy-MetaData", "1")]);
    assert_eq!(icy.header("icy-metaint"), Some("16000"));
    let (audio, metas) = split_icy(&icy.body, 16000);
    assert!(audio == audio_bytes(LEN), "blocks cut the audio exactly");
    let title = stream_title(&metas[0]);
    assert_eq!(
        title.as_deref(),
        Some(&*format!("Artist {ID} - Track {ID}"))
    );
    let plain = get(
        second.addr,
        &format!("{path}?icy=0"),
        &[("Icy-MetaData", "1")],
    );
    assert!(plain.header("icy-metaint").is_none() && plain.body == audio_bytes(LEN));

    // Two answers on one kept-alive connection: the file sent by the
    // kernel leaves the connection as it found it.
    let mut s = connect(second.addr);
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    for (range, first, end) in [("bytes=0-99", 0, 100), ("bytes=200000-", 200_000, LEN)] {
        write!(
            s,
            "GET {path}?icy=0 HTTP/1.1\r\nHost: x\r\nRange: {range}\r\n\r\n"
        )
        .expect("send");
        let reply = crate::common::read_reply(&mut r, false);
        assert!(
            reply.status == 206 && reply.body == audio_bytes(LEN)[first..end],
            "{range}"
        );
    }
    assert_eq!(
        origin.requests(),
        asked,
        "no upstream request from the cache"
    );
    assert_eq!(lines(&calls), runs, "no resolver run for a kept song");
    // A hit is counted once its body is out.
    let hits = || health(second.addr)["cache"]["hits"] == 8;
    assert!(wait_until(LIMIT, hits), "{}", health(second.addr));
    let cache = &health(second.addr)["cache"];
    assert_eq!(cache["misses"], 1, "{cache}");
    // This run's counters: eight from disk, nothing asked of upstream.
    let metrics = get(second.addr, "/metrics", &[]).body_text();
    for line in [
        "icyproxy_cache_hits_total 8\n",
        "icyproxy_cache_misses_total 0\n",
    ] {
        assert!(metrics.contains(line), "{line:?} in {metrics}");
    }
}

#[test]
fn a_cache_dir_that_cannot_be_made_stops_caching_never_a_stream() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("write");
    let proxy = Proxy::start_with(&cache_config(&file.join("audio"), ""));
    proxy.add(ID, &origin.url(&format!("/audio/{LEN}")), "A", "T");
    let mut asked = origin.requests();
    for play in 0..2 {
        let reply = get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
        assert!(
            reply.status == 200 && reply.body == audio_bytes(LEN),
            "streams"
        );
        assert!(origin.requests() > asked, "play {play} from upstream");
        asked = origin.requests();
    }
    let h = health(proxy.addr);
    let warning = h["cache"]["warning"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(warning.starts_with("cache stopped: cannot create"), "{h}");
    assert!(h["warnings"].to_string().contains("cache stopped"), "{h}");
    assert_eq!(h["cache"]["entries"], 0);
}

#[test]
fn a_client_that_leaves_halfway_keeps_nothing() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let proxy = Proxy::start_with(&cache_config(&dir, ""));
    proxy.add(
        ID,
        &origin.url("/audio/3000000?stall_after=1000000&stall_ms=500"),
        "A",
        "T",
    );
    let mut s = connect(proxy.addr);
    write!(s, "GET /proxy/{ID}/ HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    let _ = read_head(&mut r);
    let mut half = vec![0; 500_000];
    r.read_exact(&mut half).expect("half the song");
    drop(r);
    assert!(
        wait_until(LIMIT, || health(proxy.addr)["active_streams"] == 0),
        "the stream ended"
    );
    assert!(files_in(&dir).is_empty(), "{:?}", files_in(&dir));
    assert_eq!(entries(proxy.addr), 0);
}

#[test]
fn a_song_whose_connection_dropped_mid_song_is_kept_whole_and_exact() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let proxy = Proxy::start_with(&cache_config(&dir, ""));
    proxy.add(
        ID,
        &origin.url(&format!("/audio/{LEN}?drop_at=150000")),
        "A",
        "T",
    );
    let first = get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
    assert!(first.body == audio_bytes(LEN), "resumed into one body");
    assert!(wait_until(LIMIT, || entries(proxy.addr) == 1));
    let kept = std::fs::read(kept_file(&dir, ID)).expect("kept file");
    assert!(kept == audio_bytes(LEN), "the kept file is the song");
    let asked = origin.requests();
    let again = get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
    assert!(again.body == audio_bytes(LEN));
    assert_eq!(origin.requests(), asked);
}

#[test]
fn a_kept_file_of_another_length_is_dropped_and_the_song_streams() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let proxy = Proxy::start_with(&cache_config(&dir, ""));
    proxy.add(ID, &origin.url(&format!("/audio/{LEN}")), "A", "T");
    get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
    assert!(wait_until(LIMIT, || entries(proxy.addr) == 1));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(kept_file(&dir, ID))
        .expect("open kept");
    file.set_len(1000).expect("damage it");
    let asked = origin.requests();
    let again = get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
    assert!(
        again.body == audio_bytes(LEN),
        "streamed, not the damaged file"
    );
    assert!(origin.requests() > asked, "upstream was asked");
    assert!(
        wait_until(LIMIT, || std::fs::metadata(kept_file(&dir, ID))
            .is_ok_and(|m| m.len() == LEN as u64)),
        "kept again, whole"
    );
}

/// Plays `id` (at `LEN` bytes) to its end and waits until it is kept.
fn play_whole(proxy: &Proxy, origin: &Origin, id: &str) {
    proxy.add(id, &origin.url(&format!("/audio/{LEN}?v={id}")), "A", id);
    let reply = get(proxy.addr, &format!("/proxy/{id}/"), &[]);
    assert!(reply.body == audio_bytes(LEN), "{id} streamed");
    assert!(
        wait_until(LIMIT, || is_kept(&proxy.db_path, id)),
        "{id} kept"
    );
}

#[test]
fn eviction_takes_the_least_recently_played_first_and_liked_songs_last() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    // 1 MiB holds three songs of 300,000 bytes, not four.
    let proxy = Proxy::start_with(&cache_config(&dir, "max_mb = 1"));
    let ids = [
        "cacheSongAA",
        "cacheSongBB",
        "cacheSongCC",
        "cacheSongDD",
        "cacheSongEE",
    ];
    for id in &ids[..3] {
        play_whole(&proxy, &origin, id);
    }
    // A is played again (from disk): B is now the least recently played.
    get(proxy.addr, &format!("/proxy/{}/", ids[0]), &[]);
    let played_twice = || {
        let store = TrackStore::open(&proxy.db_path).expect("store");
        let a = VideoId::parse(ids[0]).expect("id");
        store
            .kept_song(&a)
            .ok()
            .flatten()
            .is_some_and(|k| k.plays == 2)
    };
    assert!(wait_until(LIMIT, played_twice), "the play is recorded");
    play_whole(&proxy, &origin, ids[3]);
    let kept =
        |names: &[&str]| -> Vec<String> { names.iter().map(|id| format!("{id}.audio")).collect() };
    assert_eq!(files_in(&dir), kept(&[ids[0], ids[2], ids[3]]));
    // C is liked: it stays though it is the oldest; A goes.
    let mut store = TrackStore::open(&proxy.db_path).expect("store");
    let liked = VideoId::parse(ids[2]).expect("id");
    store.playlist_add(LIKED_NAME, &[liked]).expect("like");
    play_whole(&proxy, &origin, ids[4]);
    assert_eq!(files_in(&dir), kept(&[ids[2], ids[3], ids[4]]));
    assert_eq!(entries(proxy.addr), 3);
}

#[test]
fn eight_streams_at_once_never_take_more_than_max_mb() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let proxy = Proxy::start_with(&cache_config(&dir, "max_mb = 1"));
    let ids: Vec<String> = (0..8).map(|i| format!("manyStream{i}")).collect();
    for id in &ids {
        let url = origin.url(&format!(
            "/audio/{LEN}?v={id}&stall_after=100000&stall_ms=300"
        ));
        proxy.add(id, &url, "A", id);
    }
    let size = |dir: &Path| -> u64 {
        std::fs::read_dir(dir).map_or(0, |d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (dir, done) = (dir.clone(), std::sync::Arc::clone(&done));
        std::thread::spawn(move || {
            let mut most = 0;
            while !done.load(Ordering::SeqCst) {
                most = most.max(size(&dir));
                std::thread::sleep(Duration::from_millis(5));
            }
            most
        })
    };
    let players: Vec<_> = ids
        .iter()
        .map(|id| {
            let (addr, path) = (proxy.addr, format!("/proxy/{id}/"));
            std::thread::spawn(move || get(addr, &path, &[]).body == audio_bytes(LEN))
        })
        .collect();
    for p in players {
        assert!(p.join().expect("player"), "every stream whole");
    }
    assert!(wait_until(LIMIT, || health(proxy.addr)["active_streams"] == 0));
    done.store(true, Ordering::SeqCst);
    let most = watcher.join().expect("watcher");
    assert!(most <= 1024 * 1024, "at most max_mb on disk: {most}");
    assert_eq!(entries(proxy.addr), 3, "as many as fit");
    assert_eq!(files_in(&dir).len(), 3, "{:?}", files_in(&dir));
}

#[test]
fn with_less_free_space_than_min_free_mb_nothing_is_written() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let proxy = Proxy::start_with(&cache_config(&dir, "min_free_mb = 16777216"));
    proxy.add(ID, &origin.url(&format!("/audio/{LEN}")), "A", "T");
    let reply = get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
    assert!(reply.body == audio_bytes(LEN), "the stream is whole");
    let h = health(proxy.addr);
    let warning = h["cache"]["warning"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(warning.contains("min_free_mb"), "{h}");
    assert!(h["warnings"].to_string().contains("min_free_mb"), "{h}");
    assert!(files_in(&dir).is_empty(), "{:?}", files_in(&dir));
    assert_eq!(h["cache"]["entries"], 0);
}

#[test]
fn a_kill_during_a_write_leaves_nothing_half_served() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let config = cache_config(&dir, "");
    let mut served = Served::start(&config, &[]);
    let url = origin.url("/audio/2000000?stall_at=1000000&stall_ms=30000");
    served.add(ID, &url, "A", "T");
    let mut s = connect(served.addr);
    write!(s, "GET /proxy/{ID}/ HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    let _ = read_head(&mut r);
    let mut first = vec![0; 900_000];
    r.read_exact(&mut first).expect("the first part");
    assert!(
        files_in(&dir).iter().any(|n| n.ends_with(".part")),
        "a write in progress"
    );
    served.child.kill().expect("kill -9");
    served.child.wait().expect("reaped");
    drop(r);

    // The same database and cache directory, served again.
    let home = std::mem::replace(&mut served.dir, tempfile::tempdir().expect("tempdir"));
    let mut again = Served::start_in(home, &config, &[]);
    assert!(
        again
            .wait_for_line(LIMIT, |l| l.contains("a song left half-written"))
            .is_some()
    );
    assert!(files_in(&dir).is_empty(), "{:?}", files_in(&dir));
    let asked = origin.requests();
    let mut s = connect(again.addr);
    write!(s, "GET /proxy/{ID}/ HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    let (status, _) = read_head(&mut r);
    assert!(status.contains("200"), "{status}");
    let mut start = vec![0; 1000];
    r.read_exact(&mut start).expect("first bytes");
    assert!(start == audio_bytes(1000), "the song's own bytes");
    assert!(
        origin.requests() > asked,
        "streamed from upstream, not a half file"
    );
}

#[test]
fn the_cache_command_shows_removes_and_clears_and_doctor_names_the_dir() {
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let config = format!("{}[resolver]\ncommand = []\n", cache_config(&dir, ""));
    let served = Served::start(&config, &[]);
    served.add(ID, &origin.url(&format!("/audio/{LEN}")), "A", "T");
    let play = |addr| get(addr, &format!("/proxy/{ID}/"), &[]).body == audio_bytes(LEN);
    assert!(play(served.addr));
    assert!(wait_until(LIMIT, || is_kept(&served.db(), ID)));
    assert!(play(served.addr), "the second play, from disk");
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
    // A hit is counted once its body is out.
    let shown = || text(&served.cli(&["cache"]));
    assert!(
        wait_until(LIMIT, || shown().contains("hits\t1\n")),
        "{}",
        shown()
    );
    let shown = shown();
    for line in [
        "songs\t1\n",
        "size\t0.3 MB\n",
        "hits\t1\n",
        "misses\t1\n",
        "hit rate\t50% of 2 plays\n",
    ] {
        assert!(shown.contains(line), "{line:?} in {shown}");
    }
    assert!(
        shown.contains(&format!("dir\t{}", dir.display())),
        "{shown}"
    );

    let removed = served.cli(&["cache", "remove", ID]);
    assert!(removed.status.success());
    assert_eq!(text(&removed), format!("removed {ID} from the cache\n"));
    assert!(!kept_file(&dir, ID).exists());
    let again = served.cli(&["cache", "remove", ID]);
    assert!(!again.status.success(), "nothing to remove is an error");
    assert!(String::from_utf8_lossy(&again.stderr).contains("no kept song"));
    let asked = origin.requests();
    assert!(play(served.addr), "streams again");
    assert!(origin.requests() > asked);
    assert!(
        wait_until(LIMIT, || is_kept(&served.db(), ID)),
        "and is kept again"
    );
    let cleared = served.cli(&["cache", "clear"]);
    assert_eq!(text(&cleared), "removed 1 song (0.3 MB)\n");
    assert!(files_in(&dir).is_empty());

    // Removing the track removes its kept audio: it is not played again.
    assert!(play(served.addr));
    assert!(wait_until(LIMIT, || is_kept(&served.db(), ID)));
    let gone = served.cli(&["remove", ID]);
    assert_eq!(text(&gone), format!("removed {ID} and its kept audio\n"));
    assert!(files_in(&dir).is_empty());
    assert_eq!(get(served.addr, &format!("/proxy/{ID}/"), &[]).status, 404);

    let doctor = served.cli(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout).expect("json");
    let check = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["check"] == "cache").cloned())
        .expect("a cache check");
    assert_eq!(check["status"], "ok", "{check}");
    let detail = check["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&dir.display().to_string()) && detail.contains("MB free"),
        "{detail}"
    );
}

fn status_value(status: &[(String, String)], key: &str) -> Option<String> {
    status
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// Through a real MPD: while song 1 is paused, song 2 (the next) is
/// fetched into the cache; then the origin is stopped, and song 2 still
/// plays to its end (8 s of tone) from disk.
#[test]
fn the_next_song_fetched_ahead_plays_to_its_end_with_the_origin_stopped() {
    if crate::common::mpd::skip_mpd_test(&["mpd"]) {
        return;
    }
    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let mpd = crate::common::mpd::Mpd::started("");
    let proxy = Proxy::start_with(&format!(
        "{}[mpd]\naddress = \"127.0.0.1:{}\"\n",
        cache_config(&dir, "ahead = 1"),
        mpd.port
    ));
    let ids = ["aheadSong01", "aheadSong02"];
    let mut c = mpd.connect();
    for id in ids {
        proxy.add(
            id,
            &origin.url(&format!("/file/tone.mp3?v={id}")),
            "Artist",
            id,
        );
        c.ok(&format!("add \"http://{}/proxy/{id}/\"", proxy.addr));
    }
    assert!(wait_until(LIMIT, || health(proxy.addr)["mpd"] == "connected"));
    c.play_paused(0);
    assert!(
        wait_until(LIMIT, || kept_file(&dir, ids[1]).exists()),
        "song 2 was not fetched ahead: {:?}",
        files_in(&dir)
    );
    assert!(!origin.log.requests_for(&format!("v={}", ids[1])).is_empty());
    drop(origin);
    c.ok("play 1");
    assert!(
        wait_until(Duration::from_secs(40), || {
            let status = c.status();
            status_value(&status, "song").as_deref() == Some("1")
                && status_value(&status, "elapsed")
                    .and_then(|e| e.parse::<f64>().ok())
                    .is_some_and(|e| e > 7.5)
        }),
        "song 2 did not play to its end: {:?}",
        c.status()
    );
    assert!(wait_until(LIMIT, || status_value(&c.status(), "state")
        .as_deref()
        == Some("stop")));
    assert_eq!(status_value(&c.status(), "error"), None, "{:?}", c.status());
    let hit = || health(proxy.addr)["cache"]["hits"].as_u64() >= Some(1);
    assert!(wait_until(LIMIT, hit));
}

/// A fetch ahead reads the song whole into the cache, no faster than its
/// rate; one stopped first keeps nothing.
#[test]
fn a_fetch_ahead_keeps_the_song_no_faster_than_its_rate() {
    use icyproxy::catalog::model::NewTrack;
    use icyproxy::stream::cache::AudioCache;
    use icyproxy::stream::cache::fetch::{Fetch, Fetched};
    use icyproxy::stream::cache::settings::CacheSettings;
    use icyproxy::stream::settings::UpstreamSettings;
    use icyproxy::stream::upstream::Upstream;
    use std::sync::atomic::AtomicBool;

    let origin = Origin::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let mut store = TrackStore::open(&tmp.path().join("t.db")).expect("store");
    for id in [ID, "stoppedSong"] {
        let url = origin.url(&format!("/audio/{LEN}?v={id}"));
        store
            .upsert(&NewTrack::new(id, &url, "A", "T").expect("track"))
            .expect("upsert");
    }
    let settings = CacheSettings {
        dir: dir.clone(),
        ..CacheSettings::default()
    };
    let metrics = std::sync::Arc::new(icyproxy::metrics::Metrics::default());
    let cache = AudioCache::start(&settings, metrics, Some(&mut store));
    let upstream = Upstream::new(&UpstreamSettings::default()).expect("upstream");
    let track = |id: &str| {
        store
            .get(&VideoId::parse(id).expect("id"))
            .expect("get")
            .expect("row")
    };
    let (song, stopped_song) = (track(ID), track("stoppedSong"));
    let stop = AtomicBool::new(false);
    let fetch = Fetch {
        upstream: &upstream,
        cache: &cache,
        chunk_bytes: 65536,
        retries: 3,
        bytes_per_sec: 200_000,
        stop: &stop,
    };
    let started = std::time::Instant::now();
    assert_eq!(
        fetch.fetch(&song, &mut store).expect("fetched"),
        Fetched::Kept
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1450),
        "300,000 bytes at 200,000 B/s in {took:?}"
    );
    assert!(std::fs::read(kept_file(&dir, ID)).expect("kept") == audio_bytes(LEN));
    assert!(
        origin.log.requests_for("v=cAcHeSong01").len() >= 5,
        "in ranged pieces"
    );

    stop.store(true, Ordering::SeqCst);
    assert_eq!(
        fetch.fetch(&stopped_song, &mut store).expect("ends"),
        Fetched::NotKept
    );
    assert_eq!(files_in(&dir), [format!("{ID}.audio")], "nothing else kept");
}

/// At start, a kept file without its entry (a kill between the rename and
/// the entry) is removed, an entry without its file dropped; files that
/// are not icyproxy's are left alone.
#[test]
fn at_start_files_and_entries_are_made_to_agree_and_foreign_files_stay() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audio");
    let db = tmp.path().join("t.db");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("orphanSong1.audio"), b"no entry").expect("orphan");
    std::fs::write(dir.join("notes.txt"), b"mine").expect("foreign");
    std::fs::write(dir.join(".hidden"), b"mine too").expect("foreign");
    std::fs::write(dir.join(".mine.part"), b"mine as well").expect("foreign");
    let mut store = TrackStore::open(&db).expect("store");
    let lost = VideoId::parse("lostSong001").expect("id");
    store.keep_song(&lost, 1000, "audio/webm").expect("entry");
    drop(store);
    let config = format!(
        "[store]\npath = {:?}\n{}",
        db.display().to_string(),
        cache_config(&dir, "")
    );
    let proxy = Proxy::start_with(&config);
    assert_eq!(files_in(&dir), [".hidden", ".mine.part", "notes.txt"]);
    assert_eq!(entries(proxy.addr), 0);
}
