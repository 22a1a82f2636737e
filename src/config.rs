//! `proxy.toml` plus command-line overrides, turned into one validated
//! [`Config`]: a struct of sections, each section's type beside the
//! subsystem that reads it, which checks its own keys. This layer reads
//! the file, anchors its paths, and derives the facts several subsystems
//! share (the public URL, the cookie copy). Every key has a default;
//! unknown keys and bad values are errors that name the key.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::cookies::Cookies;
use crate::catalog::music::settings::YoutubeSettings;
use crate::catalog::settings::{PlaylistsSettings, ResolverSettings, StoreSettings};
use crate::error::{Error, Result};
use crate::http::settings::ServerSettings;
use crate::mpd::settings::{FrontSettings, MpdSettings};
use crate::public_url::PublicUrl;
use crate::settings::{self, BadKey, Checked};
use crate::stream::cache::settings::{CacheSettings, audio_beside};
use crate::stream::settings::{CoverSettings, IcySettings, UpstreamSettings, covers_beside};
use crate::video_id::VideoId;

mod words;

/// The file name looked for when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "proxy.toml";

/// The system-wide config file, the last place searched.
pub const SYSTEM_CONFIG_FILE: &str = "/etc/icyproxy/proxy.toml";

/// Where the settings came from. Kept so that the CLI and the server can
/// name it: two runs that found different files would otherwise use two
/// databases without a word.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Source {
    /// A config file, as an absolute path.
    File(PathBuf),
    /// No file was given or found.
    #[default]
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

/// The validated settings the program runs with: one field per
/// `proxy.toml` section.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The file these settings were read from, or the built-in defaults.
    #[serde(skip)]
    pub source: Source,
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub icy: IcySettings,
    pub upstream: UpstreamSettings,
    pub resolver: ResolverSettings,
    pub cover: CoverSettings,
    pub cache: CacheSettings,
    pub playlists: PlaylistsSettings,
    pub mpd: MpdSettings,
    pub front: FrontSettings,
    pub youtube: YoutubeSettings,
    pub doctor: DoctorSettings,
}

/// `[doctor]`: what `icyproxy doctor` proves the chain with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DoctorSettings {
    /// The video doctor resolves and fetches.
    pub probe_id: String,
    /// What doctor searches YouTube Music's API for.
    pub probe_query: String,
}

impl Default for DoctorSettings {
    fn default() -> Self {
        DoctorSettings {
            probe_id: DEFAULT_PROBE_ID.into(),
            probe_query: "rick astley never gonna give you up".into(),
        }
    }
}

impl DoctorSettings {
    pub fn check(&self) -> Checked {
        if settings::set_text(&self.probe_query).is_none() {
            return settings::bad("[doctor] probe_query", "must be something to search for");
        }
        match VideoId::parse(self.probe_id.trim()) {
            Some(_) => Ok(()),
            None => settings::bad(
                "[doctor] probe_id",
                "must be a video id: 11 characters of A-Z a-z 0-9 _ -",
            ),
        }
    }

    /// The probe's search (checked at load).
    pub fn probe_query(&self) -> &str {
        self.probe_query.trim()
    }

    /// The probe's id (checked at load).
    pub fn probe_id(&self) -> &str {
        self.probe_id.trim()
    }
}

