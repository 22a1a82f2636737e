//! Parsing `icyproxy import` input, one track per line:
//!
//! - tab-separated: `video_id<TAB>stream_url<TAB>artist<TAB>title[<TAB>thumbnail]`;
//! - a JSON object with the keys `video_id`, `stream_url`, `artist`,
//!   `title`, `album`, `thumbnail`, `duration` (seconds), or yt-dlp's names
//!   for them, so `yt-dlp -j -f bestaudio URL | icyproxy import -` works.
//!
//! Every line is checked before anything is written, so a bad line costs
//! nothing but an error naming it. JSON lines are read as plain maps by
//! the yt-dlp reader ([`ytdlp::Info::read_import`]), not through a derive:
//! a misspelt key must be an error, not silently ignored; and the tags
//! follow the same rules as the resolver's and a playlist listing's.

use serde_json::{Map, Value};

use crate::catalog::model::NewTrack;
use crate::catalog::tags::Tags;
use crate::catalog::ytdlp::{self, Info};
use crate::error::{Error, Result};

/// A required field of a JSON line, as errors name it when it is missing.
struct Required {
    /// The name in an error about an icyproxy line.
    name: &'static str,
    /// The name in an error about a line of yt-dlp's output.
    ytdlp_name: &'static str,
}

const VIDEO_ID: Required = Required {
    name: "video_id",
    ytdlp_name: "id",
};
const STREAM_URL: Required = Required {
    name: "stream_url",
    ytdlp_name: "url (yt-dlp prints one only for a single format: use -f bestaudio)",
};
/// yt-dlp's `title` is the video's ("Artist - Song (Official Video)"); its
/// `track`, when there is one, is the song's, and comes first.
const TITLE: Required = Required {
    name: "title",
    ytdlp_name: "track or title",
};

/// How many unknown keys an error names.
const SHOWN_UNKNOWN: usize = 5;

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
    // yt-dlp's own output has many other keys (formats, http_headers,
    // ...), not ours to judge.
    let from_ytdlp = ytdlp::is_its_output(&map);
    let known = |key: &str| ytdlp::IMPORT_KEYS.contains(&key);
    let unknown: Vec<String> = match from_ytdlp {
        true => Vec::new(),
        false => map
            .keys()
            .filter(|k| !known(k))
            .map(|k| format!("{k:?}"))
            .collect(),
    };
    let mut problems = Vec::new();
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
    // An unknown key is named above, whatever its value: only known ones are read.
    let info = match unknown.is_empty() {
        true => Info::read_import(&map),
        false => Info::read_import(&map.into_iter().filter(|(k, _)| known(k)).collect()),
    }
    .map_err(Error::InvalidInput)?;
    let name = |field: &Required| match from_ytdlp {
        true => field.ytdlp_name,
        false => field.name,
    };
    let mut missing = Vec::new();
    if info.id.is_none() {
        missing.push(name(&VIDEO_ID));
    }
    if info.url.is_none() {
        missing.push(name(&STREAM_URL));
    }
    if info.track.is_none() && info.title.is_none() {
        missing.push(name(&TITLE));
    }
    if !missing.is_empty() {
        problems.push(format!("missing {}", missing.join(", ")));
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems.join("; ")));
    }
    let duration_secs = match info.duration {
        None => None,
        Some(secs) => Some(ytdlp::rules::duration_secs(secs).ok_or_else(|| {
            Error::InvalidInput(format!(
                "duration must be a number of seconds, 0 to {}: {secs}",
                ytdlp::rules::MAX_DURATION_SECS
            ))
        })?),
    };
    let tags = Tags {
        duration_secs,
        ..info.tags()
    };
    let id = info.id.as_deref().unwrap_or_default();
    let url = info.url.as_deref().unwrap_or_default();
    let mut track = NewTrack::tagged(id, url, tags)?;
    // A cover that is not an http(s) URL is an error here, not left out.
    if let Some(thumbnail) = info.thumbnail.as_deref() {
        track = track.with_thumbnail(thumbnail)?;
    }
    Ok(track)
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
        // `artists` is yt-dlp's list, `artist` its older join of it: the
        // list comes first, as everywhere yt-dlp's JSON is read.
        let t = one(
            "{\"id\":\"aaaaaaaaaaa\",\"url\":\"https://h/b\",\"title\":\"Only\",\
             \"artist\":\"Solo\",\"artists\":[\"X\"]}",
        )
        .expect("valid");
        assert_eq!(
            (t.tags.title.as_str(), t.tags.artist.as_str()),
            ("Only", "X")
        );
        let t = one(
            "{\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"https://h/b\",\"title\":\"Only\",\
             \"artist\":\"Solo\"}",
        )
        .expect("valid");
        assert_eq!(t.tags.artist, "Solo");
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

    #[test]
    fn ytdlp_output_without_music_tags_is_read_like_a_listing() {
        let t = one(
            "{\"extractor\":\"youtube\",\"id\":\"aaaaaaaaaaa\",\"url\":\"https://h/b\",\
             \"title\":\"V\",\"channel\":\"Band - Topic\",\"uploader\":\"Band - Topic\",\
             \"thumbnails\":[{\"url\":\"https://i/t.jpg\",\"width\":9,\"height\":9}]}",
        )
        .expect("valid");
        assert_eq!(
            (t.tags.title.as_str(), t.tags.artist.as_str()),
            ("V", "Band")
        );
        assert_eq!(t.tags.thumbnail_url.as_deref(), Some("https://i/t.jpg"));
        // In icyproxy's own lines such keys stay unknown, whatever their value.
        let e = refused(
            "{\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"http://h/b\",\"title\":\"T\",\"channel\":5}",
        );
        assert!(e.starts_with("line 1: unknown key \"channel\""), "{e}");
        let e = refused(
            "{\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"http://h/b\",\"title\":\"T\",\"duration\":90000}",
        );
        assert!(
            e.starts_with("line 1: duration must be a number of seconds, 0 to 86400: 90000"),
            "{e}"
        );
    }
}
