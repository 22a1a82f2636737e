//! Autoplay's history: the ids it saw played, queued, appended or
//! failing, which it does not append again while they are recent.

use rusqlite::{TransactionBehavior, params};

use crate::catalog::store::{TrackStore, text};
use crate::error::Result;
use crate::time::unix_now;
use crate::video_id::VideoId;

impl TrackStore {
    /// Remembers `ids` in autoplay's history (now), keeping the `keep`
    /// most recent.
    pub fn remember(&mut self, ids: &[VideoId], keep: usize) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO autoplay_history (video_id, seen_at) VALUES (?1, ?2)
                 ON CONFLICT(video_id) DO UPDATE SET seen_at = excluded.seen_at",
            )?;
            let now = unix_now();
            for id in ids {
                stmt.execute(params![id.as_str(), now])?;
            }
        }
        tx.execute(
            "DELETE FROM autoplay_history WHERE video_id NOT IN
               (SELECT video_id FROM autoplay_history ORDER BY seen_at DESC, rowid DESC LIMIT ?1)",
            [i64::try_from(keep).unwrap_or(i64::MAX)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Autoplay's history: the ids it will not append.
    pub fn history(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT video_id FROM autoplay_history")?;
        let rows = stmt.query_map([], |r| text(r, 0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
