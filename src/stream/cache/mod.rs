//! The audio cache: songs icyproxy read whole from upstream, kept on disk
//! so they play again with YouTube unreachable and no resolver run.
//!
//! A song is written to a temp file beside the kept ones while it streams
//! ([`keep::Keeper`]) and renamed into place only when its length is
//! upstream's; its entry (the store's `audio_cache` table) is written
//! after the rename. So a kill leaves a temp file (removed at the next
//! start) or a file without an entry (removed too), never an entry whose
//! file is partial; an entry whose file is missing or of another length is
//! dropped when it is looked up. Room is made before a song is written
//! (least recently played first, the library's liked songs last), so the
//! cache stays within `max_mb` and `min_free_mb` however many streams
//! write at once. A disk that fails a write stops the caching, never a
//! stream.
//!
//! `keep` writes a song as it streams, `serve` answers a kept song,
//! `fetch` reads one whole with no client (the next song ahead);
//! `settings` is `[cache]`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use log::{debug, info, warn};

use crate::catalog::store::TrackStore;
use crate::catalog::store::cached::{CacheTotals, Count, KeptSong};
use crate::metrics::{CacheEvent, Metrics};
use crate::video_id::VideoId;

pub mod fetch;
pub mod keep;
pub mod serve;
pub mod settings;

use settings::{CacheSettings, MB};

/// Kept songs are named `ID` plus this.
const KEPT_SUFFIX: &str = ".audio";
/// Temp files are named `.ID.N` plus this.
const TEMP_SUFFIX: &str = ".part";

/// The cache one server (or one command) uses.
pub struct AudioCache {
    dir: PathBuf,
    max_bytes: u64,
    min_free: u64,
    metrics: Arc<Metrics>,
    /// Bytes promised to songs being written now, and the next temp number.
    writing: Mutex<(u64, u64)>,
    /// Why caching stopped (a disk that failed), for `/health`.
    stopped: Mutex<Option<String>>,
    /// Whether the low-disk warning was given (once until there is room).
    low_disk: AtomicBool,
    /// Kept songs are served, none written (a database this process
    /// cannot write could not record them).
    serve_only: bool,
}

/// A kept song found for a request: its entry and its open file.
#[derive(Debug)]
pub struct Kept {
    pub song: KeptSong,
    pub file: File,
}

impl AudioCache {
    /// The cache of `[cache]`, as a command sees it: nothing is made or
    /// removed (a server may be writing).
    pub fn open(settings: &CacheSettings, metrics: Arc<Metrics>) -> AudioCache {
        AudioCache {
            dir: settings.dir.clone(),
            max_bytes: settings.max_bytes(),
            min_free: settings.min_free_bytes(),
            metrics,
            writing: Mutex::new((0, 0)),
            stopped: Mutex::new(None),
            low_disk: AtomicBool::new(false),
            serve_only: false,
        }
    }

    /// The same cache, serving what is kept and keeping nothing more.
    pub fn serve_only(mut self) -> AudioCache {
        self.serve_only = true;
        self
    }

    /// The server's cache at its start: its directory made, the temp files
    /// a kill left removed, files and entries made to agree ([`tidy`]).
    /// Stopped (with a warning) when the directory cannot be made.
    ///
    /// [`tidy`]: AudioCache::tidy
    pub fn start(
        settings: &CacheSettings,
        metrics: Arc<Metrics>,
        store: Option<&mut TrackStore>,
    ) -> AudioCache {
        let cache = AudioCache::open(settings, metrics);
        if !cache.on() {
            return cache;
        }
        if let Err(e) = std::fs::create_dir_all(&cache.dir) {
            cache.stop(format!("cannot create {}: {e}", cache.dir.display()));
            return cache;
        }
        for (path, name) in cache.files() {
            if is_temp_name(&name) {
                match std::fs::remove_file(&path) {
                    Ok(()) => info!("cache: removed {name}, a song left half-written"),
                    Err(e) => warn!("cache: cannot remove {}: {e}", path.display()),
                }
            }
        }
        if let Some(store) = store {
            let (removed, dropped) = cache.tidy(store);
            if removed + dropped > 0 {
                info!(
                    "cache: removed {removed} files without an entry, dropped {dropped} \
                     entries without their whole file"
                );
            }
        }
        cache
    }

