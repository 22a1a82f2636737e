//! The accept loop, the three worker pools and request dispatch. The
//! composition root (`app`) builds what the workers share and binds the
//! listener; this file only serves.
//!
//! tiny_http parses requests on its own connection threads; our accept loop
//! takes each parsed request and hands it on without ever blocking:
//! - `GET /proxy/{id}` goes to a stream worker through a zero-capacity
//!   channel, so it is taken only by a worker that is idle right now;
//!   otherwise the client gets `503` at once (a stream holds its worker for
//!   minutes, so queueing would mean waiting for a song to end).
//! - `HEAD /proxy/{id}` (which asks upstream) goes to a small probe pool;
//! - a stream or probe worker that finds the id needs a resolver run
//!   (unknown, or listed without a URL) hands the request to the resolve
//!   pool and is idle again at once: there it waits for one of
//!   `[resolver] max_running` slots (at most `slot_wait_secs` from its
//!   arrival, else `503`), and once resolved it goes back to the stream
//!   or probe pool. A flood of unknown ids never holds the workers that
//!   stored tracks need;
//! - everything else (`/health`, `/metrics`, error replies and the `503`
//!   refusals) goes to a local pool that never waits on upstream, so
//!   `/health` answers while every stream and probe worker is busy.
//!
//! The accept loop itself never writes to a socket (a write can block
//! behind an earlier response on the same connection).
//!
//! tiny_http's accept thread ends for good on any accept error (EMFILE,
//! ECONNABORTED); the loop notices and starts a new one on the same socket.

use std::net::{SocketAddr, TcpListener};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select};
use log::{error, info};
use tiny_http::Request;

use crate::catalog::lookup::{Found, TrackSource};
use crate::catalog::model::Track;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::LazyStore;
use crate::error::{Error, Result};
use crate::http::access::{Access, BrowserMarks};
use crate::http::endpoints::{self, Status};
use crate::http::request_log::Seen;
use crate::http::route::{self, Route};
use crate::http::settings::ServerSettings;
use crate::metrics::Metrics;
use crate::response;
use crate::stream::cache::{AudioCache, Kept};
use crate::stream::cover::CoverCache;
use crate::stream::proxy::{self, Before, ProxyContext, StreamSettings};
use crate::stream::upstream::Upstream;
use crate::video_id::VideoId;

/// Threads answering `HEAD` (which asks upstream).
const PROBE_WORKERS: usize = 4;
/// `HEAD` requests that may wait for a probe worker before we answer `503`.
const PROBE_QUEUE: usize = 64;
/// Threads holding requests that wait for a resolver slot.
const RESOLVE_WAITERS: usize = 8;
/// Requests that may wait for a resolve thread; beyond this, `503`.
const RESOLVE_QUEUE: usize = 32;
/// Threads answering `/health`, `/metrics`, errors and refusals.
const LOCAL_WORKERS: usize = 2;
/// Local requests that may wait; beyond this a thread is started per reply.
const LOCAL_QUEUE: usize = 256;
/// Per-worker copy buffer.
const COPY_BUFFER_BYTES: usize = 64 * 1024;
/// How often the accept loop looks at the stop flag.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long a short reply (health, errors, refusals) may block on a client
/// that does not read.
const REPLY_WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `wait` gives in-flight requests to end after a stop.
const STOP_GRACE: Duration = Duration::from_millis(1500);

/// A running server: bound, accepting, serving.
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept_loop: JoinHandle<Result<()>>,
    workers_done: Receiver<()>,
    metrics: Arc<Metrics>,
}

/// Sets the stop flag; cheap to clone into a signal handler.
#[derive(Clone)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Job {
    request: Request,
    route: Result<Route>,
    /// When the request was taken from its connection (for the log line
    /// and the time it may wait for a resolver slot).
    started: Instant,
    stage: JobStage,
    /// The caller may see everything ([`Access::admits`]): `/health` in full.
    admitted: bool,
}

