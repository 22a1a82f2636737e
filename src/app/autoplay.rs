//! Autoplay: before MPD's queue runs dry, append the radio of its last
//! song. The follower reports the player and the queue's end
//! ([`QueueState`]) after every change; one thread (`autoplay`) decides
//! ([`decide`], pure) and, when it is time, runs the radio (one yt-dlp
//! run), resolves what it found (so the songs are warm and the ones that
//! fail are left out), and appends them with their tags.
//!
//! Never while the user edits the queue (it waits [`DEBOUNCE`] after a
//! change of the queue), never twice for one state of the queue, once per
//! seed; ids played, queued, appended or failing lately are kept in the
//! store (`autoplay_history`) and never appended again, across restarts:
//! a restarted MPD or icyproxy appends nothing twice.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use log::{info, warn};

use super::entries::QueueEntries;
use crate::catalog::discover;
use crate::catalog::lookup::TrackSource;
use crate::catalog::model::Track;
use crate::catalog::playlist_source::Sources;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::LazyStore;
use crate::error::{Error, Result};
use crate::latest::{self, Put, Take, Taken};
use crate::mpd::queue::Session;
use crate::mpd::settings::{Autoplay, MpdSettings};
use crate::mpd::{QueueState, proxied_id};
use crate::video_id::VideoId;

/// How long the queue must stay unchanged before autoplay appends: the
/// user may be editing it.
pub const DEBOUNCE: Duration = Duration::from_secs(2);
/// How often the thread looks again (the debounce, the stop flag).
const TICK: Duration = Duration::from_millis(100);

/// What `/health` and `/metrics` show, and the switch the channel turns.
#[derive(Debug, Default)]
pub struct AutoplayStatus {
    on: AtomicBool,
    appended: AtomicU64,
    last_seed: Mutex<Option<String>>,
    last_error: Mutex<Option<String>>,
}

impl AutoplayStatus {
    pub fn new(on: bool) -> AutoplayStatus {
        AutoplayStatus {
            on: AtomicBool::new(on),
            ..AutoplayStatus::default()
        }
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    /// Turns autoplay on or off (the channel's `autoplay on|off`).
    pub fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::SeqCst);
    }

    /// Songs appended since the start.
    pub fn appended(&self) -> u64 {
        self.appended.load(Ordering::SeqCst)
    }

    pub fn last_seed(&self) -> Option<String> {
        self.last_seed.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    fn set(&self, field: &Mutex<Option<String>>, value: Option<String>) {
        if let Ok(mut slot) = field.lock() {
            *slot = value;
        }
    }

    /// The `"autoplay"` object of `/health`.
    pub fn health(&self) -> serde_json::Value {
        serde_json::json!({
            "on": self.is_on(),
            "appended": self.appended(),
            "last_seed": self.last_seed(),
            "last_error": self.last_error(),
        })
    }
}

/// Why autoplay waits, or the seeds to try, in order.
pub fn decide(
    state: &QueueState,
    settings: &Autoplay,
    port: u16,
) -> std::result::Result<Vec<VideoId>, &'static str> {
    if !state.playing {
        return Err("MPD is not playing");
    }
    if state.repeat || state.random || state.single {
        return Err("repeat, random or single is on");
    }
    let Some(song) = state.song else {
        return Err("no current song");
    };
    if state.length.saturating_sub(song + 1) > settings.when_left {
        return Err("enough songs left");
    }
    let last_proxied = state.tail.last().and_then(|f| proxied_id(f, port));
    if last_proxied.is_none() && !settings.any_queue {
        return Err("the queue ends in a song of the user's own");
    }
    let mut seeds: Vec<VideoId> = Vec::new();
    for id in state.tail.iter().rev().filter_map(|f| proxied_id(f, port)) {
        if seeds.len() == 2 {
            break;
        }
        if !seeds.contains(&id) {
            seeds.push(id);
        }
    }
    let current = state.current.as_deref().and_then(|f| proxied_id(f, port));
    if let Some(current) = current.filter(|c| seeds.len() < 2 && !seeds.contains(c)) {
        seeds.push(current);
    }
    match seeds.is_empty() {
        true => Err("no song of this proxy to start a radio from"),
        false => Ok(seeds),
    }
}

