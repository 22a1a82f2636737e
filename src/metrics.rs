//! Counters for `/health` and `/metrics` (Prometheus text format), and the
//! registry of live streams, whose connections a stop closes at once.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tiny_http::{ConnectionHandle, Connections};

use crate::error::Error;
use crate::subprocess::How;

/// The statuses counted one by one; anything else is counted as `other`.
/// (tiny_http answers over-long request lines and headers, 414 and 431,
/// itself: those never reach us, so they have no series.)
const STATUSES: [u16; 12] = [200, 206, 400, 401, 403, 404, 405, 416, 500, 502, 503, 504];

#[derive(Default)]
pub struct Metrics {
    requests: [AtomicU64; STATUSES.len() + 1],
    active_streams: AtomicUsize,
    bytes_sent: AtomicU64,
    upstream_retries: AtomicU64,
    resolver_ids: AtomicU64,
    resolver_failures: AtomicU64,
    /// Resolver failures by cause (`bot_check`, ...): the causes known
    /// from the start first, in their order, then any other seen.
    resolver_causes: Mutex<Vec<(&'static str, u64)>>,
    /// The resolver's last failure, for `/health`.
    last_resolver_failure: Mutex<Option<LastFailure>>,
    url_refreshes: AtomicU64,
    playlist_syncs: AtomicU64,
    resolver_batches: AtomicU64,
    resolver_batch_ids: AtomicU64,
    resolver_millis: AtomicU64,
    warm_resolves: AtomicU64,
    playlist_sync_failures: AtomicU64,
    resolver_slots: AtomicUsize,
    resolver_running: AtomicUsize,
    resolver_waiting: AtomicUsize,
    resolver_busy: AtomicU64,
    resolver_recalled: AtomicU64,
    next_stream: AtomicU64,
    streams: Mutex<HashMap<u64, ConnectionHandle>>,
    /// The client connections tiny_http counts (open, closed by each rule).
    connections: Option<Arc<Connections>>,
    /// The audio cache's events, by [`CacheEvent`].
    cache: [AtomicU64; 4],
}

/// What happened in the audio cache, as `/metrics` counts it.
#[derive(Debug, Clone, Copy)]
pub enum CacheEvent {
    /// A stream served from disk.
    Hit,
    /// A stream that had to ask upstream.
    Miss,
    /// A song written whole and kept.
    Kept,
    /// A song removed to make room.
    Evicted,
}

impl CacheEvent {
    const ALL: [(CacheEvent, &'static str, &'static str); 4] = [
        (
            CacheEvent::Hit,
            "icyproxy_cache_hits_total",
            "Streams served from the audio cache.",
        ),
        (
            CacheEvent::Miss,
            "icyproxy_cache_misses_total",
            "Streams of songs not in the audio cache.",
        ),
        (
            CacheEvent::Kept,
            "icyproxy_cache_kept_total",
            "Songs written whole into the audio cache.",
        ),
        (
            CacheEvent::Evicted,
            "icyproxy_cache_evicted_total",
            "Songs removed from the audio cache to stay within its bounds.",
        ),
    ];
}

impl Metrics {
    /// Metrics that also report the server's client connections.
    pub fn with_connections(connections: Arc<Connections>) -> Metrics {
        Metrics {
            connections: Some(connections),
            ..Metrics::default()
        }
    }

