//! The composition root: builds the server, the MPD follower, the warmer
//! and playlist sync from the `Config`, handing each subsystem its own
//! section and the facts derived here once (the public URL and its port,
//! the cookie copy, the freshness rule inside the track source). Nothing
//! below this folder starts a thread of another layer or knows which
//! parts exist beside it.
//!
//! ```text
//! App::start:  bind  ->  check the store  ->  upstream, tracks, covers
//!              ->  Ahead (mpd::follow feeding warm::Warmer)
//!              ->  playlists (bare entries tagged, playlist sync)
//!              ->  http::server::Server::start(listener, parts)
//! ```

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;

use log::{info, warn};

use crate::catalog::cookies;
use crate::catalog::lookup::TrackSource;
use crate::catalog::music::Music;
use crate::catalog::playlist_source::{self, KeepUp, MpdFiles, Reader, Sources};
use crate::catalog::store::open::Opener;
use crate::catalog::ytdlp_error::Class;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::server::{Parts, Server, StopHandle, client_connections};
use crate::metrics::Metrics;
use crate::mpd::{self, Listeners};
use crate::public_url::PublicUrl;
use crate::stream::cache::AudioCache;
use crate::stream::cover::CoverCache;
use crate::stream::proxy::StreamSettings;
use crate::stream::upstream::Upstream;

use super::autoplay;
use super::beside::{Ahead, Beside};
use super::channel;
use super::checks::{self, Program};
use super::entries::QueueEntries;
use super::fetch_ahead::{AheadParts, FetchAhead};
use super::front;
use super::history::{HEARD_SECS, History};
use super::warm::{WarmParts, Warmer};

/// The whole running service: the HTTP server and what runs beside it.
pub struct App {
    server: Server,
    warnings: Vec<String>,
    front: Option<SocketAddr>,
}

impl App {
    /// Binds `host:port` (port 0 picks a free one), checks the store, and
    /// starts the server, the MPD follower with its warmer, and the
    /// playlist thread as the config asks.
    pub fn start(config: &Config) -> Result<App> {
        let listener = bind(config)?;
        let read_only = check_store(config)?;
        tidy_cookies(config);
        let stopping = Arc::new(AtomicBool::new(false));
        let connections = client_connections(&config.server);
        let metrics = Arc::new(Metrics::with_connections(Arc::clone(&connections)));
        let mut causes: Vec<&'static str> = Class::ALL.iter().map(|c| c.name()).collect();
        causes.extend(["timed_out", "not_found"]);
        metrics.know_causes(&causes);
        let parts = Parts {
            upstream: Upstream::new(&config.upstream)?,
            tracks: Arc::new(track_source(config, Arc::clone(&metrics))),
            covers: Arc::new(CoverCache::new(
                &config.cover.cache_dir,
                config.cover.max_bytes,
            )),
            cache: start_cache(config, &metrics, read_only),
            metrics,
            stopping,
            read_only,
            connections,
            stream: StreamSettings {
                metaint: config.icy.metaint,
                chunk_bytes: config.upstream.chunk_bytes,
                retries: config.upstream.retries,
                write_timeout: config.server.write_timeout(),
                max_wait: config.resolver.max_wait(),
            },
            store_path: config.store.path.clone(),
        };
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?
            .port();
        // What runs beside the server names it by the port it really has.
        let entries = QueueEntries::of(config, Some(port));
        let sources = sources(config, entries.public());
        let warnings = start_warnings(config);
        let front = front::start(front::FrontParts {
            settings: config.front.clone(),
            mpd_address: config.mpd.address().unwrap_or_default().to_owned(),
            entries: entries.clone(),
            sources: sources.clone(),
            tracks: Arc::clone(&parts.tracks),
            store_path: config.store.path.clone(),
            stopping: Arc::clone(&parts.stopping),
        })?;
        let beside = Beside {
            ahead: start_ahead(config, &parts, &entries, &sources)?,
            warnings: warnings.clone(),
            reader: sources.music.clone(),
            history: start_history(&sources, &parts)?,
            front: front.as_ref().map(|door| Arc::clone(&door.status)),
        };
        let front = front.map(|door| door.addr);
        start_playlists(config, &parts, &sources)?;
        start_library_sync(config, &parts, &sources)?;
        start_tidy(config, &parts)?;
        let server = Server::start(&config.server, listener, parts, Arc::new(beside))?;
        Ok(App {
            server,
            warnings,
            front,
        })
    }

