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

fn interrupted(args: &[&str], signal: &str) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path();
    let e = env(&format!(
        "[resolver]\ncommand = {}\nplaylist_command = {}\n",
        hanging(dir, "video_id"),
        hanging(dir, "url")
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

/// `serve` stopped by `signal` while a resolver run hangs: the helper
/// (and, when the server could act, its child) is gone afterwards.
fn serve_stopped(signal: &str) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path();
    let mut served = Served::start(
        &format!("[resolver]\ncommand = {}\n", hanging(dir, "video_id")),
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
