//! The real thing: a real MPD (with a null audio output) plays through
//! icyproxy, and we ask it, over its own protocol and with `mpc`, what it
//! shows. A missing `mpd` or `mpc` fails the tests;
//! `ICYPROXY_SKIP_MPD=1` skips them (`common::mpd::skip_mpd_test`).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::mpd::*;
use crate::common::*;
use icyproxy::catalog::model::NewTrack;
use icyproxy::catalog::store::TrackStore;
use icyproxy::video_id::VideoId;

const WEBM: &str = "webmTone001";
const MP3: &str = "mp3Tone0001";
const BARE: &str = "noCoverArt1";
const EXPIRED: &str = "expiredUrl1";
/// The playlist entries: the same tones from an origin that pauses 6 s
/// after 16 KB, so MPD cannot have the whole file when it seeks.
const SEEK_WEBM: &str = "webmSeek001";
const SEEK_MP3: &str = "mp3Seek0001";
const SLOW: &str = "slow=1&stall_after=16000&stall_ms=6000";
/// Both tones last 8 seconds.
const TONE_SECS: f64 = 8.0;

struct World {
    origin: Origin,
    proxy: Proxy,
    mpd: Mpd,
    calls: PathBuf,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls.log");
    let proxy = Proxy::start_with(&format!(
        "[icy]\nmetaint = 4000\n{}",
        fake_resolver("json", &calls, &origin.url("/file/tone.mp3"))
    ));
    let mut store = TrackStore::open(&proxy.db_path).expect("store");
    let cover = origin.url("/file/cover.jpg");
    let slow_webm = format!("/file/tone.webm?{SLOW}");
    let slow_mp3 = format!("/file/tone.mp3?{SLOW}");
    let tracks = [
        (
            WEBM,
            "/file/tone.webm",
            "Opus Artist",
            "Opus Tone",
            Some(cover.as_str()),
        ),
        (
            MP3,
            "/file/tone.mp3",
            "Mp3 Artist",
            "Mp3 Tone",
            Some(cover.as_str()),
        ),
        (BARE, "/file/tone.mp3", "Bare Artist", "Bare Tone", None),
        (SEEK_WEBM, &slow_webm, "Opus Artist", "Opus Tone", None),
        (SEEK_MP3, &slow_mp3, "Mp3 Artist", "Mp3 Tone", None),
        (
            EXPIRED,
            "/file/tone.mp3?deny=1",
            "Old Artist",
            "Old Tone",
            None,
        ),
    ];
    for (id, path, artist, title, thumb) in tracks {
        let mut t = NewTrack::new(id, &origin.url(path), artist, title)
            .expect("track")
            .with_album("Tones");
        t.tags.duration_secs = Some(TONE_SECS as i64);
        if let Some(thumb) = thumb {
            t = t.with_thumbnail(thumb).expect("thumb");
        }
        store.upsert(&t).expect("upsert");
    }
    let ids: Vec<VideoId> = [SEEK_WEBM, SEEK_MP3]
        .iter()
        .map(|i| VideoId::parse(i).expect("id"))
        .collect();
    store.playlist_add("Tones", &ids).expect("playlist");
    World {
        origin,
        proxy,
        mpd: Mpd::started(""),
        calls,
        _dir: dir,
    }
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy.addr)
    }
}

