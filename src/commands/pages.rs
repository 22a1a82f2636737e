//! `album` and `artist`: YouTube Music's pages, read by the reader,
//! printed as `search` prints and queued or stored as asked.

use std::io::Write;

use super::discover::{Wanted, leads_table, show_listed};
use super::shared::{clean, sources, write_all};
use crate::catalog::discover::reader_off;
use crate::catalog::music::{Music, Who};
use crate::catalog::playlist_source::Sources;
use crate::config::Config;
use crate::error::{Error, Result};

fn reader(sources: &Sources) -> Result<&Music> {
    sources.music.as_ref().ok_or_else(reader_off)
}

/// The id in `text`: itself, or the last path part or `list=` of a URL,
/// when it starts with one of `prefixes`.
pub fn page_id(text: &str, prefixes: &[&str], what: &str) -> Result<String> {
    let text = text.trim();
    let candidates = text
        .split(['/', '?', '&', '#', '='])
        .map(str::trim)
        .filter(|part| !part.is_empty());
    let found = candidates
        .filter(|part| prefixes.iter().any(|p| part.starts_with(p)))
        .find(|part| {
            part.len() <= 64
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    found.map(str::to_owned).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{text:?} is not {what}: give its id ({}…) or its music.youtube.com URL",
            prefixes.join("…, ")
        ))
    })
}

/// `album ID|URL`: the album's songs, tagged with its title and artist.
pub fn album(config: &Config, id: &str, wanted: &Wanted, out: &mut dyn Write) -> Result<()> {
    let id = page_id(id, &["MPREb", "OLAK5uy"], "an album")?;
    let sources = sources(config);
    let music = reader(&sources)?;
    let (heading, tracks) = if id.starts_with("OLAK5uy") {
        let list = music
            .playlist(&id, Who::Anyone, 500)
            .inspect_err(|e| music.failed(e))?;
        (list.title.clone(), list.tracks)
    } else {
        let album = music.album(&id).inspect_err(|e| music.failed(e))?;
        let year = album.year.map(|y| format!(" ({y})")).unwrap_or_default();
        let heading = match album.artist.is_empty() {
            true => format!("{}{year}", album.title),
            false => format!("{} - {}{year}", album.artist, album.title),
        };
        (heading, album.tracks)
    };
    if tracks.is_empty() {
        return Err(Error::NotFound(format!("the album {id} lists no songs")));
    }
    write_all(out, &format!("{}\n", clean(&heading)))?;
    show_listed(config, wanted, tracks, out)
}

/// `artist ID|URL`: the artist's top songs, or with `albums` the albums
/// and singles its page lists.
pub fn artist(
    config: &Config,
    id: &str,
    albums: bool,
    wanted: &Wanted,
    out: &mut dyn Write,
) -> Result<()> {
    let id = page_id(id, &["UC"], "an artist")?;
    let sources = sources(config);
    let music = reader(&sources)?;
    let artist = music.artist(&id).inspect_err(|e| music.failed(e))?;
    write_all(out, &format!("{}\n", clean(&artist.name)))?;
    if !albums {
        if artist.songs.is_empty() {
            return Err(Error::NotFound(format!("the artist {id} lists no songs")));
        }
        return show_listed(config, wanted, artist.songs, out);
    }
    let shown = wanted.limit.min(artist.albums.len());
    write_all(out, &leads_table(&artist.albums[..shown]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_urls_too() {
        let album = |t| page_id(t, &["MPREb", "OLAK5uy"], "an album");
        assert_eq!(album("MPREb_abc").expect("id"), "MPREb_abc");
        assert_eq!(
            album("https://music.youtube.com/browse/MPREb_x1").expect("url"),
            "MPREb_x1"
        );
        assert_eq!(
            album("https://music.youtube.com/playlist?list=OLAK5uy_y2&si=q").expect("list"),
            "OLAK5uy_y2"
        );
        assert!(album("https://example.com/nothing").is_err());
        let artist = page_id(
            "https://music.youtube.com/channel/UCabc?x=1",
            &["UC"],
            "an artist",
        );
        assert_eq!(artist.expect("channel"), "UCabc");
    }
}
