//! Finding music through yt-dlp, with the playlist command
//! ([`playlist_source::Reader`]): YouTube Music's search, and the account's library (its
//! "Liked music" and its playlists, which need cookies).
//!
//! What yt-dlp lists, flat (read in its `_tab.py` and `_search.py`):
//!
//! - a music search (`https://music.youtube.com/search?q=QUERY#songs`,
//!   `YoutubeMusicSearchURLIE`) gives each song as `_type: url`, `ie_key:
//!   Youtube`, `id`, `url` and `title` only (`_music_reponsive_list_entry`
//!   reads the first text of the first column): no artist, no duration. So
//!   a search runs the resolver once for the songs found (one yt-dlp run
//!   for up to `batch_size` ids), which gives YouTube Music's artist,
//!   album and duration, and a stream URL: playing one starts at once;
//! - "Liked music" (`playlist?list=LM`) is a playlist like any other;
//! - the account's playlists (`https://www.youtube.com/feed/playlists`, a
//!   `feed/` tab of `YoutubeTabIE`) are listed as `ie_key: YoutubeTab`
//!   entries with the playlist's `id`, `url` and `title`; liked videos
//!   (`LL`) and watch later (`WL`) are among them and left out.
//!
//! yt-dlp pages a search or a feed without end unless told: every read
//! here gives `--playlist-end N`.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::catalog::cookies::Cookies;
use crate::catalog::lookup::TrackSource;
use crate::catalog::model::{ListedTrack, Track, check_playlist_name};
use crate::catalog::music::rows::Lead;
use crate::catalog::playlist_source::{MpdFiles, Sources};
use crate::catalog::store::TrackStore;
use crate::catalog::ytdlp::flat::FlatPlaylist;
use crate::error::{Error, Result};
use crate::subprocess::How;
use crate::video_id::VideoId;

/// The account's liked songs on YouTube Music.
pub const LIKED_URL: &str = "https://music.youtube.com/playlist?list=LM";
/// What they are called here.
pub const LIKED_NAME: &str = "Liked songs";
/// The account's playlists.
pub const FEED_URL: &str = "https://www.youtube.com/feed/playlists";
/// The origin of playlists made from the library.
pub const LIBRARY: &str = "library";
/// The origin of playlists made by a search from MPD's channel.
const SEARCH: &str = "search";
/// Search playlists kept (the newest); older ones are removed.
pub const SEARCHES_KEPT: usize = 5;
/// What the library needs, said when there are no cookies.
pub const NEEDS_COOKIES: &str = "your library needs your YouTube cookies: set [resolver] \
                             cookies_file (README, \"Your library and search\")";

pub use crate::catalog::music::Section;

/// A search to run.
#[derive(Debug, Clone, Copy)]
pub struct Search<'a> {
    pub query: &'a str,
    /// How many results, at most.
    pub limit: usize,
    pub section: Section,
}

/// YouTube Music's search URL for `query` in `section`.
pub fn search_url(query: &str, section: Section) -> String {
    let q = utf8_percent_encode(query.trim(), NON_ALPHANUMERIC).to_string();
    let fragment = match section {
        Section::Songs => "songs",
        Section::Videos => "videos",
        Section::Albums => "albums",
        Section::Artists => "artists",
        Section::Playlists => "playlists",
    };
    format!("https://music.youtube.com/search?q={q}#{fragment}")
}

/// Runs `search` (songs or videos) and stores the songs found (tags, no
/// URL yet): through the reader, tags and all in one request; where it
/// fails, through yt-dlp, whose listing lacks artists, completed with one
/// resolver run (see the module notes). Returns the songs in the
/// search's order.
pub fn search(
    sources: &Sources,
    source: &TrackSource,
    store: &mut TrackStore,
    search: &Search<'_>,
) -> Result<Vec<Track>> {
    if search.query.trim().is_empty() {
        return Err(Error::InvalidInput("give something to search for".into()));
    }
    if let Some(music) = &sources.music {
        match music.search_songs(search.query, search.section, search.limit) {
            Ok(tracks) => return store_found(source, store, &listing_of(tracks)),
            Err(e) => music.fell_back(&e, "searching through yt-dlp"),
        }
    }
    let url = search_url(search.query, search.section);
    let mut listing = sources.reader.read_first(&url, Some(search.limit))?;
    listing.tracks.truncate(search.limit);
    store_found(source, store, &listing)
}

