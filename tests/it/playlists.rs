//! Playlists imported by URL: `icyproxy playlist import` and `sync` with a
//! real playlist command (tests/fixtures/fake-playlist, printing JSON
//! shaped like yt-dlp's), the tracks it lists played through the real
//! server, MPD's playlist files, and the background sync.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::music::listing;
use crate::common::*;

const ROAD: &str = "https://music.youtube.com/playlist?list=PLroad";
const WAIT: Duration = Duration::from_secs(20);

/// A config whose playlist command is the fake one, reading `DIR/KEY.json`.
struct Source {
    env: Env,
    lists: PathBuf,
    calls: PathBuf,
    _scratch: tempfile::TempDir,
}

impl Source {
    fn new(extra: &str) -> Source {
        let scratch = tempfile::tempdir().expect("tempdir");
        let lists = scratch.path().to_path_buf();
        let calls = lists.join("calls");
        // No resolver: `playlist add` of an id not stored leaves it bare.
        let command = fake_playlists(&calls, &lists).without_resolver();
        Source {
            env: env(&format!("{command}{extra}")),
            lists,
            calls,
            _scratch: scratch,
        }
    }

    /// What the source lists for `list=KEY` from now on.
    fn set(&self, key: &str, json: &str) {
        let _ = std::fs::remove_file(self.lists.join(format!("{key}.fail")));
        std::fs::write(self.lists.join(format!("{key}.json")), json).expect("write listing");
    }

    /// Makes `list=KEY` fail with `message` on stderr.
    fn fail(&self, key: &str, message: &str) {
        std::fs::write(self.lists.join(format!("{key}.fail")), message).expect("write failure");
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        icyproxy(&self.env, args, None)
    }

    fn db(&self) -> PathBuf {
        self.env.dir.path().join("data/tracks.db")
    }
}

