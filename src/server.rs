//! The accept loop, the two worker pools and request dispatch.
//!
//! tiny_http parses requests on its own connection threads; our accept loop
//! takes each parsed request and hands it on without ever blocking:
//! - `GET /proxy/{id}` goes to a stream worker through a zero-capacity
//!   channel, so it is taken only by a worker that is idle right now;
//!   otherwise the client gets `503` at once (a stream holds its worker for
//!   minutes, so queueing would mean waiting for a song to end).
//! - everything else (`/health`, `HEAD`, errors) goes to a small control
//!   pool, so `/health` answers while every stream worker is busy.
//!
//! tiny_http's accept thread ends for good on any accept error (EMFILE,
//! ECONNABORTED); the loop notices and starts a new one on the same socket.

use std::net::{SocketAddr, TcpListener};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use log::{error, info, warn};
use tiny_http::Request;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::lookup::TrackSource;
use crate::proxy::{self, Outcome, ProxyContext};
use crate::response;
use crate::route::{self, Route};
use crate::store::TrackStore;
use crate::upstream::Upstream;

/// Threads answering `/health`, `HEAD` and errors.
const CONTROL_WORKERS: usize = 4;
/// Requests that may wait for a control worker before we answer `503`.
const CONTROL_QUEUE: usize = 64;
/// Per-worker copy buffer.
const COPY_BUFFER_BYTES: usize = 64 * 1024;
/// How often the accept loop looks at the stop flag.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long `wait` gives in-flight requests to end after a stop.
const STOP_GRACE: Duration = Duration::from_millis(1500);

/// Counters shared by every thread.
#[derive(Default)]
pub struct Stats {
    pub active_streams: AtomicUsize,
}

