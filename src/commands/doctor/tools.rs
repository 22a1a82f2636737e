//! The tools the resolver needs: its program, version and age, a
//! JavaScript runtime for yt-dlp, and the cookies file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::report::Check;
use crate::app::checks::{self as shared, Program};
use crate::catalog::ytdlp_error::{self, Install};
use crate::config::Config;
use crate::subprocess::{self, Helper};

/// A yt-dlp release older than this many days is worth upgrading: YouTube
/// changes every few weeks.
pub const STALE_AFTER_DAYS: i64 = 60;

/// How long `--version` of a program may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// The resolver program, its version and age, and (for yt-dlp) a
/// JavaScript runtime. Returns the program when a probe can run.
pub fn resolver_checks(config: &Config, checks: &mut Vec<Check>) -> Option<PathBuf> {
    let path_var = std::env::var_os("PATH");
    let found = match shared::resolver_program(&config.resolver, path_var.as_deref()) {
        Program::Found(found) => found,
        Program::Off => {
            checks.push(Check::ok(
                "resolver",
                "off ([resolver] command = []): only stored tracks play",
            ));
            return None;
        }
        Program::Missing(program) => {
            checks.push(Check::fail(
                "resolver",
                format!(
                    "{program} not found on PATH ({})",
                    show_path(path_var.as_deref())
                ),
                "install yt-dlp (the standalone binary: README, \"Install on a Raspberry Pi\"), \
                 or set [resolver] command",
            ));
            return None;
        }
    };
    let is_ytdlp = found
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains("yt-dlp"));
    let install = Install::find(&found.to_string_lossy(), None);
    checks.push(version_check(&found, is_ytdlp, &install));
    if is_ytdlp {
        checks.push(js_runtime(config, path_var.as_deref()));
    }
    Some(found)
}

fn show_path(path: Option<&std::ffi::OsStr>) -> String {
    path.map_or("PATH unset".to_owned(), |p| {
        p.to_string_lossy().into_owned()
    })
}

/// `PROGRAM --version`, and for yt-dlp its age (its version is its
/// release date).
fn version_check(program: &Path, is_ytdlp: bool, install: &Install) -> Check {
    let shown = program.display();
    if !is_ytdlp {
        // A script of the user's (or a stand-in) need not know --version:
        // the probe below tells whether it resolves.
        return Check::ok(
            "resolver",
            format!("{shown} (not yt-dlp: the probe tries it)"),
        );
    }
    let version = match version_of(program, "--version") {
        Ok(v) => v,
        Err(why) => {
            return Check::fail(
                "resolver",
                format!("{shown} --version failed: {why}"),
                format!("reinstall it ({})", install.upgrade_command()),
            );
        }
    };
    if *install == Install::Debian {
        return Check::fail(
            "resolver",
            format!("{shown} {version} is Debian's package"),
            install.upgrade_command(),
        );
    }
    match ytdlp_age_days(&version, crate::time::unix_now()) {
        Some(days) if days > STALE_AFTER_DAYS => Check::warn(
            "resolver",
            format!("{shown} {version} is {days} days old (YouTube changes every few weeks)"),
            format!("upgrade it: {}", install.upgrade_command()),
        ),
        Some(days) => Check::ok("resolver", format!("{shown} {version} ({days} days old)")),
        None => Check::ok("resolver", format!("{shown} {version}")),
    }
}

