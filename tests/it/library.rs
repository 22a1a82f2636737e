//! `icyproxy library sync` and the cookies every yt-dlp run gets, with the
//! stand-ins of `tests/common/music.rs` (fake-ytdlp-music prints yt-dlp's
//! shapes for "Liked music", the playlists feed and playlists, and records
//! its arguments).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::music::{Music, feed, listing};
use crate::common::*;

struct Library {
    music: Music,
    env: Env,
    cookies: PathBuf,
}

const JAR: &str =
    "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t0\tLOGIN_INFO\tsecret\n";

impl Library {
    /// A config with the stand-ins and, with `mode`, a cookies file of that mode.
    fn new(mode: Option<u32>) -> Library {
        let music = Music::new();
        let cookies = music.dir.join("my-cookies.txt");
        let extra = match mode {
            Some(mode) => {
                std::fs::write(&cookies, JAR).expect("jar");
                std::fs::set_permissions(&cookies, std::fs::Permissions::from_mode(mode))
                    .expect("chmod");
                format!("cookies_file = {:?}", cookies.display().to_string())
            }
            None => String::new(),
        };
        let env = env(&music.resolver("music", "http://127.0.0.1:9/a", &extra));
        music.set(
            "LM",
            &listing("Liked music", &["aaaaaaaaaa1", "aaaaaaaaaa2"]),
        );
        music.set("feed", &feed(&[("PLroad", "Road Trip"), ("PLgym", "Gym")]));
        music.set("PLroad", &listing("Road Trip", &["bbbbbbbbbb1"]));
        music.set("PLgym", &listing("Gym", &["ccccccccc01", "ccccccccc02"]));
        Library {
            music,
            env,
            cookies,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        icyproxy(&self.env, args, None)
    }

    fn playlists(&self) -> String {
        stdout(&self.run(&["playlist", "list"]))
    }
}

#[test]
fn library_sync_imports_liked_songs_and_the_account_s_playlists_with_cookies() {
    let lib = Library::new(Some(0o600));
    let o = lib.run(&["library", "sync"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Liked songs: 2 tracks, 2 added\nRoad Trip: 1 track, 1 added\nGym: 2 tracks, 2 added\n"
    );
    let lists = lib.playlists();
    assert!(
        lists.contains("Liked songs\t2\thttps://music.youtube.com/playlist?list=LM\n"),
        "{lists}"
    );
    assert!(
        lists.contains("Road Trip\t1\thttps://www.youtube.com/playlist?list=PLroad\n"),
        "{lists}"
    );
    assert!(lists.contains("Gym\t2\t"), "{lists}");
    assert!(
        !lists.contains("Liked videos") && !lists.contains("Watch later"),
        "{lists}"
    );
    // Every run had --cookies, with a copy of the service's own: never the user's file.
    let calls = lib.music.calls();
    assert_eq!(calls.len(), 4, "{calls:?}");
    for call in &calls {
        let copy = call
            .split_once("--cookies ")
            .map(|(_, rest)| rest.split_whitespace().next().unwrap_or(""))
            .unwrap_or_else(|| panic!("no --cookies in {call:?}"));
        assert_ne!(copy, lib.cookies.display().to_string(), "{call}");
        assert!(
            !PathBuf::from(copy).exists(),
            "each run's copy is removed: {copy}"
        );
    }
    assert!(
        calls
            .iter()
            .any(|c| c.ends_with("https://www.youtube.com/feed/playlists")
                && !c.contains("--playlist-end")),
        "the whole feed, no cut-off: {calls:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&lib.cookies).expect("jar"),
        JAR,
        "the user's file is never written"
    );
    let copy = lib.env.dir.path().join("data/icyproxy-cookies.txt");
    let kept = std::fs::read_to_string(&copy).expect("the service's copy");
    assert!(
        kept.starts_with(JAR) && kept.contains("written back"),
        "{kept}"
    );
    assert_eq!(
        std::fs::metadata(&copy).expect("meta").permissions().mode() & 0o777,
        0o600
    );

    // A playlist gone from the account goes here too; the user's own stay.
    assert!(
        lib.run(&["playlist", "add", "Mine", "ddddddddd01"])
            .status
            .success()
    );
    lib.music.set("feed", &feed(&[("PLroad", "Road Trip")]));
    let o = lib.run(&["library", "sync"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Gym: no longer in your library, removed\n"),
        "{}",
        stdout(&o)
    );
    let lists = lib.playlists();
    assert!(
        !lists.contains("Gym") && lists.contains("Mine\t1\n"),
        "{lists}"
    );
}

#[test]
fn a_playlist_of_the_user_s_with_a_library_name_is_left_alone() {
    let lib = Library::new(Some(0o600));
    assert!(
        lib.run(&["playlist", "add", "Gym", "ddddddddd01"])
            .status
            .success()
    );
    let o = lib.run(&["library", "sync"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Gym: a playlist of yours has this name; left alone"),
        "{}",
        stderr(&o)
    );
    assert!(lib.playlists().contains("Gym\t1\n"));
    // Removing from the account never removes it either.
    lib.music.set("feed", &feed(&[]));
    assert!(lib.run(&["library", "sync"]).status.success());
    assert!(lib.playlists().contains("Gym\t1\n"));
}

#[test]
fn a_jar_written_back_empty_or_garbled_leaves_the_cookies_as_they_were() {
    let lib = Library::new(Some(0o600));
    let copy = lib.env.dir.path().join("data/icyproxy-cookies.txt");
    for back in ["", "<html><body>429 Too Many Requests</body></html>\n"] {
        std::fs::write(lib.music.dir.join("jar-back"), back).expect("jar-back");
        let o = lib.run(&["library", "sync"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            std::fs::read_to_string(&copy).expect("the service's copy"),
            JAR,
            "{back:?} replaced the jar"
        );
    }
    assert_eq!(std::fs::read_to_string(&lib.cookies).expect("jar"), JAR);
    // And the next run is lent the good jar.
    std::fs::remove_file(lib.music.dir.join("jar-back")).expect("rm");
    assert!(lib.run(&["library", "sync"]).status.success());
    let kept = std::fs::read_to_string(&copy).expect("copy");
    assert!(
        kept.starts_with(JAR) && kept.contains("written back"),
        "{kept}"
    );
}

#[test]
fn without_cookies_or_with_a_bad_jar_the_message_says_what_to_do() {
    let lib = Library::new(None);
    let o = lib.run(&["library", "sync"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("your library needs your YouTube cookies: set [resolver] cookies_file"),
        "{}",
        stderr(&o)
    );
    assert!(lib.music.calls().is_empty(), "no run without cookies");

    let lib = Library::new(Some(0o644));
    let o = lib.run(&["library", "sync"]);
    assert_eq!(o.status.code(), Some(1));
    let said = stderr(&o);
    assert!(
        said.contains("is open to other users (mode 644)") && said.contains("chmod 600"),
        "{said}"
    );
    assert!(
        !said.contains("LOGIN_INFO") && !said.contains("secret"),
        "never its contents: {said}"
    );

    let lib = Library::new(Some(0o600));
    std::fs::write(lib.music.dir.join("logged-out"), "").expect("log out");
    let o = lib.run(&["library", "sync"]);
    assert_eq!(o.status.code(), Some(1));
    let want = format!(
        "the cookies in {} no longer log in; export them again",
        lib.cookies.display()
    );
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("Sign in to confirm"),
        "not yt-dlp's raw line: {}",
        stderr(&o)
    );
}

#[test]
fn the_resolver_gets_the_cookies_too_and_a_logged_out_jar_is_named() {
    let lib = Library::new(Some(0o600));
    let o = lib.run(&["resolve", "dQw4w9WgXcQ"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let argv = std::fs::read_to_string(lib.music.resolved.with_extension("argv")).expect("argv");
    assert!(
        argv.starts_with("cookies ") && !argv.contains("my-cookies"),
        "{argv}"
    );

    let music = Music::new();
    let jar = music.dir.join("jar.txt");
    std::fs::write(&jar, JAR).expect("jar");
    std::fs::set_permissions(&jar, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let extra = format!("cookies_file = {:?}", jar.display().to_string());
    let env = env(&music.resolver("login", "http://127.0.0.1:9/a", &extra));
    let o = icyproxy(&env, &["resolve", "dQw4w9WgXcQ"], None);
    assert_eq!(o.status.code(), Some(1));
    let want = format!(
        "the cookies in {} no longer log in; export them again",
        jar.display()
    );
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

/// `[playlists] library_minutes`: the server reads the library again on
/// its own, logging a line per change and one per failure streak.
#[test]
fn the_server_syncs_the_library_in_the_background() {
    let music = Music::new();
    let cookies = music.dir.join("my-cookies.txt");
    std::fs::write(&cookies, JAR).expect("jar");
    std::fs::set_permissions(&cookies, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    music.set("LM", &listing("Liked music", &["aaaaaaaaaa1"]));
    music.set("feed", &feed(&[("PLgym", "Gym"), ("PLrun", "Run")]));
    music.set("PLgym", &listing("Gym", &["ccccccccc01"]));
    music.set("PLrun", &listing("Run", &["ddddddddd01"]));
    let config = format!(
        "{}[playlists]\nlibrary_minutes = 0.005\n",
        music.resolver(
            "music",
            "http://127.0.0.1:9/a",
            &format!("cookies_file = {:?}", cookies.display().to_string())
        )
    );
    let mut served = Served::start(&config, &[]);
    let wait = Duration::from_secs(20);
    let synced = |served: &mut Served, text: &str| {
        let want = format!("library synced: {text}");
        let line = served.wait_for_line(wait, |l| l.contains(&want));
        assert!(line.is_some(), "no {want:?}: {:#?}", served.log_lines());
    };
    synced(&mut served, "Liked songs: 1 track, 1 added");
    synced(&mut served, "Gym: 1 track, 1 added");

    // A song liked, a playlist gone from the account (one of two: a
    // feed that shrinks by more than half removes nothing).
    music.set(
        "LM",
        &listing("Liked music", &["aaaaaaaaaa1", "aaaaaaaaaa2"]),
    );
    music.set("feed", &feed(&[("PLrun", "Run")]));
    synced(&mut served, "Liked songs: 2 tracks, 1 added");
    let gone = "library sync: Gym is no longer in your library: removed";
    let line = served.wait_for_line(wait, |l| l.contains(gone));
    assert!(line.is_some(), "{:#?}", served.log_lines());
    let lists = stdout(&served.cli(&["playlist", "list"]));
    assert!(lists.starts_with("Liked songs\t2\t"), "{lists}");
    assert!(!lists.contains("Gym"), "{lists}");

    // Logged out from now on: one warning, however many rounds fail.
    std::fs::write(music.dir.join("logged-out"), "").expect("log out");
    let runs = music.calls().len();
    assert!(
        wait_until(wait, || music.calls().len() >= runs + 3),
        "no more rounds: {:?}",
        music.calls()
    );
    let warned = served
        .log_lines()
        .iter()
        .filter(|l| l.contains("library sync failed, playlists left as they were"))
        .count();
    assert_eq!(warned, 1, "{:#?}", served.log_lines());
    let lists = stdout(&served.cli(&["playlist", "list"]));
    assert!(lists.starts_with("Liked songs\t2\t"), "kept: {lists}");
}
