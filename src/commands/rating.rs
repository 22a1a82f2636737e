//! `like`, `dislike` and `unlike`: a song's rating on YouTube Music, for
//! the account of the cookies, through the reader.

use std::io::Write;

use super::discover::seed_id;
use super::shared::{say, sources};
use crate::app::entries::QueueEntries;
use crate::catalog::discover::reader_off;
use crate::catalog::music::Rating;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::video_id::VideoId;

/// Rates `song` (an id or URL), or with `current` MPD's current song.
pub fn rate(
    config: &Config,
    song: Option<&str>,
    current: bool,
    rating: Rating,
    out: &mut dyn Write,
) -> Result<()> {
    let id = match (song, current) {
        (Some(text), _) => seed_id(text)?,
        (None, true) => current_song(config)?,
        (None, false) => {
            return Err(Error::InvalidInput(
                "give a video id, a URL or --current".into(),
            ));
        }
    };
    let sources = sources(config);
    let music = sources.music.as_ref().ok_or_else(reader_off)?;
    music.rate(&id, rating).inspect_err(|e| music.failed(e))?;
    let done = match rating {
        Rating::Like => "liked",
        Rating::Dislike => "disliked",
        Rating::Indifferent => "neither liked nor disliked now",
    };
    say(out, &format!("{id}: {done} on YouTube Music"))
}

/// MPD's current song, when it is one of icyproxy's.
fn current_song(config: &Config) -> Result<VideoId> {
    let session = config.mpd.session().ok_or_else(|| {
        Error::InvalidInput("--current needs MPD: set [mpd] address in proxy.toml".into())
    })?;
    let entries = QueueEntries::of(config, None);
    session
        .current()?
        .as_deref()
        .and_then(|file| entries.id_of(file))
        .ok_or_else(|| {
            Error::InvalidInput(
                "MPD's current song is not one of icyproxy's (or none plays): give an id".into(),
            )
        })
}
