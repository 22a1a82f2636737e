//! A stand-in for music.youtube.com's web API on 127.0.0.1: it answers
//! `POST /youtubei/v1/ENDPOINT` with answers built here in the shapes the
//! real API gives (learnt from ytmusicapi's parsers and captured answers;
//! trimmed to the keys on the paths), records every request, and can be
//! told to break (`{}`, cut short, HTTP 400, a stall).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// How the stand-in answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers as the real API does.
    Real,
    /// `{}` to everything.
    Empty,
    /// The real answer cut in the middle.
    Truncated,
    /// HTTP 400 with an API error.
    BadRequest,
    /// Holds the request this long before answering.
    Stall(Duration),
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The endpoint (`search`, `next`, `browse`, `like/like`, …), or the
    /// path of a GET.
    pub endpoint: String,
    /// The query string, without `?`.
    pub query: String,
    /// Header names lower case.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    mode: Mode,
    /// The account's playlists feed lists none.
    empty_library: bool,
    seen: Vec<Seen>,
}

pub struct YtMusic {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

/// Songs a search page lists.
pub const PAGE: usize = 20;

impl YtMusic {
    pub fn start() -> YtMusic {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stand-in");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(Shared {
            mode: Mode::Real,
            empty_library: false,
            seen: Vec::new(),
        }));
        let serving = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&serving);
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared, addr);
                });
            }
        });
        YtMusic { addr, shared }
    }

    /// `[youtube]` pointing here, and any `extra` lines.
    pub fn section(&self, extra: &str) -> String {
        format!(
            "[youtube]\napi_url = \"http://{}\"\ntimeout_secs = 2\n{extra}\n",
            self.addr
        )
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.lock().expect("lock").mode = mode;
    }

    /// The playlists feed lists none from now on (an extractor break).
    pub fn empty_library(&self) {
        self.shared.lock().expect("lock").empty_library = true;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().expect("lock").seen.clone()
    }

    pub fn seen_at(&self, endpoint: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.endpoint == endpoint)
            .collect()
    }
}

