//! The virtual directory (`[front] directory`, "YouTube Music") that the
//! front door adds to MPD's root: what each path under it is, and what
//! it lists.
//!
//! ```text
//! YouTube Music/Liked songs            the library's liked songs (stored)
//! YouTube Music/Playlists/NAME         icyproxy's stored playlists
//! YouTube Music/Mixes/NAME             the home page's mixes (stored by library sync)
//! YouTube Music/Albums/NAME            the library's saved albums (read)
//! YouTube Music/Artists/NAME[/ALBUM]   artists of the library's songs: top songs, albums (read)
//! YouTube Music/Radio                  the radio of MPD's current song (read each time)
//! YouTube Music/Search/QUERY           the recent searches (or a new one)
//! ```
//!
//! What is stored is listed from the store alone; what is read costs one
//! call to YouTube Music (two for an artist found by name), taken from
//! the connection's budget.

use std::collections::{BTreeSet, HashMap};

use crate::catalog::discover::{self, LIBRARY, LIKED_NAME, RadioAsk, Search, Section};
use crate::catalog::model::Track;
use crate::catalog::store::TrackStore;
use crate::error::Result;
use crate::video_id::VideoId;

use super::songs;

pub const LIKED: &str = "Liked songs";
pub const PLAYLISTS: &str = "Playlists";
pub const MIXES: &str = "Mixes";
pub const ALBUMS: &str = "Albums";
pub const ARTISTS: &str = "Artists";
pub const RADIO: &str = "Radio";
pub const SEARCH: &str = "Search";

/// The most songs one listing or one `add` of a directory gives.
pub const MAX_SONGS: usize = 5000;

/// A path under the virtual directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Root,
    Liked,
    Playlists,
    Playlist(String),
    Mixes,
    Mix(String),
    Albums,
    Album(String),
    Artists,
    Artist(String),
    ArtistAlbum(String, String),
    Radio,
    Searches,
    Search(String),
}

impl Node {
    /// The node `path` names under `root` (the directory's name), if it
    /// is one: `None` for MPD's own paths.
    pub fn of(path: &str, root: &str) -> Option<Node> {
        let path = path.trim_matches('/');
        let rest = path.strip_prefix(root)?;
        if rest.is_empty() {
            return Some(Node::Root);
        }
        let rest = rest.strip_prefix('/')?;
        let mut parts = rest.splitn(3, '/');
        let first = parts.next().unwrap_or_default();
        let second = parts.next().map(str::to_owned);
        let third = parts.next().map(str::to_owned);
        Some(match (first, second, third) {
            (LIKED, None, None) => Node::Liked,
            (PLAYLISTS, None, None) => Node::Playlists,
            (PLAYLISTS, Some(name), None) => Node::Playlist(name),
            (MIXES, None, None) => Node::Mixes,
            (MIXES, Some(name), None) => Node::Mix(name),
            (ALBUMS, None, None) => Node::Albums,
            (ALBUMS, Some(name), None) => Node::Album(name),
            (ARTISTS, None, None) => Node::Artists,
            (ARTISTS, Some(name), None) => Node::Artist(name),
            (ARTISTS, Some(name), Some(album)) => Node::ArtistAlbum(name, album),
            (RADIO, None, None) => Node::Radio,
            (SEARCH, None, None) => Node::Searches,
            (SEARCH, Some(query), None) => Node::Search(query),
            _ => return None,
        })
    }

    /// Whether listing it needs no call to YouTube Music.
    pub fn is_stored(&self) -> bool {
        matches!(
            self,
            Node::Root
                | Node::Liked
                | Node::Playlists
                | Node::Playlist(_)
                | Node::Mixes
                | Node::Mix(_)
                | Node::Artists
                | Node::Searches
        )
    }
}

/// What a directory holds: its subdirectories' names and its songs.
#[derive(Debug, Default)]
pub struct Listing {
    pub dirs: Vec<String>,
    pub songs: Vec<Track>,
}

pub use crate::catalog::model::one_segment as segment;

/// The songs of a stored playlist, in order (ids the store lacks as bare
/// entries).
pub fn stored_playlist(store: &TrackStore, name: &str) -> Result<Vec<Track>> {
    let entries = store.playlist(name)?.unwrap_or_default();
    Ok(entries
        .into_iter()
        .filter_map(|e| match e.track {
            Some(track) => Some(track),
            None => VideoId::parse(&e.video_id).map(|id| songs::bare(&id)),
        })
        .take(MAX_SONGS)
        .collect())
}

