//! Radio and autoplay against a real MPD: the yt-dlp stand-in prints
//! mixes (`fake-ytdlp-music`), the resolver hands out a 2 s WAV tone
//! (`tests/fixtures/tone-2s.wav`) from a test origin, so a queue runs out
//! in seconds.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::mpd::{Mpd, MpdClient, get_value, skip_mpd_test, wait_state};
use crate::common::music::Music;
use crate::common::*;

const SEEDS: [&str; 3] = ["seedsong001", "seedsong002", "seedsong003"];

struct World {
    music: Music,
    proxy: Proxy,
    mpd: Mpd,
    cli: PathBuf,
    _origin: Origin,
    _dir: tempfile::TempDir,
}

fn world(autoplay: bool, mpd_extra: &str) -> World {
    world_with(autoplay, mpd_extra, "")
}

/// [`world`] with `server` (a `[server]` section) in the server's config.
fn world_with(autoplay: bool, mpd_extra: &str, server: &str) -> World {
    let origin = Origin::start();
    let music = Music::new();
    let mpd = Mpd::started(mpd_extra);
    let resolver = music.resolver("music", &origin.url("/file/tone-2s.wav"), "");
    let proxy = Proxy::start_with(&format!(
        "{resolver}{server}[mpd]\naddress = {:?}\nautoplay = {autoplay}\n",
        mpd.address()
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = dir.path().join("cli.toml");
    std::fs::write(
        &cli,
        format!(
            "[store]\npath = {:?}\n{resolver}[playlists]\nbase_url = \"http://{}\"\n[mpd]\naddress = {:?}\n",
            proxy.db_path.display().to_string(),
            proxy.addr,
            mpd.address()
        ),
    )
    .expect("cli config");
    assert!(wait_until(
        Duration::from_secs(15),
        || health(proxy.addr)["mpd"] == "connected"
    ));
    World {
        music,
        proxy,
        mpd,
        cli,
        _origin: origin,
        _dir: dir,
    }
}

impl World {
    fn url(&self, id: &str) -> String {
        format!("http://{}/proxy/{id}/?icy=0", self.proxy.addr)
    }

    fn queue(&self, c: &mut MpdClient, ids: &[&str]) {
        let urls: Vec<String> = ids.iter().map(|id| self.url(id)).collect();
        c.add_all(&urls);
    }

    fn files(&self) -> Vec<String> {
        self.mpd
            .mpc(&["-f", "%file%", "playlist"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_icyproxy"))
            .arg("--config")
            .arg(&self.cli)
            .args(args)
            .output()
            .expect("run icyproxy")
    }
}

fn number(pairs: &[(String, String)], key: &str) -> Option<f64> {
    get_value(pairs, key).and_then(|v| v.parse().ok())
}

/// One look at MPD: when, which song (id, position), how far in, how long.
struct Look {
    at: Instant,
    id: String,
    pos: usize,
    elapsed: f64,
    duration: f64,
}

#[test]
fn autoplay_plays_past_a_three_song_queue_into_tagged_radio_songs_without_gaps() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let w = world(true, "");
    let mut c = w.mpd.connect();
    w.queue(&mut c, &SEEDS);
    c.ok("play 0");
    let mut looks: Vec<Look> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let s = c.status();
        if let (Some(id), Some(pos), Some(elapsed)) = (
            get_value(&s, "songid"),
            number(&s, "song"),
            number(&s, "elapsed"),
        ) {
            looks.push(Look {
                at: Instant::now(),
                id: id.to_owned(),
                pos: pos as usize,
                elapsed,
                duration: number(&s, "duration").unwrap_or(2.0),
            });
            if pos as usize >= 13 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let reached = looks.last().map_or(0, |l| l.pos);
    assert!(
        reached >= 13,
        "played up to position {reached}; log:\n{}",
        w.mpd.log_text()
    );
    let troubles = crate::common::mpd::decoder_errors(&w.mpd.log_text());
    eprintln!("MPD's log: {troubles:#?}");
    // Every change of song, by MPD's own clock: when the last one ended
    // and the next one's audio began.
    let t0 = looks[0].at;
    let secs = |at: Instant| at.duration_since(t0).as_secs_f64();
    // Where a song began, by MPD's clock: when it was seen, less its elapsed.
    let began = |l: &Look| secs(l.at) - l.elapsed;
    // Each change of song seen closely (looks under 0.25 s apart; a
    // `status` can wait on MPD's player for a while): the next song's
    // audio against the previous one's end.
    let mut gaps = Vec::new();
    for pair in looks.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.id == b.id || b.at.duration_since(a.at) > Duration::from_millis(250) {
            continue;
        }
        let end = secs(a.at) + (a.duration - a.elapsed);
        let gap = ((began(b) - end) * 1000.0).round() / 1000.0;
        gaps.push((a.pos, b.pos, gap));
    }
    eprintln!("song changes seen closely (from, to, gap s): {gaps:?}");
    assert!(gaps.len() >= 6, "{gaps:?}");
    // (A look may miss a song between two close ones: MPD's `song` and
    // `elapsed` lag its output by up to a song of 2 s; the sum below
    // catches a song skipped.)
    assert!(gaps.iter().all(|(_, _, gap)| *gap < 0.5), "{gaps:?}");
    // And all of them at once: song 13 began 13 songs of 2 s after song 0
    // (a song skipped or late would show here).
    let first = looks.iter().find(|l| l.pos == 0).expect("song 0 seen");
    let last = looks.iter().find(|l| l.pos == 13).expect("song 13 seen");
    let slack = began(last) - began(first) - 13.0 * 2.0;
    eprintln!("song 13 began {slack:.3} s off 13 songs after song 0");
    // Under 1 s in all for 13 changes (a skipped 2 s song would be -2 s;
    // each estimate carries MPD's lag of up to half a second).
    assert!(slack.abs() < 1.0, "{slack:.3} s");
    // Appended with tags, no id twice.
    let files = w.files();
    let unique: HashSet<&String> = files.iter().collect();
    assert_eq!(unique.len(), files.len(), "an id twice: {files:?}");
    assert!(files.len() >= 13, "{files:?}");
    let shown = w.mpd.mpc(&["playlist"]);
    // Tagged as the radio lists them, at once (no resolver run first).
    for line in shown.lines().skip(3) {
        assert!(
            line.starts_with("Radio Artist ") && line.contains(" - Radio Song "),
            "{shown}"
        );
    }
    let h = health(w.proxy.addr);
    assert_eq!(h["autoplay"]["on"], true);
    assert!(h["autoplay"]["appended"].as_u64().unwrap_or(0) >= 10, "{h}");
    assert_eq!(h["autoplay"]["last_error"], serde_json::Value::Null, "{h}");
}

/// Plays a queue of `ids` with the options set, waits past the debounce
/// and returns the queue's length.
fn length_after_playing(w: &World, c: &mut MpdClient, ids: &[&str], options: &[&str]) -> usize {
    c.ok("stop");
    c.ok("clear");
    for option in options {
        c.ok(option);
    }
    w.queue(c, ids);
    c.ok("play 0");
    assert!(wait_state(c, "play", Duration::from_secs(10)));
    std::thread::sleep(Duration::from_secs(4));
    let length = number(&c.status(), "playlistlength").unwrap_or(0.0) as usize;
    c.ok("stop");
    for option in options {
        c.ok(&option.replace(" 1", " 0"));
    }
    length
}

#[test]
fn autoplay_appends_nothing_when_it_should_not() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let w = world(true, "");
    let mut c = w.mpd.connect();
    let two = ["nothing0001", "nothing0002"];
    assert_eq!(
        length_after_playing(&w, &mut c, &two, &["repeat 1"]),
        2,
        "repeat on"
    );
    assert_eq!(
        length_after_playing(&w, &mut c, &two, &["random 1"]),
        2,
        "random on"
    );
    assert_eq!(
        length_after_playing(&w, &mut c, &two, &["single 1"]),
        2,
        "single on"
    );
    // A queue that ends in the user's own file.
    let music = w.mpd.playlists.parent().expect("dir").join("music");
    std::fs::copy(fixture("tone-2s.wav"), music.join("mine.wav")).expect("copy");
    w.mpd.mpc(&["update", "--wait"]);
    c.ok("clear");
    w.queue(&mut c, &two);
    c.ok("add \"mine.wav\"");
    c.ok("play 0");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        number(&c.status(), "playlistlength"),
        Some(3.0),
        "a local file last"
    );
    c.ok("stop");
    assert!(
        w.music.calls().is_empty(),
        "no radio ran: {:?}",
        w.music.calls()
    );
    // Turned off from the channel: MPD stops at the end, as without it.
    w.mpd.mpc(&["sendmessage", "icyproxy", "autoplay off"]);
    assert!(wait_until(Duration::from_secs(5), || health(w.proxy.addr)
        ["autoplay"]["on"]
        == false));
    c.ok("clear");
    w.queue(&mut c, &two);
    c.ok("play 0");
    assert!(wait_until(Duration::from_secs(15), || get_value(
        &c.status(),
        "state"
    ) == Some("stop")));
    assert_eq!(number(&c.status(), "playlistlength"), Some(2.0));
    assert!(w.music.calls().is_empty(), "{:?}", w.music.calls());
}

#[test]
fn a_radio_with_nothing_new_falls_back_to_the_song_before() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let w = world(true, "");
    // The last song's mix holds only what the queue has.
    let repeats = serde_json::json!({"_type": "playlist", "id": "RDAMVMseedsong003", "entries":
        SEEDS.iter().map(|id| serde_json::json!({"_type": "url", "ie_key": "Youtube", "id": id,
            "title": "Again", "channel": "Same Artist", "duration": 2})).collect::<Vec<_>>()});
    w.music.set("RDAMVMseedsong003", &repeats.to_string());
    let mut c = w.mpd.connect();
    w.queue(&mut c, &SEEDS);
    c.ok("play 0");
    assert!(wait_until(Duration::from_secs(15), || {
        number(&c.status(), "playlistlength").unwrap_or(0.0) >= 13.0
    }));
    // Autoplay names its seed just after the songs are appended.
    let seeded = wait_until(Duration::from_secs(15), || {
        health(w.proxy.addr)["autoplay"]["last_seed"] == "seedsong002"
    });
    assert!(seeded, "{}", health(w.proxy.addr));
    let calls = w.music.calls();
    assert!(
        calls[0].contains("RDAMVMseedsong003") && calls[1].contains("RDAMVMseedsong002"),
        "{calls:?}"
    );
    c.ok("stop");
}