#[test]
fn mpd_shows_artist_title_once_plays_seeks_and_shows_cover_art() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let w = world();
    let mut c = w.mpd.connect();

    // 1. Bare URLs: ICY blocks give Title, no Name; played to the end.
    for (id, shown) in [
        (WEBM, "Opus Artist - Opus Tone"),
        (MP3, "Mp3 Artist - Mp3 Tone"),
    ] {
        c.ok("clear");
        c.ok(&format!("add \"{}\"", w.url(&format!("/proxy/{id}/"))));
        c.ok("play 0");
        assert!(
            wait_state(&mut c, "play", Duration::from_secs(5)),
            "{id} did not start"
        );
        let song = wait_song_key(&mut c, "Title", Duration::from_secs(5));
        eprintln!("bare {id} currentsong: {song:?}");
        assert_eq!(get_value(&song, "Title"), Some(shown), "{id}: {song:?}");
        assert_eq!(
            get_value(&song, "Name"),
            None,
            "{id}: Name doubles the title"
        );
        assert_eq!(
            w.mpd.mpc_current(),
            format!("{shown}\n"),
            "{id}: mpc current"
        );
        // Played through to the end, in real time.
        assert!(
            wait_state(&mut c, "stop", Duration::from_secs(TONE_SECS as u64 + 6)),
            "{id} did not play to the end"
        );
    }
    let errors = decoder_errors(&w.mpd.log_text());
    assert!(
        errors.is_empty(),
        "decoder errors (blocks cut wrong?): {errors:#?}"
    );

    // 2. XSPF by URL: separate tags; seek to 80 %.
    c.ok("clear");
    c.ok(&format!("load \"{}\"", w.url("/playlists/Tones.xspf")));
    let info = c.ok("playlistinfo");
    let artists: Vec<&str> = info
        .iter()
        .filter(|(k, _)| k == "Artist")
        .map(|(_, v)| v.as_str())
        .collect();
    let titles: Vec<&str> = info
        .iter()
        .filter(|(k, _)| k == "Title")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(artists, ["Opus Artist", "Mp3 Artist"], "{info:?}");
    assert_eq!(titles, ["Opus Tone", "Mp3 Tone"], "{info:?}");
    seek_each(&mut c, &w, "xspf");

    // 3. M3U by URL: Name from #EXTINF, the text once; seek to 80 %.
    c.ok("clear");
    c.ok(&format!("load \"{}\"", w.url("/playlists/Tones.m3u")));
    let info = c.ok("playlistinfo");
    eprintln!("m3u playlistinfo: {info:?}");
    assert_eq!(
        info.iter().filter(|(k, _)| k == "file").count(),
        2,
        "{info:?}"
    );
    c.ok("play 0");
    assert!(wait_state(&mut c, "play", Duration::from_secs(5)));
    // Played past the first 4000 bytes (0.67 s of the 48 kbit/s Opus
    // tone): a StreamTitle in the stream would show by now.
    wait_elapsed(&mut c, 0.7, Duration::from_secs(5));
    assert_eq!(
        w.mpd.mpc_current(),
        "Opus Artist - Opus Tone\n",
        "m3u: mpc current"
    );
    seek_each(&mut c, &w, "m3u");
    c.ok("stop");

    // 4. Cover art through MPD's albumart.
    let cover = std::fs::read(fixture("cover.jpg")).expect("fixture");
    let art = c
        .albumart(&w.url(&format!("/proxy/{WEBM}/")))
        .expect("albumart");
    assert!(
        art == cover,
        "albumart bytes differ ({} vs {})",
        art.len(),
        cover.len()
    );
    let art = c
        .albumart(&w.url(&format!("/proxy/{MP3}/?icy=0")))
        .expect("albumart");
    assert!(art == cover);
    let started = Instant::now();
    let missing = c.albumart(&w.url(&format!("/proxy/{BARE}/")));
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.contains("No file exists")),
        "{missing:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no-art answer took {:?}",
        started.elapsed()
    );

    // 5. An expired stream URL (the origin answers 403): the resolver gets a
    //    fresh one and MPD plays it.
    c.ok("clear");
    c.ok(&format!("add \"{}\"", w.url(&format!("/proxy/{EXPIRED}/"))));
    c.ok("play 0");
    assert!(
        wait_state(&mut c, "play", Duration::from_secs(5)),
        "expired track did not play"
    );
    let song = wait_song_key(&mut c, "Title", Duration::from_secs(5));
    assert_eq!(get_value(&song, "Title"), Some("Old Artist - Old Tone"));
    wait_elapsed(&mut c, 0.5, Duration::from_secs(10));
    let status = c.status();
    assert!(
        get_value(&status, "elapsed")
            .and_then(|e| e.parse::<f64>().ok())
            .is_some_and(|e| e > 0.5),
        "{status:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&w.calls)
            .expect("resolver ran")
            .lines()
            .count(),
        1
    );
    c.ok("stop");
    assert!(
        !w.origin.log.requests_for("tone.mp3?deny=1").is_empty(),
        "the old URL was tried"
    );
}