/// What autoplay (and the channel's `radio`) need to append a radio.
#[derive(Clone)]
pub struct Radio {
    pub tracks: Arc<TrackSource>,
    pub session: Session,
    /// The radio's reader, and MPD's playlist files for searches.
    pub sources: Sources,
    /// This server's queue entries (by the port it really listens on).
    pub entries: QueueEntries,
    /// The database each thread opens its own connection to.
    pub store_path: PathBuf,
    /// `[mpd]`: autoplay's numbers, and the channel's.
    pub mpd: MpdSettings,
}

impl Radio {
    /// Appends up to `limit` songs of `seed`'s radio that are not in
    /// `skip`, with their tags, at once: their stream URLs are resolved
    /// ahead by warming, as for any queued song (no resolver run before
    /// the append). Remembers them in the history. Returns the songs
    /// appended.
    pub fn append(
        &self,
        store: &mut TrackStore,
        seed: &VideoId,
        limit: usize,
        skip: &HashSet<String>,
    ) -> Result<Vec<Track>> {
        let ask = discover::RadioAsk { seed, limit, skip };
        let songs = discover::radio(&self.sources, &self.tracks, store, &ask)?;
        let queued: Vec<_> = songs.iter().map(|t| self.entries.song(t)).collect();
        self.session.append(&queued, false)?;
        let seen: Vec<VideoId> = songs.iter().map(|t| t.video_id.clone()).collect();
        store.remember(&seen, self.mpd.autoplay_history)?;
        Ok(songs)
    }
}

/// Starts the `autoplay` thread; of the queue states put in the returned
/// slot, only the latest is kept (MPD's clients may change it faster than a
/// radio run). It ends when `stopping` is set.
pub fn start(
    radio: Radio,
    status: Arc<AutoplayStatus>,
    stopping: Arc<AtomicBool>,
) -> Result<Put<QueueState>> {
    let (tx, rx) = latest::slot();
    let worker = Worker {
        radio,
        status,
        latest: None,
        changed_at: Instant::now(),
        handled: None,
        tried: HashSet::new(),
        seen_current: None,
    };
    thread::Builder::new()
        .name("autoplay".into())
        .spawn(move || worker.run(&rx, &stopping))
        .map_err(|e| Error::io("cannot start the autoplay thread", e))?;
    Ok(tx)
}

struct Worker {
    radio: Radio,
    status: Arc<AutoplayStatus>,
    latest: Option<QueueState>,
    /// When the queue last changed (its version).
    changed_at: Instant,
    /// The queue version last acted on (appended to, or given up on).
    handled: Option<usize>,
    /// Seeds whose radio ran: once per seed.
    tried: HashSet<VideoId>,
    /// The current song last put in the history.
    seen_current: Option<String>,
}

impl Worker {
    fn run(mut self, states: &Take<QueueState>, stopping: &AtomicBool) {
        let mut lazy = LazyStore::new(&self.radio.store_path, false);
        while !stopping.load(Ordering::Relaxed) {
            match states.wait(TICK) {
                Taken::Value(state) => self.take(state),
                Taken::Timeout => {}
                Taken::Closed => return,
            }
            let store = match lazy.get() {
                Ok(store) => store,
                Err(e) => {
                    self.failed(format!("autoplay: {e}"));
                    continue;
                }
            };
            self.remember_current(store);
            self.consider(store);
        }
    }

    /// A new state: a changed queue starts the debounce again.
    fn take(&mut self, state: QueueState) {
        if self.latest.as_ref().map(|s| s.version) != Some(state.version) {
            self.changed_at = Instant::now();
        }
        self.latest = Some(state);
    }

    /// Puts the current song in the history once it plays.
    fn remember_current(&mut self, store: &mut TrackStore) {
        let Some(state) = &self.latest else { return };
        let entries = &self.radio.entries;
        let Some(current) = state.current.as_deref().and_then(|f| entries.id_of(f)) else {
            return;
        };
        if self.seen_current.as_deref() == Some(current.as_str()) {
            return;
        }
        if store
            .remember(
                std::slice::from_ref(&current),
                self.radio.mpd.autoplay_history,
            )
            .is_ok()
        {
            self.seen_current = Some(current.to_string());
        }
    }

