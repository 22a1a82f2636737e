//! The accept loop, the three worker pools and request dispatch.
//!
//! tiny_http parses requests on its own connection threads; our accept loop
//! takes each parsed request and hands it on without ever blocking:
//! - `GET /proxy/{id}` goes to a stream worker through a zero-capacity
//!   channel, so it is taken only by a worker that is idle right now;
//!   otherwise the client gets `503` at once (a stream holds its worker for
//!   minutes, so queueing would mean waiting for a song to end).
//! - `HEAD /proxy/{id}` (which asks upstream) goes to a small probe pool;
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

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use log::{error, info, warn};
use tiny_http::Request;

use crate::access::Access;
use crate::config::Config;
use crate::cover::CoverCache;
use crate::endpoints;
use crate::error::{Error, Result};
use crate::lookup::TrackSource;
use crate::metrics::Metrics;
use crate::mpd::{self, FollowSettings};
use crate::playlist_source;
use crate::proxy::{self, ProxyContext, StreamSettings};
use crate::response::{self, Outcome};
use crate::route::{self, Route};
use crate::store::TrackStore;
use crate::upstream::Upstream;
use crate::warm::{Ahead, WarmParts, Warmer};

/// Threads answering `HEAD` (which asks upstream).
const PROBE_WORKERS: usize = 4;
/// `HEAD` requests that may wait for a probe worker before we answer `503`.
const PROBE_QUEUE: usize = 64;
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
}

