//! The small endpoints beside the stream: `/health`, `/metrics`,
//! `/playlists`, playlist files and cover art. Each answers from the store,
//! the counters or the cover cache with one in-memory body.

use std::net::SocketAddr;

use log::warn;
use tiny_http::Request;

use crate::catalog::playlist;
use crate::catalog::store::TrackStore;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::response::{self, Outcome};
use crate::stream::cache::AudioCache;
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

/// What the parts wired beside the server (following MPD, warming) report:
/// the server shows it without knowing them.
pub trait Status: Send + Sync {
    /// Fields added to `/health`'s JSON object.
    fn health(&self) -> serde_json::Map<String, serde_json::Value>;
    /// Lines added to `/metrics` (Prometheus text, each ending in `\n`).
    fn metrics(&self) -> String;
    /// A stream of `id` was played to a client for `secs` seconds (the
    /// history report counts songs heard for 30 s or more). Must not block.
    fn streamed(&self, _id: &VideoId, _secs: u64) {}
}

/// `/health`: JSON status, track count, live streams, and what the parts
/// beside the server report (MPD's link, how many tracks are warm).
pub fn health(
    request: Request,
    store: &TrackStore,
    (metrics, cache, status): (&Metrics, &AudioCache, &dyn Status),
) -> Outcome {
    let tracks = match store.count() {
        Ok(n) => n,
        Err(e) => {
            warn!("health: {e}");
            return fail(request, &e);
        }
    };
    let mut body = serde_json::json!({
        "status": "ok",
        "service": "icyproxy",
        "database": store.path().display().to_string(),
        "tracks": tracks,
        "active_streams": metrics.active_streams(),
        "resolver": metrics.resolver_health(),
    });
    if let Some(fields) = body.as_object_mut() {
        fields.extend(status.health());
        fields.insert("cache".into(), cache.health(store));
        let warnings = fields.get_mut("warnings").and_then(|w| w.as_array_mut());
        if let (Some(warnings), Some(warning)) = (warnings, cache.warning()) {
            warnings.push(warning.into());
        }
    }
    let body = body.to_string();
    ok(request, "application/json", body.into_bytes())
}

/// `/health` for a caller without the token: that icyproxy is up, and
/// nothing else (no paths, errors or what is played).
pub fn health_short(request: Request) -> Outcome {
    let body = serde_json::json!({"status": "ok", "service": "icyproxy"}).to_string();
    ok(request, "application/json", body.into_bytes())
}

/// `/metrics`: Prometheus text.
pub fn metrics(request: Request, metrics: &Metrics, status: &dyn Status) -> Outcome {
    let body = (metrics.render() + &status.metrics()).into_bytes();
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

/// Where playlist URLs point when a request names no `Host`, and the
/// token they carry.
#[derive(Clone, Copy)]
pub struct Site<'a> {
    pub bound: SocketAddr,
    pub token: Option<&'a str>,
}

/// `/playlists/{name}.xspf` and `.m3u`, with URLs on the host the client
/// used to reach us.
pub fn playlist(
    request: Request,
    store: &TrackStore,
    name: &str,
    format: playlist::Format,
    site: Site,
) -> Outcome {
    let entries = match store.playlist(name) {
        Ok(Some(entries)) => entries,
        Ok(None) => return fail(request, &Error::NotFound(format!("no playlist {name:?}"))),
        Err(e) => return fail(request, &e),
    };
    let base = base_url(&request, site.bound);
    let links = playlist::Links {
        base_url: &base,
        token: site.token,
    };
    let text = format.render(name, &entries, links);
    ok(request, format.content_type(), text.into_bytes())
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
