//! The front door (`[front] listen`): a server that speaks MPD's
//! protocol. Each client gets its own connection to the real MPD, and
//! every command the front door does not answer goes to MPD unchanged,
//! its answer back byte for byte (`mpd::relay`). It answers, itself, what
//! finds YouTube Music: the virtual directory (`tree`), searches merged
//! after MPD's songs, `add` of its songs (tagged), stickers on them
//! (`session`). A thread per connection, at most `max_connections`.

mod listing;
mod search;
mod session;
mod songs;
mod stickers;
mod tree;

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use log::{debug, info, warn};

use crate::app::entries::QueueEntries;
use crate::catalog::lookup::TrackSource;
use crate::catalog::playlist_source::Sources;
use crate::error::{Error, Result};
use crate::mpd::settings::FrontSettings;
use crate::video_id::VideoId;

/// How often the accept loop looks at the stop flag.
const TICK: Duration = Duration::from_millis(200);
/// A connection thread's stack: the reader's TLS and SQLite fit well in it.
const STACK: usize = 512 << 10;
/// Recent searches listed under `Search/`.
const SEARCHES: usize = 10;

/// What every connection shares.
pub struct Door {
    pub parts: FrontParts,
    /// The latest searches: the query, and the ids found.
    searches: Mutex<VecDeque<(String, Vec<VideoId>)>>,
    leads: Mutex<tree::Leads>,
    status: Arc<FrontStatus>,
    /// All connections' calls together: four connections' worth, so many
    /// clients at once cannot spend the owner's cookies many times over.
    pub all_calls: Mutex<crate::app::budget::MinuteBudget>,
}

/// How many connections' budgets all of them share.
pub const SHARED_BUDGETS: usize = 4;

/// What `/health` says of the front door (`"front"`).
#[derive(Debug)]
pub struct FrontStatus {
    pub addr: SocketAddr,
    /// Clients connected now.
    pub live: AtomicUsize,
    /// Clients served since the start.
    pub served: AtomicU64,
    /// Clients closed at once at `max_connections`.
    pub turned_away: AtomicU64,
}

impl FrontStatus {
    pub fn health(&self) -> serde_json::Value {
        serde_json::json!({
            "listen": self.addr.to_string(),
            "connections": self.live.load(Ordering::Relaxed),
            "served": self.served.load(Ordering::Relaxed),
            "turned_away": self.turned_away.load(Ordering::Relaxed),
        })
    }
}

/// What a call to YouTube Music is made with.
pub struct Reading<'a> {
    pub sources: &'a Sources,
    pub tracks: &'a TrackSource,
}

/// What `App::start` hands the front door, shared by every connection.
pub struct FrontParts {
    pub settings: FrontSettings,
    pub mpd_address: String,
    pub entries: QueueEntries,
    pub sources: Sources,
    pub tracks: Arc<TrackSource>,
    pub store_path: PathBuf,
    pub stopping: Arc<AtomicBool>,
}

/// The running front door.
pub struct FrontDoor {
    pub addr: SocketAddr,
    pub status: Arc<FrontStatus>,
}

/// Binds `[front] listen` and starts accepting; `None` when it is empty.
pub fn start(parts: FrontParts) -> Result<Option<FrontDoor>> {
    let Some(listen) = parts.settings.listen().map(str::to_owned) else {
        return Ok(None);
    };
    let listener = TcpListener::bind(&listen).map_err(|e| {
        Error::Config(format!(
            "[front] listen: cannot listen on {listen}: {e} (another program on that port? \
             MPD itself listens on 6600)"
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the front door's address", e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("cannot set up the front door", e))?;
    let status = Arc::new(FrontStatus {
        addr,
        live: AtomicUsize::new(0),
        served: AtomicU64::new(0),
        turned_away: AtomicU64::new(0),
    });
    let door = Arc::new(Door {
        searches: Mutex::new(VecDeque::new()),
        leads: Mutex::new(tree::Leads::default()),
        all_calls: Mutex::new(crate::app::budget::MinuteBudget::new(
            parts.settings.reader_per_minute * SHARED_BUDGETS,
            "[front] reader_per_minute, times 4 for all connections",
        )),
        status: Arc::clone(&status),
        parts,
    });
    thread::Builder::new()
        .name("front-door".into())
        .spawn(move || accept(&listener, &door))
        .map_err(|e| Error::io("cannot start the front door", e))?;
    info!(
        "front door listening on {addr} (MPD clients: YouTube Music in their browser and search)"
    );
    Ok(Some(FrontDoor { addr, status }))
}

fn accept(listener: &TcpListener, door: &Arc<Door>) {
    use nix::poll::{PollFd, PollFlags, poll};
    use std::os::fd::AsFd;
    let mut full_said = false;
    while !door.parts.stopping.load(Ordering::SeqCst) {
        let ready = {
            let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
            poll(
                &mut fds,
                nix::poll::PollTimeout::from(TICK.as_millis() as u16),
            )
        };
        if !matches!(ready, Ok(n) if n > 0) {
            continue;
        }
        let (client, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                // Out of descriptors: wait a tick rather than spin.
                debug!("front door: accept failed: {e}");
                thread::sleep(TICK);
                continue;
            }
        };
        let max = door.parts.settings.max_connections;
        let status = &door.status;
        if status.live.load(Ordering::SeqCst) >= max {
            status.turned_away.fetch_add(1, Ordering::Relaxed);
            // Closed at once, as MPD closes past its own max_connections.
            match std::mem::replace(&mut full_said, true) {
                false => warn!(
                    "front door: {max} connections open ([front] max_connections): \
                     {peer} turned away"
                ),
                true => debug!("front door: {peer} turned away"),
            }
            drop(client);
            continue;
        }
        full_said = false;
        status.live.fetch_add(1, Ordering::SeqCst);
        status.served.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::clone(door);
        let started = thread::Builder::new()
            .name("front-conn".into())
            .stack_size(STACK)
            .spawn(move || {
                session::serve(&shared, client, peer);
                shared.status.live.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = started {
            status.live.fetch_sub(1, Ordering::SeqCst);
            warn!("front door: cannot start a connection thread: {e}");
        }
    }
}

impl Door {
    fn reading(&self) -> Reading<'_> {
        Reading {
            sources: &self.parts.sources,
            tracks: &self.parts.tracks,
        }
    }

    /// Remembers a search for `Search/` (newest first, at most [`SEARCHES`]).
    fn remember_search(&self, query: &str, ids: Vec<VideoId>) {
        let mut searches = self.searches.lock().expect("searches lock poisoned");
        searches.retain(|(q, _)| q != query);
        searches.push_front((query.to_owned(), ids));
        searches.truncate(SEARCHES);
    }

    fn searches(&self) -> Vec<(String, Vec<VideoId>)> {
        let searches = self.searches.lock().expect("searches lock poisoned");
        searches.iter().cloned().collect()
    }

    fn lead(&self, path: &str) -> Option<String> {
        self.leads.lock().expect("leads lock poisoned").get(path)
    }

    fn remember_lead(&self, path: String, browse_id: String) {
        self.leads
            .lock()
            .expect("leads lock poisoned")
            .remember(path, browse_id);
    }
}
