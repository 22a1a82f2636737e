//! Finding a playable track for an id: the store first; the resolver for
//! unknown ids and for URLs about to expire. Concurrent requests for the
//! same id share one resolver run (single flight); every run takes one of
//! `[resolver] max_running` slots (requests and warming alike), waiting
//! for it a bounded time, and an id whose run just failed is answered
//! with that failure for `[resolver] remember_failure_secs` without a run
//! (`limits`).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::catalog::cookies::Cookies;
use crate::catalog::limits::{Failures, Slots};
use crate::catalog::model::{NewTrack, TagSource, Track, UrlUpdate};
use crate::catalog::resolver::{Resolved, Resolver};
use crate::catalog::settings::ResolverSettings;
use crate::catalog::store::TrackStore;
use crate::catalog::stream_url::{self, Freshness};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::time::unix_now;
use crate::video_id::VideoId;

/// Why nothing can be resolved.
const NO_RESOLVER: &str = "[resolver] command is empty: nothing to resolve with";

/// Shared by every worker.
pub struct TrackSource {
    resolver: Option<Resolver>,
    metrics: Arc<Metrics>,
    freshness: Freshness,
    /// Ids per resolver run when warming.
    batch_size: usize,
    flights: Mutex<HashMap<VideoId, Arc<Flight>>>,
    slots: Slots,
    /// How long a caller waits for a slot.
    slot_wait: Duration,
    failures: Failures,
}

/// What a request's id has in the store ([`TrackSource::look_up`]).
#[derive(Debug)]
pub enum Found {
    /// The stored row (`None`: unknown, with no resolver to ask): played
    /// from here, refreshed first when it is about to expire.
    Stored(Box<Option<Track>>),
    /// Unknown or listed without a URL, with a resolver configured: a run
    /// is needed before anything can be played.
    NeedsRun,
}

/// Whether the resolver ran for this request before upstream was asked.
#[derive(Debug)]
pub enum Refreshed {
    No,
    Yes,
    /// It ran and failed: the stored URL is being tried all the same.
    Failed(Error),
}

#[derive(Default)]
struct Flight {
    result: Mutex<Option<Result<Track>>>,
    done: Condvar,
}

impl TrackSource {
    /// The resolver of `settings`, lending every run `cookies`.
    pub fn new(
        settings: &ResolverSettings,
        cookies: Option<Cookies>,
        metrics: Arc<Metrics>,
    ) -> TrackSource {
        TrackSource {
            resolver: Resolver::new(&settings.command, settings.timeout())
                .map(|r| r.with_cookies(cookies)),
            metrics: Arc::clone(&metrics),
            freshness: settings.freshness(),
            batch_size: settings.batch_size,
            flights: Mutex::new(HashMap::new()),
            slots: Slots::new(settings.max_running, Arc::clone(&metrics)),
            slot_wait: settings.slot_wait(),
            failures: Failures::new(settings.remember_failure()),
        }
    }

    /// Ids per resolver run when resolving ahead (`[resolver] batch_size`).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// How long a request waits for a free resolver slot.
    pub fn slot_wait(&self) -> Duration {
        self.slot_wait
    }

    /// When a stored URL needs a refresh.
    pub fn freshness(&self) -> Freshness {
        self.freshness
    }

    /// What the store holds for `id`, read once when a request arrives
    /// and carried to the worker that plays it ([`Self::play_found`]).
    /// [`Found::NeedsRun`] when a resolver is configured and the id is
    /// unknown or listed without a URL: such requests are served away
    /// from the stream workers ([`Self::resolve_for_request`]), which
    /// stored tracks need.
    pub fn look_up(&self, id: &VideoId, store: &TrackStore) -> Result<Found> {
        let stored = store.get(id)?;
        let run = self.resolver.is_some() && stored.as_ref().is_none_or(|t| t.stream_url.is_none());
        Ok(match run {
            true => Found::NeedsRun,
            false => Found::Stored(Box::new(stored)),
        })
    }

    /// The failure of the last run for `id`, while it is remembered.
    pub fn recent_failure(&self, id: &VideoId) -> Option<Error> {
        let recalled = self.failures.recall(id);
        if recalled.is_some() {
            self.metrics.resolver_recalled();
        }
        recalled
    }

    /// A track for a request that needs a run ([`Found::NeedsRun`]): the remembered
    /// failure, or a resolver run that waits for a slot until `deadline`
    /// (else [`Error::ResolverBusy`]).
    pub fn resolve_for_request(
        &self,
        id: &VideoId,
        store: &mut TrackStore,
        deadline: Instant,
    ) -> Result<Track> {
        if let Some(failed) = self.recent_failure(id) {
            return Err(failed);
        }
        match store.get(id)? {
            None => self.single_flight(id, || {
                if let Some(track) = store.get(id)? {
                    return Ok(track); // resolved by a flight that just ended
                }
                self.resolve_new(id, store, deadline)
            }),
            Some(track) if track.stream_url.is_none() => {
                self.refresh_until(id, store, &track, deadline)
            }
            Some(track) => Ok(track),
        }
    }

