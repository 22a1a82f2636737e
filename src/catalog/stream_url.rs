//! Checks on upstream stream URLs: only plain http(s) URLs are ever stored
//! or fetched, so a row can never make the proxy read a file or another
//! scheme.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::time::unix_now;

/// Accepts `http://host...` and `https://host...`; refuses other schemes,
/// missing hosts, whitespace and control characters.
pub fn check(url: &str) -> Result<()> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &url[7..]
    } else if lower.starts_with("https://") {
        &url[8..]
    } else {
        return Err(Error::InvalidInput(format!(
            "stream URL must start with http:// or https://, not {:?}",
            redacted(url)
        )));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(Error::InvalidInput(format!(
            "stream URL has no usable host: {}",
            redacted(url)
        )));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidInput(
            "stream URL contains spaces or control characters".into(),
        ));
    }
    Ok(())
}

/// `location` (a redirect's `Location`) taken against `base`: absolute
/// as it is, `//host/...` with `base`'s scheme, `/path` on `base`'s
/// authority, anything else beside `base`'s last path segment.
pub fn join(base: &str, location: &str) -> String {
    let lower = location.get(..8).unwrap_or(location).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.contains(':') {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let path_at = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..path_at];
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = rest[path_at..].split(['?', '#']).next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{scheme}://{authority}{dir}{location}")
}

/// The host (and port) of a URL, without user info: what log lines and
/// error texts may show of a stream URL, whose path and query carry
/// credentials.
pub fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// A URL as errors show it: scheme and host, the rest elided.
pub fn redacted(url: &str) -> String {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    let scheme: String = scheme
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect();
    let host: String = host(url)
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect();
    // A URL typed without a scheme is shown as typed, not as "://host".
    match (scheme.is_empty(), url.contains("://")) {
        (true, false) => format!("{host}/…"),
        _ => format!("{scheme}://{host}/…"),
    }
}

/// What fetching a stream URL takes beyond the URL, as the resolver
/// (yt-dlp) gave it: kept with the URL, used on every request for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchTerms {
    /// Unix time before which the URL must not be fetched (a wait YouTube
    /// imposes on some fresh URLs).
    pub available_at: Option<i64>,
    /// Request headers to send (User-Agent included).
    pub http_headers: Vec<(String, String)>,
}

