//! Parsing `icyproxy import` input: tab-separated lines
//! `video_id<TAB>stream_url<TAB>artist<TAB>title`, or JSON lines with those
//! keys. Every line is checked before anything is written, so a bad line
//! costs nothing but an error naming it.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::NewTrack;

#[derive(Deserialize)]
struct JsonLine {
    video_id: String,
    stream_url: String,
    #[serde(default)]
    artist: String,
    title: String,
    album: Option<String>,
    thumbnail: Option<String>,
    duration: Option<f64>,
}

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
            let json: JsonLine = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            NewTrack::new(&json.video_id, &json.stream_url, &json.artist, &json.title).and_then(
                |mut t| {
                    if let Some(album) = &json.album {
                        t = t.with_album(album);
                    }
                    t.duration_secs = json
                        .duration
                        .filter(|d| d.is_finite() && *d >= 0.0)
                        .map(|d| d.round() as i64);
                    match &json.thumbnail {
                        Some(url) => t.with_thumbnail(url),
                        None => Ok(t),
                    }
                },
            )
        } else {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [id, url, artist, title] => NewTrack::new(id.trim(), url.trim(), artist, title),
                [id, url, artist, title, thumb] => {
                    NewTrack::new(id.trim(), url.trim(), artist, title)
                        .and_then(|t| t.with_thumbnail(thumb.trim()))
                }
                _ => Err(Error::InvalidInput(format!(
                    "expected 4 or 5 tab-separated fields (video_id, stream_url, artist, title[, thumbnail]), found {}",
                    fields.len()
                ))),
            }
        };
        tracks.push(track.map_err(|e| at(e.to_string()))?);
    }
    Ok(tracks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_and_json_lines_mix() {
        let input = b"# comment\n\
            dQw4w9WgXcQ\thttp://h/a\tRick Astley\tNever\r\n\
            \n\
            {\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"https://h/b\",\"title\":\"T\",\"album\":\"Al\",\"thumbnail\":\"https://i/t.jpg\",\"duration\":61.6}\n\
            ccccccccccc\thttp://h/c\tA\tT\thttps://i/c.jpg\n";
        let tracks = parse(input).expect("valid");
        assert_eq!(tracks.len(), 3);
        assert_eq!(tracks[0].artist, "Rick Astley");
        assert_eq!(tracks[1].artist, "");
        assert_eq!(tracks[1].album.as_deref(), Some("Al"));
        assert_eq!(tracks[1].duration_secs, Some(62));
        assert_eq!(tracks[1].thumbnail_url.as_deref(), Some("https://i/t.jpg"));
        assert_eq!(tracks[2].thumbnail_url.as_deref(), Some("https://i/c.jpg"));
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
            (b"{\"video_id\":\"dQw4w9WgXcQ\"}\n", "line 1: missing field"),
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
}
