//! `browse`: YouTube Music's pages: an album (`MPREb…`), an artist
//! (`UC…`), a playlist (`VL…`, on through its continuations), and the
//! account's library (its playlists, saved albums, the home page's mixes).
//! Each page is read in the two layouts YouTube serves (one column, two
//! columns); the first that is there counts.

use serde_json::{Map, Value, json};

use crate::catalog::model::ListedTrack;
use crate::catalog::music::client::{Api, Who};
use crate::catalog::music::json::{self, get, text};
use crate::catalog::music::pages::{self, Page};
use crate::catalog::music::rows::{self, Lead};
use crate::catalog::tags::Tags;
use crate::catalog::ytdlp::flat::FlatPlaylist;
use crate::error::{Error, MusicFault, Result};

/// The first tab's sections, by layout.
const SECTIONS: [&str; 2] = [
    "contents.singleColumnBrowseResultsRenderer.tabs.0.tabRenderer.content.sectionListRenderer",
    "contents.twoColumnBrowseResultsRenderer.tabs.0.tabRenderer.content.sectionListRenderer",
];

/// A two-column page's list (album tracks, playlist tracks).
const SECONDARY: &str =
    "contents.twoColumnBrowseResultsRenderer.secondaryContents.sectionListRenderer";

/// The most tracks a playlist is read to (YouTube's own cap is 5,000).
pub const PLAYLIST_LIMIT: usize = 5_000;

/// An album: its tags for every track, its tracks, and its own playlist.
#[derive(Debug, Clone)]
pub struct Album {
    pub title: String,
    pub artist: String,
    pub year: Option<String>,
    /// `OLAK5uy…`: the album as a playlist.
    pub playlist_id: Option<String>,
    pub tracks: Vec<ListedTrack>,
}

/// An artist: name, top songs, albums (and singles).
#[derive(Debug, Clone)]
pub struct Artist {
    pub name: String,
    pub songs: Vec<ListedTrack>,
    pub albums: Vec<Lead>,
}

fn shape(call: &str, path: String) -> Error {
    Error::Music {
        call: call.into(),
        fault: MusicFault::Shape(path),
    }
}

fn browse(api: &Api, call: &str, browse_id: &str, who: Who) -> Result<Value> {
    let mut fields = Map::new();
    fields.insert("browseId".into(), json!(browse_id));
    api.call(&pages::ask(call, "browse", who), fields)
}

/// The sections of a page's first tab, whichever layout.
fn sections<'a>(call: &str, answer: &'a Value) -> Result<&'a [Value]> {
    SECTIONS
        .iter()
        .find_map(|p| get(answer, p))
        .map(|list| json::items(list, "contents"))
        .ok_or_else(|| {
            shape(
                call,
                json::need(answer, "", SECTIONS[0])
                    .err()
                    .unwrap_or_default(),
            )
        })
}

/// The album `MPREb…`.
pub fn album(api: &Api, browse_id: &str) -> Result<Album> {
    album_of(&browse(api, "album", browse_id, Who::Anyone)?)
}

/// An album page read.
pub fn album_of(answer: &Value) -> Result<Album> {
    const CALL: &str = "album";
    let header = sections(CALL, answer)?
        .iter()
        .find_map(|s| get(s, "musicResponsiveHeaderRenderer"))
        .or_else(|| get(answer, "header.musicDetailHeaderRenderer"))
        .ok_or_else(|| {
            shape(
                CALL,
                format!(
                    "no musicResponsiveHeaderRenderer under {}.contents",
                    SECTIONS[1]
                ),
            )
        })?;
    let title = json::joined(header, "title").unwrap_or_default();
    let strapline = rows::byline(json::runs(header, "straplineTextOne"));
    let subtitle = rows::byline(json::runs(header, "subtitle"));
    let artist = strapline
        .artists
        .into_iter()
        .next()
        .or_else(|| subtitle.artists.into_iter().next())
        .unwrap_or_default();
    let cover = rows::cover(json::items(
        header,
        "thumbnail.musicThumbnailRenderer.thumbnail.thumbnails",
    ))
    .or_else(|| {
        rows::cover(json::items(
            header,
            "thumbnail.croppedSquareThumbnailRenderer.thumbnail.thumbnails",
        ))
    });
    let playlist_id = json::items(header, "buttons").iter().find_map(|b| {
        let play = get(b, "musicPlayButtonRenderer.playNavigationEndpoint")?;
        text(play, "watchPlaylistEndpoint.playlistId")
            .or_else(|| text(play, "watchEndpoint.playlistId"))
    });
    let page = Tags {
        artist: artist.clone(),
        title: String::new(),
        album: Some(title.clone()),
        duration_secs: None,
        thumbnail_url: cover,
    };
    let shelf = track_shelf(answer, "musicShelfRenderer").ok_or_else(|| {
        shape(
            CALL,
            format!("no musicShelfRenderer under {SECONDARY}.contents"),
        )
    })?;
    let tracks = json::items(shelf, "contents")
        .iter()
        .filter_map(|item| get(item, "musicResponsiveListItemRenderer"))
        .filter_map(|row| rows::list_song(row, &page))
        .collect();
    Ok(Album {
        title,
        artist,
        year: subtitle.year,
        playlist_id: playlist_id.map(str::to_owned),
        tracks,
    })
}