/// Albums, artists or playlists found for `query`: the reader's alone
/// (yt-dlp's search lists no such rows to fall back to).
pub fn search_leads(
    sources: &Sources,
    query: &str,
    section: Section,
    limit: usize,
) -> Result<Vec<Lead>> {
    if query.trim().is_empty() {
        return Err(Error::InvalidInput("give something to search for".into()));
    }
    let music = sources.music.as_ref().ok_or_else(reader_off)?;
    music
        .search_leads(query, section, limit)
        .inspect_err(|e| music.failed(e))
}

/// What needs the reader says when `[youtube] api_url` is empty.
pub fn reader_off() -> Error {
    Error::InvalidInput(
        "this needs YouTube Music's API, which is off: set [youtube] api_url \
         (https://music.youtube.com)"
            .into(),
    )
}

/// Stores a listing's tracks and completes the tags of those without an
/// artist with the resolver; the stored tracks, in order.
pub fn store_found(
    source: &TrackSource,
    store: &mut TrackStore,
    listing: &FlatPlaylist,
) -> Result<Vec<Track>> {
    store.list_tracks(&listing.tracks)?;
    // Known tracks keep what the resolver once gave them.
    let mut bare = Vec::new();
    for t in &listing.tracks {
        if store
            .get(&t.video_id)?
            .is_some_and(|s| s.tags.artist.is_empty())
        {
            bare.push(t.video_id.clone());
        }
    }
    if !bare.is_empty() && source.can_resolve() {
        for (id, result) in source.resolve_batch(&bare, store) {
            if let Err(e) = result {
                log::info!("{id}: found, but its tags could not be read: {e}");
            }
        }
    }
    let mut tracks = Vec::with_capacity(listing.tracks.len());
    for t in &listing.tracks {
        if let Some(track) = store.get(&t.video_id)? {
            tracks.push(track);
        }
    }
    Ok(tracks)
}

/// A list the reader read, as a listing.
pub fn listing_of(tracks: Vec<ListedTrack>) -> FlatPlaylist {
    FlatPlaylist {
        title: String::new(),
        tracks,
        unavailable: 0,
    }
}

/// YouTube Music's radio ("mix") of a song: yt-dlp reads the mix from
/// the watch page (`_extract_from_playlist`, an inline playlist of
/// `playlistPanelVideoRenderer`s: id, title, channel, duration,
/// thumbnails).
pub fn radio_url(seed: &VideoId) -> String {
    format!("https://music.youtube.com/watch?v={seed}&list=RDAMVM{seed}")
}

/// A radio to read: whose, how many songs, and which ids to leave out.
#[derive(Debug, Clone, Copy)]
pub struct RadioAsk<'a> {
    pub seed: &'a VideoId,
    pub limit: usize,
    /// Ids queued or played lately.
    pub skip: &'a std::collections::HashSet<String>,
}

