//! Commands sent over MPD's channel `icyproxy` (`mpc sendmessage icyproxy
//! "search daft punk"`), so a client that only speaks MPD can search.
//! The follower hands each message over; one thread (`mpd-commands`) runs
//! them in turn, since yt-dlp takes seconds. What each command did, or
//! why it failed, is logged and answered on the channel `icyproxy-reply`
//! (for a client subscribed to it); nothing here can stop the follower.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use log::{info, warn};

use super::autoplay::{AutoplayStatus, Radio};
use super::budget::MinuteBudget;
use crate::catalog::discover::{self, SEARCHES_KEPT, Search, Section};
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::LazyStore;
use crate::error::{Error, Result};

/// Messages waiting beyond this are dropped (and said so).
const QUEUED: usize = 16;
/// Songs a `search` from the channel lists.
const SEARCH_LIMIT: usize = 10;
/// How often the idle thread looks at the stop flag.
const TICK: Duration = Duration::from_millis(200);

/// A command read from the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `search QUERY`: the results as the stored playlist "Search: QUERY".
    Search(String),
    /// `add QUERY`: the first song found appended to the queue.
    Add(String),
    /// `radio`: the radio of the current song appended to the queue.
    Radio,
    /// `autoplay on` / `autoplay off`.
    Autoplay(bool),
    /// `help`: the commands, in the log.
    Help,
    /// Anything else (the text).
    Unknown(String),
}

/// The command a message asks for: its first word (any case), then the
/// rest of the text.
pub fn parse(text: &str) -> Command {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim().to_owned();
    match (word.to_ascii_lowercase().as_str(), rest.is_empty()) {
        ("search", false) => Command::Search(rest),
        ("add", false) => Command::Add(rest),
        ("radio", true) => Command::Radio,
        ("autoplay", false) if rest.eq_ignore_ascii_case("on") => Command::Autoplay(true),
        ("autoplay", false) if rest.eq_ignore_ascii_case("off") => Command::Autoplay(false),
        ("help", _) => Command::Help,
        _ => Command::Unknown(text.to_owned()),
    }
}

impl Command {
    /// Whether running it asks YouTube (yt-dlp with the owner's cookies).
    pub fn reaches_youtube(&self) -> bool {
        matches!(self, Command::Search(_) | Command::Add(_) | Command::Radio)
    }
}

/// The commands, as `help` logs them.
pub const HELP: &str = "MPD channel icyproxy understands: \"search QUERY\" (the songs found \
                        become the stored playlist \"Search: QUERY\"), \"add QUERY\" (the first \
                        song found is appended to the queue), \"radio\" (the radio of the current song \
                        appended to the queue), \"autoplay on\", \"autoplay off\", \"help\"";

/// What the command thread needs.
pub struct Commands {
    /// The config (with the port the server really listens on), the
    /// tracks and MPD's session.
    pub radio: Radio,
    /// Autoplay's switch.
    pub autoplay: Arc<AutoplayStatus>,
}

/// Starts the `mpd-commands` thread; messages sent to the returned
/// sender are run in turn. It ends when `stopping` is set.
pub fn start(commands: Commands, stopping: Arc<AtomicBool>) -> Result<Sender<String>> {
    let (tx, rx) = bounded(QUEUED);
    thread::Builder::new()
        .name("mpd-commands".into())
        .spawn(move || commands.run(&rx, &stopping))
        .map_err(|e| Error::io("cannot start the MPD command thread", e))?;
    Ok(tx)
}

/// Hands a message to the thread; a full queue drops it, said in the log.
pub fn hand_over(sender: &Sender<String>, text: String) {
    if let Err(TrySendError::Full(text)) = sender.try_send(text) {
        warn!(
            "MPD channel {}: too many commands waiting, {text:?} dropped",
            crate::mpd::CHANNEL
        );
    }
}