/// Plays each queue entry and seeks to 80 % of it, before MPD can hold the
/// whole file (the origin pauses after 16 KB): MPD must accept the seek
/// and carry on from there. Observed with MPD 0.23.12: it reopens the
/// stream from byte 0 for the seek rather than asking for a range.
fn seek_each(c: &mut MpdClient, w: &World, what: &str) {
    for pos in 0..2 {
        c.ok(&format!("play {pos}"));
        assert!(
            wait_state(c, "play", Duration::from_secs(5)),
            "{what} {pos}: no play"
        );
        // The decoder is under way (some audio played), so the seek is
        // not sent to a stream MPD is still opening.
        wait_elapsed(c, 0.0, Duration::from_secs(5));
        let target = TONE_SECS * 0.8;
        if let Err(e) = c.cmd(&format!("seekcur {target}")) {
            panic!("{what} {pos}: seek refused: {e}\n{}", w.mpd.log_text());
        }
        // The seek is done when MPD's position has moved to it. Within 5 s:
        // playing on from the start (the origin pausing 6 s after 16 KB)
        // would not get there in that time.
        wait_elapsed(c, target - 0.5, Duration::from_secs(5));
        let status = c.status();
        let elapsed: f64 = get_value(&status, "elapsed")
            .and_then(|e| e.parse().ok())
            .unwrap_or(0.0);
        assert!(
            elapsed >= target - 0.5,
            "{what} {pos}: elapsed {elapsed} after seek: {status:?}"
        );
    }
}

/// A YouTube Music playlist imported by URL with `[playlists] mpd_dir`
/// set to MPD's playlist directory: MPD lists it at once, loads each entry
/// with `Artist - Title` and its duration, and playing an entry that has
/// no stream URL yet resolves it and plays it.
#[test]
fn an_imported_playlist_is_listed_loaded_and_played_by_mpd() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let (lists, calls) = (dir.path().join("lists"), dir.path().join("resolved.log"));
    std::fs::create_dir_all(&lists).expect("lists");
    let resolver = fake_resolver("json", &calls, &origin.url("/file/tone.mp3"))
        .with_playlists(&dir.path().join("listed.log"), &lists);
    let proxy = Proxy::start_with(&resolver.to_string());
    let mpd = Mpd::started("");
    let listing = serde_json::json!({
        "_type": "playlist", "title": "Road Trip", "id": "PLroad",
        "entries": [
            {"_type": "url", "ie_key": "Youtube", "id": "listedOne01", "title": "First Song",
             "channel": "Band One - Topic", "duration": 8, "__x_forwarded_for_ip": null},
            {"_type": "url", "ie_key": "Youtube", "id": "listedTwo02", "title": "Second Song",
             "channel": "Band Two - Topic", "duration": 8, "__x_forwarded_for_ip": null},
            {"_type": "url", "ie_key": "Youtube", "id": "privateOne3", "title": "[Private video]",
             "channel": null, "duration": null, "__x_forwarded_for_ip": null},
        ]
    });
    std::fs::write(lists.join("PLroad.json"), listing.to_string()).expect("listing");
    // The CLI, as a user runs it, on the server's database.
    let cli_config = dir.path().join("cli.toml");
    std::fs::write(
        &cli_config,
        format!(
            "[store]\npath = {:?}\n{resolver}[playlists]\nmpd_dir = {:?}\nbase_url = \"http://{}\"\n",
            proxy.db_path.display().to_string(),
            mpd.playlists.display().to_string(),
            proxy.addr,
        ),
    )
    .expect("cli config");
    let o = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
        .arg("--config")
        .arg(&cli_config)
        .args([
            "playlist",
            "import",
            "https://music.youtube.com/playlist?list=PLroad",
        ])
        .output()
        .expect("import");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Road Trip: 2 tracks (2 new), 1 unavailable skipped\n"
    );
    // Listed at once, without `mpc update`.
    assert_eq!(mpd.mpc(&["lsplaylists"]), "Road Trip\n");
    let mut c = mpd.connect();
    c.ok("load \"Road Trip\"");
    let entries = c.ok("playlistinfo");
    let names: Vec<&str> = entries
        .iter()
        .filter(|(k, _)| k == "Name")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        names,
        ["Band One - First Song", "Band Two - Second Song"],
        "{entries:?}"
    );
    let times: Vec<&str> = entries
        .iter()
        .filter(|(k, _)| k == "Time")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(times, ["8", "8"], "{entries:?}");
    assert_eq!(
        mpd.mpc(&["playlist"]),
        "Band One - First Song\nBand Two - Second Song\n"
    );
    // Entry 2 has no stream URL yet: playing it resolves it, then plays.
    c.ok("play 1");
    assert!(
        wait_state(&mut c, "play", Duration::from_secs(20)),
        "{:?}",
        c.status()
    );
    let song = wait_song_key(&mut c, "Name", Duration::from_secs(10));
    assert_eq!(
        get_value(&song, "Name"),
        Some("Band Two - Second Song"),
        "{song:?}"
    );
    assert!(
        wait_until(Duration::from_secs(20), || {
            std::fs::read_to_string(&calls).is_ok_and(|r| r.starts_with("listedTwo02 "))
        }),
        "the resolver did not run for entry 2: {:?}",
        std::fs::read_to_string(&calls)
    );
    assert!(
        wait_until(Duration::from_secs(20), || get_value(
            &c.status(),
            "elapsed"
        )
        .and_then(|e| e.parse::<f64>().ok())
        .is_some_and(|e| e > 1.0)),
        "not playing: {:?}",
        c.status()
    );
    assert!(
        origin
            .log
            .requests_for("tone.mp3")
            .iter()
            .any(|l| l.contains("gen=1")),
        "the resolved URL was not fetched: {:?}",
        origin.log.requests_for("tone.mp3")
    );
    let errors = decoder_errors(&mpd.log_text());
    assert!(errors.is_empty(), "{errors:#?}");
}

