//! The playlist tables: entries in order, imported playlists' sources,
//! and the origins of the playlists icyproxy made itself.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::catalog::model::{
    ListedTrack, NewTrack, PlaylistChange, PlaylistEntry, PlaylistInfo, check_playlist_name,
};
use crate::catalog::store::tracks::{T_COLUMNS, list_in, track_at, upsert_in};
use crate::catalog::store::{TrackStore, text};
use crate::error::Result;
use crate::time::unix_now;
use crate::video_id::VideoId;

impl TrackStore {
    /// Imports tracks and appends them to a playlist, in one transaction.
    pub fn import_into_playlist(&mut self, tracks: &[NewTrack], playlist: &str) -> Result<()> {
        check_playlist_name(playlist)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        upsert_in(&tx, tracks)?;
        let ids: Vec<VideoId> = tracks.iter().map(|t| t.video_id.clone()).collect();
        append_in(&tx, playlist, &ids)?;
        tx.commit()?;
        Ok(())
    }

    /// Makes `name` exactly `tracks`, in order, in one transaction: the
    /// playlist is created or replaced, `source` (when given) remembered,
    /// and each track stored with its listed tags unless the store has
    /// better ones (a user's, or the resolver's). Tracks are never
    /// removed: the store is a cache.
    pub fn replace_playlist(
        &mut self,
        name: &str,
        source: Option<&str>,
        tracks: &[ListedTrack],
    ) -> Result<PlaylistChange> {
        check_playlist_name(name)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = entry_ids(&tx, name)?;
        let new_tracks = list_in(&tx, tracks)?;
        tx.execute("DELETE FROM playlist_entries WHERE playlist = ?1", [name])?;
        let ids: Vec<VideoId> = tracks.iter().map(|t| t.video_id.clone()).collect();
        append_in(&tx, name, &ids)?;
        if let Some(url) = source {
            tx.execute(
                "INSERT INTO playlist_sources (playlist, url, synced_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(playlist) DO UPDATE SET url = excluded.url,
                                                    synced_at = excluded.synced_at",
                params![name, url, unix_now()],
            )?;
        }
        tx.commit()?;
        let after: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
        Ok(PlaylistChange {
            new_tracks,
            ..PlaylistChange::between(&before, &after)
        })
    }

    /// Marks `name` as made by icyproxy from `origin` (`"library"`,
    /// `"search"`), now.
    pub fn set_origin(&mut self, name: &str, origin: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO playlist_origins (playlist, origin, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(playlist) DO UPDATE SET origin = excluded.origin,
                                                 created_at = excluded.created_at",
            params![name, origin, unix_now()],
        )?;
        Ok(())
    }