fn serve(stream: TcpStream, shared: &Mutex<Shared>, addr: SocketAddr) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_owned();
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let endpoint = path
        .strip_prefix("/youtubei/v1/")
        .unwrap_or(path)
        .to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let seen = Seen {
        endpoint,
        query: query.to_owned(),
        headers,
        body,
    };
    let (mode, empty_library) = {
        let mut shared = shared.lock().expect("lock");
        shared.seen.push(seen.clone());
        (shared.mode, shared.empty_library)
    };
    let answer = |method: &str, seen: &Seen, addr| answer(method, seen, addr, empty_library);
    let (status, text) = match mode {
        Mode::Real => answer(&method, &seen, addr),
        Mode::Empty => (200, "{}".to_owned()),
        Mode::Truncated => {
            let (status, whole) = answer(&method, &seen, addr);
            (status, whole[..whole.len() / 2].to_owned())
        }
        Mode::BadRequest => (
            400,
            json!({"error": {"code": 400, "message": "Request contains an invalid argument.",
                             "status": "INVALID_ARGUMENT"}})
            .to_string(),
        ),
        Mode::Stall(how_long) => {
            std::thread::sleep(how_long);
            answer(&method, &seen, addr)
        }
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

/// The real API's answer to `seen`.
fn answer(method: &str, seen: &Seen, addr: SocketAddr, empty_library: bool) -> (u16, String) {
    if method == "GET" {
        return (204, String::new());
    }
    let token = query_value(&seen.query, "ctoken");
    let account = seen.header("authorization").is_some();
    let value = match (seen.endpoint.as_str(), token.clone()) {
        ("search", None) => search_first(&seen.body),
        ("search", Some(t)) => search_more(&t),
        ("next", None) => radio_first(&seen.body),
        ("next", Some(t)) => radio_more(&t),
        ("player", _) => player(&seen.body, addr),
        ("like/like" | "like/dislike" | "like/removelike", _) if account => json!({}),
        ("browse", _) => return browse(&seen.body, account, empty_library),
        _ => {
            return (
                404,
                json!({"error": {"code": 404, "message": "Not Found"}}).to_string(),
            );
        }
    };
    (200, value.to_string())
}

fn query_value(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

/// An 11-character video id made of a prefix and a number.
pub fn video_id(prefix: &str, n: usize) -> String {
    let id = format!("{prefix}{n:0>width$}", width = 11 - prefix.len());
    assert_eq!(id.len(), 11, "{id}");
    id
}

fn runs(texts: &[Value]) -> Value {
    json!({"runs": texts})
}

fn artist_run(name: &str) -> Value {
    json!({"text": name, "navigationEndpoint": {"browseEndpoint": {
        "browseId": "UCartist0000000000000000",
        "browseEndpointContextSupportedConfigs": {"browseEndpointContextMusicConfig":
            {"pageType": "MUSIC_PAGE_TYPE_ARTIST"}}}}})
}

fn album_run(name: &str, id: &str) -> Value {
    json!({"text": name, "navigationEndpoint": {"browseEndpoint": {
        "browseId": id,
        "browseEndpointContextSupportedConfigs": {"browseEndpointContextMusicConfig":
            {"pageType": "MUSIC_PAGE_TYPE_ALBUM"}}}}})
}

fn dot() -> Value {
    json!({"text": " • "})
}

fn thumbnails(key: &str) -> Value {
    json!([
        {"url": format!("https://lh3.googleusercontent.com/{key}=w60-h60-l90-rj"), "width": 60, "height": 60},
        {"url": format!("https://lh3.googleusercontent.com/{key}=w120-h120-l90-rj"), "width": 120, "height": 120}
    ])
}

/// A song as a search lists it (`musicResponsiveListItemRenderer`).
pub fn song_row(id: &str, title: &str, artist: &str, album: &str, duration: &str) -> Value {
    json!({"musicResponsiveListItemRenderer": {
        "thumbnail": {"musicThumbnailRenderer": {"thumbnail": {"thumbnails": thumbnails(id)}}},
        "overlay": {"musicItemThumbnailOverlayRenderer": {"content": {"musicPlayButtonRenderer": {
            "playNavigationEndpoint": {"watchEndpoint": {"videoId": id,
                "watchEndpointMusicSupportedConfigs": {"watchEndpointMusicConfig":
                    {"musicVideoType": "MUSIC_VIDEO_TYPE_ATV"}}}}}}}},
        "flexColumns": [
            {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[
                json!({"text": title, "navigationEndpoint": {"watchEndpoint": {"videoId": id}}})])}},
            {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[
                artist_run(artist), json!({"text": " & "}), artist_run("Guest"), dot(),
                album_run(album, "MPREb_album0001"), dot(), json!({"text": duration})])}},
            {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[
                json!({"text": "180K plays"})])}}
        ],
        "playlistItemData": {"videoId": id}
    }})
}

/// The n-th song of a search for `query`: its id, title and artist.
pub fn search_song(n: usize) -> (String, String, String) {
    (
        video_id("srch", n),
        format!("Found Song {n}"),
        format!("Artist {n}"),
    )
}

fn search_rows(from: usize) -> Vec<Value> {
    (from..from + PAGE)
        .map(|n| {
            let (id, title, artist) = search_song(n);
            let duration = format!("{}:{:02}", 3 + n % 3, n % 60);
            song_row(&id, &title, &artist, &format!("Album {n}"), &duration)
        })
        .collect()
}

fn next_token(kind: &str, token: &str) -> Value {
    json!([{ kind: {"continuation": token, "clickTrackingParams": "CAA="}}])
}

