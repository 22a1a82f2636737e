//! Tracks a search or a radio found: every search stores its results, so
//! without an end the store grows by them forever (on an SD card). A track
//! that a search or a radio stored first is noted here (`found_tracks`);
//! once neither a listing nor a play has touched it for the age given, and
//! nothing else needs it (a playlist, autoplay's history, a track the user
//! added, MPD's queue, which the caller passes), it is removed.

use std::collections::HashSet;

use rusqlite::{Connection, TransactionBehavior, params};

use crate::catalog::model::ListedTrack;
use crate::catalog::store::{TrackStore, text};
use crate::error::Result;
use crate::time::unix_now;

/// The ids of `tracks` not stored yet.
pub(super) fn unknown_in(conn: &Connection, tracks: &[ListedTrack]) -> Result<HashSet<String>> {
    let mut known = conn.prepare_cached("SELECT 1 FROM tracks WHERE video_id = ?1")?;
    let mut fresh = HashSet::new();
    for t in tracks {
        if !known.exists([t.video_id.as_str()])? {
            fresh.insert(t.video_id.to_string());
        }
    }
    Ok(fresh)
}

/// Notes `fresh` as found now, and those of `tracks` found before as
/// found again (a track stored otherwise is never noted).
pub(super) fn note_in(
    conn: &Connection,
    fresh: &HashSet<String>,
    tracks: &[ListedTrack],
) -> Result<()> {
    let now = unix_now();
    let mut new = conn.prepare_cached(
        "INSERT INTO found_tracks (video_id, found_at) VALUES (?1, ?2)
         ON CONFLICT(video_id) DO UPDATE SET found_at = excluded.found_at",
    )?;
    let mut again =
        conn.prepare_cached("UPDATE found_tracks SET found_at = ?2 WHERE video_id = ?1")?;
    for t in tracks {
        let id = t.video_id.as_str();
        match fresh.contains(id) {
            true => new.execute(params![id, now])?,
            false => again.execute(params![id, now])?,
        };
    }
    Ok(())
}

impl TrackStore {
    /// Removes the tracks only a search or a radio stored, listed and
    /// played (resolved) last before `before` (unix seconds), that are in
    /// no playlist, not in autoplay's history, without stickers, not made the user's (added
    /// by hand) and not in `keep` (MPD's queue). Returns the ids removed.
    pub fn age_out_found(&mut self, before: i64, keep: &HashSet<String>) -> Result<Vec<String>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // A track gone, or made the user's since, is no longer a found one.
        tx.execute(
            "DELETE FROM found_tracks WHERE video_id NOT IN
               (SELECT video_id FROM tracks WHERE tags_from != 'user')",
            [],
        )?;
        let old: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT f.video_id FROM found_tracks f JOIN tracks t ON t.video_id = f.video_id
                 WHERE f.found_at < ?1 AND t.updated_at < ?1
                   AND f.video_id NOT IN (SELECT video_id FROM playlist_entries)
                   AND f.video_id NOT IN (SELECT video_id FROM autoplay_history)
                   AND f.video_id NOT IN (SELECT video_id FROM stickers)",
            )?;
            let rows = stmt.query_map([before], |r| text(r, 0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let gone: Vec<String> = old.into_iter().filter(|id| !keep.contains(id)).collect();
        {
            let mut track = tx.prepare_cached("DELETE FROM tracks WHERE video_id = ?1")?;
            let mut found = tx.prepare_cached("DELETE FROM found_tracks WHERE video_id = ?1")?;
            for id in &gone {
                track.execute([id])?;
                found.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::store::track;
    use crate::catalog::tags::Tags;
    use crate::video_id::VideoId;

    const DAY: i64 = 86_400;

    fn listed(id: &str) -> ListedTrack {
        ListedTrack {
            video_id: VideoId::parse(id).expect("id"),
            tags: Tags {
                title: format!("Title {id}"),
                ..Tags::default()
            },
        }
    }

    /// Moves every time the store holds `secs` into the past.
    fn age(store: &TrackStore, secs: i64) {
        store
            .conn
            .execute_batch(&format!(
                "UPDATE tracks SET updated_at = updated_at - {secs};
                 UPDATE found_tracks SET found_at = found_at - {secs};"
            ))
            .expect("age");
    }

    #[test]
    fn only_old_tracks_nothing_needs_are_aged_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = TrackStore::open(&dir.path().join("t.db")).expect("open");
        // Stored by hand before a search found it too: never a found one.
        store.upsert(&track("mine0000001", "Mine")).expect("upsert");
        let ids = [
            "gone0000001",
            "gone0000002",
            "list0000001",
            "hist0000001",
            "queu0000001",
            "user0000001",
            "mine0000001",
        ];
        let found: Vec<ListedTrack> = ids.iter().map(|id| listed(id)).collect();
        store.list_tracks(&found).expect("found");
        store
            .replace_playlist("Kept", None, &[listed("list0000001")])
            .expect("playlist");
        store
            .remember(&[VideoId::parse("hist0000001").expect("id")], 200)
            .expect("history");
        // The user adds one of the songs a search found.
        store
            .upsert(&track("user0000001", "Now mine"))
            .expect("add");
        let queue: HashSet<String> = ["queu0000001".to_owned()].into();
        let now = unix_now();
        // Young: nothing goes.
        assert!(
            store
                .age_out_found(now - 30 * DAY, &queue)
                .expect("sweep")
                .is_empty()
        );
        age(&store, 40 * DAY);
        let mut gone = store.age_out_found(now - 30 * DAY, &queue).expect("sweep");
        gone.sort();
        assert_eq!(gone, ["gone0000001", "gone0000002"]);
        let left: Vec<String> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|t| t.video_id.to_string())
            .collect();
        assert_eq!(
            left,
            [
                "hist0000001",
                "list0000001",
                "mine0000001",
                "queu0000001",
                "user0000001"
            ]
        );
        // Found again by a later search: young again.
        store.list_tracks(&[listed("queu0000001")]).expect("again");
        let gone = store
            .age_out_found(now - 30 * DAY, &HashSet::new())
            .expect("sweep");
        assert!(gone.is_empty(), "{gone:?}");
    }
}
