//! Ctrl-C (SIGINT) or SIGTERM during a command that runs a helper ends the
//! helper and everything it started (its own process group, which the
//! terminal's signal does not reach) before icyproxy exits, and leaves
//! nothing half-written. A `serve` stopped by a signal (even SIGKILL)
//! leaves no helper running.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

const WAIT: Duration = Duration::from_secs(20);

/// Whether `pid` is gone (or a zombie no one has reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn pid_in(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A helper that writes its pid and its child's, then waits on the child.
fn hanging(dir: &Path, placeholder: &str) -> String {
    let script = format!(
        "sleep 60 & echo $! > {kid}; echo $$ > {leader}; wait",
        kid = dir.join("kid").display(),
        leader = dir.join("leader").display()
    );
    format!("[\"sh\", \"-c\", {script:?}, \"sh\", \"{{{placeholder}}}\"]")
}

/// The user's cookie jar in `dir` (0600), as `cookies_file` names it.
fn jar(dir: &Path) -> String {
    let jar = dir.join("cookies.txt");
    std::fs::write(
        &jar,
        "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t0\tSID\tx\n",
    )
    .expect("jar");
    std::fs::set_permissions(&jar, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    format!("cookies_file = {:?}\n", jar.display().to_string())
}

/// The private cookie copies (`.icyproxy-cookies.*`) in `dir`.
fn copies_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".icyproxy-cookies."))
                .collect()
        })
        .unwrap_or_default()
}

fn interrupted(args: &[&str], signal: &str) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path();
    let e = env(&format!(
        "[youtube]\napi_url = \"\"\n[resolver]\ncommand = {}\nplaylist_command = {}\n{}",
        hanging(dir, "video_id"),
        hanging(dir, "url"),
        jar(dir)
    ));
    let mut child = bin(&e)
        .arg("--config")
        .arg(&e.config)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run icyproxy");
    assert!(
        wait_until(WAIT, || pid_in(&dir.join("leader")).is_some()
            && pid_in(&dir.join("kid")).is_some()),
        "the helper never started"
    );
    let (leader, kid) = (
        pid_in(&dir.join("leader")).expect("leader"),
        pid_in(&dir.join("kid")).expect("kid"),
    );
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let mut exited = None;
    assert!(
        wait_until(WAIT, || {
            exited = child.try_wait().expect("wait");
            exited.is_some()
        }),
        "icyproxy still runs after {signal}"
    );
    assert!(!exited.expect("status").success());
    assert!(
        wait_until(WAIT, || gone(leader) && gone(kid)),
        "{args:?} + {signal}: the helper ({leader}) or its child ({kid}) still runs"
    );
    let data = e.dir.path().join("data");
    assert!(
        data.join("icyproxy-cookies.txt").exists(),
        "the run was lent no cookies"
    );
    assert_eq!(
        copies_in(&data),
        Vec::<String>::new(),
        "{args:?} + {signal}: cookie copies left"
    );
    // Nothing was stored: no playlist, no track.
    let listed = icyproxy(&e, &["playlist", "list"], None);
    assert!(stdout(&listed).trim().is_empty(), "{}", stdout(&listed));
    let listed = icyproxy(&e, &["list"], None);
    assert!(stdout(&listed).trim().is_empty(), "{}", stdout(&listed));
}

#[test]
fn ctrl_c_during_playlist_import_ends_the_helper_and_its_children() {
    interrupted(
        &[
            "playlist",
            "import",
            "https://music.youtube.com/playlist?list=PLx",
        ],
        "-INT",
    );
}

#[test]
fn sigterm_during_resolve_ends_the_helper_and_its_children() {
    interrupted(&["resolve", "dQw4w9WgXcQ"], "-TERM");
}

#[test]
fn ctrl_c_and_sigterm_of_search_leave_no_cookie_copy() {
    interrupted(&["search", "some song"], "-INT");
    interrupted(&["search", "some song"], "-TERM");
}

#[test]
fn ctrl_c_and_sigterm_of_library_sync_leave_no_cookie_copy() {
    interrupted(&["library", "sync"], "-INT");
    interrupted(&["library", "sync"], "-TERM");
}

/// `serve` stopped by `signal` while a resolver run hangs: the helper
/// (and, when the server could act, its child) is gone afterwards.
fn serve_stopped(signal: &str) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path();
    let mut served = Served::start(
        &format!(
            "[resolver]\ncommand = {}\n{}",
            hanging(dir, "video_id"),
            jar(dir)
        ),
        &[],
    );
    let mut asked = connect(served.addr);
    std::io::Write::write_all(
        &mut asked,
        b"GET /proxy/dQw4w9WgXcQ/ HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .expect("ask");
    assert!(
        wait_until(WAIT, || pid_in(&dir.join("leader")).is_some()
            && pid_in(&dir.join("kid")).is_some()),
        "the helper never started"
    );
    let (leader, kid) = (
        pid_in(&dir.join("leader")).expect("leader"),
        pid_in(&dir.join("kid")).expect("kid"),
    );
    let sent = Command::new("kill")
        .args([signal, &served.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    assert!(
        wait_until(WAIT, || served.child.try_wait().expect("wait").is_some()),
        "serve still runs after {signal}"
    );
    assert!(
        wait_until(WAIT, || gone(leader)),
        "serve + {signal}: the helper ({leader}) still runs"
    );
    if signal != "-KILL" {
        assert!(
            wait_until(WAIT, || gone(kid)),
            "serve + {signal}: the helper's child ({kid}) still runs"
        );
        assert!(served.dir.path().join("icyproxy-cookies.txt").exists());
        assert_eq!(
            copies_in(served.dir.path()),
            Vec::<String>::new(),
            "serve + {signal}: cookie copies left"
        );
    }
    let _ = Command::new("kill")
        .args(["-KILL", &kid.to_string()])
        .status();
}

#[test]
fn sigterm_of_serve_during_a_resolver_run_ends_the_helper_and_its_children() {
    serve_stopped("-TERM");
}

#[test]
fn sigint_of_serve_during_a_resolver_run_ends_the_helper_and_its_children() {
    serve_stopped("-INT");
}

#[test]
fn sigkill_of_serve_during_a_resolver_run_ends_the_helper() {
    serve_stopped("-KILL");
}

/// Above the kernel's largest pid (2^22): no process has it.
const DEAD_PID: u32 = 4_194_400;

#[test]
fn copies_of_gone_runs_are_swept_and_an_unset_cookies_file_takes_the_copy_away() {
    let dead = format!(".icyproxy-cookies.{DEAD_PID}.1.2.0");
    let alive = format!(".icyproxy-cookies.{}.1.2.0", std::process::id());
    // A command sweeps the dead run's copy, and leaves the living one's.
    let e = env("");
    let data = e.dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    for name in [&dead, &alive] {
        std::fs::write(data.join(name), "# Netscape HTTP Cookie File\n").expect("plant");
    }
    icyproxy(&e, &["list"], None);
    assert_eq!(copies_in(&data), vec![alive.clone()]);
    // The server does too, and without cookies_file removes its own copy.
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path();
    for name in [&dead, &alive, &"icyproxy-cookies.txt".to_owned()] {
        std::fs::write(dir.join(name), "# Netscape HTTP Cookie File\n").expect("plant");
    }
    let proxy = Proxy::start_with(&format!(
        "[store]\npath = {:?}\n",
        dir.join("tracks.db").display().to_string()
    ));
    assert_eq!(copies_in(dir), vec![alive]);
    assert!(
        !dir.join("icyproxy-cookies.txt").exists(),
        "the service's copy stayed after cookies_file was unset"
    );
    drop(proxy);
}
