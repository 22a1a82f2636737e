//! [`TrackStore`]: the SQLite file that maps video ids to stream URLs and
//! tags. One connection per thread (rusqlite connections are not `Sync`);
//! WAL and a busy timeout let the CLI write while the server reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::catalog::stream_url::{self, FetchTerms};
use crate::catalog::tags::Tags;
use crate::error::{Error, Result};
use crate::time::unix_now;
use crate::video_id::VideoId;

/// Schema steps; `PRAGMA user_version` counts how many have run.
/// Append new steps, never edit old ones.
const MIGRATIONS: &[&str] = &[
    // 1: the track table, with room for expiry and duration.
    "CREATE TABLE tracks (
        video_id      TEXT PRIMARY KEY NOT NULL,
        stream_url    TEXT NOT NULL,
        artist        TEXT NOT NULL DEFAULT '',
        title         TEXT NOT NULL,
        updated_at    INTEGER NOT NULL,
        expires_at    INTEGER,
        duration_secs INTEGER
    );",
    // 2: album and cover art per track; named playlists.
    "ALTER TABLE tracks ADD COLUMN album TEXT NOT NULL DEFAULT '';
     ALTER TABLE tracks ADD COLUMN thumbnail_url TEXT;
     CREATE TABLE playlist_entries (
        playlist TEXT NOT NULL,
        position INTEGER NOT NULL,
        video_id TEXT NOT NULL,
        PRIMARY KEY (playlist, position)
     );",
    // 3: where a track's tags came from ('' stream_url: not resolved yet),
    // and the source URL of an imported playlist.
    "ALTER TABLE tracks ADD COLUMN tags_from TEXT NOT NULL DEFAULT 'user';
     CREATE TABLE playlist_sources (
        playlist  TEXT PRIMARY KEY NOT NULL,
        url       TEXT NOT NULL,
        synced_at INTEGER NOT NULL
     );",
    // 4: what a resolved URL needs: the time before which it must not be
    // fetched, and the request headers to fetch it with (a JSON object).
    "ALTER TABLE tracks ADD COLUMN available_at INTEGER;
     ALTER TABLE tracks ADD COLUMN http_headers TEXT;",
    // 5: playlists icyproxy made itself ('library': from the account's
    // library, removed with it; 'search': a search's results, the oldest
    // removed), and when.
    "CREATE TABLE playlist_origins (
        playlist   TEXT PRIMARY KEY NOT NULL,
        origin     TEXT NOT NULL,
        created_at INTEGER NOT NULL
     );",
    // 6: ids autoplay saw played, queued, appended or failing: not
    // appended again while they are among the most recent.
    "CREATE TABLE autoplay_history (
        video_id TEXT PRIMARY KEY NOT NULL,
        seen_at  INTEGER NOT NULL
     );",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The fix for a database that cannot be opened.
const WHERE_TO: &str = "choose a writable place with [store] path or --db";

/// How long a statement waits for another writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a track's tags came from, which decides who may replace them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagSource {
    /// `add` or an import file: never replaced by anything else.
    User,
    /// A flat playlist entry (title, channel): replaced by YouTube Music's
    /// own tags when the track is resolved.
    Flat,
    /// The resolver, for an id first met when played.
    Resolver,
}

impl TagSource {
    fn as_str(self) -> &'static str {
        match self {
            TagSource::User => "user",
            TagSource::Flat => "flat",
            TagSource::Resolver => "resolver",
        }
    }

    fn from_column(text: &str) -> TagSource {
        match text {
            "flat" => TagSource::Flat,
            "resolver" => TagSource::Resolver,
            _ => TagSource::User,
        }
    }
}

/// A stored track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    pub video_id: String,
    /// `None` until the track is first resolved (a playlist import stores
    /// tags only).
    pub stream_url: Option<String>,
    pub tags: Tags,
    /// Unix seconds of the last write.
    pub updated_at: i64,
    /// Unix seconds when the stream URL stops working, when known.
    pub expires_at: Option<i64>,
    pub tags_from: TagSource,
    pub fetch: FetchTerms,
}

