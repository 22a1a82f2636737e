//! Reading what `yt-dlp --flat-playlist -J URL` prints: one JSON object
//! with the playlist's `title` and its `entries`, each a video with
//! `id`, `title`, `channel`/`uploader`, `duration`, `thumbnails`. Flat
//! entries carry no `artist`/`track`: the artist is usually the channel,
//! often as `Artist - Topic`. Pure: text in, tracks out.

use serde::Deserialize;

use crate::catalog::store::ListedTrack;
use crate::catalog::stream_url;
use crate::catalog::tags::Tags;
use crate::video_id::VideoId;

/// A playlist as its source lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatPlaylist {
    /// Empty when the source gave none.
    pub title: String,
    /// The usable entries, in the source's order.
    pub tracks: Vec<ListedTrack>,
    /// Entries skipped: private, deleted, members-only, live, not a video.
    pub unavailable: usize,
}

#[derive(Deserialize)]
struct Listing {
    title: Option<String>,
    entries: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    id: Option<String>,
    title: Option<String>,
    artists: Option<Vec<String>>,
    artist: Option<String>,
    channel: Option<String>,
    uploader: Option<String>,
    duration: Option<f64>,
    thumbnails: Option<Vec<Thumbnail>>,
    thumbnail: Option<String>,
    availability: Option<String>,
    live_status: Option<String>,
}

#[derive(Deserialize)]
struct Thumbnail {
    url: Option<String>,
    width: Option<u64>,
    height: Option<u64>,
}

/// Titles YouTube gives entries that cannot be played.
const GONE_TITLES: [&str; 2] = ["[Private video]", "[Deleted video]"];
const GONE_AVAILABILITY: [&str; 4] = ["private", "needs_auth", "subscriber_only", "premium_only"];
const NOT_ON_DEMAND: [&str; 2] = ["is_live", "is_upcoming"];

/// Parses the JSON object; an error says what is missing.
pub fn parse(json: &str) -> Result<FlatPlaylist, String> {
    let listing: Listing = serde_json::from_str(json.trim())
        .map_err(|e| format!("not the JSON of a playlist: {e}"))?;
    let entries = listing
        .entries
        .ok_or("the JSON has no \"entries\" (is the URL a playlist?)")?;
    let mut tracks = Vec::with_capacity(entries.len());
    let mut unavailable = 0;
    for value in entries {
        match serde_json::from_value::<Entry>(value).ok().and_then(usable) {
            Some(track) => tracks.push(track),
            None => unavailable += 1,
        }
    }
    Ok(FlatPlaylist {
        title: listing.title.unwrap_or_default().trim().to_owned(),
        tracks,
        unavailable,
    })
}

/// The track an entry stands for, or `None` when it cannot be played.
fn usable(entry: Entry) -> Option<ListedTrack> {
    let video_id = VideoId::parse(entry.id.as_deref()?.trim())?;
    let title = entry.title.as_deref().map(str::trim).unwrap_or_default();
    let is = |field: &Option<String>, values: &[&str]| {
        field.as_deref().is_some_and(|v| values.contains(&v))
    };
    if title.is_empty()
        || GONE_TITLES.contains(&title)
        || is(&entry.availability, &GONE_AVAILABILITY)
        || is(&entry.live_status, &NOT_ON_DEMAND)
    {
        return None;
    }
    Some(ListedTrack {
        tags: Tags {
            title: title.to_owned(),
            artist: artist_of(&entry),
            duration_secs: entry
                .duration
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| d.round() as i64),
            thumbnail_url: largest_thumbnail(&entry),
            album: None,
        },
        video_id,
    })
}

/// `artists[0]` or `artist` when present, else the channel (then the
/// uploader) without YouTube's ` - Topic` suffix.
fn artist_of(entry: &Entry) -> String {
    let named = nonempty(
        entry
            .artists
            .as_ref()
            .and_then(|a| a.first())
            .map(String::as_str),
    )
    .or_else(|| nonempty(entry.artist.as_deref()));
    if let Some(artist) = named {
        return artist.to_owned();
    }
    let channel = nonempty(entry.channel.as_deref())
        .or_else(|| nonempty(entry.uploader.as_deref()))
        .unwrap_or_default();
    channel
        .strip_suffix(" - Topic")
        .unwrap_or(channel)
        .trim()
        .to_owned()
}

fn nonempty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|s| !s.is_empty())
}

/// The largest of `thumbnails` (by area; the last when sizes are missing,
/// as yt-dlp lists them smallest first), else `thumbnail`.
fn largest_thumbnail(entry: &Entry) -> Option<String> {
    let listed = entry.thumbnails.as_deref().unwrap_or_default();
    let best = listed
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.url
                .as_deref()
                .is_some_and(|u| stream_url::check(u).is_ok())
        })
        .max_by_key(|(i, t)| {
            let area = t.width.unwrap_or(0).saturating_mul(t.height.unwrap_or(0));
            (area, *i)
        })
        .and_then(|(_, t)| t.url.clone());
    best.or_else(|| {
        entry
            .thumbnail
            .clone()
            .filter(|u| stream_url::check(u).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/flat-playlist.json"
        );
        std::fs::read_to_string(path).expect("fixture")
    }

    #[test]
    fn a_yt_dlp_flat_playlist_gives_tracks_in_order_and_skips_the_unplayable() {
        let list = parse(&fixture()).expect("valid");
        assert_eq!(list.title, "Road Trip");
        let shown: Vec<(&str, &str, &str)> = list
            .tracks
            .iter()
            .map(|t| {
                (
                    t.video_id.as_str(),
                    t.tags.artist.as_str(),
                    t.tags.title.as_str(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("aaaaaaaaaa1", "Röyksopp", "Här Är Jag"),
                ("bbbbbbbbbb2", "坂本龍一", "戦場のメリークリスマス"),
                ("ccccccccccc", "Some Uploader", "A Cover"),
                ("ddddddddd-4", "Daft Punk", "Digital Love"),
            ]
        );
        assert_eq!(list.unavailable, 5);
        assert_eq!(list.tracks[0].tags.duration_secs, Some(245));
        assert_eq!(
            list.tracks[0].tags.thumbnail_url.as_deref(),
            Some("https://i.ytimg.com/vi/aaaaaaaaaa1/hq720.jpg")
        );
        assert_eq!(list.tracks[1].tags.duration_secs, None);
    }

    #[test]
    fn what_is_not_a_playlist_is_said() {
        assert!(parse("").expect_err("empty").contains("not the JSON"));
        assert!(
            parse("{\"title\":\"x\"}")
                .expect_err("no entries")
                .contains("entries")
        );
        assert!(parse("[1,2]").is_err());
        let empty = parse("{\"entries\":[]}").expect("valid");
        assert_eq!((empty.tracks.len(), empty.unavailable), (0, 0));
        let odd = parse("{\"entries\":[1, null, {\"id\":5}]}").expect("valid");
        assert_eq!((odd.tracks.len(), odd.unavailable), (0, 3));
    }
}
