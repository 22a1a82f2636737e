//! Flat listings: a flat playlist's tracks (`--flat-playlist -J`), and a
//! listing of playlists (the account's playlists feed).

use serde_json::{Map, Value};

use crate::catalog::model::ListedTrack;
use crate::catalog::ytdlp::{Info, lenient_text};
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

/// Titles YouTube gives entries that cannot be played.
const GONE_TITLES: [&str; 2] = ["[Private video]", "[Deleted video]"];
const GONE_AVAILABILITY: [&str; 4] = ["private", "needs_auth", "subscriber_only", "premium_only"];
const NOT_ON_DEMAND: [&str; 2] = ["is_live", "is_upcoming"];

/// Reads what `yt-dlp --flat-playlist -J URL` prints; an error says what
/// is missing.
pub fn flat_playlist(json: &str) -> Result<FlatPlaylist, String> {
    let listing: Map<String, Value> = serde_json::from_str(json.trim())
        .map_err(|e| format!("not the JSON of a playlist: {e}"))?;
    let entries = match listing.get("entries") {
        Some(Value::Array(entries)) => entries,
        _ => return Err("the JSON has no \"entries\" (is the URL a playlist?)".into()),
    };
    let mut tracks = Vec::with_capacity(entries.len());
    let mut unavailable = 0;
    for entry in entries {
        match listed(entry) {
            Some(track) => tracks.push(track),
            None => unavailable += 1,
        }
    }
    Ok(FlatPlaylist {
        title: lenient_text(listing.get("title"))
            .unwrap_or_default()
            .trim()
            .to_owned(),
        tracks,
        unavailable,
    })
}

/// A playlist a listing of playlists names (the account's playlists feed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPlaylist {
    pub id: String,
    pub title: String,
    /// `https://www.youtube.com/playlist?list=ID`.
    pub url: String,
}

/// Playlists that are not the account's own lists of songs: liked videos
/// (`LL`), watch later (`WL`), YouTube Music's liked songs (`LM`, read as
/// such on its own).
const NOT_OWN_PLAYLISTS: [&str; 3] = ["LL", "WL", "LM"];

/// Reads what `yt-dlp --flat-playlist -J https://www.youtube.com/feed/playlists`
/// prints: a listing whose entries are playlists (`_type: url`, `ie_key:
/// YoutubeTab`, `id`, `url` with `list=ID`, `title`, `thumbnails`, from
/// yt-dlp's lockup view models). Entries that are not playlists, have no
/// title, or are `LL`, `WL` or `LM` are left out.
pub fn listed_playlists(json: &str) -> Result<Vec<ListedPlaylist>, String> {
    let listing: Map<String, Value> =
        serde_json::from_str(json.trim()).map_err(|e| format!("not the JSON of a listing: {e}"))?;
    let Some(Value::Array(entries)) = listing.get("entries") else {
        return Err("the JSON has no \"entries\" (is the URL a list of playlists?)".into());
    };
    Ok(entries
        .iter()
        .filter_map(|entry| {
            let map = entry.as_object()?;
            let id = lenient_text(map.get("id"))?.trim().to_owned();
            let title = lenient_text(map.get("title"))?.trim().to_owned();
            let url = lenient_text(map.get("url")).unwrap_or_default();
            let is_list = url.contains("list=")
                || lenient_text(map.get("ie_key")).as_deref() == Some("YoutubeTab");
            let id_ok = !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            (is_list && id_ok && !title.is_empty() && !NOT_OWN_PLAYLISTS.contains(&id.as_str()))
                .then(|| ListedPlaylist {
                    url: format!("https://www.youtube.com/playlist?list={id}"),
                    id,
                    title,
                })
        })
        .collect())
}

/// The track a flat entry stands for, or `None` when it cannot be played.
fn listed(entry: &Value) -> Option<ListedTrack> {
    let info = Info::read(entry.as_object()?).ok()?;
    let video_id = VideoId::parse(info.id.as_deref()?.trim())?;
    if info.unplayable() {
        return None;
    }
    Some(ListedTrack {
        video_id,
        tags: info.tags(),
    })
}

impl Info {
    /// Whether a flat playlist entry cannot be played: no title, or
    /// private, deleted, members-only, live or upcoming.
    fn unplayable(&self) -> bool {
        let title = self.title.as_deref().map(str::trim).unwrap_or_default();
        let is = |field: &Option<String>, values: &[&str]| {
            field.as_deref().is_some_and(|v| values.contains(&v))
        };
        title.is_empty()
            || GONE_TITLES.contains(&title)
            || is(&self.availability, &GONE_AVAILABILITY)
            || is(&self.live_status, &NOT_ON_DEMAND)
    }
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
    fn a_flat_playlist_gives_tracks_in_order_and_skips_the_unplayable() {
        let list = flat_playlist(&fixture()).expect("valid");
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
    fn a_feed_of_playlists_gives_the_account_s_own() {
        let feed = r#"{"_type":"playlist","id":"playlists","title":"Playlists","entries":[
            {"_type":"url","ie_key":"YoutubeTab","id":"PLaaaa","url":"https://www.youtube.com/playlist?list=PLaaaa","title":"Road Trip","thumbnails":[]},
            {"_type":"url","ie_key":"YoutubeTab","id":"LL","url":"https://www.youtube.com/playlist?list=LL","title":"Liked videos"},
            {"_type":"url","ie_key":"YoutubeTab","id":"WL","url":"https://www.youtube.com/playlist?list=WL","title":"Watch later"},
            {"_type":"url","ie_key":"Youtube","id":"dQw4w9WgXcQ","url":"https://www.youtube.com/watch?v=dQw4w9WgXcQ","title":"A video"},
            {"_type":"url","ie_key":"YoutubeTab","id":"PLbbbb","url":"https://www.youtube.com/playlist?list=PLbbbb","title":" Gym "}]}"#;
        let lists = listed_playlists(feed).expect("valid");
        let shown: Vec<(&str, &str)> = lists
            .iter()
            .map(|p| (p.id.as_str(), p.title.as_str()))
            .collect();
        assert_eq!(shown, [("PLaaaa", "Road Trip"), ("PLbbbb", "Gym")]);
        assert_eq!(lists[1].url, "https://www.youtube.com/playlist?list=PLbbbb");
        assert!(listed_playlists("{}").is_err());
    }

    #[test]
    fn what_is_not_a_playlist_is_said() {
        assert!(
            flat_playlist("")
                .expect_err("empty")
                .contains("not the JSON")
        );
        assert!(
            flat_playlist("{\"title\":\"x\"}")
                .expect_err("no entries")
                .contains("entries")
        );
        assert!(flat_playlist("[1,2]").is_err());
        let empty = flat_playlist("{\"entries\":[]}").expect("valid");
        assert_eq!((empty.tracks.len(), empty.unavailable), (0, 0));
        let odd = flat_playlist("{\"entries\":[1, null, {\"id\":5}]}").expect("valid");
        assert_eq!((odd.tracks.len(), odd.unavailable), (0, 3));
    }
}
