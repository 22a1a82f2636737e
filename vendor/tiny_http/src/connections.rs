//! icyproxy patch 11: deadlines for request heads, and a cap on open client
//! connections (see PATCHES.md).
//!
//! tiny_http read request heads with no deadline: a client that connected
//! and sent nothing held its socket and its thread for ever, and enough of
//! them took every file descriptor, so that `accept()` failed (EMFILE) for
//! everyone else. Now:
//! - a connection must send a whole request head within `header_timeout`
//!   of being accepted; between two requests a keep-alive connection may
//!   stay silent for `idle_timeout`, then gets `header_timeout` from the
//!   first byte of its next head. These apply only while a head is awaited:
//!   once a request is handed out, nothing times its connection out (a
//!   response may stream for minutes while the client sends nothing, and
//!   the next head is only read once it is complete, see patch 4).
//! - at most `max_connections` are open at once: a new connection closes
//!   the one that has waited longest for a request head (its first, or its
//!   next one on keep-alive). A connection with a request in progress is
//!   never closed for this; when every open one has one, the new
//!   connection is closed instead.
//!
//! One [`Connections`] may be shared by the servers started in turn on one
//! listener, so that the cap and the counts span a restart. Dropping a
//! [`crate::Server`] closes its connections that wait for a request and
//! ends the others once their response is complete: nothing reads its
//! queue any more.

use std::collections::{BTreeSet, HashMap};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::connection::Connection;

/// icyproxy patch: limits on client connections; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A whole request head must arrive within this long: of the accept
    /// for a connection's first request, of the head's first byte for
    /// later ones. A head that has begun is answered `408`; a connection
    /// that sent nothing is closed without a word.
    pub header_timeout: Option<Duration>,
    /// A keep-alive connection silent this long after a response is closed.
    pub idle_timeout: Option<Duration>,
    /// The most client connections open at once.
    pub max_connections: Option<usize>,
}

/// icyproxy patch: what the client connections are doing, and how many
/// were closed by each rule since [`Connections::new`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Connections open now, not counting those already closed by a rule
    /// (whose socket goes when its last user lets go of it).
    pub open: usize,
    /// `max_connections`.
    pub max: Option<usize>,
    /// Closed: no whole request head within `header_timeout`.
    pub header_timeouts: u64,
    /// Closed: silent for `idle_timeout` between two requests.
    pub idle_timeouts: u64,
    /// Closed at the cap to admit a new connection: of those waiting for a
    /// request head, the one waiting longest.
    pub evicted: u64,
    /// New connections closed at once: the cap was reached and every open
    /// connection had a request in progress.
    pub refused: u64,
    /// Closed while waiting for a request because their server was dropped
    /// (a listener restart).
    pub closed_with_server: u64,
}

/// icyproxy patch: the client connections of one or more servers, with the
/// limits they are held to.
pub struct Connections {
    limits: ConnectionLimits,
    registry: Mutex<Registry>,
    header_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
    evicted: AtomicU64,
    refused: AtomicU64,
    closed_with_server: AtomicU64,
    /// The cap has been reached once (said once in the log).
    cap_reached: AtomicBool,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    next_server: u64,
    /// Every connection whose thread (its `Slot`) still lives.
    entries: HashMap<u64, Entry>,
    /// Those waiting for a request head, the longest waiting first.
    waiting: BTreeSet<(Instant, u64)>,
    /// Entries not closed.
    open: usize,
}

struct Entry {
    /// Not kept alive by the registry (the socket closes with its last
    /// user): for shutting it down.
    socket: Weak<Connection>,
    server: u64,
    state: State,
    /// Its server is gone: close instead of reading another request.
    retired: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a request head (or reading one) since then.
    Waiting(Instant),
    /// A request has been handed out and is not answered yet.
    Busy,
    /// Closed by a rule or given up by its thread; the descriptor goes
    /// when the thread lets go of it, soon.
    Closed,
}

impl Registry {
    /// Moves connection `id` to `state`, keeping the index and the count.
    fn set(&mut self, id: u64, state: State) {
        let entry = match self.entries.get_mut(&id) {
            Some(entry) => entry,
            None => return,
        };
        match entry.state {
            State::Waiting(since) => {
                self.waiting.remove(&(since, id));
            }
            State::Closed => self.open += 1,
            State::Busy => {}
        }
        match state {
            State::Waiting(since) => {
                self.waiting.insert((since, id));
            }
            State::Closed => self.open -= 1,
            State::Busy => {}
        }
        entry.state = state;
    }

