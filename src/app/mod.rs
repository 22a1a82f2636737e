//! The composition root: builds the server, the MPD follower, the warmer
//! and playlist sync from the `Config` and wires them together. Nothing
//! below this folder starts a thread of another layer or knows which
//! parts exist beside it.
//!
//! ```text
//! App::start:  bind  ->  check the store  ->  upstream, tracks, covers
//!              ->  Ahead (mpd::follow feeding warm::Warmer)
//!              ->  playlists (bare entries tagged, playlist sync)
//!              ->  http::server::Server::start(listener, parts)
//! ```

pub mod autoplay;
pub mod channel;
pub mod warm;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;

use log::{info, warn};

use crate::catalog::cookies;
use crate::catalog::discover;
use crate::catalog::lookup::TrackSource;
use crate::catalog::model::Track;
use crate::catalog::playlist::{self, Links};
use crate::catalog::playlist_source;
use crate::catalog::store::TrackStore;
use crate::catalog::ytdlp_error::{self, Class};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::endpoints::Status;
use crate::http::server::{Parts, Server, StopHandle, client_connections};
use crate::metrics::Metrics;
use crate::mpd::queue::{QueueSong, Session};
use crate::mpd::{self, FollowSettings, FollowStatus, Link, Listeners};
use crate::permissions::{self, Want};
use crate::stream::cover::CoverCache;
use crate::stream::upstream::Upstream;
use warm::{WarmParts, Warmer};

/// The whole running service: the HTTP server and what runs beside it.
pub struct App {
    server: Server,
    warnings: Vec<String>,
}