    /// What doctor would fail, as this process sees it at start (with the
    /// user, groups and sandbox it runs with): said once in the log, and
    /// kept in `/health` (`warnings`) for doctor run from another shell.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The front door's address, when `[front] listen` is set.
    pub fn front_addr(&self) -> Option<SocketAddr> {
        self.front
    }

    pub fn stop_handle(&self) -> StopHandle {
        self.server.stop_handle()
    }

    /// Blocks until the server stops (see [`Server::wait`]).
    pub fn wait(self) -> Result<()> {
        self.server.wait()
    }
}

/// The history reporter, when `[youtube] report_history` is on and
/// cookies are set.
fn start_history(sources: &Sources, parts: &Parts) -> Result<Option<History>> {
    if sources
        .music
        .as_ref()
        .is_some_and(|m| m.asks_history() && !m.has_cookies())
    {
        warn!(
            "[youtube] report_history needs your cookies ([resolver] cookies_file): nothing is reported"
        );
    }
    match sources.music.as_ref().filter(|m| m.reports_history()) {
        Some(music) => {
            info!("songs heard for {HEARD_SECS} s or more are reported to your YouTube history");
            History::start(music.clone(), Arc::clone(&parts.stopping)).map(Some)
        }
        None => Ok(None),
    }
}

/// Removes the cookie copies of runs that ended without tidying (a
/// SIGKILL, a power cut) and, when `cookies_file` is unset, the service's
/// own copy: a login the user took away stays away.
fn tidy_cookies(config: &Config) {
    let copy = config.store.cookies_copy();
    let swept = cookies::sweep(&copy);
    if swept > 0 {
        info!("removed {swept} copies of the cookies left by runs that were cut short");
    }
    // (`--cookies` written into a command is refused at load: the copy
    // is always icyproxy's own.)
    if config.cookies().is_none() && cookies::forget(&copy) {
        info!(
            "[resolver] cookies_file is unset: removed icyproxy's copy of the cookies {}",
            copy.display()
        );
    }
}

/// The track source of `[resolver]`, lending every run the cookie copy.
pub fn track_source(config: &Config, metrics: Arc<Metrics>) -> TrackSource {
    TrackSource::new(&config.resolver, config.cookies(), metrics)
}

/// The playlist reader and MPD's playlist files, whose entries point at
/// `public`.
pub fn sources(config: &Config, public: &PublicUrl) -> Sources {
    Sources {
        reader: Reader::new(&config.resolver, config.cookies()),
        music: Music::new(&config.youtube, config.cookies()),
        files: config
            .playlists
            .mpd_dir()
            .map(|dir| MpdFiles::new(dir, public, config.server.token())),
    }
}

/// The resolver program missing, `mpd_dir` not writable, the cookies file
/// refused: doctor's own checks ([`checks`]), as warning lines.
fn start_warnings(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    let path = std::env::var_os("PATH");
    if let Program::Missing(program) = checks::resolver_program(&config.resolver, path.as_deref()) {
        warnings.push(format!(
            "resolver program {program} not found on PATH: unknown ids will fail (install \
             yt-dlp, or set [resolver] command = [] to turn resolving off)"
        ));
    }
    if let Some(Err(why)) = checks::mpd_dir(&config.playlists).map(|c| c.usable) {
        warnings.push(format!(
            "[playlists] mpd_dir: {why}: playlists will not reach MPD (README: the mpd_dir \
             steps)"
        ));
    }
    if let Some((_, Err(refused))) = checks::cookies_file(config) {
        warnings.push(format!(
            "[resolver] cookies_file {refused} (until then every yt-dlp run fails)"
        ));
    }
    warnings
}

/// Binds the listening socket, with the fix for the usual refusals.
fn bind(config: &Config) -> Result<TcpListener> {
    let bind = config.server.bind_address();
    TcpListener::bind(&bind).map_err(|e| {
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
    })
}

