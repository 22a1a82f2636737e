//! The tracks table: storing, refreshing, reading and removing tracks.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::catalog::model::{ListedTrack, NewTrack, TagSource, Track, UrlUpdate};
use crate::catalog::store::{TrackStore, text};
use crate::catalog::stream_url::{self, FetchTerms};
use crate::catalog::tags::Tags;
use crate::error::Result;
use crate::time::unix_now;
use crate::video_id::VideoId;

impl TrackStore {
    /// Inserts or replaces a track.
    pub fn upsert(&mut self, track: &NewTrack) -> Result<()> {
        self.upsert_many(std::slice::from_ref(track))
    }

    /// Inserts or replaces all tracks in one transaction: all or nothing.
    pub fn upsert_many(&mut self, tracks: &[NewTrack]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        upsert_in(&tx, tracks)?;
        tx.commit()?;
        Ok(())
    }

    /// The track with this id, if stored.
    pub fn get(&self, id: &VideoId) -> Result<Option<Track>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM tracks WHERE video_id = ?1"))?;
        Ok(stmt
            .query_row([id.as_str()], track_from_row)
            .optional()?
            .flatten())
    }

    /// Stores a fresh stream URL for a stored track; `false` when absent.
    /// The expiry is read from the URL's `expire=`. Duration and cover are
    /// filled in where unknown; YouTube Music's tags replace those of a flat
    /// playlist entry, and a user's tags are never touched.
    pub fn update_url(&mut self, id: &VideoId, update: &UrlUpdate<'_>) -> Result<bool> {
        stream_url::check(update.stream_url)?;
        let none = Tags::default();
        let tags = update.tags.unwrap_or(&none);
        let thumbnail = tags
            .thumbnail_url
            .as_deref()
            .filter(|u| stream_url::check(u).is_ok());
        let tag = |t: Option<&str>| {
            t.map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let music = |t: &str| tag(Some(t).filter(|_| update.music));
        let n = self.conn.execute(
            "UPDATE tracks SET stream_url = ?2, updated_at = ?3, expires_at = ?4,
               duration_secs = coalesce(duration_secs, ?5),
               thumbnail_url = coalesce(thumbnail_url, ?6),
               title  = CASE WHEN tags_from = 'flat' THEN coalesce(?7, title) ELSE title END,
               artist = CASE WHEN tags_from = 'flat' THEN coalesce(?8, artist) ELSE artist END,
               album  = CASE WHEN tags_from = 'flat' THEN coalesce(?9, album) ELSE album END,
               tags_from = CASE WHEN tags_from = 'flat' AND coalesce(?7, ?8) IS NOT NULL
                                THEN 'resolver' ELSE tags_from END,
               available_at = ?10, http_headers = ?11
             WHERE video_id = ?1",
            params![
                id.as_str(),
                update.stream_url,
                unix_now(),
                stream_url::expires_at(update.stream_url),
                tags.duration_secs,
                thumbnail,
                music(&tags.title),
                music(&tags.artist),
                tag(tags.album.as_deref()),
                update.fetch.and_then(|f| f.available_at),
                update.fetch.and_then(|f| headers_json(&f.http_headers)),
            ],
        )?;
        Ok(n > 0)
    }

    /// Stores tracks a search or a radio found (tags, no stream URL) in one
    /// transaction, as a playlist import does but in no playlist; returns
    /// how many were new. The new ones, and those found before, are noted
    /// as found (see `found.rs`: aged out when nothing needs them).
    pub fn list_tracks(&mut self, tracks: &[ListedTrack]) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let fresh = super::found::unknown_in(&tx, tracks)?;
        let new = list_in(&tx, tracks)?;
        super::found::note_in(&tx, &fresh, tracks)?;
        tx.commit()?;
        Ok(new)
    }

    /// Deletes a track; `false` when it was not stored.
    pub fn remove(&mut self, id: &VideoId) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM tracks WHERE video_id = ?1", [id.as_str()])?;
        Ok(n > 0)
    }

    /// All tracks, ordered by video id (a row whose id is not a video id,
    /// written by another program, is left out).
    pub fn list(&self) -> Result<Vec<Track>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM tracks ORDER BY video_id"))?;
        let rows = stmt.query_map([], track_from_row)?;
        let tracks = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(tracks.into_iter().flatten().collect())
    }

    /// How many tracks are stored.
    pub fn count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM tracks")?
            .query_row([], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }
}