fn search_first(body: &Value) -> Value {
    let params = body.get("params").and_then(Value::as_str).unwrap_or("");
    let (title, rows) = match params {
        "EgWKAQIYAWoMEA4QChADEAQQCRAF" => ("Albums", lead_rows("MPREb_found", "Album")),
        "EgWKAQIgAWoMEA4QChADEAQQCRAF" => ("Artists", lead_rows("UCfound", "Artist")),
        p if p.starts_with("Eg-KAQwI") => {
            ("Community playlists", lead_rows("VLPLfound", "Playlist"))
        }
        _ => ("Songs", search_rows(0)),
    };
    json!({"contents": {"tabbedSearchResultsRenderer": {"tabs": [{"tabRenderer": {
    "title": "YT Music", "selected": true,
    "content": {"sectionListRenderer": {"contents": [
        {"itemSectionRenderer": {"contents": [{"showingResultsForRenderer": {}}]}},
        {"musicShelfRenderer": {
            "title": runs(&[json!({"text": title})]),
            "contents": rows,
            "continuations": next_token("nextContinuationData", "page-1")
        }}
    ]}}}}]}}})
}

fn search_more(token: &str) -> Value {
    let page: usize = token.trim_start_matches("page-").parse().unwrap_or(1);
    let mut list = json!({"contents": search_rows(page * PAGE)});
    if page < 4 {
        list["continuations"] = next_token("nextContinuationData", &format!("page-{}", page + 1));
    }
    json!({"continuationContents": {"musicShelfContinuation": list}})
}

fn lead_rows(prefix: &str, kind: &str) -> Vec<Value> {
    (0..5)
        .map(|n| {
            json!({"musicResponsiveListItemRenderer": {
                "navigationEndpoint": {"browseEndpoint": {"browseId": format!("{prefix}{n}")}},
                "flexColumns": [
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[
                        json!({"text": format!("{kind} Result {n}")})])}},
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[
                        json!({"text": kind}), dot(), artist_run("Some Artist"), dot(),
                        json!({"text": "2001"})])}}
                ]
            }})
        })
        .collect()
}

/// The n-th song of the radio of `seed`.
pub fn radio_song(n: usize) -> (String, String, String) {
    (
        video_id("rdio", n),
        format!("Radio Song {n}"),
        format!("Radio Artist {n}"),
    )
}

fn panel_video(id: &str, title: &str, artist: &str) -> Value {
    json!({"playlistPanelVideoRenderer": {
        "videoId": id,
        "title": runs(&[json!({"text": title})]),
        "longBylineText": runs(&[artist_run(artist), dot(),
            album_run("Radio Album", "MPREb_radio0001"), dot(), json!({"text": "1987"})]),
        "shortBylineText": runs(&[json!({"text": artist})]),
        "lengthText": runs(&[json!({"text": "3:34"})]),
        "thumbnail": {"thumbnails": thumbnails(id)},
        "navigationEndpoint": {"watchEndpoint": {"videoId": id}}
    }})
}

fn radio_items(seed: Option<&str>, from: usize, count: usize) -> Vec<Value> {
    let mut items = Vec::new();
    if let Some(seed) = seed {
        items.push(panel_video(seed, "The Seed", "Seed Artist"));
    }
    for n in from..from + count {
        let (id, title, artist) = radio_song(n);
        let video = panel_video(&id, &title, &artist);
        // Most songs come wrapped with their video counterpart.
        if n % 2 == 0 {
            items.push(json!({"playlistPanelVideoWrapperRenderer": {
                "primaryRenderer": video,
                "counterpart": [{"counterpartRenderer": panel_video(&video_id("vidc", n), &title, &artist)}]
            }}));
        } else {
            items.push(video);
        }
    }
    items.push(json!({"automixPreviewVideoRenderer": {}}));
    items
}

