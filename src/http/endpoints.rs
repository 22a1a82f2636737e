//! The small endpoints beside the stream: `/health`, `/metrics`,
//! `/playlists`, playlist files and cover art. Each answers from the store,
//! the counters or the cover cache with one in-memory body.

use std::net::SocketAddr;

use log::warn;
use tiny_http::Request;

use crate::app::warm::Ahead;
use crate::catalog::playlist;
use crate::catalog::store::TrackStore;
use crate::error::Error;
use crate::http::route::PlaylistFormat;
use crate::metrics::Metrics;
use crate::response::{self, Outcome};
use crate::stream::cover::CoverCache;
use crate::stream::upstream::Upstream;
use crate::video_id::VideoId;
use crate::wire::{self, percent_encode};

fn fail(request: Request, error: &Error) -> Outcome {
    response::respond_error(request, error)
}

fn ok(request: Request, content_type: &str, body: Vec<u8>) -> Outcome {
    let headers = [
        ("Content-Type", content_type.to_owned()),
        ("Cache-Control", "no-cache".to_owned()),
    ];
    response::respond_small(request, 200, body, &headers)
}

/// `/health`: JSON status, track count, live streams, MPD's link and how
/// many of the tracks it will play next are warm.
pub fn health(request: Request, store: &TrackStore, metrics: &Metrics, ahead: &Ahead) -> Outcome {
    let tracks = match store.count() {
        Ok(n) => n,
        Err(e) => {
            warn!("health: {e}");
            return fail(request, &e);
        }
    };
    let body = serde_json::json!({
        "status": "ok",
        "service": "icyproxy",
        "tracks": tracks,
        "active_streams": metrics.active_streams(),
        "mpd": ahead.mpd_link(),
        "warm_tracks": ahead.warm_tracks(),
    })
    .to_string();
    ok(request, "application/json", body.into_bytes())
}

/// `/metrics`: Prometheus text.
pub fn metrics(request: Request, metrics: &Metrics, ahead: &Ahead) -> Outcome {
    let body = (metrics.render() + &ahead.render()).into_bytes();
    ok(request, "text/plain; version=0.0.4; charset=utf-8", body)
}

/// `/playlists`: one line per playlist, `name<TAB>entries<TAB>xspf URL`.
pub fn playlists(request: Request, store: &TrackStore) -> Outcome {
    let names = match store.playlists() {
        Ok(n) => n,
        Err(e) => return fail(request, &e),
    };
    let mut body = String::new();
    for p in names {
        body.push_str(&format!(
            "{}\t{}\t/playlists/{}.xspf\n",
            p.name,
            p.entries,
            percent_encode(&p.name)
        ));
    }
    ok(request, "text/plain; charset=utf-8", body.into_bytes())
}

/// `/playlists/{name}.xspf` and `.m3u`, with URLs on the host the client
/// used to reach us.
pub fn playlist(
    request: Request,
    store: &TrackStore,
    name: &str,
    format: PlaylistFormat,
    bound: SocketAddr,
    token: Option<&str>,
) -> Outcome {
    let entries = match store.playlist(name) {
        Ok(Some(entries)) => entries,
        Ok(None) => return fail(request, &Error::NotFound(format!("no playlist {name:?}"))),
        Err(e) => return fail(request, &e),
    };
    let base = base_url(&request, bound);
    let links = playlist::Links {
        base_url: &base,
        token,
    };
    let (text, kind) = match format {
        PlaylistFormat::Xspf => (
            playlist::xspf(name, &entries, links),
            "application/xspf+xml",
        ),
        PlaylistFormat::M3u => (playlist::m3u(name, &entries, links), "audio/x-mpegurl"),
    };
    ok(request, kind, text.into_bytes())
}

/// `http://` plus the request's `Host` when it is a plain host[:port],
/// else the bound address.
fn base_url(request: &Request, bound: SocketAddr) -> String {
    let host = wire::header(request, "Host").map(str::trim).filter(|h| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    });
    match host {
        Some(h) => format!("http://{h}"),
        None if bound.ip().is_unspecified() => format!("http://127.0.0.1:{}", bound.port()),
        None => format!("http://{bound}"),
    }
}

/// `/proxy/{id}/cover.jpg`: the track's thumbnail, through the cache.
pub fn cover(
    request: Request,
    store: &TrackStore,
    id: &VideoId,
    covers: &CoverCache,
    upstream: &Upstream,
) -> Outcome {
    let url = match store.get(id) {
        Ok(Some(track)) => track.tags.thumbnail_url,
        Ok(None) => None,
        Err(e) => return fail(request, &e),
    };
    let Some(url) = url else {
        return fail(request, &Error::NotFound("no cover art".into()));
    };
    match covers.get(id, &url, upstream) {
        Ok((bytes, kind)) => ok(request, &kind, bytes),
        Err(e) => fail(request, &e),
    }
}
