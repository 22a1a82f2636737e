//! Turning a video id into a fresh stream URL by running the resolver
//! command (yt-dlp by default) as a subprocess: argv only, never a shell,
//! killed at its time limit.

use std::collections::HashMap;
use std::time::Duration;

use log::{debug, warn};

use crate::catalog::cookies::Cookies;
use crate::catalog::stream_url::{self, FetchTerms};
use crate::catalog::tags::Tags;
use crate::catalog::{ytdlp, ytdlp_error};
use crate::error::{Error, Result};
use crate::subprocess::{self, Finished, Helper, How};
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

/// The configured resolver command.
#[derive(Debug, Clone)]
pub struct Resolver {
    argv: Vec<String>,
    timeout: Duration,
    /// Given to every run (`--cookies`, a copy of its own).
    cookies: Option<Cookies>,
}

impl Resolver {
    /// `None` when `argv` is empty (resolving disabled).
    pub fn new(argv: &[String], timeout: Duration) -> Option<Resolver> {
        (!argv.is_empty()).then(|| Resolver {
            argv: argv.to_vec(),
            timeout,
            cookies: None,
        })
    }

    /// Every run gets `--cookies` with a copy of `cookies` of its own,
    /// just before the `{video_id}` argument.
    pub fn with_cookies(mut self, cookies: Option<Cookies>) -> Resolver {
        self.cookies = cookies;
        self
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
            let how = How::Unusable {
                why,
                stderr_tail: None,
            };
            let failure = finished.failure(for_id(id), how);
            warn!("{failure}");
            Error::Resolver(failure)
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
                    let said = ytdlp_error::lines_for(&finished.stderr, id.as_str());
                    let how = How::Missing {
                        status: finished.status,
                        stderr_tail: finished.stderr_tail(),
                    };
                    let failure = finished.failure(for_id(id), how);
                    Error::Resolver(Cookies::explain(
                        self.cookies.as_ref(),
                        ytdlp_error::diagnose(failure, &said),
                    ))
                });
                (id.clone(), result)
            })
            .collect()
    }

    /// Runs the command for `ids` (the `{video_id}` element repeated per
    /// id); an error when it cannot run, is killed (a
    /// [`Error::ResolverTimeout`]), or fails without output.
    fn run(&self, ids: &[VideoId]) -> Result<Finished> {
        let lent = self.cookies.as_ref().map(Cookies::lend).transpose()?;
        let options = lent.as_ref().map(|l| l.options()).unwrap_or_default();
        let argv = argv_for(
            &subprocess::insert_before(&self.argv, "{video_id}", &options),
            ids,
        );
        let what = match ids {
            [one] => one.to_string(),
            many => format!("{} ids", many.len()),
        };
        let helper = Helper::Resolver { what: what.clone() };
        // A batch gets its time limit per id (yt-dlp works through them one by one).
        let limit = self.timeout * u32::try_from(ids.len()).unwrap_or(u32::MAX).max(1);
        let finished =
            subprocess::run(&argv, &helper, limit, MAX_OUTPUT_BYTES).map_err(|failure| {
                warn!("{failure}");
                match failure.how {
                    How::TimedOut { .. } => Error::ResolverTimeout(failure.to_string()),
                    _ => Error::Resolver(failure),
                }
            })?;
        if !finished.stderr.trim().is_empty() {
            let program = self.program();
            debug!("{program} stderr for {what}: {}", finished.stderr.trim());
        }
        // yt-dlp exits 1 when any id of a batch failed: lines for the
        // others still count.
        if !finished.status.success() && (ids.len() == 1 || finished.stdout.is_empty()) {
            let failure = Cookies::explain(
                self.cookies.as_ref(),
                ytdlp_error::diagnose(finished.failed(helper), &finished.stderr),
            );
            warn!("{failure}");
            return Err(Error::Resolver(failure));
        }
        if let Some(lent) = lent.filter(|_| finished.status.success()) {
            lent.keep();
        }
        Ok(finished)
    }
}

/// The command line for `ids`: the element holding `{video_id}` repeated
/// once per id. An id may begin with `-` (YouTube's do): where one would
/// stand alone as an element, `--` goes first, so the program takes it as
/// an argument and not as an option (config checks that no option comes
/// after a bare `{video_id}`).
fn argv_for(template: &[String], ids: &[VideoId]) -> Vec<String> {
    let dashed = ids.iter().any(|id| id.as_str().starts_with('-'));
    let mut argv = Vec::new();
    for a in template {
        if !a.contains("{video_id}") {
            argv.push(a.clone());
            continue;
        }
        if dashed && a == "{video_id}" && argv.last().is_none_or(|l| l != "--") {
            argv.push("--".to_owned());
        }
        argv.extend(ids.iter().map(|id| a.replace("{video_id}", id.as_str())));
    }
    argv
}

/// The resolver, run for one id.
fn for_id(id: &VideoId) -> Helper {
    Helper::Resolver {
        what: id.to_string(),
    }
}

/// Parses resolver output: yt-dlp's JSON for a video with a chosen format
/// (one object a line: the first is read, by [`ytdlp::Info`]), or plain
/// text whose first non-empty line is the URL. The URL must be http(s).
pub fn parse_output(output: &str) -> std::result::Result<Resolved, String> {
    let text = output.trim();
    if text.is_empty() {
        return Err("empty output".into());
    }
    let resolved = if text.starts_with('{') {
        // One object per line; pretty-printed JSON is read whole.
        let first = text.lines().next().unwrap_or(text);
        let info = ytdlp::Info::parse(first).or_else(|_| ytdlp::Info::parse(text))?;
        Resolved {
            stream_url: info
                .url
                .as_deref()
                .ok_or("JSON has no \"url\"")?
                .trim()
                .to_owned(),
            tags: info.tags(),
            music: info.is_music(),
            id: info
                .id
                .as_deref()
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            fetch: info.fetch_terms(),
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
    fn an_id_that_looks_like_an_option_follows_a_double_dash() {
        let template: Vec<String> = ["yt-dlp", "-j", "{video_id}"].map(String::from).to_vec();
        let id = |s: &str| VideoId::parse(s).expect("id");
        assert_eq!(
            argv_for(&template, &[id("-abcdefghij")]),
            ["yt-dlp", "-j", "--", "-abcdefghij"]
        );
        assert_eq!(
            argv_for(&template, &[id("dQw4w9WgXcQ"), id("-abcdefghij")]),
            ["yt-dlp", "-j", "--", "dQw4w9WgXcQ", "-abcdefghij"]
        );
        assert_eq!(
            argv_for(&template, &[id("dQw4w9WgXcQ")]),
            ["yt-dlp", "-j", "dQw4w9WgXcQ"]
        );
        // Inside a URL an id is no option: nothing added.
        let url: Vec<String> = ["yt-dlp", "https://music.youtube.com/watch?v={video_id}"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            argv_for(&url, &[id("-abcdefghij")]),
            ["yt-dlp", "https://music.youtube.com/watch?v=-abcdefghij"]
        );
    }

    #[test]
    fn durations_are_clamped() {
        for (duration, want) in [("212.4", Some(212)), ("-5", None), ("1e300", None)] {
            let r = parse_output(&format!(
                r#"{{"title":"T","duration":{duration},"url":"http://h/a"}}"#
            ))
            .expect("valid");
            assert_eq!(r.tags.duration_secs, want, "{duration}");
        }
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