    fn consider(&mut self, store: &mut TrackStore) {
        let Some(state) = self.latest.clone() else {
            return;
        };
        if !self.status.is_on()
            || self.handled == Some(state.version)
            || self.changed_at.elapsed() < DEBOUNCE
        {
            return;
        }
        let settings = self.radio.mpd.autoplay();
        let Ok(seeds) = decide(&state, &settings, self.radio.entries.port()) else {
            return;
        };
        self.handled = Some(state.version);
        let mut skip: HashSet<String> = match store.history() {
            Ok(ids) => ids.into_iter().collect(),
            Err(e) => return self.failed(format!("autoplay: {e}")),
        };
        let entries = &self.radio.entries;
        skip.extend(
            state
                .tail
                .iter()
                .filter_map(|f| entries.id_of(f))
                .map(|i| i.to_string()),
        );
        for seed in &seeds {
            if !self.tried.insert(seed.clone()) {
                continue;
            }
            match self.radio.append(store, seed, settings.batch, &skip) {
                Ok(songs) if songs.is_empty() => {
                    info!("autoplay: the radio of {seed} has nothing new");
                }
                Ok(songs) => {
                    self.status
                        .appended
                        .fetch_add(songs.len() as u64, Ordering::SeqCst);
                    self.status
                        .set(&self.status.last_seed, Some(seed.to_string()));
                    self.status.set(&self.status.last_error, None);
                    info!(
                        "autoplay: appended {} songs from the radio of {seed}",
                        songs.len()
                    );
                    return;
                }
                Err(e) => self.failed(format!("autoplay: the radio of {seed}: {e}")),
            }
        }
        info!("autoplay: nothing to append; waiting for the queue to change");
    }

    fn failed(&self, line: String) {
        warn!("{line}");
        self.status.set(&self.status.last_error, Some(line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORT: u16 = 8080;

    fn url(id: &str) -> String {
        format!("http://127.0.0.1:{PORT}/proxy/{id}/?icy=0")
    }

    fn playing(song: usize, tail: &[&str]) -> QueueState {
        QueueState {
            playing: true,
            song: Some(song),
            length: tail.len(),
            version: 7,
            current: tail.get(song).map(|f| f.to_string()),
            tail: tail.iter().map(|f| f.to_string()).collect(),
            ..QueueState::default()
        }
    }

    fn settings() -> Autoplay {
        Autoplay {
            on: true,
            when_left: 2,
            batch: 10,
            history: 200,
            any_queue: false,
        }
    }

    #[test]
    fn the_last_proxied_songs_seed_the_radio_when_few_are_left() {
        let (a, b, c) = (url("aaaaaaaaaa1"), url("bbbbbbbbbb2"), url("ccccccccc03"));
        let seeds = decide(&playing(0, &[&a, &b, &c]), &settings(), PORT).expect("extend");
        let seeds: Vec<&str> = seeds.iter().map(VideoId::as_str).collect();
        assert_eq!(seeds, ["ccccccccc03", "bbbbbbbbbb2"]);
        let four = playing(0, &[&a, &b, &c, &a]);
        assert_eq!(decide(&four, &settings(), PORT), Err("enough songs left"));
    }

    #[test]
    fn nothing_is_appended_when_it_should_not_be() {
        let (a, b) = (url("aaaaaaaaaa1"), url("bbbbbbbbbb2"));
        let base = playing(0, &[&a, &b]);
        let cases = [
            (
                QueueState {
                    playing: false,
                    ..base.clone()
                },
                "MPD is not playing",
            ),
            (
                QueueState {
                    repeat: true,
                    ..base.clone()
                },
                "repeat, random or single is on",
            ),
            (
                QueueState {
                    random: true,
                    ..base.clone()
                },
                "repeat, random or single is on",
            ),
            (
                QueueState {
                    single: true,
                    ..base.clone()
                },
                "repeat, random or single is on",
            ),
            (
                playing(0, &[&a, "music/mine.flac"]),
                "the queue ends in a song of the user's own",
            ),
        ];
        for (state, why) in cases {
            assert_eq!(decide(&state, &settings(), PORT), Err(why));
        }
        let any = Autoplay {
            any_queue: true,
            ..settings()
        };
        let seeds = decide(&playing(0, &[&a, "music/mine.flac"]), &any, PORT).expect("any queue");
        assert_eq!(seeds[0].as_str(), "aaaaaaaaaa1");
    }
}