    /// Resolver runs allowed at once (`[resolver] max_running`).
    pub fn max_running(&self) -> usize {
        self.slots.most()
    }

    /// Whether a resolver is configured.
    pub fn can_resolve(&self) -> bool {
        self.resolver.is_some()
    }

    /// The track to play: the stored one, resolved and stored if unknown,
    /// with its URL refreshed first if it is about to expire. A failed
    /// refresh falls back to the stored URL (upstream will tell). The
    /// [`Refreshed`] says whether the resolver already ran for this
    /// request, so a `403` that follows neither runs it a second time nor
    /// hides why it failed.
    pub fn playable(&self, id: &VideoId, store: &mut TrackStore) -> Result<(Track, Refreshed)> {
        let stored = store.get(id)?;
        self.play_found(id, store, stored)
    }

    /// [`Self::playable`] for what [`Self::look_up`] found (`stored`: the
    /// row, or `None` for an unknown id), without reading it again.
    pub fn play_found(
        &self,
        id: &VideoId,
        store: &mut TrackStore,
        stored: Option<Track>,
    ) -> Result<(Track, Refreshed)> {
        let Some(track) = stored else {
            if self.resolver.is_none() {
                return Err(Error::NotFound(format!("unknown video id {id}")));
            }
            let deadline = Instant::now() + self.slot_wait;
            let track = self.resolve_for_request(id, store, deadline)?;
            return Ok((track, Refreshed::Yes));
        };
        if track.stream_url.is_none() {
            // Listed by a playlist, never played: no URL to fall back on.
            if self.resolver.is_none() {
                return Err(Error::NotFound(format!(
                    "{id} has no stream URL yet and no resolver is configured"
                )));
            }
            return Ok((self.refresh(id, store, &track)?, Refreshed::Yes));
        }
        let stale = self.resolver.is_some()
            && self
                .freshness
                .needs_refresh(track.expires_at, track.updated_at, unix_now());
        if !stale {
            return Ok((track, Refreshed::No));
        }
        match self.refresh(id, store, &track) {
            Ok(fresh) => Ok((fresh, Refreshed::Yes)),
            Err(e) => {
                warn!("{id}: URL refresh failed, trying the stored one: {e}");
                Ok((track, Refreshed::Failed(e)))
            }
        }
    }

    /// Runs the resolver for `id` now: a stored track gets a new URL (its
    /// tags kept), an unknown one is stored with the resolver's tags.
    pub fn resolve_now(&self, id: &VideoId, store: &mut TrackStore) -> Result<Track> {
        if self.resolver.is_none() {
            return Err(Error::Config(NO_RESOLVER.into()));
        }
        let deadline = Instant::now() + self.slot_wait;
        match store.get(id)? {
            Some(track) => self.refresh(id, store, &track),
            None => self.single_flight(id, || self.resolve_new(id, store, deadline)),
        }
    }

    /// Gets `stale` a stream URL through the resolver, keeping its tags
    /// (unless they came from a playlist listing: YouTube Music's own are
    /// better). If another request already replaced the URL, that one is
    /// used without running the resolver again. A store that cannot be
    /// written plays the fresh URL from memory.
    pub fn refresh(&self, id: &VideoId, store: &mut TrackStore, stale: &Track) -> Result<Track> {
        self.refresh_until(id, store, stale, Instant::now() + self.slot_wait)
    }

    /// [`Self::refresh`], waiting for a resolver slot until `deadline`.
    fn refresh_until(
        &self,
        id: &VideoId,
        store: &mut TrackStore,
        stale: &Track,
        deadline: Instant,
    ) -> Result<Track> {
        let resolver = self
            .resolver
            .as_ref()
            .ok_or_else(|| Error::Config(NO_RESOLVER.into()))?;
        if let Some(failed) = self.recent_failure(id) {
            return Err(failed);
        }
        self.single_flight(id, || {
            if let Some(current) = store.get(id)? {
                if current.stream_url.is_some() && current.stream_url != stale.stream_url {
                    return Ok(current);
                }
            }
            let resolved = self.run(resolver, id, deadline)?;
            self.store_fresh(id, store, Some(stale), resolved)
        })
    }

