//! Who may ask. Browsers first: a web page the user opens can make the
//! browser request any URL (`<audio src>`, `<img src>`), so a request a
//! browser marks as made for another site (`Sec-Fetch-Site`, `Origin`) is
//! refused, and so is one a page made "same-origin" by pointing its own
//! host name at us (DNS rebinding). MPD and curl send neither header and
//! are not affected; an address typed into the browser (`Sec-Fetch-Site:
//! none`) is served.
//!
//! Then the optional access token (`[server] token`): when set, every
//! route needs `?token=...` or `Authorization: Bearer ...`, but for
//! callers on this machine (loopback), and for `/health`, which then says
//! only that icyproxy is up (no paths, errors or what is played).

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::http::route::Route;

/// The configured token, if any, and the host names a browser may use.
#[derive(Debug, Clone, Default)]
pub struct Access {
    token: Option<String>,
    /// `[server] allowed_hosts`, lowercase: names (beside `localhost` and
    /// IP addresses) a browser page may reach us by.
    allowed_hosts: Vec<String>,
}

/// The headers by which a browser tells why it asks.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserMarks<'a> {
    pub sec_fetch_site: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub host: Option<&'a str>,
}

impl Access {
    pub fn new(token: Option<&str>, allowed_hosts: &[String]) -> Access {
        Access {
            token: token.filter(|t| !t.is_empty()).map(str::to_owned),
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
        }
    }

    /// `Ok` unless a browser asks on behalf of another site: a
    /// `Sec-Fetch-Site` other than `same-origin` or `none`, an `Origin`
    /// that is not the `Host` asked, or a browser's request (marked
    /// `same-origin`, or with an `Origin`) to a host name that is neither
    /// `localhost`, an IP address nor in `[server] allowed_hosts`.
    pub fn check_browser(&self, marks: BrowserMarks<'_>) -> Result<()> {
        let refuse = |why: String| Err(Error::Forbidden(why));
        let site = marks.sec_fetch_site.map(|s| s.trim().to_ascii_lowercase());
        match site.as_deref() {
            None | Some("none" | "same-origin") => {}
            Some(other) => {
                return refuse(format!(
                    "a web page may not use icyproxy (Sec-Fetch-Site: {})",
                    clip(other)
                ));
            }
        }
        let host = marks.host.map(|h| h.trim().to_ascii_lowercase());
        if let Some(origin) = marks.origin {
            let same = host
                .as_deref()
                .is_some_and(|host| same_authority(origin, host));
            if !same {
                return refuse(format!(
                    "a web page may not use icyproxy (Origin {} is not this server)",
                    clip(origin)
                ));
            }
        }
        let from_a_page = site.as_deref() == Some("same-origin") || marks.origin.is_some();
        if let (true, Some(host)) = (from_a_page, host.as_deref()) {
            let name = host_name(host);
            let known = name == "localhost"
                || name.parse::<std::net::IpAddr>().is_ok()
                || self.allowed_hosts.iter().any(|h| h == name);
            if !known {
                return refuse(format!(
                    "host name {} is not localhost or in [server] allowed_hosts",
                    clip(name)
                ));
            }
        }
        Ok(())
    }

    /// Whether the caller may see everything: no token is set, it
    /// presents the token, or it asks from this machine (a loopback
    /// address: MPD beside the server, doctor, curl), so that the queue
    /// entries of a loopback MPD need not carry the token.
    pub fn admits(&self, target: &str, authorization: Option<&str>, peer: Option<IpAddr>) -> bool {
        let Some(expected) = &self.token else {
            return true;
        };
        if peer.is_some_and(|ip| ip.to_canonical().is_loopback()) {
            return true;
        }
        let presented = presented_token(target, authorization).unwrap_or_default();
        constant_time_eq(presented.as_bytes(), expected.as_bytes())
    }

    /// `Ok` when the caller is `admitted` ([`Access::admits`]), or asks
    /// for `/health`, which then answers only that icyproxy is up.
    pub fn check(&self, route: &Route, admitted: bool) -> Result<()> {
        if admitted || matches!(route, Route::Health) {
            Ok(())
        } else {
            Err(Error::Unauthorized)
        }
    }
}

/// At most 64 characters of a header value, for a message.
fn clip(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// The name in a `Host` value (lowercase): without the port, an IPv6
/// literal without its brackets.
fn host_name(host: &str) -> &str {
    split_authority(host).0
}

/// `host[:port]` or `[v6][:port]` as name and port (when given).
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((name, after)) => (name, after.strip_prefix(':')),
            None => (rest, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (name, Some(port)),
        _ => (authority, None),
    }
}

