//! yt-dlp's failures, named: what a failed run printed on stderr (and its
//! exit status) turned into a cause with a fix a user can act on. Pure:
//! the texts are matched as yt-dlp (and YouTube, through it) words them;
//! `tests/ytdlp_errors.rs` and the table below hold real lines.
//!
//! The one piece of I/O, finding how the yt-dlp on the `PATH` was
//! installed (for the upgrade command), is [`Install::find`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::subprocess::{Cause, Failure, How};

/// Why a yt-dlp run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// "Sign in to confirm you're not a bot": YouTube wants a signed-in
    /// session (cookies).
    BotCheck,
    /// "This content isn't available, try again later", HTTP 429: the
    /// session's hourly limit is reached.
    RateLimited,
    /// Private, members-only, age-restricted, removed, blocked in this
    /// country: this id will not play however often it is asked for.
    Unavailable,
    /// yt-dlp found no JavaScript runtime to solve YouTube's challenges.
    NoJsRuntime,
    /// YouTube changed and this yt-dlp cannot follow (signature or nsig
    /// failures, no format left, an option it does not know).
    Outdated,
    /// yt-dlp could not reach YouTube at all (DNS, no route, refused).
    Network,
    /// Anything else.
    Other,
}

impl Class {
    /// Every class, in the order `/metrics` lists them.
    pub const ALL: [Class; 7] = [
        Class::BotCheck,
        Class::RateLimited,
        Class::Unavailable,
        Class::NoJsRuntime,
        Class::Outdated,
        Class::Network,
        Class::Other,
    ];

