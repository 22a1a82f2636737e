//! The one reader of yt-dlp's JSON. icyproxy meets three shapes of it:
//!
//! - a video with a chosen format (`yt-dlp -j -f bestaudio ID`, the
//!   resolver's answer): tags, and the format's `url`, `http_headers` and
//!   `available_at` at the top level;
//! - a flat playlist (`yt-dlp --flat-playlist -J URL`): the playlist's
//!   `title` and its `entries`, each a video with `id`, `title`,
//!   `channel`/`uploader`, `duration`, `thumbnails` and no music tags
//!   ([`flat_playlist`]);
//! - import lines: yt-dlp's own `-j` lines, or icyproxy's JSON lines, whose
//!   keys are yt-dlp's where they can be (`video_id` and `stream_url` are
//!   read before yt-dlp's `id` and `url`: [`Info::read_import`]).
//!
//! Each is read into an [`Info`], and every tag has one rule, whatever the
//! shape: [`Info::artist`], [`Info::title`], [`Info::album`],
//! [`Info::duration_secs`], [`Info::thumbnail_url`]. Pure: text and JSON
//! values in, tags out.

use serde_json::{Map, Value};

use crate::catalog::model::ListedTrack;
use crate::catalog::stream_url::{self, FetchTerms};
use crate::catalog::tags::Tags;
use crate::video_id::VideoId;

/// The longest duration believed, in seconds: a day. YouTube keeps uploads
/// and live archives of at most 12 hours; a larger number is a wrong one,
/// and no length is better than a wrong one. (It also keeps
/// `duration_secs * 1000` far from overflowing.)
pub const MAX_DURATION_SECS: i64 = 24 * 60 * 60;

/// The suffix of YouTube's auto-generated artist channels ("Röyksopp -
/// Topic"): not part of the artist's name.
const TOPIC: &str = " - Topic";

/// The key that marks a JSON object as yt-dlp's own output (`-j`).
const YTDLP_MARK: &str = "extractor";

/// Every key an icyproxy import line may have: its own names, and yt-dlp's
/// where they differ (`id`, `url`, `artists`, `track`).
pub const IMPORT_KEYS: [&str; 11] = [
    "video_id",
    "id",
    "stream_url",
    "url",
    "artist",
    "artists",
    "title",
    "track",
    "album",
    "thumbnail",
    "duration",
];

/// One object of yt-dlp's JSON, as far as icyproxy reads it.
///
/// The keys that carry a tag are read strictly: a wrong type is an error
/// naming the key (an import line must say what is wrong with it). The
/// rest of yt-dlp's structure (`thumbnails`, `http_headers`,
/// `availability`, ...) is read leniently: what is malformed there is
/// left out, and costs the video nothing else. `null` counts as absent.
#[derive(Debug, Clone, Default)]
pub struct Info {
    /// The video id (or an import line's `video_id`).
    pub id: Option<String>,
    /// The chosen format's URL (or an import line's `stream_url`).
    pub url: Option<String>,
    /// The video's title ("Artist - Song (Official Video)").
    pub title: Option<String>,
    /// YouTube Music's title of the song.
    pub track: Option<String>,
    /// YouTube Music's artists; `artist` is yt-dlp's older text form of the
    /// same list.
    artists: Option<Vec<String>>,
    artist: Option<String>,
    /// The people behind a video: a song's artists again, or the channels
    /// that made a video together; `creator` is the text form.
    creators: Option<Vec<String>>,
    creator: Option<String>,
    channel: Option<String>,
    uploader: Option<String>,
    album: Option<String>,
    /// yt-dlp's choice of cover (its best by preference), unchecked.
    pub thumbnail: Option<String>,
    /// Every cover yt-dlp lists: (url, width, height).
    thumbnails: Vec<(String, u64, u64)>,
    /// Seconds, as given.
    pub duration: Option<f64>,
    available_at: Option<f64>,
    http_headers: Vec<(String, String)>,
    availability: Option<String>,
    live_status: Option<String>,
}