/// Opens (and migrates) the store once now, so a bad database fails the
/// start; each worker opens its own connection on its first request. A
/// database this process cannot write is served read-only: returns
/// whether it is.
fn check_store(config: &Config) -> Result<bool> {
    let opened = Opener::Start.open(&config.store.path)?;
    if let Some(e) = &opened.unwritable {
        warn!("{e}; serving it read-only: tracks resolved now will not be stored");
    }
    Ok(opened.unwritable.is_some())
}

/// The audio cache of `[cache]`, its files and entries made to agree (a
/// kill leaves a temp file, or a file without its entry).
fn start_cache(config: &Config, metrics: &Arc<Metrics>, read_only: bool) -> Arc<AudioCache> {
    let opener = Opener::Thread { read_only };
    let mut opened = match (config.cache.on(), read_only) {
        (true, false) => opener
            .open(&config.store.path)
            .map_err(|e| warn!("cache: {e}"))
            .ok(),
        _ => None,
    };
    let store = opened.as_mut().map(|o| &mut o.store);
    let cache = AudioCache::start(&config.cache, Arc::clone(metrics), store);
    // A database this process cannot write could not record a song kept.
    Arc::new(if read_only { cache.serve_only() } else { cache })
}

/// Starts the playlist thread when it has work: tagging the entries that
/// are only an id (with a resolver), and re-reading playlist sources every
/// `sync_minutes`. Not for a read-only store.
fn start_playlists(config: &Config, parts: &Parts, sources: &Sources) -> Result<()> {
    let every = config.playlists.sync_every();
    if parts.read_only || (every.is_none() && !parts.tracks.can_resolve()) {
        return Ok(());
    }
    let keep = KeepUp {
        sources: sources.clone(),
        store_path: config.store.path.clone(),
        every,
    };
    let (tracks, stop, counts) = (
        Arc::clone(&parts.tracks),
        Arc::clone(&parts.stopping),
        Arc::clone(&parts.metrics),
    );
    thread::Builder::new()
        .name("playlists".into())
        .spawn(move || playlist_source::keep_up(&keep, &tracks, &stop, &counts))
        .map(drop)
        .map_err(|e| Error::io("cannot start the playlist thread", e))
}

/// Reads the account's library again every `library_minutes` on its own
/// thread; one log line per change, one per failure streak.
fn start_library_sync(config: &Config, parts: &Parts, sources: &Sources) -> Result<()> {
    let Some(every) = config
        .playlists
        .library_every()
        .filter(|_| !parts.read_only)
    else {
        return Ok(());
    };
    let keep = KeepUp {
        sources: sources.clone(),
        store_path: config.store.path.clone(),
        every: Some(every),
    };
    let stop = Arc::clone(&parts.stopping);
    thread::Builder::new()
        .name("library-sync".into())
        .spawn(move || library_sync_forever(&keep, &stop))
        .map(drop)
        .map_err(|e| Error::io("cannot start the library sync thread", e))
}

/// Starts the thread that ages out what searches found, unless the store
/// is read-only or `[store] found_days` is 0.
fn start_tidy(config: &Config, parts: &Parts) -> Result<()> {
    let Some(keep_for) = config.store.found_for().filter(|_| !parts.read_only) else {
        return Ok(());
    };
    let tidy = super::tidy::Tidy {
        store_path: config.store.path.clone(),
        keep_for,
        mpd: config.mpd.session(),
    };
    tidy.start(Arc::clone(&parts.stopping))
}

/// Syncs the library every `keep.every` until `stopping` is set.
fn library_sync_forever(keep: &KeepUp, stopping: &AtomicBool) {
    let Some(every) = keep.every else { return };
    let mut failing = false;
    while playlist_source::pause(every, stopping) {
        let synced = Opener::Thread { read_only: false }
            .open(&keep.store_path)
            .and_then(|mut opened| {
                crate::catalog::library::sync_library(&keep.sources, &mut opened.store)
            });
        match synced {
            Ok(report) => {
                if std::mem::take(&mut failing) {
                    info!("library sync works again");
                }
                for done in report
                    .synced
                    .iter()
                    .filter(|d| d.change.added + d.change.removed > 0 || d.change.reordered)
                {
                    info!("library synced: {}", playlist_source::sync_summary(done));
                }
                for name in &report.removed {
                    info!("library sync: {name} is no longer in your library: removed");
                }
                for (name, e) in &report.failed {
                    warn!("library sync: {name}: left as it was: {e}");
                }
            }
            Err(e) if !failing => {
                failing = true;
                warn!("library sync failed, playlists left as they were: {e}");
            }
            Err(_) => {}
        }
    }
}

