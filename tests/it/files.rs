//! Files in shared directories cannot be turned against their targets:
//! playlist files in `[playlists] mpd_dir` and `playlist export` go through
//! a temp file of a random name created exclusively (a planted symlink at
//! the old fixed name is not written through), an existing file is opened
//! without following a symlink or blocking on a FIFO, names are checked on
//! every path (`playlist remove` included), and files that carry the
//! token are written 0640.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const ID: &str = "dQw4w9WgXcQ";
const MARKER: &str = "# written by icyproxy: changes here are overwritten";
const TOKEN: &str = "s3cret-token-0123456789";

/// Runs `command`, killing it past `limit` (a FIFO would hang it).
fn within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run icyproxy");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path).expect("stat").mode() & 0o777
}

#[test]
fn playlist_files_never_write_through_symlinks_or_hang_on_fifos_or_leave_their_directory() {
    let e = env(&format!(
        "[server]\ntoken = \"{TOKEN}\"\n[playlists]\nmpd_dir = \"mpd\"\n\
         base_url = \"http://pi.local:8080\"\n"
    ));
    let dir = e.dir.path();
    let mpd = dir.join("mpd");
    std::fs::create_dir_all(&mpd).expect("mpd dir");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious\n").expect("victim");
    let cli = |args: &[&str]| {
        within(
            bin(&e).arg("--config").arg(&e.config).args(args),
            Duration::from_secs(20),
        )
    };

    // A symlink planted where the temp file used to be.
    std::os::unix::fs::symlink(&victim, mpd.join(".Mix.m3u.icyproxy-tmp")).expect("plant");
    let o = cli(&["playlist", "add", "Mix", ID]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious\n"
    );
    let written = mpd.join("Mix.m3u");
    assert!(std::fs::symlink_metadata(&written).expect("stat").is_file());
    assert!(
        std::fs::read_to_string(&written)
            .expect("m3u")
            .contains(TOKEN)
    );
    assert_eq!(mode(&written), 0o640, "a file with the token");
    let temps: Vec<String> = std::fs::read_dir(&mpd)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("icyproxy-tmp") && n != ".Mix.m3u.icyproxy-tmp")
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");

    // A FIFO where a playlist file would be: refused at once.
    let fifo = mpd.join("Pipe.m3u");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let o = cli(&["playlist", "add", "Pipe", ID]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("Pipe.m3u"), "{}", stderr(&o));
    // A symlink there: refused too, whatever it points at.
    std::fs::write(dir.join("elsewhere.m3u"), format!("#EXTM3U\n{MARKER}\n")).expect("write");
    std::os::unix::fs::symlink(dir.join("elsewhere.m3u"), mpd.join("Link.m3u")).expect("link");
    let o = cli(&["playlist", "add", "Link", ID]);
    assert!(!o.status.success(), "{}", stdout(&o));

    // Names are checked on every path: remove cannot reach outside mpd_dir.
    let outside = dir.join("outside");
    std::fs::write(
        outside.with_extension("m3u"),
        format!("#EXTM3U\n{MARKER}\n"),
    )
    .expect("write");
    let o = cli(&["playlist", "remove", &outside.display().to_string()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("invalid playlist name"),
        "{}",
        stderr(&o)
    );
    assert!(
        outside.with_extension("m3u").exists(),
        "a file outside mpd_dir was removed"
    );

    // export: the same, and 0640 with the token.
    let out = dir.join("out.m3u");
    std::os::unix::fs::symlink(&victim, out.with_extension("icyproxy-tmp")).expect("plant");
    let o = cli(&[
        "playlist",
        "export",
        "Mix",
        "--base-url",
        "http://pi.local:8080",
        "--output",
        &out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious\n"
    );
    assert!(
        std::fs::read_to_string(&out)
            .expect("export")
            .contains(TOKEN)
    );
    assert_eq!(mode(&out), 0o640);
}
