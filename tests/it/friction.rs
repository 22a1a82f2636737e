//! What a new user met on a fresh clone (issue 24's friction list), run
//! through the real binary: pasted URLs where an id is expected, a URL
//! without its scheme quoted as typed, a database this user may not write.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;

const PASTED: &str = "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVMdQw4w9WgXcQ";

#[test]
fn a_pasted_youtube_url_is_taken_wherever_an_id_is() {
    let env = env("[resolver]\ncommand = []\n");
    let o = icyproxy(
        &env,
        &[
            "add",
            PASTED,
            "--url",
            "https://h.example/a",
            "--title",
            "T",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "stored dQw4w9WgXcQ\n");
    let o = icyproxy(&env, &["get", "https://youtu.be/dQw4w9WgXcQ?si=x"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("video_id\tdQw4w9WgXcQ\n"),
        "{}",
        stdout(&o)
    );
    let o = icyproxy(&env, &["playlist", "add", "P", PASTED], None);
    assert!(o.status.success(), "{}", stderr(&o));
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
    let o = icyproxy(&env, &["remove", "youtu.be/dQw4w9WgXcQ"], None);
    assert!(o.status.success(), "{}", stderr(&o));
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
    let o = icyproxy(
        &env,
        &[
            "add",
            "dQw4w9WgXcQ",
            "--url",
            "https://h.example/a",
            "--title",
            "T",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = icyproxy(&env, &["playlist", "add", "P", "dQw4w9WgXcQ"], None);
    assert!(o.status.success(), "{}", stderr(&o));
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