    /// Closes connection `id` now: its socket is shut down, which ends
    /// its thread's read.
    fn close(&mut self, id: u64) {
        self.set(id, State::Closed);
        if let Some(socket) = self.entries.get(&id).and_then(|e| e.socket.upgrade()) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

impl Connections {
    pub fn new(limits: ConnectionLimits) -> Arc<Connections> {
        Arc::new(Connections {
            limits,
            registry: Mutex::new(Registry::default()),
            header_timeouts: AtomicU64::new(0),
            idle_timeouts: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            closed_with_server: AtomicU64::new(0),
            cap_reached: AtomicBool::new(false),
        })
    }

    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    pub fn stats(&self) -> ConnectionStats {
        let open = self.lock().open;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ConnectionStats {
            open,
            max: self.limits.max_connections,
            header_timeouts: get(&self.header_timeouts),
            idle_timeouts: get(&self.idle_timeouts),
            evicted: get(&self.evicted),
            refused: get(&self.refused),
            closed_with_server: get(&self.closed_with_server),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A number for a new server's connections.
    pub(crate) fn new_server(&self) -> u64 {
        let mut registry = self.lock();
        registry.next_server += 1;
        registry.next_server
    }

    /// Counts a connection just accepted by `server`, making room at the
    /// cap; `None`: refused (every open connection has a request in
    /// progress), close it.
    pub(crate) fn admit(self: &Arc<Self>, socket: &Arc<Connection>, server: u64) -> Option<Slot> {
        let now = Instant::now();
        let mut registry = self.lock();
        if let Some(max) = self.limits.max_connections {
            if registry.open >= max {
                if !self.cap_reached.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "{} client connections open, the most allowed: from now on each new one \
                         closes the one waiting longest for a request",
                        max
                    );
                }
                match registry.waiting.iter().next().copied() {
                    Some((_, oldest)) => {
                        registry.close(oldest);
                        self.evicted.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        self.refused.fetch_add(1, Ordering::Relaxed);
                        log::debug!("{} client connections, all busy: refusing a new one", max);
                        return None;
                    }
                }
            }
        }
        registry.next_id += 1;
        let id = registry.next_id;
        registry.entries.insert(
            id,
            Entry {
                socket: Arc::downgrade(socket),
                server,
                state: State::Closed,
                retired: false,
            },
        );
        registry.set(id, State::Waiting(now));
        Some(Slot {
            connections: Arc::clone(self),
            id,
            accepted: now,
        })
    }

    /// `server` is gone: its connections waiting for a request are closed
    /// now, the others once their response is complete.
    pub(crate) fn close_server(&self, server: u64) {
        let mut registry = self.lock();
        let mut idle = Vec::new();
        for (id, entry) in registry.entries.iter_mut() {
            if entry.server == server {
                entry.retired = true;
                if let State::Waiting(_) = entry.state {
                    idle.push(*id);
                }
            }
        }
        for id in &idle {
            registry.close(*id);
        }
        drop(registry);
        let closed = idle.len() as u64;
        if closed > 0 {
            log::debug!(
                "closed {} idle client connections of a stopped server",
                closed
            );
        }
        self.closed_with_server.fetch_add(closed, Ordering::Relaxed);
    }

    /// Sets the state of connection `id`; `false` if it must close instead.
    fn set(&self, id: u64, state: State) -> bool {
        let mut registry = self.lock();
        let open = match registry.entries.get(&id) {
            Some(entry) => entry.state != State::Closed && !entry.retired,
            None => return false,
        };
        registry.set(id, if open { state } else { State::Closed });
        open
    }
}

/// icyproxy patch: one connection's place in its [`Connections`], held by
/// the thread that reads its requests.
pub(crate) struct Slot {
    connections: Arc<Connections>,
    id: u64,
    accepted: Instant,
}

impl Slot {
    pub(crate) fn limits(&self) -> ConnectionLimits {
        self.connections.limits
    }

    pub(crate) fn accepted(&self) -> Instant {
        self.accepted
    }

    /// The previous response is complete; the connection waits for its
    /// next request head. `false`: it was closed meanwhile, end it.
    pub(crate) fn waiting(&self) -> bool {
        self.connections
            .set(self.id, State::Waiting(Instant::now()))
    }

    /// A request head has been read and is about to be handed out.
    /// `false`: the connection was closed meanwhile, drop the request.
    pub(crate) fn busy(&self) -> bool {
        self.connections.set(self.id, State::Busy)
    }

    /// The connection is closed for a deadline: `idle` between requests,
    /// else for a request head.
    pub(crate) fn timed_out(&self, idle: bool) {
        let counter = match idle {
            true => &self.connections.idle_timeouts,
            false => &self.connections.header_timeouts,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for Slot {
    /// The thread reads no more requests, and has seen its last response
    /// complete (`ClientConnection`'s fields, its buffered writer first,
    /// are dropped before this one): the connection is closed. The socket
    /// is shut down too, so that a thread still peeking at it (icyproxy's
    /// client watch) lets go of it now, not when the client leaves.
    fn drop(&mut self) {
        let mut registry = self.connections.lock();
        registry.close(self.id);
        registry.entries.remove(&self.id);
    }
}

/// icyproxy patch: raises this process's soft limit on open files to its
/// hard limit; returns the soft limit now in force (unchanged when it
/// cannot be raised, for example under a seccomp filter).
#[cfg(unix)]
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(std::io::Error::from)?;
    if soft >= hard {
        return Ok(u64::from(soft));
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => Ok(u64::from(hard)),
        Err(e) => {
            log::debug!(
                "cannot raise the open-file limit from {} to {}: {}",
                soft,
                hard,
                e
            );
            Ok(u64::from(soft))
        }
    }
}

/// icyproxy patch: not available here.
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    /// A connected pair: the server's side, as the registry sees it, and
    /// the client's.
    fn pair(listener: &TcpListener) -> (Arc<Connection>, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Arc::new(Connection::from(server)), client)
    }

    /// Whether the client side sees its connection closed (EOF or reset)
    /// within 5 s.
    fn closed(client: &mut TcpStream) -> bool {
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut one = [0u8; 1];
        matches!(client.read(&mut one), Ok(0) | Err(_))
    }

    fn still_open(client: &mut TcpStream) -> bool {
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut one = [0u8; 1];
        matches!(client.read(&mut one), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    #[test]
    fn at_the_cap_the_longest_waiting_goes_and_busy_ones_stay() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let connections = Connections::new(ConnectionLimits {
            max_connections: Some(3),
            ..Default::default()
        });
        let server = connections.new_server();
        let (a, mut a_client) = pair(&listener);
        let (b, mut b_client) = pair(&listener);
        let (c, mut c_client) = pair(&listener);
        let a_slot = connections.admit(&a, server).unwrap();
        let b_slot = connections.admit(&b, server).unwrap();
        let c_slot = connections.admit(&c, server).unwrap();
        assert!(a_slot.busy(), "a has a request in progress");
        assert!(c_slot.waiting());
        assert_eq!(connections.stats().open, 3);

        // b has waited longest without a request: it makes room for d.
        let (d, mut d_client) = pair(&listener);
        let d_slot = connections.admit(&d, server).unwrap();
        assert!(closed(&mut b_client));
        assert!(!b_slot.busy(), "b's head, read meanwhile, is dropped");
        assert!(still_open(&mut a_client) && still_open(&mut c_client));
        // Then c (its wait began before d's).
        let (e, _e_client) = pair(&listener);
        let _e_slot = connections.admit(&e, server).unwrap();
        assert!(closed(&mut c_client));
        assert!(still_open(&mut d_client));

        // Every open one busy: the next is refused.
        assert!(d_slot.busy() && _e_slot.busy());
        let (f, _f_client) = pair(&listener);
        assert!(connections.admit(&f, server).is_none());
        assert!(still_open(&mut a_client) && still_open(&mut d_client));
        drop((b_slot, c_slot, b, c));
        let stats = connections.stats();
        assert_eq!(
            (stats.open, stats.evicted, stats.refused, stats.max),
            (3, 2, 1, Some(3))
        );
    }

    #[test]
    fn a_dropped_server_closes_its_waiting_connections_and_retires_the_busy_ones() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let connections = Connections::new(ConnectionLimits::default());
        let (old, new) = (connections.new_server(), connections.new_server());
        let (waiting, mut waiting_client) = pair(&listener);
        let (busy, mut busy_client) = pair(&listener);
        let (other, mut other_client) = pair(&listener);
        let _w = connections.admit(&waiting, old).unwrap();
        let b = connections.admit(&busy, old).unwrap();
        let _o = connections.admit(&other, new).unwrap();
        assert!(b.busy());
        connections.close_server(old);
        assert!(closed(&mut waiting_client));
        assert!(
            still_open(&mut busy_client),
            "a response in progress goes on"
        );
        assert!(still_open(&mut other_client), "another server's connection");
        assert!(!b.waiting(), "after its response, the busy one ends");
        assert_eq!(connections.stats().closed_with_server, 1);
    }

    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let now = raise_open_files_limit().unwrap();
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((now, u64::from(soft)), (u64::from(hard), u64::from(hard)));
    }
}
