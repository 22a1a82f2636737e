//! `icyproxy search` and MPD's channel `icyproxy`, with the yt-dlp
//! stand-ins of `tests/common/music.rs` and, for the queue, a real MPD
//! playing from the real server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::mpd::{Mpd, get_value, skip_mpd_test, wait_state};
use crate::common::music::Music;
use crate::common::*;

/// The real server (following `mpd` when given), the stand-ins resolving
/// to the 8 s tone of a test origin, and a CLI config on the same database.
struct World {
    music: Music,
    proxy: Proxy,
    cli: PathBuf,
    _origin: Origin,
    _dir: tempfile::TempDir,
}

fn world(mpd: Option<&Mpd>) -> World {
    let origin = Origin::start();
    let music = Music::new();
    let resolver = music.resolver("music", &origin.url("/file/tone.webm"), "");
    let mpd_part = match mpd {
        Some(mpd) => format!(
            "[mpd]\naddress = {:?}\n[playlists]\nmpd_dir = {:?}\n",
            mpd.address(),
            mpd.playlists.display().to_string()
        ),
        None => String::new(),
    };
    let proxy = Proxy::start_with(&format!("{resolver}{mpd_part}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = dir.path().join("cli.toml");
    let mpd_cli = mpd.map_or(String::new(), |m| {
        format!("[mpd]\naddress = {:?}\n", m.address())
    });
    std::fs::write(
        &cli,
        format!(
            "[store]\npath = {:?}\n{resolver}[playlists]\nbase_url = \"http://{}\"\n{mpd_cli}",
            proxy.db_path.display().to_string(),
            proxy.addr
        ),
    )
    .expect("cli config");
    World {
        music,
        proxy,
        cli,
        _origin: origin,
        _dir: dir,
    }
}

fn cli(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icyproxy"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run icyproxy")
}

#[test]
fn search_prints_numbered_results_with_their_tags_soon_after_yt_dlp() {
    let w = world(None);
    // The best of three runs: the suite runs beside this test on 2 cores.
    let mut ours = f64::MAX;
    let mut out = String::new();
    for round in 0..3 {
        let before = w.music.own_time();
        let started = Instant::now();
        let o = cli(&w.cli, &["search", "daft", "punk", "--limit", "5"]);
        let took = started.elapsed().as_secs_f64();
        assert!(o.status.success(), "{}", stderr(&o));
        let own = w.music.own_time() - before;
        eprintln!(
            "search {round}: {took:.3} s in all, {own:.3} s in the stand-ins, {:.3} s ours",
            took - own
        );
        ours = ours.min(took - own);
        out = stdout(&o);
    }
    assert!(ours < 0.2, "{ours:.3} s besides the stand-ins' own time");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    for (i, line) in lines.iter().enumerate() {
        let id = line.split_whitespace().last().expect("id");
        let want = format!(
            "{:>2}  Artist {id} - Track {id}  {:>5}  {id}",
            i + 1,
            "3:21"
        );
        assert_eq!(*line, want);
    }
    // A search run asked for 5 (yt-dlp pages without end otherwise), a
    // resolver run for their tags (the search lists titles only); the
    // second time the tags are stored and only the search runs.
    let calls = w.music.calls();
    assert_eq!(
        calls[0],
        "--playlist-end 5 https://music.youtube.com/search?q=daft%20punk#songs"
    );
    assert_eq!(
        w.music.resolver_runs().len(),
        1,
        "{:?}",
        w.music.resolver_runs()
    );
    // Stored with their tags: playing one needs no yt-dlp.
    let id = lines[0].split_whitespace().last().expect("id");
    let got = stdout(&cli(&w.cli, &["get", id]));
    assert!(got.contains(&format!("artist\tArtist {id}\n")), "{got}");
    assert!(got.contains("\nstream_url\thttp"), "{got}");

    let o = cli(
        &w.cli,
        &[
            "search",
            "daft",
            "punk",
            "--videos",
            "--limit",
            "2",
            "--playlist",
            "Found",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with("stored as the playlist Found\n"),
        "{}",
        stdout(&o)
    );
    assert!(
        w.music.calls()[3].ends_with("#videos"),
        "{:?}",
        w.music.calls()
    );
    let o = cli(&w.cli, &["playlist", "list"]);
    assert_eq!(stdout(&o), "Found\t2\n");
}

#[test]
fn search_add_queues_tagged_seekable_songs_in_a_real_mpd() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let mpd = Mpd::started("");
    let w = world(None);
    let cli_config = std::fs::read_to_string(&w.cli).expect("cli");
    std::fs::write(
        &w.cli,
        format!("{cli_config}[mpd]\naddress = {:?}\n", mpd.address()),
    )
    .expect("cli");
    let o = cli(
        &w.cli,
        &["search", "one more time", "--limit", "3", "--add"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with("added 3 songs to MPD's queue\n"),
        "{}",
        stdout(&o)
    );
    let ids: Vec<String> = stdout(&o)
        .lines()
        .take(3)
        .map(|l| l.split_whitespace().last().expect("id").to_owned())
        .collect();
    // Before anything played: every client shows Artist - Title.
    let want: Vec<String> = ids
        .iter()
        .map(|id| format!("Artist {id} - Track {id}"))
        .collect();
    assert_eq!(mpd.mpc(&["playlist"]).lines().collect::<Vec<_>>(), want);
    let files = mpd.mpc(&["-f", "%file%", "playlist"]);
    assert!(files.lines().all(|f| f.ends_with("/?icy=0")), "{files}");
    // Two command lists for three songs: adds, then tags.
    assert_eq!(mpd.commands("addid").len(), 3);
    let mut c = mpd.connect();
    c.ok("play 0");
    assert!(wait_state(&mut c, "play", Duration::from_secs(15)));
    assert!(wait_until(Duration::from_secs(10), || {
        get_value(&c.status(), "elapsed")
            .and_then(|e| e.parse::<f64>().ok())
            .is_some_and(|e| e > 0.5)
    }));
    assert_eq!(mpd.mpc_current().trim(), want[0]);
    mpd.mpc(&["seek", "50%"]);
    let elapsed = get_value(&c.status(), "elapsed")
        .and_then(|e| e.parse::<f64>().ok())
        .expect("elapsed");
    assert!(
        (3.5..6.0).contains(&elapsed),
        "after seek 50% of 8 s: {elapsed}"
    );
    assert_eq!(get_value(&c.status(), "state"), Some("play"));
    assert_eq!(mpd.mpc_current().trim(), want[0], "tags stay while playing");
}

#[test]
fn a_search_sent_over_mpd_s_channel_becomes_a_stored_playlist() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let mpd = Mpd::started("");
    let w = world(Some(&mpd));
    assert!(wait_until(Duration::from_secs(15), || health(w.proxy.addr)
        ["mpd"]
        == "connected"));
    // The follower subscribes right after connecting.
    assert!(wait_until(Duration::from_secs(5), || mpd
        .mpc(&["channels"])
        .contains("icyproxy")));
    let started = Instant::now();
    mpd.mpc(&["sendmessage", "icyproxy", "search daft punk"]);
    assert!(wait_until(Duration::from_secs(15), || {
        mpd.mpc(&["lsplaylists"])
            .lines()
            .any(|l| l == "Search: daft punk")
    }));
    let took = started.elapsed().as_secs_f64();
    let own = w.music.own_time();
    eprintln!("channel search: {took:.3} s in all, {own:.3} s in the stand-ins");
    assert!(took - own < 2.0, "{took:.3} s, {own:.3} s the stand-ins'");
    mpd.mpc(&["load", "Search: daft punk"]);
    let shown = mpd.mpc(&["playlist"]);
    assert_eq!(shown.lines().count(), 10, "{shown}");
    assert!(shown.lines().all(|l| l.starts_with("Artist ")), "{shown}");
    mpd.mpc(&["clear"]);

    // add QUERY: the first song found, tagged, at the end of the queue.
    mpd.mpc(&["sendmessage", "icyproxy", "add get lucky"]);
    assert!(wait_until(Duration::from_secs(15), || mpd
        .mpc(&["playlist"])
        .lines()
        .count()
        == 1));
    assert!(
        mpd.mpc(&["playlist"]).starts_with("Artist "),
        "{}",
        mpd.mpc(&["playlist"])
    );

    // A failing search is logged; the follower goes on.
    let broken = w.music.dir.join("search.fail");
    std::fs::write(&broken, "ERROR: [youtube:search] broken: HTTP Error 500").expect("break");
    mpd.mpc(&["sendmessage", "icyproxy", "search broken"]);
    mpd.mpc(&["sendmessage", "icyproxy", "help"]);
    mpd.mpc(&["sendmessage", "icyproxy", "no such command"]);
    assert!(wait_until(Duration::from_secs(15), || {
        w.music.calls().iter().any(|c| c.contains("q=broken"))
    }));
    std::fs::remove_file(&broken).expect("mend");
    // Only the newest searches are kept.
    for i in 1..=6 {
        mpd.mpc(&["sendmessage", "icyproxy", &format!("search q{i}")]);
    }
    assert!(wait_until(Duration::from_secs(20), || {
        mpd.mpc(&["lsplaylists"]).lines().any(|l| l == "Search: q6")
    }));
    let lists = mpd.mpc(&["lsplaylists"]);
    let searches: Vec<&str> = lists
        .lines()
        .filter(|l| l.starts_with("Search: "))
        .collect();
    assert_eq!(searches.len(), 5, "{lists}");
    assert!(
        !lists.contains("Search: daft punk") && !lists.contains("Search: q1\n"),
        "{lists}"
    );
    assert_eq!(health(w.proxy.addr)["mpd"], "connected");
}

#[test]
fn channel_commands_past_the_budget_are_dropped_and_said_once() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let mpd = Mpd::started("");
    let origin = Origin::start();
    let music = Music::new();
    let resolver = music.resolver("music", &origin.url("/file/tone.webm"), "");
    let mut served = Served::start(
        &format!(
            "{resolver}[mpd]\naddress = {:?}\nchannel_per_minute = 2\n",
            mpd.address()
        ),
        &[],
    );
    assert!(wait_until(Duration::from_secs(15), || mpd
        .mpc(&["channels"])
        .contains("icyproxy")));
    for q in ["one", "two", "three", "four"] {
        mpd.mpc(&["sendmessage", "icyproxy", &format!("search {q}")]);
    }
    // Free of the budget, and run after the four (in turn): when it is
    // logged, the four were handled.
    mpd.mpc(&["sendmessage", "icyproxy", "help"]);
    assert!(wait_until(Duration::from_secs(30), || served
        .log_lines()
        .iter()
        .any(|l| l.contains("MPD channel icyproxy understands"))));
    let said: Vec<String> = served
        .log_lines()
        .iter()
        .filter(|l| l.contains("channel_per_minute"))
        .cloned()
        .collect();
    assert_eq!(said.len(), 1, "once a streak: {said:?}");
    assert!(
        said[0].contains("more than 2 commands") && said[0].contains("\"search three\" dropped"),
        "{said:?}"
    );
    let calls = music.calls();
    for (q, ran) in [
        ("one", true),
        ("two", true),
        ("three", false),
        ("four", false),
    ] {
        assert_eq!(
            calls.iter().any(|c| c.contains(&format!("q={q}"))),
            ran,
            "{q}: {calls:?}"
        );
    }
}

