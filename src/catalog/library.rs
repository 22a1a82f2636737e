//! `library sync`: the account's liked songs, its playlists and the home
//! page's mixes made for it, kept as icyproxy playlists (and files in
//! `mpd_dir`). Read through the reader when it can, else through yt-dlp.
//! A sync never loses what a user has: a feed that comes back empty or
//! shrunk by more than half removes nothing, a listing with no songs
//! leaves its playlist as it was, a name already taken (one of the user's
//! own, or another list of the same title) is never overwritten.

use crate::catalog::cookies::Cookies;
use crate::catalog::discover::{
    FEED_URL, LIBRARY, LIKED_NAME, LIKED_URL, NEEDS_COOKIES, logged_out, remove_playlist,
};
use crate::catalog::music::browse::PLAYLIST_LIMIT;
use crate::catalog::music::{Music, Who};
use crate::catalog::playlist_source::{self, Imported, Sources};
use crate::catalog::store::TrackStore;
use crate::catalog::ytdlp::flat::{self, FlatPlaylist};
use crate::error::{Error, MusicFault, Result};

/// What a library sync did.
#[derive(Debug, Default)]
pub struct LibrarySync {
    /// Each playlist read, as a sync tells it.
    pub synced: Vec<Imported>,
    /// Playlists made from the library that it no longer has: removed.
    pub removed: Vec<String>,
    /// Playlists left alone: a name taken by a playlist of the user's.
    pub skipped: Vec<String>,
    /// Playlists that could not be read (left as they were), with why.
    pub failed: Vec<(String, Error)>,
    /// Why nothing was removed although the library no longer lists some.
    pub kept: Option<String>,
}

/// One list of the library as read: its title, its source URL, and its songs.
struct Listed {
    title: String,
    url: String,
    songs: Result<FlatPlaylist>,
}

/// Syncs the library (see the module notes). An `Err` when nothing could
/// be read: the liked songs or the list of playlists.
pub fn sync_library(sources: &Sources, store: &mut TrackStore) -> Result<LibrarySync> {
    let Some(cookies) = sources.reader.cookies().cloned() else {
        return Err(Error::InvalidInput(NEEDS_COOKIES.into()));
    };
    let lists = match sources.music.as_ref().filter(|m| m.has_cookies()) {
        Some(music) => match by_reader(music) {
            Ok(lists) => lists,
            Err(
                e @ Error::Music {
                    fault: MusicFault::LoggedOut { .. },
                    ..
                },
            ) => {
                music.failed(&e);
                return Err(e);
            }
            Err(e) => {
                music.fell_back(&e, "reading the library through yt-dlp");
                by_ytdlp(sources, &cookies)?
            }
        },
        None => by_ytdlp(sources, &cookies)?,
    };
    apply(sources, store, lists)
}

/// The liked songs, the playlists and the mixes, through the reader.
fn by_reader(music: &Music) -> Result<Vec<Listed>> {
    let mut lists = vec![Listed {
        title: LIKED_NAME.into(),
        url: LIKED_URL.into(),
        songs: Ok(music.playlist("LM", Who::Account, PLAYLIST_LIMIT)?),
    }];
    for lead in music.library_playlists()? {
        let id = lead.browse_id.trim_start_matches("VL");
        // Liked music is read above; "liked videos" and "watch later" are
        // YouTube's, not music.
        if matches!(id, "LM" | "LL" | "WL") || lead.browse_id.len() < 4 {
            continue;
        }
        lists.push(Listed {
            title: lead.title.clone(),
            url: format!("https://music.youtube.com/playlist?list={id}"),
            songs: music.playlist(id, Who::Account, PLAYLIST_LIMIT),
        });
    }
    // Mixes are a bonus: a home page that cannot be read fails nothing.
    match music.home_mixes() {
        Ok(mixes) => {
            for mix in mixes {
                let Some(id) = mix.playlist_id else { continue };
                let songs = music.mix(&id, 100).map(|tracks| FlatPlaylist {
                    title: mix.title.clone(),
                    tracks,
                    unavailable: 0,
                });
                lists.push(Listed {
                    title: mix.title,
                    url: format!("https://music.youtube.com/playlist?list={id}"),
                    songs,
                });
            }
        }
        Err(e) => music.failed(&e),
    }
    Ok(lists)
}