/// Inserts or replaces tracks inside an open transaction.
pub(super) fn upsert_in(conn: &Connection, tracks: &[NewTrack]) -> Result<()> {
    let now = unix_now();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO tracks
           (video_id, stream_url, artist, title, updated_at, expires_at, duration_secs,
            album, thumbnail_url, tags_from, available_at, http_headers)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, coalesce(?8, ''), ?9, ?10, ?11, ?12)
         ON CONFLICT(video_id) DO UPDATE SET
           stream_url = excluded.stream_url, artist = excluded.artist,
           title = excluded.title, updated_at = excluded.updated_at,
           expires_at = excluded.expires_at,
           duration_secs = coalesce(?7, duration_secs),
           album = coalesce(?8, album),
           thumbnail_url = coalesce(?9, thumbnail_url),
           tags_from = excluded.tags_from,
           available_at = excluded.available_at, http_headers = excluded.http_headers",
    )?;
    for t in tracks {
        stmt.execute(params![
            t.video_id.as_str(),
            t.stream_url,
            t.tags.artist,
            t.tags.title,
            now,
            stream_url::expires_at(&t.stream_url),
            t.tags.duration_secs,
            t.tags.album,
            t.tags.thumbnail_url,
            t.tags_from.as_str(),
            t.fetch.available_at,
            headers_json(&t.fetch.http_headers),
        ])?;
    }
    Ok(())
}

/// Stores listed tracks inside an open transaction: new ones with their
/// listed tags and no URL; known ones keep their URL, and their tags
/// unless those came from a listing too. Returns how many were new.
pub(super) fn list_in(conn: &Connection, tracks: &[ListedTrack]) -> Result<usize> {
    let mut known = conn.prepare_cached("SELECT 1 FROM tracks WHERE video_id = ?1")?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO tracks
           (video_id, stream_url, artist, title, updated_at, duration_secs, album,
            thumbnail_url, tags_from)
         VALUES (?1, '', ?2, ?3, ?4, ?5, coalesce(?7, ''), ?6, 'flat')
         ON CONFLICT(video_id) DO UPDATE SET
           artist = CASE WHEN tags_from = 'flat' THEN excluded.artist ELSE artist END,
           title  = CASE WHEN tags_from = 'flat' THEN excluded.title ELSE title END,
           duration_secs = coalesce(duration_secs, excluded.duration_secs),
           thumbnail_url = coalesce(thumbnail_url, excluded.thumbnail_url)",
    )?;
    let now = unix_now();
    let mut new = 0;
    for t in tracks {
        if !known.exists([t.video_id.as_str()])? {
            new += 1;
        }
        stmt.execute(params![
            t.video_id.as_str(),
            t.tags.artist,
            t.tags.title,
            now,
            t.tags.duration_secs,
            t.tags.thumbnail_url,
            t.tags.album,
        ])?;
    }
    Ok(new)
}

const COLUMNS: &str = "video_id, stream_url, artist, title, updated_at, expires_at, \
     duration_secs, album, thumbnail_url, tags_from, available_at, http_headers";
pub(super) const T_COLUMNS: &str = "t.video_id, t.stream_url, t.artist, t.title, t.updated_at, \
     t.expires_at, t.duration_secs, t.album, t.thumbnail_url, t.tags_from, t.available_at, \
     t.http_headers";

fn headers_json(headers: &[(String, String)]) -> Option<String> {
    (!headers.is_empty()).then(|| {
        let map: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(map).to_string()
    })
}

/// Headers as read back; anything unreadable (another program wrote it)
/// counts as none.
fn headers_from(json: Option<String>) -> Vec<(String, String)> {
    let Some(Ok(serde_json::Value::Object(map))) = json.map(|j| serde_json::from_str(&j)) else {
        return Vec::new();
    };
    map.into_iter()
        .filter_map(|(n, v)| Some((n, v.as_str()?.to_owned())))
        .collect()
}

fn track_from_row(row: &Row<'_>) -> rusqlite::Result<Option<Track>> {
    track_at(row, 0)
}

