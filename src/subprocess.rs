//! Running a helper program (the resolver, the playlist reader): argv only,
//! never a shell, in its own process group so a timeout ends whatever it
//! started too, with both pipes drained on threads so a chatty program
//! never blocks on a full pipe while we wait for it; and the one account
//! of how such a program failed ([`Failure`]).

use std::fmt;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use log::warn;

/// Which helper program ran, and for what: it decides how a failure is
/// told (the names and the fixes differ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Helper {
    /// The resolver, for a video id or a batch of them ("3 ids").
    Resolver { what: String },
    /// The playlist command, reading one playlist.
    PlaylistCommand,
}

/// Why a helper program gave nothing to use: the one account of it for
/// the resolver and the playlist command. Its `Display` is what a user
/// reads.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The program as configured (`argv[0]`).
    pub program: String,
    pub helper: Helper,
    pub how: How,
    /// What the failure means, when the layer that knows the program has
    /// named it (the yt-dlp classifier): shown with its fix.
    /// (Shared: an error stays small, and clones are cheap.)
    pub cause: Option<Arc<Cause>>,
}

/// A failure's cause, named: the name counted in `/metrics`, the words a
/// user reads and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// As in `/metrics` and `/health` (`bot_check`, `rate_limited`, ...).
    pub name: &'static str,
    /// In a few words (`YouTube's bot check`).
    pub label: &'static str,
    pub fix: String,
}

/// How a helper program failed.
#[derive(Debug, Clone)]
pub enum How {
    /// There is no such program.
    NotFound,
    /// It ran past its time limit and was killed, with what it started.
    TimedOut { after: Duration },
    /// It exited with a failure status; the last line it wrote to stderr.
    Failed {
        status: ExitStatus,
        stderr_tail: Option<String>,
    },
    /// A run for several (a resolver batch) gave nothing for this one:
    /// yt-dlp goes on past a video that fails. Its exit status, and what
    /// it said about this one.
    Missing {
        status: ExitStatus,
        stderr_tail: Option<String>,
    },
    /// It could not be started, or waiting for it failed.
    Io(Arc<io::Error>),
    /// It ended, but what it printed is not what was asked for: why, and
    /// the last line it wrote to stderr when that may say more.
    Unusable {
        why: String,
        stderr_tail: Option<String>,
    },
    /// YouTube wants a signed-in account (yt-dlp's "Sign in to confirm",
    /// "use --cookies"): with `cookies` (the user's cookies file) the jar
    /// no longer logs in; without, none was given. yt-dlp's own line is
    /// not shown: it names options the user does not set here.
    LoginNeeded { cookies: Option<String> },
}

