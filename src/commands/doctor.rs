//! `icyproxy doctor`: every link of the chain from the config file to
//! MPD, checked as the service would use it, one line each (✔ fine, ✗ to
//! fix, ! worth a look) with the fix on the same line. It changes nothing:
//! the database is opened read-only, permissions are read from mode bits,
//! the resolver runs once for `[doctor] probe_id` and two small ranges of
//! its stream are read, MPD is asked questions only.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use crate::app::checks::{self as shared, PathCheck, Program};
use crate::catalog::resolver::{Resolved, Resolver};
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::SCHEMA_VERSION;
use crate::catalog::ytdlp_error::{self, Class, Install};
use crate::config::{Config, Source, absolute};
use crate::error::{Error, Result};
use crate::mpd::client::{Connection, Failure, LoginFailure};
use crate::permissions::{self, Want};
use crate::stream::upstream::Upstream;
use crate::subprocess::{self, Helper};
use crate::video_id::VideoId;

/// A yt-dlp release older than this many days is worth upgrading: YouTube
/// changes every few weeks.
pub const STALE_AFTER_DAYS: i64 = 60;

/// Bytes read from the stream's start and from ~90 s in.
const PROBE_BYTES: u64 = 64 * 1024;

/// Where in the audio the second read starts: past the first minute, where
/// URLs that need a PO token are refused.
const LATE_SECS: u64 = 90;

/// How long `--version` of a program may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Something to fix.
    Fail,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Ok => "✔",
            Mark::Warn => "!",
            Mark::Fail => "✗",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mark::Ok => "ok",
            Mark::Warn => "warn",
            Mark::Fail => "fail",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub mark: Mark,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            mark: Mark::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            mark: Mark::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            mark: Mark::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// `✔ name: detail`, with ` → fix` when there is one.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}: {}", self.mark.symbol(), self.name, self.detail);
        if let Some(fix) = &self.fix {
            line.push_str(" → ");
            line.push_str(fix);
        }
        line
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "check": self.name,
            "status": self.mark.name(),
            "detail": self.detail,
            "fix": self.fix,
        })
    }
}

