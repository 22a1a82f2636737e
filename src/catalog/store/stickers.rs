//! Stickers on YouTube Music songs (MPD's per-song `name = value` notes,
//! which clients use for ratings), set through the front door: MPD keeps
//! stickers only for the songs of its own database.

use rusqlite::params;

use crate::catalog::store::{TrackStore, text};
use crate::error::Result;
use crate::video_id::VideoId;

/// Stickers one song may carry, and the longest name and value: a LAN
/// client cannot fill the SD card through them.
pub const MAX_STICKERS: usize = 64;
pub const MAX_STICKER_BYTES: usize = 1024;

impl TrackStore {
    /// The song's stickers, by name.
    pub fn stickers(&self, id: &VideoId) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, value FROM stickers WHERE video_id = ?1 ORDER BY name")?;
        let rows = stmt.query_map([id.as_str()], |r| Ok((text(r, 0)?, text(r, 1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sets one; `false` (nothing written) when the song has
    /// [`MAX_STICKERS`] others already.
    pub fn set_sticker(&mut self, id: &VideoId, name: &str, value: &str) -> Result<bool> {
        let others: i64 = self.conn.query_row(
            "SELECT count(*) FROM stickers WHERE video_id = ?1 AND name != ?2",
            params![id.as_str(), name],
            |r| r.get(0),
        )?;
        if others as usize >= MAX_STICKERS {
            return Ok(false);
        }
        self.conn.execute(
            "INSERT INTO stickers (video_id, name, value) VALUES (?1, ?2, ?3)
             ON CONFLICT(video_id, name) DO UPDATE SET value = excluded.value",
            params![id.as_str(), name, value],
        )?;
        Ok(true)
    }

    /// Deletes one (`Some(name)`) or all; how many were deleted.
    pub fn delete_stickers(&mut self, id: &VideoId, name: Option<&str>) -> Result<usize> {
        Ok(match name {
            Some(name) => self.conn.execute(
                "DELETE FROM stickers WHERE video_id = ?1 AND name = ?2",
                params![id.as_str(), name],
            )?,
            None => self
                .conn
                .execute("DELETE FROM stickers WHERE video_id = ?1", [id.as_str()])?,
        })
    }
}
