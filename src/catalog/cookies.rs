//! The user's YouTube cookies (`[resolver] cookies_file`), lent to every
//! yt-dlp run: resolving, playlists, search, radio, the library.
//!
//! yt-dlp writes the jar back to the file given with `--cookies` when it
//! exits, so it never gets the user's file: the service keeps a copy of
//! its own beside the database ([`Config::cookies_copy`], 0600), taken
//! again whenever the user's file is newer (exported again), and each run
//! gets a private copy of that (0600, removed after the run). A run that
//! ends well makes what it wrote back the service's copy (a rename: two
//! runs that overlap never leave a torn file, the last one wins). The
//! jar's contents are never logged.
//!
//! The private copies carry the process id in their name
//! (`.icyproxy-cookies.PID.*`): a process that exits without its `Drop`s
//! (Ctrl-C, SIGTERM) removes its own with [`remove_own`], and copies of
//! processes that are gone (SIGKILL, a power cut) are swept at the next
//! start ([`sweep`]).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::files::sync_dir_of;
use crate::subprocess::{Failure, How};

/// What yt-dlp says when YouTube wants a signed-in account, lower case:
/// YouTube's bot check ("Sign in to confirm you're not a bot", "... your
/// age"), yt-dlp's login hint ("Use --cookies-from-browser or --cookies
/// for the authentication"), its check for content that needs an account,
/// and its warning about rotated cookies.
const LOGIN_NEEDED: [&str; 5] = [
    "sign in to confirm",
    "--cookies for the authentication",
    "login details are needed",
    "only available for registered users",
    "cookies are no longer valid",
];

/// Why a cookies file is not lent: what was found and what to do, said
/// alike by the service's runs, doctor and the start's warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub found: String,
    pub fix: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.found, self.fix)
    }
}

/// The one rule for the cookies file (it is a YouTube login): it exists,
/// it belongs to the user that runs yt-dlp, and no one else may read or
/// write it (mode 600 or 400; no group bits, the service's group
/// included). Members of the service's group run the commands that need
/// it as the service's user (`sudo -u icyproxy icyproxy ...`).
pub fn private_jar(path: &Path) -> std::result::Result<(), Refused> {
    let shown = path.display();
    let meta = fs::metadata(path).map_err(|e| Refused {
        found: format!("{shown}: cannot read it: {e}"),
        fix: "export your YouTube cookies there, or leave [resolver] cookies_file empty".into(),
    })?;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Refused {
            found: format!(
                "{shown} is open to other users (mode {mode:03o}): it holds your YouTube login"
            ),
            fix: format!("make it yours alone: chmod 600 {shown}"),
        });
    }
    let me = crate::permissions::Identity::current();
    if let Some(me) = me.filter(|me| me.uid != meta.uid()) {
        return Err(Refused {
            found: format!(
                "{shown} belongs to user {}, not to this user ({})",
                meta.uid(),
                me.uid
            ),
            fix: "run icyproxy as the file's owner (the packaged service's: sudo -u icyproxy \
                  icyproxy ...)"
                .into(),
        });
    }
    Ok(())
}

/// The user's cookies file and the service's copy of it.
#[derive(Debug, Clone)]
pub struct Cookies {
    user: PathBuf,
    copy: PathBuf,
    /// Lend without changing anything (doctor's probe).
    read_only: bool,
}

/// One run's private copy of the jar; removed when dropped.
#[derive(Debug)]
pub struct Lent {
    path: PathBuf,
    copy: PathBuf,
    /// The user's file and its time when lent: exported again since, it
    /// wins over what this run wrote back.
    user: PathBuf,
    user_time: Option<SystemTime>,
    /// Whether what the run writes back may become the service's copy.
    keepable: bool,
}

impl Cookies {
    /// The user's jar `user`, lent through the service's own `copy`
    /// (the composition root puts it beside the database).
    pub fn new(user: PathBuf, copy: PathBuf) -> Cookies {
        Cookies {
            user,
            copy,
            read_only: false,
        }
    }

    /// These cookies lent as the service's runs get them, but changing
    /// nothing (doctor's probe): each run's private copy is of the jar the
    /// service's next run would use (its copy, or the user's file when
    /// newer), made in the temp directory, and never kept.
    pub fn read_only(self) -> Cookies {
        Cookies {
            read_only: true,
            ..self
        }
    }

    /// The user's file, as messages name it.
    pub fn file(&self) -> &Path {
        &self.user
    }

