//! What a track is called: its tags, and how clients show them.

/// A track's tags, the one shape every track-like value carries (a stored
/// [`Track`](crate::catalog::model::Track), one being written, one a
/// playlist lists, what the resolver found).
///
/// In a track being written, `None` keeps what is stored; in a stored
/// track it means unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    /// Empty when unknown.
    pub artist: String,
    /// Empty only in what the resolver found when its output had none (a
    /// plain-text URL); a stored track always has a title.
    pub title: String,
    /// `Some("")` in a track being written clears a stored album.
    pub album: Option<String>,
    pub duration_secs: Option<i64>,
    /// Cover art for MPD's `albumart` (an http(s) URL).
    pub thumbnail_url: Option<String>,
}

impl Tags {
    /// What clients show: `Artist - Title`, or the title alone.
    pub fn display_title(&self) -> String {
        display_title(&self.artist, &self.title)
    }
}

/// What clients show for a track: `Artist - Title`, or the title alone.
pub fn display_title(artist: &str, title: &str) -> String {
    let artist = artist.trim();
    let title = title.trim();
    if artist.is_empty() {
        title.to_owned()
    } else {
        format!("{artist} - {title}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_title_joins_artist_and_title() {
        assert_eq!(display_title("Rick Astley", "Never"), "Rick Astley - Never");
        assert_eq!(display_title("", "Never"), "Never");
        assert_eq!(display_title("  ", " Never "), "Never");
        let tags = Tags {
            artist: "A".into(),
            title: "T".into(),
            ..Tags::default()
        };
        assert_eq!(tags.display_title(), "A - T");
    }
}
