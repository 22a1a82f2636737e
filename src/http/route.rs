//! Request routing: method and request target in, [`Route`] or a precise
//! error out. Pure, so every odd path can be unit-tested.

use crate::catalog::playlist::Format;
use crate::error::{Error, Result};
use crate::video_id::VideoId;
use crate::wire;

/// What a request asks for. All routes take `GET` and `HEAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/health`.
    Health,
    /// `/metrics` (Prometheus text).
    Metrics,
    /// `/proxy/{id}` or `/proxy/{id}/`; `icy` is false with `?icy=0`.
    Stream { id: VideoId, head: bool, icy: bool },
    /// `/proxy/{id}/cover.jpg`: cover art for MPD's `albumart`.
    Cover { id: VideoId, head: bool },
    /// `/playlists`: the names.
    Playlists,
    /// `/playlists/{name}.xspf` or `.m3u`; the name is URL-decoded.
    Playlist { name: String, format: Format },
}

const ALLOW_READ: &str = "GET, HEAD";

/// Maps a method and request target (origin-form or absolute-form) to a route.
pub fn route(method: &str, target: &str) -> Result<Route> {
    let path = path_of(target);
    let head = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            return if is_known_path(path) {
                Err(Error::MethodNotAllowed { allow: ALLOW_READ })
            } else {
                Err(Error::NotFound("no such path".into()))
            };
        }
    };
    let not_found = || Error::NotFound("no such path".into());
    match path {
        "/health" => return Ok(Route::Health),
        "/metrics" => return Ok(Route::Metrics),
        "/playlists" | "/playlists/" => return Ok(Route::Playlists),
        _ => {}
    }
    if let Some(file) = path.strip_prefix("/playlists/") {
        let (encoded, format) = if let Some(n) = file.strip_suffix(".xspf") {
            (n, Format::Xspf)
        } else if let Some(n) = file.strip_suffix(".m3u") {
            (n, Format::M3u)
        } else {
            return Err(not_found());
        };
        let name = wire::percent_decode(encoded).ok_or_else(|| {
            Error::BadRequest("playlist name is not valid URL-encoded UTF-8".into())
        })?;
        crate::catalog::model::check_playlist_name(&name)
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        return Ok(Route::Playlist { name, format });
    }
    let rest = path.strip_prefix("/proxy/").ok_or_else(not_found)?;
    let (raw_id, file) = match rest.split_once('/') {
        Some((id, file)) => (id, file),
        None => (rest, ""),
    };
    let id = VideoId::parse(raw_id).ok_or_else(|| {
        Error::BadRequest("video id must be 11 characters of A-Z a-z 0-9 _ -".into())
    })?;
    match file {
        "" => Ok(Route::Stream {
            id,
            head,
            icy: wire::query_param(target, "icy") != Some("0"),
        }),
        "cover.jpg" => Ok(Route::Cover { id, head }),
        // cover.png and anything else: nothing there, and MPD moves on.
        _ => Err(Error::NotFound("no such file".into())),
    }
}

/// The path without query or fragment; absolute-form targets
/// (`http://host/path`) lose their scheme and authority.
fn path_of(target: &str) -> &str {
    let target = match target.find("://") {
        Some(i) if !target.starts_with('/') => {
            let after = &target[i + 3..];
            after.find('/').map_or("/", |slash| &after[slash..])
        }
        _ => target,
    };
    let end = target.find(['?', '#']).unwrap_or(target.len());
    &target[..end]
}

fn is_known_path(path: &str) -> bool {
    matches!(path, "/health" | "/metrics" | "/playlists" | "/playlists/")
        || path.starts_with("/playlists/")
        || path.starts_with("/proxy/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(id: &str, head: bool) -> Result<Route> {
        Ok(Route::Stream {
            id: VideoId::parse(id).expect("test id"),
            head,
            icy: true,
        })
    }

    #[test]
    fn streams_with_and_without_slash_and_query() {
        let id = "dQw4w9WgXcQ";
        assert_eq!(
            route("GET", &format!("/proxy/{id}")).ok(),
            stream(id, false).ok()
        );
        assert_eq!(
            route("GET", &format!("/proxy/{id}/")).ok(),
            stream(id, false).ok()
        );
        assert_eq!(
            route("HEAD", &format!("/proxy/{id}?x=1")).ok(),
            stream(id, true).ok()
        );
        assert_eq!(
            route("GET", &format!("http://h:1/proxy/{id}/")).ok(),
            stream(id, false).ok()
        );
    }

    #[test]
    fn statuses_for_odd_requests() {
        let cases = [
            ("GET", "/health", 0),
            ("POST", "/health", 405),
            ("GET", "/proxy/short", 400),
            ("GET", "/proxy/dQw4w9WgXcQQ", 400),
            ("GET", "/proxy/%41Qw4w9WgXcQ", 400),
            ("GET", "/proxy/..%2f..%2fetc", 400),
            ("GET", "/proxy/", 400),
            ("GET", "/proxy", 404),
            ("GET", "/proxy/dQw4w9WgXcQ/cover.png", 404),
            ("GET", "/proxy/dQw4w9WgXcQ/x/cover.jpg", 404),
            ("GET", "/proxy/../etc/passwd", 400),
            ("GET", "/playlists/x.txt", 404),
            ("GET", "/playlists/%ZZ.m3u", 400),
            ("GET", "/playlists/.hidden.m3u", 400),
            ("GET", "/playlists/a%2Fb.m3u", 400),
            ("POST", "/playlists", 405),
            ("POST", "/proxy/dQw4w9WgXcQ/cover.jpg", 405),
            ("GET", "//proxy/dQw4w9WgXcQ", 404),
            ("GET", "/", 404),
            ("DELETE", "/proxy/dQw4w9WgXcQ", 405),
            ("BREW", "/proxy/dQw4w9WgXcQ", 405),
            ("POST", "/nowhere", 404),
        ];
        for (method, target, want) in cases {
            let got = route(method, target).map_or_else(|e| e.status(), |_| 0);
            assert_eq!(got, want, "{method} {target}");
        }
    }

    #[test]
    fn other_routes() {
        let id = VideoId::parse("dQw4w9WgXcQ").expect("id");
        assert_eq!(route("GET", "/metrics").ok(), Some(Route::Metrics));
        assert_eq!(route("GET", "/playlists/").ok(), Some(Route::Playlists));
        assert_eq!(
            route("GET", "/proxy/dQw4w9WgXcQ/?icy=0").ok(),
            Some(Route::Stream {
                id: id.clone(),
                head: false,
                icy: false
            })
        );
        assert_eq!(
            route("HEAD", "/proxy/dQw4w9WgXcQ/cover.jpg").ok(),
            Some(Route::Cover { id, head: true })
        );
        assert_eq!(
            route("GET", "/playlists/Road%20Trip%20%F0%9F%9A%97.xspf").ok(),
            Some(Route::Playlist {
                name: "Road Trip 🚗".into(),
                format: Format::Xspf
            })
        );
    }
}