/// The store's playlists, split into mixes (the library's `RD…` lists)
/// and the rest (without the liked songs).
pub fn playlists_and_mixes(store: &TrackStore) -> Result<(Vec<String>, Vec<String>)> {
    let library: BTreeSet<String> = store.playlists_from(LIBRARY)?.into_iter().collect();
    let (mut playlists, mut mixes) = (Vec::new(), Vec::new());
    for info in store.playlists()? {
        if info.name == LIKED_NAME {
            continue;
        }
        let is_mix = library.contains(&info.name)
            && info
                .source
                .as_deref()
                .is_some_and(|url| url.contains("list=RD"));
        match is_mix {
            true => mixes.push(info.name),
            false => playlists.push(info.name),
        }
    }
    Ok((playlists, mixes))
}

/// The artists of the library's songs (liked songs and the library's
/// playlists), by name.
pub fn library_artists(store: &TrackStore) -> Result<Vec<String>> {
    let mut names = BTreeSet::new();
    for playlist in store.playlists_from(LIBRARY)? {
        for track in stored_playlist(store, &playlist)? {
            let artist = segment(&track.tags.artist);
            if !artist.is_empty() {
                names.insert(artist);
            }
        }
    }
    Ok(names.into_iter().collect())
}

/// Where the pages listed lately lead: a directory's path to the
/// `browse_id` of its page (an album's, an artist's), so a child is read
/// without reading its parent again. Bounded: cleared when full.
#[derive(Debug, Default)]
pub struct Leads {
    by_path: HashMap<String, String>,
}

/// Paths remembered at most.
const LEADS_KEPT: usize = 2048;

impl Leads {
    pub fn remember(&mut self, path: String, browse_id: String) {
        if self.by_path.len() >= LEADS_KEPT {
            self.by_path.clear();
        }
        self.by_path.insert(path, browse_id);
    }

    pub fn get(&self, path: &str) -> Option<String> {
        self.by_path.get(path).cloned()
    }
}

/// Names made unique in order: a second "Greatest Hits" is
/// "Greatest Hits (2)".
pub fn unique_names(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    names
        .into_iter()
        .map(|name| {
            let count = seen.entry(name.clone()).or_insert(0);
            *count += 1;
            match *count {
                1 => name,
                n => format!("{name} ({n})"),
            }
        })
        .collect()
}

/// The search a `Search/QUERY` or a client's search box runs.
pub fn search_songs(
    ask: &super::Reading<'_>,
    store: &mut TrackStore,
    query: &str,
    limit: usize,
) -> Result<Vec<Track>> {
    discover::search(
        ask.sources,
        ask.tracks,
        store,
        &Search {
            query,
            limit,
            section: Section::Songs,
        },
    )
}

/// The radio of `seed`, up to `limit` songs.
pub fn radio(
    ask: &super::Reading<'_>,
    store: &mut TrackStore,
    seed: &VideoId,
    limit: usize,
) -> Result<Vec<Track>> {
    let skip = std::collections::HashSet::new();
    discover::radio(
        ask.sources,
        ask.tracks,
        store,
        &RadioAsk {
            seed,
            limit,
            skip: &skip,
        },
    )
}

/// Stores the songs a page listed and gives them back as tracks.
pub fn stored(
    ask: &super::Reading<'_>,
    store: &mut TrackStore,
    tracks: Vec<crate::catalog::model::ListedTrack>,
) -> Result<Vec<Track>> {
    discover::store_found(ask.tracks, store, &discover::listing_of(tracks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_directory_are_nodes_and_others_are_not() {
        let root = "YouTube Music";
        assert_eq!(Node::of("YouTube Music", root), Some(Node::Root));
        assert_eq!(Node::of("/YouTube Music/", root), Some(Node::Root));
        assert_eq!(
            Node::of("YouTube Music/Liked songs", root),
            Some(Node::Liked)
        );
        assert_eq!(
            Node::of("YouTube Music/Playlists/Road trip", root),
            Some(Node::Playlist("Road trip".into()))
        );
        assert_eq!(
            Node::of("YouTube Music/Artists/Daft Punk/Discovery", root),
            Some(Node::ArtistAlbum("Daft Punk".into(), "Discovery".into()))
        );
        assert_eq!(
            Node::of("YouTube Music/Search/daft punk", root),
            Some(Node::Search("daft punk".into()))
        );
        assert_eq!(Node::of("YouTube Musicals", root), None);
        assert_eq!(Node::of("Music/YouTube Music", root), None);
        assert_eq!(Node::of("YouTube Music/Liked songs/x", root), None);
        assert_eq!(Node::of("YouTube Music/Other", root), None);
    }

    #[test]
    fn names_are_one_segment_and_unique() {
        assert_eq!(segment(" AC/DC\n"), "AC-DC");
        assert_eq!(
            unique_names(["A".to_string(), "B".into(), "A".into()]),
            ["A", "B", "A (2)"]
        );
    }
}
