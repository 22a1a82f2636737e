//! Changing MPD's queue for icyproxy (search results, radio songs): a
//! short-lived connection of its own, never the follower's, which stays in
//! `idle`.
//!
//! Songs go in with `addid` and get their tags with `addtagid` (MPD allows
//! tags on remote songs in the queue), so every client shows "Artist -
//! Title" before the song has played. N songs cost two round trips: one
//! command list of `addid`s, one of `addtagid`s (and `playid`). MPD has no
//! way to give a queued song a duration: it learns it when it plays.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use super::client::{Connection, Failure, LoginFailure};
use super::protocol::{self, ACK_PERMISSION};
use crate::error::{Error, Result};

/// Where MPD is, and its password.
#[derive(Clone)]
pub struct Session {
    /// `host:port`, or a Unix socket path starting with `/`.
    pub address: String,
    /// Sent with `password`; `None` or empty: none.
    pub password: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("address", &self.address)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A song to append: its URL and the tags clients show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSong {
    pub url: String,
    pub artist: String,
    pub title: String,
    pub album: Option<String>,
}

impl QueueSong {
    /// The `addtagid` commands that give queue entry `id` this song's
    /// tags (those it has).
    pub fn tag_commands(&self, id: u64) -> Vec<String> {
        let album = self.album.as_deref().unwrap_or("");
        [
            ("Artist", self.artist.as_str()),
            ("Title", self.title.as_str()),
            ("Album", album),
        ]
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(tag, value)| format!("addtagid {id} {tag} {}", arg(value)))
        .collect()
    }
}

/// One entry of the queue, as `playlistinfo` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedFile {
    pub pos: usize,
    pub file: String,
}

impl Session {
    /// Appends `songs` (tagged) to the queue and returns their song ids;
    /// with `play`, MPD plays the first of them.
    pub fn append(&self, songs: &[QueueSong], play: bool) -> Result<Vec<u64>> {
        if songs.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.open()?;
        let adds: Vec<String> = songs
            .iter()
            .map(|s| format!("addid {}", arg(&s.url)))
            .collect();
        let answers = conn
            .command_list(&adds)
            .map_err(|f| self.failed("addid", f))?;
        let ids: Vec<u64> = answers
            .iter()
            .map(|pairs| {
                let id = pairs.iter().find(|(k, _)| k == "Id").map(|(_, v)| v);
                id.and_then(|v| v.parse().ok()).ok_or_else(|| {
                    Error::Mpd(format!(
                        "MPD at {} answered addid without an Id",
                        self.address
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let mut tags = Vec::new();
        for (id, song) in ids.iter().zip(songs) {
            tags.extend(song.tag_commands(*id));
        }
        if play {
            tags.push(format!("playid {}", ids[0]));
        }
        if !tags.is_empty() {
            conn.command_list(&tags)
                .map_err(|f| self.failed("addtagid", f))?;
        }
        Ok(ids)
    }

    /// The current song's URI (`currentsong`), if there is one.
    pub fn current(&self) -> Result<Option<String>> {
        let pairs = self
            .open()?
            .command("currentsong")
            .map_err(|f| self.failed("currentsong", f))?;
        Ok(pairs.into_iter().find(|(k, _)| k == "file").map(|(_, v)| v))
    }

    /// Every entry of the queue (`playlistinfo`): for a one-off look, not
    /// for following (the follower reads only a window).
    pub fn queue(&self) -> Result<Vec<QueuedFile>> {
        let pairs = self
            .open()?
            .command("playlistinfo")
            .map_err(|f| self.failed("playlistinfo", f))?;
        let entries = protocol::parse_entries(&pairs)
            .map_err(|e| Error::Mpd(format!("MPD at {}: {e}", self.address)))?;
        Ok(entries
            .into_iter()
            .map(|e| QueuedFile {
                pos: e.pos,
                file: e.file,
            })
            .collect())
    }

    /// Sends `text` (one line) to MPD's channel `channel`, for the
    /// clients subscribed to it; MPD refuses it when nobody is.
    pub fn send_message(&self, channel: &str, text: &str) -> Result<()> {
        let command = format!("sendmessage {} {}", arg(channel), arg(text));
        self.open()?
            .command(&command)
            .map_err(|f| self.failed("sendmessage", f))?;
        Ok(())
    }

    /// Connects and sends the password.
    fn open(&self) -> Result<Connection> {
        let stopping = Arc::new(AtomicBool::new(false));
        let counted = Arc::new(AtomicU64::new(0));
        let password = self.password.as_deref();
        Connection::login(&self.address, password, &stopping, &counted).map_err(|f| match f {
            LoginFailure::Connect(failure) => self.failed("connect", failure),
            LoginFailure::Unsendable { .. } => Error::Mpd(
                "[mpd] password contains a line break, which MPD's protocol cannot carry".into(),
            ),
            LoginFailure::Password { failure, .. } => self.failed("password", failure),
        })
    }

    /// A failure, told for the user.
    fn failed(&self, what: &str, failure: Failure) -> Error {
        let addr = &self.address;
        Error::Mpd(match failure {
            Failure::Unreachable(detail) => format!(
                "MPD not available at {addr}: {detail} (is MPD running, and is [mpd] address right?)"
            ),
            Failure::Lost(detail) => format!("MPD at {addr}: {detail}"),
            Failure::Ack(ack) if ack.code == ACK_PERMISSION => format!(
                "MPD at {addr} refused {what} ({ack}): set [mpd] password to a password with the \
                 add and control permissions"
            ),
            Failure::Ack(ack) if what == "password" => format!(
                "MPD refused the password at {addr} ({ack}): set [mpd] password in proxy.toml"
            ),
            Failure::Ack(ack) => format!("MPD at {addr} refused {what}: {ack}"),
            Failure::Stopped => format!("MPD at {addr}: stopped"),
        })
    }
}

/// One quoted argument; line breaks (which MPD's protocol cannot carry)
/// become spaces.
fn arg(text: &str) -> String {
    let flat = text.replace(['\n', '\r'], " ");
    protocol::quote(&flat).unwrap_or_else(|| "\"\"".into())
}