    /// Counts one answered request.
    pub fn request(&self, status: u16, bytes: u64) {
        let slot = STATUSES
            .iter()
            .position(|&s| s == status)
            .unwrap_or(STATUSES.len());
        self.requests[slot].fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn upstream_retry(&self) {
        self.upstream_retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one id given to the resolver (a warming run gives several),
    /// and its failure by cause.
    pub fn resolver_result<T>(&self, result: &Result<T, Error>) {
        self.resolver_ids.fetch_add(1, Ordering::Relaxed);
        let Err(error) = result else {
            return;
        };
        self.resolver_failures.fetch_add(1, Ordering::Relaxed);
        let (cause, fix) = match error {
            Error::Resolver(failure) => match (&failure.cause, &failure.how) {
                (Some(cause), _) => (cause.name, Some(cause.fix.clone())),
                (None, How::NotFound) => (
                    "not_found",
                    Some("install yt-dlp, or set [resolver] command = []".to_owned()),
                ),
                (None, _) => ("other", None),
            },
            Error::ResolverTimeout(_) => (
                "timed_out",
                Some("raise [resolver] timeout_secs, or run icyproxy doctor".to_owned()),
            ),
            _ => ("other", None),
        };
        let mut causes = lock(&self.resolver_causes);
        match causes.iter_mut().find(|(name, _)| *name == cause) {
            Some((_, n)) => *n += 1,
            None => causes.push((cause, 1)),
        }
        drop(causes);
        *lock(&self.last_resolver_failure) = Some(LastFailure {
            cause,
            what: error.to_string(),
            fix,
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        });
    }

    /// Names the causes a resolver failure can have, so `/metrics` lists
    /// each from the start (at 0).
    pub fn know_causes(&self, names: &[&'static str]) {
        let mut causes = lock(&self.resolver_causes);
        for name in names {
            if !causes.iter().any(|(n, _)| n == name) {
                causes.push((name, 0));
            }
        }
    }

    /// `/health`'s `resolver` object: the last failure (what, its cause,
    /// when, the fix) or `null`s when there was none.
    pub fn resolver_health(&self) -> serde_json::Value {
        let last = lock(&self.last_resolver_failure);
        match last.as_ref() {
            None => {
                serde_json::json!({ "last_failure": null, "cause": null, "at": null, "fix": null })
            }
            Some(f) => serde_json::json!({
                "last_failure": f.what,
                "cause": f.cause,
                "at": crate::time::rfc3339(i64::try_from(f.at).unwrap_or(0)),
                "fix": f.fix,
            }),
        }
    }

    pub fn url_refreshed(&self) {
        self.url_refreshes.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one warming resolver run and the ids it was given.
    pub fn resolver_batch(&self, ids: usize, took: std::time::Duration) {
        self.resolver_batches.fetch_add(1, Ordering::Relaxed);
        self.resolver_batch_ids
            .fetch_add(ids as u64, Ordering::Relaxed);
        self.resolver_millis.fetch_add(
            took.as_millis().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }

    /// `[resolver] max_running`.
    pub fn resolver_slots(&self, n: usize) {
        self.resolver_slots.store(n, Ordering::Relaxed);
    }

    /// Resolver runs going on now.
    pub fn resolver_running(&self, n: usize) {
        self.resolver_running.store(n, Ordering::Relaxed);
    }

    /// One more (`1`) or one fewer (`-1`) caller waiting for a slot.
    pub fn resolver_waiting(&self, change: i8) {
        if change > 0 {
            self.resolver_waiting.fetch_add(1, Ordering::Relaxed);
        } else {
            self.resolver_waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Counts a request refused because no resolver slot came free in time.
    pub fn resolver_busy(&self) {
        self.resolver_busy.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request answered with an id's remembered failure.
    pub fn resolver_recalled(&self) {
        self.resolver_recalled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts ids warming made playable (resolved or refreshed ahead of play).
    pub fn warm_resolved(&self, n: usize) {
        self.warm_resolves.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts one background re-read of an imported playlist.
    pub fn playlist_synced(&self, ok: bool) {
        self.playlist_syncs.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.playlist_sync_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn active_streams(&self) -> usize {
        self.active_streams.load(Ordering::SeqCst)
    }

    /// Counts a stream as active until the guard drops; its connection is
    /// closed if the server stops meanwhile.
    pub fn stream_started(&self, connection: Option<ConnectionHandle>) -> ActiveStream<'_> {
        self.active_streams.fetch_add(1, Ordering::SeqCst);
        let key = self.next_stream.fetch_add(1, Ordering::Relaxed);
        if let Some(conn) = connection {
            self.streams
                .lock()
                .expect("stream registry poisoned")
                .insert(key, conn);
        }
        ActiveStream { metrics: self, key }
    }

    /// Counts one audio cache event.
    pub fn cache(&self, event: CacheEvent) {
        self.cache[event as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Ends every live stream's connection (on stop): clients see the end
    /// at once, whatever the worker is waiting for.
    pub fn close_all_streams(&self) {
        let streams = self.streams.lock().expect("stream registry poisoned");
        for conn in streams.values() {
            conn.shutdown();
        }
    }

    /// Every series but the requests by status: name, type, help, value.
    fn series(&self) -> [(&'static str, &'static str, &'static str, u64); 12] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            (
                "icyproxy_active_streams",
                "gauge",
                "Streams being served now.",
                self.active_streams() as u64,
            ),
            (
                "icyproxy_bytes_sent_total",
                "counter",
                "Response body bytes sent to clients.",
                get(&self.bytes_sent),
            ),
            (
                "icyproxy_upstream_retries_total",
                "counter",
                "Upstream requests repeated after a failure or a dropped connection.",
                get(&self.upstream_retries),
            ),
            (
                "icyproxy_resolver_ids_total",
                "counter",
                "Ids given to the resolver command, each once whatever the run (a warming run \
                 takes several: icyproxy_resolver_batches_total counts those runs).",
                get(&self.resolver_ids),
            ),
            (
                "icyproxy_resolver_failures_total",
                "counter",
                "Ids the resolver gave no URL for (failed, killed or unusable output); by \
                 cause in icyproxy_resolver_failures_by_cause_total.",
                get(&self.resolver_failures),
            ),
            (
                "icyproxy_url_refreshes_total",
                "counter",
                "Stream URLs replaced through the resolver.",
                get(&self.url_refreshes),
            ),
            (
                "icyproxy_resolver_batches_total",
                "counter",
                "Warming resolver runs (each resolves up to [resolver] batch_size ids).",
                get(&self.resolver_batches),
            ),
            (
                "icyproxy_resolver_batch_ids_total",
                "counter",
                "Ids given to warming resolver runs (divide by batches: the mean batch size).",
                get(&self.resolver_batch_ids),
            ),
            (
                "icyproxy_resolver_seconds_total",
                "counter",
                "Seconds warming resolver runs took, in total (milliseconds resolution).",
                get(&self.resolver_millis) / 1000,
            ),
            (
                "icyproxy_warm_resolves_total",
                "counter",
                "Tracks resolved or refreshed ahead of play by warming.",
                get(&self.warm_resolves),
            ),
            (
                "icyproxy_playlist_syncs_total",
                "counter",
                "Imported playlists re-read from their source while serving.",
                get(&self.playlist_syncs),
            ),
            (
                "icyproxy_playlist_sync_failures_total",
                "counter",
                "Re-reads that failed (the playlist was left as it was).",
                get(&self.playlist_sync_failures),
            ),
        ]
    }

    /// The limits on resolver runs: name, type, help, value.
    fn limits(&self) -> [(&'static str, &'static str, &'static str, u64); 5] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let now = |c: &AtomicUsize| c.load(Ordering::Relaxed) as u64;
        [
            (
                "icyproxy_resolver_slots",
                "gauge",
                "Resolver runs allowed at once ([resolver] max_running), requests and warming together.",
                now(&self.resolver_slots),
            ),
            (
                "icyproxy_resolver_running",
                "gauge",
                "Resolver runs going on now.",
                now(&self.resolver_running),
            ),
            (
                "icyproxy_resolver_waiting",
                "gauge",
                "Requests and warming runs waiting for a resolver slot now.",
                now(&self.resolver_waiting),
            ),
            (
                "icyproxy_resolver_busy_total",
                "counter",
                "Requests answered 503 because no resolver slot came free in time.",
                get(&self.resolver_busy),
            ),
            (
                "icyproxy_resolver_recalled_failures_total",
                "counter",
                "Requests answered with an id's recent failure instead of a new run.",
                get(&self.resolver_recalled),
            ),
        ]
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str("# HELP icyproxy_requests_total HTTP requests answered, by status.\n");
        out.push_str("# TYPE icyproxy_requests_total counter\n");
        for (i, status) in STATUSES.iter().enumerate() {
            let _ = writeln!(
                out,
                "icyproxy_requests_total{{status=\"{status}\"}} {}",
                get(&self.requests[i])
            );
        }
        let _ = writeln!(
            out,
            "icyproxy_requests_total{{status=\"other\"}} {}",
            get(&self.requests[STATUSES.len()])
        );
        for (name, kind, help, value) in self.series().into_iter().chain(self.limits()) {
            write_series(&mut out, Series { name, kind, help }, value);
        }
        for (event, name, help) in CacheEvent::ALL {
            let value = get(&self.cache[event as usize]);
            write_series(
                &mut out,
                Series {
                    name,
                    kind: "counter",
                    help,
                },
                value,
            );
        }
        out.push_str(
            "# HELP icyproxy_resolver_failures_by_cause_total Resolver failures by cause \
             (yt-dlp's message, named; /health's resolver field has the last one and its fix).\n\
             # TYPE icyproxy_resolver_failures_by_cause_total counter\n",
        );
        for (cause, n) in lock(&self.resolver_causes).iter() {
            let _ = writeln!(
                out,
                "icyproxy_resolver_failures_by_cause_total{{cause=\"{cause}\"}} {n}"
            );
        }
        if let Some(connections) = &self.connections {
            render_connections(&mut out, &connections.stats());
        }
        out
    }
}

/// One unlabelled series of the text exposition: its name, `counter` or
/// `gauge`, and what it counts.
#[derive(Debug, Clone, Copy)]
pub struct Series {
    pub name: &'static str,
    pub kind: &'static str,
    pub help: &'static str,
}

/// Writes `series` with its `# HELP` and `# TYPE` lines: the one place
/// the exposition's shape is written, for the server's counters and for
/// what runs beside it.
pub fn write_series(out: &mut String, series: Series, value: u64) {
    let Series { name, kind, help } = series;
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// The resolver's last failure.
#[derive(Debug, Clone)]
struct LastFailure {
    cause: &'static str,
    /// The error as a user reads it (never a stream URL).
    what: String,
    fix: Option<String>,
    /// Unix seconds.
    at: u64,
}

/// A lock on a counter's data: a panic elsewhere cannot corrupt a count,
/// so a poisoned lock is used as it is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Client connections open, their cap, and those closed by each rule.
fn render_connections(out: &mut String, stats: &tiny_http::ConnectionStats) {
    let _ = writeln!(
        out,
        "# HELP icyproxy_client_connections Client connections open now.\n\
         # TYPE icyproxy_client_connections gauge\n\
         icyproxy_client_connections {}\n\
         # HELP icyproxy_client_connections_max The most client connections open at once ([server] max_connections).\n\
         # TYPE icyproxy_client_connections_max gauge\n\
         icyproxy_client_connections_max {}",
        stats.open,
        stats.max.unwrap_or(0)
    );
    out.push_str(
        "# HELP icyproxy_client_connections_closed_total Client connections closed by a rule: \
         header_timeout, idle_timeout, cap (the longest idle, for a new one), \
         refused (a new one, all busy), restart (idle, their listener restarted).\n\
         # TYPE icyproxy_client_connections_closed_total counter\n",
    );
    for (rule, n) in [
        ("header_timeout", stats.header_timeouts),
        ("idle_timeout", stats.idle_timeouts),
        ("cap", stats.evicted),
        ("refused", stats.refused),
        ("restart", stats.closed_with_server),
    ] {
        let _ = writeln!(
            out,
            "icyproxy_client_connections_closed_total{{rule=\"{rule}\"}} {n}"
        );
    }
}

/// A live stream; dropping it stops counting it.
pub struct ActiveStream<'a> {
    metrics: &'a Metrics,
    key: u64,
}

impl Drop for ActiveStream<'_> {
    fn drop(&mut self) {
        self.metrics
            .streams
            .lock()
            .expect("stream registry poisoned")
            .remove(&self.key);
        self.metrics.active_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_counter() {
        let m = Metrics::default();
        m.request(200, 10);
        m.request(200, 5);
        m.request(418, 0);
        m.upstream_retry();
        m.know_causes(&["bot_check", "rate_limited"]);
        m.resolver_result::<()>(&Err(Error::ResolverTimeout("killed".into())));
        m.url_refreshed();
        let guard = m.stream_started(None);
        let text = m.render();
        drop(guard);
        for line in [
            "icyproxy_requests_total{status=\"200\"} 2",
            "icyproxy_requests_total{status=\"other\"} 1",
            "icyproxy_active_streams 1",
            "icyproxy_bytes_sent_total 15",
            "icyproxy_upstream_retries_total 1",
            "icyproxy_resolver_ids_total 1",
            "icyproxy_resolver_failures_total 1",
            "icyproxy_resolver_failures_by_cause_total{cause=\"bot_check\"} 0",
            "icyproxy_resolver_failures_by_cause_total{cause=\"rate_limited\"} 0",
            "icyproxy_resolver_failures_by_cause_total{cause=\"timed_out\"} 1",
            "icyproxy_url_refreshes_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert_eq!(m.active_streams(), 0);
        assert!(
            !text.contains("client_connections"),
            "none without a server"
        );
    }

    #[test]
    fn renders_client_connections() {
        let m = Metrics::with_connections(Connections::new(tiny_http::ConnectionLimits {
            max_connections: Some(7),
            ..Default::default()
        }));
        let text = m.render();
        for line in [
            "icyproxy_client_connections 0",
            "icyproxy_client_connections_max 7",
            "icyproxy_client_connections_closed_total{rule=\"header_timeout\"} 0",
            "icyproxy_client_connections_closed_total{rule=\"idle_timeout\"} 0",
            "icyproxy_client_connections_closed_total{rule=\"cap\"} 0",
            "icyproxy_client_connections_closed_total{rule=\"refused\"} 0",
            "icyproxy_client_connections_closed_total{rule=\"restart\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
