//! The next songs ahead: given MPD's window (the current song first, then
//! the next ones), one background thread fetches `[cache] ahead` songs
//! after the current one whole into the audio cache, one at a time, no
//! faster than `ahead_rate_kbps`. A network drop or a refused URL between
//! songs then goes unheard: the next song starts from disk. A fetch MPD
//! has moved away from is given up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use log::{debug, info};

use crate::catalog::lookup::TrackSource;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::LazyStore;
use crate::stream::cache::AudioCache;
use crate::stream::cache::fetch::{Fetch, Fetched};
use crate::stream::upstream::Upstream;
use crate::video_id::VideoId;

/// How often the thread looks for a new window or a stop while idle.
const TICK: Duration = Duration::from_millis(200);
/// A song whose fetch failed is not tried again sooner than this.
const RETRY: Duration = Duration::from_secs(60);

/// What the thread needs.
pub struct AheadParts {
    pub tracks: Arc<TrackSource>,
    pub cache: Arc<AudioCache>,
    pub upstream: Upstream,
    pub stopping: Arc<AtomicBool>,
    pub store_path: std::path::PathBuf,
    /// Songs after the current one to fetch.
    pub ahead: usize,
    pub bytes_per_sec: u64,
    pub chunk_bytes: u64,
    pub retries: u32,
}

/// The handle the follower feeds.
pub struct FetchAhead {
    wanted: Arc<Mutex<Vec<VideoId>>>,
    ahead: usize,
}

impl FetchAhead {
    /// Starts the `fetch-ahead` thread; it ends when `stopping` is set.
    pub fn start(parts: AheadParts) -> std::io::Result<FetchAhead> {
        let wanted = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&wanted);
        let ahead = parts.ahead;
        thread::Builder::new()
            .name("fetch-ahead".into())
            .spawn(move || run(&parts, &seen))?;
        Ok(FetchAhead { wanted, ahead })
    }

    /// MPD's window: the current song, then the next ones.
    pub fn set_window(&self, window: &[VideoId]) {
        let next: Vec<VideoId> = window.iter().skip(1).take(self.ahead).cloned().collect();
        *self.wanted.lock().expect("ahead window poisoned") = next;
    }
}

fn run(parts: &AheadParts, wanted: &Mutex<Vec<VideoId>>) {
    let mut lazy = LazyStore::new(&parts.store_path, false);
    let mut failed: HashMap<VideoId, Instant> = HashMap::new();
    while !parts.stopping.load(Ordering::Relaxed) {
        let due = {
            let wanted = wanted.lock().expect("ahead window poisoned");
            failed.retain(|id, at| at.elapsed() < RETRY && wanted.contains(id));
            wanted.iter().find(|id| !failed.contains_key(*id)).cloned()
        };
        let (Some(id), Ok(store)) = (due, lazy.get()) else {
            thread::sleep(TICK);
            continue;
        };
        if parts.cache.has(&id, store) || !fetch_one(parts, wanted, &id, store) {
            // Kept (now or before), or failed: not again for a while.
            failed.insert(id, Instant::now());
        }
    }
}

/// Fetches `id` whole; whether it is kept. Given up (not kept) when it
/// leaves the window.
fn fetch_one(
    parts: &AheadParts,
    wanted: &Mutex<Vec<VideoId>>,
    id: &VideoId,
    store: &mut TrackStore,
) -> bool {
    let track = match parts.tracks.playable(id, store) {
        Ok((track, _)) => track,
        Err(e) => {
            debug!("{id}: not fetched ahead: {e}");
            return false;
        }
    };
    // Set when MPD moves on (or the server stops) while the song is read.
    let stop = Arc::new(AtomicBool::new(false));
    let upstream = parts.upstream.for_stream();
    let watch = {
        let (stop, id, stopping) = (Arc::clone(&stop), id.clone(), Arc::clone(&parts.stopping));
        let cut = upstream.clone();
        let wanted_now = move || wanted_contains(wanted, &id);
        move || {
            while !stop.load(Ordering::Relaxed) {
                if stopping.load(Ordering::Relaxed) || !wanted_now() {
                    stop.store(true, Ordering::Relaxed);
                    // A read blocked on upstream returns now.
                    cut.cut();
                }
                thread::sleep(TICK);
            }
        }
    };
    let fetched = thread::scope(|scope| {
        scope.spawn(watch);
        let fetch = Fetch {
            upstream: &upstream,
            cache: &parts.cache,
            chunk_bytes: parts.chunk_bytes,
            retries: parts.retries,
            bytes_per_sec: parts.bytes_per_sec,
            stop: &stop,
        };
        let fetched = fetch.fetch(&track, store);
        stop.store(true, Ordering::Relaxed);
        fetched
    });
    match fetched {
        Ok(Fetched::Kept) => {
            info!("{id}: fetched ahead into the cache");
            true
        }
        Ok(Fetched::NotKept) => false,
        Err(e) => {
            info!(
                "{id}: fetching ahead failed, next try in {} s: {e}",
                RETRY.as_secs()
            );
            false
        }
    }
}

fn wanted_contains(wanted: &Mutex<Vec<VideoId>>, id: &VideoId) -> bool {
    wanted.lock().expect("ahead window poisoned").contains(id)
}