    /// Whether these cookies may be lent by this user: the user's file by
    /// [`private_jar`], and the service's copy, when there is one, this
    /// user's too (another user's copy is neither read nor replaced: a
    /// member of the service's group runs as the service's user).
    pub fn usable(&self) -> std::result::Result<(), Refused> {
        private_jar(&self.user)?;
        let me = crate::permissions::Identity::current();
        let Some((me, copy)) = me.zip(fs::metadata(&self.copy).ok()) else {
            return Ok(());
        };
        if copy.uid() != me.uid {
            return Err(Refused {
                found: format!(
                    "{}: its copy {} belongs to user {}, not to this user ({})",
                    self.user.display(),
                    self.copy.display(),
                    copy.uid(),
                    me.uid
                ),
                fix: "run icyproxy as that user (the packaged service's: sudo -u icyproxy \
                      icyproxy ...)"
                    .into(),
            });
        }
        Ok(())
    }

    /// Checks these cookies ([`Cookies::usable`]) and brings the service's
    /// copy up to date with the user's file.
    pub fn check(&self) -> Result<()> {
        let user = &self.user;
        let shown = user.display();
        self.usable()
            .map_err(|refused| Error::Config(format!("[resolver] cookies_file {refused}")))?;
        let meta = fs::metadata(user)
            .map_err(|e| Error::io(format!("cannot read cookies_file {shown}"), e))?;
        if same_file(user, &self.copy) {
            return Err(Error::Config(format!(
                "[resolver] cookies_file {shown} is where icyproxy keeps its own copy: \
                 put your cookies file somewhere else"
            )));
        }
        let copy_time = modified(&self.copy);
        let user_time = meta.modified().ok();
        if copy_time.is_none() || user_time > copy_time {
            let jar = fs::read(user)
                .map_err(|e| Error::io(format!("cannot read cookies_file {shown}"), e))?;
            let tmp = private_file(&self.copy, &jar)?;
            fs::rename(&tmp, &self.copy).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                Error::io(format!("cannot write {}", self.copy.display()), e)
            })?;
            sync_dir_of(&self.copy);
        }
        Ok(())
    }

    /// The jar's text as it stands (the service's copy, brought up to date
    /// with the user's file first): what the reader signs in with.
    pub fn jar(&self) -> Result<String> {
        self.check()?;
        fs::read_to_string(&self.copy)
            .map_err(|e| Error::io(format!("cannot read {}", self.copy.display()), e))
    }

    /// A private copy of the jar for one run (after [`Cookies::check`]).
    pub fn lend(&self) -> Result<Lent> {
        let (jar, near) = if self.read_only {
            self.usable()
                .map_err(|refused| Error::Config(format!("[resolver] cookies_file {refused}")))?;
            let newest = match modified(&self.copy) >= modified(&self.user) {
                true => &self.copy,
                false => &self.user,
            };
            let jar = fs::read(newest)
                .map_err(|e| Error::io(format!("cannot read {}", newest.display()), e))?;
            (jar, std::env::temp_dir().join("jar"))
        } else {
            self.check()?;
            let jar = fs::read(&self.copy)
                .map_err(|e| Error::io(format!("cannot read {}", self.copy.display()), e))?;
            (jar, self.copy.clone())
        };
        Ok(Lent {
            path: private_file(&near, &jar)?,
            copy: self.copy.clone(),
            user: self.user.clone(),
            user_time: modified(&self.user),
            keepable: !self.read_only,
        })
    }

    /// `failure` told as a jar that no longer logs in, when cookies are
    /// set and yt-dlp's stderr says YouTube wants an account; unchanged
    /// otherwise (without cookies, the yt-dlp classifier's cause, a bot
    /// check or a login, already says to set `cookies_file`).
    pub fn explain(cookies: Option<&Cookies>, failure: Failure) -> Failure {
        if cookies.is_none() || !login_needed(&failure) {
            return failure;
        }
        Failure {
            how: How::LoginNeeded {
                cookies: cookies.map(|c| c.user.display().to_string()),
            },
            ..failure
        }
    }
}

