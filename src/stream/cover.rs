//! Cover art for MPD's `albumart`: the track's thumbnail, fetched once and
//! kept in a bounded on-disk cache. A download becomes a cache entry only
//! when complete (written to a temporary file, then renamed).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use log::{debug, warn};

use crate::error::{Error, Result};
use crate::stream::upstream::Upstream;
use crate::video_id::VideoId;

/// Larger images are refused (a thumbnail is tens of KiB, YouTube's
/// largest a few hundred).
const MAX_IMAGE_BYTES: u64 = 2 * 1024 * 1024;
const FALLBACK_TYPE: &str = "image/jpeg";

/// The cache directory and its size limit.
pub struct CoverCache {
    dir: PathBuf,
    max_bytes: u64,
    /// One download at a time per id: a second request for the same art
    /// waits and then reads the cache.
    fetching: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

/// The image type `bytes` begin as: JPEG, PNG, GIF or WebP; `None` for
/// anything else (SVG, HTML, text).
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', ..] => Some("image/png"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
}

/// FNV-1a: a stable, dependency-free hash for cache file names.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl CoverCache {
    pub fn new(dir: &Path, max_bytes: u64) -> CoverCache {
        CoverCache {
            dir: dir.to_owned(),
            max_bytes,
            fetching: Mutex::new(HashMap::new()),
        }
    }

    /// Entries are named by id and by the thumbnail URL, so a track given
    /// a new thumbnail gets the new image at once.
    fn image_path(&self, id: &VideoId, url: &str) -> PathBuf {
        self.dir.join(format!("{id}-{:016x}.img", fnv1a(url)))
    }

    fn type_path(&self, id: &VideoId, url: &str) -> PathBuf {
        self.image_path(id, url).with_extension("type")
    }

    /// The image and its content type: from the cache, or fetched from
    /// `url` and cached. Any failure is a `404`: MPD then has no art.
    pub fn get(&self, id: &VideoId, url: &str, upstream: &Upstream) -> Result<(Vec<u8>, String)> {
        if let Some(hit) = self.cached(id, url) {
            return Ok(hit);
        }
        let key = id.to_string();
        let gate = Arc::clone(
            self.fetching
                .lock()
                .expect("cover fetch map poisoned")
                .entry(key.clone())
                .or_default(),
        );
        let result = {
            let _one_at_a_time = gate.lock().unwrap_or_else(|e| e.into_inner());
            match self.cached(id, url) {
                Some(hit) => Ok(hit), // fetched while we waited
                None => self.fetch(id, url, upstream),
            }
        };
        let mut fetching = self.fetching.lock().expect("cover fetch map poisoned");
        if Arc::strong_count(&gate) <= 2 {
            fetching.remove(&key);
        }
        result
    }

    /// Whether the image for `id` at `url` is in the cache (no I/O beyond
    /// a stat: warming asks this of every queued track).
    pub fn has(&self, id: &VideoId, url: &str) -> bool {
        self.image_path(id, url).is_file()
    }

    fn cached(&self, id: &VideoId, url: &str) -> Option<(Vec<u8>, String)> {
        let read = |path: PathBuf| -> Option<Vec<u8>> {
            let mut bytes = Vec::new();
            crate::files::open_existing(&path)
                .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut bytes))
                .ok()?;
            Some(bytes)
        };
        let bytes = read(self.image_path(id, url))?;
        let kind = read(self.type_path(id, url))
            .and_then(|k| String::from_utf8(k).ok())
            .unwrap_or_else(|| FALLBACK_TYPE.to_owned());
        Some((bytes, kind))
    }

    fn fetch(&self, id: &VideoId, url: &str, upstream: &Upstream) -> Result<(Vec<u8>, String)> {
        let (bytes, kind) = upstream.fetch_small(url, MAX_IMAGE_BYTES).map_err(|e| {
            debug!("{id}: cover art: {e}");
            Error::NotFound("no cover art".into())
        })?;
        // Only what the bytes show to be JPEG, PNG, GIF or WebP is served
        // (never SVG, which can carry script, nor whatever a header says).
        let Some(kind) = image_type(&bytes) else {
            debug!(
                "{id}: cover art refused: not a JPEG, PNG, GIF or WebP image (said {})",
                kind.as_deref().unwrap_or("nothing")
            );
            return Err(Error::NotFound("no cover art".into()));
        };
        let kind = kind.to_owned();
        if let Err(e) = self.store(id, url, &bytes, &kind) {
            warn!("cover cache {}: {e}", self.dir.display());
        }
        Ok((bytes, kind))
    }

    fn store(&self, id: &VideoId, url: &str, bytes: &[u8], kind: &str) -> std::io::Result<()> {
        if bytes.len() as u64 > self.max_bytes {
            return Ok(()); // would evict everything else; serve it uncached
        }
        std::fs::create_dir_all(&self.dir)?;
        // The type first, the image last: an image present means complete.
        let mode = crate::files::SHARED_MODE;
        crate::files::write_atomic(&self.type_path(id, url), kind.as_bytes(), mode)?;
        crate::files::write_atomic(&self.image_path(id, url), bytes, mode)?;
        self.evict()
    }

    /// Removes the oldest images until the cache fits `max_bytes`.
    fn evict(&self) -> std::io::Result<()> {
        let mut images: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "img") {
                let meta = entry.metadata()?;
                let when = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                images.push((when, meta.len(), path));
            }
        }
        let mut total: u64 = images.iter().map(|(_, len, _)| len).sum();
        images.sort();
        for (_, len, path) in images {
            if total <= self.max_bytes {
                break;
            }
            std::fs::remove_file(&path)?;
            let _ = std::fs::remove_file(path.with_extension("type"));
            total = total.saturating_sub(len);
        }
        Ok(())
    }
}