impl Failure {
    /// This failure with its cause named.
    pub fn with_cause(mut self, cause: Cause) -> Failure {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// The OS error behind it, when there is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match &self.how {
            How::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = &self.program;
        let (name, for_what) = match &self.helper {
            Helper::Resolver { what } => (format!("resolver {program}"), format!(" for {what}")),
            Helper::PlaylistCommand => (program.clone(), String::new()),
        };
        let said = |t: &Option<String>| t.clone().unwrap_or_else(|| "no message".into());
        let tail = |t: &Option<String>| match &self.cause {
            Some(cause) => format!("{}: {} (fix: {})", cause.label, said(t), cause.fix),
            None => said(t),
        };
        match (&self.how, &self.helper) {
            (How::NotFound, Helper::Resolver { .. }) => write!(
                f,
                "resolver command not found: {program} (install it, or set [resolver] \
                 command = [] to turn resolving off)"
            ),
            (How::NotFound, Helper::PlaylistCommand) => write!(
                f,
                "playlist command not found: {program} (install yt-dlp, or set [resolver] \
                 playlist_command)"
            ),
            (How::Io(e), Helper::Resolver { .. }) => {
                write!(f, "cannot run resolver {program}: {e}")
            }
            (How::Io(e), Helper::PlaylistCommand) => {
                write!(f, "cannot run the playlist command {program}: {e}")
            }
            (How::TimedOut { after }, helper) => {
                write!(f, "{name} killed after {}s{for_what}", after.as_secs())?;
                match helper {
                    Helper::PlaylistCommand => {
                        write!(f, " (raise [resolver] playlist_timeout_secs)")
                    }
                    Helper::Resolver { .. } => Ok(()),
                }
            }
            (
                How::Failed {
                    status,
                    stderr_tail,
                },
                _,
            ) => write!(
                f,
                "{name} failed{for_what} ({status}): {}",
                tail(stderr_tail)
            ),
            (
                How::Missing {
                    status,
                    stderr_tail,
                },
                _,
            ) => write!(
                f,
                "{name} gave no URL{for_what} ({status}): {}",
                tail(stderr_tail)
            ),
            (How::LoginNeeded { cookies }, _) => {
                write!(f, "{name}{for_what}: {}", login_needed(cookies.as_deref()))
            }
            (How::Unusable { why, stderr_tail }, _) => {
                write!(f, "{name} output{for_what}: {why}")?;
                match stderr_tail {
                    Some(said) => write!(f, " ({said})"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// What to do when YouTube wants an account: `cookies` is the user's
/// cookies file, if one is set. What a jar that does not log in (or none) needs, for yt-dlp and the
/// reader alike.
pub fn login_needed(cookies: Option<&str>) -> String {
    let (found, fix) = login_parts(cookies);
    match cookies {
        Some(_) => format!("{found}; {fix}"),
        None => format!("{found}: {fix}"),
    }
}

/// [`login_needed`] as what was found and what to do.
pub fn login_parts(cookies: Option<&str>) -> (String, String) {
    let export = "(from a private browser window: README, \"Your library and search\")";
    match cookies {
        Some(file) => (
            format!("the cookies in {file} no longer log in"),
            format!("export them again {export}"),
        ),
        None => (
            "YouTube asks to sign in".to_owned(),
            "set [resolver] cookies_file to cookies exported from your browser (README, \
             \"Your library and search\")"
                .to_owned(),
        ),
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io_error()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What a program that ended by itself left behind.
#[derive(Debug)]
pub struct Finished {
    /// `argv[0]`.
    pub program: String,
    pub status: ExitStatus,
    /// At most the `max_output` given to [`run`].
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    /// The last non-empty line of stderr (at most 200 characters): what a
    /// failing program says last is usually why. `None` when it said
    /// nothing.
    pub fn stderr_tail(&self) -> Option<String> {
        let line = self.stderr.lines().rev().find(|l| !l.trim().is_empty())?;
        Some(line.trim().chars().take(200).collect())
    }

    /// A failure of this run, told for `helper`.
    pub fn failure(&self, helper: Helper, how: How) -> Failure {
        Failure {
            program: self.program.clone(),
            helper,
            how,
            cause: None,
        }
    }

    /// This run's failure status, told for `helper`.
    pub fn failed(&self, helper: Helper) -> Failure {
        let how = How::Failed {
            status: self.status,
            stderr_tail: self.stderr_tail(),
        };
        self.failure(helper, how)
    }
}

/// Runs `argv` (not empty) as `helper` and waits up to `timeout`. It has
/// failed when it could not be started (no such program, say) or was
/// killed at its time limit; any exit status is a [`Finished`] run.
pub fn run(
    argv: &[String],
    helper: &Helper,
    timeout: Duration,
    max_output: u64,
) -> Result<Finished, Failure> {
    let program = argv.first().cloned().unwrap_or_default();
    let fail = |how| Failure {
        program: program.clone(),
        helper: helper.clone(),
        how,
        cause: None,
    };
    let io = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => fail(How::NotFound),
        _ => fail(How::Io(Arc::new(e))),
    };
    let Some((name, args)) = argv.split_first() else {
        let empty = io::Error::new(io::ErrorKind::InvalidInput, "empty command");
        return Err(io(empty));
    };
    let started = Instant::now();
    let mut command = Command::new(name);
    command.args(args).process_group(0);
    die_with_this_process(&mut command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io)?;
    let stdout = child.stdout.take().map(|p| drain(p, max_output));
    let stderr = child.stderr.take().map(|p| drain(p, max_output));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(How::TimedOut { after: timeout }));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io(e));
            }
        }
    };
    // Children the program left behind may hold the pipes open: take what
    // arrived, never wait on them for long.
    let grace = Duration::from_secs(2);
    let stdout = stdout.map(|rx| collect(&rx, grace)).unwrap_or_default();
    let stderr = stderr.map(|rx| collect(&rx, grace)).unwrap_or_default();
    Ok(Finished {
        program,
        status,
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Makes the helper die (SIGKILL) when this process does, however it
/// ends: a `serve` killed outside systemd (SIGKILL, a crash) would
/// otherwise leave yt-dlp running, re-parented to PID 1. The kernel sends
/// the signal when the thread that started the helper ends; [`run`]'s
/// thread waits for its helper, so that is when this process ends.
fn die_with_this_process(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the child between fork and exec, and
    // calls only prctl and getppid (async-signal-safe, no allocation).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // This process may have died before the prctl took effect.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Kills every helper this process runs now, with whatever each started
/// (its process group): for a command stopped by Ctrl-C or SIGTERM, which
/// would otherwise leave them running, orphaned in their own groups. The
/// helpers are found as this process's children that lead their own
/// process group (read from `/proc`, so nothing needs registering).
pub fn kill_helpers() {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the command name in parentheses: state, parent, group.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().take(3).collect();
        let parent = fields.get(1).and_then(|f| f.parse::<u32>().ok());
        let group = fields.get(2).and_then(|f| f.parse::<u32>().ok());
        if parent == Some(me) && group == Some(pid) {
            kill_group(pid);
        }
    }
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

/// `argv` with `options` inserted just before the first element that
/// contains `marker` (`"{url}"`, `"{video_id}"`), or at the end when none
/// does: where yt-dlp, and a wrapper that passes its last arguments on,
/// both take them. A `--` ahead of that place gets them before it.
pub fn insert_before(argv: &[String], marker: &str, options: &[String]) -> Vec<String> {
    let marked = argv
        .iter()
        .position(|a| a.contains(marker))
        .unwrap_or(argv.len());
    // After a "--" options are arguments: they go before it.
    let at = argv[..marked]
        .iter()
        .position(|a| a == "--")
        .unwrap_or(marked);
    let mut out = Vec::with_capacity(argv.len() + options.len());
    out.extend_from_slice(&argv[..at]);
    out.extend_from_slice(options);
    out.extend_from_slice(&argv[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    const PLAYLIST: &Helper = &Helper::PlaylistCommand;

    #[test]
    fn output_status_and_last_stderr_line() {
        let f = run(
            &sh("echo out; echo first >&2; echo '  last  ' >&2; echo >&2; exit 3"),
            PLAYLIST,
            Duration::from_secs(10),
            1024,
        )
        .expect("finished");
        assert_eq!(f.stdout, b"out\n");
        assert_eq!(f.status.code(), Some(3));
        assert_eq!(f.stderr_tail().as_deref(), Some("last"));
        assert_eq!(
            f.failed(Helper::PlaylistCommand).to_string(),
            "sh failed (exit status: 3): last"
        );
        let quiet = run(&sh("exit 1"), PLAYLIST, Duration::from_secs(10), 1024).expect("finished");
        let resolver = Helper::Resolver {
            what: "dQw4w9WgXcQ".into(),
        };
        assert_eq!(
            quiet.failed(resolver).to_string(),
            "resolver sh failed for dQw4w9WgXcQ (exit status: 1): no message"
        );
    }

    #[test]
    fn a_program_past_its_time_is_killed_with_its_children() {
        let started = Instant::now();
        let ran = run(
            &sh("sleep 30 & sleep 30"),
            PLAYLIST,
            Duration::from_millis(200),
            1024,
        );
        let failure = ran.expect_err("killed");
        assert!(matches!(failure.how, How::TimedOut { .. }), "{failure:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            failure.to_string(),
            "sh killed after 0s (raise [resolver] playlist_timeout_secs)"
        );
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let resolver = Helper::Resolver {
            what: "2 ids".into(),
        };
        let e = run(
            &["icyproxy-no-such-program".into()],
            &resolver,
            Duration::from_secs(1),
            10,
        )
        .expect_err("not found");
        assert!(matches!(e.how, How::NotFound), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("resolver command not found: icyproxy-no-such-program (install it"),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn a_program_that_cannot_run_keeps_the_os_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = run(
            &[dir.path().display().to_string()],
            PLAYLIST,
            Duration::from_secs(1),
            10,
        )
        .expect_err("a directory");
        let os = e.io_error().expect("kept");
        assert_eq!(os.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            e.to_string()
                .starts_with("cannot run the playlist command /"),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some());
        // The error users get keeps it too.
        let e = crate::error::Error::PlaylistSource(e);
        let source = std::error::Error::source(&e).expect("kept");
        assert!(source.downcast_ref::<io::Error>().is_some());
    }

    #[test]
    fn options_go_before_the_marked_argument() {
        let argv: Vec<String> = ["yt-dlp", "-J", "{url}", "x"].map(String::from).to_vec();
        let opts: Vec<String> = ["--cookies", "c"].map(String::from).to_vec();
        assert_eq!(
            insert_before(&argv, "{url}", &opts),
            ["yt-dlp", "-J", "--cookies", "c", "{url}", "x"]
        );
        assert_eq!(
            insert_before(&argv, "{video_id}", &opts),
            ["yt-dlp", "-J", "{url}", "x", "--cookies", "c"]
        );
        let dashed: Vec<String> = ["yt-dlp", "-J", "--", "{url}"].map(String::from).to_vec();
        assert_eq!(
            insert_before(&dashed, "{url}", &opts),
            ["yt-dlp", "-J", "--cookies", "c", "--", "{url}"]
        );
    }

    #[test]
    fn output_beyond_the_limit_is_dropped_without_blocking() {
        let f = run(
            &sh("head -c 1000000 /dev/zero"),
            PLAYLIST,
            Duration::from_secs(10),
            100,
        )
        .expect("finished");
        assert_eq!(f.stdout.len(), 100);
        assert!(f.status.success());
    }
}