    /// Stores what the resolver found for `id`: a fresh URL for the
    /// stored track `stale`, or a new track. A store that cannot be
    /// written plays the fresh URL from memory.
    fn store_fresh(
        &self,
        id: &VideoId,
        store: &mut TrackStore,
        stale: Option<&Track>,
        resolved: Resolved,
    ) -> Result<Track> {
        let Some(stale) = stale else {
            return self.store_new(id, store, resolved);
        };
        let update = UrlUpdate {
            stream_url: &resolved.stream_url,
            tags: Some(&resolved.tags),
            music: resolved.music,
            fetch: Some(&resolved.fetch),
        };
        match store.update_url(id, &update) {
            Ok(true) => {}
            Ok(false) => return self.store_new(id, store, resolved),
            Err(e) => {
                warn!("{id}: fresh URL not stored, playing it from memory: {e}");
                return Ok(in_memory(stale, &resolved));
            }
        }
        self.metrics.url_refreshed();
        info!("{id}: stream URL refreshed");
        store
            .get(id)?
            .ok_or_else(|| Error::NotFound(format!("{id} was removed while refreshing")))
    }

    /// Resolves `ids` (stored or not) with as few resolver runs as
    /// `[resolver] batch_size` allows, for warming: each id is one flight,
    /// so a request for one of them waits for this run instead of starting
    /// another, and ids already being resolved are left to that run.
    /// Returns what became of each id this call resolved.
    pub fn resolve_batch(
        &self,
        ids: &[VideoId],
        store: &mut TrackStore,
    ) -> Vec<(VideoId, Result<Track>)> {
        let Some(resolver) = self.resolver.as_ref() else {
            return Vec::new();
        };
        let mut done = Vec::new();
        // Ids that just failed are not run again before their time.
        let due: Vec<&VideoId> = ids
            .iter()
            .filter(|id| match self.failures.recall(id) {
                Some(failed) => {
                    done.push(((*id).clone(), Err(failed)));
                    false
                }
                None => true,
            })
            .collect();
        // Ids a request is resolving already are left to it.
        let mine: Vec<LeaderGuard<'_>> = due
            .into_iter()
            .filter_map(|id| match self.claim(id) {
                Claim::Leader(guard) => Some(guard),
                Claim::Follower(_) => None,
            })
            .collect();
        for chunk in mine.chunks(self.batch_size.max(1)) {
            let chunk_ids: Vec<VideoId> = chunk.iter().map(|g| g.id.clone()).collect();
            let Some(slot) = self.slots.take(Instant::now() + self.slot_wait) else {
                self.metrics.resolver_busy();
                let busy = Error::ResolverBusy {
                    slots: self.slots.most(),
                };
                done.extend(chunk_ids.into_iter().map(|id| (id, Err(busy.clone()))));
                continue;
            };
            let started = Instant::now();
            let results = resolver.resolve_batch(&chunk_ids);
            drop(slot);
            self.metrics
                .resolver_batch(chunk_ids.len(), started.elapsed());
            for (id, result) in results {
                self.metrics.resolver_result(&result);
                self.failures.note(&id, &result);
                let track = result.and_then(|resolved| {
                    let stale = store.get(&id)?;
                    self.store_fresh(&id, store, stale.as_ref(), resolved)
                });
                done.push((id, track));
            }
        }
        for guard in mine {
            // Every id asked for has a result; were one missing, dropping
            // its guard would end its flight all the same.
            if let Some((_, result)) = done.iter().find(|(id, _)| *id == guard.id) {
                guard.finish(result.clone());
            }
        }
        done
    }

    fn resolve_new(
        &self,
        id: &VideoId,
        store: &mut TrackStore,
        deadline: Instant,
    ) -> Result<Track> {
        let resolver = self
            .resolver
            .as_ref()
            .ok_or_else(|| Error::NotFound(format!("unknown video id {id}")))?;
        let resolved = self.run(resolver, id, deadline)?;
        self.store_new(id, store, resolved)
    }

    /// Stores a track first met through the resolver, with its tags.
    fn store_new(&self, id: &VideoId, store: &mut TrackStore, resolved: Resolved) -> Result<Track> {
        let mut tags = resolved.tags;
        if tags.title.is_empty() {
            tags.title = id.to_string();
        }
        tags.album = tags.album.filter(|a| !a.is_empty());
        let mut track = NewTrack::tagged(id.as_str(), &resolved.stream_url, tags)?;
        track.tags_from = TagSource::Resolver;
        track.fetch = resolved.fetch;
        if let Err(e) = store.upsert(&track) {
            // A read-only store: play it all the same, unstored.
            warn!("{id}: resolved track not stored: {e}");
            return Ok(Track {
                video_id: id.clone(),
                expires_at: stream_url::expires_at(&track.stream_url),
                stream_url: Some(track.stream_url),
                tags: track.tags,
                updated_at: unix_now(),
                tags_from: TagSource::Resolver,
                fetch: track.fetch,
            });
        }
        info!("{id}: resolved and stored");
        store
            .get(id)?
            .ok_or_else(|| Error::NotFound(format!("{id} was removed while resolving")))
    }

