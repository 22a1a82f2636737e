//! `proxy.toml` plus command-line overrides, turned into one validated
//! [`Config`]. Every key has a default; unknown keys and bad values are
//! errors that name the key.

use std::ffi::OsStr;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

mod words;

/// The file name looked for when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "proxy.toml";

/// The system-wide config file, the last place searched.
pub const SYSTEM_CONFIG_FILE: &str = "/etc/icyproxy/proxy.toml";

/// Where the settings came from. Kept so that the CLI and the server can
/// name it: two runs that found different files would otherwise use two
/// databases without a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A config file, as an absolute path.
    File(PathBuf),
    /// No file was given or found.
    Defaults,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Defaults => write!(f, "built-in defaults"),
        }
    }
}

/// The places searched, in order, when `--config` is not given:
/// `./proxy.toml`, then `$XDG_CONFIG_HOME/icyproxy/proxy.toml` (or
/// `$HOME/.config/icyproxy/proxy.toml` when `XDG_CONFIG_HOME` is unset,
/// empty or relative, as the XDG spec asks), then
/// `/etc/icyproxy/proxy.toml`. Pure, so the order can be tested without
/// touching the environment.
pub fn search_path(xdg_config_home: Option<&OsStr>, home: Option<&OsStr>) -> Vec<PathBuf> {
    let mut places = vec![PathBuf::from(DEFAULT_CONFIG_FILE)];
    fn usable(v: Option<&OsStr>) -> Option<&Path> {
        v.map(Path::new).filter(|p| p.is_absolute())
    }
    let user_dir = match (usable(xdg_config_home), usable(home)) {
        (Some(xdg), _) => Some(xdg.to_path_buf()),
        (None, Some(home)) => Some(home.join(".config")),
        (None, None) => None,
    };
    if let Some(dir) = user_dir {
        places.push(dir.join("icyproxy").join(DEFAULT_CONFIG_FILE));
    }
    places.push(PathBuf::from(SYSTEM_CONFIG_FILE));
    places
}

/// `path` made absolute against the working directory (for messages that
/// must say exactly which file is meant); unchanged if that fails.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The validated settings the program runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file these settings were read from, or the built-in defaults.
    pub source: Source,
    pub host: String,
    pub port: u16,
    /// Stream workers: the most concurrent streams.
    pub workers: usize,
    /// How long a write to a client may block before the stream is dropped.
    pub write_timeout: Duration,
    /// How long a client has to send a whole request head.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may stay silent between requests.
    pub idle_timeout: Duration,
    /// The most client connections open at once; `None`: derived from
    /// the open-file limit (see [`Config::max_connections`]).
    pub max_connections: Option<usize>,
    /// When set, streams, playlists and /metrics need this token.
    pub token: Option<String>,
    /// Host names (beside `localhost` and IP addresses) a browser page may
    /// reach this server by.
    pub allowed_hosts: Vec<String>,
    /// The SQLite track store, already resolved against the config's directory.
    pub db_path: PathBuf,
    /// Audio bytes between inline ICY metadata blocks.
    pub metaint: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Bytes asked of upstream per ranged request.
    pub chunk_bytes: u64,
    /// Attempts after a failed upstream request or a dropped connection.
    pub retries: u32,
    /// Extra root certificates (PEM) trusted beside the built-in ones.
    pub ca_file: Option<PathBuf>,
    /// The resolver argv; `{video_id}` is replaced. Empty: no resolving.
    pub resolver_command: Vec<String>,
    pub resolver_timeout: Duration,
    /// The longest a request waits for a URL's `available_at`.
    pub max_wait: Duration,
    /// Ids per resolver run when warming ahead (1: one at a time).
    pub batch_size: usize,
    /// Resolver runs at once, requests and warming together.
    pub max_running: usize,
    /// How long a request (or warming) waits for a free resolver slot.
    pub slot_wait: Duration,
    /// How long an id's failed run is answered without running again.
    pub remember_failure: Duration,
    /// Refresh a URL when fewer seconds than this remain before `expire=`.
    pub refresh_margin_secs: i64,
    /// Refresh a URL without `expire=` once it is this old.
    pub max_age_secs: i64,
    /// Where cover art is cached.
    pub cover_dir: PathBuf,
    /// The most bytes of cover art kept.
    pub cover_max_bytes: u64,
    /// The playlist reader argv; `{url}` is replaced.
    pub playlist_command: Vec<String>,
    /// The user's YouTube cookies (a Netscape jar): every yt-dlp run gets
    /// a copy of its own; `None`: no cookies.
    pub cookies_file: Option<PathBuf>,
    pub playlist_timeout: Duration,
    /// How often imported playlists are re-read while serving; `None`: never.
    pub sync_every: Option<Duration>,
    /// How often the account's library is read again while serving;
    /// `None`: never.
    pub library_every: Option<Duration>,
    /// MPD's `playlist_directory`, where every playlist is written as
    /// `NAME.m3u`; `None`: not written.
    pub mpd_dir: Option<PathBuf>,
    /// `[playlists] base_url` when set: where MPD reaches this server.
    pub playlists_base_url: Option<String>,
    /// MPD to follow (`host:port`, or a Unix socket path); `None`: off.
    pub mpd_address: Option<String>,
    pub mpd_password: Option<String>,
    /// Queue entries after the current one kept warm.
    pub warm_ahead: usize,
    /// The video `icyproxy doctor` resolves and fetches to prove the chain.
    pub probe_id: String,
    /// Autoplay: extend MPD's queue with the radio of its last song.
    pub autoplay: Autoplay,
}

