//! Imported playlists: reading one from its source (the playlist command,
//! `yt-dlp --flat-playlist -J` by default), storing it in one transaction,
//! re-reading it later (sync), and keeping MPD's copy in its
//! `playlist_directory` so `mpc lsplaylists` lists it.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::catalog::cookies::Cookies;
use crate::catalog::lookup::TrackSource;
use crate::catalog::model::{PlaylistChange, check_playlist_name};
use crate::catalog::music::browse::PLAYLIST_LIMIT;
use crate::catalog::music::{Music, Who};
use crate::catalog::playlist::{self, Links};
use crate::catalog::settings::ResolverSettings;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::Opener;
use crate::catalog::ytdlp::flat::{self, FlatPlaylist};
use crate::catalog::ytdlp_error::{self, Class};
use crate::error::{Error, Result};
use crate::files;
use crate::metrics::Metrics;
use crate::public_url::PublicUrl;
use crate::subprocess::{self, Helper, How};
use crate::video_id::VideoId;

/// A playlist's JSON can be large (a 5,000-entry list is megabytes).
const MAX_OUTPUT_BYTES: u64 = 256 * 1024 * 1024;

/// The line that marks a file in `mpd_dir` as ours: only such files are
/// ever replaced or removed. (MPD skips `#` lines it does not know.)
const MARKER: &str = "# written by icyproxy: changes here are overwritten";

/// The configured playlist command.
#[derive(Debug, Clone)]
pub struct Reader {
    argv: Vec<String>,
    timeout: Duration,
    /// Given to every run (`--cookies`, a copy of its own).
    cookies: Option<Cookies>,
}

/// What an import or a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub name: String,
    pub change: PlaylistChange,
    /// Entries skipped as private, deleted, live or not a video.
    pub unavailable: usize,
}

/// Only web URLs are sources: anything else is refused before a program runs.
pub fn check_source_url(url: &str) -> std::result::Result<(), String> {
    let lower = url.trim().to_ascii_lowercase();
    let web = lower.starts_with("https://") || lower.starts_with("http://");
    if web && !url.chars().any(char::is_whitespace) && lower.len() > "https://".len() {
        Ok(())
    } else {
        Err(format!("not an http(s) URL: {url:?}"))
    }
}

impl Reader {
    /// `[resolver] playlist_command`, lending every run `cookies`.
    pub fn new(settings: &ResolverSettings, cookies: Option<Cookies>) -> Reader {
        Reader {
            argv: settings.playlist_command.clone(),
            timeout: settings.playlist_timeout(),
            cookies,
        }
    }

    /// The cookies every run gets, if any.
    pub fn cookies(&self) -> Option<&Cookies> {
        self.cookies.as_ref()
    }

    /// Runs the command for `url` and reads the playlist it prints.
    pub fn read(&self, url: &str) -> Result<FlatPlaylist> {
        self.read_first(url, None)
    }

    /// [`Reader::read`], asking for the first `limit` entries only (yt-dlp
    /// pages a search or a feed without end unless told).
    pub fn read_first(&self, url: &str, limit: Option<usize>) -> Result<FlatPlaylist> {
        self.run_then(url, limit, flat::flat_playlist)
    }

    /// Runs the command for `url` (with `--playlist-end LIMIT` when given,
    /// and `--cookies` when set, just before the URL) and reads what it
    /// prints with `read`.
    pub fn run_then<T>(
        &self,
        url: &str,
        limit: Option<usize>,
        read: impl FnOnce(&str) -> std::result::Result<T, String>,
    ) -> Result<T> {
        check_source_url(url).map_err(Error::InvalidInput)?;
        let lent = self.cookies.as_ref().map(Cookies::lend).transpose()?;
        let mut options = lent.as_ref().map(|l| l.options()).unwrap_or_default();
        if let Some(limit) = limit {
            options.extend(["--playlist-end".into(), limit.to_string()]);
        }
        let argv: Vec<String> = subprocess::insert_before(&self.argv, "{url}", &options)
            .iter()
            .map(|a| a.replace("{url}", url))
            .collect();
        let helper = Helper::PlaylistCommand;
        let explain = |failure| Cookies::explain(self.cookies.as_ref(), failure);
        let finished = subprocess::run(&argv, &helper, self.timeout, MAX_OUTPUT_BYTES)
            .map_err(|f| Error::PlaylistSource(explain(f)))?;
        if !finished.status.success() {
            // A cause the classifier knows, with its fix (said as the
            // server says it); else yt-dlp's own line says it best.
            let failure = finished.failed(helper);
            let failure = match ytdlp_error::classify(&finished.stderr, finished.status.code()) {
                Class::Other => failure,
                _ => ytdlp_error::diagnose(failure, &finished.stderr),
            };
            return Err(Error::PlaylistSource(explain(failure)));
        }
        if let Some(lent) = lent {
            lent.keep();
        }
        read(&String::from_utf8_lossy(&finished.stdout)).map_err(|why| {
            let how = How::Unusable {
                why,
                stderr_tail: finished.stderr_tail(),
            };
            Error::PlaylistSource(explain(finished.failure(helper, how)))
        })
    }
}

