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
            NewTrack::new(&json.video_id, &json.stream_url, &json.artist, &json.title)
        } else {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [id, url, artist, title] => NewTrack::new(id.trim(), url.trim(), artist, title),
                _ => Err(Error::InvalidInput(format!(
                    "expected 4 tab-separated fields (video_id, stream_url, artist, title), found {}",
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
            {\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"https://h/b\",\"title\":\"T\"}\n";
        let tracks = parse(input).expect("valid");
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[0].artist, "Rick Astley");
        assert_eq!(tracks[1].artist, "");
    }

    #[test]
    fn bad_lines_are_named() {
        let cases: [(&[u8], &str); 5] = [
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