impl Server {
    /// Opens the store, binds `host:port` (port 0 picks a free one) and
    /// starts the accept loop and the worker pools.
    pub fn start(config: &Config) -> Result<Server> {
        // The answers tiny_http writes itself (400, 414, 431, 505) name
        // the same server as ours.
        tiny_http::set_server_name(response::SERVER);
        let bind = config.bind_address();
        let listener = TcpListener::bind(&bind).map_err(|e| {
            let fix = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    Some("another program uses this port: stop it or choose another with --port")
                }
                std::io::ErrorKind::PermissionDenied => {
                    Some("ports below 1024 need privileges: choose another with --port")
                }
                _ => None,
            };
            let error = Error::io(format!("cannot listen on {bind}"), e);
            match fix {
                Some(fix) => error.with_fix(fix),
                None => error,
            }
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?;

        // Open (and migrate) the store once now, so a bad database fails the
        // start; each worker opens its own connection on its first request,
        // so idle workers cost no SQLite memory. A database this process
        // cannot write is served read-only.
        let read_only = match TrackStore::open(&config.db_path) {
            Ok(store) => {
                drop(store);
                false
            }
            Err(e) if config.db_path.is_file() => match TrackStore::open_read_only(&config.db_path)
            {
                Ok(store) => {
                    drop(store);
                    warn!("{e}; serving it read-only: tracks resolved now will not be stored");
                    true
                }
                Err(_) => return Err(e),
            },
            Err(e) => return Err(e),
        };
        let pools = [
            ("stream", config.workers),
            ("probe", PROBE_WORKERS),
            ("local", LOCAL_WORKERS),
        ];

        let stopping = Arc::new(AtomicBool::new(false));
        let connections = client_connections(config);
        let metrics = Arc::new(Metrics::with_connections(Arc::clone(&connections)));
        let (done_tx, workers_done) = bounded::<()>(0);
        let (ready_tx, ready_rx) = bounded::<()>(config.workers + PROBE_WORKERS + LOCAL_WORKERS);
        let queues = Queues {
            stream: bounded::<Job>(0),
            probe: bounded::<Job>(PROBE_QUEUE),
            local: bounded::<Job>(LOCAL_QUEUE),
        };
        let shared = Shared {
            upstream: Upstream::new(config)?,
            tracks: Arc::new(TrackSource::new(config, Arc::clone(&metrics))),
            settings: StreamSettings {
                metaint: config.metaint,
                chunk_bytes: config.chunk_bytes,
                retries: config.retries,
                write_timeout: config.write_timeout,
                max_wait: config.max_wait,
            },
            stopping: Arc::clone(&stopping),
            metrics: Arc::clone(&metrics),
            covers: Arc::new(CoverCache::new(&config.cover_dir, config.cover_max_bytes)),
            addr,
            db_path: Arc::new(config.db_path.clone()),
            token: config.token.as_deref().map(Arc::from),
            read_only,
            ahead: Arc::new(Ahead::default()),
        };
        let shared = Shared {
            ahead: Arc::new(start_ahead(config, &shared, addr.port())?),
            ..shared
        };
        let mut spawned = 0;
        for (name, size) in pools {
            let jobs = match name {
                "stream" => &queues.stream.1,
                "probe" => &queues.probe.1,
                _ => &queues.local.1,
            };
            for i in 0..size {
                let ready = ready_tx.clone();
                spawn_worker(format!("{name}-{i}"), &shared, jobs, &done_tx, ready)?;
                spawned += 1;
            }
        }
        drop(done_tx);
        // Every worker waits on its channel before we accept: a request in
        // the first milliseconds must not find the pool "busy".
        let deadline = Instant::now() + Duration::from_secs(10);
        for _ in 0..spawned {
            ready_rx
                .recv_deadline(deadline)
                .map_err(|_| Error::io_msg("worker threads did not start"))?;
        }

        if let Some(every) = config.sync_every.filter(|_| !read_only) {
            let (config, stop, counts) =
                (config.clone(), Arc::clone(&stopping), Arc::clone(&metrics));
            thread::Builder::new()
                .name("playlist-sync".into())
                .spawn(move || playlist_source::sync_forever(&config, every, &stop, &counts))
                .map_err(|e| Error::io("cannot start the playlist sync thread", e))?;
        }
        let loop_stop = Arc::clone(&stopping);
        let senders = Senders {
            access: Access::new(config.token.as_deref()),
            stream: queues.stream.0,
            probe: queues.probe.0,
            local: queues.local.0,
            metrics: Arc::clone(&metrics),
        };
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
    /// The bound address, for playlist URLs when a request has no Host.
    addr: SocketAddr,
    db_path: Arc<PathBuf>,
    /// Put into playlist URLs so MPD can play them.
    token: Option<Arc<str>>,
    /// The database is served read-only (this process cannot write it).
    read_only: bool,
    /// Following MPD's queue and warming what it will play.
    ahead: Arc<Ahead>,
}

/// Starts the warming thread and the MPD follower that feeds it, unless
/// `[mpd] address` is empty. Only MPD's queue is warmed: no queue, no
/// resolver runs.
fn start_ahead(config: &Config, shared: &Shared, port: u16) -> Result<Ahead> {
    let Some(address) = config.mpd_address.clone() else {
        return Ok(Ahead::default());
    };
    if shared.read_only {
        warn!("not following MPD's queue: warming needs a database it can write");
        return Ok(Ahead::default());
    }
    let parts = WarmParts {
        tracks: Arc::clone(&shared.tracks),
        covers: Arc::clone(&shared.covers),
        upstream: shared.upstream.clone(),
        metrics: Arc::clone(&shared.metrics),
        stopping: Arc::clone(&shared.stopping),
    };
    let (warmer, _thread) = Warmer::start(config, parts)
        .map_err(|e| Error::io("cannot start the warming thread", e))?;
    let warmer = Arc::new(warmer);
    let fed = Arc::clone(&warmer);
    let settings = FollowSettings {
        address,
        password: config.mpd_password.clone(),
        warm_ahead: config.warm_ahead,
        proxy_port: port,
    };
    let (follow, _thread) = mpd::follow(
        settings,
        Arc::clone(&shared.stopping),
        Box::new(move |ids| fed.set_window(ids)),
    )?;
    Ok(Ahead {
        follow: Some(follow),
        warmer: Some(warmer),
    })
}

struct Queues {
    stream: (Sender<Job>, Receiver<Job>),
    probe: (Sender<Job>, Receiver<Job>),
    local: (Sender<Job>, Receiver<Job>),
}

/// The accept loop's ends of the pools' channels.
struct Senders {
    access: Access,
    stream: Sender<Job>,
    probe: Sender<Job>,
    local: Sender<Job>,
    metrics: Arc<Metrics>,
}

fn spawn_worker(
    name: String,
    shared: &Shared,
    jobs: &Receiver<Job>,
    done: &Sender<()>,
    ready: Sender<()>,
) -> Result<()> {
    let shared = shared.clone();
    let jobs = jobs.clone();
    let done = done.clone();
    thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let _done = done;
            // Each worker owns its connection, opened on first use.
            let mut store: Option<TrackStore> = None;
            // Allocated on the first request too: a thread that never
            // allocates costs no malloc arena, which keeps idle RSS small.
            let mut buf: Vec<u8> = Vec::new();
            let _ = ready.send(());
            drop(ready);
            for job in jobs.iter() {
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
fn client_connections(config: &Config) -> Arc<tiny_http::Connections> {
    let open_files = tiny_http::raise_open_files_limit().unwrap_or(1024);
    let threads = config.workers + PROBE_WORKERS + LOCAL_WORKERS;
    let max = config.max_connections(open_files, threads);
    info!("at most {max} client connections (open-file limit {open_files})");
    tiny_http::Connections::new(tiny_http::ConnectionLimits {
        header_timeout: Some(config.header_timeout),
        idle_timeout: Some(config.idle_timeout),
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
    let authorization = crate::http::header(&request, "Authorization");
    let route = route::route(request.method().as_str(), request.url()).and_then(|r| {
        senders.access.check(&r, request.url(), authorization)?;
        Ok(r)
    });
    let queue = match route {
        Ok(Route::Stream { head: false, .. }) => &senders.stream,
        Ok(Route::Stream { head: true, .. } | Route::Cover { .. }) => &senders.probe,
        _ => &senders.local,
    };
    let refused = match queue.try_send(Job { request, route }) {
        Ok(()) => return,
        Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Job {
            request: job.request,
            route: Err(Error::Busy),
        },
    };
    if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) =
        senders.local.try_send(refused)
    {
        // The local pool is swamped too: one short-lived thread per reply
        // still keeps the accept loop free.
        let metrics = Arc::clone(&senders.metrics);
        let spawned = thread::Builder::new().name("refuse".into()).spawn(move || {
            let client = client_of(&job.request);
            let target = describe(&job.request);
            let started = Instant::now();
            let outcome = response::respond_error(job.request, &Error::Busy);
            metrics.request(outcome.status, outcome.bytes);
            log_request(&client, &target, &outcome, started);
        });
        if let Err(e) = spawned {
            error!("cannot start a thread to refuse a request: {e}");
        }
    }
}

fn handle(job: Job, store: &mut Option<TrackStore>, shared: &Shared, buf: &mut [u8]) {
    let started = Instant::now();
    let client = client_of(&job.request);
    let target = describe(&job.request);
    let store = match store {
        Some(open) => open,
        None => match open_store(shared) {
            Ok(opened) => store.insert(opened),
            Err(e) => {
                error!("{e}");
                let outcome = response::respond_error(job.request, &e);
                shared.metrics.request(outcome.status, outcome.bytes);
                log_request(&client, &target, &outcome, started);
                return;
            }
        },
    };
    if !matches!(job.route, Ok(Route::Stream { head: false, .. })) {
        limit_writes(&job.request, REPLY_WRITE_TIMEOUT);
    }
    let outcome = match job.route {
        Ok(Route::Stream { id, head, icy }) => {
            let mut ctx = ProxyContext {
                store,
                upstream: &shared.upstream,
                tracks: &shared.tracks,
                settings: shared.settings,
                stopping: &shared.stopping,
                metrics: &shared.metrics,
                buf,
            };
            proxy::serve(job.request, &id, head, icy, &mut ctx)
        }
        Ok(Route::Health) => endpoints::health(job.request, store, &shared.metrics, &shared.ahead),
        Ok(Route::Metrics) => endpoints::metrics(job.request, &shared.metrics, &shared.ahead),
        Ok(Route::Playlists) => endpoints::playlists(job.request, store),
        Ok(Route::Playlist { name, format }) => endpoints::playlist(
            job.request,
            store,
            &name,
            format,
            shared.addr,
            shared.token.as_deref(),
        ),
        Ok(Route::Cover { id, .. }) => {
            endpoints::cover(job.request, store, &id, &shared.covers, &shared.upstream)
        }
        Err(e) => response::respond_error(job.request, &e),
    };
    shared.metrics.request(outcome.status, outcome.bytes);
    log_request(&client, &target, &outcome, started);
}

fn open_store(shared: &Shared) -> Result<TrackStore> {
    if shared.read_only {
        TrackStore::open_read_only(&shared.db_path)
    } else {
        TrackStore::open(&shared.db_path)
    }
}

/// Bounds how long writes to this request's client may block.
fn limit_writes(request: &Request, timeout: Duration) {
    if let Some(conn) = request.connection() {
        let _ = conn.set_write_timeout(Some(timeout));
    }
}

fn client_of(request: &Request) -> String {
    request
        .remote_addr()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The request as a log line shows it: method and path as sent (trailing
/// slash included), never a query string (it may carry a token), never
/// control characters, at most 100 characters.
fn describe(request: &Request) -> String {
    let method: String = request.method().as_str().chars().take(16).collect();
    let path = request.url().split(['?', '#']).next().unwrap_or("");
    let clean: String = path.chars().filter(|c| !c.is_control()).take(100).collect();
    format!("{method} {clean}")
}

/// One line per request at info: who, what, status, bytes, time, and why
/// it failed or ended early. Error texts never carry a stream URL's path
/// or query (they name its host only).
fn log_request(client: &str, target: &str, outcome: &Outcome, started: Instant) {
    let ms = started.elapsed().as_millis();
    let Outcome {
        status,
        bytes,
        note,
    } = outcome;
    match note {
        None => info!("{client} \"{target}\" {status} {bytes}B {ms}ms"),
        Some(why) => info!("{client} \"{target}\" {status} {bytes}B {ms}ms ({why})"),
    }
}