impl Info {
    /// Reads one JSON object.
    pub fn parse(json: &str) -> Result<Info, String> {
        match serde_json::from_str(json) {
            Ok(Value::Object(map)) => Info::read(&map),
            Ok(_) => Err("not a JSON object".into()),
            Err(e) => Err(format!("not valid JSON: {e}")),
        }
    }

    /// Reads the keys of one object of yt-dlp's output.
    pub fn read(map: &Map<String, Value>) -> Result<Info, String> {
        Info::read_with(map, &["id"], &["url"])
    }

    /// Reads an import line: icyproxy's `video_id` and `stream_url` come
    /// before yt-dlp's `id` and `url`, its other keys are yt-dlp's.
    pub fn read_import(map: &Map<String, Value>) -> Result<Info, String> {
        Info::read_with(map, &["video_id", "id"], &["stream_url", "url"])
    }

    fn read_with(map: &Map<String, Value>, id: &[&str], url: &[&str]) -> Result<Info, String> {
        Ok(Info {
            id: text(map, id)?,
            url: text(map, url)?,
            title: text(map, &["title"])?,
            track: text(map, &["track"])?,
            artists: names(map, "artists")?,
            artist: text(map, &["artist"])?,
            creators: names(map, "creators")?,
            creator: text(map, &["creator"])?,
            channel: text(map, &["channel"])?,
            uploader: text(map, &["uploader"])?,
            album: text(map, &["album"])?,
            thumbnail: text(map, &["thumbnail"])?,
            thumbnails: thumbnails(map.get("thumbnails")),
            duration: seconds(map)?,
            available_at: map.get("available_at").and_then(Value::as_f64),
            http_headers: headers(map.get("http_headers")),
            availability: lenient_text(map.get("availability")),
            live_status: lenient_text(map.get("live_status")),
        })
    }

    /// The artist, by one rule for every shape: the first of
    ///
    /// 1. YouTube Music's artists: `artists` joined with ", ", else
    ///    `artist` (yt-dlp's own join of the same list, which writes a comma
    ///    inside a name as a full-width "，": the list keeps
    ///    "Tyler, The Creator" whole);
    /// 2. the video's creators: `creators` joined, else `creator` (a song's
    ///    artists again, or the channels that made a video together);
    /// 3. the channel (`channel`, else `uploader`), without the " - Topic"
    ///    of YouTube's auto-generated artist channels.
    ///
    /// The channel comes last, and is used whenever nothing else names
    /// someone, Topic channel or not. Flat playlist entries carry nothing
    /// else: their artist is always the channel, and for YouTube Music's
    /// songs that is the "Artist - Topic" channel. For other uploads the
    /// channel is who published the video (for music usually the artist's
    /// own channel), which beats showing a title with no name at all.
    pub fn artist(&self) -> String {
        self.music_artist()
            .or_else(|| joined(&self.creators).or_else(|| nonempty(&self.creator)))
            .or_else(|| {
                let channel = nonempty(&self.channel).or_else(|| nonempty(&self.uploader))?;
                let name = channel.strip_suffix(TOPIC).unwrap_or(&channel).trim();
                (!name.is_empty()).then(|| name.to_owned())
            })
            .unwrap_or_default()
    }

    /// YouTube Music's own artist (step 1 of [`Info::artist`]), when given.
    fn music_artist(&self) -> Option<String> {
        joined(&self.artists).or_else(|| nonempty(&self.artist))
    }

    /// The title: YouTube Music's `track` (the song's), else `title` (the
    /// video's, "Artist - Song (Official Video)" on YouTube); empty when
    /// neither is given.
    pub fn title(&self) -> String {
        nonempty(&self.track)
            .or_else(|| nonempty(&self.title))
            .unwrap_or_default()
    }

    /// Whether the tags are YouTube Music's own (a `track`, or artists),
    /// not only a video's title and channel.
    pub fn is_music(&self) -> bool {
        nonempty(&self.track).is_some() || self.music_artist().is_some()
    }

    /// `album`, when it says something.
    pub fn album(&self) -> Option<String> {
        nonempty(&self.album)
    }

