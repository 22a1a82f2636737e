//! Turning a video id into a fresh stream URL by running the resolver
//! command (yt-dlp by default) as a subprocess: argv only, never a shell,
//! killed at its time limit.

use std::collections::HashMap;
use std::time::Duration;

use log::{debug, warn};
use serde::Deserialize;

use crate::catalog::stream_url::{self, FetchTerms};
use crate::catalog::tags::Tags;
use crate::error::{Error, Result};
use crate::subprocess::{self, Finished, Ran};
use crate::video_id::VideoId;

/// The resolver's output cannot be this big for a single video.
const MAX_OUTPUT_BYTES: u64 = 16 * 1024 * 1024;

/// What the resolver said about a video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub stream_url: String,
    /// Empty artist and title when the output carried none (plain text).
    pub tags: Tags,
    /// Whether `tags` are YouTube Music's own (a `track`, or an `artist`
    /// or `artists`), not only a video's title and channel.
    pub music: bool,
    /// The video id the output names (yt-dlp's `id`), for matching a
    /// batch's lines to the ids asked for.
    pub id: Option<String>,
    /// `available_at`, and the headers yt-dlp's own downloader would send
    /// (those we may send on).
    pub fetch: FetchTerms,
}

/// Request headers from the resolver that are never sent on: those that
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
fn sendable_headers(
    map: Option<serde_json::Map<String, serde_json::Value>>,
) -> Vec<(String, String)> {
    let token = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    map.unwrap_or_default()
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.as_str()?.trim().to_owned())))
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

/// The configured resolver command.
#[derive(Debug, Clone)]
pub struct Resolver {
    argv: Vec<String>,
    timeout: Duration,
}

impl Resolver {
    /// `None` when `argv` is empty (resolving disabled).
    pub fn new(argv: &[String], timeout: Duration) -> Option<Resolver> {
        (!argv.is_empty()).then(|| Resolver {
            argv: argv.to_vec(),
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The program's name, for messages.
    pub fn program(&self) -> &str {
        &self.argv[0]
    }

    /// Runs the command for `id` and parses what it prints.
    pub fn resolve(&self, id: &VideoId) -> Result<Resolved> {
        let finished = self.run(std::slice::from_ref(id))?;
        parse_output(&String::from_utf8_lossy(&finished.stdout)).map_err(|why| {
            let why = format!("resolver {} output for {id}: {why}", self.program());
            warn!("{why}");
            Error::Resolver(why)
        })
    }

    /// Resolves several ids with one run (one Python start-up of yt-dlp
    /// for many ids): the argv element holding `{video_id}` is repeated
    /// once per id, and the JSON lines printed are matched to the ids by
    /// their `id`. An id without a line has failed; the others stand. A
    /// single id, or output that is not JSON lines, is [`Self::resolve`].
    pub fn resolve_batch(&self, ids: &[VideoId]) -> Vec<(VideoId, Result<Resolved>)> {
        if ids.len() <= 1 {
            return ids
                .iter()
                .map(|id| (id.clone(), self.resolve(id)))
                .collect();
        }
        let finished = match self.run(ids) {
            Ok(finished) => finished,
            Err(e) => return ids.iter().map(|id| (id.clone(), Err(e.clone()))).collect(),
        };
        let mut found: HashMap<String, Resolved> = HashMap::new();
        for line in String::from_utf8_lossy(&finished.stdout).lines() {
            if let Ok(resolved) = parse_output(line) {
                if let Some(id) = resolved.id.clone() {
                    found.entry(id).or_insert(resolved);
                }
            }
        }
        ids.iter()
            .map(|id| {
                let result = found.remove(id.as_str()).ok_or_else(|| {
                    // yt-dlp names the id in its error line.
                    let said = finished
                        .stderr
                        .lines()
                        .rev()
                        .find(|l| l.contains(id.as_str()))
                        .map_or_else(|| finished.last_stderr_line(), |l| l.trim().to_owned());
                    Error::Resolver(format!(
                        "resolver {} gave no URL for {id} ({}): {said}",
                        self.program(),
                        finished.status
                    ))
                });
                (id.clone(), result)
            })
            .collect()
    }

    /// Runs the command for `ids` (the `{video_id}` element repeated per
    /// id); an error when it cannot run, is killed, or fails without output.
    fn run(&self, ids: &[VideoId]) -> Result<Finished> {
        let argv: Vec<String> = self
            .argv
            .iter()
            .flat_map(|a| match a.contains("{video_id}") {
                true => ids
                    .iter()
                    .map(|id| a.replace("{video_id}", id.as_str()))
                    .collect(),
                false => vec![a.clone()],
            })
            .collect();
        let program = self.program();
        let what = match ids {
            [one] => one.to_string(),
            many => format!("{} ids", many.len()),
        };
        // A batch gets its time limit per id (yt-dlp works through them one by one).
        let limit = self.timeout * u32::try_from(ids.len()).unwrap_or(u32::MAX).max(1);
        let ran = subprocess::run(&argv, limit, MAX_OUTPUT_BYTES).map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "resolver command not found: {program} (install it, or set \
                     [resolver] command = [] to turn resolving off)"
                )
            } else {
                format!("cannot run resolver {program}: {e}")
            };
            warn!("{why}");
            Error::Resolver(why)
        })?;
        let finished = match ran {
            Ran::Finished(finished) => finished,
            Ran::TimedOut => {
                let why = format!(
                    "resolver {program} killed after {}s for {what}",
                    limit.as_secs()
                );
                warn!("{why}");
                return Err(Error::ResolverTimeout(why));
            }
        };
        if !finished.stderr.trim().is_empty() {
            debug!("{program} stderr for {what}: {}", finished.stderr.trim());
        }
        // yt-dlp exits 1 when any id of a batch failed: lines for the
        // others still count.
        if !finished.status.success() && (ids.len() == 1 || finished.stdout.is_empty()) {
            let why = format!(
                "resolver {program} failed for {what} ({}): {}",
                finished.status,
                finished.last_stderr_line()
            );
            warn!("{why}");
            return Err(Error::Resolver(why));
        }
        Ok(finished)
    }
}