/// Moves every time the store at `db` holds `days` into the past (the
/// found tracks' table only where this build has one).
fn age_store(db: &Path, days: i64) {
    let conn = rusqlite::Connection::open(db).expect("open the store");
    let secs = days * 86_400;
    conn.execute("UPDATE tracks SET updated_at = updated_at - ?1", [secs])
        .expect("age tracks");
    let _ = conn.execute("UPDATE found_tracks SET found_at = found_at - ?1", [secs]);
}

fn stored_ids(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open the store");
    let mut stmt = conn
        .prepare("SELECT video_id FROM tracks ORDER BY video_id")
        .expect("select");
    stmt.query_map([], |r| r.get(0))
        .expect("ids")
        .collect::<Result<Vec<String>, _>>()
        .expect("rows")
}

#[test]
fn tracks_only_searches_found_age_out_and_nothing_else_does() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let mpd = Mpd::started("");
    let music = Music::new();
    let resolver = music.resolver("music", "http://127.0.0.1:9/a", "");
    let e = env(&format!("{resolver}[mpd]\naddress = {:?}\n", mpd.address()));
    let db = e.dir.path().join("data/tracks.db");
    let found = |query: &str, limit: &str| -> Vec<String> {
        let o = succeeds(&e, &["search", query, "--limit", limit]);
        stdout(&o)
            .lines()
            .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
            .collect()
    };
    let old = found("old songs", "6");
    assert_eq!(old.len(), 6, "{old:?}");
    // One goes in a playlist, one the user adds, one is in MPD's queue.
    succeeds(&e, &["playlist", "add", "Mine", &old[1]]);
    succeeds(
        &e,
        &[
            "add",
            &old[2],
            "--url",
            "http://127.0.0.1:9/b",
            "--title",
            "Mine",
        ],
    );
    let mut c = mpd.connect();
    c.add_all(&[format!("http://127.0.0.1:9/proxy/{}/?icy=0", old[3])]);
    age_store(&db, 40);
    // The first one is found again by a later search.
    assert_eq!(found("old songs", "1")[..], old[..1]);
    let young = found("new songs", "2");
    let before = stored_ids(&db);
    assert_eq!(before.len(), 8, "{before:?}");
    let _proxy = Proxy::start_with(&format!(
        "[store]\npath = {:?}\n{resolver}[mpd]\naddress = {:?}\n",
        db.display().to_string(),
        mpd.address()
    ));
    let gone = |id: &String| !stored_ids(&db).contains(id);
    assert!(
        wait_until(Duration::from_secs(20), || gone(&old[4]) && gone(&old[5])),
        "{:?} stayed: {:?}",
        &old[4..],
        stored_ids(&db)
    );
    let mut kept: Vec<String> = old[..4].iter().chain(&young).cloned().collect();
    kept.sort();
    assert_eq!(stored_ids(&db), kept);
}