/// Instant skips: with `[mpd]` pointing at a real MPD, the songs it will
/// play next are resolved ahead (in one resolver run, by a resolver that
/// takes 2 s per run), so `play 4` reaches upstream without running the
/// resolver again, long before a resolver run could have ended.
#[test]
fn a_skip_into_the_warm_window_starts_without_the_resolver() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("resolved.log");
    let mpd = Mpd::started("");
    let proxy = Proxy::start_with(&format!(
        "{}[mpd]\naddress = \"127.0.0.1:{}\"\nwarm_ahead = 5\n",
        fake_resolver("slow2", &calls, &origin.url("/file/tone.mp3")),
        mpd.port,
    ));
    let ids = [
        "skipSong001",
        "skipSong002",
        "skipSong003",
        "skipSong004",
        "skipSong005",
        "skipSong006",
    ];
    let mut c = mpd.connect();
    for id in ids {
        c.ok(&format!("add \"http://{}/proxy/{id}/\"", proxy.addr));
    }
    assert!(
        wait_until(Duration::from_secs(20), || health(proxy.addr)["mpd"]
            == "connected"),
        "{}",
        health(proxy.addr)
    );
    c.ok("play 0");
    assert!(
        wait_until(
            Duration::from_secs(30),
            || health(proxy.addr)["warm_tracks"] == 6
        ),
        "not warm: {}; resolver runs: {:?}",
        health(proxy.addr),
        std::fs::read_to_string(&calls)
    );
    let runs = std::fs::read_to_string(&calls).expect("runs");
    assert!(
        runs.lines().any(|l| l.split_whitespace().count() > 2),
        "no batch of several ids: {runs}"
    );
    let asked = Instant::now();
    c.ok("play 4");
    let target = format!("v={}", ids[4]);
    assert!(
        wait_until(Duration::from_secs(20), || {
            origin
                .log
                .arrivals
                .lock()
                .expect("arrivals")
                .iter()
                .any(|(at, t)| *at > asked && t.contains(&target))
        }),
        "song 5 never reached upstream"
    );
    let reached = origin
        .log
        .arrivals
        .lock()
        .expect("arrivals")
        .iter()
        .find(|(at, t)| *at > asked && t.contains(&target))
        .map(|(at, _)| *at - asked)
        .expect("arrival");
    eprintln!("play 4 → upstream asked after {reached:?}");
    // A resolver run takes 2 s: upstream asked well before that.
    assert!(reached < Duration::from_millis(1500), "{reached:?}");
    assert_eq!(
        std::fs::read_to_string(&calls).expect("runs"),
        runs,
        "the resolver ran again"
    );
    assert!(wait_until(Duration::from_secs(20), || {
        get_value(&c.status(), "song") == Some("4")
            && get_value(&c.status(), "elapsed")
                .and_then(|e| e.parse::<f64>().ok())
                .is_some_and(|e| e > 0.5)
    }));
    let metrics = get(proxy.addr, "/metrics", &[]).body_text();
    assert!(
        metrics.contains("icyproxy_warm_resolves_total "),
        "{metrics}"
    );
}
