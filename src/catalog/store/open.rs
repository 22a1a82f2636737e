//! Opening a store: the one policy of who may create it or gets it
//! read-only ([`Opener`]), creating it, bringing its schema up to date
//! (or refusing a newer one), read-only and inspecting opens, and
//! [`LazyStore`], a thread's connection opened on its first use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::catalog::store::TrackStore;
use crate::error::{Error, Result};

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
    // 7: tracks a search or a radio stored first (nothing else made them),
    // and when one last listed them: aged out when nothing needs them.
    "CREATE TABLE found_tracks (
        video_id TEXT PRIMARY KEY NOT NULL,
        found_at INTEGER NOT NULL
     );",
    // 8: songs kept whole on disk ([cache]): their length and type, when
    // they were last played and how often; and the cache's hits and misses.
    "CREATE TABLE audio_cache (
        video_id     TEXT PRIMARY KEY NOT NULL,
        bytes        INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        last_played_ms INTEGER NOT NULL,
        plays        INTEGER NOT NULL DEFAULT 1
     );
     CREATE TABLE audio_cache_counts (
        name  TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
     );",
    // 9: stickers MPD clients set on YouTube Music songs through the
    // front door (`rating`, `like`, any other name), by song.
    "CREATE TABLE stickers (
        video_id TEXT NOT NULL,
        name     TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (video_id, name)
     );",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The fix for a database that cannot be opened.
const WHERE_TO: &str = "choose a writable place with [store] path or --db";

/// How long a statement waits for another writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Who opens the store, and so what a missing or unwritable database
/// means: the one policy of opening it, for every opener.
#[derive(Clone, Copy)]
pub enum Opener<'a> {
    /// A command (not `serve`): what it does to the database decides;
    /// `config`, the config that chose the path, is named when the
    /// database is missing or new.
    Command {
        need: Need,
        config: &'a dyn std::fmt::Display,
    },
    /// The server at its start: a missing database is created; one that
    /// exists but cannot be written is opened read-only
    /// ([`Opened::unwritable`] says why).
    Start,
    /// A worker or thread of the server, once the start has chosen:
    /// read-only, or a writer (which creates a missing database again).
    Thread { read_only: bool },
}

/// What a command needs of the track database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// It writes: a missing database is created.
    Write,
    /// It removes or changes: a missing database is an error, not created.
    Existing,
    /// It only reads: opened read-only (a database this user may not
    /// write still lists), a missing one is an error.
    Read,
}

/// A store opened by [`Opener::open`].
pub struct Opened {
    pub store: TrackStore,
    /// [`Opener::Start`] only: why the database cannot be written, when
    /// it was opened read-only instead.
    pub unwritable: Option<Error>,
}

impl Opener<'_> {
    /// What a command says before [`Opener::open`] creates a new database
    /// at `path`; `None`: nothing to say.
    ///
    /// A new, empty database almost always means the command found another
    /// config (or none) than the server did, so creating one is said out
    /// loud, with the absolute path and the config.
    pub fn notice(&self, path: &Path) -> Option<String> {
        match self {
            Opener::Command {
                need: Need::Write,
                config,
            } if !path.exists() => Some(format!(
                "creating a new, empty track database at {} (config: {config})",
                absolute(path).display()
            )),
            _ => None,
        }
    }

    /// Opens (and migrates) the store at `path` as this opener may: a
    /// command that only reads or removes refuses a missing database
    /// instead of leaving an empty file.
    pub fn open(&self, path: &Path) -> Result<Opened> {
        let store = match *self {
            Opener::Command { need, config } => {
                if need != Need::Write && !path.exists() {
                    return Err(Error::store_msg(format!(
                        "no track database at {} (config: {config})",
                        absolute(path).display()
                    ))
                    .with_fix("give --db PATH or --config FILE, or add a track to create it"));
                }
                match need {
                    // An older schema needs a writer to upgrade it: then as before.
                    Need::Read => {
                        TrackStore::open_read_only(path).or_else(|_| TrackStore::open(path))?
                    }
                    Need::Write | Need::Existing => TrackStore::open(path)?,
                }
            }
            Opener::Start => return open_at_start(path),
            Opener::Thread { read_only: true } => TrackStore::open_read_only(path)?,
            Opener::Thread { read_only: false } => TrackStore::open(path)?,
        };
        Ok(Opened {
            store,
            unwritable: None,
        })
    }
}

/// [`Opener::Start`]: a writer, else (when the file exists) a reader.
fn open_at_start(path: &Path) -> Result<Opened> {
    match TrackStore::open(path) {
        Ok(store) => Ok(Opened {
            store,
            unwritable: None,
        }),
        Err(e) if path.is_file() => match TrackStore::open_read_only(path) {
            Ok(store) => Ok(Opened {
                store,
                unwritable: Some(e),
            }),
            Err(_) => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// `path` made absolute for a message (as given when that fails).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
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
            None => {
                let opener = Opener::Thread {
                    read_only: self.read_only,
                };
                opener.open(&self.path)?.store
            }
        };
        Ok(self.open.insert(store))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::store::track;
    use crate::video_id::VideoId;

    #[test]
    fn a_command_creates_only_when_it_writes_and_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data/t.db");
        let command = |need| Opener::Command {
            need,
            config: &"proxy.toml",
        };
        for need in [Need::Read, Need::Existing] {
            assert_eq!(command(need).notice(&path), None);
            let e = command(need).open(&path).err().expect("refused");
            assert_eq!(
                e.to_string(),
                format!(
                    "track store: no track database at {} (config: proxy.toml) (give --db \
                     PATH or --config FILE, or add a track to create it)",
                    path.display()
                )
            );
            assert!(!path.exists(), "{need:?} created nothing");
        }
        assert_eq!(
            command(Need::Write).notice(&path),
            Some(format!(
                "creating a new, empty track database at {} (config: proxy.toml)",
                path.display()
            ))
        );
        let opened = command(Need::Write).open(&path).expect("created");
        assert!(opened.unwritable.is_none());
        assert_eq!(command(Need::Write).notice(&path), None, "said once");
        drop(opened);
        for need in [Need::Read, Need::Existing] {
            assert!(command(need).open(&path).is_ok(), "{need:?}");
        }
        let started = Opener::Start.open(&path).expect("start");
        assert!(started.unwritable.is_none());
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
        // Step 7: the audio cache's tables, empty.
        assert_eq!(s.kept_bytes().expect("audio_cache"), 0);
        assert_eq!(s.cache_totals().expect("counts").hits, 0);
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
}