#[test]
fn mpd_restarted_mid_way_gets_no_song_twice() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let state = tempfile::tempdir().expect("tempdir");
    let state_file = state.path().join("state");
    let mut w = world(
        true,
        &format!(
            "state_file {:?}\nrestore_paused \"no\"\n",
            state_file.display().to_string()
        ),
    );
    let mut c = w.mpd.connect();
    w.queue(&mut c, &SEEDS);
    c.ok("play 0");
    assert!(wait_until(Duration::from_secs(15), || {
        number(&c.status(), "playlistlength").unwrap_or(0.0) >= 13.0
    }));
    // MPD stops cleanly (saving its queue) and comes back playing it.
    drop(c);
    let pid_file = w.mpd.playlists.parent().expect("dir").join("pid");
    let pid = std::fs::read_to_string(pid_file).expect("pid");
    let term = Command::new("kill").args(["-TERM", pid.trim()]).status();
    assert!(term.is_ok_and(|s| s.success()));
    let port = w.mpd.port;
    assert!(wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    }));
    w.mpd.kill();
    w.mpd.start();
    let mut c = w.mpd.connect();
    assert!(wait_until(Duration::from_secs(20), || health(w.proxy.addr)
        ["mpd"]
        == "connected"));
    // Play on until autoplay appended its second batch.
    let restored = number(&c.status(), "playlistlength");
    assert_eq!(
        restored,
        Some(13.0),
        "{}",
        std::fs::read_to_string(&state_file).unwrap_or_default()
    );
    c.ok("play 9");
    assert!(
        wait_until(Duration::from_secs(30), || {
            number(&c.status(), "playlistlength").unwrap_or(0.0) >= 23.0
        }),
        "{}",
        w.mpd.log_text()
    );
    std::thread::sleep(Duration::from_secs(3));
    let files = w.files();
    let unique: HashSet<&String> = files.iter().collect();
    assert_eq!(unique.len(), files.len(), "an id twice: {files:?}");
    assert_eq!(files.len(), 23, "{files:?}");
    c.ok("stop");
}

