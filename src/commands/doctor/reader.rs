//! Doctor's look at YouTube Music's API: one search, as `search` makes it.

use super::report::Check;
use crate::catalog::music::{Music, Section};
use crate::config::Config;
use crate::error::{Error, MusicFault};

/// A search for `[doctor] probe_query` through the reader, or why not.
pub fn reader(config: &Config) -> Check {
    let Some(music) = Music::new(&config.youtube, config.cookies()) else {
        return Check::ok(
            "reader",
            "off ([youtube] api_url is empty): yt-dlp finds music, one run per search",
        );
    };
    let query = config.doctor.probe_query();
    let url = config.youtube.api_url();
    match music.search_songs(query, Section::Songs, 1) {
        Ok(found) => match found.first() {
            Some(song) => Check::ok(
                "reader",
                format!(
                    "{url} answers: a search for {query:?} found {} ({})",
                    song.tags.display_title(),
                    song.video_id
                ),
            ),
            None => Check::warn(
                "reader",
                format!("{url} answers, but a search for {query:?} found nothing"),
                "set [doctor] probe_query to a song that exists where you are ([youtube] region)",
            ),
        },
        Err(e) => {
            let fix = match &e {
                Error::Music { fault, .. } => fix_for(fault),
                _ => "",
            };
            Check::fail(
                "reader",
                e.to_string(),
                format!(
                    "{fix}search, radio and playlists still work through yt-dlp, more slowly \
                     (or set [youtube] api_url = \"\" to stop trying)"
                ),
            )
        }
    }
}

/// What to do first, by what went wrong.
fn fix_for(fault: &MusicFault) -> &'static str {
    match fault {
        MusicFault::Unreachable(_) | MusicFault::TimedOut => {
            "check this machine's network and DNS (music.youtube.com); "
        }
        MusicFault::Shape(_) | MusicFault::NotJson(_) | MusicFault::TooLarge { .. } => {
            "YouTube changed its answers: update icyproxy; "
        }
        MusicFault::Status { .. } | MusicFault::Unknown(_) | MusicFault::LoggedOut { .. } => "",
    }
}
