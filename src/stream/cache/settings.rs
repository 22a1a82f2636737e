//! `[cache]`: where kept songs go and the bounds they stay within.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::settings::{self, Checked, within};

/// One mebibyte, the unit of `max_mb` and `min_free_mb`.
pub const MB: u64 = 1024 * 1024;

/// `[cache]`: songs streamed whole, kept on disk to play again without
/// YouTube.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Empty: `audio` beside the database (the config fills it in).
    pub dir: PathBuf,
    /// The most the kept songs may take, in MiB; 0 turns the cache off.
    pub max_mb: u64,
    /// Nothing is written while the disk has less than this free (MiB).
    pub min_free_mb: u64,
    /// Songs after MPD's current one fetched whole ahead of time.
    pub ahead: u32,
    /// The most a fetch ahead reads per second (kbit/s).
    pub ahead_rate_kbps: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            dir: PathBuf::new(),
            max_mb: 1024,
            min_free_mb: 512,
            ahead: 1,
            ahead_rate_kbps: 2000,
        }
    }
}

impl CacheSettings {
    pub fn check(&self) -> Checked {
        settings::first([
            within("[cache] max_mb", self.max_mb, 0, 1 << 24),
            within("[cache] min_free_mb", self.min_free_mb, 0, 1 << 24),
            within("[cache] ahead", u64::from(self.ahead), 0, 10),
            within(
                "[cache] ahead_rate_kbps",
                self.ahead_rate_kbps,
                64,
                1_000_000,
            ),
        ])
    }

    /// Whether songs are kept at all.
    pub fn on(&self) -> bool {
        self.max_mb > 0
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_mb.saturating_mul(MB)
    }

    pub fn min_free_bytes(&self) -> u64 {
        self.min_free_mb.saturating_mul(MB)
    }
}

/// `audio` beside the database: where songs are kept by default.
pub fn audio_beside(db_path: &Path) -> PathBuf {
    db_path
        .parent()
        .map_or_else(|| PathBuf::from("audio"), |d| d.join("audio"))
}