/// Runs every check on `config` (or reports why it could not be read),
/// writes the report as lines or `--json`, and fails (exit 1) when
/// something is to fix.
pub fn doctor(config: Result<Config>, json: bool, out: &mut dyn std::io::Write) -> Result<()> {
    let checks = match config {
        Ok(config) => run(&config),
        Err(e) => vec![Check::fail(
            "config",
            e.to_string(),
            "the shipped proxy.toml lists every key, with a comment",
        )],
    };
    let failed = checks.iter().filter(|c| c.mark == Mark::Fail).count();
    let text = if json {
        let all: Vec<serde_json::Value> = checks.iter().map(Check::json).collect();
        let report = serde_json::json!({ "ok": failed == 0, "checks": all });
        format!("{report}\n")
    } else {
        checks.iter().map(|c| c.line() + "\n").collect()
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write output", e))?;
    match failed {
        0 => Ok(()),
        1 => Err(Error::InvalidInput("doctor: 1 thing to fix".into())),
        n => Err(Error::InvalidInput(format!("doctor: {n} things to fix"))),
    }
}

/// Every check, in the chain's order.
pub fn run(config: &Config) -> Vec<Check> {
    let mut checks = vec![config_file(config), database(config)];
    let resolver = resolver_checks(config, &mut checks);
    if let Some(cookies) = cookies(config) {
        checks.push(cookies);
    }
    if let Some(program) = resolver {
        checks.extend(probe(config, &program));
    }
    checks.extend(mpd(config));
    checks.extend(listen(config));
    checks
}

/// The config file used, and whether others may read the secrets in it.
fn config_file(config: &Config) -> Check {
    let Source::File(path) = &config.source else {
        return Check::ok(
            "config",
            "built-in defaults (no ./proxy.toml, ~/.config/icyproxy/proxy.toml or \
             /etc/icyproxy/proxy.toml)",
        );
    };
    let mode = std::fs::metadata(path).map_or(0, |m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777
    });
    let secrets: Vec<&str> = [
        config.server.token().map(|_| "[server] token"),
        config.mpd.password().map(|_| "[mpd] password"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if mode & 0o004 != 0 && !secrets.is_empty() {
        return Check::warn(
            "config",
            format!(
                "{} (mode {mode:o}) holds {} and every user may read it",
                path.display(),
                secrets.join(" and ")
            ),
            format!(
                "chmod o-r {} (the service reads it through its group)",
                path.display()
            ),
        );
    }
    Check::ok("config", format!("{} (mode {mode:o})", path.display()))
}

/// The database: where, which schema, whether this user may write it.
fn database(config: &Config) -> Check {
    let path = absolute(&config.store.path);
    if !path.exists() {
        return Check::warn(
            "database",
            format!("no database at {} yet", path.display()),
            "serve, add or playlist import creates it (check [store] path if you have one)",
        );
    }
    let (version, tracks) = match TrackStore::inspect(&path) {
        Ok(found) => found,
        Err(e) => {
            return Check::fail(
                "database",
                e.to_string(),
                "restore it from a copy, or move it away to start afresh",
            );
        }
    };
    let schema = match version.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => format!("schema {version}"),
        _ => format!("schema {version}, upgraded to {SCHEMA_VERSION} by the next serve"),
    };
    let detail = format!("{} ({schema}, {tracks} tracks)", path.display());
    let dir = path.parent().unwrap_or(Path::new("."));
    let refused =
        permissions::check(&path, Want::Write).and_then(|()| permissions::check(dir, Want::Write));
    match refused {
        Ok(()) => Check::ok("database", format!("{detail}, writable")),
        Err(why) => Check::warn(
            "database",
            format!("{detail}, read-only for this user: {why}"),
            "commands that write need the service's group: sudo adduser $USER icyproxy, then \
             log in again",
        ),
    }
}

/// The resolver program, its version and age, and (for yt-dlp) a
/// JavaScript runtime. Returns the program when a probe can run.
fn resolver_checks(config: &Config, checks: &mut Vec<Check>) -> Option<PathBuf> {
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
    if !is_ytdlp {
        return Check::ok("resolver", format!("{shown}: {version}"));
    }
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

/// The cookies file (`[resolver] cookies_file`, or `--cookies FILE` in
/// `[resolver] command`):
/// readable, not by others, not expired. `None` when there is none.
fn cookies(config: &Config) -> Option<Check> {
    let PathCheck { path, usable } = shared::cookies_file(&config.resolver)?;
    let shown = path.display().to_string();
    if let Err(why) = usable {
        return Some(Check::fail(
            "cookies",
            why,
            "make it readable by the user that runs the resolver (640, group icyproxy for the \
             service)",
        ));
    }
    let mode = std::fs::metadata(&path).map_or(0, |m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777
    });
    if mode & 0o004 != 0 {
        return Some(Check::fail(
            "cookies",
            format!("{shown} (mode {mode:o}) is readable by every user: it is your YouTube login"),
            format!("chmod o-rwx {shown} (chmod 600; 640 with group icyproxy for the service)"),
        ));
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

/// A real resolve of `[doctor] probe_id`, then its stream's first 64 KiB
/// and 64 KiB from ~90 s in.
fn probe(config: &Config, _program: &Path) -> Vec<Check> {
    let Some(id) = VideoId::parse(config.doctor.probe_id()) else {
        return vec![Check::fail(
            "probe",
            format!(
                "[doctor] probe_id {:?} is not a video id",
                config.doctor.probe_id()
            ),
            "give an 11-character YouTube video id",
        )];
    };
    let Some(resolver) = Resolver::new(&config.resolver.command, config.resolver.timeout()) else {
        return Vec::new();
    };
    let started = Instant::now();
    let resolved = match resolver.resolve(&id) {
        Ok(resolved) => resolved,
        Err(e) => return vec![resolve_failed(config, &id, &e)],
    };
    let took = started.elapsed();
    let mut checks = vec![Check::ok(
        "probe resolve",
        format!(
            "{id} → {} in {:.1} s",
            show_track(&resolved),
            took.as_secs_f64()
        ),
    )];
    checks.extend(stream_probe(config, &resolved));
    checks
}

fn show_track(r: &Resolved) -> String {
    let (artist, title) = (&r.tags.artist, &r.tags.title);
    match (artist.is_empty(), title.is_empty()) {
        (false, false) => format!("{artist} - {title}"),
        (true, false) => title.clone(),
        _ => "a stream URL".to_owned(),
    }
}

/// The probe's resolve failed: its cause, named, with the fix.
fn resolve_failed(config: &Config, id: &VideoId, e: &Error) -> Check {
    let text = e.to_string();
    let class = match e {
        Error::ResolverTimeout(_) => Class::Other,
        _ => ytdlp_error::classify(&text, Some(1)),
    };
    let program = config
        .resolver
        .command
        .first()
        .map_or("yt-dlp", String::as_str);
    let upgrade = Install::find(program, std::env::var_os("PATH").as_deref()).upgrade_command();
    let fix = match e {
        Error::ResolverTimeout(_) => format!(
            "raise [resolver] timeout_secs ({} s now), or check the network",
            config.resolver.timeout().as_secs()
        ),
        _ => class.fix(&upgrade),
    };
    Check::fail(
        "probe resolve",
        format!("{id}: {}: {text}", class.label()),
        fix,
    )
}

/// The first 64 KiB of the resolved stream, then 64 KiB from ~90 s of
/// audio in: a URL refused there is the PO-token case.
fn stream_probe(config: &Config, resolved: &Resolved) -> Vec<Check> {
    let upstream = match Upstream::new(&config.upstream) {
        Ok(u) => u,
        Err(e) => {
            return vec![Check::fail(
                "probe stream",
                e.to_string(),
                "check [upstream]",
            )];
        }
    };
    let headers = &resolved.fetch.http_headers;
    let url = &resolved.stream_url;
    let host = crate::catalog::stream_url::host(url).to_owned();
    if let Some(at) = resolved.fetch.available_at {
        let wait = at - crate::time::unix_now();
        if wait > 0 && wait <= config.resolver.max_wait().as_secs() as i64 {
            std::thread::sleep(Duration::from_secs(wait as u64));
        }
    }
    let started = Instant::now();
    let first = read_range(&upstream, url, 0, headers);
    let (got, total) = match first {
        Ok(found) => found,
        Err(e) => {
            return vec![Check::fail(
                "probe stream",
                format!("{host} refused the stream's start: {e}"),
                "resolve again later; if it stays, upgrade yt-dlp",
            )];
        }
    };
    let mut checks = vec![Check::ok(
        "probe stream",
        format!(
            "first {} KiB from {host} in {:.2} s",
            got / 1024,
            started.elapsed().as_secs_f64()
        ),
    )];
    let late = match (total, resolved.tags.duration_secs) {
        (Some(total), Some(secs)) if secs > LATE_SECS as i64 + 5 => {
            Some(total * LATE_SECS / secs as u64)
        }
        (Some(total), None) if total > PROBE_BYTES * 4 => Some(total / 2),
        _ => None,
    };
    let Some(offset) = late else {
        checks.push(Check::ok(
            "probe 90 s in",
            "skipped: the track is too short (or its length unknown)",
        ));
        return checks;
    };
    checks.push(match read_range(&upstream, url, offset, headers) {
        Ok((got, _)) => Check::ok(
            "probe 90 s in",
            format!("{} KiB from byte {offset}", got / 1024),
        ),
        Err(Error::UpstreamStatus(403)) => Check::fail(
            "probe 90 s in",
            format!(
                "{host} served the first minute but refused byte {offset} (~{LATE_SECS} s in) \
                 with 403: the PO-token case"
            ),
            "this player client's URLs need a PO token past the first minute: see yt-dlp's \
             \"PO Token Guide\" (its wiki), or let yt-dlp choose its default clients (no \
             player_client in [resolver] command)",
        ),
        Err(e) => Check::fail(
            "probe 90 s in",
            format!("{host} failed at byte {offset}: {e}"),
            "resolve again later; if it stays, upgrade yt-dlp",
        ),
    });
    checks
}

/// Reads up to [`PROBE_BYTES`] from `start`; the bytes read and the whole
/// body's length when upstream says.
fn read_range(
    upstream: &Upstream,
    url: &str,
    start: u64,
    headers: &[(String, String)],
) -> Result<(u64, Option<u64>)> {
    let range = format!("bytes={start}-{}", start + PROBE_BYTES - 1);
    let resp = upstream.get(url, Some(&range), headers)?;
    if !matches!(resp.status, 200 | 206) {
        return Err(Error::UpstreamStatus(resp.status));
    }
    let total = resp.total();
    let Some(body) = resp.body else {
        return Ok((0, total));
    };
    let mut buf = Vec::new();
    body.take(PROBE_BYTES)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("reading the stream", e))?;
    if buf.is_empty() {
        return Err(Error::UpstreamInvalid("an empty body".into()));
    }
    Ok((buf.len() as u64, total))
}

/// MPD: reachable, its version, the password, `mpd_dir` writable and
/// whether MPD lists what icyproxy writes there.
fn mpd(config: &Config) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some(address) = config.mpd.address() else {
        checks.push(Check::ok("mpd", "off ([mpd] address is empty)"));
        checks.extend(mpd_dir(config, None));
        return checks;
    };
    let stopping = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicU64::new(0));
    let login = Connection::login(address, config.mpd.password(), &stopping, &counted);
    let refused = match login {
        Ok(conn) => Ok(conn),
        Err(LoginFailure::Connect(e)) => {
            checks.push(Check::fail(
                "mpd",
                format!("not reachable at {address}: {}", failure_text(&e)),
                "start MPD (sudo systemctl start mpd), or set [mpd] address (empty: off)",
            ));
            checks.extend(mpd_dir(config, None));
            return checks;
        }
        Err(LoginFailure::Unsendable { version }) => {
            Err((version, "the password holds a line break".to_owned()))
        }
        Err(LoginFailure::Password { version, failure }) => Err((version, failure_text(&failure))),
    };
    let mut conn = match refused {
        Ok(conn) => conn,
        Err((version, why)) => {
            checks.push(Check::fail(
                "mpd",
                format!("MPD {version} at {address} refused the password: {why}"),
                "set [mpd] password to MPD's (its password setting in mpd.conf)",
            ));
            checks.extend(mpd_dir(config, None));
            return checks;
        }
    };
    let version = conn.version().to_owned();
    match conn.command("status") {
        Ok(_) => checks.push(Check::ok(
            "mpd",
            format!(
                "MPD {version} at {address}{}",
                match config.mpd.password() {
                    Some(_) => ", password accepted",
                    None => "",
                }
            ),
        )),
        Err(e) => checks.push(Check::fail(
            "mpd",
            format!(
                "MPD {version} at {address} refused status: {}",
                failure_text(&e)
            ),
            "MPD wants a password: set [mpd] password",
        )),
    }
    let listed = conn.command("listplaylists").ok().map(|pairs| {
        pairs
            .into_iter()
            .filter(|(k, _)| k == "playlist")
            .map(|(_, v)| v)
            .collect::<Vec<String>>()
    });
    checks.extend(mpd_dir(config, listed));
    checks
}

