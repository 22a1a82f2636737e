//! Running a helper program (the resolver, the playlist reader): argv only,
//! never a shell, in its own process group so a timeout ends whatever it
//! started too, with both pipes drained on threads so a chatty program
//! never blocks on a full pipe while we wait for it.

use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use log::warn;

/// What a program that ended by itself left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// At most the `max_output` given to [`run`].
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    /// The last non-empty line of stderr (at most 200 characters): what a
    /// failing program says last is usually why.
    pub fn last_stderr_line(&self) -> String {
        self.stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            .chars()
            .take(200)
            .collect()
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum Ran {
    Finished(Finished),
    /// Killed at its time limit.
    TimedOut,
}

/// Runs `argv` (not empty) and waits up to `timeout`. An error means it
/// could not be started (`NotFound` when there is no such program).
pub fn run(argv: &[String], timeout: Duration, max_output: u64) -> io::Result<Ran> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().map(|p| drain(p, max_output));
    let stderr = child.stderr.take().map(|p| drain(p, max_output));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
    };
    let Some(status) = status else {
        return Ok(Ran::TimedOut);
    };
    // Children the program left behind may hold the pipes open: take what
    // arrived, never wait on them for long.
    let grace = Duration::from_secs(2);
    let stdout = stdout.map(|rx| collect(&rx, grace)).unwrap_or_default();
    let stderr = stderr.map(|rx| collect(&rx, grace)).unwrap_or_default();
    Ok(Ran::Finished(Finished {
        status,
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }))
}

/// Kills the process group (a wrapper script's children too). Done with
/// the `kill` command: no unsafe code for a signal.
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Reads a pipe to its end on a thread; the first `limit` bytes arrive on
/// the channel, the rest is read and dropped.
fn drain(mut pipe: impl Read + Send + 'static, limit: u64) -> Receiver<Vec<u8>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let spawned = thread::Builder::new()
        .name("subprocess-pipe".into())
        .spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut pipe).take(limit).read_to_end(&mut buf);
            let _ = tx.send(buf);
            let _ = io::copy(&mut pipe, &mut io::sink());
        });
    if let Err(e) = spawned {
        warn!("cannot start a thread to read a program's output: {e}");
    }
    rx
}

fn collect(rx: &Receiver<Vec<u8>>, grace: Duration) -> Vec<u8> {
    rx.recv_timeout(grace).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn output_status_and_last_stderr_line() {
        let Ok(Ran::Finished(f)) = run(
            &sh("echo out; echo first >&2; echo '  last  ' >&2; echo >&2; exit 3"),
            Duration::from_secs(10),
            1024,
        ) else {
            panic!("did not finish");
        };
        assert_eq!(f.stdout, b"out\n");
        assert_eq!(f.status.code(), Some(3));
        assert_eq!(f.last_stderr_line(), "last");
    }

    #[test]
    fn a_program_past_its_time_is_killed_with_its_children() {
        let started = Instant::now();
        let ran = run(&sh("sleep 30 & sleep 30"), Duration::from_millis(200), 1024);
        assert!(matches!(ran, Ok(Ran::TimedOut)), "{ran:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let e = run(
            &["icyproxy-no-such-program".into()],
            Duration::from_secs(1),
            10,
        )
        .expect_err("not found");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn output_beyond_the_limit_is_dropped_without_blocking() {
        let Ok(Ran::Finished(f)) = run(
            &sh("head -c 1000000 /dev/zero"),
            Duration::from_secs(10),
            100,
        ) else {
            panic!("did not finish");
        };
        assert_eq!(f.stdout.len(), 100);
        assert!(f.status.success());
    }
}