/// `[mpd] autoplay*`: when and how much to append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoplay {
    /// On at start (`autoplay = true`); the channel can toggle it.
    pub on: bool,
    /// Append when at most this many songs remain after the current one.
    pub when_left: usize,
    /// Songs appended at a time.
    pub batch: usize,
    /// Recent ids (played, queued, appended, failed) never appended again.
    pub history: usize,
    /// Also extend a queue whose last song is not this proxy's.
    pub any_queue: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    server: ServerSection,
    store: StoreSection,
    icy: IcySection,
    upstream: UpstreamSection,
    resolver: ResolverSection,
    cover: CoverSection,
    playlists: PlaylistsSection,
    mpd: MpdSection,
    doctor: DoctorSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DoctorSection {
    probe_id: String,
}

impl Default for DoctorSection {
    fn default() -> Self {
        DoctorSection {
            probe_id: DEFAULT_PROBE_ID.into(),
        }
    }
}

/// The video `icyproxy doctor` resolves by default: a YouTube Music track
/// that has stayed up for years.
pub const DEFAULT_PROBE_ID: &str = "dQw4w9WgXcQ";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct MpdSection {
    /// Empty: off.
    address: String,
    password: String,
    warm_ahead: usize,
    autoplay: bool,
    autoplay_when_left: usize,
    autoplay_batch: usize,
    autoplay_history: usize,
    autoplay_any_queue: bool,
}

