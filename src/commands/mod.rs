//! What each subcommand does, as library functions that write their
//! output to a given writer (so tests and `main` share them). `doctor`,
//! which checks every link of the chain, has its own file.

pub mod doctor;

use std::io::{Read, Write};
use std::path::Path;

use log::{info, warn};

use crate::app::entries::QueueEntries;
use crate::app::root::{self, App};
use crate::catalog::discover::{self, Search, Section};
use crate::catalog::import;
use crate::catalog::model::{NewTrack, Track};
use crate::catalog::playlist::Format;
use crate::catalog::playlist_source::{self, Sources};
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::{Need, Opener};
use crate::config::{Config, absolute};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::mpd::queue::Session;
use crate::video_id::VideoId;

/// Runs the server in the foreground until SIGINT or SIGTERM.
///
/// The first log line says which config, database, resolver and cover
/// directory are in use, so a CLI run that used another can be spotted.
/// The warning about a public address comes only once the server listens:
/// a server that failed to start exposes nothing.
pub fn serve(config: &Config) -> Result<()> {
    let resolver = if config.resolver.command.is_empty() {
        "off".to_owned()
    } else {
        config.resolver.command.join(" ")
    };
    info!(
        "config: {}; database: {}; resolver: {resolver}; covers: {}",
        config.source,
        absolute(&config.store.path).display(),
        absolute(&config.cover.cache_dir).display()
    );
    let server = App::start(config)?;
    // What doctor would fail, said once each once serving (a server that
    // failed to start says only why).
    for warning in server.warnings() {
        warn!("{warning}");
    }
    if !config.server.is_loopback() && config.server.token().is_none() {
        warn!(
            "listening on {} (not loopback) without [server] token: anyone on the network \
             can use this proxy",
            config.server.host
        );
    }
    let stop = server.stop_handle();
    ctrlc::set_handler(move || stop.stop())
        .map_err(|e| Error::io("cannot install the signal handler", e))?;
    server.wait()
}

/// Opens the track store for a command (not for `serve`), as
/// [`Opener::Command`] decides, saying so when it creates a new one.
fn open_store(config: &Config, need: Need) -> Result<TrackStore> {
    let opener = Opener::Command {
        need,
        config: &config.source,
    };
    if let Some(notice) = opener.notice(&config.store.path) {
        eprintln!("icyproxy: {notice}");
    }
    Ok(opener.open(&config.store.path)?.store)
}

/// An id as a user gives it: the id, or a YouTube (Music) URL holding it.
fn parse_id(text: &str) -> Result<VideoId> {
    VideoId::from_user_or_explain(text)
}

fn parse_ids(texts: &[String]) -> Result<Vec<VideoId>> {
    texts.iter().map(|t| parse_id(t)).collect()
}

/// What `add` stores, as given on the command line.
#[derive(Debug, Default)]
pub struct Added {
    pub id: String,
    pub url: String,
    pub artist: String,
    pub title: String,
    pub album: Option<String>,
    pub thumbnail: Option<String>,
    pub duration_secs: Option<i64>,
}

/// `add`: inserts or replaces one track.
pub fn add(config: &Config, added: &Added, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(&added.id)?;
    let mut track = NewTrack::new(id.as_str(), &added.url, &added.artist, &added.title)?;
    if let Some(album) = &added.album {
        track = track.with_album(album);
    }
    if let Some(thumb) = &added.thumbnail {
        track = track.with_thumbnail(thumb)?;
    }
    track.tags.duration_secs = added.duration_secs;
    open_store(config, Need::Write)?.upsert(&track)?;
    say(out, &format!("stored {}", track.video_id))
}

/// `get`: prints one track as `key<TAB>value` lines.
pub fn get(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    let store = open_store(config, Need::Read)?;
    let track = store
        .get(&id)?
        .ok_or_else(|| Error::NotFound(format!("no track with video id {id}")))?;
    write_all(out, &track_lines(&track))
}

