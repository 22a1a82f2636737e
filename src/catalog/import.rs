//! Parsing `icyproxy import` input, one track per line:
//!
//! - tab-separated: `video_id<TAB>stream_url<TAB>artist<TAB>title[<TAB>thumbnail]`;
//! - a JSON object with the keys `video_id`, `stream_url`, `artist`,
//!   `title`, `album`, `thumbnail`, `duration` (seconds), or yt-dlp's names
//!   for them, so `yt-dlp -j -f bestaudio URL | icyproxy import -` works.
//!
//! Every line is checked before anything is written, so a bad line costs
//! nothing but an error naming it. JSON lines are read as plain maps, not
//! through a derive: a misspelt key must be an error, not silently ignored.

use serde_json::{Map, Value};

use crate::catalog::store::NewTrack;
use crate::error::{Error, Result};

/// One field of a JSON line: the keys that may carry it, the first present
/// (and not `null`) wins, and what to call it when it is missing.
struct Field {
    keys: &'static [&'static str],
    /// The name in an error about an icyproxy line.
    name: &'static str,
    /// The name in an error about a line of yt-dlp's output.
    ytdlp_name: &'static str,
}

const VIDEO_ID: Field = Field {
    keys: &["video_id", "id"],
    name: "video_id",
    ytdlp_name: "id",
};
const STREAM_URL: Field = Field {
    keys: &["stream_url", "url"],
    name: "stream_url",
    ytdlp_name: "url (yt-dlp prints one only for a single format: use -f bestaudio)",
};
/// yt-dlp's `title` is the video's ("Artist - Song (Official Video)"); its
/// `track`, when there is one, is the song's, so it comes first.
const TITLE: Field = Field {
    keys: &["track", "title"],
    name: "title",
    ytdlp_name: "track or title",
};
const ALBUM: &[&str] = &["album"];
const THUMBNAIL: &[&str] = &["thumbnail"];
const DURATION: &str = "duration";
/// `artist` is text; yt-dlp's `artists` is a list, joined with ", " (which
/// is how yt-dlp itself makes its `artist` from it).
const ARTIST: &str = "artist";
const ARTISTS: &str = "artists";

/// Every key an icyproxy JSON line may have.
const KNOWN: [&str; 11] = [
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

/// How many unknown keys an error names.
const SHOWN_UNKNOWN: usize = 5;

/// The key that marks a line as yt-dlp's own output (`-j`), whose many
/// other keys (formats, http_headers, ...) are not ours to judge.
const YTDLP_MARK: &str = "extractor";

/// Parses a whole import file. Blank lines and lines starting with `#` are
/// skipped. The error names the first bad line (1-based).
pub fn parse(input: &[u8]) -> Result<Vec<NewTrack>> {
    let mut tracks = Vec::new();
    for (index, raw) in input.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let at = |why: String| Error::InvalidInput(format!("line {number}: {why}"));
        let line = std::str::from_utf8(raw)
            .map_err(|_| at("not valid UTF-8".into()))?
            .trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let track = if line.trim_start().starts_with('{') {
            json_line(line)
        } else {
            tsv_line(line)
        };
        tracks.push(track.map_err(|e| at(e.to_string()))?);
    }
    Ok(tracks)
}

fn tsv_line(line: &str) -> Result<NewTrack> {
    let fields: Vec<&str> = line.split('\t').collect();
    match fields.as_slice() {
        [id, url, artist, title] => NewTrack::new(id.trim(), url.trim(), artist, title),
        [id, url, artist, title, thumb] => NewTrack::new(id.trim(), url.trim(), artist, title)
            .and_then(|t| t.with_thumbnail(thumb.trim())),
        _ => Err(Error::InvalidInput(format!(
            "expected 4 or 5 tab-separated fields (video_id, stream_url, artist, title[, thumbnail]), found {}",
            fields.len()
        ))),
    }
}

