//! Checks on upstream stream URLs: only plain http(s) URLs are ever stored
//! or fetched, so a row can never make the proxy read a file or another
//! scheme.

use crate::error::{Error, Result};

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
            "stream URL must start with http:// or https://: {}",
            shorten(url)
        )));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(Error::InvalidInput(format!(
            "stream URL has no usable host: {}",
            shorten(url)
        )));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidInput(
            "stream URL contains spaces or control characters".into(),
        ));
    }
    Ok(())
}

/// The scheme and host of a URL, for log lines at info level: the path and
/// query of a googlevideo URL carry credentials.
pub fn redacted(url: &str) -> String {
    match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
            format!("{}{}/…", &url[..i + 3], &after[..host_end])
        }
        None => "(not a URL)".into(),
    }
}

fn shorten(url: &str) -> String {
    let mut s: String = url.chars().filter(|c| !c.is_control()).take(60).collect();
    if url.chars().count() > 60 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn redaction_keeps_only_scheme_and_host() {
        assert_eq!(
            redacted("https://rr1.googlevideo.com/videoplayback?sig=SECRET"),
            "https://rr1.googlevideo.com/…"
        );
        assert_eq!(redacted("http://h:1"), "http://h:1/…");
    }
}