/// `resolve`: runs the resolver for one id and stores what it says.
pub fn resolve(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    let source = root::track_source(config, metrics);
    if config.store.path.exists() {
        let track = source.resolve_now(&id, &mut open_store(config, Need::Write)?)?;
        return write_all(out, &track_lines(&track));
    }
    // No database yet: resolve into a scratch store in memory first, so a
    // resolver that fails (not installed, say) leaves no empty file behind.
    let mut scratch = TrackStore::open(Path::new(":memory:"))?;
    let resolved = source.resolve_now(&id, &mut scratch)?;
    let url = resolved
        .stream_url
        .clone()
        .ok_or_else(|| Error::io_msg(format!("the resolver gave {id} no URL")))?;
    let mut store = open_store(config, Need::Write)?;
    store.upsert(&NewTrack {
        tags_from: resolved.tags_from,
        ..NewTrack::tagged(id.as_str(), &url, resolved.tags.clone())?
    })?;
    let track = store.get(&id)?.unwrap_or(resolved);
    write_all(out, &track_lines(&track))
}

/// A track as `key<TAB>value` lines: every field, in a fixed order, an
/// empty value for one that is unknown (so scripts can rely on the keys),
/// and times as RFC 3339 UTC.
fn track_lines(track: &Track) -> String {
    let time = |t: Option<i64>| t.map(crate::time::rfc3339).unwrap_or_default();
    let fields = [
        ("video_id", track.video_id.to_string()),
        ("artist", clean(&track.tags.artist)),
        ("title", clean(&track.tags.title)),
        ("album", clean(track.tags.album.as_deref().unwrap_or(""))),
        (
            "duration_secs",
            track
                .tags
                .duration_secs
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
        (
            "stream_url",
            clean(track.stream_url.as_deref().unwrap_or("")),
        ),
        (
            "thumbnail_url",
            clean(track.tags.thumbnail_url.as_deref().unwrap_or("")),
        ),
        ("updated_at", time(Some(track.updated_at))),
        ("expires_at", time(track.expires_at)),
    ];
    fields
        .iter()
        .map(|(key, value)| format!("{key}\t{value}\n"))
        .collect()
}

/// A value made safe for one tab-separated field: another program may
/// have stored anything.
fn clean(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// `list`: one `video_id<TAB>artist<TAB>title<TAB>updated_at` line per
/// track, the time as RFC 3339 UTC.
pub fn list(config: &Config, out: &mut dyn Write) -> Result<()> {
    let store = open_store(config, Need::Read)?;
    let mut text = String::new();
    for t in store.list()? {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            t.video_id,
            clean(&t.tags.artist),
            clean(&t.tags.title),
            crate::time::rfc3339(t.updated_at)
        ));
    }
    write_all(out, &text)
}

/// `remove`: deletes a track; an unknown id is an error.
pub fn remove(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    if !open_store(config, Need::Existing)?.remove(&id)? {
        return Err(Error::NotFound(format!("no track with video id {id}")));
    }
    say(out, &format!("removed {id}"))
}

/// `import`: reads `source` (a path, or `-` for stdin), checks every line,
/// then writes all tracks in one transaction; with `playlist`, they are
/// also appended to that playlist, in file order.
pub fn import(
    config: &Config,
    source: &str,
    playlist: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
    if let Some(name) = playlist {
        crate::catalog::model::check_playlist_name(name)?;
    }
    let mut input = Vec::new();
    if source == "-" {
        std::io::stdin()
            .read_to_end(&mut input)
            .map_err(|e| Error::io("cannot read standard input", e))?;
    } else {
        input = std::fs::read(Path::new(source))
            .map_err(|e| Error::io(format!("cannot read {source}"), e))?;
    }
    let name = if source == "-" {
        "standard input"
    } else {
        source
    };
    let tracks = import::parse(&input)
        .map_err(|e| Error::InvalidInput(format!("{name}: {e}; nothing was imported")))?;
    let mut store = open_store(config, Need::Write)?;
    if let Some(name) = playlist {
        if let Some(why) = playlist_source::hand_edit_conflict(&store, name)? {
            return Err(Error::InvalidInput(format!("{why}; nothing was imported")));
        }
    }
    match playlist {
        Some(name) => store.import_into_playlist(&tracks, name)?,
        None => store.upsert_many(&tracks)?,
    }
    say(
        out,
        &format!("imported {}", count(tracks.len(), "track", "tracks")),
    )
}

