//! The track and playlist model: what a stored track, a track being
//! written, a listed track and a playlist are, and their pure rules (a
//! playlist's name, how a playlist changed). Plain data: the SQLite store
//! ([`crate::catalog::store`]) reads and writes it, the yt-dlp reader makes it.

use crate::catalog::stream_url::{self, FetchTerms};
use crate::catalog::tags::Tags;
use crate::error::{Error, Result};
use crate::video_id::VideoId;

/// Where a track's tags came from, which decides who may replace them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagSource {
    /// `add` or an import file: never replaced by anything else.
    User,
    /// A flat playlist entry (title, channel): replaced by YouTube Music's
    /// own tags when the track is resolved.
    Flat,
    /// The resolver, for an id first met when played.
    Resolver,
}

impl TagSource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TagSource::User => "user",
            TagSource::Flat => "flat",
            TagSource::Resolver => "resolver",
        }
    }

    pub(crate) fn from_column(text: &str) -> TagSource {
        match text {
            "flat" => TagSource::Flat,
            "resolver" => TagSource::Resolver,
            _ => TagSource::User,
        }
    }
}

/// A stored track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    pub video_id: VideoId,
    /// `None` until the track is first resolved (a playlist import stores
    /// tags only).
    pub stream_url: Option<String>,
    pub tags: Tags,
    /// Unix seconds of the last write.
    pub updated_at: i64,
    /// Unix seconds when the stream URL stops working, when known.
    pub expires_at: Option<i64>,
    pub tags_from: TagSource,
    pub fetch: FetchTerms,
}

/// What a caller supplies to insert or replace a track. Its tags' `None`s
/// keep what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrack {
    pub video_id: VideoId,
    pub stream_url: String,
    pub tags: Tags,
    pub tags_from: TagSource,
    pub fetch: FetchTerms,
}

/// A track as a playlist lists it: tags, no stream URL yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTrack {
    pub video_id: VideoId,
    pub tags: Tags,
}

/// What a resolver run found for a stored track.
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlUpdate<'a> {
    pub stream_url: &'a str,
    /// The resolver's tags: duration and cover fill in what is unknown; the
    /// album, and when `music` the artist and title, replace the tags of a
    /// flat playlist entry, never a user's.
    pub tags: Option<&'a Tags>,
    /// Whether `tags` are YouTube Music's own (a `track` or `artists`),
    /// not a video's title and channel.
    pub music: bool,
    /// What fetching the new URL takes.
    pub fetch: Option<&'a FetchTerms>,
}

/// How an imported playlist changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaylistChange {
    pub entries: usize,
    /// Tracks the store did not have before.
    pub new_tracks: usize,
    /// Entries that were not in the playlist before (counted with repeats).
    pub added: usize,
    /// Entries that are no longer in it.
    pub removed: usize,
    /// Whether the entries both kept are in another order now.
    pub reordered: bool,
}

/// A playlist's name, its number of entries, and where it was imported
/// from (if it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistInfo {
    pub name: String,
    pub entries: u64,
    pub source: Option<String>,
}

impl NewTrack {
    /// Checks every field; the error says which one is wrong.
    pub fn new(video_id: &str, stream_url: &str, artist: &str, title: &str) -> Result<NewTrack> {
        let tags = Tags {
            artist: artist.to_owned(),
            title: title.to_owned(),
            ..Tags::default()
        };
        NewTrack::tagged(video_id, stream_url, tags)
    }

    /// A track with all of `tags`: the id, URL and title are checked (the
    /// error says which is wrong), artist and title trimmed.
    pub fn tagged(video_id: &str, stream_url: &str, mut tags: Tags) -> Result<NewTrack> {
        let id = VideoId::parse_or_explain(video_id)?;
        stream_url::check(stream_url)?;
        if tags.title.trim().is_empty() {
            return Err(Error::InvalidInput("title must not be empty".into()));
        }
        tags.artist = tags.artist.trim().to_owned();
        tags.title = tags.title.trim().to_owned();
        Ok(NewTrack {
            video_id: id,
            stream_url: stream_url.to_owned(),
            tags,
            tags_from: TagSource::User,
            fetch: FetchTerms::default(),
        })
    }

    /// Sets the album (empty text means none).
    pub fn with_album(mut self, album: &str) -> NewTrack {
        self.tags.album = Some(album.trim().to_owned());
        self
    }

    /// Sets the cover-art URL, which must be http(s) like a stream URL.
    pub fn with_thumbnail(mut self, url: &str) -> Result<NewTrack> {
        stream_url::check(url).map_err(|e| {
            Error::InvalidInput(format!(
                "thumbnail: {}",
                e.to_string().replace("stream URL", "URL")
            ))
        })?;
        self.tags.thumbnail_url = Some(url.to_owned());
        Ok(self)
    }
}

/// `text` as one path segment: `/` and `\` become `-`, control
/// characters spaces, the ends trimmed.
pub fn one_segment(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| match c {
            '/' | '\\' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    text.trim().to_owned()
}

/// A playlist name: 1 to 100 bytes, no control characters, no `/` or `\`,
/// not starting with `.`; safe in a URL path segment once encoded and as a
/// file name.
pub fn check_playlist_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.trim() == name
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid playlist name {name:?}: 1-100 characters, no / or \\, not starting with a dot"
        )))
    }
}

/// One playlist entry: the id, and the track when it is stored.
#[derive(Debug, Clone)]
pub struct PlaylistEntry {
    pub video_id: String,
    pub track: Option<Track>,
}

impl PlaylistChange {
    /// What changed from `before` to `after` (ids, with repeats).
    pub fn between(before: &[String], after: &[String]) -> PlaylistChange {
        let mut left: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for id in before {
            *left.entry(id.as_str()).or_default() += 1;
        }
        let mut added = 0;
        let mut kept_after = Vec::new();
        for id in after {
            match left.get_mut(id.as_str()) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    kept_after.push(id.as_str());
                }
                _ => added += 1,
            }
        }
        let removed = left.values().sum();
        // Nothing moved when the kept entries are the old list with some
        // entries taken out: a subsequence of it (matched greedily).
        let mut kept = kept_after.iter().peekable();
        for id in before {
            if kept.peek().is_some_and(|k| **k == id.as_str()) {
                kept.next();
            }
        }
        let reordered = kept.peek().is_some();
        PlaylistChange {
            entries: after.len(),
            new_tracks: 0,
            added,
            removed,
            reordered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_changes_count_repeats_and_moves() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = PlaylistChange::between(&ids(&["a", "b", "a"]), &ids(&["a", "b", "a"]));
        assert_eq!((c.added, c.removed, c.reordered), (0, 0, false));
        let c = PlaylistChange::between(&ids(&["a", "b", "a"]), &ids(&["b", "a"]));
        assert_eq!((c.added, c.removed, c.reordered), (0, 1, false));
        let c = PlaylistChange::between(&ids(&["a", "b"]), &ids(&["b", "a", "c"]));
        assert_eq!((c.added, c.removed, c.reordered), (1, 0, true));
        let c = PlaylistChange::between(&[], &ids(&["x"]));
        assert_eq!((c.entries, c.added), (1, 1));
    }

    #[test]
    fn new_track_checks_fields() {
        assert!(NewTrack::new("short", "http://h/", "", "T").is_err());
        assert!(NewTrack::new("dQw4w9WgXcQ", "ftp://h/", "", "T").is_err());
        assert!(NewTrack::new("dQw4w9WgXcQ", "http://h/", "", " ").is_err());
        assert!(NewTrack::new("dQw4w9WgXcQ", "http://h/", "", "T").is_ok());
    }
}