#[test]
fn radio_current_add_appends_tagged_songs_in_one_yt_dlp_run() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let w = world(false, "");
    let mut c = w.mpd.connect();
    w.queue(&mut c, &SEEDS);
    c.ok("play 1");
    assert!(wait_state(&mut c, "play", Duration::from_secs(10)));
    c.ok("pause 1");
    let mut ours = f64::MAX;
    for round in 0..2 {
        let before = w.music.own_time();
        let started = Instant::now();
        let o = w.cli(&["radio", "--current", "--add", "--limit", "5"]);
        let took = started.elapsed().as_secs_f64();
        assert!(o.status.success(), "{}", stderr(&o));
        let own = w.music.own_time() - before;
        eprintln!("radio {round}: {took:.3} s in all, {own:.3} s in the stand-in");
        ours = ours.min(took - own);
        let out = stdout(&o);
        assert_eq!(out.lines().count(), 6, "{out}");
        assert!(out.ends_with("added 5 songs to MPD's queue\n"), "{out}");
        assert!(
            !out.contains("seedsong"),
            "not the seed, nothing queued: {out}"
        );
    }
    assert!(ours < 0.2, "{ours:.3} s besides yt-dlp's own");
    assert_eq!(
        w.music.calls().len(),
        2,
        "one yt-dlp run each: {:?}",
        w.music.calls()
    );
    // (The server's warming resolves the queued songs: resolver runs are not the CLI's.)
    let files = w.files();
    assert_eq!(files.len(), 13);
    let unique: HashSet<&String> = files.iter().collect();
    assert_eq!(
        unique.len(),
        13,
        "the second run skipped what the first queued: {files:?}"
    );
    let shown = w.mpd.mpc(&["playlist"]);
    assert!(
        shown
            .lines()
            .skip(3)
            .all(|l| l.starts_with("Radio Artist ")),
        "{shown}"
    );
}

/// With `[server] token` set, the entries autoplay adds for an MPD on this
/// machine carry no token (any MPD client could read it in the queue), and
/// MPD plays them: the server admits callers on loopback.
#[test]
fn with_a_token_a_loopback_mpd_gets_entries_without_it_and_plays_them() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let token = "queue-token-0123456789";
    let w = world_with(true, "", &format!("[server]\ntoken = {token:?}\n"));
    let mut c = w.mpd.connect();
    w.queue(&mut c, &SEEDS);
    c.ok("play 1");
    assert!(wait_state(&mut c, "play", Duration::from_secs(10)));
    assert!(
        wait_until(Duration::from_secs(60), || w.files().len() > SEEDS.len()),
        "autoplay appended nothing: {}",
        health(w.proxy.addr)
    );
    let files = w.files();
    assert!(files.iter().all(|f| !f.contains("token")), "{files:?}");
    // Played past the seeds: the entries are icyproxy's and answer MPD.
    assert!(
        wait_until(Duration::from_secs(60), || {
            get_value(&c.status(), "song").and_then(|s| s.parse::<usize>().ok())
                >= Some(SEEDS.len())
        }),
        "{}",
        w.mpd.log_text()
    );
    c.ok("stop");
}
