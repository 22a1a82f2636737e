//! The sections the catalog reads: `[store]`, `[resolver]` and
//! `[playlists]`, each checked here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::catalog::stream_url::Freshness;
use crate::settings::{self, Checked, bad, within};

/// `[store]`: the SQLite track store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// The database file, relative to the config file's folder.
    pub path: PathBuf,
    /// Days a track only a search or a radio stored is kept unplayed and
    /// unlisted (when nothing else needs it); 0: kept for ever.
    pub found_days: u64,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            path: "tracks.db".into(),
            found_days: 30,
        }
    }
}

impl StoreSettings {
    pub fn check(&self) -> Checked {
        match settings::set_path(&self.path) {
            Some(_) => within("[store] found_days", self.found_days, 0, 3650),
            None => bad("[store] path", "must not be empty"),
        }
    }

    /// How long a track only a search or a radio stored is kept; `None`:
    /// for ever.
    pub fn found_for(&self) -> Option<Duration> {
        (self.found_days > 0).then(|| Duration::from_secs(self.found_days * 86_400))
    }

    /// The service's own copy of the user's cookies, beside the database:
    /// the copy yt-dlp's runs start from and write back to (never the
    /// user's file).
    pub fn cookies_copy(&self) -> PathBuf {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        dir.join("icyproxy-cookies.txt")
    }
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

/// `[resolver]`: the programs that find stream URLs and read playlists,
/// and how often and how long they may run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResolverSettings {
    /// The resolver argv; `{video_id}` is replaced. Empty: no resolving.
    pub command: Vec<String>,
    pub timeout_secs: u64,
    /// Refresh a URL when fewer seconds than this remain before `expire=`.
    pub refresh_margin_secs: u64,
    /// Refresh a URL without `expire=` once it is this old.
    pub max_age_secs: u64,
    /// The playlist reader argv; `{url}` is replaced.
    pub playlist_command: Vec<String>,
    pub playlist_timeout_secs: u64,
    /// The longest a request waits for a URL's `available_at`.
    pub max_wait_secs: u64,
    /// Ids per resolver run when warming ahead (1: one at a time).
    pub batch_size: usize,
    /// The user's YouTube cookies (a Netscape jar); empty: none.
    pub cookies_file: PathBuf,
    /// Resolver runs at once, requests and warming together.
    pub max_running: usize,
    /// How long a request (or warming) waits for a free resolver slot.
    pub slot_wait_secs: u64,
    /// How long an id's failed run is answered without running again.
    pub remember_failure_secs: u64,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        ResolverSettings {
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

impl ResolverSettings {
    /// The first wrong key of `[resolver]`.
    pub fn check(&self) -> Checked {
        settings::first([
            within("[resolver] batch_size", self.batch_size as u64, 1, 50),
            within("[resolver] max_age_secs", self.max_age_secs, 1, 315_360_000),
            within(
                "[resolver] refresh_margin_secs",
                self.refresh_margin_secs,
                0,
                86_400,
            ),
            within("[resolver] max_running", self.max_running as u64, 1, 16),
            within(
                "[resolver] remember_failure_secs",
                self.remember_failure_secs,
                0,
                86_400,
            ),
            settings::timeout("[resolver] timeout_secs", self.timeout_secs),
            settings::timeout(
                "[resolver] playlist_timeout_secs",
                self.playlist_timeout_secs,
            ),
            settings::timeout("[resolver] max_wait_secs", self.max_wait_secs),
            settings::timeout("[resolver] slot_wait_secs", self.slot_wait_secs),
            self.check_commands(),
        ])
    }

    fn check_commands(&self) -> Checked {
        let command = &self.command;
        if !command.is_empty() && !settings::names_program(command) {
            return bad("[resolver] command", "must start with a program name");
        }
        // Ids may begin with "-": a bare "{video_id}" gets "--" before it,
        // which would make any option after it an argument.
        let bare = command.iter().position(|a| a == "{video_id}");
        if bare.is_some_and(|at| command[at..].iter().any(|a| a.starts_with('-'))) {
            return bad(
                "[resolver] command",
                "must have every option before a bare \"{video_id}\" (ids may begin \
                 with -, so -- is put before them)",
            );
        }
        for (key, argv) in [
            ("[resolver] command", command),
            ("[resolver] playlist_command", &self.playlist_command),
        ] {
            if argv
                .iter()
                .any(|a| a == "--cookies" || a.starts_with("--cookies="))
            {
                return bad(
                    key,
                    "must not name --cookies: yt-dlp writes the jar back to that file; set \
                     [resolver] cookies_file = \"FILE\" instead (each run gets a private copy)",
                );
            }
        }
        if !settings::names_program(&self.playlist_command) {
            return bad(
                "[resolver] playlist_command",
                "must start with a program name",
            );
        }
        if !self.playlist_command.iter().any(|a| a.contains("{url}")) {
            return bad("[resolver] playlist_command", "must contain \"{url}\"");
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        settings::secs(self.timeout_secs)
    }

    pub fn playlist_timeout(&self) -> Duration {
        settings::secs(self.playlist_timeout_secs)
    }

    pub fn max_wait(&self) -> Duration {
        settings::secs(self.max_wait_secs)
    }

    pub fn slot_wait(&self) -> Duration {
        settings::secs(self.slot_wait_secs)
    }

    pub fn remember_failure(&self) -> Duration {
        settings::secs(self.remember_failure_secs)
    }

    /// When a stored URL needs a refresh: the one rule for requests and
    /// warming alike.
    pub fn freshness(&self) -> Freshness {
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Freshness {
            margin_secs: signed(self.refresh_margin_secs),
            max_age_secs: signed(self.max_age_secs),
        }
    }

    /// `cookies_file`, when set.
    pub fn cookies_file(&self) -> Option<&Path> {
        settings::set_path(&self.cookies_file)
    }
}

/// `[playlists]`: syncing sources and writing MPD's playlist files.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PlaylistsSettings {
    /// Minutes; 0: never. Fractions are allowed (0.5 is 30 s).
    pub sync_minutes: f64,
    /// Minutes; 0: never.
    pub library_minutes: f64,
    /// MPD's `playlist_directory`, where every playlist is written as
    /// `NAME.m3u`; empty: not written.
    pub mpd_dir: PathBuf,
    /// Where MPD reaches this server; empty: from `[server]` host and port.
    pub base_url: String,
}

impl PlaylistsSettings {
    pub fn check(&self) -> Checked {
        let week = |key, minutes: f64| match (0.0..=10_080.0).contains(&minutes) {
            true => Ok(()),
            false => bad(key, "must be between 0 and 10080 (a week)"),
        };
        settings::first([
            week("[playlists] sync_minutes", self.sync_minutes),
            week("[playlists] library_minutes", self.library_minutes),
            match self.base_url() {
                Some(url) if !url.starts_with("http://") && !url.starts_with("https://") => bad(
                    "[playlists] base_url",
                    "must start with http:// or https://",
                ),
                _ => Ok(()),
            },
        ])
    }

    /// How often imported playlists are re-read while serving; `None`: never.
    pub fn sync_every(&self) -> Option<Duration> {
        every(self.sync_minutes)
    }

    /// How often the account's library is read again while serving;
    /// `None`: never.
    pub fn library_every(&self) -> Option<Duration> {
        every(self.library_minutes)
    }

    pub fn mpd_dir(&self) -> Option<&Path> {
        settings::set_path(&self.mpd_dir)
    }

    /// `base_url` when set.
    pub fn base_url(&self) -> Option<&str> {
        (!self.base_url.is_empty()).then_some(self.base_url.as_str())
    }
}

/// A `..._minutes` key (checked) as a period: `None` for 0 (never).
fn every(minutes: f64) -> Option<Duration> {
    (minutes > 0.0 && minutes.is_finite()).then(|| Duration::from_secs_f64(minutes * 60.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(command: &[&str], playlist_command: &[&str]) -> ResolverSettings {
        let argv = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        ResolverSettings {
            command: argv(command),
            playlist_command: argv(playlist_command),
            ..ResolverSettings::default()
        }
    }

    #[test]
    fn cookies_come_only_from_cookies_file() {
        let playlist = ["yt-dlp", "-J", "{url}"];
        for (command, key) in [
            (
                resolver(&["yt-dlp", "--cookies", "/c.txt", "{video_id}"], &playlist),
                "[resolver] command",
            ),
            (
                resolver(
                    &["yt-dlp", "{video_id}"],
                    &["yt-dlp", "--cookies=/c", "{url}"],
                ),
                "[resolver] playlist_command",
            ),
        ] {
            let e = command.check().expect_err("refused");
            assert_eq!(e.key, key);
            assert!(e.why.contains("set [resolver] cookies_file"), "{e:?}");
        }
        let browser = resolver(
            &["yt-dlp", "--cookies-from-browser", "firefox", "{video_id}"],
            &playlist,
        );
        assert_eq!(browser.check(), Ok(()));
    }
}