/// Reads the track columns starting at column `at`; `None` when its id is
/// not a video id (another program may have written anything).
pub(super) fn track_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Option<Track>> {
    let Some(video_id) = VideoId::parse(&text(row, at)?) else {
        return Ok(None);
    };
    let thumbnail = row
        .get_ref(at + 8)?
        .as_bytes_or_null()?
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    let url = text(row, at + 1)?;
    Ok(Some(Track {
        video_id,
        stream_url: Some(url).filter(|u| !u.is_empty()),
        tags: Tags {
            artist: text(row, at + 2)?,
            title: text(row, at + 3)?,
            album: Some(text(row, at + 7)?).filter(|a| !a.is_empty()),
            duration_secs: row.get(at + 6)?,
            thumbnail_url: thumbnail,
        },
        updated_at: row.get(at + 4)?,
        expires_at: row.get(at + 5)?,
        tags_from: TagSource::from_column(&text(row, at + 9)?),
        fetch: FetchTerms {
            available_at: row.get(at + 10)?,
            http_headers: headers_from(row.get::<_, Option<String>>(at + 11).ok().flatten()),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::store::track;

    #[test]
    fn crud_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/dir/t.db");
        let mut s = TrackStore::open(&path).expect("open");
        let id = VideoId::parse("dQw4w9WgXcQ").expect("id");
        assert_eq!(s.get(&id).expect("get"), None);
        s.upsert(&track("dQw4w9WgXcQ", "One")).expect("insert");
        s.upsert(&track("dQw4w9WgXcQ", "Two")).expect("update");
        s.upsert(&track("aaaaaaaaaaa", "Other")).expect("insert");
        let got = s.get(&id).expect("get").expect("present");
        assert_eq!(
            (got.tags.artist.as_str(), got.tags.title.as_str()),
            ("Artist", "Two")
        );
        assert_eq!(s.count().expect("count"), 2);
        let update = |url| UrlUpdate {
            stream_url: url,
            ..UrlUpdate::default()
        };
        assert!(
            s.update_url(&id, &update("https://x.example/b"))
                .expect("upd")
        );
        assert_eq!(
            s.get(&id)
                .expect("get")
                .expect("present")
                .stream_url
                .as_deref(),
            Some("https://x.example/b")
        );
        assert!(s.update_url(&id, &update("file:///etc/passwd")).is_err());
        let ids: Vec<_> = s
            .list()
            .expect("list")
            .into_iter()
            .map(|t| t.video_id.as_str().to_owned())
            .collect();
        assert_eq!(ids, ["aaaaaaaaaaa", "dQw4w9WgXcQ"]);
        assert!(s.remove(&id).expect("rm"));
        assert!(!s.remove(&id).expect("rm again"));
        drop(s);
        let s = TrackStore::open(&path).expect("reopen");
        assert_eq!(s.count().expect("count"), 1);
    }

    #[test]
    fn invalid_utf8_rows_stay_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let s = TrackStore::open(&path).expect("open");
        s.conn
            .execute(
                "INSERT INTO tracks (video_id, stream_url, artist, title, updated_at)
                 VALUES ('bbbbbbbbbbb', 'http://h/x', CAST(X'FF41' AS TEXT), 'T', 0)",
                [],
            )
            .expect("raw insert");
        let t = s
            .get(&VideoId::parse("bbbbbbbbbbb").expect("id"))
            .expect("get")
            .expect("row");
        assert_eq!(t.tags.artist, "\u{FFFD}A");
    }

    #[test]
    fn rows_whose_id_is_not_a_video_id_are_left_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = TrackStore::open(&dir.path().join("t.db")).expect("open");
        s.upsert(&track("aaaaaaaaaaa", "A")).expect("upsert");
        s.conn
            .execute_batch(
                "INSERT INTO tracks (video_id, stream_url, artist, title, updated_at)
                 VALUES ('not an id', 'http://h/x', '', 'T', 0);
                 INSERT INTO playlist_entries (playlist, position, video_id)
                 VALUES ('P', 0, 'not an id'), ('P', 1, 'aaaaaaaaaaa');",
            )
            .expect("raw insert");
        let ids: Vec<_> = s
            .list()
            .expect("list")
            .into_iter()
            .map(|t| t.video_id)
            .collect();
        assert_eq!(ids, [VideoId::parse("aaaaaaaaaaa").expect("id")]);
        let entries = s.playlist("P").expect("q").expect("exists");
        assert_eq!(entries.len(), 1);
        assert!(entries[0].track.is_some());
    }

    #[test]
    fn upsert_keeps_optional_fields_it_is_not_given() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = TrackStore::open(&dir.path().join("t.db")).expect("open");
        let full = track("aaaaaaaaaaa", "A")
            .with_album("Album")
            .with_thumbnail("https://i.example/a.jpg")
            .expect("thumb");
        s.upsert(&full).expect("upsert");
        s.upsert(&track("aaaaaaaaaaa", "A2")).expect("upsert");
        let t = s
            .get(&VideoId::parse("aaaaaaaaaaa").expect("id"))
            .expect("q")
            .expect("row");
        assert_eq!(
            (t.tags.title.as_str(), t.tags.album.as_deref()),
            ("A2", Some("Album"))
        );
        assert_eq!(
            t.tags.thumbnail_url.as_deref(),
            Some("https://i.example/a.jpg")
        );
        assert!(
            track("aaaaaaaaaaa", "A")
                .with_thumbnail("file:///x")
                .is_err()
        );
    }
}
