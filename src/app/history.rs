//! Songs heard through icyproxy, reported to the account's YouTube
//! history (`[youtube] report_history`, with cookies), as the web player
//! reports them: a stream played for 30 s or more, once per play (a
//! seek or a resumed stream of the same song within ten minutes is the
//! same play). Off by default: it tells YouTube what is played.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use log::info;

use crate::catalog::music::Music;
use crate::error::{Error, Result};
use crate::video_id::VideoId;

/// How long a stream must play to count as heard.
pub const HEARD_SECS: u64 = 30;
/// Plays of one song closer together than this are one play.
const SAME_PLAY: Duration = Duration::from_secs(600);
/// Reports waiting at most (a LAN client streaming many songs at once
/// cannot grow this: past it, reports are dropped).
const WAITING: usize = 16;

/// Where heard songs are sent; the reporting thread reads them.
#[derive(Debug, Clone)]
pub struct History {
    heard: Sender<VideoId>,
}

impl History {
    /// Starts the reporting thread; it ends when `stopping` is set.
    pub fn start(music: Music, stopping: Arc<AtomicBool>) -> Result<History> {
        let (heard, queue) = crossbeam_channel::bounded(WAITING);
        thread::Builder::new()
            .name("history".into())
            .spawn(move || report(&music, &queue, &stopping))
            .map_err(|e| Error::io("cannot start the history thread", e))?;
        Ok(History { heard })
    }

    /// A stream of `id` played `secs` seconds: reported when heard.
    pub fn streamed(&self, id: &VideoId, secs: u64) {
        if secs < HEARD_SECS {
            return;
        }
        if let Err(TrySendError::Full(id)) = self.heard.try_send(id.clone()) {
            log::debug!("history: {id} not reported, too many waiting");
        }
    }
}

fn report(music: &Music, queue: &Receiver<VideoId>, stopping: &AtomicBool) {
    let mut reported: HashMap<VideoId, Instant> = HashMap::new();
    while !stopping.load(Ordering::Relaxed) {
        let id = match queue.recv_timeout(Duration::from_millis(500)) {
            Ok(id) => id,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        reported.retain(|_, at| at.elapsed() < SAME_PLAY);
        if reported.contains_key(&id) {
            info!("history: {id} played again within 10 min: the same play, not reported again");
            continue;
        }
        match music.report_heard(&id) {
            Ok(()) => {
                info!("history: {id} reported as heard");
                reported.insert(id, Instant::now());
            }
            Err(e) => music.failed(&e),
        }
    }
}
