//! What `/health` and `/metrics` show beside the server's own counters:
//! the MPD follower, warming, autoplay, and the start-up warnings.

use std::sync::Arc;

use crate::catalog::music::Music;
use crate::http::endpoints::Status;
use crate::metrics::{Series, write_series};
use crate::mpd::{FollowStatus, Link};

use super::autoplay::AutoplayStatus;
use super::history::History;
use super::warm::Warmer;
use crate::video_id::VideoId;

/// The MPD follower and the warming it feeds; both absent when `[mpd]
/// address` is empty.
#[derive(Default)]
pub struct Ahead {
    pub follow: Option<Arc<FollowStatus>>,
    pub warmer: Option<Arc<Warmer>>,
    pub autoplay: Option<Arc<AutoplayStatus>>,
}

impl Ahead {
    /// `"connected"`, `"disconnected"` or `"off"`.
    fn mpd_link(&self) -> &'static str {
        self.follow
            .as_ref()
            .map_or(Link::Off, |f| f.link())
            .as_str()
    }

    /// How many of the tracks MPD will play next are warm.
    fn warm_tracks(&self) -> usize {
        self.warmer.as_ref().map_or(0, |w| w.warm_tracks())
    }

    fn health(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        fields.insert("mpd".into(), self.mpd_link().into());
        // MPD gone: nothing is being kept warm for it.
        let warm = match self.mpd_link() {
            "connected" => self.warm_tracks(),
            _ => 0,
        };
        fields.insert("warm_tracks".into(), warm.into());
        let paused = self.warmer.as_ref().is_some_and(|w| w.paused());
        fields.insert(
            "warming".into(),
            match (self.warmer.is_some(), paused) {
                (false, _) => "off",
                (true, false) => "on",
                (true, true) => "paused for YouTube's rate limit",
            }
            .into(),
        );
        let autoplay = self.autoplay.as_ref().map_or_else(
            || serde_json::json!({"on": false, "appended": 0, "last_seed": null, "last_error": null}),
            |a| a.health(),
        );
        fields.insert("autoplay".into(), autoplay);
        fields
    }

    fn metrics(&self) -> String {
        let autoplay = self.autoplay.as_ref();
        let series = [
            (
                Series {
                    name: "icyproxy_mpd_reconnects_total",
                    kind: "counter",
                    help: "Connections to MPD made again after one was lost.",
                },
                self.follow.as_ref().map_or(0, |f| f.reconnects()),
            ),
            (
                Series {
                    name: "icyproxy_warm_tracks",
                    kind: "gauge",
                    help: "Tracks of MPD's coming window that are warm now.",
                },
                self.warm_tracks() as u64,
            ),
            (
                Series {
                    name: "icyproxy_autoplay_on",
                    kind: "gauge",
                    help: "Whether autoplay extends MPD's queue now (1) or not (0).",
                },
                u64::from(autoplay.is_some_and(|a| a.is_on())),
            ),
            (
                Series {
                    name: "icyproxy_autoplay_appended_total",
                    kind: "counter",
                    help: "Songs autoplay appended to MPD's queue.",
                },
                autoplay.map_or(0, |a| a.appended()),
            ),
        ];
        let mut out = String::new();
        for (s, value) in series {
            write_series(&mut out, s, value);
        }
        out
    }
}

/// What runs ahead of the player, and the start-up warnings
/// ([`super::App::warnings`]).
pub struct Beside {
    pub ahead: Ahead,
    pub warnings: Vec<String>,
    /// YouTube Music's API, when it is on.
    pub reader: Option<Music>,
    /// Where heard songs are reported, when `[youtube] report_history` is on.
    pub history: Option<History>,
    /// The front door, when `[front] listen` is set.
    pub front: Option<std::sync::Arc<super::front::FrontStatus>>,
}

/// `/health`'s `"reader"`: how the last calls to YouTube Music's API went.
fn reader_health(reader: Option<&Music>) -> serde_json::Value {
    let Some(music) = reader else {
        return serde_json::Value::Null;
    };
    let state = music.health().state();
    serde_json::json!({
        "ok": state.ok,
        "last_failure": state.last_failure,
        "at": state.at,
        "calls": state.calls,
        "failures": state.failures,
        "fallbacks": state.fallbacks,
    })
}

impl Status for Beside {
    fn health(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = self.ahead.health();
        fields.insert("warnings".into(), self.warnings.clone().into());
        fields.insert("reader".into(), reader_health(self.reader.as_ref()));
        let front = self.front.as_ref().map(|f| f.health());
        fields.insert("front".into(), front.unwrap_or_default());
        fields
    }

    fn streamed(&self, id: &VideoId, secs: u64) {
        if let Some(history) = &self.history {
            history.streamed(id, secs);
        }
    }

    fn metrics(&self) -> String {
        let mut out = self.ahead.metrics();
        if let Some(music) = &self.reader {
            let state = music.health().state();
            for (name, help, value) in [
                (
                    "icyproxy_reader_calls_total",
                    "Calls to YouTube Music's API.",
                    state.calls,
                ),
                (
                    "icyproxy_reader_failures_total",
                    "Calls to YouTube Music's API that failed.",
                    state.failures,
                ),
                (
                    "icyproxy_reader_fallbacks_total",
                    "Failed calls done through yt-dlp instead.",
                    state.fallbacks,
                ),
            ] {
                out.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
                ));
            }
        }
        out
    }
}
