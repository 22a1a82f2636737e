//! `proxy.toml` plus command-line overrides, turned into one validated
//! [`Config`]. Every key has a default; unknown keys and bad values are
//! errors that name the key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The file looked for in the working directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "proxy.toml";

/// The validated settings the program runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// Stream workers: the most concurrent streams.
    pub workers: usize,
    /// The SQLite track store, already resolved against the config's directory.
    pub db_path: PathBuf,
    /// Audio bytes between inline ICY metadata blocks.
    pub metaint: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// The resolver argv (used by the URL-lifecycle work; accepted now).
    pub resolver_command: Vec<String>,
    /// The file the settings came from, if any.
    pub source: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    server: ServerSection,
    store: StoreSection,
    icy: IcySection,
    upstream: UpstreamSection,
    resolver: ResolverSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ServerSection {
    host: String,
    port: u16,
    workers: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            host: "127.0.0.1".into(),
            port: 8080,
            workers: 16,
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
}

impl Default for UpstreamSection {
    fn default() -> Self {
        UpstreamSection {
            connect_timeout_secs: 5,
            read_timeout_secs: 15,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ResolverSection {
    command: Vec<String>,
}

/// Command-line values that win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub db_path: Option<PathBuf>,
}

impl Config {
    /// Loads `path`, or `./proxy.toml` when present, or the built-in defaults.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        match path {
            Some(path) => Config::from_file(path),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                Config::from_file(Path::new(DEFAULT_CONFIG_FILE))
            }
            None => Config::from_toml("", None),
        }
    }

    /// Reads and validates one config file.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!("cannot read config file {}: {e}", path.display()))
        })?;
        Config::from_toml(&text, Some(path))
    }

    /// Parses and validates config text; `source` names the file in errors
    /// and anchors a relative store path.
    pub fn from_toml(text: &str, source: Option<&Path>) -> Result<Config> {
        let name = source.map_or("config".to_owned(), |p| p.display().to_string());
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            let place = e.span().map(|span| {
                let line = text[..span.start].matches('\n').count() + 1;
                let snippet = text.lines().nth(line - 1).unwrap_or("").trim();
                format!(" line {line} (`{snippet}`)")
            });
            Error::Config(format!(
                "{name}{}: {}",
                place.unwrap_or_default(),
                e.message()
            ))
        })?;
        let base = source
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let db_path = if file.store.path.is_absolute() {
            file.store.path.clone()
        } else {
            base.join(&file.store.path)
        };
        let config = Config {
            host: file.server.host,
            port: file.server.port,
            workers: file.server.workers,
            db_path,
            metaint: file.icy.metaint,
            connect_timeout: Duration::from_secs(file.upstream.connect_timeout_secs),
            read_timeout: Duration::from_secs(file.upstream.read_timeout_secs),
            resolver_command: file.resolver.command,
            source: source.map(Path::to_path_buf),
        };
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
            self.db_path = path;
        }
        self.validate("command line")?;
        Ok(self)
    }

    fn validate(&self, name: &str) -> Result<()> {
        let bad = |key: &str, why: &str| Err(Error::Config(format!("{name}: {key} {why}")));
        if self.host.trim().is_empty() {
            return bad("[server] host", "must not be empty");
        }
        if !(1..=1024).contains(&self.workers) {
            return bad("[server] workers", "must be between 1 and 1024");
        }
        if self.db_path.as_os_str().is_empty() {
            return bad("[store] path", "must not be empty");
        }
        if !(1..=1_048_576).contains(&self.metaint) {
            return bad("[icy] metaint", "must be between 1 and 1048576");
        }
        for (key, value) in [
            ("[upstream] connect_timeout_secs", self.connect_timeout),
            ("[upstream] read_timeout_secs", self.read_timeout),
        ] {
            if !(1..=3600).contains(&value.as_secs()) {
                return bad(key, "must be between 1 and 3600");
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(c.resolver_command.is_empty());
    }

    #[test]
    fn every_key_is_read() {
        let c = Config::from_toml(
            r#"
            [server]
            host = "0.0.0.0"
            port = 9000
            workers = 3
            [store]
            path = "db/t.db"
            [icy]
            metaint = 8192
            [upstream]
            connect_timeout_secs = 2
            read_timeout_secs = 7
            [resolver]
            command = ["yt-dlp", "-j", "{video_id}"]
            "#,
            Some(Path::new("/etc/icy/proxy.toml")),
        )
        .expect("valid");
        assert_eq!((c.host.as_str(), c.port, c.workers), ("0.0.0.0", 9000, 3));
        assert_eq!(c.db_path, PathBuf::from("/etc/icy/db/t.db"));
        assert_eq!(c.metaint, 8192);
        assert_eq!(c.connect_timeout, Duration::from_secs(2));
        assert_eq!(c.read_timeout, Duration::from_secs(7));
        assert_eq!(c.resolver_command, ["yt-dlp", "-j", "{video_id}"]);
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
        assert!(err("[icy]\nmetaint = 0\n").contains("[icy] metaint"));
        assert!(err("[upstream]\nread_timeout_secs = 0\n").contains("read_timeout_secs"));
        assert!(err("[resolver]\ncommand = \"yt-dlp\"\n").contains("command"));
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
