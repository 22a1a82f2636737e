//! Ageing out what searches found: at the start and once a day, the
//! tracks only a search or a radio stored, untouched for `[store]
//! found_days`, go (`catalog/store/found.rs` says what keeps one). MPD's
//! queue keeps its songs: when MPD is set but cannot be read, nothing is
//! removed that time.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::Duration;

use log::{info, warn};

use crate::catalog::playlist_source;
use crate::catalog::store::open::Opener;
use crate::error::{Error, Result};
use crate::mpd::queue::Session;
use crate::time::unix_now;
use crate::video_id::VideoId;

/// How often the store is looked at again.
const EVERY: Duration = Duration::from_secs(24 * 3600);

/// What the `tidy` thread needs.
pub struct Tidy {
    pub store_path: PathBuf,
    /// How long a found track is kept.
    pub keep_for: Duration,
    /// MPD's queue, when `[mpd] address` is set.
    pub mpd: Option<Session>,
}

impl Tidy {
    /// Starts the `tidy` thread: a sweep now, then daily until `stopping`.
    pub fn start(self, stopping: Arc<AtomicBool>) -> Result<()> {
        thread::Builder::new()
            .name("tidy".into())
            .spawn(move || {
                self.sweep();
                while playlist_source::pause(EVERY, &stopping) {
                    self.sweep();
                }
            })
            .map(drop)
            .map_err(|e| Error::io("cannot start the tidy thread", e))
    }

    /// One sweep; what it did is said in the log.
    pub fn sweep(&self) {
        let queued = match &self.mpd {
            None => HashSet::new(),
            Some(session) => match session.queue() {
                Ok(files) => files.iter().filter_map(|f| proxied(&f.file)).collect(),
                Err(e) => {
                    info!("found tracks not aged out this time: MPD's queue unread: {e}");
                    return;
                }
            },
        };
        let before = unix_now() - i64::try_from(self.keep_for.as_secs()).unwrap_or(i64::MAX);
        let swept = Opener::Thread { read_only: false }
            .open(&self.store_path)
            .and_then(|mut opened| opened.store.age_out_found(before, &queued));
        match swept {
            Ok(gone) if gone.is_empty() => {}
            Ok(gone) => info!(
                "removed {} tracks only searches found, unplayed for {} days",
                gone.len(),
                self.keep_for.as_secs() / 86_400
            ),
            Err(e) => warn!("found tracks not aged out: {e}"),
        }
    }
}

/// The id of a queue entry of any icyproxy (`.../proxy/ID/...`): whatever
/// host or port it names, its song stays.
fn proxied(file: &str) -> Option<String> {
    let (_, after) = file.split_once("/proxy/")?;
    let id = after.split(['/', '?', '#']).next()?;
    VideoId::parse(id).map(|id| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_entry_of_any_host_names_its_song() {
        for file in [
            "http://127.0.0.1:8080/proxy/dQw4w9WgXcQ/?icy=0",
            "http://pi.local/proxy/dQw4w9WgXcQ/",
            "https://other:9/proxy/dQw4w9WgXcQ",
        ] {
            assert_eq!(proxied(file).as_deref(), Some("dQw4w9WgXcQ"), "{file}");
        }
        assert_eq!(proxied("music/mine.flac"), None);
        assert_eq!(proxied("http://x/proxy/not-an-id!/"), None);
    }
}