/// The thread that fetches the songs after MPD's current one into the
/// cache, when `[cache] ahead` asks for it.
fn start_fetch_ahead(config: &Config, parts: &Parts) -> Result<Option<FetchAhead>> {
    let settings = &config.cache;
    if !settings.on() || settings.ahead == 0 {
        return Ok(None);
    }
    let fetcher = FetchAhead::start(AheadParts {
        tracks: Arc::clone(&parts.tracks),
        cache: Arc::clone(&parts.cache),
        upstream: parts.upstream.clone(),
        stopping: Arc::clone(&parts.stopping),
        store_path: config.store.path.clone(),
        ahead: settings.ahead as usize,
        bytes_per_sec: settings.ahead_rate_kbps.saturating_mul(1000) / 8,
        chunk_bytes: config.upstream.chunk_bytes,
        retries: config.upstream.retries,
    })
    .map_err(|e| Error::io("cannot start the fetch-ahead thread", e))?;
    Ok(Some(fetcher))
}

/// Starts the warming thread and the MPD follower that feeds it, unless
/// `[mpd] address` is empty. Only MPD's queue is warmed: no queue, no
/// resolver runs. Messages on MPD's channel go to the command thread.
fn start_ahead(
    config: &Config,
    parts: &Parts,
    entries: &QueueEntries,
    sources: &Sources,
) -> Result<Ahead> {
    let (Some(settings), Some(session)) = (config.mpd.follow(entries.port()), config.mpd.session())
    else {
        return Ok(Ahead::default());
    };
    if parts.read_only {
        warn!("not following MPD's queue: warming needs a database it can write");
        return Ok(Ahead::default());
    }
    let warm_parts = WarmParts {
        tracks: Arc::clone(&parts.tracks),
        covers: Arc::clone(&parts.covers),
        upstream: parts.upstream.clone(),
        metrics: Arc::clone(&parts.metrics),
        stopping: Arc::clone(&parts.stopping),
        store_path: config.store.path.clone(),
    };
    let (warmer, _thread) =
        Warmer::start(warm_parts).map_err(|e| Error::io("cannot start the warming thread", e))?;
    let warmer = Arc::new(warmer);
    let fed = Arc::clone(&warmer);
    let fetcher = start_fetch_ahead(config, parts)?;
    let radio = autoplay::Radio {
        tracks: Arc::clone(&parts.tracks),
        session,
        sources: sources.clone(),
        entries: entries.clone(),
        store_path: config.store.path.clone(),
        mpd: config.mpd.clone(),
    };
    let autoplay = Arc::new(autoplay::AutoplayStatus::new(config.mpd.autoplay));
    let commands = channel::Commands {
        radio: radio.clone(),
        autoplay: Arc::clone(&autoplay),
    };
    let sender = channel::start(commands, Arc::clone(&parts.stopping))?;
    let states = autoplay::start(radio, Arc::clone(&autoplay), Arc::clone(&parts.stopping))?;
    let listeners = Listeners {
        on_window: Box::new(move |ids| {
            if let Some(fetcher) = &fetcher {
                fetcher.set_window(&ids);
            }
            fed.set_window(ids);
        }),
        on_message: Some(Box::new(move |text| channel::hand_over(&sender, text))),
        on_queue: Some(Box::new(move |state| states.put(state))),
    };
    let (follow, _thread) = mpd::follow_with(settings, Arc::clone(&parts.stopping), listeners)?;
    Ok(Ahead {
        follow: Some(follow),
        warmer: Some(warmer),
        autoplay: Some(autoplay),
    })
}
