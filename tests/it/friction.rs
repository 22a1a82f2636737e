//! What a new user met on a fresh clone (issue 24's friction list), run
//! through the real binary: pasted URLs where an id is expected, a URL
//! without its scheme quoted as typed, a database this user may not write,
//! a playlist entry added by id that MPD showed as the bare id.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use icyproxy::catalog::store::TrackStore;
use icyproxy::video_id::VideoId;

use crate::common::*;

const PASTED: &str = "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVMdQw4w9WgXcQ";

#[test]
fn a_pasted_youtube_url_is_taken_wherever_an_id_is() {
    let env = env("[resolver]\ncommand = []\n");
    let o = succeeds(
        &env,
        &[
            "add",
            PASTED,
            "--url",
            "https://h.example/a",
            "--title",
            "T",
        ],
    );
    assert_eq!(stdout(&o), "stored dQw4w9WgXcQ\n");
    let o = succeeds(&env, &["get", "https://youtu.be/dQw4w9WgXcQ?si=x"]);
    assert!(
        stdout(&o).starts_with("video_id\tdQw4w9WgXcQ\n"),
        "{}",
        stdout(&o)
    );
    succeeds(&env, &["playlist", "add", "P", PASTED]);
    let o = icyproxy(&env, &["playlist", "list", "P"], None);
    assert_eq!(stdout(&o), "dQw4w9WgXcQ\t\tT\n");
    let o = icyproxy(
        &env,
        &["get", "https://example.com/watch?v=dQw4w9WgXcQ"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("youtu.be/ID"), "{}", stderr(&o));
    for command in [
        &["add", "--help"][..],
        &["get", "--help"],
        &["playlist", "add", "--help"],
    ] {
        let o = icyproxy(&env, command, None);
        assert!(
            stdout(&o).contains("youtu.be/ID"),
            "{command:?}: {}",
            stdout(&o)
        );
    }
    succeeds(&env, &["remove", "youtu.be/dQw4w9WgXcQ"]);
}

#[test]
fn a_url_without_its_scheme_is_quoted_as_typed() {
    let env = env("");
    let o = icyproxy(
        &env,
        &[
            "add",
            "dQw4w9WgXcQ",
            "--url",
            "example.com/a.mp3",
            "--title",
            "T",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let said = stderr(&o);
    assert!(
        said.contains("must start with http:// or https://, not \"example.com/…\""),
        "{said}"
    );
    assert!(!said.contains("://example.com"), "{said}");
}

#[test]
fn read_only_commands_read_a_database_this_user_cannot_write() {
    let env = env("[resolver]\ncommand = []\n");
    succeeds(
        &env,
        &[
            "add",
            "dQw4w9WgXcQ",
            "--url",
            "https://h.example/a",
            "--title",
            "T",
        ],
    );
    succeeds(&env, &["playlist", "add", "P", "dQw4w9WgXcQ"]);
    let data = env.dir.path().join("data");
    for path in [env.dir.path(), &data] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    }
    let db = data.join("tracks.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    // Root writes anyway: read as nobody, who owns nothing here.
    let run = |args: &[&str]| {
        let mut c = if is_root() {
            let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
                .into_iter()
                .find(|p| Path::new(p).exists())
                .expect("setpriv (util-linux) to run as nobody");
            let mut c = Command::new(setpriv);
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_icyproxy"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_icyproxy"))
        };
        c.arg("--config").arg(&env.config).args(args);
        c.output().expect("run icyproxy")
    };
    let o = run(&["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("dQw4w9WgXcQ\t\tT\t"),
        "{}",
        stdout(&o)
    );
    let o = run(&["get", "dQw4w9WgXcQ"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["playlist", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "P\t1\n");
    // A command that writes says why it cannot.
    let o = run(&["remove", "dQw4w9WgXcQ"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    for path in [env.dir.path(), &data] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// `playlist add` of ids with no track: their tags at once, through the
/// resolver (one run for both), so MPD's playlist file shows
/// `Artist - Title`, not `#EXTINF:-1` and the id.
#[test]
fn playlist_add_tags_new_ids_through_the_resolver_at_once() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (calls, mpd_dir) = (scratch.path().join("calls"), scratch.path().join("mpd"));
    std::fs::create_dir_all(&mpd_dir).expect("mpd dir");
    let env = env(&format!(
        "{}[playlists]\nmpd_dir = {:?}\n",
        fake_resolver("json", &calls, "http://127.0.0.1:9/a"),
        mpd_dir.display().to_string()
    ));
    succeeds(
        &env,
        &[
            "add",
            "aaaaaaaaaaa",
            "--url",
            "https://h.example/a",
            "--artist",
            "Mine",
            "--title",
            "Kept",
        ],
    );
    let o = succeeds(
        &env,
        &[
            "playlist",
            "add",
            "P",
            "aaaaaaaaaaa",
            "bbbbbbbbbbb",
            "ccccccccccc",
            "bbbbbbbbbbb",
        ],
    );
    assert_eq!(
        stdout(&o),
        "resolving the tags of 2 new ids with fake-resolver\n\
         bbbbbbbbbbb\tResolved Artist\tResolved Track\n\
         ccccccccccc\tResolved Artist\tResolved Track\n\
         added 4 entries to P\n"
    );
    let runs = std::fs::read_to_string(&calls).expect("calls");
    assert_eq!(runs.lines().count(), 1, "one batch: {runs}");
    let m3u = std::fs::read_to_string(mpd_dir.join("P.m3u")).expect("written");
    assert_eq!(
        m3u.matches("#EXTINF:212,Resolved Artist - Resolved Track")
            .count(),
        3,
        "{m3u}"
    );
    assert!(m3u.contains("#EXTINF:-1,Mine - Kept"), "{m3u}");
    assert!(!m3u.contains("#EXTINF:-1,bbbbbbbbbbb"), "{m3u}");
    let o = icyproxy(&env, &["playlist", "list", "P"], None);
    assert!(stdout(&o).contains("ccccccccccc\tResolved Artist\tResolved Track\n"));
    // Stored ids are not resolved again.
    let o = icyproxy(&env, &["playlist", "add", "P", "ccccccccccc"], None);
    assert_eq!(stdout(&o), "added 1 entry to P\n");
    assert_eq!(
        std::fs::read_to_string(&calls)
            .expect("calls")
            .lines()
            .count(),
        1
    );
}

/// A resolver that fails: the entry stays, bare, the reason is on stderr,
/// and the exit status is 0 (the entries were added).
#[test]
fn playlist_add_keeps_an_id_the_resolver_cannot_tag_and_says_why() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let calls = scratch.path().join("calls");
    let env = env(&fake_resolver("fail", &calls, "http://127.0.0.1:9/a").to_string());
    let o = icyproxy(&env, &["playlist", "add", "P", "bbbbbbbbbbb"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "resolving the tags of 1 new id with fake-resolver\nadded 1 entry to P\n"
    );
    let err = stderr(&o);
    assert!(
        err.contains("icyproxy: bbbbbbbbbbb: no tags: ")
            && err.contains("Video unavailable")
            && err.contains("it stays in P as a bare id, tried again when played"),
        "{err}"
    );
    let o = icyproxy(&env, &["playlist", "list", "P"], None);
    assert_eq!(stdout(&o), "bbbbbbbbbbb\t\t(not stored yet)\n");
}

/// The server tags entries that are only an id when it starts, and writes
/// their playlist's file in `mpd_dir` again.
#[test]
fn serve_tags_bare_playlist_entries_in_the_background() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (calls, mpd_dir) = (scratch.path().join("calls"), scratch.path().join("mpd"));
    std::fs::create_dir_all(&mpd_dir).expect("mpd dir");
    let db = scratch.path().join("t.db");
    let bare = VideoId::parse("bbbbbbbbbbb").expect("id");
    TrackStore::open(&db)
        .and_then(|mut s| s.playlist_add("Bare", std::slice::from_ref(&bare)))
        .expect("a bare entry");
    let proxy = Proxy::start_with(&format!(
        "{}[store]\npath = {:?}\n[playlists]\nmpd_dir = {:?}\n",
        fake_resolver("json", &calls, "http://127.0.0.1:9/a"),
        db.display().to_string(),
        mpd_dir.display().to_string()
    ));
    let file = mpd_dir.join("Bare.m3u");
    let tagged = || {
        std::fs::read_to_string(&file)
            .is_ok_and(|t| t.contains("#EXTINF:212,Resolved Artist - Resolved Track"))
    };
    assert!(wait_until(Duration::from_secs(10), tagged), "not tagged");
    let track = TrackStore::open(&db)
        .and_then(|s| s.get(&bare))
        .expect("read")
        .expect("stored");
    assert_eq!(track.tags.title, "Resolved Track");
    proxy.stop();
}