/// `playlist add`: appends ids to a playlist (created on first use). Ids
/// with no stored track get their tags at once through the resolver
/// (saying so), so MPD shows `Artist - Title` rather than the id; one the
/// resolver cannot tag stays in the playlist as a bare id, said on stderr,
/// and the command still succeeds: the entries were added.
pub fn playlist_add(
    config: &Config,
    name: &str,
    ids: &[String],
    out: &mut dyn Write,
) -> Result<()> {
    crate::catalog::model::check_playlist_name(name)?;
    let ids = parse_ids(ids)?;
    let mut store = open_store(config, Need::Write)?;
    if let Some(why) = playlist_source::hand_edit_conflict(&store, name)? {
        return Err(Error::InvalidInput(why));
    }
    changing_mpd_file(config, &mut store, name, |s| {
        s.playlist_add(name, &ids)?;
        tag_new_ids(config, s, name, &ids, out)
    })?;
    say(
        out,
        &format!("added {} to {name}", count(ids.len(), "entry", "entries")),
    )
}

/// Resolves the tags of those of `ids` that have no stored track, for
/// `playlist add`: a line on `out` before and per id tagged, one on stderr
/// per id left bare and why.
fn tag_new_ids(
    config: &Config,
    store: &mut TrackStore,
    name: &str,
    ids: &[VideoId],
    out: &mut dyn Write,
) -> Result<()> {
    let mut new: Vec<VideoId> = Vec::new();
    for id in ids {
        if store.get(id)?.is_none() && !new.contains(id) {
            new.push(id.clone());
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    let source = root::track_source(config, metrics);
    let ids_text = count(new.len(), "new id", "new ids");
    if !source.can_resolve() {
        return say(
            out,
            &format!(
                "no tags for {ids_text}: [resolver] command is empty \
                 (icyproxy add stores a track's tags by hand)"
            ),
        );
    }
    let program = config.resolver.command.first().map_or("", String::as_str);
    let program = Path::new(program)
        .file_name()
        .map_or(program.into(), |name| name.to_string_lossy());
    say(
        out,
        &format!("resolving the tags of {ids_text} with {program}"),
    )?;
    for (id, result) in source.resolve_batch(&new, store) {
        match result {
            Ok(track) => say(
                out,
                &format!(
                    "{id}\t{}\t{}",
                    clean(&track.tags.artist),
                    clean(&track.tags.title)
                ),
            )?,
            Err(e) => eprintln!(
                "icyproxy: {id}: no tags: {e}; it stays in {name} as a bare id, \
                 tried again when played"
            ),
        }
    }
    Ok(())
}

/// `playlist list [NAME]`: `name<TAB>entries[<TAB>source URL]` per
/// playlist, or one playlist's entries as `video_id<TAB>artist<TAB>title`.
pub fn playlist_list(config: &Config, name: Option<&str>, out: &mut dyn Write) -> Result<()> {
    let store = open_store(config, Need::Read)?;
    let mut text = String::new();
    match name {
        None => {
            for p in store.playlists()? {
                match p.source.as_deref() {
                    Some(url) => {
                        text.push_str(&format!("{}\t{}\t{}\n", p.name, p.entries, clean(url)))
                    }
                    None => text.push_str(&format!("{}\t{}\n", p.name, p.entries)),
                }
            }
        }
        Some(name) => {
            let entries = store
                .playlist(name)?
                .ok_or_else(|| Error::NotFound(format!("no playlist {name:?}")))?;
            for e in entries {
                let (artist, title) = e
                    .track
                    .map_or((String::new(), "(not stored yet)".to_owned()), |t| {
                        (t.tags.artist, t.tags.title)
                    });
                text.push_str(&format!("{}\t{artist}\t{title}\n", e.video_id));
            }
        }
    }
    write_all(out, &text)
}

/// Runs `change` on playlist `name` and brings its file in
/// `[playlists] mpd_dir` up to date; a file there that icyproxy did not
/// write stops the change before it is made.
fn changing_mpd_file<T>(
    config: &Config,
    store: &mut TrackStore,
    name: &str,
    change: impl FnOnce(&mut TrackStore) -> Result<T>,
) -> Result<T> {
    let files = sources(config).files;
    if let Some(files) = &files {
        files.check_ours(name)?;
    }
    let done = change(store)?;
    if let Some(files) = &files {
        files.write(store, name)?;
    }
    Ok(done)
}

/// The playlist reader and MPD's playlist files, for a command (no
/// server runs: its public URL is the configured one).
fn sources(config: &Config) -> Sources {
    root::sources(config, &config.public_url(None))
}

/// Where `playlist import` puts what it reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target<'a> {
    /// `--name`; default: the source's title.
    pub name: Option<&'a str>,
    /// `--replace`: a playlist of that name made by hand or imported from
    /// another source is replaced (else that is refused).
    pub replace: bool,
}

/// `playlist import URL [--name NAME] [--replace]`: one line, e.g.
/// `Road Trip: 48 tracks (3 new), 2 unavailable skipped`. Onto a playlist
/// made by hand or from another source only with `--replace`; the same
/// URL again is a sync.
pub fn playlist_import(
    config: &Config,
    url: &str,
    target: Target<'_>,
    out: &mut dyn Write,
) -> Result<()> {
    let Target { name, replace } = target;
    // The source is read before the database is opened: a failing command
    // leaves no new, empty database behind.
    if let Some(name) = name {
        crate::catalog::model::check_playlist_name(name)?;
    }
    let sources = sources(config);
    let listing = sources.reader.read(url)?;
    let mut store = open_store(config, Need::Write)?;
    let name = playlist_source::target_name(name, &listing)?;
    let resync = store
        .playlist_sources()?
        .iter()
        .any(|(n, u)| *n == name && u == url);
    if !replace {
        if let Some(why) = playlist_source::import_conflict(&store, &name, url)? {
            return Err(Error::InvalidInput(why));
        }
    }
    let done = playlist_source::store_listing(&sources, &mut store, Some(&name), url, &listing)?;
    // The same URL again is a sync: say what changed.
    match resync {
        true => say(out, &playlist_source::sync_summary(&done)),
        false => say(out, &playlist_source::import_summary(&done)),
    }
}

/// `playlist sync [NAME]`: re-reads one imported playlist, or all; one line
/// per playlist. Those that fail are left as they were and make the exit
/// status 1; the others still sync.
pub fn playlist_sync(config: &Config, name: Option<&str>, out: &mut dyn Write) -> Result<()> {
    let mut store = open_store(config, Need::Existing)?;
    let imported = store.playlist_sources()?;
    let chosen: Vec<(String, String)> = match name {
        None => imported,
        Some(name) => {
            let found = imported.into_iter().find(|(n, _)| n == name);
            vec![found.ok_or_else(|| {
                Error::NotFound(format!(
                    "playlist {name:?} was not imported from a URL: nothing to sync"
                ))
            })?]
        }
    };
    if chosen.is_empty() {
        return say(out, "no imported playlists to sync");
    }
    let sources = sources(config);
    let mut failed = 0;
    for (name, url) in &chosen {
        match playlist_source::sync(&sources, &mut store, name, url) {
            Ok(done) => say(out, &playlist_source::sync_summary(&done))?,
            Err(e) => {
                failed += 1;
                eprintln!("icyproxy: {name}: {e}; left as it was");
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(Error::io_msg(format!(
            "{n} of {} failed to sync",
            count(chosen.len(), "playlist", "playlists")
        ))),
    }
}

/// `playlist remove NAME [ID...]`: drops ids from a playlist, or the whole
/// playlist; removing nothing is an error.
pub fn playlist_remove(
    config: &Config,
    name: &str,
    ids: &[String],
    out: &mut dyn Write,
) -> Result<()> {
    crate::catalog::model::check_playlist_name(name)?;
    let ids = parse_ids(ids)?;
    let mut store = open_store(config, Need::Existing)?;
    let removed = changing_mpd_file(config, &mut store, name, |s| s.playlist_remove(name, &ids))?;
    if removed == 0 {
        return Err(Error::NotFound(format!(
            "nothing to remove from playlist {name:?}"
        )));
    }
    let entries = count(removed, "entry", "entries");
    if ids.is_empty() {
        say(out, &format!("removed playlist {name} ({entries})"))
    } else {
        say(out, &format!("removed {entries} from {name}"))
    }
}

/// The format `playlist export` writes: `format` (from `--format`), or
/// else the output file's extension. Both given must agree, so that a
/// file's name never lies about its content.
pub fn export_format(format: Option<Format>, output: Option<&Path>) -> Result<Format> {
    let by_name = output
        .and_then(|p| p.file_name()?.to_str())
        .and_then(Format::of_file_name);
    match (format, by_name, output) {
        (Some(given), Some(named), Some(path)) if given != named => {
            Err(Error::InvalidInput(format!(
                "--format {} contradicts the file name {}, which says {}: leave out \
                 --format, or change the name",
                given.name(),
                path.display(),
                named.name()
            )))
        }
        (Some(given), _, _) => Ok(given),
        (None, Some(named), _) => Ok(named),
        (None, None, Some(path)) => Err(Error::InvalidInput(format!(
            "cannot tell the playlist format from the file name {}: give --format xspf \
             or --format m3u, or end the name in .m3u, .m3u8 or .xspf",
            path.display()
        ))),
        (None, None, None) => Err(Error::InvalidInput(
            "give --format xspf or --format m3u (or --output FILE ending in .m3u, .m3u8 \
             or .xspf)"
                .into(),
        )),
    }
}

/// What `playlist export` writes, as given on the command line.
#[derive(Debug)]
pub struct Export {
    pub name: String,
    /// `None`: from `output`'s extension.
    pub format: Option<Format>,
    /// `None`: stdout.
    pub output: Option<std::path::PathBuf>,
    /// `None`: from the config.
    pub base_url: Option<String>,
}

/// `playlist export`: the same XSPF or M3U text the server serves, to a
/// file (written whole, then renamed into place) or stdout. The format is
/// `format`, or else `output`'s extension ([`export_format`]).
pub fn playlist_export(config: &Config, export: &Export, out: &mut dyn Write) -> Result<()> {
    let Export {
        name,
        format,
        output,
        base_url,
    } = export;
    let (name, output) = (name.as_str(), output.as_deref());
    let format = export_format(*format, output)?;
    let store = open_store(config, Need::Read)?;
    let entries = store
        .playlist(name)?
        .ok_or_else(|| Error::NotFound(format!("no playlist {name:?}")))?;
    let base = base_url
        .clone()
        .unwrap_or_else(|| config.server.url().base().to_owned());
    if !base.starts_with("http://") && !base.starts_with("https://") {
        return Err(Error::InvalidInput(format!(
            "--base-url must start with http:// or https://: {base}"
        )));
    }
    let links = crate::catalog::playlist::Links {
        base_url: &base,
        token: config.server.token(),
    };
    let text = format.render(name, &entries, links);
    match output {
        None => write_all(out, &text),
        Some(path) => {
            // The token is in every URL: then not for every user to read.
            let mode = match config.server.token() {
                Some(_) => crate::files::PRIVATE_MODE,
                None => crate::files::SHARED_MODE,
            };
            crate::files::write_atomic(path, text.as_bytes(), mode)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
            say(
                out,
                &format!(
                    "wrote {} to {}",
                    count(entries.len(), "entry", "entries"),
                    path.display()
                ),
            )
        }
    }
}

/// How many songs `search` and `radio` find, and where they go besides
/// the printed table.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub limit: usize,
    /// Append the songs to MPD's queue.
    pub add: bool,
    /// Append them and play the first.
    pub play: bool,
    /// Store them as this playlist.
    pub playlist: Option<String>,
}

impl Wanted {
    /// Refuses a playlist name before anything runs.
    fn check(&self) -> Result<()> {
        match &self.playlist {
            Some(name) => crate::catalog::model::check_playlist_name(name),
            None => Ok(()),
        }
    }

    /// Whether MPD's queue changes.
    fn queues(&self) -> bool {
        self.add || self.play
    }
}

/// What `search` does, as given on the command line.
#[derive(Debug, Clone)]
pub struct SearchArgs {
    pub query: String,
    /// The videos section instead of the songs.
    pub videos: bool,
    pub wanted: Wanted,
}

/// `search QUERY`: YouTube Music's search, printed as a numbered table
/// (position, Artist - Title, duration, id); the songs are stored with
/// their tags, and appended to MPD's queue, played or stored as a
/// playlist as asked.
pub fn search(config: &Config, args: &SearchArgs, out: &mut dyn Write) -> Result<()> {
    let wanted = &args.wanted;
    wanted.check()?;
    let session = queue_session(config, wanted.queues())?;
    let mut store = open_store(config, Need::Write)?;
    let source = root::track_source(config, std::sync::Arc::new(Metrics::default()));
    let search = Search {
        query: &args.query,
        limit: wanted.limit,
        section: if args.videos {
            Section::Videos
        } else {
            Section::Songs
        },
    };
    let found = discover::search(&sources(config), &source, &mut store, &search)?;
    if found.is_empty() {
        return Err(Error::NotFound(format!(
            "nothing found for {:?}",
            args.query
        )));
    }
    write_all(out, &results_table(&found))?;
    let deliver = Deliver {
        session: session.as_ref(),
        playlist: wanted.playlist.as_deref(),
        play: wanted.play,
    };
    deliver.found(config, &mut store, &found, out)
}

/// Where found songs go besides the table.
struct Deliver<'a> {
    /// Appended to MPD's queue.
    session: Option<&'a Session>,
    /// Stored as this playlist.
    playlist: Option<&'a str>,
    /// MPD plays the first appended.
    play: bool,
}

/// What `radio` does, as given on the command line.
#[derive(Debug, Clone)]
pub struct RadioArgs {
    /// A video id or a URL naming one; `None` with `current`.
    pub seed: Option<String>,
    /// The radio of MPD's current song.
    pub current: bool,
    pub wanted: Wanted,
}

/// `radio ID|URL|--current`: YouTube Music's radio of a song, without the
/// song itself and without what MPD's queue holds, printed like `search`
/// and queued, played or stored as asked. One yt-dlp run.
pub fn radio(config: &Config, args: &RadioArgs, out: &mut dyn Write) -> Result<()> {
    let wanted = &args.wanted;
    wanted.check()?;
    let session = queue_session(config, wanted.queues() || args.current)?;
    let entries = QueueEntries::of(config, None);
    let seed = match (&args.seed, &session) {
        (Some(text), _) => seed_id(text)?,
        (None, Some(session)) if args.current => session
            .current()?
            .as_deref()
            .and_then(|file| entries.id_of(file))
            .ok_or_else(|| {
                Error::InvalidInput(
                    "MPD's current song is not one of icyproxy's (or none plays): give an id"
                        .into(),
                )
            })?,
        _ => {
            return Err(Error::InvalidInput(
                "give a video id, a URL or --current".into(),
            ));
        }
    };
    let mut skip = std::collections::HashSet::new();
    if let Some(session) = &session {
        for entry in session.queue()? {
            if let Some(id) = entries.id_of(&entry.file) {
                skip.insert(id.to_string());
            }
        }
    }
    let mut store = open_store(config, Need::Write)?;
    let source = root::track_source(config, std::sync::Arc::new(Metrics::default()));
    let ask = discover::RadioAsk {
        seed: &seed,
        limit: wanted.limit,
        skip: &skip,
    };
    let found = discover::radio(&sources(config), &source, &mut store, &ask)?;
    if found.is_empty() {
        return Err(Error::NotFound(format!(
            "the radio of {seed} has nothing new"
        )));
    }
    write_all(out, &results_table(&found))?;
    let deliver = Deliver {
        session: session.as_ref().filter(|_| wanted.queues()),
        playlist: wanted.playlist.as_deref(),
        play: wanted.play,
    };
    deliver.found(config, &mut store, &found, out)
}

/// A video id, or the `v=` of a watch URL (or a youtu.be/ID link).
fn seed_id(text: &str) -> Result<VideoId> {
    let text = text.trim();
    if let Some(id) = VideoId::parse(text) {
        return Ok(id);
    }
    let found = text
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("v="))
        .or_else(|| text.split("youtu.be/").nth(1))
        .map(|rest| rest.split(['&', '?', '#', '/']).next().unwrap_or(""));
    match found {
        Some(id) => parse_id(id),
        None => parse_id(text),
    }
}