/// Where a stream request is on its way through the pools.
enum JobStage {
    /// Just routed.
    Fresh,
    /// Handed to the resolve pool: its id needs a resolver run.
    Resolving,
    /// Back from the resolve pool with its track.
    Resolved(Box<Track>),
    /// Looked up by this worker: the store's row, played without reading
    /// it again.
    Stored(Box<Option<Track>>),
    /// Kept in the audio cache: played from disk.
    Cached(Box<Kept>),
}

/// What the server's workers use, built by the composition root.
pub struct Parts {
    pub upstream: Upstream,
    pub tracks: Arc<TrackSource>,
    pub covers: Arc<CoverCache>,
    pub cache: Arc<AudioCache>,
    pub metrics: Arc<Metrics>,
    /// Set to stop: the accept loop ends, live streams are cut.
    pub stopping: Arc<AtomicBool>,
    /// The database is served read-only (this process cannot write it).
    pub read_only: bool,
    /// The deadlines and the cap on client connections
    /// ([`client_connections`]), whose counts `metrics` shows.
    pub connections: Arc<tiny_http::Connections>,
    /// What every stream is copied with.
    pub stream: StreamSettings,
    /// The database each worker opens its own connection to.
    pub store_path: PathBuf,
}

impl Server {
    /// Starts the worker pools and the accept loop on a bound listener;
    /// `status` is what the parts beside the server report in `/health`
    /// and `/metrics`.
    pub fn start(
        settings: &ServerSettings,
        listener: TcpListener,
        parts: Parts,
        status: Arc<dyn Status>,
    ) -> Result<Server> {
        // The answers tiny_http writes itself (400, 414, 431, 505) name
        // the same server as ours.
        tiny_http::set_server_name(response::SERVER);
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?;
        let stopping = Arc::clone(&parts.stopping);
        let metrics = Arc::clone(&parts.metrics);
        let connections = parts.connections;
        let channels = Channels::new();
        let slot_wait = parts.tracks.slot_wait();
        let shared = Shared {
            upstream: parts.upstream,
            tracks: parts.tracks,
            settings: parts.stream,
            stopping: parts.stopping,
            metrics: parts.metrics,
            covers: parts.covers,
            cache: parts.cache,
            addr,
            db_path: Arc::new(parts.store_path),
            token: settings.token().map(Arc::from),
            read_only: parts.read_only,
            status,
            slot_wait,
            handoff: channels.handoff(),
        };
        let (alive, workers_done) = start_pools(settings.workers, &shared, &channels)?;
        let senders = Senders {
            access: Access::new(settings.token(), &settings.allowed_hosts),
            pools: channels.senders(),
            metrics: Arc::clone(&metrics),
            _alive: alive,
        };
        let loop_stop = Arc::clone(&stopping);
        let accept_loop = thread::Builder::new()
            .name("accept".into())
            .spawn(move || accept_loop(listener, &loop_stop, &senders, &connections))
            .map_err(|e| Error::io("cannot start the accept thread", e))?;

        info!("listening on http://{addr}");
        Ok(Server {
            addr,
            stopping,
            accept_loop,
            workers_done,
            metrics,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(Arc::clone(&self.stopping))
    }

    /// Blocks until the server stops. After a stop request, in-flight
    /// streams get a short grace period; whatever still runs then is left
    /// for process exit to end.
    pub fn wait(self) -> Result<()> {
        let result = self
            .accept_loop
            .join()
            .unwrap_or_else(|_| Err(Error::io_msg("the accept loop panicked")));
        // Live streams end now, whatever their workers wait for.
        self.metrics.close_all_streams();
        let deadline = Instant::now() + STOP_GRACE;
        // Every worker holds a sender; the channel disconnects when all have exited.
        while self.workers_done.recv_deadline(deadline).is_ok() {}
        result
    }
}

/// What every worker shares.
#[derive(Clone)]
struct Shared {
    upstream: Upstream,
    tracks: Arc<TrackSource>,
    settings: StreamSettings,
    stopping: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    covers: Arc<CoverCache>,
    cache: Arc<AudioCache>,
    /// The bound address, for playlist URLs when a request has no Host.
    addr: SocketAddr,
    db_path: Arc<PathBuf>,
    /// Put into playlist URLs so MPD can play them.
    token: Option<Arc<str>>,
    /// The database is served read-only (this process cannot write it).
    read_only: bool,
    /// What the parts beside the server report.
    status: Arc<dyn Status>,
    /// How long a request may wait for a resolver slot.
    slot_wait: Duration,
    /// The pools a worker hands a request on to.
    handoff: Handoff,
}

/// The channels a worker hands requests on through.
#[derive(Clone)]
struct Handoff {
    stream: Sender<Job>,
    probe: Sender<Job>,
    resolve: Sender<Job>,
}

/// The four pools' channels, both ends.
struct Channels {
    stream: (Sender<Job>, Receiver<Job>),
    probe: (Sender<Job>, Receiver<Job>),
    resolve: (Sender<Job>, Receiver<Job>),
    local: (Sender<Job>, Receiver<Job>),
}

impl Channels {
    fn new() -> Channels {
        Channels {
            stream: bounded(0),
            probe: bounded(PROBE_QUEUE),
            resolve: bounded(RESOLVE_QUEUE),
            local: bounded(LOCAL_QUEUE),
        }
    }

    fn handoff(&self) -> Handoff {
        Handoff {
            stream: self.stream.0.clone(),
            probe: self.probe.0.clone(),
            resolve: self.resolve.0.clone(),
        }
    }

    fn senders(&self) -> Pools {
        Pools {
            stream: self.stream.0.clone(),
            probe: self.probe.0.clone(),
            local: self.local.0.clone(),
        }
    }
}

/// What a worker waits on: its pool's jobs, and the accept loop's end
/// (workers hand jobs to each other, so the job channels never close).
struct WorkerEnds {
    jobs: Receiver<Job>,
    alive: Receiver<()>,
    done: Sender<()>,
}

/// Starts the four pools and waits until every worker waits on its
/// channel: a request in the first milliseconds must not find a pool
/// "busy". Returns the sender whose drop ends the workers, and a channel
/// that disconnects when every worker has exited.
fn start_pools(
    workers: usize,
    shared: &Shared,
    channels: &Channels,
) -> Result<(Sender<()>, Receiver<()>)> {
    let pools = [
        ("stream", workers, &channels.stream.1),
        ("probe", PROBE_WORKERS, &channels.probe.1),
        ("resolve", RESOLVE_WAITERS, &channels.resolve.1),
        ("local", LOCAL_WORKERS, &channels.local.1),
    ];
    let (alive_tx, alive_rx) = bounded::<()>(0);
    let (done_tx, workers_done) = bounded::<()>(0);
    let total = workers + PROBE_WORKERS + RESOLVE_WAITERS + LOCAL_WORKERS;
    let (ready_tx, ready_rx) = bounded::<()>(total);
    let mut spawned = 0;
    for (name, size, jobs) in pools {
        for i in 0..size {
            let ends = WorkerEnds {
                jobs: jobs.clone(),
                alive: alive_rx.clone(),
                done: done_tx.clone(),
            };
            spawn_worker(format!("{name}-{i}"), shared, ends, ready_tx.clone())?;
            spawned += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for _ in 0..spawned {
        ready_rx
            .recv_deadline(deadline)
            .map_err(|_| Error::io_msg("worker threads did not start"))?;
    }
    Ok((alive_tx, workers_done))
}

/// The pools' channels, at the accept loop's end.
struct Pools {
    stream: Sender<Job>,
    probe: Sender<Job>,
    local: Sender<Job>,
}

/// What the accept loop needs.
struct Senders {
    access: Access,
    pools: Pools,
    metrics: Arc<Metrics>,
    /// Dropped with the accept loop: the workers then end.
    _alive: Sender<()>,
}

fn spawn_worker(name: String, shared: &Shared, ends: WorkerEnds, ready: Sender<()>) -> Result<()> {
    let shared = shared.clone();
    thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let WorkerEnds { jobs, alive, done } = ends;
            let _done = done;
            // Each worker owns its connection, opened on first use.
            let mut store = LazyStore::new(&shared.db_path, shared.read_only);
            // Allocated on the first request too: a thread that never
            // allocates costs no malloc arena, which keeps idle RSS small.
            let mut buf: Vec<u8> = Vec::new();
            let _ = ready.send(());
            drop(ready);
            loop {
                let job = select! {
                    recv(jobs) -> job => match job {
                        Ok(job) => job,
                        Err(_) => break,
                    },
                    recv(alive) -> _ => break,
                };
                if buf.is_empty() {
                    buf = vec![0u8; COPY_BUFFER_BYTES];
                }
                // A bug in one request must not shrink the pool.
                let run = catch_unwind(AssertUnwindSafe(|| {
                    handle(job, &mut store, &shared, &mut buf)
                }));
                if run.is_err() {
                    error!("worker {name}: a request panicked; the worker carries on");
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::io("cannot start worker thread", e))
}

/// The limits on client connections: `[server]` deadlines for request
/// heads and idle keep-alive connections, and a cap below the open-file
/// limit (raised to its hard limit first), so that idle sockets never take
/// the descriptors MPD and `/health` need (vendor/tiny_http patch 11).
pub fn client_connections(settings: &ServerSettings) -> Arc<tiny_http::Connections> {
    let open_files = tiny_http::raise_open_files_limit().unwrap_or(1024);
    let threads = settings.workers + PROBE_WORKERS + LOCAL_WORKERS;
    let max = settings.max_connections(open_files, threads);
    info!("at most {max} client connections (open-file limit {open_files})");
    tiny_http::Connections::new(tiny_http::ConnectionLimits {
        header_timeout: Some(settings.header_timeout()),
        idle_timeout: Some(settings.idle_timeout()),
        max_connections: Some(max),
    })
}

/// Accepts until stopped. Returns an error only when it cannot go on.
/// A listener restarted after an accept error shares `connections` (the
/// cap and the counts) with the one before; dropping the old server closes
/// its idle connections and ends the others after their response.
fn accept_loop(
    listener: TcpListener,
    stopping: &AtomicBool,
    senders: &Senders,
    connections: &Arc<tiny_http::Connections>,
) -> Result<()> {
    let mut restarts = 0u32;
    while !stopping.load(Ordering::SeqCst) {
        let socket = match listener.try_clone() {
            Ok(socket) => socket,
            Err(e) => {
                error!("cannot reopen the listening socket: {e}; retrying");
                thread::sleep(backoff(restarts));
                restarts = restarts.saturating_add(1);
                continue;
            }
        };
        let server = tiny_http::Server::from_listener_with(socket, None, Arc::clone(connections))
            .map_err(|e| Error::io_msg(format!("cannot start the HTTP server: {e}")))?;
        while !stopping.load(Ordering::SeqCst) {
            match server.recv_timeout(POLL_INTERVAL) {
                Ok(Some(request)) => {
                    restarts = 0;
                    dispatch(request, senders);
                }
                Ok(None) => {}
                Err(e) => {
                    // tiny_http's accept thread has ended; start a new one.
                    error!("accepting connections failed: {e}; restarting the listener");
                    thread::sleep(backoff(restarts));
                    restarts = restarts.saturating_add(1);
                    break;
                }
            }
        }
    }
    info!("stopped accepting connections");
    Ok(())
}

fn backoff(restarts: u32) -> Duration {
    Duration::from_millis(50u64 << restarts.min(5))
}

/// Hands a request to the right pool without blocking and without
/// writing: refusals are answered by the local pool.
fn dispatch(request: Request, senders: &Senders) {
    let authorization = crate::wire::header(&request, "Authorization");
    let marks = BrowserMarks {
        sec_fetch_site: crate::wire::header(&request, "Sec-Fetch-Site"),
        origin: crate::wire::header(&request, "Origin"),
        host: crate::wire::header(&request, "Host"),
    };
    let peer = request.remote_addr().map(|a| a.ip());
    let admitted = senders.access.admits(request.url(), authorization, peer);
    let route = route::route(request.method().as_str(), request.url()).and_then(|r| {
        // A web page's request is refused before anything runs.
        senders.access.check_browser(marks)?;
        senders.access.check(&r, admitted)?;
        Ok(r)
    });
    let queue = match route {
        Ok(Route::Stream { head: false, .. }) => &senders.pools.stream,
        Ok(Route::Stream { head: true, .. } | Route::Cover { .. }) => &senders.pools.probe,
        _ => &senders.pools.local,
    };
    let job = Job {
        request,
        route,
        started: Instant::now(),
        stage: JobStage::Fresh,
        admitted,
    };
    let refused = match queue.try_send(job) {
        Ok(()) => return,
        Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Job {
            route: Err(Error::Busy),
            ..job
        },
    };
    if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) =
        senders.pools.local.try_send(refused)
    {
        // The local pool is swamped too: one short-lived thread per reply
        // still keeps the accept loop free.
        let metrics = Arc::clone(&senders.metrics);
        let spawned = thread::Builder::new()
            .name("refuse".into())
            .spawn(move || refuse(job.request, &Error::Busy, job.started, &metrics));
        if let Err(e) = spawned {
            error!("cannot start a thread to refuse a request: {e}");
        }
    }
}

fn handle(job: Job, store: &mut LazyStore, shared: &Shared, buf: &mut [u8]) {
    let store = match store.get() {
        Ok(store) => store,
        Err(e) => {
            error!("{e}");
            return refuse(job.request, &e, job.started, &shared.metrics);
        }
    };
    let job = match resolve_first(job, store, shared) {
        Some(job) => job,
        None => return, // handed on, or answered
    };
    if !matches!(job.route, Ok(Route::Stream { head: false, .. })) {
        limit_writes(&job.request, REPLY_WRITE_TIMEOUT);
    }
    let seen = Seen::of(&job.request, job.started);
    let found = match job.stage {
        JobStage::Resolved(track) => Before::Resolved(*track),
        JobStage::Stored(stored) => Before::Stored(*stored),
        JobStage::Cached(kept) => Before::Cached(kept),
        JobStage::Fresh | JobStage::Resolving => Before::Nothing,
    };
    let outcome = match job.route {
        Ok(Route::Stream { id, head, icy }) => {
            let mut ctx = ProxyContext {
                found,
                store,
                upstream: &shared.upstream,
                tracks: &shared.tracks,
                settings: shared.settings,
                stopping: &shared.stopping,
                metrics: &shared.metrics,
                cache: &shared.cache,
                buf,
            };
            let began = std::time::Instant::now();
            let outcome = proxy::serve(job.request, &id, head, icy, &mut ctx);
            if !head && matches!(outcome.status, 200 | 206) {
                shared.status.streamed(&id, began.elapsed().as_secs());
            }
            outcome
        }
        Ok(Route::Health) if !job.admitted => endpoints::health_short(job.request),
        Ok(Route::Health) => {
            let parts = (&*shared.metrics, &*shared.cache, &*shared.status);
            endpoints::health(job.request, store, parts)
        }
        Ok(Route::Metrics) => endpoints::metrics(job.request, &shared.metrics, &*shared.status),
        Ok(Route::Playlists) => endpoints::playlists(job.request, store),
        Ok(Route::Playlist { name, format }) => {
            let site = endpoints::Site {
                bound: shared.addr,
                token: shared.token.as_deref(),
            };
            endpoints::playlist(job.request, store, &name, format, site)
        }
        Ok(Route::Cover { id, .. }) => {
            endpoints::cover(job.request, store, &id, &shared.covers, &shared.upstream)
        }
        Err(e) => response::respond_error(job.request, &e),
    };
    seen.answered(&outcome, &shared.metrics);
}

/// A stream request whose id needs a resolver run is handed to the
/// resolve pool (this worker is free again at once); one in the resolve
/// pool is resolved there, waiting for a slot, then handed back to the
/// stream or probe pool. Returns the job when this worker serves it now.
fn resolve_first(job: Job, store: &mut TrackStore, shared: &Shared) -> Option<Job> {
    let (id, head) = match &job.route {
        Ok(Route::Stream { id, head, .. }) => (id.clone(), *head),
        _ => return Some(job),
    };
    let (job, error) = match job.stage {
        JobStage::Resolved(_) | JobStage::Stored(_) | JobStage::Cached(_) => return Some(job),
        JobStage::Fresh => {
            // A kept song needs no resolver and no upstream.
            let kept = shared.cache.find(&id, store);
            if !head && kept.is_none() {
                shared.cache.count_miss(store);
            }
            if let Some(kept) = kept {
                let stage = JobStage::Cached(Box::new(kept));
                return Some(Job { stage, ..job });
            }
            match shared.tracks.look_up(&id, store) {
                Ok(Found::Stored(stored)) => {
                    let mut job = job;
                    job.stage = JobStage::Stored(stored);
                    return Some(job);
                }
                Ok(Found::NeedsRun) => hand_to_resolver(job, &id, shared)?,
                Err(e) => (job, e),
            }
        }
        JobStage::Resolving => {
            let deadline = job.started + shared.slot_wait;
            match shared.tracks.resolve_for_request(&id, store, deadline) {
                Ok(track) => hand_back(job, track, head, shared)?,
                Err(e) => (job, e),
            }
        }
    };
    limit_writes(&job.request, REPLY_WRITE_TIMEOUT);
    refuse(job.request, &error, job.started, &shared.metrics);
    None
}

/// Hands `job` to the resolve pool; `None` when it took it, else the job
/// and why it is refused (the id failed a moment ago, or too many wait).
fn hand_to_resolver(mut job: Job, id: &VideoId, shared: &Shared) -> Option<(Job, Error)> {
    if let Some(failed) = shared.tracks.recent_failure(id) {
        return Some((job, failed));
    }
    job.stage = JobStage::Resolving;
    match shared.handoff.resolve.try_send(job) {
        Ok(()) => None,
        Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
            shared.metrics.resolver_busy();
            let slots = shared.tracks.max_running();
            Some((job, Error::ResolverBusy { slots }))
        }
    }
}

/// Hands a resolved `job` back to the pool that serves it; `None` when
/// it took it, else the job refused as [`Error::Busy`].
fn hand_back(mut job: Job, track: Track, head: bool, shared: &Shared) -> Option<(Job, Error)> {
    job.stage = JobStage::Resolved(Box::new(track));
    let pool = match head {
        true => &shared.handoff.probe,
        false => &shared.handoff.stream,
    };
    match pool.try_send(job) {
        Ok(()) => None,
        Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Some((job, Error::Busy)),
    }
}

/// Bounds how long writes to this request's client may block.
fn limit_writes(request: &Request, timeout: Duration) {
    if let Some(conn) = request.connection() {
        let _ = conn.set_write_timeout(Some(timeout));
    }
}

/// Answers `request` with `error` (its status and short text), counts it
/// and logs its line: every refusal, from any pool or thread.
fn refuse(request: Request, error: &Error, started: Instant, metrics: &Metrics) {
    let seen = Seen::of(&request, started);
    let outcome = response::respond_error(request, error);
    seen.answered(&outcome, metrics);
}