/// What reading playlists from their sources and keeping MPD's copies
/// need; built once by the composition root.
#[derive(Debug, Clone)]
pub struct Sources {
    pub reader: Reader,
    /// YouTube Music's API, tried first where it can read the same;
    /// `None` when `[youtube] api_url` is empty.
    pub music: Option<Music>,
    /// `None` when `[playlists] mpd_dir` is not set.
    pub files: Option<MpdFiles>,
}

/// `icyproxy playlist sync`: re-reads one imported playlist's source. A
/// failure leaves the playlist as it was.
pub fn sync(sources: &Sources, store: &mut TrackStore, name: &str, url: &str) -> Result<Imported> {
    let listing = read(sources, url)?;
    store_listing(sources, store, Some(name), url, &listing)
}

/// A playlist's listing: a YouTube (Music) playlist through the reader,
/// one request per page with tags (signed when cookies are set: the
/// list may be the account's own); anything else, or where the reader
/// fails, through the playlist command.
pub fn read(sources: &Sources, url: &str) -> Result<FlatPlaylist> {
    let Some((music, id)) = sources.music.as_ref().zip(browsable_list(url)) else {
        return sources.reader.read(url);
    };
    let who = match music.has_cookies() {
        true => Who::Account,
        false => Who::Anyone,
    };
    match music.playlist(id, who, PLAYLIST_LIMIT) {
        Ok(listing) => Ok(listing),
        Err(e) => {
            music.fell_back(&e, "reading the playlist through yt-dlp");
            sources.reader.read(url)
        }
    }
}

/// The id of a YouTube playlist URL's `list=`, when it is one the reader
/// browses as a page (not a radio: those never end).
fn browsable_list(url: &str) -> Option<&str> {
    let host_ok = [
        "https://music.youtube.com/",
        "https://www.youtube.com/",
        "https://youtube.com/",
        "https://m.youtube.com/",
    ]
    .iter()
    .any(|h| url.starts_with(h));
    if !host_ok {
        return None;
    }
    let query = url.split_once('?')?.1.split('#').next().unwrap_or("");
    let id = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("list="))?;
    let kinds = ["PL", "OLAK5uy_", "RDCLAK5uy_", "LM"];
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (valid && kinds.iter().any(|k| id.starts_with(k))).then_some(id)
}

/// Makes the playlist `name` (or, without one, the source's title) exactly
/// the listing's usable entries, created or replaced, and remembers `url`.
pub fn store_listing(
    sources: &Sources,
    store: &mut TrackStore,
    name: Option<&str>,
    url: &str,
    listing: &FlatPlaylist,
) -> Result<Imported> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => name_from_title(&listing.title)?,
    };
    let name = name.as_str();
    let files = &sources.files;
    if let Some(files) = files {
        files.check_ours(name)?;
    }
    let change = store.replace_playlist(name, Some(url), &listing.tracks)?;
    if let Some(files) = files {
        files.write(store, name)?;
    }
    Ok(Imported {
        name: name.to_owned(),
        change,
        unavailable: listing.unavailable,
    })
}

/// The name an import of `listing` gives its playlist: `name`, or else
/// one made from the source's title.
pub fn target_name(name: Option<&str>, listing: &FlatPlaylist) -> Result<String> {
    match name {
        Some(name) => Ok(name.to_owned()),
        None => name_from_title(&listing.title),
    }
}