/// The session to append with, when asked to; an error without `[mpd]`.
fn queue_session(config: &Config, wanted: bool) -> Result<Option<Session>> {
    if !wanted {
        return Ok(None);
    }
    config.mpd.session().map(Some).ok_or_else(|| {
        Error::InvalidInput("--add and --play need MPD: set [mpd] address in proxy.toml".into())
    })
}

impl Deliver<'_> {
    /// Appends `found` to the queue (playing the first with `play`) and
    /// stores it as `playlist`, as asked; one line for each.
    fn found(
        &self,
        config: &Config,
        store: &mut TrackStore,
        found: &[Track],
        out: &mut dyn Write,
    ) -> Result<()> {
        let play = self.play;
        if let Some(name) = self.playlist {
            let ids: Vec<VideoId> = found.iter().map(|t| t.video_id.clone()).collect();
            changing_mpd_file(config, store, name, |s| {
                s.playlist_remove(name, &[])?;
                s.playlist_add(name, &ids)
            })?;
            say(out, &format!("stored as the playlist {name}"))?;
        }
        if let Some(session) = self.session {
            let entries = QueueEntries::of(config, None);
            let songs: Vec<_> = found.iter().map(|t| entries.song(t)).collect();
            session.append(&songs, play)?;
            let songs = count(songs.len(), "song", "songs");
            match play {
                true => say(
                    out,
                    &format!("added {songs} to MPD's queue, playing the first"),
                )?,
                false => say(out, &format!("added {songs} to MPD's queue"))?,
            }
        }
        Ok(())
    }
}

