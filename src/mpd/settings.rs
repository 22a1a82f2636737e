//! `[mpd]`: the MPD icyproxy follows and appends to, and autoplay's
//! numbers, checked here.

use std::fmt;

use serde::Deserialize;

use crate::mpd::FollowSettings;
use crate::mpd::queue::Session;
use crate::settings::{self, Checked, bad, within};

/// `[mpd]` as written in `proxy.toml`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MpdSettings {
    /// `host:port` or a Unix socket path; empty: off.
    pub address: String,
    /// Empty: none sent.
    pub password: String,
    /// Queue entries after the current one kept warm.
    pub warm_ahead: usize,
    pub autoplay: bool,
    pub autoplay_when_left: usize,
    pub autoplay_batch: usize,
    pub autoplay_history: usize,
    pub autoplay_any_queue: bool,
    /// Channel commands that reach YouTube (search, add, radio) run in
    /// any minute; 0: none.
    pub channel_per_minute: usize,
}

impl fmt::Debug for MpdSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpdSettings")
            .field("address", &self.address)
            .field("password", &self.password().map(|_| "***"))
            .field("warm_ahead", &self.warm_ahead)
            .field("autoplay", &self.autoplay())
            .finish()
    }
}

impl Default for MpdSettings {
    fn default() -> Self {
        MpdSettings {
            address: "127.0.0.1:6600".into(),
            password: String::new(),
            warm_ahead: 5,
            autoplay: false,
            autoplay_when_left: 2,
            autoplay_batch: 10,
            autoplay_history: 200,
            autoplay_any_queue: false,
            channel_per_minute: 10,
        }
    }
}

/// `[mpd] autoplay*`: when and how much to append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoplay {
    /// On at start (`autoplay = true`); the channel can toggle it.
    pub on: bool,
    /// Append when at most this many songs remain after the current one.
    pub when_left: usize,
    /// Songs appended at a time.
    pub batch: usize,
    /// Recent ids (played, queued, appended, failed) never appended again.
    pub history: usize,
    /// Also extend a queue whose last song is not this proxy's.
    pub any_queue: bool,
}

impl MpdSettings {
    /// The first wrong key of `[mpd]`.
    pub fn check(&self) -> Checked {
        settings::first([
            within("[mpd] warm_ahead", self.warm_ahead as u64, 0, 100),
            within(
                "[mpd] autoplay_when_left",
                self.autoplay_when_left as u64,
                0,
                100,
            ),
            within("[mpd] autoplay_batch", self.autoplay_batch as u64, 1, 50),
            within(
                "[mpd] autoplay_history",
                self.autoplay_history as u64,
                0,
                100_000,
            ),
            within(
                "[mpd] channel_per_minute",
                self.channel_per_minute as u64,
                0,
                600,
            ),
            self.check_address(),
        ])
    }

    fn check_address(&self) -> Checked {
        let Some(address) = self.address() else {
            return Ok(());
        };
        let socket = address.starts_with('/');
        let port = address.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
        match socket || matches!(port, Some(Ok(_))) {
            true => Ok(()),
            false => bad(
                "[mpd] address",
                "must be HOST:PORT or a socket path starting with /",
            ),
        }
    }

    /// The address, when following is on.
    pub fn address(&self) -> Option<&str> {
        settings::set_text(&self.address)
    }

    pub fn password(&self) -> Option<&str> {
        (!self.password.is_empty()).then_some(self.password.as_str())
    }

    pub fn autoplay(&self) -> Autoplay {
        Autoplay {
            on: self.autoplay,
            when_left: self.autoplay_when_left,
            batch: self.autoplay_batch,
            history: self.autoplay_history,
            any_queue: self.autoplay_any_queue,
        }
    }

    /// A connection for changes to the queue, when `address` is set.
    pub fn session(&self) -> Option<Session> {
        Some(Session {
            address: self.address()?.to_owned(),
            password: self.password().map(str::to_owned),
        })
    }

    /// What the follower needs, when `address` is set; `proxy_port` is
    /// the port of this server's queue entries (its public URL's).
    pub fn follow(&self, proxy_port: u16) -> Option<FollowSettings> {
        let session = self.session()?;
        Some(FollowSettings {
            address: session.address,
            password: session.password,
            warm_ahead: self.warm_ahead,
            proxy_port,
        })
    }
}

/// `[front]`: the front door, where MPD clients find YouTube Music.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrontSettings {
    /// `host:port` MPD clients connect to; empty: no front door.
    pub listen: String,
    /// The virtual directory's name at the root of MPD's.
    pub directory: String,
    /// YouTube Music songs a search adds after MPD's own.
    pub search_limit: usize,
    /// Client connections open at once (each holds one to MPD).
    pub max_connections: usize,
    /// Calls to YouTube Music one connection may make in any minute.
    pub reader_per_minute: usize,
}

impl Default for FrontSettings {
    fn default() -> Self {
        FrontSettings {
            listen: String::new(),
            directory: "YouTube Music".into(),
            search_limit: 20,
            max_connections: 32,
            reader_per_minute: 30,
        }
    }
}

impl FrontSettings {
    /// The first wrong key of `[front]`.
    pub fn check(&self) -> Checked {
        let listen = match self.listen() {
            Some(text) if text.parse::<std::net::SocketAddr>().is_err() => bad(
                "[front] listen",
                "must be HOST:PORT with an IP address (\"0.0.0.0:6601\"), or empty for off",
            ),
            _ => Ok(()),
        };
        let directory = self.directory.trim();
        let name = match directory.is_empty() || directory.contains('/') {
            true => bad("[front] directory", "must be a name without a /"),
            false => Ok(()),
        };
        settings::first([
            listen,
            name,
            within("[front] search_limit", self.search_limit as u64, 0, 100),
            within(
                "[front] max_connections",
                self.max_connections as u64,
                1,
                1000,
            ),
            within(
                "[front] reader_per_minute",
                self.reader_per_minute as u64,
                0,
                600,
            ),
        ])
    }

    /// Where to listen, when the front door is on.
    pub fn listen(&self) -> Option<&str> {
        settings::set_text(&self.listen)
    }

    /// The virtual directory's name (checked at load).
    pub fn directory(&self) -> &str {
        self.directory.trim()
    }
}