/// Why importing `url` onto the playlist `name` would lose entries nobody
/// asked to lose: it exists and was made by hand, or imported from another
/// source. `None` when it is new or comes from `url` (then the import is a
/// sync).
pub fn import_conflict(store: &TrackStore, name: &str, url: &str) -> Result<Option<String>> {
    let source = store
        .playlist_sources()?
        .into_iter()
        .find_map(|(n, u)| (n == name).then_some(u));
    let entries = store.playlist(name)?.map_or(0, |e| e.len());
    let why = match source {
        Some(source) if source == url => return Ok(None),
        Some(source) => format!("was imported from another source ({source})"),
        None if entries > 0 => format!("was made by hand ({})", tracks(entries)),
        None => return Ok(None),
    };
    Ok(Some(format!(
        "playlist {name:?} exists and {why}: importing would replace it; give \
         --replace to replace it, or --name NAME to import beside it"
    )))
}

/// Why entries may not be added by hand to the playlist `name`: it is
/// imported, and `sync` makes it exactly its source again. `None` when it
/// is not imported.
pub fn hand_edit_conflict(store: &TrackStore, name: &str) -> Result<Option<String>> {
    let source = store
        .playlist_sources()?
        .into_iter()
        .find_map(|(n, u)| (n == name).then_some(u));
    Ok(source.map(|url| {
        format!(
            "playlist {name:?} is imported from {url}, and `playlist sync` makes it \
             exactly that source again, so entries added here would be lost: add them \
             to the source, or keep them in a playlist of your own \
             (icyproxy playlist add \"{name} extras\" ID...)"
        )
    }))
}

/// A playlist name from a source's title: path separators and a leading
/// dot are replaced, the length is cut to 100 bytes.
pub fn name_from_title(title: &str) -> Result<String> {
    let mut name = crate::catalog::model::one_segment(title)
        .trim_start_matches('.')
        .trim()
        .to_owned();
    while name.len() > 100 {
        name.pop();
    }
    let name = name.trim().to_owned();
    check_playlist_name(&name).map_err(|_| {
        Error::InvalidInput(format!(
            "the playlist's title {title:?} cannot name a playlist: give --name NAME"
        ))
    })?;
    Ok(name)
}

/// The one-line summary of an import:
/// `Road Trip: 48 tracks (3 new), 2 unavailable skipped`.
pub fn import_summary(done: &Imported) -> String {
    let c = &done.change;
    let mut line = format!(
        "{}: {} ({} new)",
        done.name,
        tracks(c.entries),
        c.new_tracks
    );
    if done.unavailable > 0 {
        line.push_str(&format!(", {} unavailable skipped", done.unavailable));
    }
    line
}

/// What a sync changed: `Road Trip: 48 tracks, 3 added, 1 removed, reordered`.
pub fn sync_summary(done: &Imported) -> String {
    let c = &done.change;
    let mut parts = vec![tracks(c.entries)];
    if c.added > 0 {
        parts.push(format!("{} added", c.added));
    }
    if c.removed > 0 {
        parts.push(format!("{} removed", c.removed));
    }
    if c.reordered {
        parts.push("reordered".into());
    }
    if parts.len() == 1 {
        parts.push("unchanged".into());
    }
    if done.unavailable > 0 {
        parts.push(format!("{} unavailable skipped", done.unavailable));
    }
    format!("{}: {}", done.name, parts.join(", "))
}

fn tracks(n: usize) -> String {
    match n {
        1 => "1 track".into(),
        n => format!("{n} tracks"),
    }
}

/// The playlist files in MPD's `playlist_directory`.
#[derive(Debug, Clone)]
pub struct MpdFiles {
    dir: PathBuf,
    base_url: String,
    token: Option<String>,
}

impl MpdFiles {
    /// The files in `dir`, whose entries point at `public` (with the
    /// server's `token`, when set).
    pub fn new(dir: &Path, public: &PublicUrl, token: Option<&str>) -> MpdFiles {
        MpdFiles {
            dir: dir.to_path_buf(),
            base_url: public.base().to_owned(),
            token: token.map(str::to_owned),
        }
    }

    /// The file of playlist `name`; a name that could leave the directory
    /// (`/`, `..`, absolute) is refused, whichever command gave it.
    fn path(&self, name: &str) -> Result<PathBuf> {
        check_playlist_name(name)?;
        Ok(self.dir.join(format!("{name}.m3u")))
    }

