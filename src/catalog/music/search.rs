//! `search`: YouTube Music's search box, one section at a time (a filter
//! `params` per section, as the web client sends them), on past the
//! first page through the shelf's continuations.

use serde_json::{Map, Value, json};

use crate::catalog::model::ListedTrack;
use crate::catalog::music::client::{Api, Who};
use crate::catalog::music::json::{self, get};
use crate::catalog::music::pages::{self, Page};
use crate::catalog::music::rows::{self, Lead};
use crate::catalog::tags::Tags;
use crate::error::{Error, MusicFault, Result};

/// A section of the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Songs,
    Videos,
    Albums,
    Artists,
    Playlists,
}

impl Section {
    /// The filter the web client sends for this section (spelling
    /// corrected, as its search box does).
    pub fn params(self) -> &'static str {
        match self {
            Section::Songs => "EgWKAQIIAWoMEA4QChADEAQQCRAF",
            Section::Videos => "EgWKAQIQAWoMEA4QChADEAQQCRAF",
            Section::Albums => "EgWKAQIYAWoMEA4QChADEAQQCRAF",
            Section::Artists => "EgWKAQIgAWoMEA4QChADEAQQCRAF",
            Section::Playlists => "Eg-KAQwIABAAGAAgACgBMABqChAEEAMQCRAFEAo%3D",
        }
    }

    /// Whether its rows are songs (to play) rather than pages.
    pub fn lists_songs(self) -> bool {
        matches!(self, Section::Songs | Section::Videos)
    }
}

/// Where a search answer's shelves are, by layout.
const SHELVES: [&str; 2] = [
    "contents.tabbedSearchResultsRenderer.tabs.0.tabRenderer.content.sectionListRenderer.contents",
    "contents.sectionListRenderer.contents",
];

/// The songs found for `query` in `section` (songs or videos), up to `limit`.
pub fn songs(api: &Api, query: &str, section: Section, limit: usize) -> Result<Vec<ListedTrack>> {
    rows_of(api, query, section, limit, |row| {
        rows::list_song(row, &Tags::default())
    })
}

/// The albums, artists or playlists found for `query`, up to `limit`.
pub fn leads(api: &Api, query: &str, section: Section, limit: usize) -> Result<Vec<Lead>> {
    rows_of(api, query, section, limit, rows::list_lead)
}

fn rows_of<T>(
    api: &Api,
    query: &str,
    section: Section,
    limit: usize,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<T>> {
    let mut fields = Map::new();
    fields.insert("query".into(), json!(query.trim()));
    fields.insert("params".into(), json!(section.params()));
    let ask = pages::ask("search", "search", Who::Anyone);
    let mut shaped = 0usize;
    let found = pages::collect(
        api,
        &ask,
        &fields,
        first_page,
        |item| {
            let row = get(item, "musicResponsiveListItemRenderer")?;
            shaped += 1;
            read(row)
        },
        limit,
    )?;
    if found.is_empty() && shaped > 0 {
        return Err(shape(format!(
            "{shaped} rows, none with a video id and title under \
             musicShelfRenderer.contents.N.musicResponsiveListItemRenderer"
        )));
    }
    Ok(found)
}

/// The first answer's song shelf: the `musicShelfRenderer` of its
/// section list; none, with a message in its place, is no result.
pub fn first_page(answer: &Value) -> Result<Page<'_>> {
    let shelves = SHELVES.iter().find_map(|p| get(answer, p)).ok_or_else(|| {
        let place = json::need(answer, "", SHELVES[0]).err().unwrap_or_default();
        shape(place)
    })?;
    let list = json::items(shelves, "");
    let shelf = list.iter().find_map(|s| get(s, "musicShelfRenderer"));
    match shelf {
        Some(shelf) => Ok(Page {
            items: json::items(shelf, "contents"),
            next: pages::query_token(shelf),
        }),
        // "No results" comes as a message, not a shelf.
        None if list.iter().any(|s| get(s, "itemSectionRenderer").is_some()) => Ok(Page::default()),
        None => Err(shape(format!("no musicShelfRenderer under {}", SHELVES[0]))),
    }
}

fn shape(path: String) -> Error {
    Error::Music {
        call: "search".into(),
        fault: MusicFault::Shape(path),
    }
}
