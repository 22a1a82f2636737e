//! Warming: keeping the tracks MPD will play next ready before it asks, so
//! a skip starts at once. Given a window of ids (the current song, the
//! next one and a few after it in MPD's queue), one background thread
//! makes each warm: a stream URL that will not need a refresh within
//! `refresh_margin_secs`, and its cover art in the cover cache. It runs at
//! most one resolver process at a time, resolves several ids per run, and
//! never delays a request: a request for an id waiting here resolves it at
//! once (and warming then finds it warm); one for an id in the running
//! batch shares that run.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use crate::catalog::lookup::TrackSource;
use crate::catalog::model::Track;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::LazyStore;
use crate::catalog::stream_url::Freshness;
use crate::catalog::ytdlp_error::{self, Class};
use crate::error::Error;
use crate::latest::{self, Put, Take, Taken};
use crate::metrics::Metrics;
use crate::stream::cover::CoverCache;
use crate::stream::upstream::Upstream;
use crate::time::unix_now;
use crate::video_id::VideoId;

/// A failed id is not tried again sooner than this (YouTube rate-limits
/// guests: a failing id must not be hammered).
const RETRY_FIRST: Duration = Duration::from_secs(60);
const RETRY_MOST: Duration = Duration::from_secs(30 * 60);
/// After YouTube's rate limit, warming resolves nothing for this long
/// (guest sessions get about 300 videos an hour).
pub const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(10 * 60);
/// An unavailable video (private, removed, ...) is not tried again while
/// it stays in the window, within reason.
const UNAVAILABLE_PAUSE: Duration = Duration::from_secs(24 * 3600);
/// When every resolver slot was busy.
const BUSY_PAUSE: Duration = Duration::from_secs(5);
/// How often the thread looks at the stop flag while idle.
const TICK: Duration = Duration::from_millis(200);

/// The handle the rest of the server holds.
pub struct Warmer {
    /// Only the latest window is kept.
    windows: Put<Vec<VideoId>>,
    warm: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
}

/// What the warming thread needs.
pub struct WarmParts {
    pub tracks: Arc<TrackSource>,
    pub covers: Arc<CoverCache>,
    pub upstream: Upstream,
    pub metrics: Arc<Metrics>,
    pub stopping: Arc<AtomicBool>,
    /// The database the thread opens its own connection to.
    pub store_path: std::path::PathBuf,
}

impl Warmer {
    /// Starts the `warm` thread; it ends when `stopping` is set.
    /// Resolves in batches of `[resolver] batch_size` and keeps a URL warm
    /// by the tracks' own freshness rule.
    pub fn start(parts: WarmParts) -> std::io::Result<(Warmer, JoinHandle<()>)> {
        let (windows, rx) = latest::slot();
        let warm = Arc::new(AtomicUsize::new(0));
        let paused = Arc::new(AtomicBool::new(false));
        let state = WarmThread {
            freshness: parts.tracks.freshness(),
            batch: parts.tracks.batch_size(),
            parts,
            warm: Arc::clone(&warm),
            paused: Arc::clone(&paused),
            window: Vec::new(),
            failures: HashMap::new(),
            paused_until: None,
        };
        let handle = thread::Builder::new()
            .name("warm".into())
            .spawn(move || state.run(&rx))?;
        Ok((
            Warmer {
                windows,
                warm,
                paused,
            },
            handle,
        ))
    }

    /// The ids to keep warm from now on, in order of need.
    pub fn set_window(&self, ids: Vec<VideoId>) {
        self.windows.put(ids);
    }

    /// How many ids of the window are warm now.
    pub fn warm_tracks(&self) -> usize {
        self.warm.load(Ordering::Relaxed)
    }

    /// Whether warming is paused after YouTube's rate limit.
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }
}

struct WarmThread {
    freshness: Freshness,
    batch: usize,
    parts: WarmParts,
    warm: Arc<AtomicUsize>,
    window: Vec<VideoId>,
    /// Failed ids: when to try again, and the pause after that.
    failures: HashMap<VideoId, (Instant, Duration)>,
    /// Until when nothing is resolved: YouTube's rate limit was hit.
    paused_until: Option<Instant>,
    /// Whether `paused_until` is in the future, for `/health`.
    paused: Arc<AtomicBool>,
}

impl WarmThread {
    fn run(mut self, windows: &Take<Vec<VideoId>>) {
        let mut lazy = LazyStore::new(&self.parts.store_path, false);
        let mut next_look = Instant::now();
        loop {
            if self.parts.stopping.load(Ordering::Relaxed) {
                return;
            }
            let wait = next_look
                .saturating_duration_since(Instant::now())
                .min(TICK);
            match windows.wait(wait) {
                Taken::Value(window) => {
                    self.window = window;
                    next_look = Instant::now();
                }
                Taken::Timeout => {}
                Taken::Closed => return,
            }
            if Instant::now() < next_look {
                continue;
            }
            let store = match lazy.get() {
                Ok(store) => store,
                Err(e) => {
                    warn!("warming: {e}");
                    next_look = Instant::now() + RETRY_FIRST;
                    continue;
                }
            };
            next_look = self.warm_once(store);
        }
    }