fn radio_first(body: &Value) -> Value {
    let seed = body.get("videoId").and_then(Value::as_str);
    json!({"contents": {"singleColumnMusicWatchNextResultsRenderer": {"tabbedRenderer": {
    "watchNextTabbedResultsRenderer": {"tabs": [
        {"tabRenderer": {"title": "Up next", "content": {"musicQueueRenderer": {"content": {
            "playlistPanelRenderer": {
                "playlistId": body.get("playlistId"),
                "isInfinite": true,
                "contents": radio_items(seed, 0, 24),
                "continuations": next_token("nextRadioContinuationData", "radio-1")
            }}}}}},
        {"tabRenderer": {"title": "Lyrics", "endpoint": {"browseEndpoint": {"browseId": "MPLYt_x"}}}}
    ]}}}}})
}

fn radio_more(token: &str) -> Value {
    let page: usize = token.trim_start_matches("radio-").parse().unwrap_or(1);
    json!({"continuationContents": {"playlistPanelContinuation": {
        "contents": radio_items(None, page * 24, 24),
        "continuations": next_token("nextRadioContinuationData", &format!("radio-{}", page + 1))
    }}})
}

fn player(body: &Value, addr: SocketAddr) -> Value {
    // ytmusicapi's spelling, which the real API takes.
    let id = body.get("video_id").and_then(Value::as_str).unwrap_or("");
    json!({"playabilityStatus": {"status": "OK"},
           "playbackTracking": {"videostatsPlaybackUrl": {
               "baseUrl": format!("http://{addr}/api/stats/playback?ns=yt&el=detailpage&docid={id}&ver=2&fmt=251")}},
           "videoDetails": {"videoId": id}})
}

/// The stand-in's album: `MPREb_album0001`, 12 tracks, no artist on its rows.
pub const ALBUM: &str = "MPREb_album0001";
/// Its artist page.
pub const ARTIST: &str = "UCartist0000000000000000";
/// A playlist of 150 songs (two pages).
pub const PLAYLIST: &str = "PLstandin0001";

fn section_list(contents: Vec<Value>, two_columns: bool) -> Value {
    let tabs =
        json!([{"tabRenderer": {"content": {"sectionListRenderer": {"contents": contents}}}}]);
    match two_columns {
        true => json!({"twoColumnBrowseResultsRenderer": {"tabs": tabs}}),
        false => json!({"singleColumnBrowseResultsRenderer": {"tabs": tabs}}),
    }
}

fn album_track(n: usize) -> Value {
    let id = video_id("albm", n);
    json!({"musicResponsiveListItemRenderer": {
        "index": runs(&[json!({"text": n.to_string()})]),
        "flexColumns": [
            {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[
                json!({"text": format!("Album Track {n}"), "navigationEndpoint": {"watchEndpoint": {"videoId": id}}})])}},
            {"musicResponsiveListItemFlexColumnRenderer": {"text": {}}},
            {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[json!({"text": "3.6M plays"})])}}
        ],
        "fixedColumns": [{"musicResponsiveListItemFixedColumnRenderer": {"text": runs(&[json!({"text": "1:56"})])}}],
        "playlistItemData": {"videoId": id}
    }})
}

fn album_page() -> Value {
    let header = json!({"musicResponsiveHeaderRenderer": {
        "title": runs(&[json!({"text": "Stand-in Album"})]),
        "subtitle": runs(&[json!({"text": "Album"}), dot(), json!({"text": "2024"})]),
        "straplineTextOne": runs(&[artist_run("Album Artist")]),
        "thumbnail": {"musicThumbnailRenderer": {"thumbnail": {"thumbnails": thumbnails("albumcover")}}},
        "buttons": [{"toggleButtonRenderer": {}},
            {"musicPlayButtonRenderer": {"playNavigationEndpoint": {"watchPlaylistEndpoint": {"playlistId": "OLAK5uy_standin"}}}},
            {"menuRenderer": {}}]
    }});
    let mut page = section_list(vec![header], true);
    page["twoColumnBrowseResultsRenderer"]["secondaryContents"] = json!({"sectionListRenderer": {
        "contents": [{"musicShelfRenderer": {"contents": (1..=12).map(album_track).collect::<Vec<_>>()}}]}});
    json!({"contents": page})
}