    /// Refuses a name whose file exists and was not written by us (or is
    /// not a regular file, or a symlink).
    pub fn check_ours(&self, name: &str) -> Result<()> {
        let path = self.path(name)?;
        match is_ours(&path) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::InvalidInput(format!(
                "{} was not written by icyproxy and is left alone: choose another name \
                 (--name) or move that file",
                path.display()
            ))),
            Err(e) => Err(Error::io(
                format!("cannot read {} (a symlink or not a file?)", path.display()),
                e,
            )
            .with_fix("icyproxy writes only files of its own there: move that one away")),
        }
    }

    /// Writes `name` as MPD reads it (`#EXTINF:secs,Artist - Title` and
    /// `?icy=0` URLs), whole, renamed into place; removes the file when
    /// the playlist is gone.
    pub fn write(&self, store: &TrackStore, name: &str) -> Result<()> {
        self.check_ours(name)?;
        let path = self.path(name)?;
        let Some(entries) = store.playlist(name)? else {
            return match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io(format!("cannot remove {}", path.display()), e)),
            };
        };
        let links = Links {
            base_url: &self.base_url,
            token: self.token.as_deref(),
        };
        let text = playlist::m3u(name, &entries, links);
        let text = match text.strip_prefix("#EXTM3U\n") {
            Some(rest) => format!("#EXTM3U\n{MARKER}\n{rest}"),
            None => format!("{MARKER}\n{text}"),
        };
        // The token is in every URL: then only MPD's group may read it.
        let mode = match self.token {
            Some(_) => files::PRIVATE_MODE,
            None => files::SHARED_MODE,
        };
        files::write_atomic(&path, text.as_bytes(), mode).map_err(|e| {
            Error::io(format!("cannot write {}", path.display()), e)
                .with_fix("check [playlists] mpd_dir")
        })
    }
}

/// Whether `path` is absent or carries our marker near its top; an error
/// for a symlink or anything but a regular file.
fn is_ours(path: &Path) -> std::io::Result<bool> {
    let file = match files::open_existing(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e),
    };
    let mut head = Vec::new();
    file.take(4096).read_to_end(&mut head)?;
    Ok(String::from_utf8_lossy(&head)
        .lines()
        .take(3)
        .any(|l| l == MARKER))
}

/// The server's playlist thread: tags the entries that are only an id at
/// once (see [`BareEntries`]), then, with `every` set, re-reads every
/// imported playlist every `every`, one at a time, and tags again, until
/// `stopping` is set. It uses its own store connection and never holds a
/// stream's worker. A sync failure is logged once per failure streak of a
/// playlist, and its recovery once.
pub fn keep_up(keep: &KeepUp, tracks: &TrackSource, stopping: &AtomicBool, metrics: &Metrics) {
    let files = keep.sources.files.as_ref();
    let mut bare = BareEntries::default();
    let opener = Opener::Thread { read_only: false };
    match opener.open(&keep.store_path) {
        Ok(mut opened) => bare.tag(files, tracks, &mut opened.store, stopping),
        Err(e) => warn!("playlist tags: {e}"),
    }
    let Some(every) = keep.every else {
        return;
    };
    let mut failing: HashSet<String> = HashSet::new();
    while pause(every, stopping) {
        let mut store = match opener.open(&keep.store_path) {
            Ok(opened) => opened.store,
            Err(e) => {
                warn!("playlist sync: {e}");
                continue;
            }
        };
        let sources = match store.playlist_sources() {
            Ok(sources) => sources,
            Err(e) => {
                warn!("playlist sync: {e}");
                continue;
            }
        };
        for (name, url) in sources {
            if stopping.load(Ordering::Relaxed) {
                return;
            }
            let result = sync(&keep.sources, &mut store, &name, &url);
            metrics.playlist_synced(result.is_ok());
            match result {
                Ok(done) => {
                    if failing.remove(&name) {
                        info!("playlist sync works again: {}", sync_summary(&done));
                    } else if done.change.added + done.change.removed > 0 || done.change.reordered {
                        info!("playlist synced: {}", sync_summary(&done));
                    }
                }
                Err(e) => {
                    if failing.insert(name.clone()) {
                        warn!("playlist {name}: sync failed, left as it was: {e}");
                    }
                }
            }
        }
        bare.tag(files, tracks, &mut store, stopping);
    }
}

/// What the playlist thread ([`keep_up`]) works with.
pub struct KeepUp {
    pub sources: Sources,
    pub store_path: PathBuf,
    /// `[playlists] sync_minutes`; `None`: only the bare entries, once.
    pub every: Option<Duration>,
}

