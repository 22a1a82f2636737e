//! Request routing: method and request target in, [`Route`] or a precise
//! error out. Pure, so every odd path can be unit-tested.

use crate::error::{Error, Result};
use crate::video_id::VideoId;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET`/`HEAD /health`.
    Health,
    /// `GET`/`HEAD /proxy/{id}` or `/proxy/{id}/`.
    Stream { id: VideoId, head: bool },
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
    if path == "/health" {
        return Ok(Route::Health);
    }
    match path.strip_prefix("/proxy/") {
        Some(rest) => {
            let raw_id = rest.strip_suffix('/').unwrap_or(rest);
            if raw_id.contains('/') {
                return Err(Error::NotFound("no such path".into()));
            }
            let id = VideoId::parse(raw_id).ok_or_else(|| {
                Error::BadRequest("video id must be 11 characters of A-Z a-z 0-9 _ -".into())
            })?;
            Ok(Route::Stream { id, head })
        }
        None => Err(Error::NotFound("no such path".into())),
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
    path == "/health"
        || path
            .strip_prefix("/proxy/")
            .is_some_and(|rest| !rest.trim_end_matches('/').contains('/'))
}

/// Whether the query string holds `key=value` exactly.
pub fn query_has(target: &str, key: &str, value: &str) -> bool {
    let Some((_, query)) = target.split_once('?') else {
        return false;
    };
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .any(|pair| pair.split_once('=') == Some((key, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(id: &str, head: bool) -> Result<Route> {
        Ok(Route::Stream {
            id: VideoId::parse(id).expect("test id"),
            head,
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
            ("GET", "/proxy/dQw4w9WgXcQ/cover.jpg", 404),
            ("GET", "/proxy/../etc/passwd", 404),
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
    fn query_lookup() {
        assert!(query_has("/p/x/?icy=0", "icy", "0"));
        assert!(query_has("/p/x?a=1&icy=0#f", "icy", "0"));
        assert!(!query_has("/p/x?icy=01", "icy", "0"));
        assert!(!query_has("/p/x", "icy", "0"));
    }
}