    /// The name in `/metrics`, `/health` and `doctor --json`.
    pub fn name(self) -> &'static str {
        match self {
            Class::BotCheck => "bot_check",
            Class::RateLimited => "rate_limited",
            Class::Unavailable => "unavailable",
            Class::NoJsRuntime => "no_js_runtime",
            Class::Outdated => "outdated",
            Class::Network => "network",
            Class::Other => "other",
        }
    }

    /// What the cause is, in a few words (the start of a log line's cause).
    pub fn label(self) -> &'static str {
        match self {
            Class::BotCheck => "YouTube's bot check",
            Class::RateLimited => "YouTube's rate limit",
            Class::Unavailable => "video unavailable",
            Class::NoJsRuntime => "no JavaScript runtime for yt-dlp",
            Class::Outdated => "yt-dlp too old for YouTube",
            Class::Network => "YouTube unreachable",
            Class::Other => "resolver failed",
        }
    }

    /// Whether asking again later can help: an unavailable video stays so.
    pub fn worth_retrying(self) -> bool {
        self != Class::Unavailable
    }

    /// What to do about it; `upgrade` is the command that upgrades the
    /// yt-dlp found ([`Install::upgrade_command`]).
    pub fn fix(self, upgrade: &str) -> String {
        match self {
            Class::BotCheck => "YouTube wants a signed-in session: export your YouTube cookies \
                 from a private browser window to a file and set [resolver] cookies_file to it \
                 (README, \"Your library and search\"; yt-dlp's wiki: Extractors, exporting \
                 YouTube cookies)"
                .to_owned(),
            Class::RateLimited => "YouTube allows a guest session about 300 videos an hour: \
                 wait (up to an hour; warming pauses 10 minutes), or add an account's cookies \
                 ([resolver] cookies_file)"
                .to_owned(),
            Class::Unavailable => "this video cannot be played here (private, members-only, \
                 age-restricted, removed or blocked in this country): it is not retried; remove \
                 it, or give cookies of an account that may watch it"
                .to_owned(),
            Class::NoJsRuntime => "yt-dlp needs a JavaScript runtime for YouTube: install deno \
                 (or Node.js 20+, bun or QuickJS, named with \"--js-runtimes\") on the PATH the \
                 resolver runs with, and a yt-dlp with its solver scripts (the standalone binary, \
                 or yt-dlp[default]); icyproxy doctor checks both"
                .to_owned(),
            // Without a JavaScript runtime (and with --no-warnings) yt-dlp
            // often says only "Requested format is not available" too.
            Class::Outdated => format!(
                "YouTube changed and this yt-dlp cannot follow: upgrade it ({upgrade}); if it \
                 is current, it may lack a JavaScript runtime (deno, Node.js 20+): icyproxy \
                 doctor checks both"
            ),
            Class::Network => {
                "yt-dlp could not reach YouTube: check this machine's network and DNS".to_owned()
            }
            Class::Other => "run the [resolver] command by hand (or icyproxy doctor) to see \
                 yt-dlp's whole message"
                .to_owned(),
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Texts that name each class, lower-cased, checked in this order (the
/// first class with a match wins): a rate limit is worded as "Video
/// unavailable. This content isn't available, try again later", an age
/// check and a private video both say "Sign in", so those come before the
/// general ones.
const RULES: [(Class, &[&str]); 6] = [
    (
        Class::RateLimited,
        &[
            "try again later",
            "rate-limited",
            "http error 429",
            "too many requests",
        ],
    ),
    (
        Class::Unavailable,
        &[
            "confirm your age",
            "age-restricted",
            "inappropriate for some users",
            "private video",
            "members-only",
            "channel's members",
            "video unavailable",
            "this video is not available",
            "this video is unavailable",
            "has been removed",
            "has been terminated",
            "blocked it in your country",
            "not made this video available in your country",
            "video is no longer available",
            "incomplete youtube id",
        ],
    ),
    (
        Class::BotCheck,
        &[
            "not a bot",
            "sign in to confirm",
            "captcha",
            "login details are needed",
        ],
    ),
    (
        Class::NoJsRuntime,
        &[
            "no supported javascript runtime",
            "challenge solving failed",
            "signature solving failed",
            "ensure you have a supported javascript runtime",
        ],
    ),
    (
        Class::Outdated,
        &[
            "requested format is not available",
            "nsig extraction failed",
            "signature extraction failed",
            "unable to extract nsig",
            "unable to extract",
            "please report this issue",
            "no such option",
            "unsupported python version",
            "no video formats found",
        ],
    ),
    (
        Class::Network,
        &[
            "temporary failure in name resolution",
            "failed to resolve",
            "name or service not known",
            "nodename nor servname",
            "network is unreachable",
            "no route to host",
            "connection refused",
            "connection reset",
            "timed out",
            "unable to download webpage",
            "unable to download api page",
            "transporterror",
            "urlopen error",
        ],
    ),
];

/// The class of a failed run from what it printed on stderr and its exit
/// status (`None`: killed by a signal). An id's own error line is a better
/// input than a batch's whole stderr, which names other ids' failures too.
pub fn classify(stderr: &str, exit: Option<i32>) -> Class {
    let text = normalise(stderr);
    for (class, needles) in RULES {
        if needles.iter().any(|n| text.contains(n)) {
            return class;
        }
    }
    match exit {
        // yt-dlp's usage errors ("yt-dlp: error: ..."): an option this
        // version does not know, usually.
        Some(2) if text.contains("error:") => Class::Outdated,
        _ => Class::Other,
    }
}

/// Lower case, typographic apostrophes as plain ones (YouTube writes
/// "you’re" and "isn’t").
fn normalise(text: &str) -> String {
    text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'")
}

/// `failure` (a resolver run that failed, or gave no URL for an id) with
/// its cause named from `stderr` (for a batch: the id's own lines and the
/// warnings that name no id), and the telling line of it as the tail.
pub fn diagnose(mut failure: Failure, stderr: &str) -> Failure {
    let exit = match &failure.how {
        How::Failed { status, .. } | How::Missing { status, .. } => status.code(),
        _ => None,
    };
    if let How::Failed { stderr_tail, .. } | How::Missing { stderr_tail, .. } = &mut failure.how {
        if let Some(line) = telling_line(stderr) {
            *stderr_tail = Some(line);
        }
    }
    let class = classify(stderr, exit);
    let upgrade = match class {
        Class::Outdated => {
            Install::find(&failure.program, std::env::var_os("PATH").as_deref()).upgrade_command()
        }
        _ => String::new(),
    };
    failure.with_cause(Cause {
        name: class.name(),
        label: class.label(),
        fix: class.fix(&upgrade),
    })
}

/// A resolver's or playlist command's failure told once, for a check that
/// shows what was found apart from the fix (doctor): the cause's label
/// and yt-dlp's telling line, and the cause's fix. `None` for a failure
/// [`diagnose`] did not name (the error's own text says it all).
pub fn told(error: &Error) -> Option<(String, String)> {
    let (Error::Resolver(failure) | Error::PlaylistSource(failure)) = error else {
        return None;
    };
    if let How::LoginNeeded { cookies } = &failure.how {
        return Some(crate::subprocess::login_parts(cookies.as_deref()));
    }
    let cause = failure.cause.as_ref()?;
    let said = match &failure.how {
        How::Failed { stderr_tail, .. } | How::Missing { stderr_tail, .. } => stderr_tail.clone(),
        _ => None,
    };
    let found = match said {
        Some(line) => format!("{}: {line}", cause.label),
        None => cause.label.to_owned(),
    };
    Some((found, cause.fix.clone()))
}

/// The class a resolver error was given by [`diagnose`], if any.
pub fn class_of(error: &Error) -> Option<Class> {
    let Error::Resolver(failure) = error else {
        return None;
    };
    let name = failure.cause.as_ref()?.name;
    Class::ALL.into_iter().find(|c| c.name() == name)
}

/// The lines of a batch's `stderr` that concern `id`: those naming it, and
/// those naming no video (warnings about the whole run).
pub fn lines_for(stderr: &str, id: &str) -> String {
    let names_a_video = |l: &str| {
        l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .any(|w| w.len() == 11 && l.contains(&format!("{w}:")))
    };
    stderr
        .lines()
        .filter(|l| l.contains(id) || !names_a_video(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The line of `stderr` that says most: the last `ERROR:` line, else the
/// last line naming a cause, else the last non-empty one (at most 300
/// characters).
pub fn telling_line(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let chosen = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("ERROR:"))
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|l| classify(l, None) != Class::Other)
        })
        .or(lines.last())?;
    Some(chosen.chars().take(300).collect())
}

/// How the yt-dlp that runs was installed: it decides the upgrade command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// The official standalone binary (it bundles Python): `yt-dlp -U`.
    Standalone(PathBuf),
    /// pipx's venv.
    Pipx,
    /// pip (a Python script on the PATH).
    Pip(PathBuf),
    /// Debian's package (`/usr/bin/yt-dlp`): too old for YouTube.
    Debian,
    /// Not found, or not told apart.
    Unknown,
}

impl Install {
    /// Finds `program` (a name looked up on `path`, the `PATH` value, or a
    /// path) and tells how it was installed from where it lies and its
    /// first bytes. Reads only.
    pub fn find(program: &str, path: Option<&std::ffi::OsStr>) -> Install {
        let Some(found) = locate(program, path) else {
            return Install::Unknown;
        };
        let real = std::fs::canonicalize(&found).unwrap_or_else(|_| found.clone());
        let mut head = [0u8; 64];
        let n = std::fs::File::open(&real)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .unwrap_or(0);
        Install::of(&found, &real, &head[..n])
    }

    /// Pure: `found` on the PATH, `real` with links resolved, `head` its
    /// first bytes.
    pub fn of(found: &Path, real: &Path, head: &[u8]) -> Install {
        let real_text = real.to_string_lossy();
        if real_text.contains("/pipx/") || real_text.contains("/.local/share/pipx") {
            return Install::Pipx;
        }
        if real.starts_with("/usr/bin") || real.starts_with("/usr/share/yt-dlp") {
            return Install::Debian;
        }
        // yt-dlp's own release file `yt-dlp` is a zipped Python app behind
        // a `#!` line: standalone too (`yt-dlp -U`), not pip's script.
        let zipped = head.windows(4).any(|w| w == b"PK\x03\x04");
        if head.starts_with(b"#!") && !zipped {
            return Install::Pip(found.to_path_buf());
        }
        if head.starts_with(b"\x7fELF") || zipped {
            return Install::Standalone(found.to_path_buf());
        }
        Install::Unknown
    }

    /// The command that upgrades this install, as a user types it.
    pub fn upgrade_command(&self) -> String {
        match self {
            Install::Standalone(path) => {
                let sudo = match writable(path) {
                    true => "",
                    false => "sudo ",
                };
                format!("{sudo}{} -U", path.display())
            }
            Install::Pipx => "pipx upgrade yt-dlp (sudo PIPX_HOME=/opt/pipx \
                PIPX_BIN_DIR=/usr/local/bin pipx upgrade yt-dlp for the service's)"
                .to_owned(),
            Install::Pip(_) => "python3 -m pip install -U 'yt-dlp[default]'".to_owned(),
            Install::Debian => "Debian's yt-dlp lags behind YouTube: sudo apt remove yt-dlp, \
                then install the standalone yt-dlp binary as the README says"
                .to_owned(),
            Install::Unknown => "yt-dlp -U, or the way you installed it".to_owned(),
        }
    }
}

/// Whether this user may replace the file: `yt-dlp -U` writes a new file
/// beside it, so its directory is what counts.
fn writable(path: &Path) -> bool {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::permissions::check(dir, crate::permissions::Want::Write).is_ok()
}

/// `program` as a path: itself when it has a `/`, else the first
/// executable file of that name on `path`.
pub fn locate(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real lines, as yt-dlp printed them (from its source and its issue
    /// tracker), with the class each must get.
    const LINES: [(&str, Class); 22] = [
        (
            "ERROR: [youtube] tpUr8xVxj-w: Sign in to confirm you\u{2019}re not a bot. Use \
             --cookies-from-browser or --cookies for the authentication. See  \
             https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how \
             to manually pass cookies. Also see  \
             https://github.com/yt-dlp/yt-dlp/wiki/Extractors#exporting-youtube-cookies  for \
             tips on effectively exporting YouTube cookies",
            Class::BotCheck,
        ),
        (
            "ERROR: [youtube] M7FH1dL51oU: Sign in to confirm you're not a bot. This helps \
             protect our community. Learn more",
            Class::BotCheck,
        ),
        (
            "ERROR: [youtube] SOWBtuuCDig: Video unavailable. This content isn't available, try \
             again later. Your account has been rate-limited by YouTube for up to an hour. It is \
             recommended to use `-t sleep` to add a delay between video requests to avoid \
             exceeding the rate limit. For more information, refer to  \
             https://github.com/yt-dlp/yt-dlp/wiki/Extractors#this-content-isnt-available-try-again-later",
            Class::RateLimited,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This content isn\u{2019}t \
             available, try again later.",
            Class::RateLimited,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Unable to download webpage: HTTP Error 429: Too Many \
             Requests (caused by <HTTPError 429: Too Many Requests>)",
            Class::RateLimited,
        ),
        (
            "ERROR: [youtube] qaImFO_DgAM: Video unavailable. This content isn\u{2019}t available.",
            Class::Unavailable,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Private video. Sign in if you've been granted access \
             to this video. Use --cookies-from-browser or --cookies for the authentication.",
            Class::Unavailable,
        ),
        (
            "ERROR: [youtube] h7aSM88pUv8: Join this channel to get access to members-only \
             content like this video, and other exclusive perks.",
            Class::Unavailable,
        ),
        (
            "ERROR: [youtube] epoGMzLgyFQ: Join this channel from your computer or Android app \
             to get access to members-only content like this video.",
            Class::Unavailable,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm your age. This video may be \
             inappropriate for some users. Use --cookies-from-browser or --cookies for the \
             authentication.",
            Class::Unavailable,
        ),
        (
            "ERROR: [youtube] Frti4cmhDx4: Video unavailable. This video contains content from \
             Paramount Global (CBS), who has blocked it in your country on copyright grounds",
            Class::Unavailable,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This video has been removed by the \
             uploader",
            Class::Unavailable,
        ),
        (
            "WARNING: [youtube] No supported JavaScript runtime could be found. Only deno is \
             enabled by default; to use another runtime add  --js-runtimes RUNTIME[:PATH]  to \
             your command/config. YouTube extraction without a JS runtime has been deprecated, \
             and some formats may be missing. See  https://github.com/yt-dlp/yt-dlp/wiki/EJS  \
             for details on installing one",
            Class::NoJsRuntime,
        ),
        (
            "WARNING: [youtube] dQw4w9WgXcQ: n challenge solving failed: Some formats may be \
             missing. Ensure you have a supported JavaScript runtime and challenge solver script \
             distribution installed. Review any warnings presented before this message. For \
             more details, refer to  https://github.com/yt-dlp/yt-dlp/wiki/EJS",
            Class::NoJsRuntime,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Requested format is not available. Use \
             --list-formats for a list of available formats",
            Class::Outdated,
        ),
        (
            "WARNING: [youtube] ZRtdQ81jPUQ: Signature extraction failed: Some formats may be \
             missing",
            Class::Outdated,
        ),
        (
            "WARNING: [youtube] dQw4w9WgXcQ: nsig extraction failed: You may experience \
             throttling for some formats",
            Class::Outdated,
        ),
        (
            "yt-dlp: error: no such option: --js-runtimes",
            Class::Outdated,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Unable to download webpage: [Errno -3] Temporary \
             failure in name resolution (caused by TransportError('[Errno -3] Temporary failure \
             in name resolution'))",
            Class::Network,
        ),
        (
            "ERROR: [youtube:tab] UCTH6s1SMIQicvyd8OLBYMtQ: Unable to download API page: \
             <urllib3.connection.HTTPSConnection object at 0x762d85ce51d0>: Failed to resolve \
             'www.youtube.com' ([Errno -3] Temporary failure in name resolution) (caused by \
             TransportError(\"...\"))",
            Class::Network,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Unable to download webpage: [Errno 101] Network is \
             unreachable (caused by TransportError('[Errno 101] Network is unreachable'))",
            Class::Network,
        ),
        ("ERROR: something nobody has seen before", Class::Other),
    ];

    #[test]
    fn real_lines_get_their_class() {
        for (line, class) in LINES {
            assert_eq!(classify(line, Some(1)), class, "{line}");
        }
    }

    #[test]
    fn the_error_line_counts_over_warnings_before_it() {
        let stderr = "WARNING: [youtube] dQw4w9WgXcQ: nsig extraction failed: You may experience \
                      throttling for some formats\n\
                      ERROR: [youtube] dQw4w9WgXcQ: Private video. Sign in if you've been \
                      granted access to this video\n";
        let line = telling_line(stderr).expect("a line");
        assert!(line.starts_with("ERROR: [youtube] dQw4w9WgXcQ: Private video"));
        assert_eq!(classify(&line, Some(1)), Class::Unavailable);
        assert_eq!(telling_line(" \n\n"), None);
        assert_eq!(
            telling_line("[youtube] x: Downloading webpage\nsomething\n").as_deref(),
            Some("something")
        );
    }

    #[test]
    fn exit_status_alone_decides_little() {
        assert_eq!(classify("", Some(1)), Class::Other);
        assert_eq!(classify("", None), Class::Other);
        assert_eq!(
            classify("Usage: yt-dlp [OPTIONS]\nyt-dlp: error: bad value", Some(2)),
            Class::Outdated
        );
    }

    #[test]
    fn every_class_has_a_name_a_label_and_a_fix() {
        let mut names: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Class::ALL.len());
        for class in Class::ALL {
            assert!(!class.label().is_empty());
            assert!(class.fix("yt-dlp -U").len() > 20);
            // Cookies are set one way: cookies_file (--cookies in a command is refused).
            assert!(!class.fix("yt-dlp -U").contains("\"--cookies\""), "{class}");
        }
        assert!(
            Class::RateLimited
                .fix("")
                .contains("[resolver] cookies_file")
        );
        assert!(
            Class::Outdated
                .fix("pipx upgrade yt-dlp")
                .contains("pipx upgrade yt-dlp")
        );
        assert!(!Class::Unavailable.worth_retrying());
        assert!(Class::RateLimited.worth_retrying());
    }

    #[test]
    fn the_install_decides_the_upgrade_command() {
        let p = Path::new;
        assert_eq!(
            Install::of(
                p("/usr/local/bin/yt-dlp"),
                p("/opt/pipx/venvs/yt-dlp/bin/yt-dlp"),
                b"#!/opt/pipx/venvs/yt-dlp/bin/python"
            ),
            Install::Pipx
        );
        assert_eq!(
            Install::of(
                p("/usr/bin/yt-dlp"),
                p("/usr/bin/yt-dlp"),
                b"#!/usr/bin/python3"
            ),
            Install::Debian
        );
        assert_eq!(
            Install::of(
                p("/usr/local/bin/yt-dlp"),
                p("/usr/local/bin/yt-dlp"),
                b"\x7fELF\x02"
            ),
            Install::Standalone(PathBuf::from("/usr/local/bin/yt-dlp"))
        );
        assert_eq!(
            Install::of(
                p("/home/pi/.local/bin/yt-dlp"),
                p("/home/pi/.local/bin/yt-dlp"),
                b"#!/usr/bin/python3"
            ),
            Install::Pip(PathBuf::from("/home/pi/.local/bin/yt-dlp"))
        );
        // The release's zipapp, as the README's `curl … -o /usr/local/bin/yt-dlp` installs it.
        assert_eq!(
            Install::of(
                p("/usr/local/bin/yt-dlp"),
                p("/usr/local/bin/yt-dlp"),
                b"#!/usr/bin/env python3\nPK\x03\x04\x14\x00"
            ),
            Install::Standalone(PathBuf::from("/usr/local/bin/yt-dlp"))
        );
        assert!(
            Install::Debian
                .upgrade_command()
                .contains("apt remove yt-dlp")
        );
        assert_eq!(
            Install::Standalone(PathBuf::from("/nonexistent-dir/yt-dlp")).upgrade_command(),
            "sudo /nonexistent-dir/yt-dlp -U"
        );
    }
}