    /// Whether songs are kept and served at all.
    pub fn on(&self) -> bool {
        self.max_bytes > 0
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes files and entries agree: a kept file without an entry (a
    /// kill between the rename and the entry) is removed, an entry without
    /// its whole file is dropped. Returns how many of each.
    pub fn tidy(&self, store: &mut TrackStore) -> (usize, usize) {
        let Ok(songs) = store.kept_songs() else {
            return (0, 0);
        };
        let mut dropped = 0;
        for song in &songs {
            if !self.whole(song) {
                dropped += usize::from(self.forget(&song.id, store));
            }
        }
        let mut removed = 0;
        for (path, name) in self.files() {
            let Some(id) = name.strip_suffix(KEPT_SUFFIX) else {
                continue;
            };
            if VideoId::parse(id).is_some() && !songs.iter().any(|s| s.id == id) {
                removed += usize::from(std::fs::remove_file(&path).is_ok());
            }
        }
        (removed, dropped)
    }

    /// The kept song `id`, opened, when its file is whole; an entry whose
    /// file is missing or of another length is dropped (the request then
    /// streams, and keeps the song again).
    pub fn find(&self, id: &VideoId, store: &mut TrackStore) -> Option<Kept> {
        if !self.on() {
            return None;
        }
        let song = store.kept_song(id).ok()??;
        let file = crate::files::open_existing(&self.kept_path(id.as_str()));
        match file {
            Ok(file) if file.metadata().is_ok_and(|m| m.len() == song.bytes) => {
                Some(Kept { song, file })
            }
            _ => {
                warn!("cache: {id}: its file is missing or not whole; dropped, streaming it");
                self.forget(id.as_str(), store);
                None
            }
        }
    }

    /// Whether `id` is kept whole (without opening it).
    pub fn has(&self, id: &VideoId, store: &TrackStore) -> bool {
        matches!(store.kept_song(id), Ok(Some(song)) if self.whole(&song))
    }

    /// Counts a stream of a song that is not kept; nothing when off.
    pub fn count_miss(&self, store: &mut TrackStore) {
        if !self.on() {
            return;
        }
        self.metrics.cache(CacheEvent::Miss);
        if let Err(e) = store.count_cache(Count::Miss) {
            debug!("cache: not counted: {e}");
        }
    }

    /// Counts a `GET` of a kept song (a hit), which is played now.
    pub fn count_hit(&self, id: &VideoId, store: &mut TrackStore) {
        self.metrics.cache(CacheEvent::Hit);
        if let Err(e) = store.played_kept(id) {
            debug!("{id}: play not recorded: {e}");
        }
    }

    /// Removes the kept song `id` (entry, then file); whether it was kept.
    pub fn forget(&self, id: &str, store: &mut TrackStore) -> bool {
        let had = store.forget_kept(id).unwrap_or_else(|e| {
            warn!("cache: cannot drop {id}: {e}");
            false
        });
        let path = self.kept_path(id);
        had | std::fs::remove_file(path).is_ok()
    }

    /// Kept songs, bytes, hits and misses, as the store counts them.
    pub fn totals(&self, store: &TrackStore) -> crate::error::Result<CacheTotals> {
        store.cache_totals()
    }

    /// Removes every kept song; how many and their bytes.
    pub fn clear(&self, store: &mut TrackStore) -> (usize, u64) {
        let songs = store.kept_songs().unwrap_or_default();
        let bytes = songs.iter().map(|s| s.bytes).sum();
        let n = songs.iter().filter(|s| self.forget(&s.id, store)).count();
        self.tidy(store);
        (n, bytes)
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn min_free_bytes(&self) -> u64 {
        self.min_free
    }

    /// Entries, bytes, hits and misses, and why caching stopped.
    pub fn health(&self, store: &TrackStore) -> serde_json::Value {
        let totals = store.cache_totals().unwrap_or_default();
        let CacheTotals {
            entries,
            bytes,
            hits,
            misses,
        } = totals;
        serde_json::json!({
            "on": self.on(),
            "entries": entries,
            "mb": (bytes as f64 / MB as f64 * 10.0).round() / 10.0,
            "hits": hits,
            "misses": misses,
            "warning": self.warning(),
        })
    }

    /// Why nothing is kept now, if something is wrong.
    pub fn warning(&self) -> Option<String> {
        let stopped = self.stopped.lock().expect("cache stop poisoned").clone();
        stopped.or_else(|| {
            self.low_disk.load(Ordering::Relaxed).then(|| {
                format!(
                    "cache: less than [cache] min_free_mb ({} MB) free on {}: nothing kept",
                    self.min_free / MB,
                    self.dir.display()
                )
            })
        })
    }

    /// Stops caching for this run, with one warning.
    fn stop(&self, why: String) {
        let mut stopped = self.stopped.lock().expect("cache stop poisoned");
        if stopped.is_none() {
            warn!("cache: {why}; no more songs are kept until icyproxy restarts");
            *stopped = Some(format!("cache stopped: {why}"));
        }
    }

    fn stopped(&self) -> bool {
        self.stopped.lock().expect("cache stop poisoned").is_some()
    }

    fn kept_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}{KEPT_SUFFIX}"))
    }

    /// Whether `song`'s file is there with its length.
    fn whole(&self, song: &KeptSong) -> bool {
        std::fs::symlink_metadata(self.kept_path(&song.id))
            .is_ok_and(|m| m.is_file() && m.len() == song.bytes)
    }

    /// The directory's entries, with their names.
    fn files(&self) -> Vec<(PathBuf, String)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| Some((e.path(), e.file_name().into_string().ok()?)))
            .collect()
    }

    /// Promises `need` bytes to a song about to be written, after making
    /// room for it: least recently played songs go (liked ones last) until
    /// the kept, the promised and `need` fit in `max_mb` and the disk keeps
    /// `min_free_mb`. `None` (nothing written) when that cannot be done.
    fn reserve(&self, need: u64, store: &mut TrackStore) -> Option<u64> {
        if !self.on() || self.serve_only || self.stopped() || need == 0 || need > self.max_bytes {
            return None;
        }
        let mut writing = self.writing.lock().expect("cache reservations poisoned");
        let songs = store.kept_songs().ok()?;
        let mut used: u64 = songs.iter().map(|s| s.bytes).sum();
        let mut evictable = songs.into_iter();
        loop {
            let free = match free_bytes(&self.dir) {
                Ok(free) => free,
                Err(e) => {
                    self.stop(format!(
                        "cannot read the free space of {}: {e}",
                        self.dir.display()
                    ));
                    return None;
                }
            };
            let promised = writing.0;
            let fits = used + promised + need <= self.max_bytes;
            let room = free.saturating_sub(promised + need) >= self.min_free;
            if fits && room {
                self.low_disk.store(false, Ordering::Relaxed);
                writing.0 += need;
                writing.1 += 1;
                return Some(writing.1);
            }
            let Some(song) = evictable.next() else {
                if !room && !self.low_disk.swap(true, Ordering::Relaxed) {
                    warn!("{}", self.warning().unwrap_or_default());
                }
                return None;
            };
            debug!("cache: {} removed to make room", song.id);
            self.forget(&song.id, store);
            self.metrics.cache(CacheEvent::Evicted);
            used = used.saturating_sub(song.bytes);
        }
    }

    /// Gives back what [`AudioCache::reserve`] promised.
    fn release(&self, bytes: u64) {
        let mut writing = self.writing.lock().expect("cache reservations poisoned");
        writing.0 = writing.0.saturating_sub(bytes);
    }
}

/// Whether `name` is one of [`keep`]'s temp files, `.ID.N.part`: only
/// those are removed at start (the directory may hold other files).
fn is_temp_name(name: &str) -> bool {
    let inner = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX));
    let Some((id, number)) = inner.and_then(|n| n.rsplit_once('.')) else {
        return false;
    };
    VideoId::parse(id).is_some() && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
}

/// Bytes an unprivileged writer may still use on `dir`'s disk.
// The counts are u64 here, u32 on a 32-bit Pi.
#[allow(clippy::useless_conversion)]
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    Ok(u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temp_files_of_ours_are_taken_for_ours() {
        assert!(is_temp_name(".dQw4w9WgXcQ.12.part"));
        assert!(is_temp_name(".-abc_DEF-12.1.part"));
        for other in [
            ".notes.part",
            ".dQw4w9WgXcQ..part",
            ".dQw4w9WgXcQ.x.part",
            "dQw4w9WgXcQ.1.part",
            ".dQw4w9WgXcQ.1.part.old",
            ".hidden",
        ] {
            assert!(!is_temp_name(other), "{other}");
        }
    }
}