    /// `duration` in whole seconds: see [`duration_secs`].
    pub fn duration_secs(&self) -> Option<i64> {
        self.duration.and_then(duration_secs)
    }

    /// The cover: yt-dlp's own choice (`thumbnail`) when it is an http(s)
    /// URL, else the largest of `thumbnails` (by area; the last of equals,
    /// as yt-dlp lists them worst first). Flat entries have only the list.
    pub fn thumbnail_url(&self) -> Option<String> {
        let usable = |url: &str| stream_url::check(url).is_ok();
        self.thumbnail
            .clone()
            .filter(|url| usable(url))
            .or_else(|| {
                self.thumbnails
                    .iter()
                    .enumerate()
                    .filter(|(_, (url, _, _))| usable(url))
                    .max_by_key(|(i, (_, width, height))| (width.saturating_mul(*height), *i))
                    .map(|(_, (url, _, _))| url.clone())
            })
    }

    /// All the tags, each by its rule.
    pub fn tags(&self) -> Tags {
        Tags {
            artist: self.artist(),
            title: self.title(),
            album: self.album(),
            duration_secs: self.duration_secs(),
            thumbnail_url: self.thumbnail_url(),
        }
    }

    /// What fetching the chosen format's URL takes: `available_at` (a
    /// plausible Unix time, rounded up), and the `http_headers` that may
    /// be sent on.
    pub fn fetch_terms(&self) -> FetchTerms {
        FetchTerms {
            available_at: self
                .available_at
                .filter(|t| t.is_finite() && *t > 0.0 && *t < 1e12)
                .map(|t| t.ceil() as i64),
            http_headers: sendable_headers(&self.http_headers),
        }
    }

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

/// Whether an object is yt-dlp's own output (`-j`): it names its
/// `extractor`.
pub fn is_its_output(map: &Map<String, Value>) -> bool {
    map.contains_key(YTDLP_MARK)
}

/// Seconds as icyproxy keeps them: rounded to whole seconds, and only
/// when finite and from 0 to [`MAX_DURATION_SECS`].
pub fn duration_secs(secs: f64) -> Option<i64> {
    (secs.is_finite() && (0.0..=MAX_DURATION_SECS as f64).contains(&secs))
        .then(|| secs.round() as i64)
}

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

/// The first of `keys` that is present and not `null`, which must be text.
fn text(map: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, String> {
    for key in keys {
        match map.get(*key) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => return Ok(Some(s.clone())),
            Some(_) => return Err(format!("{key} must be text")),
        }
    }
    Ok(None)
}

/// A list of names (`artists`, `creators`), which must be text.
fn names(map: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, String> {
    let bad = || format!("{key} must be a list of text");
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(bad()),
    }
}

/// `duration`, which must be a number.
fn seconds(map: &Map<String, Value>) -> Result<Option<f64>, String> {
    match map.get("duration") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("duration must be a number of seconds: {value}")),
    }
}

fn lenient_text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// `thumbnails`' entries with a text `url` (sizes 0 when not given).
fn thumbnails(value: Option<&Value>) -> Vec<(String, u64, u64)> {
    let list = value
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    list.iter()
        .filter_map(|t| {
            let size = |key| t.get(key).and_then(Value::as_u64).unwrap_or(0);
            Some((
                t.get("url")?.as_str()?.to_owned(),
                size("width"),
                size("height"),
            ))
        })
        .collect()
}

/// `http_headers`' entries whose values are text.
fn headers(value: Option<&Value>) -> Vec<(String, String)> {
    let Some(map) = value.and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
        .collect()
}

