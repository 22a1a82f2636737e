//! The optional access token (`[server] token`): when set, streams,
//! playlists and `/metrics` need `?token=...` or `Authorization: Bearer
//! ...`. `/health` stays open, and so does cover art, which MPD fetches
//! from a URL it builds itself and cannot add a token to.

use crate::error::{Error, Result};
use crate::http::route::Route;

/// The configured token, if any.
#[derive(Debug, Clone, Default)]
pub struct Access {
    token: Option<String>,
}

impl Access {
    pub fn new(token: Option<&str>) -> Access {
        Access {
            token: token.filter(|t| !t.is_empty()).map(str::to_owned),
        }
    }

    /// `Ok` when `route` is open or the request presents the token.
    pub fn check(&self, route: &Route, target: &str, authorization: Option<&str>) -> Result<()> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        if matches!(route, Route::Health | Route::Cover { .. }) {
            return Ok(());
        }
        let presented = presented_token(target, authorization).unwrap_or_default();
        if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(Error::Unauthorized)
        }
    }
}

/// The token a request carries: the `token` query parameter, else a
/// `Bearer` authorization.
pub fn presented_token(target: &str, authorization: Option<&str>) -> Option<String> {
    let from_query =
        crate::wire::query_param(target, "token").and_then(crate::wire::percent_decode);
    from_query.or_else(|| {
        let value = authorization?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    })
}

/// Compares without an early exit, so the time taken does not tell how
/// much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video_id::VideoId;

    const T: &str = "s3cret-token-0123456789";

    fn stream() -> Route {
        Route::Stream {
            id: VideoId::parse("dQw4w9WgXcQ").expect("id"),
            head: false,
            icy: true,
        }
    }

    #[test]
    fn open_without_a_token() {
        assert!(Access::new(None).check(&stream(), "/proxy/x", None).is_ok());
        assert!(
            Access::new(Some(""))
                .check(&Route::Metrics, "/metrics", None)
                .is_ok()
        );
    }

    #[test]
    fn token_from_query_or_bearer() {
        let a = Access::new(Some(T));
        assert!(
            a.check(&stream(), &format!("/proxy/x?token={T}"), None)
                .is_ok()
        );
        assert!(
            a.check(&stream(), &format!("/p?icy=0&token={T}#f"), None)
                .is_ok()
        );
        assert!(
            a.check(&Route::Metrics, "/metrics", Some(&format!("Bearer {T}")))
                .is_ok()
        );
        assert!(
            a.check(&Route::Metrics, "/metrics", Some(&format!("bearer  {T} ")))
                .is_ok()
        );
        for (target, auth) in [
            ("/proxy/x", None),
            ("/proxy/x?token=wrong", None),
            ("/proxy/x?token=", None),
            ("/metrics", Some("Basic abc")),
            ("/metrics", Some("Bearer s3cret-token-012345678")),
        ] {
            let e = a.check(&stream(), target, auth).expect_err("refused");
            assert_eq!(e.status(), 401);
        }
        assert!(a.check(&Route::Health, "/health", None).is_ok());
        assert!(a.check(&Route::Playlists, "/playlists", None).is_err());
    }

    #[test]
    fn equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