impl Commands {
    fn run(self, messages: &Receiver<String>, stopping: &AtomicBool) {
        let mut lazy = LazyStore::new(&self.radio.store_path, false);
        let mut budget = MinuteBudget::new(
            self.radio.mpd.channel_per_minute,
            "[mpd] channel_per_minute",
        );
        while !stopping.load(Ordering::Relaxed) {
            let text = match messages.recv_timeout(TICK) {
                Ok(text) => text,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            if parse(&text).reaches_youtube() && !budget.take(Instant::now()) {
                let why = budget.refused("MPD channel", &format!("{text:?} dropped"));
                self.reply(&why);
                continue;
            }
            let store = match lazy.get() {
                Ok(store) => store,
                Err(e) => {
                    warn!("MPD channel: {text:?} not run: {e}");
                    self.reply(&format!("{text:?} not run: {e}"));
                    continue;
                }
            };
            match self.handle(store, &text) {
                Ok(said) => {
                    info!("MPD channel: {said}");
                    self.reply(&said);
                }
                Err(e) => {
                    warn!("MPD channel: {text:?} failed: {e}");
                    self.reply(&format!("{text:?} failed: {e}"));
                }
            }
        }
    }

    /// Answers on the reply channel; nobody listening there is fine.
    fn reply(&self, text: &str) {
        let sent = self
            .radio
            .session
            .send_message(crate::mpd::REPLY_CHANNEL, text);
        if let Err(e) = sent {
            log::debug!(
                "MPD channel: no answer on {}: {e}",
                crate::mpd::REPLY_CHANNEL
            );
        }
    }

    /// Runs one command: what it did, in a line.
    fn handle(&self, store: &mut TrackStore, text: &str) -> Result<String> {
        match parse(text) {
            Command::Search(query) => self.search(store, &query),
            Command::Add(query) => self.add(store, &query),
            Command::Radio => self.radio(store),
            Command::Autoplay(on) => {
                self.autoplay.set_on(on);
                Ok(format!("autoplay is {} now", if on { "on" } else { "off" }))
            }
            Command::Help => Ok(HELP.to_owned()),
            Command::Unknown(text) => Err(Error::InvalidInput(format!(
                "unknown command {text:?}; {HELP}"
            ))),
        }
    }

    /// Appends the radio of the current song (a song of this proxy).
    fn radio(&self, store: &mut TrackStore) -> Result<String> {
        let entries = &self.radio.entries;
        let current = self.radio.session.current()?;
        let seed = current
            .as_deref()
            .and_then(|f| entries.id_of(f))
            .ok_or_else(|| {
                Error::InvalidInput("radio: the current song is not one of icyproxy's".into())
            })?;
        let mut skip: HashSet<String> = store.history()?.into_iter().collect();
        for entry in self.radio.session.queue()? {
            if let Some(id) = entries.id_of(&entry.file) {
                skip.insert(id.to_string());
            }
        }
        let songs = self
            .radio
            .append(store, &seed, self.radio.mpd.autoplay_batch, &skip)?;
        Ok(format!(
            "radio: appended {} songs from the radio of {seed}",
            songs.len()
        ))
    }

    fn search(&self, store: &mut TrackStore, query: &str) -> Result<String> {
        let name = discover::search_playlist_name(query)?;
        let found = self.find(store, query, SEARCH_LIMIT)?;
        discover::store_search(&self.radio.sources, store, &name, &found)?;
        let place = match self.radio.sources.files {
            Some(_) => "in MPD's playlists",
            None => "served at /playlists/ (set [playlists] mpd_dir for `mpc lsplaylists`)",
        };
        Ok(format!(
            "search {query:?}: {} songs as the playlist {name:?} {place}; the newest \
             {SEARCHES_KEPT} searches are kept",
            found.len()
        ))
    }

    fn add(&self, store: &mut TrackStore, query: &str) -> Result<String> {
        let found = self.find(store, query, 1)?;
        let Some(first) = found.first() else {
            return Err(Error::NotFound(format!("no song found for {query:?}")));
        };
        let song = self.radio.entries.song(first);
        self.radio
            .session
            .append(std::slice::from_ref(&song), false)?;
        Ok(format!(
            "add {query:?}: appended {} ({})",
            first.tags.display_title(),
            first.video_id
        ))
    }

    fn find(
        &self,
        store: &mut TrackStore,
        query: &str,
        limit: usize,
    ) -> Result<Vec<crate::catalog::model::Track>> {
        let search = Search {
            query,
            limit,
            section: Section::Songs,
        };
        discover::search(&self.radio.sources, &self.radio.tracks, store, &search)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_from_the_first_word() {
        assert_eq!(
            parse("search daft punk"),
            Command::Search("daft punk".into())
        );
        assert_eq!(
            parse("  SEARCH   daft  punk "),
            Command::Search("daft  punk".into())
        );
        assert_eq!(
            parse("add one more time"),
            Command::Add("one more time".into())
        );
        assert_eq!(parse("help"), Command::Help);
        assert_eq!(parse("radio"), Command::Radio);
        assert_eq!(parse("autoplay OFF"), Command::Autoplay(false));
        assert_eq!(parse("autoplay on"), Command::Autoplay(true));
        assert_eq!(
            parse("autoplay maybe"),
            Command::Unknown("autoplay maybe".into())
        );
        assert_eq!(parse("search"), Command::Unknown("search".into()));
        assert_eq!(parse("dance"), Command::Unknown("dance".into()));
    }
}