/// The radio of `ask.seed`: up to `limit` songs, without the seed and
/// without `skip`, stored with their tags. One yt-dlp run (a mix's
/// entries name their artist: no resolver run).
pub fn radio(
    sources: &Sources,
    source: &TrackSource,
    store: &mut TrackStore,
    ask: &RadioAsk<'_>,
) -> Result<Vec<Track>> {
    let RadioAsk { seed, limit, skip } = *ask;
    // Enough for the mix's own repeats of what is skipped.
    let ask = (limit + skip.len().min(25) + 1).min(100);
    let read = sources.music.as_ref().and_then(|music| {
        music
            .radio(seed, ask)
            .inspect_err(|e| music.fell_back(e, "reading the radio through yt-dlp"))
            .ok()
    });
    let mut listing = match read {
        Some(tracks) => listing_of(tracks),
        None => sources.reader.read_first(&radio_url(seed), Some(ask))?,
    };
    let mut seen = std::collections::HashSet::new();
    listing.tracks.retain(|t| {
        let id = t.video_id.as_str();
        id != seed.as_str() && !skip.contains(id) && seen.insert(id.to_owned())
    });
    listing.tracks.truncate(limit);
    store_found(source, store, &listing)
}

/// The playlist a search from MPD's channel is stored as: `Search: QUERY`.
pub fn search_playlist_name(query: &str) -> Result<String> {
    let query: String = query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| if matches!(c, '/' | '\\') { '-' } else { c })
        .collect();
    let mut name = format!("Search: {query}");
    while name.len() > 100 {
        name.pop();
    }
    let name = name.trim_end().to_owned();
    check_playlist_name(&name)?;
    Ok(name)
}

/// Stores `tracks` as the playlist `name` made by a search (in `mpd_dir`
/// too), and removes the search playlists older than the newest
/// [`SEARCHES_KEPT`].
pub fn store_search(
    sources: &Sources,
    store: &mut TrackStore,
    name: &str,
    tracks: &[Track],
) -> Result<()> {
    let listed: Vec<ListedTrack> = tracks
        .iter()
        .map(|t| ListedTrack {
            video_id: t.video_id.clone(),
            tags: t.tags.clone(),
        })
        .collect();
    let files = sources.files.as_ref();
    if let Some(files) = files {
        files.check_ours(name)?;
    }
    store.replace_playlist(name, None, &listed)?;
    store.set_origin(name, SEARCH)?;
    if let Some(files) = files {
        files.write(store, name)?;
    }
    for old in store
        .playlists_from(SEARCH)?
        .into_iter()
        .skip(SEARCHES_KEPT)
    {
        remove_playlist(files, store, &old)?;
    }
    Ok(())
}

/// Removes a playlist icyproxy made, and its file in `mpd_dir`.
pub(crate) fn remove_playlist(
    files: Option<&MpdFiles>,
    store: &mut TrackStore,
    name: &str,
) -> Result<()> {
    store.playlist_remove(name, &[])?;
    if let Some(files) = files {
        files.write(store, name)?;
    }
    Ok(())
}

/// With cookies, a library YouTube says does not exist is a jar that no
/// longer logs in (logged out, LM is nobody's).
pub(crate) fn logged_out(error: Error, cookies: &Cookies) -> Error {
    match error {
        Error::PlaylistSource(failure) => {
            let gone = matches!(&failure.how, How::Failed { stderr_tail: Some(t), .. }
                if t.contains("does not exist"));
            let failure = match gone {
                true => crate::subprocess::Failure {
                    how: How::LoginNeeded {
                        cookies: Some(cookies.file().display().to_string()),
                    },
                    ..failure
                },
                false => failure,
            };
            Error::PlaylistSource(failure)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_urls_name_the_section() {
        assert_eq!(
            search_url(" daft punk ", Section::Songs),
            "https://music.youtube.com/search?q=daft%20punk#songs"
        );
        assert_eq!(
            search_url("AC/DC & co", Section::Videos),
            "https://music.youtube.com/search?q=AC%2FDC%20%26%20co#videos"
        );
    }

    #[test]
    fn search_playlists_are_named_after_the_query() {
        assert_eq!(
            search_playlist_name("  daft   punk ").expect("ok"),
            "Search: daft punk"
        );
        assert_eq!(search_playlist_name("AC/DC").expect("ok"), "Search: AC-DC");
        assert_eq!(
            search_playlist_name(&"x".repeat(200)).expect("ok").len(),
            100
        );
    }
}
