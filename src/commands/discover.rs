//! Finding songs: `search`, `radio` and `library sync`; what they find
//! is printed as a table and, as asked, queued in MPD or stored as a
//! playlist.

use std::io::Write;

use super::shared::{
    changing_mpd_file, clean, count, open_store, parse_id, say, say_fallback, sources, write_all,
};
use crate::app::entries::QueueEntries;
use crate::app::root;
use crate::catalog::discover::{self, Search, Section};
use crate::catalog::model::Track;
use crate::catalog::playlist_source;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::Need;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::mpd::queue::Session;
use crate::video_id::VideoId;

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
    pub section: Section,
    pub wanted: Wanted,
}

/// `search QUERY`: YouTube Music's search, printed as a numbered table
/// (position, Artist - Title, duration, id); the songs are stored with
/// their tags, and appended to MPD's queue, played or stored as a
/// playlist as asked.
pub fn search(config: &Config, args: &SearchArgs, out: &mut dyn Write) -> Result<()> {
    let wanted = &args.wanted;
    wanted.check()?;
    if !args.section.lists_songs() {
        return search_leads(config, args, out);
    }
    let session = queue_session(config, wanted.queues())?;
    let mut store = open_store(config, Need::Write)?;
    let source = root::track_source(config, std::sync::Arc::new(Metrics::default()));
    let search = Search {
        query: &args.query,
        limit: wanted.limit,
        section: args.section,
    };
    let sources = sources(config);
    let found = discover::search(&sources, &source, &mut store, &search);
    say_fallback(&sources);
    let found = found?;
    if found.is_empty() {
        return Err(Error::NotFound(format!(
            "nothing found for {:?}",
            args.query
        )));
    }
    write_all(out, &results_table(&found))?;
    Deliver::as_asked(session.as_ref(), wanted).found(config, &mut store, &found, out)
}

/// `search --albums/--artists/--playlists`: what the reader finds, as a
/// table of title, byline and the id to go on with.
fn search_leads(config: &Config, args: &SearchArgs, out: &mut dyn Write) -> Result<()> {
    let wanted = &args.wanted;
    if wanted.queues() || wanted.playlist.is_some() {
        return Err(Error::InvalidInput(
            "--add, --play and --playlist take songs: give the id found to `album`, `artist` \
             or `playlist import`"
                .into(),
        ));
    }
    let leads = discover::search_leads(&sources(config), &args.query, args.section, wanted.limit)?;
    if leads.is_empty() {
        return Err(Error::NotFound(format!(
            "nothing found for {:?}",
            args.query
        )));
    }
    write_all(out, &leads_table(&leads))
}

/// Albums, artists or playlists as a numbered table: position, title,
/// byline, the id to go on with.
pub(super) fn leads_table(leads: &[crate::catalog::music::rows::Lead]) -> String {
    let mut table = String::new();
    for (n, lead) in leads.iter().enumerate() {
        table.push_str(&format!(
            "{:>3}  {}  {}  {}\n",
            n + 1,
            clean(&lead.title),
            clean(&lead.subtitle),
            lead.browse_id
        ));
    }
    table
}

/// Songs the reader listed (an album's, an artist's): stored with their
/// tags, printed as `search` prints, and queued, played or stored as a
/// playlist as asked.
pub(super) fn show_listed(
    config: &Config,
    wanted: &Wanted,
    listed: Vec<crate::catalog::model::ListedTrack>,
    out: &mut dyn Write,
) -> Result<()> {
    wanted.check()?;
    let session = queue_session(config, wanted.queues())?;
    let mut store = open_store(config, Need::Write)?;
    let source = root::track_source(config, std::sync::Arc::new(Metrics::default()));
    let mut listed = listed;
    listed.truncate(wanted.limit);
    let listing = discover::listing_of(listed);
    let found = discover::store_found(&source, &mut store, &listing)?;
    write_all(out, &results_table(&found))?;
    Deliver::as_asked(session.as_ref(), wanted).found(config, &mut store, &found, out)
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
    let sources = sources(config);
    let found = discover::radio(&sources, &source, &mut store, &ask);
    say_fallback(&sources);
    let found = found?;
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
pub(super) fn seed_id(text: &str) -> Result<VideoId> {
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

impl<'a> Deliver<'a> {
    /// Where `wanted` puts found songs, queued through `session`.
    fn as_asked(session: Option<&'a Session>, wanted: &'a Wanted) -> Deliver<'a> {
        Deliver {
            session,
            playlist: wanted.playlist.as_deref(),
            play: wanted.play,
        }
    }

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
    let sources = sources(config);
    let report = crate::catalog::library::sync_library(&sources, &mut store);
    say_fallback(&sources);
    let report = report?;
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
    if let Some(why) = &report.kept {
        eprintln!("icyproxy: {why}");
    }
    match report.failed.len() {
        0 => Ok(()),
        n => Err(Error::io_msg(format!(
            "{} of your library failed to sync",
            count(n, "playlist", "playlists")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
