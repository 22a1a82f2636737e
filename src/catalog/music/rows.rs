//! The rows YouTube Music's answers list, read into tags: a list row
//! (`musicResponsiveListItemRenderer`: search, playlists, albums, the
//! library), a queue row (`playlistPanelVideoRenderer`: radio, mixes) and
//! a tile (`musicTwoRowItemRenderer`: carousels and grids). What a row
//! lacks is left unknown; a row without an id is no row.

use serde_json::Value;

use crate::catalog::model::ListedTrack;
use crate::catalog::music::json::{self, get, text};
use crate::catalog::tags::Tags;
use crate::video_id::VideoId;

/// The size covers are asked at (YouTube Music's own player size).
pub const COVER_SIZE: &str = "=w544-h544";

/// A list row's second column (or a queue row's byline), split: the
/// artists, the album and the duration (ytmusicapi's `parse_song_runs`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Byline {
    pub artists: Vec<String>,
    pub album: Option<String>,
    pub album_id: Option<String>,
    pub duration_secs: Option<i64>,
    pub year: Option<String>,
}

/// Splits byline runs: every other run is a separator (`" • "`, `" & "`,
/// `", "`); a run with a browse endpoint is an album (`MPRE…`) or an
/// artist; one without is a duration, a year, a count ("1.2M views") or
/// an artist without a page. A leading type word ("Song", "Video") goes.
pub fn byline(runs: &[Value]) -> Byline {
    let mut runs = runs;
    let is_dot = |r: &Value| r.get("text").and_then(Value::as_str) == Some(" • ");
    if runs.len() > 2
        && runs[0].get("navigationEndpoint").is_none()
        && is_dot(&runs[1])
        && kind_word(text(&runs[0], "text").unwrap_or(""))
    {
        runs = &runs[2..];
    }
    let mut line = Byline::default();
    for run in runs.iter().step_by(2) {
        let Some(words) = text(run, "text").map(str::trim).filter(|t| !t.is_empty()) else {
            continue;
        };
        let browse = text(run, "navigationEndpoint.browseEndpoint.browseId");
        match browse {
            Some(id) if id.starts_with("MPRE") => {
                line.album = Some(words.to_owned());
                line.album_id = Some(id.to_owned());
            }
            Some(_) => line.artists.push(words.to_owned()),
            None if parse_duration(words).is_some() => line.duration_secs = parse_duration(words),
            None if words.len() == 4 && words.bytes().all(|b| b.is_ascii_digit()) => {
                line.year = Some(words.to_owned());
            }
            None if words.starts_with(|c: char| c.is_ascii_digit()) && words.contains(' ') => {}
            None => line.artists.push(words.to_owned()),
        }
    }
    line
}

/// The type words a row's byline may start with (English only: in other
/// languages the word is read as an artist, and a page-linked artist
/// after it still comes first in `artists`... unless it has no page).
fn kind_word(word: &str) -> bool {
    matches!(
        word,
        "Song" | "Video" | "Episode" | "Album" | "Single" | "EP" | "Playlist" | "Artist"
    )
}

/// `m:ss` or `h:mm:ss` in seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let mut secs: i64 = 0;
    for part in parts {
        if part.is_empty()
            || part.len() > 2 && secs > 0
            || !part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        secs = secs.checked_mul(60)?.checked_add(part.parse().ok()?)?;
    }
    Some(secs)
}

/// The largest square cover among `thumbnails`, asked at [`COVER_SIZE`]
/// when it is one of Google's resizable images; else the largest there is.
pub fn cover(thumbnails: &[Value]) -> Option<String> {
    fn sized(t: &Value) -> (u64, u64, Option<&str>) {
        let w = t.get("width").and_then(Value::as_u64).unwrap_or(0);
        let h = t.get("height").and_then(Value::as_u64).unwrap_or(0);
        (w, h, text(t, "url"))
    }
    let https = |url: &str| url.starts_with("https://");
    let square = thumbnails
        .iter()
        .map(sized)
        .filter(|(w, h, url)| w == h && url.is_some_and(|u| https(u) && resizable(u)))
        .max_by_key(|(w, _, _)| *w)
        .and_then(|(_, _, url)| url);
    if let Some(url) = square {
        let base = url.split_once('=').map_or(url, |(base, _)| base);
        return Some(format!("{base}{COVER_SIZE}"));
    }
    thumbnails
        .iter()
        .map(sized)
        .filter(|(_, _, url)| url.is_some_and(https))
        .max_by_key(|(w, h, _)| w * h)
        .and_then(|(_, _, url)| url.map(str::to_owned))
}

/// Google's image hosts take a size after `=`.
fn resizable(url: &str) -> bool {
    [
        "https://lh3.googleusercontent.com/",
        "https://yt3.googleusercontent.com/",
        "https://yt3.ggpht.com/",
    ]
    .iter()
    .any(|host| url.starts_with(host))
}