impl Lent {
    /// The file to give yt-dlp with `--cookies`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run ended well: the jar it wrote back becomes the service's
    /// copy (YouTube rotates some cookies as they are used), if it is a
    /// cookies file (an empty or garbled one is dropped, said in the log),
    /// on disk before it replaces the copy.
    pub fn keep(self) {
        if !self.keepable || modified(&self.user) != self.user_time {
            return;
        }
        if !fs::read(&self.path).is_ok_and(|jar| is_jar(&jar)) {
            log::warn!(
                "yt-dlp wrote back something that is not a cookies file; the cookies stay as \
                 they were"
            );
            return;
        }
        let on_disk = fs::File::open(&self.path).and_then(|f| f.sync_all());
        if on_disk
            .and_then(|()| fs::rename(&self.path, &self.copy))
            .is_err()
        {
            log::debug!("could not keep the cookies a run wrote back");
            return;
        }
        sync_dir_of(&self.copy);
    }

    /// `["--cookies", PATH]`.
    pub fn options(&self) -> Vec<String> {
        vec!["--cookies".into(), self.path.display().to_string()]
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether `jar` is a Netscape cookies file: not empty, and it starts
/// with the header yt-dlp (and browsers' exporters) write, or holds a
/// cookie line (seven fields split by tabs).
fn is_jar(jar: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(jar) else {
        return false;
    };
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    let header = first.is_some_and(|l| {
        l.starts_with("# Netscape HTTP Cookie File") || l.starts_with("# HTTP Cookie File")
    });
    header
        || text
            .lines()
            .filter(|l| !l.starts_with('#') || l.starts_with("#HttpOnly_"))
            .any(|l| l.split('\t').count() == 7)
}

/// Whether a failed run's message says YouTube wants a signed-in account.
fn login_needed(failure: &Failure) -> bool {
    let said = match &failure.how {
        How::Failed { stderr_tail, .. }
        | How::Missing { stderr_tail, .. }
        | How::Unusable { stderr_tail, .. } => stderr_tail.as_deref(),
        _ => None,
    };
    said.is_some_and(|text| {
        let text = text.to_lowercase();
        LOGIN_NEEDED.iter().any(|m| text.contains(m))
    })
}

/// The start of every private copy's name; the process id follows.
const PRIVATE: &str = ".icyproxy-cookies.";

/// Removes the private copies beside `copy` left by processes that are
/// no longer running; says how many. Run at the start of `serve` and of
/// every command.
pub fn sweep(copy: &Path) -> usize {
    remove_copies(copy, |pid| !Path::new(&format!("/proc/{pid}")).exists())
}

/// Removes this process's own private copies beside `copy`: for an exit
/// that runs no `Drop` (a signal), once its helpers are killed.
pub fn remove_own(copy: &Path) -> usize {
    let me = std::process::id();
    remove_copies(copy, |pid| pid == me)
}

/// Removes the service's copy `copy` and says whether there was one:
/// `cookies_file` is unset, and a login the user took away stays away.
pub fn forget(copy: &Path) -> bool {
    fs::remove_file(copy).is_ok()
}

fn remove_copies(copy: &Path, whose: impl Fn(u32) -> bool) -> usize {
    let dir = match copy.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix(PRIVATE))
            .and_then(|rest| rest.split('.').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if pid.is_some_and(&whose) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Writes `bytes` to a new file (mode 0600, a name no other run uses)
/// beside `near` and returns its path.
fn private_file(near: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let dir = near.parent().unwrap_or(Path::new(""));
    if !dir.as_os_str().is_empty() {
        fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    for attempt in 0..100u32 {
        let name = format!("{PRIVATE}{}.{thread}.{nanos}.{attempt}", std::process::id());
        let path = dir.join(name);
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match opened {
            Ok(mut file) => {
                let written = file.write_all(bytes).and_then(|()| file.sync_all());
                return written.map(|()| path.clone()).map_err(|e| {
                    let _ = fs::remove_file(&path);
                    Error::io(format!("cannot write {}", path.display()), e)
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("cannot create {}", path.display()), e)),
        }
    }
    Err(Error::io_msg(format!(
        "cannot create a private copy of the cookies in {}",
        dir.display()
    )))
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whether two paths name one file (both must exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn jar(dir: &Path, mode: u32) -> Cookies {
        let user = dir.join("mine.txt");
        fs::write(&user, "# Netscape HTTP Cookie File\n").expect("write");
        fs::set_permissions(&user, fs::Permissions::from_mode(mode)).expect("chmod");
        Cookies::new(user, dir.join("state/icyproxy-cookies.txt"))
    }

    #[test]
    fn a_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = jar(dir.path(), 0o644).lend().expect_err("refused");
        assert!(
            e.to_string().contains("is open to other users (mode 644)"),
            "{e}"
        );
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }

    #[test]
    fn only_the_owner_may_read_or_write_the_jar() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.txt");
        fs::write(&path, "# Netscape HTTP Cookie File\n").expect("write");
        for (mode, ok) in [
            (0o600, true),
            (0o400, true),
            (0o640, false),
            (0o620, false),
            (0o602, false),
            (0o644, false),
        ] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
            let said = private_jar(&path);
            assert_eq!(said.is_ok(), ok, "{mode:o}: {said:?}");
            if let Err(refused) = said {
                assert!(refused.fix.contains("chmod 600"), "{refused}");
            }
        }
        let gone = private_jar(&dir.path().join("none.txt")).expect_err("missing");
        assert!(gone.found.contains("cannot read it"), "{gone}");
    }

    #[test]
    fn another_user_s_copy_is_neither_read_nor_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cookies = jar(dir.path(), 0o600);
        cookies.lend().expect("the first run makes the copy");
        // As root (the tests' user here), hand the copy to another user.
        if std::os::unix::fs::chown(&cookies.copy, Some(4321), None).is_err() {
            eprintln!("not root: cannot give the copy to another user; skipped");
            return;
        }
        let before = fs::read(&cookies.copy).expect("copy");
        fs::write(&cookies.user, "# Netscape HTTP Cookie File\n# newer\n").expect("export");
        let e = cookies.lend().expect_err("refused").to_string();
        assert!(e.contains("belongs to user 4321"), "{e}");
        assert!(e.contains("sudo -u icyproxy"), "{e}");
        assert_eq!(
            fs::read(&cookies.copy).expect("copy"),
            before,
            "not replaced"
        );
    }

    #[test]
    fn each_run_gets_a_private_copy_and_the_user_file_is_never_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cookies = jar(dir.path(), 0o600);
        let (a, b) = (cookies.lend().expect("a"), cookies.lend().expect("b"));
        assert_ne!(a.path(), b.path());
        let mode = fs::metadata(a.path()).expect("meta").mode() & 0o777;
        assert_eq!(mode, 0o600);
        let rotated = "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t0\tSID\tnew\n";
        fs::write(a.path(), rotated).expect("yt-dlp writes back");
        a.keep();
        let b_path = b.path().to_path_buf();
        drop(b);
        assert!(!b_path.exists(), "removed after its run");
        assert_eq!(fs::read_to_string(&cookies.copy).expect("copy"), rotated);
        assert_eq!(
            fs::read_to_string(&cookies.user).expect("user"),
            "# Netscape HTTP Cookie File\n"
        );
    }

    #[test]
    fn a_jar_written_back_empty_or_garbled_is_not_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cookies = jar(dir.path(), 0o600);
        for bad in [
            "",
            "\n",
            "<html>Too many requests</html>\n",
            "\u{0}\u{1}garbage",
        ] {
            let lent = cookies.lend().expect("lent");
            fs::write(lent.path(), bad).expect("yt-dlp writes back");
            lent.keep();
            assert_eq!(
                fs::read_to_string(&cookies.copy).expect("copy"),
                "# Netscape HTTP Cookie File\n",
                "{bad:?} was kept"
            );
        }
        let lent = cookies.lend().expect("lent");
        let line = ".youtube.com\tTRUE\t/\tTRUE\t0\tSID\tv\n";
        fs::write(lent.path(), line).expect("cookie lines without a header");
        lent.keep();
        assert_eq!(fs::read_to_string(&cookies.copy).expect("copy"), line);
    }

    #[test]
    fn login_messages_name_the_file() {
        let failure = |tail: &str| Failure {
            program: "yt-dlp".into(),
            helper: crate::subprocess::Helper::PlaylistCommand,
            how: How::Failed {
                status: std::process::ExitStatus::default(),
                stderr_tail: Some(tail.into()),
            },
            cause: None,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let cookies = jar(dir.path(), 0o600);
        let said = "ERROR: [youtube] x: Sign in to confirm you’re not a bot. Use \
                    --cookies-from-browser or --cookies for the authentication.";
        let e = Cookies::explain(Some(&cookies), failure(said)).to_string();
        assert!(
            e.contains(&format!(
                "the cookies in {} no longer log in; export them again",
                cookies.user.display()
            )),
            "{e}"
        );
        // Without cookies, the failure stays as the classifier named it.
        let e = Cookies::explain(None, failure(said)).to_string();
        assert!(!e.contains("no longer log in"), "{e}");
        let e = Cookies::explain(Some(&cookies), failure("ERROR: Video unavailable")).to_string();
        assert!(e.ends_with("ERROR: Video unavailable"), "{e}");
    }
}
