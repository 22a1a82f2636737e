//! What a track is called: how clients show it.

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
    }
}