fn artist_page() -> Value {
    let songs = (0..5)
        .map(|n| {
            let id = video_id("tops", n);
            json!({"musicResponsiveListItemRenderer": {
                "flexColumns": [
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[
                        json!({"text": format!("Top Song {n}"), "navigationEndpoint": {"watchEndpoint": {"videoId": id}}})])}},
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[artist_run("Page Artist")])}},
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[json!({"text": "340M plays"})])}},
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[album_run("Top Album", "MPREb_top")])}}
                ],
                "playlistItemData": {"videoId": id}
            }})
        })
        .collect::<Vec<_>>();
    let albums = (0..3)
        .map(|n| {
            json!({"musicTwoRowItemRenderer": {
                "title": runs(&[json!({"text": format!("Page Album {n}"), "navigationEndpoint": {"browseEndpoint": {"browseId": format!("MPREb_page{n}")}}})]),
                "subtitle": runs(&[json!({"text": format!("{}", 2000 + n)})]),
                "navigationEndpoint": {"browseEndpoint": {"browseId": format!("MPREb_page{n}")}}
            }})
        })
        .collect::<Vec<_>>();
    json!({
        "header": {"musicImmersiveHeaderRenderer": {"title": runs(&[json!({"text": "Page Artist"})])}},
        "contents": section_list(vec![
            json!({"musicShelfRenderer": {"title": runs(&[json!({"text": "Top songs"})]), "contents": songs}}),
            json!({"musicCarouselShelfRenderer": {
                "header": {"musicCarouselShelfBasicHeaderRenderer": {"title": runs(&[json!({"text": "Albums"})])}},
                "contents": albums}}),
        ], false)
    })
}

/// The n-th song of a playlist `list`.
pub fn playlist_song(list: &str, n: usize) -> String {
    video_id(&list.chars().take(4).collect::<String>(), n)
}

fn playlist_rows(list: &str, from: usize, to: usize) -> Vec<Value> {
    (from..to)
        .map(|n| {
            let id = playlist_song(list, n);
            json!({"musicResponsiveListItemRenderer": {
                "flexColumns": [
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[
                        json!({"text": format!("List Song {n}"), "navigationEndpoint": {"watchEndpoint": {"videoId": id}}})])}},
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[artist_run(&format!("List Artist {n}"))])}},
                    {"musicResponsiveListItemFlexColumnRenderer": {"text": runs(&[album_run("List Album", "MPREb_list")])}}
                ],
                "fixedColumns": [{"musicResponsiveListItemFixedColumnRenderer": {"text": runs(&[json!({"text": "3:06"})])}}],
                "playlistItemData": {"videoId": id}
            }})
        })
        .collect()
}

/// Songs in the stand-in's playlist `list`.
pub fn playlist_length(list: &str) -> usize {
    match list {
        "LM" => 3,
        PLAYLIST => 150,
        _ => 4,
    }
}

fn continuation_item(token: &str) -> Value {
    json!({"continuationItemRenderer": {"continuationEndpoint": {"continuationCommand": {
        "token": token, "request": "CONTINUATION_REQUEST_TYPE_BROWSE"}}}})
}

fn playlist_page(list: &str) -> Value {
    let length = playlist_length(list);
    let mut rows = playlist_rows(list, 0, length.min(100));
    if length > 100 {
        rows.push(continuation_item(&format!("more-{list}")));
    }
    let header = json!({"musicResponsiveHeaderRenderer": {
        "title": runs(&[json!({"text": format!("Stand-in list {list}")})])}});
    let mut page = section_list(vec![header], true);
    page["twoColumnBrowseResultsRenderer"]["secondaryContents"] = json!({"sectionListRenderer": {
        "contents": [{"musicPlaylistShelfRenderer": {"playlistId": list, "contents": rows}}]}});
    json!({"contents": page})
}

fn playlist_more(list: &str) -> Value {
    let rows = playlist_rows(list, 100, playlist_length(list));
    json!({"onResponseReceivedActions": [{"appendContinuationItemsAction": {"continuationItems": rows}}]})
}