    /// Runs the resolver for `id` once a slot is free (waiting until
    /// `deadline`), and remembers a failure.
    fn run(&self, resolver: &Resolver, id: &VideoId, deadline: Instant) -> Result<Resolved> {
        let Some(slot) = self.slots.take(deadline) else {
            self.metrics.resolver_busy();
            return Err(Error::ResolverBusy {
                slots: self.slots.most(),
            });
        };
        let result = resolver.resolve(id);
        drop(slot);
        self.metrics.resolver_result(&result);
        self.failures.note(id, &result);
        result
    }

    /// Runs `work` once per id at a time; concurrent callers for the same
    /// id wait for the running one and share its result.
    fn single_flight(&self, id: &VideoId, work: impl FnOnce() -> Result<Track>) -> Result<Track> {
        match self.claim(id) {
            // The guard publishes a result and clears the entry even if
            // `work` panics, so followers never wait forever.
            Claim::Leader(guard) => {
                let result = work();
                guard.finish(result.clone());
                result
            }
            Claim::Follower(flight) => self.follow(id, &flight),
        }
    }

    /// Starts the flight for `id`, or joins the one under way: both under
    /// one lock, so a flight cannot end between looking and joining.
    fn claim(&self, id: &VideoId) -> Claim<'_> {
        let mut flights = self.flights.lock().expect("flight map poisoned");
        if let Some(flight) = flights.get(id) {
            return Claim::Follower(Arc::clone(flight));
        }
        let flight = Arc::new(Flight::default());
        flights.insert(id.clone(), Arc::clone(&flight));
        Claim::Leader(LeaderGuard {
            source: self,
            id: id.clone(),
            flight,
        })
    }

    /// Waits for `flight` (the one under way for `id`) and shares its result.
    fn follow(&self, id: &VideoId, flight: &Flight) -> Result<Track> {
        // A batch gets its time limit per id.
        let per_run = self
            .resolver
            .as_ref()
            .map_or(Duration::from_secs(60), |r| r.timeout());
        let limit = per_run * u32::try_from(self.batch_size.max(1)).unwrap_or(1)
            + self.slot_wait
            + Duration::from_secs(10);
        let deadline = Instant::now() + limit;
        let mut slot = flight.result.lock().expect("flight poisoned");
        loop {
            if let Some(result) = slot.as_ref() {
                return result.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::ResolverTimeout(format!(
                    "waited too long for {id} to resolve"
                )));
            }
            slot = flight
                .done
                .wait_timeout(slot, left)
                .expect("flight poisoned")
                .0;
        }
    }
}

/// Whether a caller runs an id's resolution or waits for the one under way.
enum Claim<'a> {
    Leader(LeaderGuard<'a>),
    Follower(Arc<Flight>),
}

/// The one running resolution of an id; dropping it ends the flight.
struct LeaderGuard<'a> {
    source: &'a TrackSource,
    id: VideoId,
    flight: Arc<Flight>,
}

impl LeaderGuard<'_> {
    fn finish(self, result: Result<Track>) {
        *self.flight.result.lock().expect("flight poisoned") = Some(result);
    }
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        let mut slot = self.flight.result.lock().expect("flight poisoned");
        if slot.is_none() {
            *slot = Some(Err(Error::io_msg(format!(
                "resolving {} failed unexpectedly",
                self.id
            ))));
        }
        drop(slot);
        self.flight.done.notify_all();
        self.source
            .flights
            .lock()
            .expect("flight map poisoned")
            .remove(&self.id);
    }
}

/// `stale` with the fresh URL, for a store that cannot be written; a
/// listing's tags give way to YouTube Music's as they would in the store.
fn in_memory(stale: &Track, resolved: &Resolved) -> Track {
    let mut track = stale.clone();
    track.stream_url = Some(resolved.stream_url.clone());
    track.expires_at = stream_url::expires_at(&resolved.stream_url);
    track.updated_at = unix_now();
    track.tags.duration_secs = track.tags.duration_secs.or(resolved.tags.duration_secs);
    track.fetch = resolved.fetch.clone();
    if track.tags_from == TagSource::Flat && resolved.music {
        for (stored, found) in [
            (&mut track.tags.title, &resolved.tags.title),
            (&mut track.tags.artist, &resolved.tags.artist),
        ] {
            if !found.is_empty() {
                found.clone_into(stored);
            }
        }
    }
    track
}
