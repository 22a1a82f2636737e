//! The sections a stream's path reads: `[icy]`, `[upstream]` and
//! `[cover]`, each checked here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::settings::{self, Checked, within};

/// `[icy]`: inline metadata.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IcySettings {
    /// Audio bytes between inline ICY metadata blocks.
    pub metaint: usize,
}

impl Default for IcySettings {
    fn default() -> Self {
        IcySettings { metaint: 16000 }
    }
}

impl IcySettings {
    pub fn check(&self) -> Checked {
        within("[icy] metaint", self.metaint as u64, 1, 1_048_576)
    }
}

/// `[upstream]`: requests to the audio's host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    pub connect_timeout_secs: u64,
    pub read_timeout_secs: u64,
    /// Bytes asked of upstream per ranged request.
    pub chunk_bytes: u64,
    /// Attempts after a failed upstream request or a dropped connection.
    pub retries: u32,
    /// Extra root certificates (PEM) trusted beside the built-in ones;
    /// empty: the built-in roots only.
    pub ca_file: PathBuf,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        UpstreamSettings {
            connect_timeout_secs: 5,
            read_timeout_secs: 15,
            chunk_bytes: 10 * 1024 * 1024,
            retries: 3,
            ca_file: PathBuf::new(),
        }
    }
}

impl UpstreamSettings {
    pub fn check(&self) -> Checked {
        settings::first([
            within("[upstream] chunk_bytes", self.chunk_bytes, 1024, 1 << 30),
            within("[upstream] retries", u64::from(self.retries), 0, 20),
            settings::timeout("[upstream] connect_timeout_secs", self.connect_timeout_secs),
            settings::timeout("[upstream] read_timeout_secs", self.read_timeout_secs),
        ])
    }

    pub fn connect_timeout(&self) -> Duration {
        settings::secs(self.connect_timeout_secs)
    }

    pub fn read_timeout(&self) -> Duration {
        settings::secs(self.read_timeout_secs)
    }

    pub fn ca_file(&self) -> Option<&Path> {
        settings::set_path(&self.ca_file)
    }
}

/// `[cover]`: the cover art cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoverSettings {
    /// Empty: `covers` beside the database (the config fills it in).
    pub cache_dir: PathBuf,
    /// The most bytes of cover art kept.
    pub max_bytes: u64,
}

impl Default for CoverSettings {
    fn default() -> Self {
        CoverSettings {
            cache_dir: PathBuf::new(),
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// `covers` beside the database: where cover art goes by default.
pub fn covers_beside(db_path: &Path) -> PathBuf {
    db_path
        .parent()
        .map_or_else(|| PathBuf::from("covers"), |d| d.join("covers"))
}