fn flat_fixture() -> String {
    std::fs::read_to_string(fixture("flat-playlist.json")).expect("fixture")
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn import_stores_the_playable_entries_in_order_with_their_tags() {
    let s = Source::new("");
    s.set("PLroad", &flat_fixture());
    let o = s.run(&["playlist", "import", ROAD]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Road Trip: 4 tracks (4 new), 5 unavailable skipped\n"
    );
    // The command ran once, with the URL as one argument (no shell).
    assert_eq!(
        std::fs::read_to_string(&s.calls).expect("calls"),
        format!("{ROAD}\n")
    );
    let o = s.run(&["playlist", "list"]);
    assert_eq!(stdout(&o), format!("Road Trip\t4\t{ROAD}\n"));
    let o = s.run(&["playlist", "list", "Road Trip"]);
    assert_eq!(
        lines(&stdout(&o)),
        [
            "aaaaaaaaaa1\tRöyksopp\tHär Är Jag",
            "bbbbbbbbbb2\t坂本龍一\t戦場のメリークリスマス",
            "ccccccccccc\tSome Uploader\tA Cover",
            "ddddddddd-4\tDaft Punk\tDigital Love",
        ]
    );
    let o = s.run(&["get", "aaaaaaaaaa1"]);
    let got = stdout(&o);
    assert!(
        got.contains("\nstream_url\t\n"),
        "no URL before playing: {got}"
    );
    assert!(got.contains("\nduration_secs\t245\n"), "{got}");
    assert!(
        got.contains("\nthumbnail_url\thttps://i.ytimg.com/vi/aaaaaaaaaa1/hq720.jpg\n"),
        "{got}"
    );
    // The same source under another name: nothing new, one line.
    let o = s.run(&["playlist", "import", ROAD, "--name", "Mix"]);
    assert_eq!(stdout(&o), "Mix: 4 tracks (0 new), 5 unavailable skipped\n");
    let o = s.run(&["list"]);
    assert_eq!(stdout(&o).lines().count(), 4, "tracks stored once");
}

#[test]
fn a_failing_source_changes_nothing_and_says_why() {
    let s = Source::new("");
    // A URL that is not http(s): a usage error before anything runs.
    let o = s.run(&["playlist", "import", "file:///etc/passwd"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!s.calls.exists(), "the command ran");
    assert!(!s.db().exists(), "a database was created");
    // The command fails: its last stderr line, exit 1, no database.
    s.fail(
        "PLroad",
        "ERROR: [youtube:tab] PLroad: This playlist is private\n",
    );
    let o = s.run(&["playlist", "import", ROAD]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("ERROR: [youtube:tab] PLroad: This playlist is private"),
        "{}",
        stderr(&o)
    );
    assert!(!s.db().exists(), "a database was created");
    // Output that is not a playlist.
    for (json, why) in [
        ("not json", "not the JSON"),
        ("{\"title\":\"x\"}", "no \"entries\""),
    ] {
        s.set("PLroad", json);
        let o = s.run(&["playlist", "import", ROAD]);
        assert_eq!(o.status.code(), Some(1), "{json}");
        assert!(stderr(&o).contains(why), "{json}: {}", stderr(&o));
    }
    // A stored playlist survives a failing re-import untouched.
    s.set("PLroad", &flat_fixture());
    assert!(s.run(&["playlist", "import", ROAD]).status.success());
    let before = stdout(&s.run(&["playlist", "list", "Road Trip"]));
    s.fail("PLroad", "ERROR: HTTP Error 429: Too Many Requests\n");
    let o = s.run(&["playlist", "import", ROAD]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("429"), "{}", stderr(&o));
    assert_eq!(stdout(&s.run(&["playlist", "list", "Road Trip"])), before);
}

#[test]
fn sync_follows_each_source_and_a_failing_one_is_left_as_it_was() {
    let s = Source::new("");
    let a = "https://www.youtube.com/playlist?list=PLa";
    let b = "https://www.youtube.com/playlist?list=PLb";
    s.set(
        "PLa",
        &listing("A", &["aaaaaaaaaa1", "bbbbbbbbbb2", "ccccccccccc"]),
    );
    s.set("PLb", &listing("B", &["ddddddddd-4"]));
    assert!(s.run(&["playlist", "import", a]).status.success());
    assert!(s.run(&["playlist", "import", b]).status.success());
    // A: one removed, one added, two swapped. B: its source fails.
    s.set(
        "PLa",
        &listing("A", &["ccccccccccc", "aaaaaaaaaa1", "eeeeeeeeee5"]),
    );
    s.fail(
        "PLb",
        "ERROR: [youtube:tab] PLb: The playlist does not exist.\n",
    );
    let o = s.run(&["playlist", "sync"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "A: 3 tracks, 1 added, 1 removed, reordered\n");
    assert!(
        stderr(&o).contains("B: ")
            && stderr(&o).contains("does not exist")
            && stderr(&o).contains("left as it was"),
        "{}",
        stderr(&o)
    );
    let ids = |name: &str| -> Vec<String> {
        stdout(&s.run(&["playlist", "list", name]))
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(ids("A"), ["ccccccccccc", "aaaaaaaaaa1", "eeeeeeeeee5"]);
    assert_eq!(ids("B"), ["ddddddddd-4"]);
    // The removed entry's track is kept (the store is a cache).
    assert!(s.run(&["get", "bbbbbbbbbb2"]).status.success());
    let o = s.run(&["playlist", "sync", "A"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "A: 3 tracks, unchanged\n");
    assert!(
        s.run(&["playlist", "add", "Hand", "ccccccccccc"])
            .status
            .success()
    );
    let o = s.run(&["playlist", "sync", "Hand"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not imported from a URL"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn user_tags_stay_listing_tags_give_way_and_a_listed_track_plays() {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let (lists, calls) = (dir.path().join("lists"), dir.path().join("calls"));
    std::fs::create_dir_all(&lists).expect("lists");
    let resolved_calls = dir.path().join("resolved");
    let config = fake_resolver("json", &resolved_calls, &origin.url("/audio/50000"))
        .with_playlists(&calls, &lists);
    let mut served = Served::start(&config.to_string(), &[]);
    served.add("ccccccccccc", &origin.url("/audio/1000"), "Me", "My Title");
    std::fs::write(lists.join("PLroad.json"), flat_fixture()).expect("listing");
    let o = served.cli(&["playlist", "import", ROAD]);
    assert_eq!(
        stdout(&o),
        "Road Trip: 4 tracks (3 new), 5 unavailable skipped\n",
        "{}",
        stderr(&o)
    );
    // A user's tags win over the listing's.
    let shown = stdout(&served.cli(&["playlist", "list", "Road Trip"]));
    assert!(shown.contains("ccccccccccc\tMe\tMy Title\n"), "{shown}");
    // A listed track without a URL plays: resolved on the first request.
    let reply = get(served.addr, "/proxy/aaaaaaaaaa1/", &[]);
    assert_eq!(reply.status, 200);
    assert!(reply.body == audio_bytes(50_000), "body differs");
    // ... and YouTube Music's tags replace the listing's.
    let shown = stdout(&served.cli(&["playlist", "list", "Road Trip"]));
    assert!(
        shown.contains("aaaaaaaaaa1\tResolved Artist\tResolved Track\n"),
        "{shown}"
    );
    // Refreshing a user's track keeps the user's tags.
    assert!(served.cli(&["resolve", "ccccccccccc"]).status.success());
    let shown = stdout(&served.cli(&["playlist", "list", "Road Trip"]));
    assert!(shown.contains("ccccccccccc\tMe\tMy Title\n"), "{shown}");
    // The playlist served to MPD shows the new tags too.
    let m3u = get(served.addr, "/playlists/Road%20Trip.m3u", &[]).body_text();
    assert!(m3u.contains(",Resolved Artist - Resolved Track\n"), "{m3u}");
    assert!(
        m3u.contains("#EXTINF:-1,坂本龍一 - 戦場のメリークリスマス\n"),
        "{m3u}"
    );
    let _ = served.log_lines();
}

#[test]
fn mpd_dir_gets_one_m3u_per_playlist_and_foreign_files_are_left_alone() {
    let token = "mpd-dir-token-0123456789";
    let scratch = tempfile::tempdir().expect("tempdir");
    let mpd_dir = scratch.path().join("mpd-playlists");
    std::fs::create_dir_all(&mpd_dir).expect("mpd dir");
    let s = Source::new(&format!(
        "[server]\ntoken = {token:?}\n[playlists]\nmpd_dir = {:?}\nbase_url = \"http://pi.local:8080\"\n",
        mpd_dir.display().to_string()
    ));
    s.set("PLroad", &flat_fixture());
    assert!(s.run(&["playlist", "import", ROAD]).status.success());
    let file = mpd_dir.join("Road Trip.m3u");
    let text = std::fs::read_to_string(&file).expect("written");
    let want_first = format!(
        "#EXTM3U\n# written by icyproxy: changes here are overwritten\n#PLAYLIST:Road Trip\n\
         #EXTINF:245,Röyksopp - Här Är Jag\n\
         http://pi.local:8080/proxy/aaaaaaaaaa1/?icy=0&token={token}\n"
    );
    assert!(text.starts_with(&want_first), "{text}");
    assert_eq!(text.matches("#EXTINF:").count(), 4);
    assert_only(&mpd_dir, &["Road Trip.m3u"]);
    // Every change rewrites it; `playlist add` writes a new one.
    assert!(
        s.run(&["playlist", "remove", "Road Trip", "aaaaaaaaaa1"])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&file).expect("rewritten");
    assert_eq!(text.matches("#EXTINF:").count(), 3);
    assert!(
        s.run(&["playlist", "add", "Hand", "ddddddddd-4"])
            .status
            .success()
    );
    assert_only(&mpd_dir, &["Hand.m3u", "Road Trip.m3u"]);
    // A file icyproxy did not write is never replaced, nor the playlist made.
    let mine = mpd_dir.join("Mine.m3u");
    std::fs::write(&mine, "#EXTM3U\nhttp://radio.example/stream\n").expect("user file");
    let o = s.run(&["playlist", "import", ROAD, "--name", "Mine"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not written by icyproxy"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&mine).expect("kept"),
        "#EXTM3U\nhttp://radio.example/stream\n"
    );
    assert!(!stdout(&s.run(&["playlist", "list"])).contains("Mine"));
    // Removing a playlist removes its file.
    assert!(s.run(&["playlist", "remove", "Road Trip"]).status.success());
    assert_only(&mpd_dir, &["Hand.m3u", "Mine.m3u"]);
}

/// The directory holds exactly these files (no temporary ones left).
fn assert_only(dir: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, names);
}

#[test]
fn the_server_syncs_in_the_background_and_logs_a_failure_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (lists, calls) = (dir.path().join("lists"), dir.path().join("calls"));
    std::fs::create_dir_all(&lists).expect("lists");
    let config = format!(
        "{}[playlists]\nsync_minutes = 0.005\n",
        fake_playlists(&calls, &lists).without_resolver()
    );
    let mut served = Served::start(&config, &[]);
    let url = "https://www.youtube.com/playlist?list=PLbg";
    std::fs::write(lists.join("PLbg.json"), listing("BG", &["aaaaaaaaaa1"])).expect("listing");
    assert!(served.cli(&["playlist", "import", url]).status.success());
    std::fs::write(
        lists.join("PLbg.json"),
        listing("BG", &["aaaaaaaaaa1", "bbbbbbbbbb2"]),
    )
    .expect("listing");
    let line = served.wait_for_line(WAIT, |l| {
        l.contains("playlist synced: BG: 2 tracks, 1 added")
    });
    assert!(line.is_some(), "no sync: {:#?}", served.log_lines());
    assert_eq!(
        stdout(&served.cli(&["playlist", "list"])),
        format!("BG\t2\t{url}\n")
    );
    // Failing from now on: one warning, however many rounds fail.
    std::fs::write(lists.join("PLbg.fail"), "ERROR: HTTP Error 429\n").expect("fail");
    let metrics = |served: &Served| {
        let text = get(served.addr, "/metrics", &[]).body_text();
        let value = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        (
            value("icyproxy_playlist_syncs_total"),
            value("icyproxy_playlist_sync_failures_total"),
        )
    };
    assert!(
        wait_until(WAIT, || metrics(&served).1 >= 3),
        "failures not counted: {:?}",
        metrics(&served)
    );
    let warned = served
        .log_lines()
        .iter()
        .filter(|l| l.contains("playlist BG: sync failed, left as it was") && l.contains("429"))
        .count();
    assert_eq!(warned, 1, "{:#?}", served.log_lines());
    std::fs::remove_file(lists.join("PLbg.fail")).expect("unfail");
    let line = served.wait_for_line(WAIT, |l| l.contains("playlist sync works again: BG"));
    assert!(line.is_some(), "{:#?}", served.log_lines());
    let (syncs, failures) = metrics(&served);
    assert!(syncs > failures && failures >= 3, "{syncs} {failures}");
    assert_eq!(
        stdout(&served.cli(&["playlist", "list"])),
        format!("BG\t2\t{url}\n")
    );
}

/// No silent data loss: an import onto a playlist made by hand or from
/// another source is refused unless `--replace`; the same URL again is a
/// sync; entries cannot be added by hand to an imported playlist (sync
/// would drop them), and the refusal says how to keep them.
#[test]
fn imports_never_replace_a_playlist_from_elsewhere_without_replace() {
    let s = Source::new("");
    let other = "https://music.youtube.com/playlist?list=PLother";
    s.set(
        "PLroad",
        &listing("Road Trip", &["AAAAAAAAAAA", "BBBBBBBBBBB"]),
    );
    s.set("PLother", &listing("Other", &["CCCCCCCCCCC"]));
    let entries = |name: &str| stdout(&s.run(&["playlist", "list", name]));

    // Made by hand: refused, kept; --replace replaces.
    let o = s.run(&["playlist", "add", "Road Trip", "DDDDDDDDDDD", "EEEEEEEEEEE"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = s.run(&["playlist", "import", ROAD]);
    assert!(!o.status.success());
    let text = stderr(&o);
    assert!(
        text.contains("\"Road Trip\" exists and was made by hand (2 tracks)")
            && text.contains("--replace"),
        "{text}"
    );
    assert!(entries("Road Trip").starts_with("DDDDDDDDDDD"), "kept");
    let o = s.run(&["playlist", "import", ROAD, "--replace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(entries("Road Trip").starts_with("AAAAAAAAAAA"));

    // The same URL again: a sync, said as one.
    let o = s.run(&["playlist", "import", ROAD]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "Road Trip: 2 tracks, unchanged");

    // Another source onto it: refused, then replaced on request.
    let o = s.run(&["playlist", "import", other, "--name", "Road Trip"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!("was imported from another source ({ROAD})")),
        "{}",
        stderr(&o)
    );
    assert!(entries("Road Trip").starts_with("AAAAAAAAAAA"));

    // By hand onto an imported playlist: refused with the way to keep them.
    let o = s.run(&["playlist", "add", "Road Trip", "FFFFFFFFFFF"]);
    assert!(!o.status.success());
    let text = stderr(&o);
    assert!(
        text.contains("is imported from") && text.contains("playlist add \"Road Trip extras\""),
        "{text}"
    );
    let o = s.run(&["playlist", "sync", "Road Trip"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), "Road Trip: 2 tracks, unchanged");

    let o = s.run(&[
        "playlist",
        "import",
        other,
        "--name",
        "Road Trip",
        "--replace",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(entries("Road Trip").starts_with("CCCCCCCCCCC"));
}

/// The `icyproxy playlist …` lines of docs/commands.md's "Playlists", run
/// in their order as a newcomer pastes them (the import's `PL...` listing
/// the Road Trip fixture): each one succeeds.
#[test]
fn the_playlist_commands_of_the_docs_run_in_their_order() {
    let s = Source::new("");
    s.set("PL...", &flat_fixture());
    let home = s.env.dir.path().join("home");
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/commands.md"))
            .expect("docs");
    let section = docs
        .split("\n## Playlists\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Playlists section");
    let mut ran = 0;
    for line in section.lines() {
        let Some(command) = line
            .trim_start_matches("$ ")
            .strip_prefix("icyproxy playlist ")
        else {
            continue;
        };
        let command = command.split("  #").next().unwrap_or("").trim();
        let command = command.replace("~/", &format!("{}/", home.display()));
        let mut args = vec!["playlist".to_owned()];
        args.extend(shell_words(&command));
        if let Some(out) = args.iter().skip_while(|a| *a != "--output").nth(1) {
            let dir = Path::new(out).parent().expect("dir");
            std::fs::create_dir_all(dir).expect("output dir");
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = s.run(&args);
        assert!(o.status.success(), "{line}: {}", stderr(&o));
        ran += 1;
    }
    assert!(ran >= 3, "{ran} commands found");
}

/// Words as sh splits a line of them: spaces, and '…' quoting.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}