/// The video `icyproxy doctor` resolves by default: a YouTube Music track
/// that has stayed up for years.
pub const DEFAULT_PROBE_ID: &str = "dQw4w9WgXcQ";

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
    /// and anchors relative paths.
    pub fn from_toml(text: &str, source: Option<&Path>) -> Result<Config> {
        let name = source.map_or("config".to_owned(), |p| p.display().to_string());
        let mut config: Config =
            toml::from_str(text).map_err(|e| Error::Config(words::explain(&name, text, &e)))?;
        config.source = source.map_or(Source::Defaults, |p| Source::File(p.to_path_buf()));
        // Relative paths are relative to the config file; empty ones are unset.
        let dir = source.and_then(Path::parent).unwrap_or(Path::new(""));
        for path in [
            &mut config.store.path,
            &mut config.cover.cache_dir,
            &mut config.cache.dir,
            &mut config.upstream.ca_file,
            &mut config.playlists.mpd_dir,
            &mut config.resolver.cookies_file,
        ] {
            settings::anchor(path, dir);
        }
        if config.cover.cache_dir.as_os_str().is_empty() {
            config.cover.cache_dir = covers_beside(&config.store.path);
        }
        if config.cache.dir.as_os_str().is_empty() {
            config.cache.dir = audio_beside(&config.store.path);
        }
        config
            .validate()
            .map_err(|BadKey { key, why }| match words::line_of(text, key) {
                Some(place) => Error::Config(format!("{name} {place}: {key} {why}")),
                None => Error::Config(format!("{name}: {key} {why}")),
            })?;
        Ok(config)
    }

    /// Applies command-line overrides and checks the result again.
    pub fn with_overrides(mut self, overrides: Overrides) -> Result<Config> {
        if let Some(host) = overrides.host {
            self.server.host = host;
        }
        if let Some(port) = overrides.port {
            self.server.port = port;
        }
        if let Some(path) = overrides.db_path {
            let beside_old_db = self.cover.cache_dir == covers_beside(&self.store.path);
            let audio_beside_old_db = self.cache.dir == audio_beside(&self.store.path);
            self.store.path = path;
            if beside_old_db {
                self.cover.cache_dir = covers_beside(&self.store.path);
            }
            if audio_beside_old_db {
                self.cache.dir = audio_beside(&self.store.path);
            }
        }
        self.validate()
            .map_err(|BadKey { key, why }| Error::Config(format!("command line: {key} {why}")))?;
        Ok(self)
    }

    /// Each section's own check, in the file's order.
    fn validate(&self) -> Checked {
        settings::first([
            self.server.check(),
            self.store.check(),
            self.icy.check(),
            self.upstream.check(),
            self.resolver.check(),
            self.cache.check(),
            self.playlists.check(),
            self.mpd.check(),
            self.front.check(),
            self.front_needs_mpd(),
            self.youtube.check(),
            self.doctor.check(),
        ])
    }

    /// The front door relays to MPD: it needs `[mpd] address`.
    fn front_needs_mpd(&self) -> Checked {
        match self.front.listen().is_some() && self.mpd.address().is_none() {
            true => settings::bad(
                "[front] listen",
                "needs [mpd] address: the front door relays every client to MPD",
            ),
            false => Ok(()),
        }
    }

    /// Where MPD reaches this server: `[playlists] base_url`, or else
    /// `[server] host` with `bound_port` (the port really bound, when the
    /// server runs) or `[server] port`.
    pub fn public_url(&self, bound_port: Option<u16>) -> PublicUrl {
        match self.playlists.base_url() {
            Some(base) => PublicUrl::new(base),
            None => self.server.own_url(bound_port.unwrap_or(self.server.port)),
        }
    }

    /// The cookies every yt-dlp run is lent, when `[resolver]
    /// cookies_file` is set: the user's file and the service's own copy
    /// beside the database.
    pub fn cookies(&self) -> Option<Cookies> {
        let user = self.resolver.cookies_file()?;
        Some(Cookies::new(user.to_path_buf(), self.store.cookies_copy()))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn err(text: &str) -> String {
        match Config::from_toml(text, Some(Path::new("/etc/icy/proxy.toml"))) {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_without_a_file() {
        let c = Config::from_toml("", None).expect("empty is valid");
        let s = &c.server;
        assert_eq!(
            (s.host.as_str(), s.port, s.workers),
            ("127.0.0.1", 8080, 16)
        );
        assert_eq!(c.icy.metaint, 16000);
        assert_eq!(c.store.path, PathBuf::from("tracks.db"));
        let r = &c.resolver;
        assert_eq!(r.command[0], "yt-dlp");
        assert_eq!((c.upstream.chunk_bytes, c.upstream.retries), (10 << 20, 3));
        assert_eq!(r.timeout(), Duration::from_secs(30));
        let fresh = r.freshness();
        assert_eq!((fresh.margin_secs, fresh.max_age_secs), (300, 18000));
        assert_eq!(c.cover.cache_dir, PathBuf::from("covers"));
        assert_eq!(c.cover.max_bytes, 64 * 1024 * 1024);
        let a = &c.cache;
        assert_eq!(a.dir, PathBuf::from("audio"));
        assert_eq!(
            (a.max_mb, a.min_free_mb, a.ahead, a.ahead_rate_kbps),
            (1024, 512, 1, 2000)
        );
        assert_eq!(c.source, Source::Defaults);
        assert_eq!(c.source.to_string(), "built-in defaults");
        assert_eq!(r.playlist_command[..3], ["yt-dlp", "--flat-playlist", "-J"]);
        let p = &c.playlists;
        assert_eq!((p.sync_every(), p.mpd_dir()), (None, None));
        assert_eq!(c.mpd.address(), Some("127.0.0.1:6600"));
        assert_eq!((c.mpd.password(), c.mpd.warm_ahead), (None, 5));
        assert_eq!(r.batch_size, 8);
        assert_eq!(c.doctor.probe_id(), DEFAULT_PROBE_ID);
        assert_eq!(c.public_url(None).base(), "http://127.0.0.1:8080");
        assert_eq!(c.public_url(Some(9)).base(), "http://127.0.0.1:9");
        assert_eq!(
            (s.header_timeout(), s.idle_timeout(), s.max_connections),
            (Duration::from_secs(10), Duration::from_secs(30), 0)
        );
        assert!(c.cookies().is_none());
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
        assert_eq!(c.store.path, dir.join("t.db"));
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
        let s = &c.server;
        assert_eq!((s.host.as_str(), s.port, s.workers), ("0.0.0.0", 9000, 3));
        assert_eq!(
            (s.header_timeout(), s.idle_timeout(), s.max_connections),
            (Duration::from_secs(4), Duration::from_secs(5), 20)
        );
        assert_eq!(c.store.path, PathBuf::from("/etc/icy/db/t.db"));
        assert_eq!(c.icy.metaint, 8192);
        let u = &c.upstream;
        assert_eq!(u.connect_timeout(), Duration::from_secs(2));
        assert_eq!(u.read_timeout(), Duration::from_secs(7));
        assert_eq!((u.chunk_bytes, u.retries), (65536, 0));
        assert_eq!(u.ca_file(), Some(Path::new("/etc/icy/ca.pem")));
        let r = &c.resolver;
        assert_eq!(r.command, ["yt-dlp", "-j", "{video_id}"]);
        assert_eq!(r.timeout(), Duration::from_secs(9));
        let fresh = r.freshness();
        assert_eq!((fresh.margin_secs, fresh.max_age_secs), (60, 600));
        assert_eq!(c.cover.cache_dir, PathBuf::from("/etc/icy/art"));
        assert_eq!(c.cover.max_bytes, 1000);
        assert_eq!(r.playlist_command, ["reader", "{url}"]);
        assert_eq!(r.playlist_timeout(), Duration::from_secs(60));
        let p = &c.playlists;
        assert_eq!(p.sync_every(), Some(Duration::from_secs(1800)));
        assert_eq!(p.library_every(), Some(Duration::from_secs(30)));
        assert_eq!(r.cookies_file(), Some(Path::new("/etc/icy/cookies.txt")));
        assert_eq!(
            c.store.cookies_copy(),
            PathBuf::from("/etc/icy/db/icyproxy-cookies.txt")
        );
        assert_eq!(p.mpd_dir(), Some(Path::new("/etc/icy/mpd/playlists")));
        let public = c.public_url(Some(1234));
        assert_eq!(
            (public.base(), public.port()),
            ("http://pi.local:8080", 8080)
        );
        assert!(!s.is_loopback());
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = err("[server]\nwrkers = 4\n");
        assert!(e.contains("wrkers") && e.contains("line 2"), "{e}");
        let e = err("[sever]\nport = 1\n");
        assert!(e.contains("sever"), "{e}");
        let e = err("source = 1\n");
        assert!(e.contains("source"), "{e}");
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
        assert!(
            err("[server]\nworkers = 0\n")
                .ends_with("/etc/icy/proxy.toml line 2 (`workers = 0`): [server] workers must be between 1 and 1024")
        );
        assert!(
            err("[playlists]\nlibrary_minutes = 20000\n")
                .ends_with("[playlists] library_minutes must be between 0 and 10080 (a week)")
        );
        assert!(
            err("[server]\nport = 1\n\n[icy]\nmetaint = 0 # off\n").ends_with(
                "proxy.toml line 5 (`metaint = 0 # off`): [icy] metaint must be between 1 and 1048576"
            )
        );
        let off = Config::from_toml("[mpd]\naddress = \"\"\n", None).expect("valid");
        assert_eq!(off.mpd.address(), None);
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
        assert_eq!(c.server.bind_address(), "[::1]:0");
        assert_eq!(c.store.path, PathBuf::from("/tmp/x.db"));
        assert_eq!(c.cover.cache_dir, PathBuf::from("/tmp/covers"));
        assert!(c.server.is_loopback());
    }
}
