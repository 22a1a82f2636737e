//! Every reader of an answer, run on bytes with no request: what the fuzz
//! target (`fuzz/fuzz_targets/reader.rs`) and the parse bench feed. Any
//! input gives a count or a typed error, never a panic.

use serde_json::Value;

use crate::catalog::music::json::get;
use crate::catalog::music::pages::{self, Page};
use crate::catalog::music::{browse, rows, search, watch};
use crate::catalog::tags::Tags;
use crate::error::{Error, MusicFault, Result};

/// The songs and pages every reader finds in `bytes` (an answer of any
/// call), added up; an error only when the bytes are not JSON.
pub fn read_all(bytes: &[u8]) -> Result<usize> {
    if bytes.len() as u64 > crate::catalog::music::client::ANSWER_LIMIT {
        return Err(not_read(MusicFault::TooLarge {
            limit: crate::catalog::music::client::ANSWER_LIMIT,
        }));
    }
    let answer: Value =
        serde_json::from_slice(bytes).map_err(|e| not_read(MusicFault::NotJson(e.to_string())))?;
    let none = Tags::default();
    let songs = |page: Result<Page<'_>>| {
        page.map_or(0, |p| {
            p.items
                .iter()
                .filter_map(|i| get(i, "musicResponsiveListItemRenderer"))
                .filter_map(|row| {
                    rows::list_song(row, &none)
                        .map(|_| ())
                        .or(rows::list_lead(row).map(|_| ()))
                })
                .count()
        })
    };
    let mut found = songs(search::first_page(&answer));
    found += songs(browse::playlist_first_page(&answer));
    found += watch::first_page("radio", &answer)
        .map_or(0, |p| p.items.iter().filter_map(rows::queue_song).count());
    found += browse::grid_first_page("library", &answer).map_or(0, |p| {
        p.items
            .iter()
            .filter_map(|i| get(i, "musicTwoRowItemRenderer"))
            .filter_map(rows::tile_lead)
            .count()
    });
    found += browse::album_of(&answer).map_or(0, |a| a.tracks.len());
    found += browse::artist_of(&answer).map_or(0, |a| a.songs.len() + a.albums.len());
    let more = pages::continued(&answer);
    found += more.items.iter().filter_map(rows::queue_song).count();
    found += more
        .items
        .iter()
        .filter_map(|i| get(i, "musicResponsiveListItemRenderer"))
        .filter_map(|row| rows::list_song(row, &none))
        .count();
    Ok(found)
}

fn not_read(fault: MusicFault) -> Error {
    Error::Music {
        call: "answer".into(),
        fault,
    }
}