/// The list of a page's tracks (`musicShelfRenderer` of an album,
/// `musicPlaylistShelfRenderer` of a playlist), whichever layout.
fn track_shelf<'a>(answer: &'a Value, kind: &str) -> Option<&'a Value> {
    let lists = [SECONDARY, SECTIONS[0], SECTIONS[1]];
    lists.iter().find_map(|list| {
        json::items(answer, &format!("{list}.contents"))
            .iter()
            .find_map(|s| get(s, kind))
    })
}

/// The artist `UC…`: the songs shelf and the album and single carousels.
pub fn artist(api: &Api, browse_id: &str) -> Result<Artist> {
    artist_of(&browse(api, "artist", browse_id, Who::Anyone)?)
}

/// An artist page read.
pub fn artist_of(answer: &Value) -> Result<Artist> {
    const CALL: &str = "artist";
    let sections = sections(CALL, answer)?;
    let name = [
        "header.musicImmersiveHeaderRenderer",
        "header.musicVisualHeaderRenderer",
    ]
    .iter()
    .find_map(|h| json::joined(answer, &format!("{h}.title")))
    .unwrap_or_default();
    let page = Tags {
        artist: name.clone(),
        ..Tags::default()
    };
    let mut songs = Vec::new();
    let mut albums = Vec::new();
    for section in sections {
        if let Some(shelf) = get(section, "musicShelfRenderer") {
            songs.extend(
                json::items(shelf, "contents")
                    .iter()
                    .filter_map(|item| get(item, "musicResponsiveListItemRenderer"))
                    .filter_map(|row| rows::list_song(row, &page)),
            );
        } else if let Some(carousel) = get(section, "musicCarouselShelfRenderer") {
            let tiles = json::items(carousel, "contents")
                .iter()
                .filter_map(|item| get(item, "musicTwoRowItemRenderer"))
                .filter_map(rows::tile_lead)
                .filter(|lead| lead.browse_id.starts_with("MPRE"));
            albums.extend(tiles);
        }
    }
    if name.is_empty() && songs.is_empty() && albums.is_empty() {
        return Err(shape(
            CALL,
            "no musicImmersiveHeaderRenderer under header".into(),
        ));
    }
    Ok(Artist {
        name,
        songs,
        albums,
    })
}

/// The playlist `VL…` (or its id without `VL`): title and tracks, on
/// through its continuations up to `limit`.
pub fn playlist(api: &Api, playlist_id: &str, who: Who, limit: usize) -> Result<FlatPlaylist> {
    const CALL: &str = "playlist";
    let browse_id = match playlist_id.starts_with("VL") {
        true => playlist_id.to_owned(),
        false => format!("VL{playlist_id}"),
    };
    let mut fields = Map::new();
    fields.insert("browseId".into(), json!(browse_id));
    let ask = pages::ask(CALL, "browse", who);
    let mut title = String::new();
    let mut shaped = 0usize;
    let tracks = pages::collect(
        api,
        &ask,
        &fields,
        |answer| {
            title = playlist_title(answer);
            playlist_first_page(answer)
        },
        |item| {
            let row = get(item, "musicResponsiveListItemRenderer")?;
            shaped += 1;
            rows::list_song(row, &Tags::default())
        },
        limit,
    )?;
    if tracks.is_empty() && shaped > 0 {
        return Err(shape(
            CALL,
            format!("{shaped} rows, none a song under musicPlaylistShelfRenderer.contents"),
        ));
    }
    Ok(FlatPlaylist {
        title,
        unavailable: shaped.saturating_sub(tracks.len()),
        tracks,
    })
}