    /// Where icyproxy made `name` from, if it made it.
    pub fn origin(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT origin FROM playlist_origins WHERE playlist = ?1")?
            .query_row([name], |r| text(r, 0))
            .optional()?)
    }

    /// The playlists made from `origin`, newest first.
    pub fn playlists_from(&self, origin: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT playlist FROM playlist_origins WHERE origin = ?1
             ORDER BY created_at DESC, rowid DESC",
        )?;
        let rows = stmt.query_map([origin], |r| text(r, 0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Imported playlists and their source URLs, by name.
    pub fn playlist_sources(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT playlist, url FROM playlist_sources ORDER BY playlist")?;
        let rows = stmt.query_map([], |r| Ok((text(r, 0)?, text(r, 1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Appends ids to a playlist (created on first use). Ids need not be
    /// stored yet: the resolver can find them when played.
    pub fn playlist_add(&mut self, name: &str, ids: &[VideoId]) -> Result<()> {
        check_playlist_name(name)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        append_in(&tx, name, ids)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes the given ids from a playlist, or the whole playlist when
    /// `ids` is empty. Returns how many entries went.
    pub fn playlist_remove(&mut self, name: &str, ids: &[VideoId]) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut removed = 0;
        if ids.is_empty() {
            removed = tx.execute("DELETE FROM playlist_entries WHERE playlist = ?1", [name])?;
            tx.execute("DELETE FROM playlist_sources WHERE playlist = ?1", [name])?;
            tx.execute("DELETE FROM playlist_origins WHERE playlist = ?1", [name])?;
        }
        for id in ids {
            removed += tx.execute(
                "DELETE FROM playlist_entries WHERE playlist = ?1 AND video_id = ?2",
                params![name, id.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Playlists with their entry counts and sources, by name.
    pub fn playlists(&self) -> Result<Vec<PlaylistInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.playlist, count(*), s.url FROM playlist_entries e
             LEFT JOIN playlist_sources s ON s.playlist = e.playlist
             GROUP BY e.playlist ORDER BY e.playlist",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PlaylistInfo {
                name: text(r, 0)?,
                entries: r.get::<_, i64>(1)?.max(0) as u64,
                source: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// A playlist's entries in order; `None` when no such playlist exists.
    pub fn playlist(&self, name: &str) -> Result<Option<Vec<PlaylistEntry>>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT e.video_id, {T_COLUMNS} FROM playlist_entries e
             LEFT JOIN tracks t ON t.video_id = e.video_id
             WHERE e.playlist = ?1 ORDER BY e.position"
        ))?;
        let rows = stmt.query_map([name], |r| {
            let video_id = text(r, 0)?;
            let stored: Option<String> = r.get(1)?;
            let track = match stored {
                Some(_) => track_at(r, 1)?,
                None => None,
            };
            Ok(PlaylistEntry { video_id, track })
        })?;
        let mut entries = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        // Another program may have written anything: an entry that is not
        // a video id never reaches a playlist file.
        entries.retain(|e| VideoId::parse(&e.video_id).is_some());
        Ok((!entries.is_empty()).then_some(entries))
    }

    /// Playlist entries that are only an id, with no track stored for it
    /// (added by `playlist add` and never resolved, or its track removed
    /// since): `(playlist, id)` by playlist and position.
    pub fn bare_entries(&self) -> Result<Vec<(String, VideoId)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.playlist, e.video_id FROM playlist_entries e
             LEFT JOIN tracks t ON t.video_id = e.video_id
             WHERE t.video_id IS NULL ORDER BY e.playlist, e.position",
        )?;
        let rows = stmt.query_map([], |r| Ok((text(r, 0)?, text(r, 1)?)))?;
        let pairs = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(pairs
            .into_iter()
            .filter_map(|(name, id)| Some((name, VideoId::parse(&id)?)))
            .collect())
    }
}

/// A playlist's ids in order, inside an open transaction.
fn entry_ids(conn: &Connection, name: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT video_id FROM playlist_entries WHERE playlist = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([name], |r| text(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Appends ids to a playlist inside an open transaction.
fn append_in(conn: &Connection, name: &str, ids: &[VideoId]) -> Result<()> {
    let first: i64 = conn.query_row(
        "SELECT coalesce(max(position), -1) + 1 FROM playlist_entries WHERE playlist = ?1",
        [name],
        |r| r.get(0),
    )?;
    for (position, id) in (first..).zip(ids) {
        conn.execute(
            "INSERT INTO playlist_entries (playlist, position, video_id) VALUES (?1, ?2, ?3)",
            params![name, position, id.as_str()],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::{TagSource, Track, UrlUpdate};
    use crate::catalog::store::track;
    use crate::catalog::tags::Tags;

    #[test]
    fn playlists_keep_order_and_survive_missing_tracks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = TrackStore::open(&dir.path().join("t.db")).expect("open");
        let a = VideoId::parse("aaaaaaaaaaa").expect("id");
        let b = VideoId::parse("bbbbbbbbbbb").expect("id");
        s.upsert(&track("aaaaaaaaaaa", "A").with_album("Album"))
            .expect("upsert");
        s.playlist_add("Road Trip", &[b.clone(), a.clone()])
            .expect("add");
        s.playlist_add("Road Trip", std::slice::from_ref(&b))
            .expect("add again");
        s.playlist_add("Other", std::slice::from_ref(&a))
            .expect("add");
        let entries = s.playlist("Road Trip").expect("q").expect("exists");
        let ids: Vec<_> = entries.iter().map(|e| e.video_id.as_str()).collect();
        assert_eq!(ids, ["bbbbbbbbbbb", "aaaaaaaaaaa", "bbbbbbbbbbb"]);
        assert!(entries[0].track.is_none());
        assert_eq!(
            s.bare_entries().expect("bare"),
            [
                ("Road Trip".to_owned(), b.clone()),
                ("Road Trip".to_owned(), b.clone())
            ]
        );
        assert_eq!(
            entries[1]
                .track
                .as_ref()
                .expect("stored")
                .tags
                .album
                .as_deref(),
            Some("Album")
        );
        let counts: Vec<_> = s
            .playlists()
            .expect("names")
            .into_iter()
            .map(|p| (p.name, p.entries, p.source))
            .collect();
        assert_eq!(
            counts,
            [
                ("Other".to_owned(), 1, None),
                ("Road Trip".to_owned(), 3, None)
            ]
        );
        assert_eq!(
            s.playlist_remove("Road Trip", std::slice::from_ref(&b))
                .expect("rm"),
            2
        );
        assert_eq!(
            s.playlist("Road Trip").expect("q").expect("exists").len(),
            1
        );
        assert_eq!(s.playlist_remove("Road Trip", &[]).expect("rm all"), 1);
        assert!(s.playlist("Road Trip").expect("q").is_none());
        for bad in [
            "",
            ".hidden",
            "a/b",
            "a\\b",
            "x\ny",
            " padded",
            &"x".repeat(101),
        ] {
            assert!(
                s.playlist_add(bad, std::slice::from_ref(&a)).is_err(),
                "{bad:?}"
            );
        }
    }

    fn listed(id: &str, title: &str, artist: &str) -> ListedTrack {
        ListedTrack {
            video_id: VideoId::parse(id).expect("id"),
            tags: Tags {
                title: title.into(),
                artist: artist.into(),
                duration_secs: Some(100),
                thumbnail_url: Some("https://i.example/t.jpg".into()),
                ..Tags::default()
            },
        }
    }

    /// The store of the playlist tests: a user's track `a`, then "Road
    /// Trip" imported as a, b, c.
    fn road_trip(dir: &std::path::Path) -> TrackStore {
        let mut s = TrackStore::open(&dir.join("t.db")).expect("open");
        let (a, b, c) = (A, B, C);
        s.upsert(&track(a, "User Title")).expect("user track");
        let change = s
            .replace_playlist(
                "Road Trip",
                Some("https://music.example/list"),
                &[
                    listed(a, "Flat A", "Chan"),
                    listed(b, "Flat B", "Chan"),
                    listed(c, "Flat C", "Chan"),
                ],
            )
            .expect("import");
        assert_eq!((change.entries, change.new_tracks, change.added), (3, 2, 3));
        s
    }

    /// Resolving `a` and `b` gives YouTube Music's tags.
    fn resolve_a_and_b(s: &mut TrackStore) {
        // Resolving replaces a listing's tags with YouTube Music's, not a user's.
        let song = Tags {
            title: "Song B".into(),
            artist: "Band".into(),
            album: Some("LP".into()),
            ..Tags::default()
        };
        let music = UrlUpdate {
            stream_url: "https://r.example/b",
            tags: Some(&song),
            music: true,
            ..UrlUpdate::default()
        };
        for id in [A, B] {
            assert!(
                s.update_url(&VideoId::parse(id).expect("id"), &music)
                    .expect("update")
            );
        }
    }

    fn get(s: &TrackStore, id: &str) -> Track {
        s.get(&VideoId::parse(id).expect("id"))
            .expect("q")
            .expect("row")
    }

    const A: &str = "aaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbb";
    const C: &str = "ccccccccccc";

    #[test]
    fn imported_playlists_keep_better_tags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = road_trip(dir.path());
        let (a, b) = (A, B);
        // A user's tags win over a listing's; a listed track has no URL.
        assert_eq!(get(&s, a).tags.title, "User Title");
        let flat_b = get(&s, b);
        assert_eq!(
            (flat_b.tags.title.as_str(), flat_b.stream_url),
            ("Flat B", None)
        );
        assert_eq!(flat_b.tags_from, TagSource::Flat);
        resolve_a_and_b(&mut s);
        let b_now = get(&s, b);
        assert_eq!(
            (
                b_now.tags.title.as_str(),
                b_now.tags.artist.as_str(),
                b_now.tags.album.as_deref()
            ),
            ("Song B", "Band", Some("LP"))
        );
        assert_eq!(b_now.tags_from, TagSource::Resolver);
        assert_eq!(get(&s, a).tags.title, "User Title");
    }

    #[test]
    fn a_later_listing_replaces_entries_not_resolved_tags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = road_trip(dir.path());
        resolve_a_and_b(&mut s);
        let (a, b, c) = (A, B, C);
        // A later listing no longer touches resolved tags; entries follow
        // the source: c removed, d added, b and a swapped.
        let d = "ddddddddddd";
        let change = s
            .replace_playlist(
                "Road Trip",
                Some("https://music.example/list"),
                &[
                    listed(b, "Flat B2", "Chan"),
                    listed(a, "x", "y"),
                    listed(d, "Flat D", "Chan"),
                ],
            )
            .expect("sync");
        assert_eq!(
            change,
            PlaylistChange {
                entries: 3,
                new_tracks: 1,
                added: 1,
                removed: 1,
                reordered: true
            }
        );
        assert_eq!(get(&s, b).tags.title, "Song B");
        let ids: Vec<_> = s
            .playlist("Road Trip")
            .expect("q")
            .expect("exists")
            .into_iter()
            .map(|e| e.video_id)
            .collect();
        assert_eq!(ids, [b, a, d]);
        // The removed entry's track stays: the store is a cache.
        assert!(s.get(&VideoId::parse(c).expect("id")).expect("q").is_some());
        let listed_source = s.playlists().expect("list");
        assert_eq!(
            listed_source[0].source.as_deref(),
            Some("https://music.example/list")
        );
        assert_eq!(
            s.playlist_sources().expect("sources"),
            [(
                "Road Trip".to_owned(),
                "https://music.example/list".to_owned()
            )]
        );
        assert_eq!(s.playlist_remove("Road Trip", &[]).expect("rm"), 3);
        assert!(s.playlist_sources().expect("sources").is_empty());
    }
}