/// What a caller supplies to insert or replace a track. Its tags' `None`s
/// keep what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrack {
    pub video_id: VideoId,
    pub stream_url: String,
    pub tags: Tags,
    pub tags_from: TagSource,
    pub fetch: FetchTerms,
}

/// A track as a playlist lists it: tags, no stream URL yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTrack {
    pub video_id: VideoId,
    pub tags: Tags,
}

/// What a resolver run found for a stored track.
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlUpdate<'a> {
    pub stream_url: &'a str,
    /// The resolver's tags: duration and cover fill in what is unknown; the
    /// album, and when `music` the artist and title, replace the tags of a
    /// flat playlist entry, never a user's.
    pub tags: Option<&'a Tags>,
    /// Whether `tags` are YouTube Music's own (a `track` or `artists`),
    /// not a video's title and channel.
    pub music: bool,
    /// What fetching the new URL takes.
    pub fetch: Option<&'a FetchTerms>,
}

/// How an imported playlist changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaylistChange {
    pub entries: usize,
    /// Tracks the store did not have before.
    pub new_tracks: usize,
    /// Entries that were not in the playlist before (counted with repeats).
    pub added: usize,
    /// Entries that are no longer in it.
    pub removed: usize,
    /// Whether the entries both kept are in another order now.
    pub reordered: bool,
}

/// A playlist's name, its number of entries, and where it was imported
/// from (if it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistInfo {
    pub name: String,
    pub entries: u64,
    pub source: Option<String>,
}

impl NewTrack {
    /// Checks every field; the error says which one is wrong.
    pub fn new(video_id: &str, stream_url: &str, artist: &str, title: &str) -> Result<NewTrack> {
        let tags = Tags {
            artist: artist.to_owned(),
            title: title.to_owned(),
            ..Tags::default()
        };
        NewTrack::tagged(video_id, stream_url, tags)
    }

    /// A track with all of `tags`: the id, URL and title are checked (the
    /// error says which is wrong), artist and title trimmed.
    pub fn tagged(video_id: &str, stream_url: &str, mut tags: Tags) -> Result<NewTrack> {
        let id = VideoId::parse_or_explain(video_id)?;
        stream_url::check(stream_url)?;
        if tags.title.trim().is_empty() {
            return Err(Error::InvalidInput("title must not be empty".into()));
        }
        tags.artist = tags.artist.trim().to_owned();
        tags.title = tags.title.trim().to_owned();
        Ok(NewTrack {
            video_id: id,
            stream_url: stream_url.to_owned(),
            tags,
            tags_from: TagSource::User,
            fetch: FetchTerms::default(),
        })
    }

    /// Sets the album (empty text means none).
    pub fn with_album(mut self, album: &str) -> NewTrack {
        self.tags.album = Some(album.trim().to_owned());
        self
    }

    /// Sets the cover-art URL, which must be http(s) like a stream URL.
    pub fn with_thumbnail(mut self, url: &str) -> Result<NewTrack> {
        stream_url::check(url).map_err(|e| {
            Error::InvalidInput(format!(
                "thumbnail: {}",
                e.to_string().replace("stream URL", "URL")
            ))
        })?;
        self.tags.thumbnail_url = Some(url.to_owned());
        Ok(self)
    }
}

/// A playlist name: 1 to 100 bytes, no control characters, no `/` or `\`,
/// not starting with `.`; safe in a URL path segment once encoded and as a
/// file name.
pub fn check_playlist_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.trim() == name
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid playlist name {name:?}: 1-100 characters, no / or \\, not starting with a dot"
        )))
    }
}

/// One playlist entry: the id, and the track when it is stored.
#[derive(Debug, Clone)]
pub struct PlaylistEntry {
    pub video_id: String,
    pub track: Option<Track>,
}

/// A thread's own connection, opened on its first use and then kept. A
/// store that cannot be opened yet (a full disk, a directory not made) is
/// tried again on the next use instead of ending the thread.
pub struct LazyStore {
    path: PathBuf,
    read_only: bool,
    open: Option<TrackStore>,
}

