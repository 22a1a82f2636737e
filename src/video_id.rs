//! The 11-character YouTube video id that names a track everywhere:
//! in the URL path, in the store and on the command line.

use std::fmt;

/// A checked video id: exactly 11 characters from `[A-Za-z0-9_-]`.
///
/// Holding a `VideoId` means the text is safe to put in a URL, a log line or
/// an SQL parameter without further checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoId(String);

/// Length of every YouTube video id.
pub const VIDEO_ID_LEN: usize = 11;

impl VideoId {
    /// Checks `text` and wraps it; `None` when it is not a video id.
    pub fn parse(text: &str) -> Option<VideoId> {
        let ok = text.len() == VIDEO_ID_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| VideoId(text.to_owned()))
    }

    /// Like [`VideoId::parse`], with an error that says what an id is.
    pub fn parse_or_explain(text: &str) -> crate::error::Result<VideoId> {
        VideoId::parse(text).ok_or_else(|| {
            crate::error::Error::InvalidInput(format!(
                "invalid video id {text:?}: expected 11 characters of A-Z a-z 0-9 _ -"
            ))
        })
    }

    /// What a user typed where an id is expected: the id itself, or a
    /// YouTube / YouTube Music URL holding one (`watch?v=ID`, `youtu.be/ID`,
    /// `/shorts/ID`, `/embed/ID`, `/live/ID`), pasted with or without its
    /// scheme and other query parameters. Pure.
    pub fn from_user(text: &str) -> Option<VideoId> {
        let text = text.trim();
        if let Some(id) = VideoId::parse(text) {
            return Some(id);
        }
        let lower = text.to_ascii_lowercase();
        let rest = ["https://", "http://"]
            .iter()
            .find_map(|s| lower.strip_prefix(s).map(|_| &text[s.len()..]))
            .unwrap_or(text);
        let (host, path) = rest.split_once('/')?;
        let host = host.to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host);
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let query = query.split('#').next().unwrap_or("");
        match host {
            "youtu.be" => VideoId::parse(path.trim_end_matches('/')),
            "youtube.com" | "m.youtube.com" | "music.youtube.com" => {
                let from_query = query
                    .split('&')
                    .find_map(|p| p.strip_prefix("v="))
                    .and_then(VideoId::parse);
                from_query.or_else(|| {
                    let mut parts = path.split('/');
                    match (parts.next(), parts.next()) {
                        (Some("shorts" | "embed" | "live" | "v"), Some(id)) => VideoId::parse(id),
                        _ => None,
                    }
                })
            }
            _ => None,
        }
    }

    /// Like [`VideoId::from_user`], with an error that says what is taken.
    pub fn from_user_or_explain(text: &str) -> crate::error::Result<VideoId> {
        VideoId::from_user(text).ok_or_else(|| {
            crate::error::Error::InvalidInput(format!(
                "invalid video id {text:?}: expected 11 characters of A-Z a-z 0-9 _ -, or a \
                 YouTube / YouTube Music URL with one (watch?v=ID, youtu.be/ID)"
            ))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VideoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_ids() {
        for id in ["dQw4w9WgXcQ", "___________", "-----------", "a1B2c3D4e5F"] {
            assert_eq!(VideoId::parse(id).map(|v| v.to_string()), Some(id.into()));
        }
    }

    #[test]
    fn takes_the_id_out_of_a_pasted_url() {
        for url in [
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVMdQw4w9WgXcQ",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "http://youtube.com/watch?feature=share&v=dQw4w9WgXcQ#t=10",
            "www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ?si=abcdef",
            "youtu.be/dQw4w9WgXcQ",
            "https://www.youtube.com/shorts/dQw4w9WgXcQ",
            "https://www.youtube.com/embed/dQw4w9WgXcQ",
            "HTTPS://MUSIC.YOUTUBE.COM/watch?v=dQw4w9WgXcQ",
            "  dQw4w9WgXcQ  ",
        ] {
            assert_eq!(
                VideoId::from_user(url).map(|v| v.to_string()).as_deref(),
                Some("dQw4w9WgXcQ"),
                "{url}"
            );
        }
        for bad in [
            "https://example.com/watch?v=dQw4w9WgXcQ",
            "https://www.youtube.com/playlist?list=PL123",
            "https://www.youtube.com/watch?v=short",
            "https://youtu.be/",
            "not an id",
        ] {
            assert_eq!(VideoId::from_user(bad), None, "{bad}");
        }
        let e = VideoId::from_user_or_explain("x").expect_err("refused");
        assert!(e.to_string().contains("youtu.be/ID"), "{e}");
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "dQw4w9WgXc",
            "dQw4w9WgXcQQ",
            "dQw4w9WgXc.",
            "dQw4w9WgX/Q",
            "dQw4w9WgX Q",
            "dQw4w9WgXé",
            "../../etc/p",
            "%41w4w9WgXc",
            "dQw4w9WgX\0Q",
        ] {
            assert!(VideoId::parse(bad).is_none(), "{bad:?} was accepted");
        }
    }
}
