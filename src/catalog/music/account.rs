//! What only the account can do: rate a song (`like/like`,
//! `like/dislike`, `like/removelike`), and report one as heard, as the
//! web player does (ytmusicapi's `add_history_item`: the `player` answer's
//! `videostatsPlaybackUrl`, fetched with a fresh client playback nonce).

use serde_json::{Map, json};

use crate::catalog::music::client::{Api, Who};
use crate::catalog::music::json;
use crate::catalog::music::pages;
use crate::error::{Error, MusicFault, Result};
use crate::video_id::VideoId;

/// A song's rating on YouTube Music.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Like,
    Dislike,
    /// Neither (a like or dislike taken back).
    Indifferent,
}

impl Rating {
    fn endpoint(self) -> &'static str {
        match self {
            Rating::Like => "like/like",
            Rating::Dislike => "like/dislike",
            Rating::Indifferent => "like/removelike",
        }
    }
}

/// Rates `id` for the account.
pub fn rate(api: &Api, id: &VideoId, rating: Rating) -> Result<()> {
    let mut fields = Map::new();
    fields.insert("target".into(), json!({"videoId": id.as_str()}));
    api.call(&pages::ask("like", rating.endpoint(), Who::Account), fields)?;
    Ok(())
}

/// Reports `id` as heard: the player answer's report URL, with `ver=2`,
/// the client and a playback nonce, fetched signed.
pub fn report_heard(api: &Api, id: &VideoId) -> Result<()> {
    const CALL: &str = "history";
    let mut fields = Map::new();
    // ytmusicapi's key, in its spelling (the API takes it).
    fields.insert("video_id".into(), json!(id.as_str()));
    fields.insert(
        "playbackContext".into(),
        json!({"contentPlaybackContext": {"signatureTimestamp": signature_day()}}),
    );
    let answer = api.call(&pages::ask(CALL, "player", Who::Account), fields)?;
    let base = json::need(
        &answer,
        "",
        "playbackTracking.videostatsPlaybackUrl.baseUrl",
    )
    .ok()
    .and_then(|v| v.as_str())
    .ok_or_else(|| Error::Music {
        call: CALL.into(),
        fault: MusicFault::Shape("no videostatsPlaybackUrl.baseUrl under playbackTracking".into()),
    })?;
    if !base.starts_with("https://") && !base.starts_with("http://127.0.0.1") {
        return Err(Error::Music {
            call: CALL.into(),
            fault: MusicFault::Shape("a report URL that is not https".into()),
        });
    }
    let joiner = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{joiner}ver=2&c=WEB_REMIX&cpn={}", playback_nonce());
    api.ping(CALL, &url)
}

/// Days since 1970 less one, as ytmusicapi sends it when it has not read
/// the player script.
fn signature_day() -> i64 {
    crate::time::unix_now() / 86_400 - 1
}

/// 16 characters of `A-Za-z0-9-_`, as the web player makes its `cpn`.
fn playback_nonce() -> String {
    const ALPHABET: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()).rotate_left(32);
    (0..16)
        .map(|_| {
            // xorshift64: a nonce needs to differ, not to be secret.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ALPHABET[(seed & 63) as usize] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_16_url_safe_characters() {
        let nonce = playback_nonce();
        assert_eq!(nonce.len(), 16);
        assert!(
            nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