impl App {
    /// Binds `host:port` (port 0 picks a free one), checks the store, and
    /// starts the server, the MPD follower with its warmer, and the
    /// playlist thread as the config asks.
    pub fn start(config: &Config) -> Result<App> {
        let listener = bind(config)?;
        let read_only = check_store(config)?;
        let stopping = Arc::new(AtomicBool::new(false));
        let connections = client_connections(config);
        let metrics = Arc::new(Metrics::with_connections(Arc::clone(&connections)));
        let mut causes: Vec<&'static str> = Class::ALL.iter().map(|c| c.name()).collect();
        causes.extend(["timed_out", "not_found"]);
        metrics.know_causes(&causes);
        let parts = Parts {
            upstream: Upstream::new(config)?,
            tracks: Arc::new(TrackSource::new(config, Arc::clone(&metrics))),
            covers: Arc::new(CoverCache::new(&config.cover_dir, config.cover_max_bytes)),
            metrics,
            stopping,
            read_only,
            connections,
        };
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?
            .port();
        // What runs beside the server names it by the port it really has.
        let bound = Config {
            port,
            ..config.clone()
        };
        let warnings = start_warnings(config);
        let beside = Beside {
            ahead: start_ahead(&bound, &parts)?,
            warnings: warnings.clone(),
        };
        start_playlists(config, &parts)?;
        start_library_sync(&bound, &parts)?;
        let server = Server::start(config, listener, parts, Arc::new(beside))?;
        Ok(App { server, warnings })
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

    pub fn stop_handle(&self) -> StopHandle {
        self.server.stop_handle()
    }

    /// Blocks until the server stops (see [`Server::wait`]).
    pub fn wait(self) -> Result<()> {
        self.server.wait()
    }
}

/// The resolver program missing, `mpd_dir` not writable, the cookies file
/// unreadable.
fn start_warnings(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(program) = config.resolver_command.first() {
        if ytdlp_error::locate(program, std::env::var_os("PATH").as_deref()).is_none() {
            warnings.push(format!(
                "resolver program {program} not found on PATH: unknown ids will fail (install \
                 yt-dlp, or set [resolver] command = [] to turn resolving off)"
            ));
        }
    }
    if let Some(dir) = &config.mpd_dir {
        if let Err(why) = permissions::check(dir, Want::Write) {
            warnings.push(format!(
                "[playlists] mpd_dir: {why}: playlists will not reach MPD (README: the mpd_dir \
                 steps)"
            ));
        }
    }
    if let Some(file) = cookies::file_of(config) {
        if let Err(why) = permissions::check(&file, Want::Read) {
            warnings.push(format!("cookies file: {why}: yt-dlp runs without them"));
        }
    }
    warnings
}

/// Binds the listening socket, with the fix for the usual refusals.
fn bind(config: &Config) -> Result<TcpListener> {
    let bind = config.bind_address();
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
    match TrackStore::open(&config.db_path) {
        Ok(_) => Ok(false),
        Err(e) if config.db_path.is_file() => match TrackStore::open_read_only(&config.db_path) {
            Ok(_) => {
                warn!("{e}; serving it read-only: tracks resolved now will not be stored");
                Ok(true)
            }
            Err(_) => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Starts the playlist thread when it has work: tagging the entries that
/// are only an id (with a resolver), and re-reading playlist sources every
/// `sync_minutes`. Not for a read-only store.
fn start_playlists(config: &Config, parts: &Parts) -> Result<()> {
    let every = config.sync_every;
    if parts.read_only || (every.is_none() && !parts.tracks.can_resolve()) {
        return Ok(());
    }
    let (config, tracks, stop, counts) = (
        config.clone(),
        Arc::clone(&parts.tracks),
        Arc::clone(&parts.stopping),
        Arc::clone(&parts.metrics),
    );
    thread::Builder::new()
        .name("playlists".into())
        .spawn(move || playlist_source::keep_up(&config, &tracks, every, &stop, &counts))
        .map(drop)
        .map_err(|e| Error::io("cannot start the playlist thread", e))
}

/// Reads the account's library again every `library_minutes` on its own
/// thread; one log line per change, one per failure streak.
fn start_library_sync(config: &Config, parts: &Parts) -> Result<()> {
    let Some(every) = config.library_every.filter(|_| !parts.read_only) else {
        return Ok(());
    };
    let (config, stop) = (config.clone(), Arc::clone(&parts.stopping));
    thread::Builder::new()
        .name("library-sync".into())
        .spawn(move || library_sync_forever(&config, every, &stop))
        .map(drop)
        .map_err(|e| Error::io("cannot start the library sync thread", e))
}

fn library_sync_forever(config: &Config, every: std::time::Duration, stopping: &AtomicBool) {
    let mut failing = false;
    while playlist_source::pause(every, stopping) {
        let synced = TrackStore::open(&config.db_path)
            .and_then(|mut store| discover::sync_library(config, &mut store));
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

/// The queue entry for a stored track: this server's seekable URL
/// (`/proxy/ID/?icy=0`, as playlist entries are) and its tags.
pub fn queue_song(config: &Config, track: &Track) -> QueueSong {
    let base = config.playlists_base_url();
    let links = Links {
        base_url: &base,
        token: config.token.as_deref(),
    };
    QueueSong {
        url: playlist::track_url(links, track.video_id.as_str()),
        artist: track.tags.artist.clone(),
        title: track.tags.title.clone(),
        album: track.tags.album.clone(),
    }
}

/// The port MPD reaches this server at: `[playlists] base_url`'s, or
/// `[server] port` (queue entries on another port are not this proxy's).
pub fn proxy_port(config: &Config) -> u16 {
    let base = config.playlists_base_url();
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", &base));
    let authority = rest.split('/').next().unwrap_or("");
    let port = authority
        .rsplit_once(':')
        .filter(|(host, _)| !host.ends_with(']') || authority.starts_with('['))
        .and_then(|(_, p)| p.parse().ok());
    port.unwrap_or(if scheme == "https" { 443 } else { 80 })
}

/// The MPD session for changes to the queue, when `[mpd] address` is set.
pub fn mpd_session(config: &Config) -> Option<Session> {
    Some(Session {
        address: config.mpd_address.clone()?,
        password: config.mpd_password.clone(),
    })
}

/// Starts the warming thread and the MPD follower that feeds it, unless
/// `[mpd] address` is empty. Only MPD's queue is warmed: no queue, no
/// resolver runs. Messages on MPD's channel go to the command thread.
fn start_ahead(config: &Config, parts: &Parts) -> Result<Ahead> {
    let port = config.port;
    let Some(address) = config.mpd_address.clone() else {
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
    };
    let (warmer, _thread) = Warmer::start(config, warm_parts)
        .map_err(|e| Error::io("cannot start the warming thread", e))?;
    let warmer = Arc::new(warmer);
    let fed = Arc::clone(&warmer);
    let settings = FollowSettings {
        address,
        password: config.mpd_password.clone(),
        warm_ahead: config.warm_ahead,
        proxy_port: port,
    };
    let radio = autoplay::Radio {
        config: config.clone(),
        tracks: Arc::clone(&parts.tracks),
        session: Session {
            address: settings.address.clone(),
            password: settings.password.clone(),
        },
    };
    let autoplay = Arc::new(autoplay::AutoplayStatus::new(config.autoplay.on));
    let commands = channel::Commands {
        radio: radio.clone(),
        autoplay: Arc::clone(&autoplay),
    };
    let sender = channel::start(commands, Arc::clone(&parts.stopping))?;
    let states = autoplay::start(radio, Arc::clone(&autoplay), Arc::clone(&parts.stopping))?;
    let listeners = Listeners {
        on_window: Box::new(move |ids| fed.set_window(ids)),
        on_message: Some(Box::new(move |text| channel::hand_over(&sender, text))),
        on_queue: Some(Box::new(move |state| {
            let _ = states.send(state);
        })),
    };
    let (follow, _thread) = mpd::follow_with(settings, Arc::clone(&parts.stopping), listeners)?;
    Ok(Ahead {
        follow: Some(follow),
        warmer: Some(warmer),
        autoplay: Some(autoplay),
    })
}

/// The MPD follower and the warming it feeds; both absent when `[mpd]
/// address` is empty.
#[derive(Default)]
struct Ahead {
    follow: Option<Arc<FollowStatus>>,
    warmer: Option<Arc<Warmer>>,
    autoplay: Option<Arc<autoplay::AutoplayStatus>>,
}

impl Ahead {
    /// `"connected"`, `"disconnected"` or `"off"`.
    fn mpd_link(&self) -> &'static str {
        self.follow
            .as_ref()
            .map_or(Link::Off, |f| f.link())
            .as_str()
    }

    /// How many of the tracks MPD will play next are warm.
    fn warm_tracks(&self) -> usize {
        self.warmer.as_ref().map_or(0, |w| w.warm_tracks())
    }
}

impl Status for Ahead {
    fn health(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        fields.insert("mpd".into(), self.mpd_link().into());
        // MPD gone: nothing is being kept warm for it.
        let warm = match self.mpd_link() {
            "connected" => self.warm_tracks(),
            _ => 0,
        };
        fields.insert("warm_tracks".into(), warm.into());
        let paused = self.warmer.as_ref().is_some_and(|w| w.paused());
        fields.insert(
            "warming".into(),
            match (self.warmer.is_some(), paused) {
                (false, _) => "off",
                (true, false) => "on",
                (true, true) => "paused for YouTube's rate limit",
            }
            .into(),
        );
        let autoplay = self.autoplay.as_ref().map_or_else(
            || serde_json::json!({"on": false, "appended": 0, "last_seed": null, "last_error": null}),
            |a| a.health(),
        );
        fields.insert("autoplay".into(), autoplay);
        fields
    }

    fn metrics(&self) -> String {
        let reconnects = self.follow.as_ref().map_or(0, |f| f.reconnects());
        format!(
            "# HELP icyproxy_mpd_reconnects_total Connections to MPD made again after one was lost.\n\
             # TYPE icyproxy_mpd_reconnects_total counter\nicyproxy_mpd_reconnects_total {reconnects}\n\
             # HELP icyproxy_warm_tracks Tracks of MPD's coming window that are warm now.\n\
             # TYPE icyproxy_warm_tracks gauge\nicyproxy_warm_tracks {}\n\
             # HELP icyproxy_autoplay_on Whether autoplay extends MPD's queue now (1) or not (0).\n\
             # TYPE icyproxy_autoplay_on gauge\nicyproxy_autoplay_on {}\n\
             # HELP icyproxy_autoplay_appended_total Songs autoplay appended to MPD's queue.\n\
             # TYPE icyproxy_autoplay_appended_total counter\nicyproxy_autoplay_appended_total {}\n",
            self.warm_tracks(),
            u8::from(self.autoplay.as_ref().is_some_and(|a| a.is_on())),
            self.autoplay.as_ref().map_or(0, |a| a.appended()),
        )
    }
}

/// What `/health` and `/metrics` show beside the server's own counters:
/// what runs ahead of the player, and [`App::warnings`].
struct Beside {
    ahead: Ahead,
    warnings: Vec<String>,
}

impl Status for Beside {
    fn health(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = self.ahead.health();
        fields.insert("warnings".into(), self.warnings.clone().into());
        fields
    }

    fn metrics(&self) -> String {
        self.ahead.metrics()
    }
}