/// The liked songs and the playlists, through yt-dlp (no mixes: yt-dlp
/// does not list the home page).
fn by_ytdlp(sources: &Sources, cookies: &Cookies) -> Result<Vec<Listed>> {
    let reader = &sources.reader;
    let liked = reader.read(LIKED_URL).map_err(|e| logged_out(e, cookies))?;
    let mut lists = vec![Listed {
        title: LIKED_NAME.into(),
        url: LIKED_URL.into(),
        songs: Ok(liked),
    }];
    let feed = reader
        .run_then(FEED_URL, None, flat::listed_playlists)
        .map_err(|e| logged_out(e, cookies))?;
    for list in feed {
        let songs = reader.read(&list.url);
        lists.push(Listed {
            title: list.title,
            url: list.url,
            songs,
        });
    }
    Ok(lists)
}

/// Stores what was read, under names that never collide, and removes the
/// library's playlists it no longer lists, unless the feed shrank too much.
fn apply(sources: &Sources, store: &mut TrackStore, lists: Vec<Listed>) -> Result<LibrarySync> {
    let mut report = LibrarySync::default();
    let before = store.playlists_from(LIBRARY)?;
    let mut seen: Vec<String> = Vec::new();
    for list in lists {
        let name = match list.title.as_str() {
            LIKED_NAME if seen.is_empty() => LIKED_NAME.to_owned(),
            title => match playlist_source::name_from_title(title) {
                Ok(name) => unused_name(&name, &seen),
                Err(e) => {
                    report.failed.push((list.title.clone(), e));
                    continue;
                }
            },
        };
        seen.push(name.clone());
        let taken =
            store.origin(&name)?.is_none_or(|o| o != LIBRARY) && store.playlist(&name)?.is_some();
        if taken {
            report.skipped.push(name);
            continue;
        }
        match list.songs {
            Ok(listing) if listing.tracks.is_empty() && has_entries(store, &name)? => {
                report.failed.push((
                    name,
                    Error::io_msg("YouTube listed no songs for it this time".to_owned()),
                ));
            }
            Ok(listing) => {
                let done = playlist_source::store_listing(
                    sources,
                    store,
                    Some(&name),
                    &list.url,
                    &listing,
                )?;
                store.set_origin(&name, LIBRARY)?;
                report.synced.push(done);
            }
            Err(e) => report.failed.push((name, e)),
        }
    }
    let gone: Vec<String> = before
        .iter()
        .filter(|n| !seen.contains(n))
        .cloned()
        .collect();
    let listed = seen.len().saturating_sub(1);
    let had = before.iter().filter(|n| n.as_str() != LIKED_NAME).count();
    if !gone.is_empty() && listed * 2 < had {
        report.kept = Some(format!(
            "your library listed {listed} playlists, fewer than half of the {had} it had: \
             none removed (if you did delete them, run library sync again after checking \
             on music.youtube.com)"
        ));
        return Ok(report);
    }
    for name in gone {
        remove_playlist(sources.files.as_ref(), store, &name)?;
        report.removed.push(name);
    }
    Ok(report)
}

/// `name`, or `name (2)`, `name (3)`, … when this sync already used it.
fn unused_name(name: &str, seen: &[String]) -> String {
    let mut candidate = name.to_owned();
    let mut n = 2;
    while seen.iter().any(|s| s == &candidate) {
        candidate = format!("{name} ({n})");
        n += 1;
    }
    candidate
}

fn has_entries(store: &TrackStore, name: &str) -> Result<bool> {
    Ok(store
        .playlist(name)?
        .is_some_and(|entries| !entries.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_used_in_one_sync_get_a_number() {
        let seen = vec![
            "Liked songs".to_owned(),
            "Mix".to_owned(),
            "Mix (2)".to_owned(),
        ];
        assert_eq!(unused_name("Liked songs", &seen), "Liked songs (2)");
        assert_eq!(unused_name("Mix", &seen), "Mix (3)");
        assert_eq!(unused_name("Other", &seen), "Other");
    }
}