fn tile(title: &str, browse_id: &str, play: Option<&str>) -> Value {
    let mut tile = json!({"musicTwoRowItemRenderer": {
        "title": runs(&[json!({"text": title, "navigationEndpoint": {"browseEndpoint": {"browseId": browse_id}}})]),
        "subtitle": runs(&[json!({"text": "Auto playlist"})]),
        "navigationEndpoint": {"browseEndpoint": {"browseId": browse_id}}
    }});
    if let Some(list) = play {
        tile["musicTwoRowItemRenderer"]["thumbnailOverlay"] = json!({"musicItemThumbnailOverlayRenderer": {
            "content": {"musicPlayButtonRenderer": {"playNavigationEndpoint": {"watchPlaylistEndpoint": {"playlistId": list}}}}}});
    }
    tile
}

/// The account's playlists, as `FEmusic_liked_playlists` lists them
/// (titles the test may set: `DIR`-less, in the stand-in's memory).
fn library_playlists() -> Value {
    let items = vec![
        json!({"musicTwoRowItemRenderer": {"title": runs(&[json!({"text": "New playlist"})]),
            "navigationEndpoint": {"createPlaylistEndpoint": {}}}}),
        tile("Liked Music", "VLLM", Some("LM")),
        tile("Road Trip", "VLPLroadtrip1", None),
        tile("Liked songs", "VLPLclash0001", None),
    ];
    json!({"contents": section_list(vec![json!({"gridRenderer": {"items": items}})], false)})
}

fn home() -> Value {
    let mixes = vec![
        tile("My Supermix", "VLRDTMAK5uy_super", Some("RDTMAK5uy_super")),
        tile("Some Album", "MPREb_home", None),
    ];
    json!({"contents": section_list(vec![json!({"musicCarouselShelfRenderer": {
        "header": {"musicCarouselShelfBasicHeaderRenderer": {"title": runs(&[json!({"text": "Mixed for you"})])}},
        "contents": mixes}})], false)})
}

fn browse(body: &Value, account: bool, empty_library: bool) -> (u16, String) {
    let id = body.get("browseId").and_then(Value::as_str).unwrap_or("");
    let continuation = body.get("continuation").and_then(Value::as_str);
    let needs_account = id.starts_with("FEmusic_liked") || id == "VLLM" || id == "FEmusic_home";
    if needs_account && !account {
        // Signed out: a sign-in prompt, as anyone, with HTTP 200.
        let prompt = json!({"itemSectionRenderer": {"contents": [{"messageRenderer": {
            "text": runs(&[json!({"text": "Sign in"})])}}]}});
        let answer = json!({"responseContext": {"serviceTrackingParams": [{"service": "GFEEDBACK",
            "params": [{"key": "logged_in", "value": "0"}]}]},
            "contents": section_list(vec![prompt], false)});
        return (200, answer.to_string());
    }
    let value = match (id, continuation) {
        (_, Some(token)) if token.starts_with("more-") => playlist_more(&token[5..]),
        // Every album and artist id has its page (the same one here).
        (album, _) if album.starts_with("MPREb") => album_page(),
        (artist, _) if artist.starts_with("UC") => artist_page(),
        ("FEmusic_liked_playlists", _) if empty_library => json!({"contents": section_list(
            vec![json!({"gridRenderer": {"items": []}})], false)}),
        ("FEmusic_liked_playlists", _) => library_playlists(),
        ("FEmusic_liked_albums", _) => {
            json!({"contents": section_list(vec![json!({"gridRenderer": {"items": [
            tile("Saved Album", ALBUM, None)]}})], false)})
        }
        ("FEmusic_home", _) => home(),
        (list, _) if list.starts_with("VL") => playlist_page(&list[2..]),
        _ => {
            return (
                400,
                json!({"error": {"code": 400, "message": "Request contains an invalid argument."}})
                    .to_string(),
            );
        }
    };
    (200, value.to_string())
}