/// Found songs as a numbered table: position, `Artist - Title`, duration
/// (`m:ss`, empty when unknown), id.
pub fn results_table(found: &[Track]) -> String {
    let shown: Vec<String> = found.iter().map(|t| t.tags.display_title()).collect();
    let width = shown
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let mut text = String::new();
    for (i, (track, name)) in found.iter().zip(&shown).enumerate() {
        let pad = width.saturating_sub(name.chars().count());
        let time = track.tags.duration_secs.map(clock).unwrap_or_default();
        text.push_str(&format!(
            "{:>2}  {}{}  {time:>5}  {}\n",
            i + 1,
            clean(name),
            " ".repeat(pad),
            track.video_id
        ));
    }
    text
}

/// Seconds as `m:ss`, or `h:mm:ss` from an hour.
fn clock(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match h {
        0 => format!("{m}:{s:02}"),
        h => format!("{h}:{m:02}:{s:02}"),
    }
}

/// `library sync`: the account's liked songs and playlists, a line each;
/// a playlist that fails is left as it was (exit 1).
pub fn library_sync(config: &Config, out: &mut dyn Write) -> Result<()> {
    if config.resolver.cookies_file().is_none() {
        // Said before a database is created for nothing.
        return Err(Error::InvalidInput(discover::NEEDS_COOKIES.into()));
    }
    let mut store = open_store(config, Need::Write)?;
    let report = discover::sync_library(&sources(config), &mut store)?;
    for done in &report.synced {
        say(out, &playlist_source::sync_summary(done))?;
    }
    for name in &report.removed {
        say(out, &format!("{name}: no longer in your library, removed"))?;
    }
    for name in &report.skipped {
        eprintln!("icyproxy: {name}: a playlist of yours has this name; left alone");
    }
    for (name, e) in &report.failed {
        eprintln!("icyproxy: {name}: {e}; left as it was");
    }
    match report.failed.len() {
        0 => Ok(()),
        n => Err(Error::io_msg(format!(
            "{} of your library failed to sync",
            count(n, "playlist", "playlists")
        ))),
    }
}