/// The first line `PROGRAM ARG` prints (stdout, else stderr).
fn version_of(program: &Path, arg: &str) -> std::result::Result<String, String> {
    let argv = [program.to_string_lossy().into_owned(), arg.to_owned()];
    let helper = Helper::Resolver {
        what: arg.to_owned(),
    };
    match subprocess::run(&argv, &helper, VERSION_TIMEOUT, 64 * 1024) {
        Ok(f) if f.status.success() => {
            let out = String::from_utf8_lossy(&f.stdout);
            let first = out
                .lines()
                .chain(f.stderr.lines())
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("")
                .to_owned();
            Ok(first)
        }
        Ok(f) => Err(format!(
            "{} ({})",
            f.stderr_tail().unwrap_or_else(|| "no message".into()),
            f.status
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Days since the release a yt-dlp version names (`2026.08.19`, or a
/// nightly's `2026.08.19.232955`); `None` when it names no date.
pub fn ytdlp_age_days(version: &str, now: i64) -> Option<i64> {
    let mut parts = version.trim().split('.');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(2000..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let released = crate::time::days_from_civil(year, month, day) * 86_400;
    Some(((now - released) / 86_400).max(0))
}

/// A JavaScript runtime yt-dlp can use: deno (≥ 2, the only one yt-dlp
/// enables by default), Node.js ≥ 20, bun or QuickJS (these three named
/// with `--js-runtimes`).
fn js_runtime(config: &Config, path: Option<&std::ffi::OsStr>) -> Check {
    let named = config
        .resolver
        .command
        .iter()
        .any(|a| a.starts_with("--js-runtimes"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut seen = Vec::new();
    for (name, min_major) in [("deno", 2), ("node", 20), ("bun", 1), ("qjs", 0)] {
        let Some(found) = ytdlp_error::locate(name, path) else {
            continue;
        };
        let version = match name {
            "qjs" => Ok(String::new()),
            _ => version_of(&found, "--version"),
        };
        let Ok(version) = version else {
            seen.push(format!("{} (does not run)", found.display()));
            continue;
        };
        let major = major_version(&version);
        if major.is_some_and(|m| m < min_major) {
            seen.push(format!("{} {version} (too old)", found.display()));
            continue;
        }
        // `deno 2.1.4 (stable, release, ...)`: the name once, no build notes.
        let version = version.split(" (").next().unwrap_or("");
        let version = version.strip_prefix(name).unwrap_or(version).trim();
        let detail = match version {
            "" => format!("{name} at {}", found.display()),
            v => format!("{name} {v} at {}", found.display()),
        };
        if home.as_ref().is_some_and(|h| found.starts_with(h)) {
            return Check::warn(
                "js runtime",
                format!("{detail}, in your home"),
                format!(
                    "the service's user cannot see it there: sudo ln -s {} /usr/local/bin/{name}",
                    found.display()
                ),
            );
        }
        if name != "deno" && !named {
            return Check::warn(
                "js runtime",
                detail,
                format!(
                    "yt-dlp uses only deno unless told: add \"--js-runtimes\", \"{name}\" to \
                     [resolver] command"
                ),
            );
        }
        return Check::ok("js runtime", detail);
    }
    let tried = match seen.is_empty() {
        true => format!("none of deno, node, bun, qjs on PATH ({})", show_path(path)),
        false => format!("none usable: {}", seen.join(", ")),
    };
    Check::fail(
        "js runtime",
        tried,
        "yt-dlp needs one for YouTube: install deno (arm64, x86-64: curl -fsSL \
         https://deno.land/install.sh | sudo DENO_INSTALL=/usr/local sh) or Node.js 20+ \
         (32-bit ARM), then add \"--js-runtimes\", \"node\" for Node.js",
    )
}

/// The major version in `v20.11.1`, `deno 2.1.4 (stable)`, `1.1.0`.
fn major_version(text: &str) -> Option<u32> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `[resolver] cookies_file`: by the service's own rule
/// ([`crate::catalog::cookies::private_jar`]), then not expired. `None`
/// when there is none.
pub fn cookies(config: &Config) -> Option<Check> {
    let (path, usable) = shared::cookies_file(config)?;
    let shown = path.display().to_string();
    if let Err(refused) = usable {
        return Some(Check::fail("cookies", refused.found, refused.fix));
    }
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            return Some(Check::fail(
                "cookies",
                format!("{shown}: {e}"),
                "check the file",
            ));
        }
    };
    let now = crate::time::unix_now();
    Some(match cookie_expiry(&text, now) {
        CookieState::NoYouTube => Check::fail(
            "cookies",
            format!("{shown} has no youtube.com cookies"),
            "export them again, from a private window signed in to YouTube",
        ),
        CookieState::Expired(name) => Check::fail(
            "cookies",
            format!("{shown}: the login cookie {name} has expired"),
            "export them again, from a private window signed in to YouTube",
        ),
        CookieState::Fine(count) => {
            Check::ok("cookies", format!("{shown} ({count} youtube.com cookies)"))
        }
    })
}
/// What a Netscape cookie jar says about YouTube's login.
#[derive(Debug, PartialEq, Eq)]
pub enum CookieState {
    NoYouTube,
    /// A login cookie past its expiry (by the jar's own column).
    Expired(String),
    /// This many youtube.com cookies, none of the login ones expired.
    Fine(usize),
}

/// The login cookies YouTube's session rests on.
const LOGIN_COOKIES: [&str; 5] = [
    "LOGIN_INFO",
    "SID",
    "__Secure-1PSID",
    "__Secure-3PSID",
    "SAPISID",
];

/// Reads a Netscape jar: `domain flag path secure expiry name value`,
/// tab-separated; `#HttpOnly_` lines are cookies too. An expiry of 0 is a
/// session cookie.
pub fn cookie_expiry(jar: &str, now: i64) -> CookieState {
    let mut count = 0;
    for line in jar.lines() {
        let line = line.strip_prefix("#HttpOnly_").unwrap_or(line);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [domain, _, _, _, expiry, name, ..] = fields[..] else {
            continue;
        };
        if !domain.trim_start_matches('.').ends_with("youtube.com") {
            continue;
        }
        count += 1;
        let expiry: i64 = expiry.trim().parse().unwrap_or(0);
        if LOGIN_COOKIES.contains(&name) && expiry != 0 && expiry < now {
            return CookieState::Expired(name.to_owned());
        }
    }
    match count {
        0 => CookieState::NoYouTube,
        n => CookieState::Fine(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yt_dlp_versions_are_dates() {
        let day = |y, m, d| crate::time::days_from_civil(y, m, d) * 86_400;
        assert_eq!(ytdlp_age_days("2026.08.19", day(2026, 8, 29)), Some(10));
        assert_eq!(
            ytdlp_age_days("2025.01.15.232955", day(2025, 3, 16)),
            Some(60)
        );
        assert_eq!(ytdlp_age_days("unknown", 0), None);
        assert_eq!(ytdlp_age_days("1.2.3", 0), None);
    }

    #[test]
    fn major_versions() {
        assert_eq!(major_version("v20.11.1"), Some(20));
        assert_eq!(major_version("deno 2.1.4 (stable, release)"), Some(2));
        assert_eq!(major_version("1.1.0"), Some(1));
        assert_eq!(major_version(""), None);
    }

    #[test]
    fn a_jar_is_read_by_its_expiry_column() {
        let jar = "# Netscape HTTP Cookie File\n\
                   .youtube.com\tTRUE\t/\tTRUE\t1900000000\tPREF\tx\n\
                   #HttpOnly_.youtube.com\tTRUE\t/\tTRUE\t1800000000\tLOGIN_INFO\ty\n\
                   .google.com\tTRUE\t/\tTRUE\t100\tSID\tz\n";
        assert_eq!(cookie_expiry(jar, 1_700_000_000), CookieState::Fine(2));
        assert_eq!(
            cookie_expiry(jar, 1_850_000_000),
            CookieState::Expired("LOGIN_INFO".into())
        );
        assert_eq!(cookie_expiry("# nothing\n", 0), CookieState::NoYouTube);
    }
}
