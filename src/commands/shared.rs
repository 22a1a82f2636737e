//! What every command uses: the track store opened by the one policy,
//! ids as a user gives them, MPD's playlist files kept in step, and the
//! output's lines.

use std::io::Write;

use crate::app::root;
use crate::catalog::playlist_source::Sources;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::{Need, Opener};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::video_id::VideoId;

/// Opens the track store for a command (not for `serve`), as
/// [`Opener::Command`] decides, saying so when it creates a new one.
pub fn open_store(config: &Config, need: Need) -> Result<TrackStore> {
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
pub fn parse_id(text: &str) -> Result<VideoId> {
    VideoId::from_user_or_explain(text)
}

pub fn parse_ids(texts: &[String]) -> Result<Vec<VideoId>> {
    texts.iter().map(|t| parse_id(t)).collect()
}

/// Runs `change` on playlist `name` and brings its file in
/// `[playlists] mpd_dir` up to date; a file there that icyproxy did not
/// write stops the change before it is made.
pub fn changing_mpd_file<T>(
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
pub fn sources(config: &Config) -> Sources {
    root::sources(config, &config.public_url(None))
}

/// Says on stderr that the reader failed and yt-dlp was asked instead
/// (a command's log is off: its output is the table).
pub fn say_fallback(sources: &Sources) {
    let said = sources
        .music
        .as_ref()
        .and_then(|m| m.health().state().last_fallback);
    if let Some(said) = said {
        eprintln!("icyproxy: {said}");
    }
}

/// A value made safe for one tab-separated field: another program may
/// have stored anything.
pub fn clean(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// `1 track`, `2 tracks`: counts users read.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn say(out: &mut dyn Write, line: &str) -> Result<()> {
    write_all(out, &format!("{line}\n"))
}

pub fn write_all(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write output", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_well() {
        assert_eq!(count(1, "track", "tracks"), "1 track");
        assert_eq!(count(0, "track", "tracks"), "0 tracks");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }
}
