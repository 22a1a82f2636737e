//! The one reader of yt-dlp's JSON. icyproxy meets three shapes of it:
//!
//! - a video with a chosen format (`yt-dlp -j -f bestaudio ID`, the
//!   resolver's answer): tags, and the format's `url`, `http_headers` and
//!   `available_at` at the top level;
//! - a flat playlist (`yt-dlp --flat-playlist -J URL`): the playlist's
//!   `title` and its `entries`, each a video with `id`, `title`,
//!   `channel`/`uploader`, `duration`, `thumbnails` and no music tags
//!   ([`flat::flat_playlist`]);
//! - import lines: yt-dlp's own `-j` lines, or icyproxy's JSON lines, whose
//!   keys are yt-dlp's where they can be (`video_id` and `stream_url` are
//!   read before yt-dlp's `id` and `url`: [`Info::read_import`]).
//!
//! Each is read into an [`Info`] (here: the keys, and what fetching a URL
//! takes), and every tag has one rule, whatever the shape ([`rules`]):
//! [`Info::artist`], [`Info::title`], [`Info::album`],
//! [`Info::duration_secs`], [`Info::thumbnail_url`]. Pure: text and JSON
//! values in, tags out.

use serde_json::{Map, Value};

use crate::catalog::stream_url::FetchTerms;

pub mod flat;
pub mod rules;

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
}

impl Info {
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
}

/// Whether an object is yt-dlp's own output (`-j`): it names its
/// `extractor`.
pub fn is_its_output(map: &Map<String, Value>) -> bool {
    map.contains_key(YTDLP_MARK)
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
}