impl Default for MpdSection {
    fn default() -> Self {
        MpdSection {
            address: "127.0.0.1:6600".into(),
            password: String::new(),
            warm_ahead: 5,
            autoplay: false,
            autoplay_when_left: 2,
            autoplay_batch: 10,
            autoplay_history: 200,
            autoplay_any_queue: false,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PlaylistsSection {
    /// Minutes; 0: never. Fractions are allowed (0.5 is 30 s).
    sync_minutes: f64,
    /// Minutes; 0: never.
    library_minutes: f64,
    /// Empty: off.
    mpd_dir: PathBuf,
    /// Empty: from [server] host and port.
    base_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct CoverSection {
    /// Empty: `covers` beside the database.
    cache_dir: PathBuf,
    max_bytes: u64,
}

impl Default for CoverSection {
    fn default() -> Self {
        CoverSection {
            cache_dir: PathBuf::new(),
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ServerSection {
    host: String,
    port: u16,
    workers: usize,
    write_timeout_secs: u64,
    token: String,
    header_timeout_secs: u64,
    idle_timeout_secs: u64,
    /// 0: derived from the open-file limit.
    max_connections: usize,
    allowed_hosts: Vec<String>,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            host: "127.0.0.1".into(),
            port: 8080,
            workers: 16,
            write_timeout_secs: 30,
            token: String::new(),
            header_timeout_secs: 10,
            idle_timeout_secs: 30,
            max_connections: 0,
            allowed_hosts: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StoreSection {
    path: PathBuf,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            path: "tracks.db".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct IcySection {
    metaint: usize,
}

impl Default for IcySection {
    fn default() -> Self {
        IcySection { metaint: 16000 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct UpstreamSection {
    connect_timeout_secs: u64,
    read_timeout_secs: u64,
    chunk_bytes: u64,
    retries: u32,
    /// Empty: the built-in roots only.
    ca_file: PathBuf,
}

impl Default for UpstreamSection {
    fn default() -> Self {
        UpstreamSection {
            connect_timeout_secs: 5,
            read_timeout_secs: 15,
            chunk_bytes: 10 * 1024 * 1024,
            retries: 3,
            ca_file: PathBuf::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ResolverSection {
    command: Vec<String>,
    timeout_secs: u64,
    refresh_margin_secs: u64,
    max_age_secs: u64,
    playlist_command: Vec<String>,
    playlist_timeout_secs: u64,
    max_wait_secs: u64,
    batch_size: usize,
    /// Empty: no cookies.
    cookies_file: PathBuf,
    max_running: usize,
    slot_wait_secs: u64,
    remember_failure_secs: u64,
}

/// The playlist reader: yt-dlp's one JSON object for a whole playlist,
/// without resolving each video.
pub const DEFAULT_PLAYLIST_COMMAND: [&str; 5] =
    ["yt-dlp", "--flat-playlist", "-J", "--no-warnings", "{url}"];

/// The resolver the shipped `proxy.toml` names: yt-dlp's JSON for the best
/// audio format of a YouTube Music video.
pub const DEFAULT_RESOLVER: [&str; 7] = [
    "yt-dlp",
    "--no-playlist",
    "--no-warnings",
    "-f",
    "bestaudio",
    "-j",
    "https://music.youtube.com/watch?v={video_id}",
];

impl Default for ResolverSection {
    fn default() -> Self {
        ResolverSection {
            command: DEFAULT_RESOLVER.iter().map(|s| (*s).to_owned()).collect(),
            timeout_secs: 30,
            refresh_margin_secs: 300,
            max_age_secs: 18000,
            playlist_command: DEFAULT_PLAYLIST_COMMAND
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            playlist_timeout_secs: 300,
            max_wait_secs: 60,
            batch_size: 8,
            cookies_file: PathBuf::new(),
            max_running: 2,
            slot_wait_secs: 20,
            remember_failure_secs: 60,
        }
    }
}

/// Command-line values that win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub db_path: Option<PathBuf>,
}

impl Config {
    /// Loads `path` (from `--config`), or else the first file of
    /// [`search_path`] that exists, or else the built-in defaults.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        if let Some(path) = path {
            return Config::from_file(path);
        }
        let xdg = std::env::var_os("XDG_CONFIG_HOME");
        let home = std::env::var_os("HOME");
        match search_path(xdg.as_deref(), home.as_deref())
            .into_iter()
            .find(|p| p.is_file())
        {
            Some(found) => read_file(&found, "fix its permissions, or give --config FILE"),
            None => Config::from_toml("", None),
        }
    }

    /// Reads and validates one config file (the one given to `--config`).
    pub fn from_file(path: &Path) -> Result<Config> {
        read_file(path, "check the path given to --config")
    }

    /// Parses and validates config text; `source` names the file in errors
    /// and anchors a relative store path.
    pub fn from_toml(text: &str, source: Option<&Path>) -> Result<Config> {
        let name = source.map_or("config".to_owned(), |p| p.display().to_string());
        let file: FileConfig =
            toml::from_str(text).map_err(|e| Error::Config(words::explain(&name, text, &e)))?;
        let base = source
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // Relative paths are relative to the config file; empty ones are unset.
        let anchored = |path: &Path| {
            (!path.as_os_str().is_empty()).then(|| match path.is_absolute() {
                true => path.to_path_buf(),
                false => base.join(path),
            })
        };
        let db_path = anchored(&file.store.path).unwrap_or_default();
        // Unset: filled in below, beside the database.
        let cover_dir = anchored(&file.cover.cache_dir).unwrap_or_default();
        let ca_file = anchored(&file.upstream.ca_file);
        let mpd_dir = anchored(&file.playlists.mpd_dir);
        let sync_every = every(&name, "sync_minutes", file.playlists.sync_minutes)?;
        let library_every = every(&name, "library_minutes", file.playlists.library_minutes)?;
        let cookies_file = anchored(&file.resolver.cookies_file);
        let mut config = Config {
            source: source.map_or(Source::Defaults, |p| Source::File(p.to_path_buf())),
            host: file.server.host,
            port: file.server.port,
            workers: file.server.workers,
            write_timeout: Duration::from_secs(file.server.write_timeout_secs),
            header_timeout: Duration::from_secs(file.server.header_timeout_secs),
            idle_timeout: Duration::from_secs(file.server.idle_timeout_secs),
            max_connections: Some(file.server.max_connections).filter(|&n| n > 0),
            token: Some(file.server.token.clone()).filter(|t| !t.is_empty()),
            allowed_hosts: file.server.allowed_hosts,
            db_path,
            metaint: file.icy.metaint,
            connect_timeout: Duration::from_secs(file.upstream.connect_timeout_secs),
            read_timeout: Duration::from_secs(file.upstream.read_timeout_secs),
            chunk_bytes: file.upstream.chunk_bytes,
            retries: file.upstream.retries,
            ca_file,
            resolver_command: file.resolver.command,
            resolver_timeout: Duration::from_secs(file.resolver.timeout_secs),
            max_wait: Duration::from_secs(file.resolver.max_wait_secs),
            batch_size: file.resolver.batch_size,
            max_running: file.resolver.max_running,
            slot_wait: Duration::from_secs(file.resolver.slot_wait_secs),
            remember_failure: Duration::from_secs(file.resolver.remember_failure_secs),
            refresh_margin_secs: file.resolver.refresh_margin_secs.min(i64::MAX as u64) as i64,
            max_age_secs: file.resolver.max_age_secs.min(i64::MAX as u64) as i64,
            cover_dir,
            cover_max_bytes: file.cover.max_bytes,
            playlist_command: file.resolver.playlist_command,
            cookies_file,
            playlist_timeout: Duration::from_secs(file.resolver.playlist_timeout_secs),
            sync_every,
            library_every,
            mpd_dir,
            playlists_base_url: Some(file.playlists.base_url)
                .filter(|u| !u.is_empty())
                .map(|u| u.trim_end_matches('/').to_owned()),
            mpd_address: Some(file.mpd.address.trim().to_owned()).filter(|a| !a.is_empty()),
            mpd_password: Some(file.mpd.password).filter(|p| !p.is_empty()),
            warm_ahead: file.mpd.warm_ahead,
            probe_id: file.doctor.probe_id.trim().to_owned(),
            autoplay: Autoplay {
                on: file.mpd.autoplay,
                when_left: file.mpd.autoplay_when_left,
                batch: file.mpd.autoplay_batch,
                history: file.mpd.autoplay_history,
                any_queue: file.mpd.autoplay_any_queue,
            },
        };
        config.default_cover_dir();
        config.validate(&name)?;
        Ok(config)
    }

    /// Applies command-line overrides and checks the result again.
    pub fn with_overrides(mut self, overrides: Overrides) -> Result<Config> {
        if let Some(host) = overrides.host {
            self.host = host;
        }
        if let Some(port) = overrides.port {
            self.port = port;
        }
        if let Some(path) = overrides.db_path {
            let beside_old_db = self.cover_dir == covers_beside(&self.db_path);
            self.db_path = path;
            if beside_old_db {
                self.cover_dir = covers_beside(&self.db_path);
            }
        }
        self.validate("command line")?;
        Ok(self)
    }

    fn default_cover_dir(&mut self) {
        if self.cover_dir.as_os_str().is_empty() {
            self.cover_dir = covers_beside(&self.db_path);
        }
    }

    fn validate(&self, name: &str) -> Result<()> {
        let bad = |key: &str, why: &str| Err(Error::Config(format!("{name}: {key} {why}")));
        for (key, value, min, max) in self.numbers() {
            if !(min..=max).contains(&value) {
                let why = if min == 0 {
                    format!("must be at most {max}")
                } else {
                    format!("must be between {min} and {max}")
                };
                return bad(key, &why);
            }
        }
        if let Err((key, why)) = self.check_texts() {
            return bad(key, &why);
        }
        Ok(())
    }

    /// Every number with a range: key, value, least, most.
    fn numbers(&self) -> Vec<(&'static str, u64, u64, u64)> {
        let signed = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut numbers = vec![
            ("[server] workers", self.workers as u64, 1, 1024),
            ("[icy] metaint", self.metaint as u64, 1, 1_048_576),
            ("[upstream] chunk_bytes", self.chunk_bytes, 1024, 1 << 30),
            ("[upstream] retries", u64::from(self.retries), 0, 20),
            ("[mpd] warm_ahead", self.warm_ahead as u64, 0, 100),
            (
                "[mpd] autoplay_when_left",
                self.autoplay.when_left as u64,
                0,
                100,
            ),
            ("[mpd] autoplay_batch", self.autoplay.batch as u64, 1, 50),
            (
                "[mpd] autoplay_history",
                self.autoplay.history as u64,
                0,
                100_000,
            ),
            ("[resolver] batch_size", self.batch_size as u64, 1, 50),
            (
                "[resolver] max_age_secs",
                signed(self.max_age_secs),
                1,
                315_360_000,
            ),
            (
                "[resolver] refresh_margin_secs",
                signed(self.refresh_margin_secs),
                0,
                86_400,
            ),
            (
                "[server] max_connections",
                self.max_connections.unwrap_or(0) as u64,
                0,
                MAX_CONNECTIONS as u64,
            ),
            ("[resolver] max_running", self.max_running as u64, 1, 16),
            (
                "[resolver] remember_failure_secs",
                self.remember_failure.as_secs(),
                0,
                86_400,
            ),
        ];
        // Every timeout: 1 s to an hour.
        numbers.extend(self.timeouts().map(|(key, d)| (key, d.as_secs(), 1, 3600)));
        numbers
    }

    /// Every `_secs` key that is a timeout, with its value.
    fn timeouts(&self) -> [(&'static str, Duration); 9] {
        [
            ("[server] write_timeout_secs", self.write_timeout),
            ("[upstream] connect_timeout_secs", self.connect_timeout),
            ("[upstream] read_timeout_secs", self.read_timeout),
            ("[resolver] timeout_secs", self.resolver_timeout),
            ("[resolver] playlist_timeout_secs", self.playlist_timeout),
            ("[resolver] max_wait_secs", self.max_wait),
            ("[server] header_timeout_secs", self.header_timeout),
            ("[server] idle_timeout_secs", self.idle_timeout),
            ("[resolver] slot_wait_secs", self.slot_wait),
        ]
    }

    /// The keys whose text has a shape: the first wrong key and why.
    fn check_texts(&self) -> std::result::Result<(), (&'static str, String)> {
        let bad = |key, why: &str| Err((key, why.to_owned()));
        if self.host.trim().is_empty() {
            return bad("[server] host", "must not be empty");
        }
        if let Some(token) = &self.token {
            check_token(token).map_err(|why| ("[server] token", why))?;
        }
        if self.db_path.as_os_str().is_empty() {
            return bad("[store] path", "must not be empty");
        }
        let program = |argv: &[String]| argv.first().is_some_and(|p| !p.trim().is_empty());
        if !self.resolver_command.is_empty() && !program(&self.resolver_command) {
            return bad("[resolver] command", "must start with a program name");
        }
        // Ids may begin with "-": a bare "{video_id}" gets "--" before it,
        // which would make any option after it an argument.
        let bare = self.resolver_command.iter().position(|a| a == "{video_id}");
        if let Some(at) = bare {
            if self.resolver_command[at..]
                .iter()
                .any(|a| a.starts_with('-'))
            {
                return bad(
                    "[resolver] command",
                    "must have every option before a bare \"{video_id}\" (ids may begin \
                     with -, so -- is put before them)",
                );
            }
        }
        if let Some(address) = &self.mpd_address {
            let socket = address.starts_with('/');
            let port = address.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
            if !socket && !matches!(port, Some(Ok(_))) {
                return bad(
                    "[mpd] address",
                    "must be HOST:PORT or a socket path starting with /",
                );
            }
        }
        if crate::video_id::VideoId::parse(&self.probe_id).is_none() {
            return bad(
                "[doctor] probe_id",
                "must be a video id: 11 characters of A-Z a-z 0-9 _ -",
            );
        }
        if !program(&self.playlist_command) {
            return bad(
                "[resolver] playlist_command",
                "must start with a program name",
            );
        }
        if !self.playlist_command.iter().any(|a| a.contains("{url}")) {
            return bad("[resolver] playlist_command", "must contain \"{url}\"");
        }
        if let Some(url) = &self.playlists_base_url {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                return bad(
                    "[playlists] base_url",
                    "must start with http:// or https://",
                );
            }
        }
        Ok(())
    }

    /// The most client connections open at once: `[server]
    /// max_connections`, or else what the open-file limit leaves once
    /// [`fd_reserve`] descriptors are kept back for `threads` worker
    /// threads and the rest, at least half the limit and at most
    /// [`MAX_DERIVED_CONNECTIONS`].
    pub fn max_connections(&self, open_files: u64, threads: usize) -> usize {
        if let Some(n) = self.max_connections {
            return n;
        }
        let left = open_files.saturating_sub(fd_reserve(threads));
        left.max(open_files / 2).min(MAX_DERIVED_CONNECTIONS) as usize
    }

    /// The base URL clients reach this server at, for exported playlists.
    pub fn base_url(&self) -> String {
        let host = match self.host.as_str() {
            "0.0.0.0" | "::" => "127.0.0.1",
            h => h,
        };
        match host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("http://[{host}]:{}", self.port),
            Err(_) => format!("http://{host}:{}", self.port),
        }
    }

    /// Where MPD reaches this server, for the playlist files written to
    /// `[playlists] mpd_dir`: `[playlists] base_url`, or else from
    /// `[server] host` and `port`.
    pub fn playlists_base_url(&self) -> String {
        self.playlists_base_url
            .clone()
            .unwrap_or_else(|| self.base_url())
    }

    /// The service's own copy of `cookies_file`, beside the database: the
    /// copy yt-dlp's runs start from and write back to (never the user's
    /// file).
    pub fn cookies_copy(&self) -> PathBuf {
        let dir = self.db_path.parent().unwrap_or(Path::new(""));
        dir.join("icyproxy-cookies.txt")
    }

    /// `host:port` as text for binding, with IPv6 literals bracketed.
    pub fn bind_address(&self) -> String {
        match self.host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", self.host, self.port),
            Err(_) => format!("{}:{}", self.host, self.port),
        }
    }

    /// Whether the configured host is a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// The largest `[server] max_connections` accepted (Linux's default
/// ceiling on open files, `fs.nr_open`).
const MAX_CONNECTIONS: usize = 1 << 20;

/// The most client connections a derived cap allows. Each holds a thread
/// of its own, with 2 MiB of address space for its stack: a 32-bit Pi's
/// 3 GiB run out well before 1,500 of them, and the packaged unit allows
/// 1,200 tasks. Past the cap, idle connections make room for new ones,
/// whereas a thread that cannot start costs the new connection.
pub const MAX_DERIVED_CONNECTIONS: u64 = 1024;

/// Descriptors kept back from client connections: 8 for each worker
/// thread (`threads`), for what one may hold at once (a SQLite connection:
/// database, WAL and shared-memory files; an upstream socket or two; a
/// running resolver's pipes; a cover file), and 64 for the rest (stdio,
/// the listener and its copy, the MPD connection, what warming and the
/// playlist sync hold, name lookups, and client sockets closed at the cap
/// that their thread has not let go of yet).
pub fn fd_reserve(threads: usize) -> u64 {
    64 + 8 * threads as u64
}

/// Reads a config file found or given at `path`; `fix` says what to do when
/// it cannot be read. The file is named by its absolute path from here on.
fn read_file(path: &Path, fix: &str) -> Result<Config> {
    use std::io::Read;
    let path = absolute(path);
    let cannot = |e: std::io::Error| {
        Error::Config(format!(
            "cannot read config file {}: {e} ({fix})",
            path.display()
        ))
    };
    // Checked on the file opened, then read from it: no swap in between.
    let mut file = std::fs::File::open(&path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    check_trusted(&path, &meta, effective_uid())?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(cannot)?;
    Config::from_toml(&text, Some(&path))
}

/// A `[playlists] ..._minutes` key as a period: `None` for 0 (never).
fn every(name: &str, key: &str, minutes: f64) -> Result<Option<Duration>> {
    if !(0.0..=10_080.0).contains(&minutes) {
        return Err(Error::Config(format!(
            "{name}: [playlists] {key} must be between 0 and 10080 (a week)"
        )));
    }
    Ok((minutes > 0.0).then(|| Duration::from_secs_f64(minutes * 60.0)))
}

/// A config file decides which programs icyproxy runs (`[resolver]
/// command`) and where it writes: like ssh with its own files, refuse one
/// that another user could have written (writable by group or others,
/// or owned by someone else than this user or root).
fn check_trusted(path: &Path, meta: &std::fs::Metadata, me: Option<u32>) -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    // `--config /dev/null` (no settings at all) reads nothing anyone wrote.
    if meta.file_type().is_char_device() {
        return Ok(());
    }
    let shown = path.display();
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Error::Config(format!(
            "bad permissions on config file {shown}: it is writable by {} (mode {mode:04o}), \
             so another user could choose the commands icyproxy runs; \
             fix: chmod go-w {shown}",
            if mode & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            },
        )));
    }
    let owner = meta.uid();
    if owner != 0 && me.is_some_and(|me| me != owner) {
        return Err(Error::Config(format!(
            "bad owner of config file {shown}: it belongs to user id {owner}, not to you \
             or root, so that user chooses the commands icyproxy runs; fix: remove it \
             (or give --config FILE), or take it over with chown and check what it runs"
        )));
    }
    Ok(())
}

/// The user id this process runs as (Linux: from `/proc/self/status`,
/// no unsafe call); `None` when it cannot be read.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The default cover cache: `covers` in the database's directory.
fn covers_beside(db_path: &Path) -> PathBuf {
    db_path
        .parent()
        .map_or_else(|| PathBuf::from("covers"), |d| d.join("covers"))
}

/// A token must be URL-safe: it goes into playlist URLs as it is.
pub fn check_token(token: &str) -> std::result::Result<(), String> {
    let ok = (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("must be 16 to 128 characters of A-Z a-z 0-9 - . _ ~".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        assert!(check_token("s3cret-token-0123456789").is_ok());
        assert!(check_token("short").is_err());
        assert!(check_token("has space in the token!!").is_err());
    }

    fn err(text: &str) -> String {
        match Config::from_toml(text, Some(Path::new("/etc/icy/proxy.toml"))) {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_without_a_file() {
        let c = Config::from_toml("", None).expect("empty is valid");
        assert_eq!(
            (c.host.as_str(), c.port, c.workers),
            ("127.0.0.1", 8080, 16)
        );
        assert_eq!(c.metaint, 16000);
        assert_eq!(c.db_path, PathBuf::from("tracks.db"));
        assert_eq!(c.resolver_command[0], "yt-dlp");
        assert_eq!(c.chunk_bytes, 10 * 1024 * 1024);
        assert_eq!(c.retries, 3);
        assert_eq!(c.resolver_timeout, Duration::from_secs(30));
        assert_eq!((c.refresh_margin_secs, c.max_age_secs), (300, 18000));
        assert_eq!(c.cover_dir, PathBuf::from("covers"));
        assert_eq!(c.cover_max_bytes, 64 * 1024 * 1024);
        assert_eq!(c.source, Source::Defaults);
        assert_eq!(c.source.to_string(), "built-in defaults");
        assert_eq!(c.playlist_command[..3], ["yt-dlp", "--flat-playlist", "-J"]);
        assert_eq!((c.sync_every, c.mpd_dir.as_ref()), (None, None));
        assert_eq!(c.mpd_address.as_deref(), Some("127.0.0.1:6600"));
        assert_eq!((c.mpd_password.as_deref(), c.warm_ahead), (None, 5));
        assert_eq!(c.batch_size, 8);
        assert_eq!(c.probe_id, DEFAULT_PROBE_ID);
        assert_eq!(c.playlists_base_url(), "http://127.0.0.1:8080");
        assert_eq!(
            (c.header_timeout, c.idle_timeout, c.max_connections),
            (Duration::from_secs(10), Duration::from_secs(30), None)
        );
    }

    #[test]
    fn the_connection_cap_leaves_descriptors_for_the_workers() {
        let c = Config::from_toml("", None).expect("valid");
        // 16 stream workers and 6 others: 64 + 8 * 22 = 240 kept back.
        assert_eq!(c.max_connections(1024, 22), 1024 - 240);
        // A low limit still gives clients half of it; a high one stops at
        // what threads allow.
        assert_eq!(c.max_connections(256, 22), 128);
        assert_eq!(c.max_connections(524_288, 22), 1024);
        let set = Config::from_toml("[server]\nmax_connections = 5000\n", None).expect("valid");
        assert_eq!(set.max_connections(1024, 22), 5000);
    }

    #[test]
    fn search_order() {
        let os = |s: &'static str| Some(OsStr::new(s));
        let paths = |xdg, home| -> Vec<String> {
            search_path(xdg, home)
                .iter()
                .map(|p| p.display().to_string())
                .collect()
        };
        assert_eq!(
            paths(os("/x/cfg"), os("/home/u")),
            [
                "proxy.toml",
                "/x/cfg/icyproxy/proxy.toml",
                "/etc/icyproxy/proxy.toml"
            ]
        );
        // Unset, empty or relative XDG_CONFIG_HOME: the XDG default.
        for xdg in [None, os(""), os("rel/cfg")] {
            assert_eq!(
                paths(xdg, os("/home/u"))[1],
                "/home/u/.config/icyproxy/proxy.toml"
            );
        }
        assert_eq!(
            paths(None, None),
            ["proxy.toml", "/etc/icyproxy/proxy.toml"]
        );
    }

    #[test]
    fn a_config_another_user_could_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("proxy.toml");
        std::fs::write(&file, "").expect("write");
        let meta = |mode: u32| {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
            std::fs::metadata(&file).expect("stat")
        };
        let me = effective_uid();
        assert!(me.is_some(), "/proc/self/status gives the user id");
        for good in [0o600, 0o640, 0o644, 0o444] {
            assert!(check_trusted(&file, &meta(good), me).is_ok(), "{good:o}");
        }
        for (bad, who) in [
            (0o664, "its group"),
            (0o646, "everyone"),
            (0o666, "everyone"),
        ] {
            let e = check_trusted(&file, &meta(bad), me).expect_err("refused");
            let text = e.to_string();
            assert!(
                text.contains(&file.display().to_string())
                    && text.contains(who)
                    && text.contains(&format!("chmod go-w {}", file.display())),
                "{text}"
            );
        }
        // A device reads nothing anyone wrote: --config /dev/null works.
        let null = std::fs::metadata("/dev/null").expect("stat /dev/null");
        assert!(check_trusted(Path::new("/dev/null"), &null, me).is_ok());
        // Owned by someone else: refused, unless that is root.
        let owner = std::os::unix::fs::MetadataExt::uid(&meta(0o644));
        let verdict = check_trusted(&file, &meta(0o644), Some(owner + 1000));
        if owner == 0 {
            assert!(verdict.is_ok(), "root-owned is fine");
        } else {
            let e = verdict.expect_err("foreign");
            assert!(e.to_string().contains("bad owner of config file"), "{e}");
        }
    }

    #[test]
    fn a_file_is_named_by_its_absolute_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let file = dir.join("p.toml");
        std::fs::write(&file, "[store]\npath = \"t.db\"\n").expect("write");
        let c = Config::load(Some(&file)).expect("valid");
        assert_eq!(c.source, Source::File(file.clone()));
        assert_eq!(c.db_path, dir.join("t.db"));
    }

    #[test]
    fn every_key_is_read() {
        let c = Config::from_toml(
            r#"
            [server]
            host = "0.0.0.0"
            port = 9000
            workers = 3
            header_timeout_secs = 4
            idle_timeout_secs = 5
            max_connections = 20
            [store]
            path = "db/t.db"
            [icy]
            metaint = 8192
            [upstream]
            connect_timeout_secs = 2
            read_timeout_secs = 7
            chunk_bytes = 65536
            retries = 0
            ca_file = "ca.pem"
            [resolver]
            command = ["yt-dlp", "-j", "{video_id}"]
            timeout_secs = 9
            refresh_margin_secs = 60
            max_age_secs = 600
            playlist_command = ["reader", "{url}"]
            playlist_timeout_secs = 60
            cookies_file = "cookies.txt"
            [cover]
            cache_dir = "art"
            max_bytes = 1000
            [playlists]
            sync_minutes = 30
            library_minutes = 0.5
            mpd_dir = "mpd/playlists"
            base_url = "http://pi.local:8080/"
            "#,
            Some(Path::new("/etc/icy/proxy.toml")),
        )
        .expect("valid");
        assert_eq!((c.host.as_str(), c.port, c.workers), ("0.0.0.0", 9000, 3));
        assert_eq!(
            (c.header_timeout, c.idle_timeout, c.max_connections),
            (Duration::from_secs(4), Duration::from_secs(5), Some(20))
        );
        assert_eq!(c.db_path, PathBuf::from("/etc/icy/db/t.db"));
        assert_eq!(c.metaint, 8192);
        assert_eq!(c.connect_timeout, Duration::from_secs(2));
        assert_eq!(c.read_timeout, Duration::from_secs(7));
        assert_eq!(c.resolver_command, ["yt-dlp", "-j", "{video_id}"]);
        assert_eq!((c.chunk_bytes, c.retries), (65536, 0));
        assert_eq!(c.ca_file, Some(PathBuf::from("/etc/icy/ca.pem")));
        assert_eq!(c.resolver_timeout, Duration::from_secs(9));
        assert_eq!((c.refresh_margin_secs, c.max_age_secs), (60, 600));
        assert_eq!(c.cover_dir, PathBuf::from("/etc/icy/art"));
        assert_eq!(c.cover_max_bytes, 1000);
        assert_eq!(c.playlist_command, ["reader", "{url}"]);
        assert_eq!(c.playlist_timeout, Duration::from_secs(60));
        assert_eq!(c.sync_every, Some(Duration::from_secs(1800)));
        assert_eq!(c.library_every, Some(Duration::from_secs(30)));
        assert_eq!(c.cookies_file, Some(PathBuf::from("/etc/icy/cookies.txt")));
        assert_eq!(
            c.cookies_copy(),
            PathBuf::from("/etc/icy/db/icyproxy-cookies.txt")
        );
        assert_eq!(c.mpd_dir, Some(PathBuf::from("/etc/icy/mpd/playlists")));
        assert_eq!(c.playlists_base_url(), "http://pi.local:8080");
        assert!(!c.is_loopback());
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = err("[server]\nwrkers = 4\n");
        assert!(e.contains("wrkers") && e.contains("line 2"), "{e}");
        let e = err("[sever]\nport = 1\n");
        assert!(e.contains("sever"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        assert!(err("[server]\nport = \"x\"\n").contains("port"));
        assert!(err("[server]\nport = 70000\n").contains("port"));
        assert!(err("[server]\nworkers = 0\n").contains("[server] workers"));
        assert!(err("[server]\nheader_timeout_secs = 0\n").contains("header_timeout_secs"));
        assert!(err("[server]\nidle_timeout_secs = 0\n").contains("idle_timeout_secs"));
        assert!(err("[server]\nmax_connections = 2000000\n").contains("max_connections"));
        assert!(err("[icy]\nmetaint = 0\n").contains("[icy] metaint"));
        assert!(err("[upstream]\nread_timeout_secs = 0\n").contains("read_timeout_secs"));
        assert!(err("[resolver]\ncommand = \"yt-dlp\"\n").contains("command"));
        assert!(err("[resolver]\ncommand = [\"\"]\n").contains("[resolver] command"));
        assert!(err("[upstream]\nchunk_bytes = 10\n").contains("chunk_bytes"));
        assert!(err("[resolver]\ntimeout_secs = 0\n").contains("timeout_secs"));
        assert!(err("[resolver]\nplaylist_command = [\"x\"]\n").contains("{url}"));
        assert!(err("[playlists]\nsync_minutes = -1\n").contains("sync_minutes"));
        assert!(err("[playlists]\nbase_url = \"pi:8080\"\n").contains("base_url"));
        assert!(err("[playlists]\nmpd_dri = \"x\"\n").contains("mpd_dri"));
        assert!(err("[mpd]\naddress = \"localhost\"\n").contains("[mpd] address"));
        assert!(err("[resolver]\nbatch_size = 0\n").contains("batch_size"));
        assert!(err("[doctor]\nprobe_id = \"x\"\n").contains("[doctor] probe_id"));
        assert!(
            err("[resolver]\ncommand = [\"yt-dlp\", \"{video_id}\", \"-j\"]\n")
                .contains("every option before a bare")
        );
        let off = Config::from_toml("[mpd]\naddress = \"\"\n", None).expect("valid");
        assert_eq!(off.mpd_address, None);
    }

    #[test]
    fn overrides_win() {
        let c = Config::from_toml("", None)
            .and_then(|c| {
                c.with_overrides(Overrides {
                    host: Some("::1".into()),
                    port: Some(0),
                    db_path: Some("/tmp/x.db".into()),
                })
            })
            .expect("valid");
        assert_eq!(c.bind_address(), "[::1]:0");
        assert_eq!(c.db_path, PathBuf::from("/tmp/x.db"));
        assert!(c.is_loopback());
    }
}