/// The parts of yt-dlp's `-j` JSON that we use.
#[derive(Deserialize)]
struct YtDlpJson {
    id: Option<String>,
    url: Option<String>,
    available_at: Option<f64>,
    http_headers: Option<serde_json::Map<String, serde_json::Value>>,
    title: Option<String>,
    track: Option<String>,
    artist: Option<String>,
    artists: Option<Vec<String>>,
    creator: Option<String>,
    uploader: Option<String>,
    album: Option<String>,
    thumbnail: Option<String>,
    duration: Option<f64>,
}

/// Parses resolver output: a yt-dlp-style JSON object, or plain text whose
/// first non-empty line is the URL. The URL must be http(s).
pub fn parse_output(output: &str) -> std::result::Result<Resolved, String> {
    let text = output.trim();
    if text.is_empty() {
        return Err("empty output".into());
    }
    let resolved = if text.starts_with('{') {
        // yt-dlp prints one object per line; take the first.
        let first = text.lines().next().unwrap_or(text);
        let json: YtDlpJson = serde_json::from_str(first)
            .or_else(|_| serde_json::from_str(text))
            .map_err(|e| format!("not valid JSON: {e}"))?;
        let pick = |options: [&Option<String>; 3]| {
            options
                .into_iter()
                .flatten()
                .map(|s| s.trim())
                .find(|s| !s.is_empty())
                .unwrap_or("")
                .to_owned()
        };
        let nonempty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let joined = json.artists.as_ref().map(|a| {
            a.iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        });
        let music_artist = nonempty(&json.artist).or_else(|| nonempty(&joined));
        let track = nonempty(&json.track);
        Resolved {
            stream_url: json.url.ok_or("JSON has no \"url\"")?.trim().to_owned(),
            tags: Tags {
                artist: pick([&music_artist, &json.creator, &json.uploader]),
                title: pick([&json.track, &json.title, &None]),
                album: json.album.map(|a| a.trim().to_owned()),
                duration_secs: json
                    .duration
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|d| d.round() as i64),
                thumbnail_url: json.thumbnail.filter(|t| stream_url::check(t).is_ok()),
            },
            music: track.is_some() || music_artist.is_some(),
            id: nonempty(&json.id),
            fetch: FetchTerms {
                available_at: json
                    .available_at
                    .filter(|t| t.is_finite() && *t > 0.0 && *t < 1e12)
                    .map(|t| t.ceil() as i64),
                http_headers: sendable_headers(json.http_headers),
            },
        }
    } else {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        Resolved {
            stream_url: first.to_owned(),
            tags: Tags::default(),
            music: false,
            id: None,
            fetch: FetchTerms::default(),
        }
    };
    stream_url::check(&resolved.stream_url).map_err(|e| e.to_string())?;
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yt_dlp_json_prefers_track_and_artist() {
        let r = parse_output(
            r#"{"id":"x","title":"Video Title","track":"Song","artist":"Band","uploader":"Band - Topic","duration":212.4,"url":"https://r.googlevideo.com/v?expire=9"}"#,
        )
        .expect("valid");
        assert_eq!(r.stream_url, "https://r.googlevideo.com/v?expire=9");
        assert_eq!(
            (r.tags.artist.as_str(), r.tags.title.as_str()),
            ("Band", "Song")
        );
        assert_eq!(r.tags.duration_secs, Some(212));
    }

    #[test]
    fn youtube_music_tags_are_told_apart_from_channel_names() {
        let r = parse_output(
            r#"{"title":"Song (Official Video)","track":"Song","artists":["A","B"],"uploader":"A - Topic","url":"http://h/a"}"#,
        )
        .expect("valid");
        assert!(r.music);
        assert_eq!(r.tags.title, "Song");
        assert_eq!(r.tags.artist, "A, B");
        let r = parse_output(r#"{"title":"Vlog","uploader":"Someone","url":"http://h/a"}"#)
            .expect("valid");
        assert!(!r.music);
        assert_eq!(r.tags.artist, "Someone");
    }

    #[test]
    fn available_at_and_sendable_headers_are_kept() {
        let r = parse_output(
            r#"{"id":"dQw4w9WgXcQ","url":"https://r.example/v","available_at":1795000000,
               "http_headers":{"User-Agent":"Mozilla/5.0 (X11)","Accept":"*/*",
               "Accept-Encoding":"gzip","Host":"evil","Bad Name":"x","X-Split":"a\r\nb",
               "Sec-Fetch-Mode":"navigate","X-Number":5}}"#
                .replace('\n', " ")
                .as_str(),
        )
        .expect("valid");
        assert_eq!(r.id.as_deref(), Some("dQw4w9WgXcQ"));
        assert_eq!(r.fetch.available_at, Some(1_795_000_000));
        let mut names: Vec<&str> = r
            .fetch
            .http_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort();
        assert_eq!(names, ["Accept", "Sec-Fetch-Mode", "User-Agent"]);
    }

    #[test]
    fn falls_back_to_creator_uploader_and_title() {
        let r = parse_output(r#"{"title":"T","creator":"C","uploader":"U","url":"http://h/a"}"#)
            .expect("valid");
        assert_eq!((r.tags.artist.as_str(), r.tags.title.as_str()), ("C", "T"));
        let r = parse_output(r#"{"title":"T","uploader":"U","url":"http://h/a"}"#).expect("valid");
        assert_eq!(r.tags.artist, "U");
        let r = parse_output(r#"{"title":"T","artist":"","url":"http://h/a"}"#).expect("valid");
        assert_eq!(r.tags.artist, "");
    }

    #[test]
    fn plain_text_first_line_is_the_url() {
        let r = parse_output("\n  https://h/audio?x=1  \nsecond line\n").expect("valid");
        assert_eq!(r.stream_url, "https://h/audio?x=1");
        assert!(r.tags.title.is_empty());
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "   \n",
            "not a url",
            "{not json",
            r#"{"title":"no url"}"#,
            r#"{"url":"ftp://h/x"}"#,
            "file:///etc/passwd",
        ] {
            assert!(parse_output(bad).is_err(), "{bad:?} accepted");
        }
    }
}
