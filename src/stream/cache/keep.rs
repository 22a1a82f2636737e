//! Keeping a song while it streams: every byte read from upstream, in
//! order, goes to a temp file too ([`Tee`]); when the stream ended at the
//! song's last byte the file is renamed into place and its entry written
//! ([`Keeper::finish`]). Anything else (a client that left, upstream that
//! failed, a write that failed) removes the temp file.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use log::{debug, warn};

use crate::catalog::store::TrackStore;
use crate::metrics::CacheEvent;
use crate::stream::cache::{AudioCache, TEMP_SUFFIX};
use crate::stream::shape::Shape;
use crate::video_id::VideoId;

/// A song being written into the cache.
pub struct Keeper<'c> {
    cache: &'c AudioCache,
    id: VideoId,
    total: u64,
    content_type: String,
    temp: PathBuf,
    /// `None` once a write failed.
    file: Option<File>,
    written: u64,
}

impl AudioCache {
    /// A keeper for `id` when the stream `shape` sends the whole song
    /// (status 200 of a known total, or a range from its first byte to its
    /// last) and there is room; `None` keeps nothing.
    pub fn keeper<'c>(
        &'c self,
        id: &VideoId,
        shape: &Shape,
        content_type: &str,
        store: &mut TrackStore,
    ) -> Option<Keeper<'c>> {
        let total = whole_song(shape)?;
        let number = self.reserve(total, store)?;
        let temp = self.dir.join(format!(".{id}.{number}{TEMP_SUFFIX}"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp);
        match file {
            Ok(file) => Some(Keeper {
                cache: self,
                id: id.clone(),
                total,
                content_type: content_type.to_owned(),
                temp,
                file: Some(file),
                written: 0,
            }),
            Err(e) => {
                self.release(total);
                self.stop(format!("cannot write in {}: {e}", self.dir.display()));
                None
            }
        }
    }
}

/// The song's length when `shape` sends all of it.
pub fn whole_song(shape: &Shape) -> Option<u64> {
    if !shape.accepts_ranges {
        return None;
    }
    match shape.content_range {
        None => shape.length,
        Some(range) => {
            let total = range.total?;
            (range.span() == (0, total)).then_some(total)
        }
    }
}

impl Keeper<'_> {
    /// Writes the next bytes read; a failed write stops the caching (one
    /// warning) and this keeper, never the stream.
    fn write(&mut self, bytes: &[u8]) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if let Err(e) = file.write_all(bytes) {
            self.file = None;
            let _ = std::fs::remove_file(&self.temp);
            self.cache
                .stop(format!("cannot write {}: {e}", self.temp.display()));
            return;
        }
        self.written += bytes.len() as u64;
    }

    /// The stream ended at the song's end: the file, once on disk with
    /// upstream's length, is renamed into place and its entry written.
    /// Whether the song is kept.
    pub fn finish(mut self, store: &mut TrackStore) -> bool {
        let Some(file) = self.file.take() else {
            return false;
        };
        if self.written != self.total {
            debug!(
                "cache: {}: {} of {} bytes, not kept",
                self.id, self.written, self.total
            );
            return false;
        }
        let kept = self.cache.kept_path(self.id.as_str());
        let placed = file
            .sync_data()
            .and_then(|()| file.metadata())
            .and_then(|m| match m.len() == self.total {
                true => std::fs::rename(&self.temp, &kept),
                false => Err(io::Error::other("file length is not upstream's")),
            });
        if let Err(e) = placed {
            self.cache
                .stop(format!("cannot keep {}: {e}", kept.display()));
            return false;
        }
        if let Err(e) = store.keep_song(&self.id, self.total, &self.content_type) {
            warn!("cache: {}: no entry written ({e}); not kept", self.id);
            let _ = std::fs::remove_file(&kept);
            return false;
        }
        self.cache.metrics.cache(CacheEvent::Kept);
        debug!("cache: {} kept ({} bytes)", self.id, self.total);
        true
    }
}

impl Drop for Keeper<'_> {
    fn drop(&mut self) {
        self.cache.release(self.total);
        // Renamed away when kept; otherwise partial.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// A body read through to a [`Keeper`] too (when there is one).
pub struct Tee<'k, 'c, R> {
    pub inner: R,
    pub keeper: Option<&'k mut Keeper<'c>>,
}

impl<R: Read> Read for Tee<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(keeper) = self.keeper.as_mut() {
            keeper.write(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::shape::Plan;
    use crate::wire::ContentRange;

    fn shape(range: Option<&str>, length: u64, accepts_ranges: bool) -> Shape {
        Shape {
            status: if range.is_some() { 206 } else { 200 },
            content_type: None,
            content_range: range.map(|r| ContentRange::parse(r).expect(r)),
            length: Some(length),
            accepts_ranges,
            plan: Plan::Plain {
                skip: 0,
                take: Some(length),
            },
        }
    }

    #[test]
    fn only_a_body_of_the_whole_song_is_kept() {
        assert_eq!(whole_song(&shape(None, 100, true)), Some(100));
        assert_eq!(
            whole_song(&shape(Some("bytes 0-99/100"), 100, true)),
            Some(100)
        );
        assert_eq!(whole_song(&shape(Some("bytes 1-99/100"), 99, true)), None);
        assert_eq!(whole_song(&shape(Some("bytes 0-98/100"), 99, true)), None);
        // No total known: the song's length is not.
        assert_eq!(whole_song(&shape(None, 100, false)), None);
    }
}