/// Playlist entries that are only an id (`playlist add` of an id that was
/// never resolved, which MPD would show as the bare id): the server
/// resolves their tags in the background, in batches of `[resolver]
/// batch_size`, and writes the MPD files of their playlists again. Each id
/// is tried once per run of the server (one that fails is tried again when
/// played); a rate limit stops the round, and what is left waits for the
/// next.
#[derive(Debug, Default)]
pub struct BareEntries {
    tried: HashSet<VideoId>,
}

impl BareEntries {
    /// One round: resolves what is bare and not tried yet.
    pub fn tag(
        &mut self,
        files: Option<&MpdFiles>,
        tracks: &TrackSource,
        store: &mut TrackStore,
        stopping: &AtomicBool,
    ) {
        if !tracks.can_resolve() {
            return;
        }
        let entries = match store.bare_entries() {
            Ok(entries) => entries,
            Err(e) => {
                warn!("playlist tags: {e}");
                return;
            }
        };
        let mut due: Vec<VideoId> = Vec::new();
        for (_, id) in &entries {
            if !self.tried.contains(id) && !due.contains(id) {
                due.push(id.clone());
            }
        }
        if due.is_empty() {
            return;
        }
        info!(
            "playlist tags: resolving {} added to playlists without tags",
            count_ids(due.len())
        );
        let mut tagged: HashSet<VideoId> = HashSet::new();
        for chunk in due.chunks(tracks.batch_size().max(1)) {
            if stopping.load(Ordering::Relaxed) {
                break;
            }
            let mut limited = false;
            for (id, result) in tracks.resolve_batch(chunk, store) {
                match result {
                    Ok(_) => {
                        tagged.insert(id.clone());
                    }
                    Err(e) if ytdlp_error::class_of(&e) == Some(Class::RateLimited) => {
                        warn!("playlist tags: stopped until the next round: {e}");
                        limited = true;
                        continue;
                    }
                    Err(e) => info!("{id}: left without tags in its playlists: {e}"),
                }
                self.tried.insert(id);
            }
            if limited {
                break;
            }
        }
        if let Some(files) = files {
            let mut names: Vec<&String> = entries
                .iter()
                .filter(|(_, id)| tagged.contains(id))
                .map(|(name, _)| name)
                .collect();
            names.dedup();
            for name in names {
                if let Err(e) = files.write(store, name) {
                    warn!("playlist {name}: {e}");
                }
            }
        }
    }
}

fn count_ids(n: usize) -> String {
    match n {
        1 => "1 id".into(),
        n => format!("{n} ids"),
    }
}

/// Waits `every`, looking at `stopping` often; `false` once it is set.
pub fn pause(every: Duration, stopping: &AtomicBool) -> bool {
    let until = Instant::now() + every;
    while Instant::now() < until {
        if stopping.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
    !stopping.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_the_reader_browses() {
        let list = |u| browsable_list(u);
        assert_eq!(
            list("https://music.youtube.com/playlist?list=PLabc_-1"),
            Some("PLabc_-1")
        );
        assert_eq!(
            list("https://www.youtube.com/watch?v=x&list=OLAK5uy_q#t"),
            Some("OLAK5uy_q")
        );
        assert_eq!(
            list("https://music.youtube.com/watch?v=x&list=RDAMVMx"),
            None,
            "a radio"
        );
        assert_eq!(list("http://music.youtube.com/playlist?list=PLx"), None);
        assert_eq!(list("https://example.com/playlist?list=PLx"), None);
        assert_eq!(list("https://music.youtube.com/playlist?list=PL%22"), None);
    }

    #[test]
    fn names_from_titles() {
        assert_eq!(name_from_title("AC/DC: Best").expect("ok"), "AC-DC: Best");
        assert_eq!(name_from_title("  .hidden mix ").expect("ok"), "hidden mix");
        assert_eq!(name_from_title(&"é".repeat(80)).expect("ok").len(), 100);
        assert!(name_from_title("").is_err());
        assert!(name_from_title("...").is_err());
    }

    #[test]
    fn only_web_urls_are_sources() {
        assert!(check_source_url("https://music.youtube.com/playlist?list=PL1").is_ok());
        assert!(check_source_url("HTTP://host/x").is_ok());
        for bad in [
            "",
            "https://",
            "file:///etc/passwd",
            "PLxxxx",
            "https://a b",
            "-o/tmp/x",
        ] {
            assert!(check_source_url(bad).is_err(), "{bad:?}");
        }
    }
}
