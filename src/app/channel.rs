//! Commands sent over MPD's channel `icyproxy` (`mpc sendmessage icyproxy
//! "search daft punk"`), so a client that only speaks MPD can search.
//! The follower hands each message over; one thread (`mpd-commands`) runs
//! them in turn, since yt-dlp takes seconds. A command that fails is
//! logged with its cause; nothing here can stop the follower.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use log::{info, warn};

use crate::catalog::discover::{self, SEARCHES_KEPT, Search, Section};
use crate::catalog::lookup::TrackSource;
use crate::catalog::store::TrackStore;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::mpd::queue::Session;

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
        ("help", _) => Command::Help,
        _ => Command::Unknown(text.to_owned()),
    }
}

/// The commands, as `help` logs them.
pub const HELP: &str = "MPD channel icyproxy understands: \"search QUERY\" (the songs found \
                        become the stored playlist \"Search: QUERY\"), \"add QUERY\" (the first \
                        song found is appended to the queue), \"help\"";

/// What the command thread needs.
pub struct Commands {
    /// With the port the server really listens on.
    pub config: Config,
    pub tracks: Arc<TrackSource>,
    pub session: Session,
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
        let mut store: Option<TrackStore> = None;
        while !stopping.load(Ordering::Relaxed) {
            let text = match messages.recv_timeout(TICK) {
                Ok(text) => text,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let store = match &mut store {
                Some(store) => store,
                None => match TrackStore::open(&self.config.db_path) {
                    Ok(opened) => store.insert(opened),
                    Err(e) => {
                        warn!("MPD channel: {text:?} not run: {e}");
                        continue;
                    }
                },
            };
            if let Err(e) = self.handle(store, &text) {
                warn!("MPD channel: {text:?} failed: {e}");
            }
        }
    }

    fn handle(&self, store: &mut TrackStore, text: &str) -> Result<()> {
        match parse(text) {
            Command::Search(query) => self.search(store, &query),
            Command::Add(query) => self.add(store, &query),
            Command::Help => {
                info!("{HELP}");
                Ok(())
            }
            Command::Unknown(text) => {
                warn!("MPD channel: unknown command {text:?}; {HELP}");
                Ok(())
            }
        }
    }

    fn search(&self, store: &mut TrackStore, query: &str) -> Result<()> {
        let name = discover::search_playlist_name(query)?;
        let found = self.find(store, query, SEARCH_LIMIT)?;
        discover::store_search(&self.config, store, &name, &found)?;
        let place = match self.config.mpd_dir {
            Some(_) => "in MPD's playlists",
            None => "served at /playlists/ (set [playlists] mpd_dir for `mpc lsplaylists`)",
        };
        info!(
            "MPD channel: search {query:?}: {} songs as the playlist {name:?} {place}; the newest \
             {SEARCHES_KEPT} searches are kept",
            found.len()
        );
        Ok(())
    }

    fn add(&self, store: &mut TrackStore, query: &str) -> Result<()> {
        let found = self.find(store, query, 1)?;
        let Some(first) = found.first() else {
            return Err(Error::NotFound(format!("no song found for {query:?}")));
        };
        let song = super::queue_song(&self.config, first);
        self.session.append(std::slice::from_ref(&song), false)?;
        info!(
            "MPD channel: add {query:?}: appended {} ({})",
            first.tags.display_title(),
            first.video_id
        );
        Ok(())
    }

    fn find(
        &self,
        store: &mut TrackStore,
        query: &str,
        limit: usize,
    ) -> Result<Vec<crate::catalog::store::Track>> {
        let search = Search {
            query,
            limit,
            section: Section::Songs,
        };
        discover::search(&self.config, &self.tracks, store, &search)
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
        assert_eq!(parse("search"), Command::Unknown("search".into()));
        assert_eq!(parse("dance"), Command::Unknown("dance".into()));
    }
}