/// The text of flex column `n` of a list row.
fn column(row: &Value, n: usize) -> &[Value] {
    json::runs(
        row,
        &format!("flexColumns.{n}.musicResponsiveListItemFlexColumnRenderer.text"),
    )
}

/// The video a list row plays.
fn row_video_id(row: &Value) -> Option<VideoId> {
    const PLACES: [&str; 3] = [
        "playlistItemData.videoId",
        "overlay.musicItemThumbnailOverlayRenderer.content.musicPlayButtonRenderer.playNavigationEndpoint.watchEndpoint.videoId",
        "flexColumns.0.musicResponsiveListItemFlexColumnRenderer.text.runs.0.navigationEndpoint.watchEndpoint.videoId",
    ];
    PLACES
        .iter()
        .find_map(|p| text(row, p))
        .and_then(VideoId::parse)
}

/// A song of a list row (`musicResponsiveListItemRenderer`'s inside).
/// What the row does not say comes from `page` (an album's track list
/// names neither the album nor, mostly, the artist). `None`: not a
/// playable song.
pub fn list_song(row: &Value, page: &Tags) -> Option<ListedTrack> {
    let video_id = row_video_id(row)?;
    let title = column(row, 0)
        .iter()
        .filter_map(|r| text(r, "text"))
        .collect::<String>();
    if title.trim().is_empty() {
        return None;
    }
    // ytmusicapi reads the columns after the title (artists, plays, the
    // album, by list) as one byline, an empty run between columns.
    let mut runs: Vec<Value> = Vec::new();
    for n in 1..6 {
        let more = column(row, n);
        if more.is_empty() {
            continue;
        }
        if !runs.is_empty() {
            runs.push(serde_json::json!({"text": ""}));
        }
        runs.extend(more.iter().cloned());
    }
    let line = byline(&runs);
    let fixed = json::joined(
        row,
        "fixedColumns.0.musicResponsiveListItemFixedColumnRenderer.text",
    );
    let duration_secs = line
        .duration_secs
        .or_else(|| fixed.as_deref().and_then(parse_duration));
    let artist = line.artists.into_iter().next();
    let thumbnail = cover(json::items(
        row,
        "thumbnail.musicThumbnailRenderer.thumbnail.thumbnails",
    ));
    Some(ListedTrack {
        video_id,
        tags: Tags {
            artist: artist.unwrap_or_else(|| page.artist.clone()),
            title: title.trim().to_owned(),
            album: line.album.or_else(|| page.album.clone()),
            duration_secs,
            thumbnail_url: thumbnail.or_else(|| page.thumbnail_url.clone()),
        },
    })
}

/// A song of a queue (`playlistPanelVideoRenderer`, or the primary one of
/// a `playlistPanelVideoWrapperRenderer`). `None`: not playable.
pub fn queue_song(item: &Value) -> Option<ListedTrack> {
    let video = get(item, "playlistPanelVideoRenderer").or_else(|| {
        get(
            item,
            "playlistPanelVideoWrapperRenderer.primaryRenderer.playlistPanelVideoRenderer",
        )
    })?;
    if video.get("unplayableText").is_some() {
        return None;
    }
    let video_id = text(video, "videoId")
        .or_else(|| text(video, "navigationEndpoint.watchEndpoint.videoId"))
        .and_then(VideoId::parse)?;
    let title = json::joined(video, "title")?.trim().to_owned();
    if title.is_empty() {
        return None;
    }
    let line = byline(json::runs(video, "longBylineText"));
    let artist = line
        .artists
        .into_iter()
        .next()
        .or_else(|| text(video, "shortBylineText.runs.0.text").map(str::to_owned))
        .unwrap_or_default();
    let duration_secs = json::joined(video, "lengthText")
        .as_deref()
        .and_then(parse_duration)
        .or(line.duration_secs);
    Some(ListedTrack {
        video_id,
        tags: Tags {
            artist,
            title,
            album: line.album,
            duration_secs,
            thumbnail_url: cover(json::items(video, "thumbnail.thumbnails")),
        },
    })
}

/// What a row or tile that is not a song leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    /// `MPREb…` (album), `UC…` (artist), `VL…` (playlist), …
    pub browse_id: String,
    pub title: String,
    /// The rest of its byline ("Album • Daft Punk • 2001"), as shown.
    pub subtitle: String,
    /// A playlist or mix played without a page (`RDTMAK…`), or an
    /// album's own playlist (`OLAK5uy…`).
    pub playlist_id: Option<String>,
}

