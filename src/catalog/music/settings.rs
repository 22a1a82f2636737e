//! `[youtube]`: where the reader asks YouTube Music, in which language
//! and region, and whether it reports what was heard.

use std::time::Duration;

use serde::Deserialize;

use crate::settings::{self, Checked, bad};

/// YouTube Music's own site, where its web client asks.
pub const DEFAULT_API_URL: &str = "https://music.youtube.com";

/// `[youtube]` as written in `proxy.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct YoutubeSettings {
    /// `https://…`; `http://` only for a loopback host (tests); empty: off.
    pub api_url: String,
    /// `hl`: the language of titles YouTube translates ("en").
    pub language: String,
    /// `gl`: the country whose catalogue is searched ("US").
    pub region: String,
    /// Report songs heard for 30 s or more to the account's history.
    pub report_history: bool,
    /// One call, from connecting to the last byte of its answer.
    pub timeout_secs: u64,
}

impl Default for YoutubeSettings {
    fn default() -> Self {
        YoutubeSettings {
            api_url: DEFAULT_API_URL.into(),
            language: "en".into(),
            region: "US".into(),
            report_history: false,
            timeout_secs: 10,
        }
    }
}

impl YoutubeSettings {
    /// The first wrong key of `[youtube]`.
    pub fn check(&self) -> Checked {
        settings::first([
            settings::timeout("[youtube] timeout_secs", self.timeout_secs),
            match settings::set_text(&self.api_url) {
                Some(url) => api_host(url).map(|_| ()),
                None => Ok(()),
            },
            code("[youtube] language", &self.language, 2, 10),
            code("[youtube] region", &self.region, 2, 2),
        ])
    }

    /// The API's root, without a trailing `/`.
    pub fn api_url(&self) -> &str {
        self.api_url.trim().trim_end_matches('/')
    }

    /// The API's host (cookies go there and nowhere else).
    pub fn api_host(&self) -> String {
        api_host(&self.api_url).unwrap_or_default()
    }

    pub fn timeout(&self) -> Duration {
        settings::secs(self.timeout_secs)
    }
}

/// The host of `url`: `https://HOST[:PORT]`, or `http://` to a loopback host.
fn api_host(url: &str) -> Result<String, settings::BadKey> {
    const KEY: &str = "[youtube] api_url";
    let url = url.trim().trim_end_matches('/');
    let (plain, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (false, rest),
        (None, Some(rest)) => (true, rest),
        _ => return Err(bad_key(KEY, "must start with https://")),
    };
    if rest.contains(['/', '?', '#', '@']) || rest.is_empty() {
        return Err(bad_key(
            KEY,
            "must be a site's root, like https://music.youtube.com",
        ));
    }
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => {
            port.parse::<u16>()
                .map_err(|_| bad_key(KEY, "has a port that is not a number"))?;
            host
        }
        _ => rest,
    };
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    if plain && !loopback {
        return Err(bad_key(
            KEY,
            "must start with https:// (http:// only for 127.0.0.1 or localhost)",
        ));
    }
    Ok(host.to_ascii_lowercase())
}

fn bad_key(key: &'static str, why: &str) -> settings::BadKey {
    settings::BadKey {
        key,
        why: why.into(),
    }
}

/// A language or region code: `min..=max` letters (and `-`).
fn code(key: &'static str, value: &str, min: usize, max: usize) -> Checked {
    let ok = (min..=max).contains(&value.len())
        && value.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
    match ok {
        true => Ok(()),
        false => bad(
            key,
            format!("must be a code of {min} to {max} letters, like \"en\""),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> Checked {
        YoutubeSettings {
            api_url: url.into(),
            ..YoutubeSettings::default()
        }
        .check()
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(with_url("https://music.youtube.com").is_ok());
        assert!(with_url("https://music.youtube.com/").is_ok());
        assert!(with_url("http://127.0.0.1:5000").is_ok());
        assert!(with_url("http://localhost:5000").is_ok());
        let err = with_url("http://music.youtube.com").expect_err("plain http");
        assert!(err.why.contains("https://"), "{err:?}");
        assert!(with_url("ftp://x").is_err());
        assert!(with_url("https://music.youtube.com/youtubei").is_err());
        assert!(with_url("https://user@music.youtube.com").is_err());
        assert!(with_url("https://x:port").is_err());
        assert!(with_url("").is_ok(), "empty is off");
    }

    #[test]
    fn the_host_is_what_cookies_are_sent_to() {
        let s = YoutubeSettings::default();
        assert_eq!(s.api_host(), "music.youtube.com");
        assert_eq!(s.api_url(), "https://music.youtube.com");
        let local = YoutubeSettings {
            api_url: "http://127.0.0.1:8123/".into(),
            ..s
        };
        assert_eq!(local.api_host(), "127.0.0.1");
        assert_eq!(local.api_url(), "http://127.0.0.1:8123");
    }

    #[test]
    fn codes_are_letters() {
        let s = YoutubeSettings {
            region: "USA".into(),
            ..YoutubeSettings::default()
        };
        assert_eq!(s.check().expect_err("3 letters").key, "[youtube] region");
    }
}