/// A running server: bound, accepting, serving.
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept_loop: JoinHandle<Result<()>>,
    workers_done: Receiver<()>,
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
        let bind = config.bind_address();
        let listener = TcpListener::bind(&bind).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    " (another program uses this port: stop it or choose another with --port)"
                }
                std::io::ErrorKind::PermissionDenied => {
                    " (ports below 1024 need privileges: choose another with --port)"
                }
                _ => "",
            };
            Error::Io(format!("cannot listen on {bind}: {e}{hint}"))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Io(format!("cannot read the bound address: {e}")))?;

        // Open every worker's connection now, so a bad database fails the start.
        let open = |_| TrackStore::open(&config.db_path);
        let stream_stores = (0..config.workers).map(open).collect::<Result<Vec<_>>>()?;
        let control_stores = (0..CONTROL_WORKERS).map(open).collect::<Result<Vec<_>>>()?;

        let stopping = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let upstream = Upstream::new(config);
        let (done_tx, workers_done) = bounded::<()>(0);
        let (stream_tx, stream_rx) = bounded::<Job>(0);
        let (control_tx, control_rx) = bounded::<Job>(CONTROL_QUEUE);

        let shared = Shared {
            upstream,
            tracks: Arc::new(TrackSource::new(config)),
            metaint: config.metaint,
            chunk_bytes: config.chunk_bytes,
            retries: config.retries,
            stopping: Arc::clone(&stopping),
            stats,
        };
        for (i, store) in stream_stores.into_iter().enumerate() {
            spawn_worker(format!("stream-{i}"), store, &shared, &stream_rx, &done_tx)?;
        }
        for (i, store) in control_stores.into_iter().enumerate() {
            spawn_worker(
                format!("control-{i}"),
                store,
                &shared,
                &control_rx,
                &done_tx,
            )?;
        }
        drop(done_tx);

        let loop_stop = Arc::clone(&stopping);
        let accept_loop = thread::Builder::new()
            .name("accept".into())
            .spawn(move || accept_loop(listener, &loop_stop, &stream_tx, &control_tx))
            .map_err(|e| Error::Io(format!("cannot start the accept thread: {e}")))?;

        info!("listening on http://{addr}");
        Ok(Server {
            addr,
            stopping,
            accept_loop,
            workers_done,
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
            .unwrap_or_else(|_| Err(Error::Io("the accept loop panicked".into())));
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
    metaint: usize,
    chunk_bytes: u64,
    retries: u32,
    stopping: Arc<AtomicBool>,
    stats: Arc<Stats>,
}

fn spawn_worker(
    name: String,
    mut store: TrackStore,
    shared: &Shared,
    jobs: &Receiver<Job>,
    done: &Sender<()>,
) -> Result<()> {
    let shared = shared.clone();
    let jobs = jobs.clone();
    let done = done.clone();
    thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let _done = done;
            let mut buf = vec![0u8; COPY_BUFFER_BYTES];
            for job in jobs.iter() {
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
        .map_err(|e| Error::Io(format!("cannot start worker thread: {e}")))
}

/// Accepts until stopped. Returns an error only when it cannot go on.
fn accept_loop(
    listener: TcpListener,
    stopping: &AtomicBool,
    streams: &Sender<Job>,
    control: &Sender<Job>,
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
        let server = tiny_http::Server::from_listener(socket, None)
            .map_err(|e| Error::Io(format!("cannot start the HTTP server: {e}")))?;
        while !stopping.load(Ordering::SeqCst) {
            match server.recv_timeout(POLL_INTERVAL) {
                Ok(Some(request)) => {
                    restarts = 0;
                    dispatch(request, streams, control);
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

/// Hands a request to the right pool without blocking.
fn dispatch(request: Request, streams: &Sender<Job>, control: &Sender<Job>) {
    let route = route::route(request.method().as_str(), request.url());
    let is_stream = matches!(route, Ok(Route::Stream { head: false, .. }));
    let job = Job { request, route };
    let refused = if is_stream {
        streams.try_send(job)
    } else {
        control.try_send(job)
    };
    if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) = refused {
        let started = Instant::now();
        let client = client_of(&job.request);
        let target = describe(&job.request, &job.route);
        let _ = response::respond_error(job.request, &Error::Busy);
        log_request(&client, &target, 503, 0, started, None);
    }
}

fn handle(job: Job, store: &mut TrackStore, shared: &Shared, buf: &mut [u8]) {
    let started = Instant::now();
    let client = client_of(&job.request);
    let target = describe(&job.request, &job.route);
    let outcome = match job.route {
        Ok(Route::Stream { id, head }) => {
            let mut ctx = ProxyContext {
                store,
                upstream: &shared.upstream,
                tracks: &shared.tracks,
                metaint: shared.metaint,
                chunk_bytes: shared.chunk_bytes,
                retries: shared.retries,
                stopping: &shared.stopping,
                active_streams: &shared.stats.active_streams,
                buf,
            };
            proxy::serve(job.request, &id, head, &mut ctx)
        }
        Ok(Route::Health) => health(job.request, store, &shared.stats),
        Err(e) => {
            let status = e.status();
            let _ = response::respond_error(job.request, &e);
            Outcome {
                status,
                bytes: 0,
                cut_short: None,
            }
        }
    };
    log_request(
        &client,
        &target,
        outcome.status,
        outcome.bytes,
        started,
        outcome.cut_short.as_deref(),
    );
}

fn health(request: Request, store: &TrackStore, stats: &Stats) -> Outcome {
    let tracks = match store.count() {
        Ok(n) => n,
        Err(e) => {
            warn!("health: {e}");
            let status = e.status();
            let _ = response::respond_error(request, &e);
            return Outcome {
                status,
                bytes: 0,
                cut_short: None,
            };
        }
    };
    let body = serde_json::json!({
        "status": "ok",
        "service": "icyproxy",
        "tracks": tracks,
        "active_streams": stats.active_streams.load(Ordering::SeqCst),
    })
    .to_string();
    let headers = [
        ("Content-Type", "application/json".to_owned()),
        ("Cache-Control", "no-cache".to_owned()),
    ];
    let bytes = body.len() as u64;
    let _ = response::respond_small(request, 200, &body, &headers);
    Outcome {
        status: 200,
        bytes,
        cut_short: None,
    }
}

fn client_of(request: &Request) -> String {
    request
        .remote_addr()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The request as a log line shows it: method and path, never a query
/// string (it may carry a token) and never more than 100 characters.
fn describe(request: &Request, route: &Result<Route>) -> String {
    let method = request.method().as_str();
    match route {
        Ok(Route::Stream { id, .. }) => format!("{method} /proxy/{id}"),
        _ => {
            let path = request.url().split('?').next().unwrap_or("");
            let clean: String = path.chars().filter(|c| !c.is_control()).take(100).collect();
            format!("{} {clean}", method.chars().take(16).collect::<String>())
        }
    }
}

fn log_request(
    client: &str,
    target: &str,
    status: u16,
    bytes: u64,
    started: Instant,
    cut_short: Option<&str>,
) {
    let ms = started.elapsed().as_millis();
    match cut_short {
        None => info!("{client} \"{target}\" {status} {bytes}B {ms}ms"),
        Some(why) => info!("{client} \"{target}\" {status} {bytes}B {ms}ms ({why})"),
    }
}
