//! The YouTube Music reader against a stand-in for music.youtube.com's
//! web API (`common/ytmusic.rs`): one request per page, tags from the
//! answer, no yt-dlp run; and, with the stand-in broken, the yt-dlp path
//! (`common/music.rs`) instead, said in the log with the JSON path.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::music::Music;
use crate::common::ytmusic::{self, Mode, YtMusic};
use crate::common::*;

/// A CLI config on a fresh store: the reader's stand-in, and the yt-dlp
/// stand-ins to fall back to.
struct World {
    api: YtMusic,
    music: Music,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

fn world(youtube_extra: &str, resolver_extra: &str) -> World {
    let api = YtMusic::start();
    let music = Music::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("cli.toml");
    let resolver = music.resolver_and(
        "music",
        "http://127.0.0.1:9/tone.webm",
        resolver_extra,
        &api.section(youtube_extra),
    );
    std::fs::write(
        &config,
        format!("[store]\npath = \"tracks.db\"\n{resolver}[mpd]\naddress = \"\"\n"),
    )
    .expect("config");
    World {
        api,
        music,
        config,
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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The rows of a printed table (`N  Artist - Title  m:ss  ID`).
fn rows(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

#[test]
fn a_search_of_20_is_one_request_with_tags_and_no_yt_dlp() {
    let w = world("", "");
    let o = cli(&w.config, &["search", "daft", "punk", "--limit", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let printed = rows(&out);
    assert_eq!(printed.len(), 20, "{out}");
    let (id0, title0, artist0) = ytmusic::search_song(0);
    assert!(
        printed[0].contains(&format!("{artist0} - {title0}")) && printed[0].contains(&id0),
        "{}",
        printed[0]
    );
    assert!(printed[0].contains("3:00"), "duration: {}", printed[0]);
    let searches = w.api.seen_at("search");
    assert_eq!(searches.len(), 1, "one request");
    let asked = &searches[0];
    assert_eq!(asked.body["query"], "daft punk");
    assert_eq!(asked.body["params"], "EgWKAQIIAWoMEA4QChADEAQQCRAF");
    let client = &asked.body["context"]["client"];
    assert_eq!(client["clientName"], "WEB_REMIX");
    let version = client["clientVersion"].as_str().unwrap_or("");
    assert!(
        version.starts_with("1.20") && version.ends_with(".01.00") && version.len() == 16,
        "{version}"
    );
    assert_eq!(
        (client["hl"].as_str(), client["gl"].as_str()),
        (Some("en"), Some("US"))
    );
    // Anyone's call: the consent cookie only, nothing signed.
    assert_eq!(asked.header("cookie"), Some("SOCS=CAI"));
    assert_eq!(asked.header("authorization"), None);
    assert!(w.music.resolver_runs().is_empty(), "no resolver run");
    assert!(w.music.calls().is_empty(), "no yt-dlp listing");
    // Stored with album, duration and a big cover: a second look-up is local.
    let o = cli(&w.config, &["get", &id0]);
    let shown = stdout(&o);
    assert!(shown.contains("Album 0"), "{shown}");
    assert!(shown.contains("=w544-h544"), "{shown}");
}

#[test]
fn a_search_past_one_page_follows_the_continuation() {
    let w = world("", "");
    let o = cli(&w.config, &["search", "daft punk", "--limit", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(rows(&stdout(&o)).len(), 30);
    let searches = w.api.seen_at("search");
    assert_eq!(searches.len(), 2, "two requests");
    assert!(
        searches[1].query.contains("ctoken=page%2D1")
            || searches[1].query.contains("ctoken=page-1"),
        "{}",
        searches[1].query
    );
    assert_eq!(searches[1].body["query"], "daft punk", "the body as it was");
    let (id21, _, _) = ytmusic::search_song(21);
    assert!(stdout(&o).contains(&id21));
}

#[test]
fn the_other_sections_list_albums_artists_and_playlists() {
    let w = world("", "");
    for (flag, params, kind) in [
        ("--albums", "EgWKAQIYAWoMEA4QChADEAQQCRAF", "Album Result 0"),
        (
            "--artists",
            "EgWKAQIgAWoMEA4QChADEAQQCRAF",
            "Artist Result 0",
        ),
        (
            "--playlists",
            "Eg-KAQwIABAAGAAgACgBMABqChAEEAMQCRAFEAo%3D",
            "Playlist Result 0",
        ),
    ] {
        let o = cli(&w.config, &["search", "x", flag]);
        assert!(o.status.success(), "{flag}: {}", stderr(&o));
        assert!(stdout(&o).contains(kind), "{flag}: {}", stdout(&o));
        let last = w.api.seen_at("search").pop().expect("asked");
        assert_eq!(last.body["params"], params, "{flag}");
    }
}

#[test]
fn radio_is_read_from_next_with_its_continuation() {
    let w = world("", "");
    let o = cli(&w.config, &["radio", "seedsong001", "--limit", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let printed = rows(&out);
    assert_eq!(printed.len(), 30, "{out}");
    assert!(!out.contains("seedsong001"), "the seed is left out: {out}");
    let (id0, title0, artist0) = ytmusic::radio_song(0);
    assert!(printed[0].contains(&format!("{artist0} - {title0}")) && printed[0].contains(&id0));
    let asked = w.api.seen_at("next");
    assert_eq!(asked.len(), 2, "first page and one continuation");
    assert_eq!(asked[0].body["videoId"], "seedsong001");
    assert_eq!(asked[0].body["playlistId"], "RDAMVMseedsong001");
    assert_eq!(asked[0].body["isAudioOnly"], true);
    assert!(
        asked[1].query.contains("ctoken=radio%2D1") || asked[1].query.contains("ctoken=radio-1")
    );
    assert!(w.music.calls().is_empty() && w.music.resolver_runs().is_empty());
}

/// The stand-in broken each way: `search` and `radio` still answer,
/// through yt-dlp, and the failure is said with what went wrong.
#[test]
fn a_broken_reader_falls_back_to_yt_dlp_and_says_where() {
    let w = world("", "");
    let cases = [
        (Mode::Empty, "no contents under the answer's top"),
        (Mode::Truncated, "not JSON"),
        (
            Mode::BadRequest,
            "HTTP 400: Request contains an invalid argument",
        ),
        (Mode::Stall(Duration::from_secs(5)), "no answer in time"),
    ];
    for (mode, said) in cases {
        w.api.set_mode(mode);
        let runs = w.music.calls().len();
        let o = cli(&w.config, &["search", "daft punk", "--limit", "3"]);
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        assert_eq!(rows(&stdout(&o)).len(), 3, "{mode:?}");
        assert_eq!(w.music.calls().len(), runs + 1, "{mode:?}: through yt-dlp");
        let err = stderr(&o);
        assert!(
            err.contains("YouTube Music's search") && err.contains(said) && err.contains("yt-dlp"),
            "{mode:?}: {err}"
        );
    }
    w.api.set_mode(Mode::Empty);
    let o = cli(&w.config, &["radio", "seedsong001", "--limit", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(rows(&stdout(&o)).len(), 5);
    let err = stderr(&o);
    assert!(
        err.contains("YouTube Music's radio") && err.contains("no contents under the answer's top"),
        "{err}"
    );
}

#[test]
fn an_album_is_one_request_its_tracks_tagged_with_the_album() {
    let w = world("", "");
    let o = cli(
        &w.config,
        &[
            "album",
            &format!("https://music.youtube.com/browse/{}", ytmusic::ALBUM),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("Album Artist - Stand-in Album (2024)\n"),
        "{out}"
    );
    let printed = rows(&out);
    assert_eq!(printed.len(), 12, "{out}");
    assert!(printed[0].contains("Album Artist - Album Track 1") && printed[0].contains("1:56"));
    let asked = w.api.seen_at("browse");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].body["browseId"], ytmusic::ALBUM);
    assert_eq!(asked[0].header("authorization"), None);
    let shown = stdout(&cli(&w.config, &["get", &ytmusic::video_id("albm", 1)]));
    assert!(
        shown.contains("Stand-in Album") && shown.contains("albumcover=w544-h544"),
        "{shown}"
    );
}

#[test]
fn an_artist_lists_top_songs_or_albums() {
    let w = world("", "");
    let o = cli(&w.config, &["artist", ytmusic::ARTIST]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(rows(&out).len(), 5, "{out}");
    assert!(out.contains("Page Artist - Top Song 0"), "{out}");
    let o = cli(&w.config, &["artist", ytmusic::ARTIST, "--albums"]);
    let out = stdout(&o);
    assert!(
        out.contains("Page Album 1") && out.contains("MPREb_page1"),
        "{out}"
    );
}

/// `SAPISIDHASH TS_SHA1("TS SAPISID https://music.youtube.com")`.
fn assert_signed(seen: &ytmusic::Seen) {
    let auth = seen.header("authorization").expect("signed");
    let (ts, hash) = auth
        .strip_prefix("SAPISIDHASH ")
        .and_then(|rest| rest.split_once('_'))
        .expect("SAPISIDHASH TS_HASH");
    let want = sha1_smol::Sha1::from(format!("{ts} sapi/sid123 https://music.youtube.com"))
        .digest()
        .to_string();
    assert_eq!(hash, want, "the hash of {ts}");
    assert_eq!(
        seen.header("cookie"),
        Some("SAPISID=sapi/sid123; SID=the-sid")
    );
    assert_eq!(seen.header("x-goog-authuser"), Some("0"));
    assert_eq!(seen.header("x-origin"), Some("https://music.youtube.com"));
}

#[test]
fn likes_are_signed_with_the_jar_and_need_it() {
    let w = world("", "");
    let o = cli(&w.config, &["like", "seedsong001"]);
    assert!(!o.status.success(), "no jar, no like");
    assert!(stderr(&o).contains("cookies_file"), "{}", stderr(&o));
    assert!(w.api.seen().is_empty(), "nothing sent without a jar");

    let with_jar = world(
        "",
        &format!(
            "cookies_file = {:?}",
            jar(w._dir.path()).display().to_string()
        ),
    );
    for (command, endpoint) in [
        ("like", "like/like"),
        ("dislike", "like/dislike"),
        ("unlike", "like/removelike"),
    ] {
        let o = cli(
            &with_jar.config,
            &[command, "https://music.youtube.com/watch?v=seedsong001"],
        );
        assert!(o.status.success(), "{command}: {}", stderr(&o));
        let seen = with_jar.api.seen_at(endpoint).pop().expect("asked");
        assert_eq!(seen.body["target"]["videoId"], "seedsong001");
        assert!(seen.query.contains("key="), "{}", seen.query);
        assert_signed(&seen);
    }
    // Public calls stay anonymous with a jar too.
    let o = cli(&with_jar.config, &["search", "x", "--limit", "1"]);
    assert!(o.status.success());
    let search = with_jar.api.seen_at("search").pop().expect("searched");
    assert_eq!(search.header("cookie"), Some("SOCS=CAI"));
    assert_eq!(search.header("authorization"), None);
}

#[test]
fn library_sync_reads_liked_songs_playlists_and_mixes_signed_and_keeps_them_when_the_feed_breaks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = world(
        "",
        &format!("cookies_file = {:?}", jar(dir.path()).display().to_string()),
    );
    let o = cli(&w.config, &["library", "sync"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lists = stdout(&cli(&w.config, &["playlist", "list"]));
    for name in ["Liked songs", "Road Trip", "Liked songs (2)", "My Supermix"] {
        assert!(
            lists.lines().any(|l| l.starts_with(name)),
            "{name}: {lists}\n{out}"
        );
    }
    let liked = stdout(&cli(&w.config, &["playlist", "list", "Liked songs"]));
    assert!(liked.contains(&ytmusic::playlist_song("LM", 0)), "{liked}");
    assert_eq!(
        liked.matches(&ytmusic::playlist_song("LM", 0)[..4]).count(),
        3,
        "the liked songs, not the other list of that title: {liked}"
    );
    // Signed where the account is needed; never a yt-dlp listing.
    let browses = w.api.seen_at("browse");
    assert!(!browses.is_empty());
    for seen in &browses {
        assert_signed(seen);
    }
    let mix = w
        .api
        .seen_at("next")
        .pop()
        .expect("the mix read as a queue");
    assert_eq!(mix.body["playlistId"], "RDTMAK5uy_super");
    assert!(w.music.calls().is_empty(), "{:?}", w.music.calls());

    // The feed lists nothing now: nothing is removed, and that is said.
    w.api.empty_library();
    let o = cli(&w.config, &["library", "sync"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("none removed"), "{}", stderr(&o));
    let after = stdout(&cli(&w.config, &["playlist", "list"]));
    assert!(after.lines().any(|l| l.starts_with("Road Trip")), "{after}");
}

#[test]
fn a_jar_that_no_longer_logs_in_is_told_to_be_exported_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cookies.txt");
    {
        use std::os::unix::fs::PermissionsExt;
        // No SAPISID: the account cannot be signed for.
        std::fs::write(&path, ".youtube.com\tTRUE\t/\tTRUE\t0\tPREF\tx\n").expect("jar");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let w = world(
        "",
        &format!("cookies_file = {:?}", path.display().to_string()),
    );
    let o = cli(&w.config, &["like", "seedsong001"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("export them again"), "{}", stderr(&o));
}

/// The server's own use of the reader (the library thread here): with
/// the stand-in answering `{}`, the library comes through yt-dlp, the log
/// says the JSON path once, and `/health` names the failure.
#[test]
fn the_server_falls_back_and_says_so_in_the_log_and_health() {
    use crate::common::music::{feed, listing};
    let api = YtMusic::start();
    api.set_mode(Mode::Empty);
    let music = Music::new();
    let jar = jar(&music.dir);
    music.set("LM", &listing("Liked music", &["aaaaaaaaaa1"]));
    music.set("feed", &feed(&[]));
    let config = format!(
        "{}[playlists]\nlibrary_minutes = 0.005\n",
        music.resolver_and(
            "music",
            "http://127.0.0.1:9/a",
            &format!("cookies_file = {:?}", jar.display().to_string()),
            &api.section(""),
        )
    );
    let mut served = Served::start(&config, &[]);
    let wait = Duration::from_secs(20);
    let said = served.wait_for_line(wait, |l| {
        l.contains("YouTube Music's playlist") && l.contains("no contents under the answer's top")
    });
    assert!(said.is_some(), "{:#?}", served.log_lines());
    let synced = served.wait_for_line(wait, |l| l.contains("library synced: Liked songs"));
    assert!(
        synced.is_some(),
        "through yt-dlp: {:#?}",
        served.log_lines()
    );
    let reader = &health(served.addr)["reader"];
    assert_eq!(reader["ok"], false, "{reader}");
    let failure = reader["last_failure"].as_str().unwrap_or("");
    assert!(
        failure.contains("no contents under the answer's top"),
        "{reader}"
    );
    assert!(
        reader["at"].as_i64().is_some() && reader["fallbacks"].as_u64() >= Some(1),
        "{reader}"
    );
    // Said once a streak, however many syncs fail.
    let addr = served.addr;
    assert!(wait_until(wait, || {
        health(addr)["reader"]["fallbacks"].as_u64() >= Some(3)
    }));
    let warnings = served
        .log_lines()
        .iter()
        .filter(|l| l.contains("no contents under the answer's top") && l.contains("WARN"))
        .count();
    assert_eq!(warnings, 1, "{:#?}", served.log_lines());
}

/// Autoplay through the reader, with a real MPD: the radio's songs are
/// appended tagged at once, and no resolver runs for them before the
/// append (warming is off here, so nothing resolves them ahead either).
#[test]
fn autoplay_appends_the_readers_radio_tagged_with_no_resolver_run() {
    use crate::common::mpd::{Mpd, skip_mpd_test};
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let api = YtMusic::start();
    let origin = Origin::start();
    let music = Music::new();
    let mpd = Mpd::started("");
    let resolver = music.resolver_and(
        "music",
        &origin.url("/file/tone-2s.wav"),
        "",
        &api.section(""),
    );
    let proxy = Proxy::start_with(&format!(
        "{resolver}[mpd]\naddress = {:?}\nautoplay = true\nwarm_ahead = 0\n",
        mpd.address()
    ));
    let mut c = mpd.connect();
    let seeds = ["seedsong001", "seedsong002", "seedsong003"];
    let urls: Vec<String> = seeds
        .iter()
        .map(|id| format!("http://{}/proxy/{id}/?icy=0", proxy.addr))
        .collect();
    c.add_all(&urls);
    c.ok("play 0");
    let addr = proxy.addr;
    assert!(
        wait_until(Duration::from_secs(30), || {
            health(addr)["autoplay"]["appended"].as_u64().unwrap_or(0) >= 10
        }),
        "{}",
        health(addr)
    );
    let runs = music.resolver_runs();
    let radio_ids: Vec<String> = (0..10).map(|n| ytmusic::radio_song(n).0).collect();
    assert!(
        runs.iter()
            .all(|run| !radio_ids.iter().any(|id| run.contains(id))),
        "a resolver run for a radio song before it played: {runs:?}"
    );
    let shown = mpd.mpc(&["-f", "%artist% - %title%", "playlist"]);
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines.len() >= 13, "{shown}");
    assert_eq!(lines[3], "Radio Artist 0 - Radio Song 0", "{shown}");
    assert!(!api.seen_at("next").is_empty());
    assert!(
        music.calls().is_empty(),
        "no yt-dlp listing: {:?}",
        music.calls()
    );
}

#[test]
fn a_playlist_import_is_one_request_a_page_with_tags_and_sync_reads_it_again() {
    let w = world("", "");
    let url = format!(
        "https://music.youtube.com/playlist?list={}",
        ytmusic::PLAYLIST
    );
    let o = cli(&w.config, &["playlist", "import", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let browses = w.api.seen_at("browse");
    assert_eq!(browses.len(), 2, "two pages of 100 and 50");
    assert_eq!(
        browses[0].body["browseId"],
        format!("VL{}", ytmusic::PLAYLIST)
    );
    assert_eq!(
        browses[1].body["continuation"],
        format!("more-{}", ytmusic::PLAYLIST)
    );
    assert_eq!(
        browses[0].header("authorization"),
        None,
        "no jar: anyone's call"
    );
    let name = format!("Stand-in list {}", ytmusic::PLAYLIST);
    let listed = stdout(&cli(&w.config, &["playlist", "list", &name]));
    assert_eq!(listed.lines().count(), 150, "{listed}");
    let last = ytmusic::playlist_song(ytmusic::PLAYLIST, 149);
    assert!(listed.contains(&last), "{listed}");
    let shown = stdout(&cli(&w.config, &["get", &last]));
    assert!(
        shown.contains("List Artist 149") && shown.contains("List Album"),
        "{shown}"
    );
    assert!(w.music.calls().is_empty() && w.music.resolver_runs().is_empty());
    let o = cli(&w.config, &["playlist", "sync", &name]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(w.api.seen_at("browse").len(), 4);
}

/// `[youtube] report_history`: a stream played 30 s or more is reported
/// once, as the web player reports it (the player answer's report URL,
/// `ver=2`, `c=WEB_REMIX`, a 16-character `cpn`), signed; a short one is not.
#[test]
fn a_song_heard_30_s_is_reported_to_the_history_once() {
    use std::io::{Read, Write};
    let api = YtMusic::start();
    let origin = Origin::start();
    let music = Music::new();
    let jar = jar(&music.dir);
    let resolver = music.resolver_and(
        "music",
        "http://127.0.0.1:9/a",
        &format!("cookies_file = {:?}", jar.display().to_string()),
        &api.section("report_history = true"),
    );
    let mut served = Served::start(&resolver, &[]);
    served.add("heardsong01", &origin.url("/audio/40000000"), "A", "Heard");
    served.add("shortsong01", &origin.url("/audio/40000000"), "A", "Short");
    let addr = served.addr;
    let play = |id: &str, secs: u64| {
        let mut c = connect(addr);
        write!(c, "GET /proxy/{id}/?icy=0 HTTP/1.1\r\nHost: x\r\n\r\n").expect("ask");
        let until = std::time::Instant::now() + Duration::from_secs(secs);
        let mut buf = [0u8; 8192];
        // A listener's pace: a little at a time, for `secs`.
        while std::time::Instant::now() < until {
            if c.read(&mut buf).unwrap_or(0) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    play("shortsong01", 2);
    play("heardsong01", 31);
    let wait = Duration::from_secs(20);
    let line = served.wait_for_line(wait, |l| {
        l.contains("history: heardsong01 reported as heard")
    });
    assert!(line.is_some(), "{:#?}", served.log_lines());
    let player = api.seen_at("player");
    assert_eq!(player.len(), 1, "{player:?}");
    assert_eq!(player[0].body["video_id"], "heardsong01");
    assert_signed(&player[0]);
    let stats: Vec<_> = api
        .seen()
        .into_iter()
        .filter(|s| s.endpoint == "/api/stats/playback")
        .collect();
    assert_eq!(stats.len(), 1, "{stats:?}");
    let query = &stats[0].query;
    assert!(
        query.contains("docid=heardsong01") && query.contains("ver=2&c=WEB_REMIX&cpn="),
        "{query}"
    );
    let cpn = query.rsplit("cpn=").next().unwrap_or("");
    assert_eq!(cpn.len(), 16, "{query}");
    assert_signed(&stats[0]);
    // The same song again at once is the same play.
    play("heardsong01", 31);
    let again = served.wait_for_line(wait, |l| l.contains("history: heardsong01 played again"));
    assert!(again.is_some(), "{:#?}", served.log_lines());
    assert_eq!(api.seen_at("player").len(), 1, "reported once");
}

#[test]
fn doctor_searches_through_the_reader_and_names_what_failed() {
    let w = world("", "");
    let o = cli(&w.config, &["doctor"]);
    let out = stdout(&o);
    let line = out.lines().find(|l| l.contains("reader")).unwrap_or("");
    assert!(line.contains("Artist 0 - Found Song 0"), "{out}");
    let asked = w.api.seen_at("search").pop().expect("searched");
    assert_eq!(asked.body["query"], "rick astley never gonna give you up");
    w.api.set_mode(Mode::Empty);
    let o = cli(&w.config, &["doctor"]);
    assert!(!o.status.success());
    let out = stdout(&o);
    let at = out.find("reader").expect("a reader line");
    let said = &out[at..];
    assert!(
        said.contains("YouTube Music's search")
            && said.contains("no contents under the answer's top"),
        "{out}"
    );
    assert!(
        said.contains("through yt-dlp"),
        "the fix says what still works: {out}"
    );
}