fn json_line(line: &str) -> Result<NewTrack> {
    let map: Map<String, Value> = serde_json::from_str(line)
        .map_err(|e| Error::InvalidInput(format!("not a JSON object: {e}")))?;
    let from_ytdlp = map.contains_key(YTDLP_MARK);
    let mut problems = Vec::new();
    if !from_ytdlp {
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !KNOWN.contains(&k.as_str()))
            .map(|k| format!("{k:?}"))
            .collect();
        if !unknown.is_empty() {
            let s = if unknown.len() == 1 { "" } else { "s" };
            // A line of yt-dlp output without its mark has dozens: name a few.
            let more = match unknown.len().saturating_sub(SHOWN_UNKNOWN) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            problems.push(format!(
                "unknown key{s} {}{more} (known: video_id, stream_url, artist, title, album, \
                 thumbnail, duration, and yt-dlp's id, url, artists, track)",
                unknown[..unknown.len().min(SHOWN_UNKNOWN)].join(", ")
            ));
        }
    }
    let mut missing = Vec::new();
    let mut required = |field: &Field| -> Result<String> {
        let value = text(&map, field.keys)?;
        if value.is_none() {
            missing.push(if from_ytdlp {
                field.ytdlp_name
            } else {
                field.name
            });
        }
        Ok(value.unwrap_or_default().to_owned())
    };
    let id = required(&VIDEO_ID)?;
    let url = required(&STREAM_URL)?;
    let title = required(&TITLE)?;
    if !missing.is_empty() {
        problems.push(format!("missing {}", missing.join(", ")));
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems.join("; ")));
    }
    let artist = match text(&map, &[ARTIST])? {
        Some(artist) => artist.to_owned(),
        None => artists(&map)?,
    };
    let mut track = NewTrack::new(&id, &url, &artist, &title)?;
    if let Some(album) = text(&map, ALBUM)? {
        track = track.with_album(album);
    }
    if let Some(thumb) = text(&map, THUMBNAIL)? {
        track = track.with_thumbnail(thumb)?;
    }
    track.tags.duration_secs = duration(&map)?;
    Ok(track)
}

/// The first of `keys` that is present and not `null`, which must be text.
fn text<'a>(map: &'a Map<String, Value>, keys: &[&str]) -> Result<Option<&'a str>> {
    for key in keys {
        match map.get(*key) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => return Ok(Some(s)),
            Some(_) => return Err(Error::InvalidInput(format!("{key} must be text"))),
        }
    }
    Ok(None)
}

/// yt-dlp's `artists` list joined with ", "; empty when absent.
fn artists(map: &Map<String, Value>) -> Result<String> {
    let bad = || Error::InvalidInput(format!("{ARTISTS} must be a list of text"));
    match map.get(ARTISTS) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::Array(items)) => {
            let names: Vec<&str> = items
                .iter()
                .map(|v| v.as_str().ok_or_else(bad))
                .collect::<Result<_>>()?;
            Ok(names.join(", "))
        }
        Some(_) => Err(bad()),
    }
}

