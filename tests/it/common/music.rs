//! The yt-dlp stand-ins for YouTube Music (`tests/fixtures/fake-ytdlp-music`
//! as the playlist command, `fake-resolver` as the resolver) in a scratch
//! directory of their own, and what they recorded.
#![allow(dead_code)]

use std::path::PathBuf;

use super::fixture;

pub struct Music {
    /// The stand-in's DIR: listings, `delay`, `logged-out`.
    pub dir: PathBuf,
    /// What the playlist command was run with, a line per run.
    pub calls: PathBuf,
    /// The resolver's runs.
    pub resolved: PathBuf,
    _scratch: tempfile::TempDir,
}

impl Music {
    pub fn new() -> Music {
        let scratch = tempfile::tempdir().expect("tempdir");
        let dir = scratch.path().to_path_buf();
        Music {
            calls: dir.join("calls"),
            resolved: dir.join("resolved"),
            dir,
            _scratch: scratch,
        }
    }

    /// A `[resolver]` section: the music stand-in, and the fake resolver in
    /// `mode` handing out `base` URLs; `extra` lines go in the section.
    /// The reader is off (`[youtube] api_url = ""`).
    pub fn resolver(&self, mode: &str, base: &str, extra: &str) -> String {
        self.resolver_and(mode, base, extra, "[youtube]\napi_url = \"\"\n")
    }

    /// As [`Music::resolver`], with `youtube` as the `[youtube]` section
    /// (the reader's stand-in).
    pub fn resolver_and(&self, mode: &str, base: &str, extra: &str, youtube: &str) -> String {
        format!(
            "{youtube}\n[resolver]\ncommand = [{:?}, {:?}, {mode:?}, {base:?}, \"{{video_id}}\"]\n\
             playlist_command = [{:?}, {:?}, {:?}, \"{{url}}\"]\n{extra}\n",
            fixture("fake-resolver").display().to_string(),
            self.resolved.display().to_string(),
            fixture("fake-ytdlp-music").display().to_string(),
            self.calls.display().to_string(),
            self.dir.display().to_string(),
        )
    }

    /// What `list=KEY` (or `feed`) lists from now on.
    pub fn set(&self, key: &str, json: &str) {
        std::fs::write(self.dir.join(format!("{key}.json")), json).expect("write listing");
    }

    /// The playlist command's runs: options and URL, a line each.
    pub fn calls(&self) -> Vec<String> {
        read_lines(&self.calls)
    }

    /// The resolver's runs: ids and pid, a line each.
    pub fn resolver_runs(&self) -> Vec<String> {
        read_lines(&self.resolved)
    }

    /// Seconds both stand-ins spent, by their own clocks.
    pub fn own_time(&self) -> f64 {
        let mut total = 0.0;
        for file in [
            self.calls.with_extension("times"),
            self.resolved.with_extension("times"),
        ] {
            for line in read_lines(&file) {
                let t: Vec<f64> = line
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                if let [start, end] = t[..] {
                    total += end - start;
                }
            }
        }
        total
    }
}

/// A flat listing of `ids` titled `title`, each by "Chan - Topic".
pub fn listing(title: &str, ids: &[&str]) -> String {
    let entries: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            serde_json::json!({
                "_type": "url", "ie_key": "Youtube", "id": id,
                "url": format!("https://www.youtube.com/watch?v={id}"),
                "title": format!("Title {id}"), "duration": 100,
                "channel": "Chan - Topic", "uploader": "Chan - Topic",
                "thumbnails": [], "__x_forwarded_for_ip": null,
            })
        })
        .collect();
    serde_json::json!({"_type": "playlist", "title": title, "entries": entries}).to_string()
}

/// The account's playlists feed, as yt-dlp lists it: `(id, title)` each,
/// plus liked videos and watch later (which icyproxy leaves out).
pub fn feed(lists: &[(&str, &str)]) -> String {
    let mut entries: Vec<serde_json::Value> = lists
        .iter()
        .chain(&[("LL", "Liked videos"), ("WL", "Watch later")])
        .map(|(id, title)| {
            serde_json::json!({
                "_type": "url", "ie_key": "YoutubeTab", "id": id,
                "url": format!("https://www.youtube.com/playlist?list={id}"),
                "title": title, "thumbnails": [], "duration": null, "timestamp": null,
            })
        })
        .collect();
    entries.rotate_right(1);
    serde_json::json!({"_type": "playlist", "id": "playlists", "title": "Playlists",
                       "entries": entries})
    .to_string()
}

fn read_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}