/// Waits until the second `available_at` names (unix seconds; yt-dlp's
/// "not before", e.g. a premiere) has begun: at once when it has, an
/// error when that is more than `max_wait` away (`[resolver]
/// max_wait_secs`) or when `stopping` is set meanwhile. The one wait, for
/// streams and doctor's probe alike.
pub fn wait_available(
    available_at: Option<i64>,
    max_wait: Duration,
    stopping: &AtomicBool,
) -> Result<()> {
    let Some(at) = available_at else {
        return Ok(());
    };
    let left = at.saturating_sub(unix_now());
    if left <= 0 {
        return Ok(());
    }
    if Duration::from_secs(left as u64) > max_wait {
        return Err(Error::UpstreamTimeout {
            what: format!(
                "the stream URL is not available for another {left} s (more than \
                 [resolver] max_wait_secs = {})",
                max_wait.as_secs()
            ),
            cause: None,
        });
    }
    log::debug!("waiting {left} s for available_at");
    let until = Instant::now() + Duration::from_secs(left as u64);
    while Instant::now() < until {
        if stopping.load(Ordering::Relaxed) {
            return Err(Error::Shutdown);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Whole seconds: the second `available_at` names has begun.
    while unix_now() < at {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The `expire=` query parameter (unix seconds) that googlevideo URLs carry.
pub fn expires_at(url: &str) -> Option<i64> {
    crate::wire::query_param(url, "expire")?.parse().ok()
}

/// When a stored stream URL should be replaced before use: fewer than
/// `margin_secs` seconds left before its `expire=`, or, without one, older
/// than `max_age_secs`. The one rule for requests and warming
/// (`[resolver] refresh_margin_secs` and `max_age_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub margin_secs: i64,
    pub max_age_secs: i64,
}

impl Freshness {
    /// The last moment (unix seconds) a URL stored at `updated_at` is
    /// used without a refresh.
    pub fn fresh_until(&self, expires_at: Option<i64>, updated_at: i64) -> i64 {
        match expires_at {
            Some(expiry) => expiry.saturating_sub(self.margin_secs),
            None => updated_at.saturating_add(self.max_age_secs),
        }
    }

    /// Whether the URL needs a refresh at `now`.
    pub fn needs_refresh(&self, expires_at: Option<i64>, updated_at: i64, now: i64) -> bool {
        now > self.fresh_until(expires_at, updated_at)
    }

    /// Whether the URL is warm at `now`: it will not need a refresh for
    /// another margin, so a request then plays it at once.
    pub fn warm(&self, expires_at: Option<i64>, updated_at: i64, now: i64) -> bool {
        !self.needs_refresh(expires_at, updated_at, now.saturating_add(self.margin_secs))
    }

    /// When a warm URL stops being warm.
    pub fn warm_until(&self, expires_at: Option<i64>, updated_at: i64) -> i64 {
        self.fresh_until(expires_at, updated_at)
            .saturating_sub(self.margin_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_a_scheme_is_quoted_as_typed() {
        let e = check("example.com/a.mp3").expect_err("refused");
        assert_eq!(
            e.to_string(),
            "stream URL must start with http:// or https://, not \"example.com/…\""
        );
        assert_eq!(redacted("ftp://h:1/x?sig=s"), "ftp://h:1/…");
    }

    #[test]
    fn http_and_https_pass() {
        for ok in [
            "http://127.0.0.1:8000/a",
            "https://rr1.googlevideo.com/videoplayback?expire=1&x=y",
            "HTTPS://EXAMPLE.COM",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "file:///etc/passwd",
            "ftp://x/y",
            "http://",
            "https:///path",
            "http://:80/x",
            "http://user@host/x",
            "http://host/a b",
            "http://host/a\r\nX: y",
            "",
            "javascript:alert(1)",
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn errors_and_logs_show_the_host_only() {
        assert_eq!(
            host("https://user:pw@r1.example.com:8443/v?sig=x"),
            "r1.example.com:8443"
        );
        assert_eq!(host("http://h/a@b"), "h");
        let e = check("http://user:secret@host/x?sig=y")
            .expect_err("refused")
            .to_string();
        assert!(!e.contains("secret") && !e.contains("sig"), "{e}");
        let e = check("ftp://user:secret@host/x?sig=y")
            .expect_err("refused")
            .to_string();
        assert!(
            !e.contains("secret") && !e.contains("sig") && e.contains("ftp://host"),
            "{e}"
        );
    }

    #[test]
    fn expiry_from_the_query() {
        let url = "https://r.googlevideo.com/videoplayback?expire=1700000000&ei=x&sig=y";
        assert_eq!(expires_at(url), Some(1_700_000_000));
        assert_eq!(expires_at("https://h/x?a=1&expire=5#frag"), Some(5));
        assert_eq!(expires_at("https://h/x?noexpire=5"), None);
        assert_eq!(expires_at("https://h/x?expire=soon"), None);
        assert_eq!(expires_at("https://h/expire=5"), None);
    }

    #[test]
    fn refresh_decision() {
        let rule = Freshness {
            margin_secs: 300,
            max_age_secs: 18000,
        };
        // expire= known: refresh inside the margin, not before.
        assert!(!rule.needs_refresh(Some(1000), 0, 600));
        assert!(!rule.needs_refresh(Some(1000), 0, 700));
        assert!(rule.needs_refresh(Some(1000), 0, 701));
        assert!(rule.needs_refresh(Some(1000), 0, 5000));
        // no expire=: by age.
        assert!(!rule.needs_refresh(None, 1000, 1000 + 18000));
        assert!(rule.needs_refresh(None, 1000, 1000 + 18001));
        // Warm: good for another margin; it stops being warm a margin
        // before it needs a refresh.
        assert!(rule.warm(Some(1000), 0, 400) && !rule.warm(Some(1000), 0, 401));
        assert_eq!(rule.warm_until(Some(1000), 0), 400);
        assert_eq!(rule.warm_until(None, 1000), 1000 + 18000 - 300);
        assert!(rule.warm(None, 1000, rule.warm_until(None, 1000)));
        assert!(!rule.warm(None, 1000, rule.warm_until(None, 1000) + 1));
    }
}