/// What a channel command did, or why it failed, is answered on
/// `icyproxy-reply` for a client subscribed to it.
#[test]
fn channel_commands_are_answered_on_the_reply_channel() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let mpd = Mpd::started("");
    let w = world(Some(&mpd));
    assert!(wait_until(Duration::from_secs(15), || mpd
        .mpc(&["channels"])
        .contains("icyproxy")));
    let mut reader = mpd.connect();
    reader.ok("subscribe icyproxy-reply");
    let mut answers: Vec<String> = Vec::new();
    let mut wait_answer = |reader: &mut crate::common::mpd::MpdClient, want: &str| {
        let found = wait_until(Duration::from_secs(30), || {
            answers.extend(
                reader
                    .ok("readmessages")
                    .into_iter()
                    .filter(|(k, _)| k == "message")
                    .map(|(_, v)| v),
            );
            answers.iter().any(|a| a.contains(want))
        });
        assert!(found, "no answer with {want:?}: {answers:?}");
    };
    mpd.mpc(&["sendmessage", "icyproxy", "help"]);
    wait_answer(&mut reader, "MPD channel icyproxy understands");
    mpd.mpc(&["sendmessage", "icyproxy", "serch typo"]);
    wait_answer(&mut reader, "unknown command \"serch typo\"");
    mpd.mpc(&["sendmessage", "icyproxy", "search daft punk"]);
    wait_answer(&mut reader, "search \"daft punk\": 10 songs");
    std::fs::write(
        w.music.dir.join("search.fail"),
        "ERROR: [youtube:search] broken: HTTP Error 500",
    )
    .expect("break");
    mpd.mpc(&["sendmessage", "icyproxy", "search broken"]);
    wait_answer(&mut reader, "\"search broken\" failed: ");
}