/// `duration` in seconds (yt-dlp gives a float), rounded.
fn duration(map: &Map<String, Value>) -> Result<Option<i64>> {
    let value = match map.get(DURATION) {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    match value.as_f64() {
        Some(secs) if (0.0..=1e12).contains(&secs) => Ok(Some(secs.round() as i64)),
        _ => Err(Error::InvalidInput(format!(
            "duration must be a number of seconds, 0 or more: {value}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<NewTrack> {
        parse(line.as_bytes()).map(|mut t| t.remove(0))
    }

    fn refused(input: &str) -> String {
        parse(input.as_bytes()).expect_err("refused").to_string()
    }

    #[test]
    fn tsv_and_json_lines_mix() {
        let input = b"# comment\n\
            dQw4w9WgXcQ\thttp://h/a\tRick Astley\tNever\r\n\
            \n\
            {\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"https://h/b\",\"title\":\"T\",\"album\":\"Al\",\"thumbnail\":\"https://i/t.jpg\",\"duration\":61.6}\n\
            ccccccccccc\thttp://h/c\tA\tT\thttps://i/c.jpg\n";
        let tracks = parse(input).expect("valid");
        assert_eq!(tracks.len(), 3);
        assert_eq!(tracks[0].tags.artist, "Rick Astley");
        assert_eq!(tracks[1].tags.artist, "");
        assert_eq!(tracks[1].tags.album.as_deref(), Some("Al"));
        assert_eq!(tracks[1].tags.duration_secs, Some(62));
        assert_eq!(
            tracks[1].tags.thumbnail_url.as_deref(),
            Some("https://i/t.jpg")
        );
        assert_eq!(
            tracks[2].tags.thumbnail_url.as_deref(),
            Some("https://i/c.jpg")
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let cases: [(&[u8], &str); 6] = [
            (
                b"dQw4w9WgXcQ\thttp://h/a\tA\tT\tftp://x\n",
                "line 1: thumbnail",
            ),
            (b"dQw4w9WgXcQ\thttp://h/a\tA\n", "line 1: expected 4"),
            (b"\n\nshort\thttp://h/a\tA\tT\n", "line 3: invalid video id"),
            (b"dQw4w9WgXcQ\tfile:///x\tA\tT\n", "line 1: stream URL"),
            (
                b"{\"video_id\":\"dQw4w9WgXcQ\"}\n",
                "line 1: missing stream_url, title",
            ),
            (
                b"dQw4w9WgXcQ\thttp://h/a\tA\t\xff\n",
                "line 1: not valid UTF-8",
            ),
        ];
        for (input, want) in cases {
            let e = parse(input).expect_err("refused").to_string();
            assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        }
    }

    #[test]
    fn missing_keys_are_named_all_at_once() {
        let e = refused("# a\n\n{\"stream_url\":\"http://h/a\",\"artist\":\"A\"}\n");
        assert_eq!(e, "line 3: missing video_id, title");
        let e = refused("{\"video_id\":null,\"stream_url\":\"http://h/a\",\"title\":null}");
        assert_eq!(e, "line 1: missing video_id, title", "null is absent");
    }

    #[test]
    fn unknown_keys_are_errors_that_name_them() {
        let e = refused(
            "dQw4w9WgXcQ\thttp://h/a\tA\tT\n\
             {\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"http://h/b\",\"tittle\":\"T\"}\n",
        );
        assert!(
            e.starts_with("line 2: unknown key \"tittle\" (known: video_id,"),
            "{e}"
        );
        assert!(e.ends_with("; missing title"), "{e}");
        let e = refused(
            "{\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"http://h/b\",\"title\":\"T\",\"x\":1,\"formats\":[]}",
        );
        assert!(
            e.starts_with("line 1: unknown keys \"formats\", \"x\""),
            "{e}"
        );
        let many: String = (0..8).map(|i| format!(",\"k{i}\":1")).collect();
        let e = refused(&format!(
            "{{\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"http://h/b\",\"title\":\"T\"{many}}}"
        ));
        let want = "line 1: unknown keys \"k0\", \"k1\", \"k2\", \"k3\", \"k4\" and 3 more (known:";
        assert!(e.starts_with(want), "{e}");
    }

    #[test]
    fn wrong_types_are_named() {
        let base = "\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"http://h/b\"";
        for (extra, want) in [
            ("\"title\":5", "line 1: title must be text"),
            ("\"title\":\"T\",\"album\":[]", "line 1: album must be text"),
            (
                "\"title\":\"T\",\"artists\":[\"A\",1]",
                "line 1: artists must be a list of text",
            ),
            (
                "\"title\":\"T\",\"duration\":-3",
                "line 1: duration must be a number of seconds",
            ),
            (
                "\"title\":\"T\",\"duration\":\"61\"",
                "line 1: duration must be a number of seconds",
            ),
        ] {
            let e = refused(&format!("{{{base},{extra}}}"));
            assert!(e.starts_with(want), "{extra}: {e}");
        }
        assert!(refused("{\"video_id\":").starts_with("line 1: not a JSON object"));
    }

    #[test]
    fn ytdlp_names_are_aliases() {
        let t = one(
            "{\"id\":\"aaaaaaaaaaa\",\"url\":\"https://h/b\",\"title\":\"Video title\",\
             \"track\":\"Song\",\"artists\":[\"A\",\"B\"],\"duration\":200.4}",
        )
        .expect("valid");
        assert_eq!(t.video_id.as_str(), "aaaaaaaaaaa");
        assert_eq!(t.stream_url, "https://h/b");
        assert_eq!(
            (t.tags.title.as_str(), t.tags.artist.as_str()),
            ("Song", "A, B")
        );
        assert_eq!(t.tags.duration_secs, Some(200));
        let t = one(
            "{\"id\":\"aaaaaaaaaaa\",\"url\":\"https://h/b\",\"title\":\"Only\",\
             \"artist\":\"Solo\",\"artists\":[\"X\"]}",
        )
        .expect("valid");
        assert_eq!(
            (t.tags.title.as_str(), t.tags.artist.as_str()),
            ("Only", "Solo")
        );
    }

    #[test]
    fn ytdlp_output_keeps_only_what_it_needs() {
        let line = "{\"extractor\":\"youtube\",\"id\":\"aaaaaaaaaaa\",\"url\":\"https://h/b\",\
                    \"title\":\"V\",\"track\":\"S\",\"artist\":\"A, B\",\"album\":null,\
                    \"formats\":[{\"url\":\"x\"}],\"http_headers\":{\"User-Agent\":\"y\"},\
                    \"thumbnail\":\"https://i/t.jpg\",\"duration\":61,\"view_count\":5}";
        let t = one(line).expect("valid");
        assert_eq!(
            (t.tags.title.as_str(), t.tags.artist.as_str()),
            ("S", "A, B")
        );
        assert_eq!(t.tags.album, None);
        assert_eq!(t.tags.thumbnail_url.as_deref(), Some("https://i/t.jpg"));
        assert_eq!(t.tags.duration_secs, Some(61));
        // A merged video+audio format has no top-level url: say what to do.
        let e = refused("{\"extractor\":\"youtube\",\"id\":\"aaaaaaaaaaa\",\"title\":\"V\"}");
        assert!(
            e.starts_with("line 1: missing url (yt-dlp prints one only for a single format"),
            "{e}"
        );
    }
}