/// The text, trimmed, when it says something.
fn nonempty(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The names that say something, joined with ", "; `None` when none do.
fn joined(names: &Option<Vec<String>>) -> Option<String> {
    let names: Vec<&str> = names
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// Request headers from yt-dlp that are never sent on: those that
/// describe our own connection or body, and `Accept-Encoding` (a
/// compressed answer would reach the player compressed).
const UNSENDABLE: [&str; 9] = [
    "host",
    "range",
    "content-length",
    "connection",
    "transfer-encoding",
    "accept-encoding",
    "te",
    "upgrade",
    "icy-metadata",
];

/// The headers of yt-dlp's `http_headers` we send: well-formed names and
/// values only, none of [`UNSENDABLE`].
fn sendable_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    let token = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    headers
        .iter()
        .map(|(name, value)| (name.clone(), value.trim().to_owned()))
        .filter(|(name, value)| {
            token(name)
                && !UNSENDABLE.contains(&name.to_ascii_lowercase().as_str())
                && value.len() <= 1024
                && value
                    .chars()
                    .all(|c| c == '\t' || (c >= ' ' && c != '\u{7f}'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tags expected of one shape: artist, title, album, duration,
    /// thumbnail, and whether they are YouTube Music's.
    struct Want {
        artist: &'static str,
        title: &'static str,
        album: Option<&'static str>,
        duration_secs: Option<i64>,
        thumbnail: Option<&'static str>,
        music: bool,
    }

    fn check(name: &str, info: &Info, want: &Want) {
        let tags = info.tags();
        assert_eq!(tags.artist, want.artist, "{name}: artist");
        assert_eq!(tags.title, want.title, "{name}: title");
        assert_eq!(tags.album.as_deref(), want.album, "{name}: album");
        assert_eq!(tags.duration_secs, want.duration_secs, "{name}: duration");
        assert_eq!(
            tags.thumbnail_url.as_deref(),
            want.thumbnail,
            "{name}: thumbnail"
        );
        assert_eq!(info.is_music(), want.music, "{name}: music");
    }

    /// `-j` output as yt-dlp prints it (keys trimmed to those read,
    /// values as yt-dlp gives them), each read by the one set of rules.
    #[test]
    fn full_shapes_by_the_same_rules() {
        let cases: [(&str, &str, Want); 3] = [
            (
                // `-j -f bestaudio` of a YouTube Music song: `artists` a
                // list, `artist`/`creator` yt-dlp's joins of it (a comma in
                // a name made full-width), a Topic channel.
                "music track",
                r#"{"id":"aaaaaaaaaa1","title":"Yonkers","track":"Yonkers",
                    "artists":["Tyler, The Creator","Frank Ocean"],
                    "artist":"Tyler， The Creator, Frank Ocean",
                    "creators":["Tyler, The Creator","Frank Ocean"],
                    "creator":"Tyler， The Creator, Frank Ocean",
                    "album":"Goblin","channel":"Tyler, The Creator - Topic",
                    "uploader":"Tyler, The Creator - Topic","duration":249.0,
                    "thumbnail":"https://i.ytimg.com/vi/aaaaaaaaaa1/maxresdefault.jpg",
                    "url":"https://rr1---sn-x.googlevideo.com/videoplayback?expire=1","extractor":"youtube"}"#,
                Want {
                    artist: "Tyler, The Creator, Frank Ocean",
                    title: "Yonkers",
                    album: Some("Goblin"),
                    duration_secs: Some(249),
                    thumbnail: Some("https://i.ytimg.com/vi/aaaaaaaaaa1/maxresdefault.jpg"),
                    music: true,
                },
            ),
            (
                // An official music video on the artist's channel: the
                // video's title carries the artist, `track` does not.
                "music video",
                r#"{"id":"dQw4w9WgXcQ",
                    "title":"Rick Astley - Never Gonna Give You Up (Official Music Video)",
                    "track":"Never Gonna Give You Up","artists":["Rick Astley"],
                    "artist":"Rick Astley","album":"Whenever You Need Somebody",
                    "creators":null,"channel":"Rick Astley","uploader":"Rick Astley",
                    "duration":212.061,"thumbnails":[{"url":"https://i.ytimg.com/a.jpg"}],
                    "thumbnail":"https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp"}"#,
                Want {
                    artist: "Rick Astley",
                    title: "Never Gonna Give You Up",
                    album: Some("Whenever You Need Somebody"),
                    duration_secs: Some(212),
                    thumbnail: Some("https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp"),
                    music: true,
                },
            ),
            (
                // A plain upload: a title and a channel, nothing more; a
                // collaboration names both channels as `creators`.
                "plain upload",
                r#"{"id":"brhfDfLdDZ8","title":"Scientists React to Movie Science",
                    "channel":"Sauce +","uploader":"Sauce +",
                    "creators":["Sauce +","William Osman 2"],"creator":"Sauce +, William Osman 2",
                    "duration":1664,"album":"  ","thumbnail":"file:///etc/passwd",
                    "thumbnails":[{"url":"https://i/small.jpg","width":168,"height":94},
                                  {"url":"https://i/big.jpg","width":1280,"height":720},
                                  {"url":"https://i/mid.jpg","width":320,"height":180}]}"#,
                Want {
                    artist: "Sauce +, William Osman 2",
                    title: "Scientists React to Movie Science",
                    album: None,
                    duration_secs: Some(1664),
                    thumbnail: Some("https://i/big.jpg"),
                    music: false,
                },
            ),
        ];
        check_all(&cases);
    }

    /// Flat playlist entries and import lines, by the same rules as `-j`.
    #[test]
    fn flat_and_import_shapes_by_the_same_rules() {
        let cases: [(&str, &str, Want); 3] = [
            (
                // A flat playlist entry: no music tags, the artist is the
                // Topic channel's name.
                "flat entry",
                r#"{"_type":"url","ie_key":"Youtube","id":"bbbbbbbbbb2",
                    "url":"https://www.youtube.com/watch?v=bbbbbbbbbb2",
                    "title":"戦場のメリークリスマス","duration":null,
                    "channel":"坂本龍一 - Topic","uploader":"坂本龍一 - Topic",
                    "thumbnails":[{"url":"https://i.ytimg.com/vi/bbbbbbbbbb2/hqdefault.jpg","width":168,"height":94}],
                    "availability":null,"live_status":null,"__x_forwarded_for_ip":null}"#,
                Want {
                    artist: "坂本龍一",
                    title: "戦場のメリークリスマス",
                    album: None,
                    duration_secs: None,
                    thumbnail: Some("https://i.ytimg.com/vi/bbbbbbbbbb2/hqdefault.jpg"),
                    music: false,
                },
            ),
            (
                // A flat entry of a private video: a placeholder title,
                // nothing else.
                "private entry",
                r#"{"_type":"url","ie_key":"Youtube","id":"eeeeeeeeee5",
                    "url":"https://www.youtube.com/watch?v=eeeeeeeeee5","title":"[Private video]",
                    "duration":null,"channel":null,"uploader":null,"thumbnails":[]}"#,
                Want {
                    artist: "",
                    title: "[Private video]",
                    album: None,
                    duration_secs: None,
                    thumbnail: None,
                    music: false,
                },
            ),
            (
                // An import line in icyproxy's names with yt-dlp's as
                // aliases (read by `Info::read_import` below too).
                "import line",
                r#"{"id":"ccccccccccc","url":"https://h/b","title":"Video title",
                    "track":"Song","artists":["A","B"],"artist":"Solo","duration":200.4}"#,
                Want {
                    artist: "A, B",
                    title: "Song",
                    album: None,
                    duration_secs: Some(200),
                    thumbnail: None,
                    music: true,
                },
            ),
        ];
        check_all(&cases);
    }

    fn check_all(cases: &[(&str, &str, Want)]) {
        for (name, json, want) in cases {
            let info = Info::parse(&json.replace('\n', " ")).expect(name);
            check(name, &info, want);
        }
    }

    #[test]
    fn import_lines_read_icyproxy_names_first() {
        let read = |json: &str| {
            let map: Map<String, Value> = serde_json::from_str(json).expect("object");
            Info::read_import(&map)
        };
        let info = read(
            r#"{"video_id":"aaaaaaaaaaa","id":"bbbbbbbbbbb","stream_url":"https://h/a",
               "url":"https://h/b","artist":"Solo","title":"T"}"#,
        )
        .expect("valid");
        assert_eq!(info.id.as_deref(), Some("aaaaaaaaaaa"));
        assert_eq!(info.url.as_deref(), Some("https://h/a"));
        assert_eq!((info.artist(), info.title()), ("Solo".into(), "T".into()));
        let info = read(r#"{"id":"bbbbbbbbbbb","url":"https://h/b"}"#).expect("valid");
        assert_eq!(info.id.as_deref(), Some("bbbbbbbbbbb"));
        for (json, want) in [
            (r#"{"title":5}"#, "title must be text"),
            (r#"{"video_id":null,"id":[]}"#, "id must be text"),
            (r#"{"artists":"A"}"#, "artists must be a list of text"),
            (r#"{"creators":[1]}"#, "creators must be a list of text"),
            (
                r#"{"duration":"61"}"#,
                "duration must be a number of seconds",
            ),
        ] {
            let e = read(json).expect_err(json);
            assert!(e.starts_with(want), "{json}: {e}");
        }
    }

    #[test]
    fn youtube_music_tags_are_told_apart_from_channel_names() {
        let info = Info::parse(
            r#"{"title":"Song (Official Video)","track":"Song","artists":["A","B"],"uploader":"A - Topic"}"#,
        )
        .expect("valid");
        assert!(info.is_music());
        assert_eq!(
            (info.title(), info.artist()),
            ("Song".into(), "A, B".into())
        );
        let info = Info::parse(r#"{"title":"Vlog","uploader":"Someone"}"#).expect("valid");
        assert!(!info.is_music());
        assert_eq!(info.artist(), "Someone");
    }

    #[test]
    fn the_artist_falls_back_in_order() {
        let artist = |json: &str| Info::parse(json).expect(json).artist();
        assert_eq!(artist(r#"{"artists":[" ",""],"artist":"A"}"#), "A");
        assert_eq!(
            artist(r#"{"artist":" ","creator":"C","channel":"Ch"}"#),
            "C"
        );
        assert_eq!(
            artist(r#"{"creators":["C1","C2"],"creator":"x"}"#),
            "C1, C2"
        );
        assert_eq!(artist(r#"{"channel":" ","uploader":"U - Topic"}"#), "U");
        assert_eq!(artist(r#"{"channel":"Ch - Topic ","uploader":"U"}"#), "Ch");
        assert_eq!(artist(r#"{"channel":"Topic Records"}"#), "Topic Records");
        assert_eq!(artist(r#"{"title":"T"}"#), "");
    }

    #[test]
    fn durations_are_clamped_to_what_can_be_true() {
        assert_eq!(duration_secs(212.4), Some(212));
        assert_eq!(duration_secs(0.0), Some(0));
        assert_eq!(duration_secs(86_400.0), Some(86_400));
        for bad in [-1.0, 86_400.6, 1e300, f64::NAN, f64::INFINITY] {
            assert_eq!(duration_secs(bad), None, "{bad}");
        }
        let info = Info::parse(r#"{"duration":1e19}"#).expect("valid");
        assert_eq!(info.duration_secs(), None);
    }

    #[test]
    fn available_at_and_sendable_headers_are_kept() {
        let info = Info::parse(
            &r#"{"id":"dQw4w9WgXcQ","url":"https://r.example/v","available_at":1795000000.2,
               "http_headers":{"User-Agent":"Mozilla/5.0 (X11)","Accept":"*/*",
               "Accept-Encoding":"gzip","Host":"evil","Bad Name":"x","X-Split":"a\r\nb",
               "Sec-Fetch-Mode":"navigate","X-Number":5}}"#
                .replace('\n', " "),
        )
        .expect("valid");
        let fetch = info.fetch_terms();
        assert_eq!(fetch.available_at, Some(1_795_000_001));
        let mut names: Vec<&str> = fetch.http_headers.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["Accept", "Sec-Fetch-Mode", "User-Agent"]);
        for odd in [
            r#"{"available_at":-5}"#,
            r#"{"available_at":1e13}"#,
            r#"{"http_headers":"x"}"#,
        ] {
            assert_eq!(
                Info::parse(odd).expect(odd).fetch_terms(),
                FetchTerms::default()
            );
        }
    }

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