/// Whether `origin` (`scheme://host[:port]`) names this server: `http`
/// (icyproxy speaks no TLS), and the host and port of `host` (a lowercase
/// `Host` value); port 80 counts as given.
fn same_authority(origin: &str, host: &str) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // "null", or not an origin at all
    };
    if scheme != "http" {
        return false;
    }
    let default_port = "80";
    let (origin_name, origin_port) = split_authority(authority);
    let (host_name, host_port) = split_authority(host);
    origin_name == host_name
        && origin_port.unwrap_or(default_port) == host_port.unwrap_or(default_port)
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

    fn ask(a: &Access, route: &Route, target: &str, auth: Option<&str>) -> Result<()> {
        a.check(route, a.admits(target, auth, None))
    }

    #[test]
    fn open_without_a_token() {
        assert!(ask(&Access::new(None, &[]), &stream(), "/proxy/x", None).is_ok());
        assert!(
            ask(
                &Access::new(Some(""), &[]),
                &Route::Metrics,
                "/metrics",
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn token_from_query_or_bearer() {
        let a = Access::new(Some(T), &[]);
        assert!(ask(&a, &stream(), &format!("/proxy/x?token={T}"), None).is_ok());
        assert!(ask(&a, &stream(), &format!("/p?icy=0&token={T}#f"), None).is_ok());
        let bearer = format!("Bearer {T}");
        assert!(ask(&a, &Route::Metrics, "/metrics", Some(&bearer)).is_ok());
        let spaced = format!("bearer  {T} ");
        assert!(ask(&a, &Route::Metrics, "/metrics", Some(&spaced)).is_ok());
        for (target, auth) in [
            ("/proxy/x", None),
            ("/proxy/x?token=wrong", None),
            ("/proxy/x?token=", None),
            ("/metrics", Some("Basic abc")),
            ("/metrics", Some("Bearer s3cret-token-012345678")),
        ] {
            let e = ask(&a, &stream(), target, auth).expect_err("refused");
            assert_eq!(e.status(), 401);
        }
        assert!(ask(&a, &Route::Health, "/health", None).is_ok());
        assert!(!a.admits("/health", None, None));
        assert!(ask(&a, &Route::Playlists, "/playlists", None).is_err());
        let cover = Route::Cover {
            id: VideoId::parse("dQw4w9WgXcQ").expect("id"),
            head: false,
        };
        assert!(ask(&a, &cover, "/proxy/dQw4w9WgXcQ/cover.jpg", None).is_err());
    }

    #[test]
    fn callers_on_this_machine_need_no_token() {
        let a = Access::new(Some(T), &[]);
        for ip in ["127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(a.admits("/proxy/x", None, Some(ip)), "{ip}");
        }
        for ip in ["192.168.1.20", "::ffff:10.0.0.1", "fe80::1"] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(!a.admits("/proxy/x", None, Some(ip)), "{ip}");
        }
    }

    fn marks<'a>(
        site: Option<&'a str>,
        origin: Option<&'a str>,
        host: &'a str,
    ) -> BrowserMarks<'a> {
        BrowserMarks {
            sec_fetch_site: site,
            origin,
            host: Some(host),
        }
    }

    #[test]
    fn browsers_asking_for_other_sites_are_refused() {
        let a = Access::new(None, &["Pi.Local".to_owned()]);
        let served = [
            marks(None, None, "127.0.0.1:8080"),
            marks(None, None, "evil.example:8080"), // curl, MPD: no marks
            marks(Some("none"), None, "pi.example:8080"), // typed into the address bar
            marks(Some("same-origin"), None, "127.0.0.1:8080"),
            marks(Some("same-origin"), None, "localhost:8080"),
            marks(Some("same-origin"), None, "[::1]:8080"),
            marks(Some("same-origin"), None, "pi.local:8080"),
            marks(None, Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            marks(None, Some("http://localhost"), "localhost:80"),
            marks(None, Some("http://[::1]:8080"), "[::1]:8080"),
        ];
        for m in served {
            assert!(a.check_browser(m).is_ok(), "{m:?}");
        }
        let refused = [
            marks(Some("cross-site"), None, "127.0.0.1:8080"),
            marks(Some("same-site"), None, "127.0.0.1:8080"),
            marks(Some("bogus"), None, "127.0.0.1:8080"),
            marks(None, Some("http://evil.example"), "127.0.0.1:8080"),
            marks(None, Some("null"), "127.0.0.1:8080"),
            marks(None, Some("http://127.0.0.1:9999"), "127.0.0.1:8080"),
            marks(None, Some("https://127.0.0.1:8080"), "127.0.0.1:8080"),
            marks(Some("same-origin"), None, "evil.example:8080"),
            marks(None, Some("http://evil.example:8080"), "evil.example:8080"),
        ];
        for m in refused {
            let e = a.check_browser(m).expect_err(&format!("{m:?} refused"));
            assert_eq!(e.status(), 403, "{m:?}");
        }
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
