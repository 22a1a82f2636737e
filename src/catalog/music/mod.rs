//! The reader of YouTube Music's own web API ("InnerTube", as
//! music.youtube.com's web client speaks it, read in ytmusicapi): search,
//! radio, albums, artists, playlists, the library, likes and history in
//! one request each, with tags. yt-dlp stays the one source of audio; where
//! the reader fails, the callers fall back to it (`discover`), and
//! [`ReaderHealth`] says so once per streak.
//!
//! Answers are parsed into the one [`Tags`](crate::catalog::tags::Tags)
//! through dotted paths ([`json`]); a shape that differs is an
//! [`Error::Music`](crate::error::Error::Music) naming the path, never a
//! panic.

pub mod account;
pub mod auth;
pub mod browse;
pub mod client;
pub mod health;
pub mod json;
pub mod offline;
pub mod pages;
pub mod rows;
pub mod search;
pub mod settings;
pub mod watch;

use std::sync::Arc;

use crate::catalog::cookies::Cookies;
use crate::catalog::model::ListedTrack;
use crate::error::{Error, Result};
use crate::video_id::VideoId;

use crate::catalog::ytdlp::flat::FlatPlaylist;
pub use account::Rating;
use client::Api;
pub use client::Who;
pub use health::ReaderHealth;
use rows::Lead;
pub use search::Section;
use settings::YoutubeSettings;

/// Shelves of the home page read for its mixes (they are often a few
/// pages down).
const HOME_SHELVES: usize = 20;

/// The reader: the API, and its record. Cheap to clone (one agent).
#[derive(Debug, Clone)]
pub struct Music {
    api: Api,
    health: Arc<ReaderHealth>,
    report_history: bool,
}

impl Music {
    /// The reader of `[youtube]`, or `None` when `api_url` is empty (off:
    /// yt-dlp finds everything, as before the reader).
    pub fn new(settings: &YoutubeSettings, cookies: Option<Cookies>) -> Option<Music> {
        crate::settings::set_text(&settings.api_url)?;
        Some(Music {
            api: Api::new(settings, cookies),
            health: Arc::new(ReaderHealth::new()),
            report_history: settings.report_history,
        })
    }

    pub fn health(&self) -> &ReaderHealth {
        &self.health
    }

    /// Whether calls for the account can be made.
    pub fn has_cookies(&self) -> bool {
        self.api.has_cookies()
    }

    /// Whether songs heard are reported to the account's history.
    pub fn reports_history(&self) -> bool {
        self.report_history && self.api.has_cookies()
    }

    /// Whether `[youtube] report_history` asks for it (cookies or not).
    pub fn asks_history(&self) -> bool {
        self.report_history
    }

    /// Songs (or music videos) found for `query`.
    pub fn search_songs(
        &self,
        query: &str,
        section: Section,
        limit: usize,
    ) -> Result<Vec<ListedTrack>> {
        self.noted(search::songs(&self.api, query, section, limit))
    }

    /// Albums, artists or playlists found for `query`.
    pub fn search_leads(&self, query: &str, section: Section, limit: usize) -> Result<Vec<Lead>> {
        self.noted(search::leads(&self.api, query, section, limit))
    }

    /// The radio of `seed` (the seed itself left in, first).
    pub fn radio(&self, seed: &VideoId, limit: usize) -> Result<Vec<ListedTrack>> {
        self.noted(watch::radio(&self.api, seed, limit))
    }

    /// The album `MPREb…`.
    pub fn album(&self, browse_id: &str) -> Result<browse::Album> {
        self.noted(browse::album(&self.api, browse_id))
    }

    /// The artist `UC…`.
    pub fn artist(&self, browse_id: &str) -> Result<browse::Artist> {
        self.noted(browse::artist(&self.api, browse_id))
    }

    /// A playlist's title and tracks (`who`: the account's own need it).
    pub fn playlist(&self, playlist_id: &str, who: Who, limit: usize) -> Result<FlatPlaylist> {
        self.noted(browse::playlist(&self.api, playlist_id, who, limit))
    }

    /// The songs of a mix (`RDTMAK5uy_…`), as its queue lists them.
    pub fn mix(&self, playlist_id: &str, limit: usize) -> Result<Vec<ListedTrack>> {
        self.noted(watch::playlist_queue(
            &self.api,
            playlist_id,
            limit,
            Who::Account,
        ))
    }

    /// The account's playlists.
    pub fn library_playlists(&self) -> Result<Vec<Lead>> {
        self.noted(browse::library_playlists(&self.api))
    }

    /// The account's saved albums.
    pub fn library_albums(&self) -> Result<Vec<Lead>> {
        self.noted(browse::library_albums(&self.api))
    }

    /// The home page's mixes for the account.
    pub fn home_mixes(&self) -> Result<Vec<Lead>> {
        self.noted(browse::home_mixes(&self.api, HOME_SHELVES))
    }

    /// Likes, dislikes or unrates `id` for the account.
    pub fn rate(&self, id: &VideoId, rating: Rating) -> Result<()> {
        self.noted(account::rate(&self.api, id, rating))
    }

    /// Reports `id` as heard to the account's history.
    pub fn report_heard(&self, id: &VideoId) -> Result<()> {
        self.noted(account::report_heard(&self.api, id))
    }

    /// Records how a call went (a failure only when the caller does not
    /// fall back: [`Music::fell_back`] records those).
    fn noted<T>(&self, result: Result<T>) -> Result<T> {
        if result.is_ok() {
            self.health.answered();
        }
        result
    }

    /// A call failed and `instead` is done: recorded and said once a streak.
    pub fn fell_back(&self, error: &Error, instead: &str) {
        self.health.failed(error, Some(instead));
    }

    /// A call failed with nothing instead: recorded, and said once a streak.
    pub fn failed(&self, error: &Error) {
        self.health.failed(error, None);
    }
}