fn playlist_title(answer: &Value) -> String {
    const HEADERS: [&str; 4] = [
        "musicResponsiveHeaderRenderer.title",
        "musicEditablePlaylistDetailHeaderRenderer.header.musicResponsiveHeaderRenderer.title",
        "musicDetailHeaderRenderer.title",
        "musicEditablePlaylistDetailHeaderRenderer.header.musicDetailHeaderRenderer.title",
    ];
    let first = json::items(answer, &format!("{}.contents", SECTIONS[1]))
        .first()
        .cloned()
        .unwrap_or(Value::Null);
    let header = get(answer, "header").cloned().unwrap_or(Value::Null);
    HEADERS
        .iter()
        .find_map(|h| json::joined(&first, h).or_else(|| json::joined(&header, h)))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

pub fn playlist_first_page(answer: &Value) -> Result<Page<'_>> {
    let Some(shelf) = track_shelf(answer, "musicPlaylistShelfRenderer") else {
        // A page with its header and no shelf is an empty playlist.
        if !playlist_title(answer).is_empty() {
            return Ok(Page::default());
        }
        let path = json::need(answer, "", &format!("{SECONDARY}.contents"))
            .err()
            .unwrap_or_else(|| format!("no musicPlaylistShelfRenderer under {SECONDARY}.contents"));
        return Err(shape("playlist", path));
    };
    let (items, trailing) = pages::split_trailing(json::items(shelf, "contents"));
    Ok(Page {
        items,
        next: pages::query_token(shelf).or(trailing),
    })
}

/// The account's playlists (`FEmusic_liked_playlists`), all of them.
pub fn library_playlists(api: &Api) -> Result<Vec<Lead>> {
    library_grid(api, "library playlists", "FEmusic_liked_playlists")
}

/// The albums saved in the account's library (`FEmusic_liked_albums`).
pub fn library_albums(api: &Api) -> Result<Vec<Lead>> {
    library_grid(api, "library albums", "FEmusic_liked_albums")
}

fn library_grid(api: &Api, call: &str, browse_id: &str) -> Result<Vec<Lead>> {
    let mut fields = Map::new();
    fields.insert("browseId".into(), json!(browse_id));
    let ask = pages::ask(call, "browse", Who::Account);
    pages::collect(
        api,
        &ask,
        &fields,
        |answer| grid_first_page(call, answer),
        |item| get(item, "musicTwoRowItemRenderer").and_then(rows::tile_lead),
        usize::MAX,
    )
}

pub fn grid_first_page<'a>(call: &str, answer: &'a Value) -> Result<Page<'a>> {
    let sections = sections(call, answer)?;
    let grid = sections.iter().find_map(|s| {
        get(s, "gridRenderer").or_else(|| get(s, "itemSectionRenderer.contents.0.gridRenderer"))
    });
    match grid {
        Some(grid) => Ok(Page {
            items: json::items(grid, "items"),
            next: pages::query_token(grid),
        }),
        // An empty library has no grid, and says so in a message.
        None if sections
            .iter()
            .any(|s| json::find(s, "messageRenderer").is_some()) =>
        {
            Ok(Page::default())
        }
        None => Err(shape(
            call,
            format!("no gridRenderer under {}.contents", SECTIONS[0]),
        )),
    }
}

/// The home page's mixes made for the account ("My Supermix", "My Mix
/// 1", "Discover Mix", "Replay Mix"): the tiles that play a `RDTMAK5uy_`
/// playlist, wherever on the first `pages` of shelves.
pub fn home_mixes(api: &Api, shelves: usize) -> Result<Vec<Lead>> {
    const CALL: &str = "home";
    let mut fields = Map::new();
    fields.insert("browseId".into(), json!("FEmusic_home"));
    let ask = pages::ask(CALL, "browse", Who::Account);
    let tiles = pages::collect(
        api,
        &ask,
        &fields,
        |answer| {
            let list = SECTIONS
                .iter()
                .find_map(|p| get(answer, p))
                .ok_or_else(|| {
                    shape(
                        CALL,
                        json::need(answer, "", SECTIONS[0])
                            .err()
                            .unwrap_or_default(),
                    )
                })?;
            Ok(Page {
                items: json::items(list, "contents"),
                next: pages::query_token(list),
            })
        },
        |shelf| {
            let carousel = get(shelf, "musicCarouselShelfRenderer")?;
            let mixes: Vec<Lead> = json::items(carousel, "contents")
                .iter()
                .filter_map(|item| get(item, "musicTwoRowItemRenderer"))
                .filter_map(rows::tile_lead)
                .filter(|lead| {
                    lead.playlist_id
                        .as_deref()
                        .is_some_and(|p| p.starts_with("RDTMAK5uy_"))
                })
                .collect();
            Some(mixes)
        },
        shelves,
    )?;
    let mut seen = std::collections::HashSet::new();
    Ok(tiles
        .into_iter()
        .flatten()
        .filter(|mix| seen.insert(mix.playlist_id.clone()))
        .collect())
}
