//! The audio cache's entries: a song kept whole on disk (its length,
//! type, when it was last played and how often), and the cache's hit
//! and miss counts. The files themselves are the stream layer's
//! (`stream::cache`); a row is written only once its file is complete.

use rusqlite::{OptionalExtension, params};

use crate::catalog::discover::LIKED_NAME;
use crate::catalog::store::{TrackStore, text};
use crate::error::Result;
use crate::video_id::VideoId;

/// One kept song, as its row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptSong {
    pub id: String,
    pub bytes: u64,
    pub content_type: String,
    /// Unix time of its last play, in milliseconds (two plays in one
    /// second keep their order).
    pub last_played_ms: i64,
    pub plays: u64,
}

/// What `icyproxy cache` and `/health` show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheTotals {
    pub entries: u64,
    pub bytes: u64,
    pub hits: u64,
    pub misses: u64,
}

/// A hit or a miss, as counted.
#[derive(Debug, Clone, Copy)]
pub enum Count {
    Hit,
    Miss,
}

impl Count {
    fn name(self) -> &'static str {
        match self {
            Count::Hit => "hits",
            Count::Miss => "misses",
        }
    }
}

fn kept(row: &rusqlite::Row<'_>) -> rusqlite::Result<KeptSong> {
    Ok(KeptSong {
        id: text(row, 0)?,
        bytes: row.get::<_, i64>(1)?.max(0) as u64,
        content_type: text(row, 2)?,
        last_played_ms: row.get(3)?,
        plays: row.get::<_, i64>(4)?.max(0) as u64,
    })
}

/// Now, in Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const COUNT_ONE: &str = "INSERT INTO audio_cache_counts (name, value) VALUES (?1, 1)
     ON CONFLICT(name) DO UPDATE SET value = value + 1";

const COLUMNS: &str = "video_id, bytes, content_type, last_played_ms, plays";

impl TrackStore {
    /// The entry of a kept song, if there is one.
    pub fn kept_song(&self, id: &VideoId) -> Result<Option<KeptSong>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM audio_cache WHERE video_id = ?1"
        ))?;
        Ok(stmt.query_row([id.as_str()], kept).optional()?)
    }

    /// Records a song just kept (its file is in place): played now, once.
    pub fn keep_song(&mut self, id: &VideoId, bytes: u64, content_type: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO audio_cache (video_id, bytes, content_type, last_played_ms, plays)
             VALUES (?1, ?2, ?3, ?4, 1)
             ON CONFLICT(video_id) DO UPDATE SET bytes = excluded.bytes,
               content_type = excluded.content_type, last_played_ms = excluded.last_played_ms",
            params![
                id.as_str(),
                i64::try_from(bytes).unwrap_or(i64::MAX),
                content_type,
                now_ms()
            ],
        )?;
        Ok(())
    }

    /// A kept song played again, now: its row and the hits, in one
    /// commit (this is on every hit's way to its first byte).
    pub fn played_kept(&mut self, id: &VideoId) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE audio_cache SET last_played_ms = ?2, plays = plays + 1 WHERE video_id = ?1",
            params![id.as_str(), now_ms()],
        )?;
        tx.execute(COUNT_ONE, [Count::Hit.name()])?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets a kept song; whether it was there.
    pub fn forget_kept(&mut self, id: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM audio_cache WHERE video_id = ?1", [id])?;
        Ok(n > 0)
    }

    /// Every kept song, the first to go first: least recently played,
    /// songs of the library's liked songs after all others.
    pub fn kept_songs(&self) -> Result<Vec<KeptSong>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM audio_cache ORDER BY
               EXISTS (SELECT 1 FROM playlist_entries e
                       WHERE e.playlist = ?1 AND e.video_id = audio_cache.video_id),
               last_played_ms, rowid"
        ))?;
        let rows = stmt.query_map([LIKED_NAME], kept)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The bytes all kept songs take, by their rows.
    pub fn kept_bytes(&self) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT coalesce(sum(bytes), 0) FROM audio_cache")?;
        let n: i64 = stmt.query_row([], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Adds one to the hits or the misses.
    pub fn count_cache(&mut self, count: Count) -> Result<()> {
        self.conn.execute(COUNT_ONE, [count.name()])?;
        Ok(())
    }

    /// Entries, bytes, hits and misses.
    pub fn cache_totals(&self) -> Result<CacheTotals> {
        let (entries, bytes): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM audio_cache",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let count = |name: &str| -> Result<u64> {
            let v: Option<i64> = self
                .conn
                .query_row(
                    "SELECT value FROM audio_cache_counts WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(v.unwrap_or(0).max(0) as u64)
        };
        Ok(CacheTotals {
            entries: entries.max(0) as u64,
            bytes: bytes.max(0) as u64,
            hits: count(Count::Hit.name())?,
            misses: count(Count::Miss.name())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::store::track;

    fn id(s: &str) -> VideoId {
        VideoId::parse(s).expect("id")
    }

    #[test]
    fn least_recently_played_go_first_and_liked_songs_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = TrackStore::open(&dir.path().join("t.db")).expect("open");
        for (n, name) in ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"]
            .iter()
            .enumerate()
        {
            s.keep_song(&id(name), 100 + n as u64, "audio/webm")
                .expect("keep");
        }
        s.conn
            .execute(
                "UPDATE audio_cache SET last_played_ms = 5 WHERE video_id = 'ccccccccccc'",
                [],
            )
            .expect("age");
        s.conn
            .execute(
                "UPDATE audio_cache SET last_played_ms = 1 WHERE video_id = 'aaaaaaaaaaa'",
                [],
            )
            .expect("age");
        s.upsert(&track("aaaaaaaaaaa", "A")).expect("track");
        s.playlist_add(LIKED_NAME, &[id("aaaaaaaaaaa")])
            .expect("liked");
        let order: Vec<String> = s
            .kept_songs()
            .expect("list")
            .into_iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(order, ["ccccccccccc", "bbbbbbbbbbb", "aaaaaaaaaaa"]);
        assert_eq!(s.kept_bytes().expect("sum"), 303);
        // A play of a kept song is a hit.
        s.played_kept(&id("bbbbbbbbbbb")).expect("played");
        assert_eq!(
            s.kept_song(&id("bbbbbbbbbbb"))
                .expect("get")
                .map(|k| k.plays),
            Some(2)
        );
        s.count_cache(Count::Miss).expect("miss");
        s.count_cache(Count::Miss).expect("miss");
        let totals = s.cache_totals().expect("totals");
        assert_eq!(
            (totals.entries, totals.bytes, totals.hits, totals.misses),
            (3, 303, 1, 2)
        );
        assert!(s.forget_kept("bbbbbbbbbbb").expect("forget"));
        assert!(!s.forget_kept("bbbbbbbbbbb").expect("again"));
    }
}
