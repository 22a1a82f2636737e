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