fn failure_text(e: &Failure) -> String {
    match e {
        Failure::Stopped => "stopped".to_owned(),
        Failure::Unreachable(why) | Failure::Lost(why) => why.clone(),
        Failure::Ack(ack) => ack.to_string(),
    }
}

/// `[playlists] mpd_dir`: writable by this user, and (when MPD lists its
/// playlists and icyproxy has written some) the directory MPD reads.
fn mpd_dir(config: &Config, listed: Option<Vec<String>>) -> Option<Check> {
    let PathCheck { path: dir, usable } = shared::mpd_dir(&config.playlists)?;
    if let Err(why) = usable {
        return Some(Check::fail(
            "mpd_dir",
            why,
            "let this user write there: with the packaged service, the README's mpd_dir steps \
             (adduser icyproxy audio, chmod g+ws the directory, ReadWritePaths= in a drop-in)",
        ));
    }
    let written: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".m3u").map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let shown = dir.display();
    Some(match listed {
        Some(listed) if !written.is_empty() && !written.iter().any(|n| listed.contains(n)) => {
            Check::fail(
                "mpd_dir",
                format!(
                    "{shown} is writable, but MPD lists none of its {} playlists",
                    written.len()
                ),
                "set [playlists] mpd_dir to MPD's playlist_directory (mpd.conf)",
            )
        }
        Some(_) if !written.is_empty() => Check::ok(
            "mpd_dir",
            format!("{shown} is writable and MPD lists its playlists"),
        ),
        _ => Check::ok("mpd_dir", format!("{shown} is writable")),
    })
}