    /// Resolves what the window needs (one batch at a time, in order of
    /// need), fetches missing cover art, and says when to look again.
    fn warm_once(&mut self, store: &mut TrackStore) -> Instant {
        let now = Instant::now();
        match self.paused_until {
            Some(until) if until > now => return until,
            Some(_) => {
                info!("warming resumes after YouTube's rate limit");
                self.paused_until = None;
                self.paused.store(false, Ordering::Relaxed);
            }
            None => {}
        }
        self.failures
            .retain(|id, (at, _)| *at > now || self.window.contains(id));
        let due: Vec<VideoId> = self
            .window
            .iter()
            .filter(|id| self.failures.get(*id).is_none_or(|(at, _)| *at <= now))
            .filter(|id| {
                store
                    .get(id)
                    .ok()
                    .flatten()
                    .is_none_or(|t| !self.url_warm(&t))
            })
            .take(self.batch.max(1))
            .cloned()
            .collect();
        if !due.is_empty() {
            self.resolve(&due, store);
            // More may be due: look again at once.
            return Instant::now();
        }
        self.fetch_covers(store);
        let tracks: Vec<Track> = self
            .window
            .iter()
            .filter_map(|id| store.get(id).ok().flatten())
            .collect();
        let warm = tracks
            .iter()
            .filter(|t| self.url_warm(t) && self.cover_warm(t))
            .count();
        self.warm.store(warm, Ordering::Relaxed);
        self.next_refresh(&tracks)
    }

    fn resolve(&mut self, ids: &[VideoId], store: &mut TrackStore) {
        debug!("warming {} ids", ids.len());
        let results = self.parts.tracks.resolve_batch(ids, store);
        let resolved = results.iter().filter(|(_, r)| r.is_ok()).count();
        self.parts.metrics.warm_resolved(resolved);
        for (id, result) in results {
            match result {
                // A URL that is short-lived from the start cannot be kept
                // warm: not again before the pause, or this would loop.
                Ok(track) if !self.url_warm(&track) => {
                    self.failures
                        .insert(id, (Instant::now() + RETRY_FIRST, RETRY_FIRST));
                }
                Ok(_) => {
                    self.failures.remove(&id);
                }
                Err(e) if ytdlp_error::class_of(&e) == Some(Class::RateLimited) => {
                    // Said once per pause, not once per id.
                    if self.paused_until.is_none() {
                        warn!(
                            "warming paused for {} minutes: {e}",
                            RATE_LIMIT_PAUSE.as_secs() / 60
                        );
                    }
                    self.paused_until = Some(Instant::now() + RATE_LIMIT_PAUSE);
                    self.paused.store(true, Ordering::Relaxed);
                    self.failures
                        .insert(id, (Instant::now() + RATE_LIMIT_PAUSE, RETRY_FIRST));
                }
                Err(e) if ytdlp_error::class_of(&e) == Some(Class::Unavailable) => {
                    info!("{id}: not warmed again (it cannot be played here): {e}");
                    let until = Instant::now() + UNAVAILABLE_PAUSE;
                    self.failures.insert(id, (until, UNAVAILABLE_PAUSE));
                }
                // No resolver slot came free (requests hold them all):
                // not the id's fault, look again soon.
                Err(Error::ResolverBusy { .. }) => {
                    let pause = self.failures.get(&id).map_or(RETRY_FIRST / 2, |f| f.1);
                    self.failures
                        .insert(id, (Instant::now() + BUSY_PAUSE, pause));
                }
                Err(e) => {
                    let pause = self
                        .failures
                        .get(&id)
                        .map_or(RETRY_FIRST, |(_, p)| (*p * 2).min(RETRY_MOST));
                    info!(
                        "{id}: warming failed, next try in {} s: {e}",
                        pause.as_secs()
                    );
                    self.failures.insert(id, (Instant::now() + pause, pause));
                }
            }
        }
        // Ids another flight was resolving (a request's) are warm now or
        // will be looked at again.
    }

    fn fetch_covers(&self, store: &TrackStore) {
        for id in &self.window {
            let Ok(Some(track)) = store.get(id) else {
                continue;
            };
            if let Some(url) = track.tags.thumbnail_url.as_deref() {
                if !self.parts.covers.has(id, url) {
                    if let Err(e) = self.parts.covers.get(id, url, &self.parts.upstream) {
                        debug!("{id}: warming cover art: {e}");
                    }
                }
            }
        }
    }

    /// A URL that will not need a refresh within the margin: what a
    /// request then finds is played at once.
    fn url_warm(&self, track: &Track) -> bool {
        track.stream_url.is_some()
            && self
                .freshness
                .warm(track.expires_at, track.updated_at, unix_now())
    }

    /// Art that can be served from the cache (or there is none to serve).
    fn cover_warm(&self, track: &Track) -> bool {
        let Some(url) = track.tags.thumbnail_url.as_deref() else {
            return true;
        };
        self.parts.covers.has(&track.video_id, url)
    }

    /// When the first warm URL of the window stops being warm.
    fn next_refresh(&self, tracks: &[Track]) -> Instant {
        let now = unix_now();
        let soonest = tracks
            .iter()
            .map(|t| {
                let stale_at = self.freshness.warm_until(t.expires_at, t.updated_at);
                stale_at.saturating_sub(now).max(0)
            })
            .min()
            .unwrap_or(3600);
        let failing = self.failures.values().map(|(at, _)| *at).min();
        let refresh = Instant::now() + Duration::from_secs(soonest.min(3600) as u64);
        failing.map_or(refresh, |f| f.min(refresh))
    }
}
