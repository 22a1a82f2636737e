//! [`TrackStore`]: the SQLite file that maps video ids to stream URLs and
//! tags. One connection per thread (rusqlite connections are not `Sync`);
//! WAL and a busy timeout let the CLI write while the server reads.
//!
//! Its methods are split by table: `open` (opening, migrating, the schema,
//! [`open::LazyStore`]), `tracks`, `playlists`, `history` (autoplay's) and
//! `found` (what searches found, aged out) and `cached` (the audio
//! cache's entries).
//! What it stores is [`crate::catalog::model`].

use std::path::PathBuf;

use rusqlite::{Connection, Row};

pub mod cached;
mod found;
mod history;
pub mod open;
mod playlists;
pub mod stickers;
mod tracks;

/// One connection to the track store.
pub struct TrackStore {
    conn: Connection,
    path: PathBuf,
}

impl TrackStore {
    /// The database file, as opened.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// Reads text leniently: another program may have written invalid UTF-8,
/// which must not make a row unreadable.
fn text(row: &Row<'_>, i: usize) -> rusqlite::Result<String> {
    let value = row.get_ref(i)?;
    Ok(match value.as_bytes_or_null()? {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => String::new(),
    })
}

/// A valid user track, for the tests of every table.
#[cfg(test)]
fn track(id: &str, title: &str) -> crate::catalog::model::NewTrack {
    crate::catalog::model::NewTrack::new(id, "http://127.0.0.1:1/a", "Artist", title)
        .expect("valid track")
}