/// `1 track`, `2 tracks`: counts users read.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn say(out: &mut dyn Write, line: &str) -> Result<()> {
    write_all(out, &format!("{line}\n"))
}

fn write_all(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write output", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Format::{M3u, Xspf};

    #[test]
    fn the_export_format_comes_from_the_flag_or_the_file_name() {
        let path = |p: &'static str| Some(Path::new(p));
        assert_eq!(export_format(Some(Xspf), None).ok(), Some(Xspf));
        assert_eq!(export_format(None, path("a/road.m3u")).ok(), Some(M3u));
        assert_eq!(export_format(None, path("road.M3U8")).ok(), Some(M3u));
        assert_eq!(export_format(None, path("road.xspf")).ok(), Some(Xspf));
        assert_eq!(export_format(Some(M3u), path("road.m3u8")).ok(), Some(M3u));
        assert_eq!(export_format(Some(M3u), path("road.txt")).ok(), Some(M3u));
        let err = |f, p| export_format(f, p).expect_err("refused").to_string();
        assert_eq!(
            err(Some(Xspf), path("road.m3u")),
            "--format xspf contradicts the file name road.m3u, which says m3u: leave out \
             --format, or change the name"
        );
        assert!(err(None, path("road.txt")).starts_with("cannot tell the playlist format"));
        assert!(err(None, path("road")).contains("end the name in .m3u, .m3u8 or .xspf"));
        assert!(err(None, None).starts_with("give --format xspf or --format m3u"));
    }

    #[test]
    fn seeds_come_from_ids_and_urls() {
        let id = |t: &str| seed_id(t).map(|i| i.to_string()).ok();
        assert_eq!(id("dQw4w9WgXcQ").as_deref(), Some("dQw4w9WgXcQ"));
        let watch = "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVMx";
        assert_eq!(id(watch).as_deref(), Some("dQw4w9WgXcQ"));
        assert_eq!(
            id("https://youtu.be/dQw4w9WgXcQ?t=1").as_deref(),
            Some("dQw4w9WgXcQ")
        );
        assert_eq!(id("nonsense"), None);
    }

    #[test]
    fn durations_read_as_a_clock() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(212), "3:32");
        assert_eq!(clock(3725), "1:02:05");
    }

    #[test]
    fn counts_read_well() {
        assert_eq!(count(1, "track", "tracks"), "1 track");
        assert_eq!(count(0, "track", "tracks"), "0 tracks");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }
}
