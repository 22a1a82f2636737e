//! Fetching a song whole into the cache with no client: the next song in
//! MPD's queue, read ahead at about a listener's pace, so a network drop
//! or a refused URL between songs goes unheard. The same pieces, resumes
//! and keeping as a stream (`shape`, [`PieceReader`], [`Keeper`]).
//!
//! [`Keeper`]: super::keep::Keeper

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::catalog::model::Track;
use crate::catalog::store::TrackStore;
use crate::error::{Error, Result};
use crate::stream::cache::AudioCache;
use crate::stream::cache::keep::Tee;
use crate::stream::pieces::PieceReader;
use crate::stream::shape::{self, Ask, Plan};
use crate::stream::upstream::{Piece, Upstream};
use crate::wire::ByteRange;

/// The longest one pause of the pacing: a stop is seen within it.
const PAUSE_MOST: Duration = Duration::from_millis(200);
/// Bytes read at a time.
const READ_BYTES: usize = 64 * 1024;

/// How a song is fetched ahead.
pub struct Fetch<'a> {
    /// A pool of its own ([`Upstream::for_stream`]).
    pub upstream: &'a Upstream,
    pub cache: &'a AudioCache,
    pub chunk_bytes: u64,
    pub retries: u32,
    /// The most bytes read per second.
    pub bytes_per_sec: u64,
    /// Set when the fetch is no longer wanted (a stop, or MPD moved on).
    pub stop: &'a AtomicBool,
}

/// How a fetch ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// Read whole and kept.
    Kept,
    /// Not kept: no room, no known length, or stopped.
    NotKept,
}

impl Fetch<'_> {
    /// Reads `track` whole into the cache.
    pub fn fetch(&self, track: &Track, store: &mut TrackStore) -> Result<Fetched> {
        let url = track.stream_url.as_deref().ok_or(Error::BadStreamUrl {
            why: "none stored yet",
            cause: None,
        })?;
        let headers = &track.fetch.http_headers;
        let first_range = ByteRange::span_header(0, self.chunk_bytes);
        let first = self.upstream.get(url, Some(&first_range), headers)?;
        let ask = Ask {
            icy: false,
            http11: true,
            head_only: false,
            range: None,
        };
        let shape =
            shape::shape(ask, &first.head).map_err(|m| Error::UpstreamInvalid(format!("{m:?}")))?;
        let (Some(body), Some(mut keeper)) = (
            first.body,
            self.cache
                .keeper(&track.video_id, &shape, &shape.content_type_sent(), store),
        ) else {
            return Ok(Fetched::NotKept);
        };
        let complete = match shape.plan {
            Plan::Plain { take, .. } => {
                let body = body.take(take.unwrap_or(u64::MAX));
                self.paced(Tee {
                    inner: body,
                    keeper: Some(&mut keeper),
                })
            }
            Plan::Pieces {
                start,
                first_end,
                end,
                total,
            } => {
                let first = Piece {
                    body,
                    start,
                    end: first_end,
                    total: Some(total),
                };
                let mut open = |from: u64, to: u64| {
                    self.upstream
                        .open_piece(url, from, to, headers)?
                        .of_total(total)
                };
                let reader =
                    PieceReader::new(first, end, self.chunk_bytes, self.retries, &mut open)
                        .stop_when(self.stop);
                self.paced(Tee {
                    inner: reader,
                    keeper: Some(&mut keeper),
                })
            }
        }?;
        match complete && keeper.finish(store) {
            true => Ok(Fetched::Kept),
            false => Ok(Fetched::NotKept),
        }
    }

    /// Reads `body` to its end, no faster than `bytes_per_sec`; `false`
    /// when stopped first.
    fn paced(&self, mut body: impl Read) -> Result<bool> {
        let started = Instant::now();
        let mut buf = vec![0u8; READ_BYTES];
        let mut read = 0u64;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let n = match body.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("fetching ahead", e)),
            };
            read += n as u64;
            let due = Duration::from_secs_f64(read as f64 / self.bytes_per_sec.max(1) as f64);
            while started.elapsed() < due && !self.stop.load(Ordering::Relaxed) {
                std::thread::sleep(due.saturating_sub(started.elapsed()).min(PAUSE_MOST));
            }
        }
    }
}