/// A list row that leads to a page (an album, artist or playlist).
pub fn list_lead(row: &Value) -> Option<Lead> {
    let browse_id = text(row, "navigationEndpoint.browseEndpoint.browseId")?.to_owned();
    let title = column(row, 0)
        .iter()
        .filter_map(|r| text(r, "text"))
        .collect::<String>();
    let subtitle = column(row, 1)
        .iter()
        .filter_map(|r| text(r, "text"))
        .collect::<String>();
    let play = "overlay.musicItemThumbnailOverlayRenderer.content.musicPlayButtonRenderer.playNavigationEndpoint";
    let playlist_id = text(row, &format!("{play}.watchPlaylistEndpoint.playlistId"))
        .or_else(|| text(row, &format!("{play}.watchEndpoint.playlistId")))
        .map(str::to_owned);
    Some(Lead {
        browse_id,
        title: title.trim().to_owned(),
        subtitle: subtitle.trim().to_owned(),
        playlist_id,
    })
}

/// A tile (`musicTwoRowItemRenderer`'s inside) that leads to a page or
/// plays a playlist (a mix).
pub fn tile_lead(tile: &Value) -> Option<Lead> {
    let title = json::joined(tile, "title")?.trim().to_owned();
    let subtitle = json::joined(tile, "subtitle").unwrap_or_default();
    let browse_id = text(tile, "navigationEndpoint.browseEndpoint.browseId");
    let watched = text(tile, "navigationEndpoint.watchPlaylistEndpoint.playlistId")
        .or_else(|| text(tile, "navigationEndpoint.watchEndpoint.playlistId"));
    let play = "thumbnailOverlay.musicItemThumbnailOverlayRenderer.content.musicPlayButtonRenderer.playNavigationEndpoint";
    let played = text(tile, &format!("{play}.watchPlaylistEndpoint.playlistId"))
        .or_else(|| text(tile, &format!("{play}.watchEndpoint.playlistId")));
    let playlist_id = watched.or(played).map(str::to_owned);
    let browse_id = match (browse_id, &playlist_id) {
        (Some(id), _) => id.to_owned(),
        (None, Some(list)) => format!("VL{list}"),
        (None, None) => return None,
    };
    Some(Lead {
        browse_id,
        title,
        subtitle: subtitle.trim().to_owned(),
        playlist_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn artist(name: &str) -> Value {
        json!({"text": name, "navigationEndpoint": {"browseEndpoint": {"browseId": "UCx"}}})
    }

    #[test]
    fn a_byline_splits_into_artist_album_and_duration() {
        let runs = [
            artist("Filter"),
            json!({"text": " • "}),
            json!({"text": "For the Beaten", "navigationEndpoint": {"browseEndpoint": {"browseId": "MPREb_1"}}}),
            json!({"text": " • "}),
            json!({"text": "3:32"}),
        ];
        let line = byline(&runs);
        assert_eq!(line.artists, ["Filter"]);
        assert_eq!(line.album.as_deref(), Some("For the Beaten"));
        assert_eq!(line.album_id.as_deref(), Some("MPREb_1"));
        assert_eq!(line.duration_secs, Some(212));
    }

    #[test]
    fn a_type_word_counts_and_years_are_not_artists() {
        let runs = [
            json!({"text": "Song"}),
            json!({"text": " • "}),
            artist("A"),
            json!({"text": " & "}),
            artist("B"),
            json!({"text": " • "}),
            json!({"text": "1.2M views"}),
            json!({"text": " • "}),
            json!({"text": "1987"}),
        ];
        let line = byline(&runs);
        assert_eq!(line.artists, ["A", "B"]);
        assert_eq!(line.year.as_deref(), Some("1987"));
        assert_eq!(line.duration_secs, None);
        let plain = byline(&[json!({"text": "Some Channel"})]);
        assert_eq!(plain.artists, ["Some Channel"]);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3:32"), Some(212));
        assert_eq!(parse_duration("1:02:03"), Some(3723));
        assert_eq!(parse_duration("1987"), None);
        assert_eq!(parse_duration("a:b"), None);
        assert_eq!(parse_duration(":"), None);
        assert_eq!(parse_duration("99999999999999999999:00"), None);
    }

    #[test]
    fn covers_are_the_largest_square_asked_big() {
        let thumbs = [
            json!({"url": "https://lh3.googleusercontent.com/abc=w60-h60-l90-rj", "width": 60, "height": 60}),
            json!({"url": "https://lh3.googleusercontent.com/abc=w120-h120-l90-rj", "width": 120, "height": 120}),
            json!({"url": "https://i.ytimg.com/vi/x/hq.jpg", "width": 480, "height": 360}),
        ];
        assert_eq!(
            cover(&thumbs).as_deref(),
            Some("https://lh3.googleusercontent.com/abc=w544-h544")
        );
        let video =
            [json!({"url": "https://i.ytimg.com/vi/x/hq.jpg", "width": 480, "height": 360})];
        assert_eq!(
            cover(&video).as_deref(),
            Some("https://i.ytimg.com/vi/x/hq.jpg")
        );
        assert_eq!(
            cover(&[json!({"url": "http://x/y", "width": 1, "height": 1})]),
            None
        );
        assert_eq!(cover(&[]), None);
    }
}