/// The listening address: free, or icyproxy already answers there.
/// When icyproxy answers there, what it said at start of its own setup
/// (`/health`'s `warnings`) is a failed check each: the service runs with
/// its own user, groups and sandbox, which this shell may not share.
fn listen(config: &Config) -> Vec<Check> {
    let bind = config.server.bind_address();
    match TcpListener::bind(&bind) {
        Ok(listener) => {
            drop(listener);
            return vec![Check::ok("listen", format!("{bind} is free"))];
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
        Err(e) => {
            return vec![Check::fail(
                "listen",
                format!("cannot listen on {bind}: {e}"),
                "choose another [server] host or port (ports below 1024 need privileges)",
            )];
        }
    }
    let Some(warnings) = running_icyproxy(config) else {
        return vec![Check::fail(
            "listen",
            format!("{bind} is taken by another program"),
            "stop it, or choose another [server] port",
        )];
    };
    let mut checks = vec![Check::ok(
        "listen",
        format!("icyproxy already answers /health on {bind}"),
    )];
    checks.extend(warnings.into_iter().map(|warning| {
        Check::fail(
            "service",
            format!("the icyproxy on {bind} says: {warning}"),
            "it runs with its own user, groups and sandbox: fix this for it (README, \
             \"Install on a Raspberry Pi\"), then restart it",
        )
    }));
    checks
}

/// When `GET /health` on the configured address is icyproxy's: the
/// warnings it reports.
fn running_icyproxy(config: &Config) -> Option<Vec<String>> {
    let upstream = Upstream::new(&config.upstream).ok()?;
    let url = format!("{}/health", config.server.url().base());
    let (body, _) = upstream.fetch_small(&url, 64 * 1024).ok()?;
    let health: serde_json::Value = serde_json::from_slice(&body).ok()?;
    if health["service"] != "icyproxy" {
        return None;
    }
    let warnings = health["warnings"].as_array().map_or_else(Vec::new, |all| {
        all.iter()
            .filter_map(|w| w.as_str().map(str::to_owned))
            .collect()
    });
    Some(warnings)
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