impl LazyStore {
    /// Nothing is opened until [`LazyStore::get`].
    pub fn new(path: &Path, read_only: bool) -> LazyStore {
        LazyStore {
            path: path.to_path_buf(),
            read_only,
            open: None,
        }
    }

    /// The connection, opened (read-only when asked) if it is not yet.
    pub fn get(&mut self) -> Result<&mut TrackStore> {
        let store = match self.open.take() {
            Some(store) => store,
            None if self.read_only => TrackStore::open_read_only(&self.path)?,
            None => TrackStore::open(&self.path)?,
        };
        Ok(self.open.insert(store))
    }
}

/// One connection to the track store.
pub struct TrackStore {
    conn: Connection,
    path: PathBuf,
}

impl TrackStore {
    /// Opens (creating if needed) the store at `path` and brings its schema
    /// up to date. Refuses a file written by a newer icyproxy.
    pub fn open(path: &Path) -> Result<TrackStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::store(format!("cannot create directory {}", dir.display()), e)
                    .with_fix(WHERE_TO)
            })?;
        }
        share_with_group(path).map_err(|e| {
            Error::store(format!("cannot create {}", path.display()), e).with_fix(WHERE_TO)
        })?;
        let fail =
            |e: rusqlite::Error| Error::store(path.display().to_string(), e).with_fix(WHERE_TO);
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        // Point lookups need few pages; a small cache keeps each worker's
        // connection cheap on a Pi (SQLite's default is 2 MB).
        conn.pragma_update(None, "cache_size", -256).map_err(fail)?;
        let mut store = TrackStore {
            conn,
            path: path.to_owned(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store without writing anything: for serving from a
    /// database this process may not write. First as a normal reader; if
    /// even that needs a write (WAL's shared-memory file in a read-only
    /// directory), as an immutable file.
    pub fn open_read_only(path: &Path) -> Result<TrackStore> {
        let try_open = |query: &str| -> Result<TrackStore> {
            let store = TrackStore::open_uri(path, query)?;
            let version = store.schema_version()?;
            store.check_version(version)?;
            if version < SCHEMA_VERSION {
                return Err(Error::store_msg(format!(
                    "{} needs a schema upgrade but is read-only",
                    path.display()
                ))
                .with_fix(WHERE_TO));
            }
            store.count()?;
            Ok(store)
        };
        try_open("mode=ro").or_else(|_| try_open("mode=ro&immutable=1"))
    }

    /// Opens `path` read-only with SQLite URI parameters (`mode=ro`,
    /// `immutable=1`), checking nothing.
    fn open_uri(path: &Path, query: &str) -> Result<TrackStore> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let fail = |e: rusqlite::Error| Error::store(path.display().to_string(), e);
        let uri = format!("file:{}?{query}", uri_path(path));
        let conn = Connection::open_with_flags(&uri, flags).map_err(fail)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
        Ok(TrackStore {
            conn,
            path: path.to_owned(),
        })
    }

    /// Reads what `icyproxy doctor` reports of an existing store (its
    /// schema version and track count) without writing anything, whatever
    /// its schema: an older one is upgraded by the next writer. With no
    /// `-wal` file beside it (no writer has it open), the file is read as
    /// immutable: a WAL reader would create `-wal` and `-shm` files.
    pub fn inspect(path: &Path) -> Result<(i64, u64)> {
        let look = |query: &str| -> Result<(i64, u64)> {
            let store = TrackStore::open_uri(path, query)?;
            let version = store.schema_version()?;
            store.check_version(version)?;
            let tracks = match version {
                0 => 0,
                _ => store.count()?,
            };
            Ok((version, tracks))
        };
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        match Path::new(&wal).exists() {
            true => look("mode=ro").or_else(|_| look("mode=ro&immutable=1")),
            false => look("mode=ro&immutable=1"),
        }
    }

    fn migrate(&mut self) -> Result<()> {
        let version = self.schema_version()?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        self.check_version(version)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read again under the write lock: another process may have migrated.
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (step, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(sql)
                .map_err(|e| Error::store(format!("migration to schema {} failed", step + 1), e))?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    fn schema_version(&self) -> Result<i64> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| Error::store(self.path.display().to_string(), e))
    }

    fn check_version(&self, version: i64) -> Result<()> {
        if version > SCHEMA_VERSION {
            return Err(Error::store_msg(format!(
                "{} has schema version {version}, newer than this icyproxy understands \
                 ({SCHEMA_VERSION}); upgrade icyproxy or use another database",
                self.path.display()
            )));
        }
        Ok(())
    }

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

    /// The track with this id, if stored.
    pub fn get(&self, id: &VideoId) -> Result<Option<Track>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM tracks WHERE video_id = ?1"))?;
        Ok(stmt.query_row([id.as_str()], track_from_row).optional()?)
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

    /// Stores listed tracks (tags, no stream URL) in one transaction, as a
    /// playlist import does but in no playlist; returns how many were new.
    pub fn list_tracks(&mut self, tracks: &[ListedTrack]) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let new = list_in(&tx, tracks)?;
        tx.commit()?;
        Ok(new)
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
                Some(_) => Some(track_at(r, 1)?),
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

    /// Deletes a track; `false` when it was not stored.
    pub fn remove(&mut self, id: &VideoId) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM tracks WHERE video_id = ?1", [id.as_str()])?;
        Ok(n > 0)
    }

    /// All tracks, ordered by video id.
    pub fn list(&self) -> Result<Vec<Track>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM tracks ORDER BY video_id"))?;
        let rows = stmt.query_map([], track_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
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
fn upsert_in(conn: &Connection, tracks: &[NewTrack]) -> Result<()> {
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
fn list_in(conn: &Connection, tracks: &[ListedTrack]) -> Result<usize> {
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

/// A playlist's ids in order, inside an open transaction.
fn entry_ids(conn: &Connection, name: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT video_id FROM playlist_entries WHERE playlist = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([name], |r| text(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

impl PlaylistChange {
    /// What changed from `before` to `after` (ids, with repeats).
    pub fn between(before: &[String], after: &[String]) -> PlaylistChange {
        let mut left: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for id in before {
            *left.entry(id.as_str()).or_default() += 1;
        }
        let mut added = 0;
        let mut kept_after = Vec::new();
        for id in after {
            match left.get_mut(id.as_str()) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    kept_after.push(id.as_str());
                }
                _ => added += 1,
            }
        }
        let removed = left.values().sum();
        // Nothing moved when the kept entries are the old list with some
        // entries taken out: a subsequence of it (matched greedily).
        let mut kept = kept_after.iter().peekable();
        for id in before {
            if kept.peek().is_some_and(|k| **k == id.as_str()) {
                kept.next();
            }
        }
        let reordered = kept.peek().is_some();
        PlaylistChange {
            entries: after.len(),
            new_tracks: 0,
            added,
            removed,
            reordered,
        }
    }
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

const COLUMNS: &str = "video_id, stream_url, artist, title, updated_at, expires_at, \
     duration_secs, album, thumbnail_url, tags_from, available_at, http_headers";
const T_COLUMNS: &str = "t.video_id, t.stream_url, t.artist, t.title, t.updated_at, \
     t.expires_at, t.duration_secs, t.album, t.thumbnail_url, t.tags_from, t.available_at, \
     t.http_headers";

/// Headers as stored: a JSON object, or NULL for none.
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

/// A new database in a directory its group may write (the packaged
/// `/var/lib/icyproxy`, shared by the service and the `icyproxy` group's
/// CLI users) is created group-writable, whatever the umask; SQLite gives
/// its WAL and shared-memory files the database's mode. Elsewhere SQLite
/// creates it as usual.
fn share_with_group(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir,
        None => Path::new("."),
    };
    let group_writable = std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o020 != 0);
    if !group_writable || path.exists() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o660)
        .open(path)
    {
        Ok(_) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)),
        // Created meanwhile by another process: its mode stands.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A path as the path part of an SQLite `file:` URI.
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
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

fn track_from_row(row: &Row<'_>) -> rusqlite::Result<Track> {
    track_at(row, 0)
}

/// Reads the track columns starting at column `at`.
fn track_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Track> {
    let thumbnail = row
        .get_ref(at + 8)?
        .as_bytes_or_null()?
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    let url = text(row, at + 1)?;
    Ok(Track {
        video_id: text(row, at)?,
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(id: &str, title: &str) -> NewTrack {
        NewTrack::new(id, "http://127.0.0.1:1/a", "Artist", title).expect("valid track")
    }

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
            .map(|t| t.video_id)
            .collect();
        assert_eq!(ids, ["aaaaaaaaaaa", "dQw4w9WgXcQ"]);
        assert!(s.remove(&id).expect("rm"));
        assert!(!s.remove(&id).expect("rm again"));
        drop(s);
        let s = TrackStore::open(&path).expect("reopen");
        assert_eq!(s.count().expect("count"), 1);
    }

    #[test]
    fn newer_schema_is_refused_and_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "user_version", 99)
            .expect("set version");
        drop(conn);
        let before = std::fs::read(&path).expect("read");
        let e = TrackStore::open(&path).err().expect("refused").to_string();
        assert!(e.contains("newer"), "{e}");
        let conn = Connection::open(&path).expect("open");
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, 99);
        assert_eq!(before.len(), std::fs::read(&path).expect("read").len());
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

    #[test]
    fn version_1_databases_are_migrated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(MIGRATIONS[0]).expect("v1 schema");
        conn.execute(
            "INSERT INTO tracks (video_id, stream_url, artist, title, updated_at)
             VALUES ('aaaaaaaaaaa', 'http://h/x', 'A', 'T', 1)",
            [],
        )
        .expect("v1 row");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        drop(conn);
        let s = TrackStore::open(&path).expect("migrates");
        let t = s
            .get(&VideoId::parse("aaaaaaaaaaa").expect("id"))
            .expect("q")
            .expect("row");
        assert_eq!(
            (t.tags.title.as_str(), t.tags.album, t.tags.thumbnail_url),
            ("T", None, None)
        );
        assert_eq!(s.schema_version().expect("v"), SCHEMA_VERSION);
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

    #[test]
    fn playlist_changes_count_repeats_and_moves() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = PlaylistChange::between(&ids(&["a", "b", "a"]), &ids(&["a", "b", "a"]));
        assert_eq!((c.added, c.removed, c.reordered), (0, 0, false));
        let c = PlaylistChange::between(&ids(&["a", "b", "a"]), &ids(&["b", "a"]));
        assert_eq!((c.added, c.removed, c.reordered), (0, 1, false));
        let c = PlaylistChange::between(&ids(&["a", "b"]), &ids(&["b", "a", "c"]));
        assert_eq!((c.added, c.removed, c.reordered), (1, 0, true));
        let c = PlaylistChange::between(&[], &ids(&["x"]));
        assert_eq!((c.entries, c.added), (1, 1));
    }

    #[test]
    fn a_database_in_a_group_directory_is_group_writable_with_its_wal() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = dir.path().join("shared");
        let private = dir.path().join("private");
        for (d, mode) in [(&shared, 0o2770), (&private, 0o700)] {
            std::fs::create_dir(d).expect("dir");
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        let mut s = TrackStore::open(&shared.join("t.db")).expect("open");
        s.upsert(&track("aaaaaaaaaaa", "A")).expect("write");
        assert_eq!(mode(&shared.join("t.db")), 0o660);
        assert_eq!(mode(&shared.join("t.db-wal")), 0o660);
        let s2 = TrackStore::open(&private.join("t.db")).expect("open");
        drop(s2);
        assert_eq!(
            mode(&private.join("t.db")) & 0o020,
            0,
            "not shared outside a group dir"
        );
    }

    #[test]
    fn new_track_checks_fields() {
        assert!(NewTrack::new("short", "http://h/", "", "T").is_err());
        assert!(NewTrack::new("dQw4w9WgXcQ", "ftp://h/", "", "T").is_err());
        assert!(NewTrack::new("dQw4w9WgXcQ", "http://h/", "", " ").is_err());
        assert!(NewTrack::new("dQw4w9WgXcQ", "http://h/", "", "T").is_ok());
    }
}
