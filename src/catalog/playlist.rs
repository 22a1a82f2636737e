//! XSPF and extended M3U playlist text (pure writers).
//!
//! Both point MPD at `/proxy/{id}/?icy=0`: the tags come from the playlist
//! (XSPF: Artist, Title, Album; M3U: Name from `#EXTINF`), so the stream
//! must not add a `StreamTitle` (MPD would show the text twice and treat
//! the stream as unseekable). The trailing slash makes MPD look for
//! `cover.jpg` in `/proxy/{id}/`.

use crate::catalog::model::PlaylistEntry;

/// The playlist file formats icyproxy writes and serves; everything that
/// depends on the format is decided here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xspf,
    M3u,
}

impl Format {
    /// The format a file name's extension names (`.xspf`, `.m3u`, `.m3u8`,
    /// case aside), if any.
    pub fn of_file_name(name: &str) -> Option<Format> {
        let (_, ext) = name.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "m3u" | "m3u8" => Some(Format::M3u),
            "xspf" => Some(Format::Xspf),
            _ => None,
        }
    }

    /// The name users type (`--format xspf`) and the served extension.
    pub fn name(self) -> &'static str {
        match self {
            Format::Xspf => "xspf",
            Format::M3u => "m3u",
        }
    }

    /// The `Content-Type` the file is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xspf => "application/xspf+xml",
            Format::M3u => "audio/x-mpegurl",
        }
    }

    /// The playlist's text in this format.
    pub fn render(self, name: &str, entries: &[PlaylistEntry], links: Links) -> String {
        match self {
            Format::Xspf => xspf(name, entries, links),
            Format::M3u => m3u(name, entries, links),
        }
    }
}

/// What a playlist entry shows.
struct Shown<'a> {
    id: &'a str,
    artist: &'a str,
    title: &'a str,
    album: &'a str,
    duration_secs: Option<i64>,
}

impl<'a> Shown<'a> {
    fn of(entry: &'a PlaylistEntry) -> Shown<'a> {
        match &entry.track {
            Some(t) => Shown {
                id: &entry.video_id,
                artist: &t.tags.artist,
                title: &t.tags.title,
                album: t.tags.album.as_deref().unwrap_or(""),
                duration_secs: t.tags.duration_secs,
            },
            // Not stored yet (the resolver finds it on play): the id stands in.
            None => Shown {
                id: &entry.video_id,
                artist: "",
                title: &entry.video_id,
                album: "",
                duration_secs: None,
            },
        }
    }
}

/// Where playlist entries point: the server's base URL, and the access
/// token when one is configured.
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    pub base_url: &'a str,
    pub token: Option<&'a str>,
}

/// The URL MPD plays for a track. The token is left out of a loopback
/// base (the server admits callers on this machine without it), so any
/// MPD client reading the queue does not learn it.
pub fn track_url(links: Links<'_>, video_id: &str) -> String {
    let base = links.base_url.trim_end_matches('/');
    let token = links
        .token
        .filter(|_| !crate::public_url::is_loopback(base));
    match token {
        Some(token) => format!("{base}/proxy/{video_id}/?icy=0&token={token}"),
        None => format!("{base}/proxy/{video_id}/?icy=0"),
    }
}

/// An XSPF playlist: separate creator (artist), title and album.
pub fn xspf(name: &str, entries: &[PlaylistEntry], links: Links<'_>) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <playlist version=\"1\" xmlns=\"http://xspf.org/ns/0/\">\n",
    );
    out.push_str(&format!(
        "  <title>{}</title>\n  <trackList>\n",
        xml_text(name)
    ));
    for entry in entries {
        let t = Shown::of(entry);
        out.push_str("    <track>\n");
        out.push_str(&format!(
            "      <location>{}</location>\n",
            xml_text(&track_url(links, t.id))
        ));
        if !t.artist.is_empty() {
            out.push_str(&format!(
                "      <creator>{}</creator>\n",
                xml_text(t.artist)
            ));
        }
        out.push_str(&format!("      <title>{}</title>\n", xml_text(t.title)));
        if !t.album.is_empty() {
            out.push_str(&format!("      <album>{}</album>\n", xml_text(t.album)));
        }
        if let Some(secs) = t.duration_secs.filter(|s| *s > 0) {
            out.push_str(&format!(
                "      <duration>{}</duration>\n",
                secs.saturating_mul(1000)
            ));
        }
        out.push_str("    </track>\n");
    }
    out.push_str("  </trackList>\n</playlist>\n");
    out
}

/// An extended M3U playlist: `#EXTINF:secs,Artist - Title` per entry.
pub fn m3u(name: &str, entries: &[PlaylistEntry], links: Links<'_>) -> String {
    let mut out = format!("#EXTM3U\n#PLAYLIST:{}\n", one_line(name));
    for entry in entries {
        let t = Shown::of(entry);
        let shown = crate::catalog::tags::display_title(t.artist, t.title);
        let secs = t.duration_secs.filter(|s| *s > 0).unwrap_or(-1);
        out.push_str(&format!(
            "#EXTINF:{secs},{}\n{}\n",
            one_line(&shown),
            track_url(links, t.id)
        ));
    }
    out
}

/// Escapes XML text and drops characters XML 1.0 cannot carry.
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// One M3U line: no line breaks or other control characters.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::Track;

    fn entry(id: &str, artist: &str, title: &str, album: &str, secs: Option<i64>) -> PlaylistEntry {
        PlaylistEntry {
            video_id: id.into(),
            track: Some(Track {
                video_id: crate::video_id::VideoId::parse(id).expect("id"),
                stream_url: Some("http://h/x".into()),
                tags: crate::catalog::tags::Tags {
                    artist: artist.into(),
                    title: title.into(),
                    album: Some(album.into()).filter(|a: &String| !a.is_empty()),
                    duration_secs: secs,
                    thumbnail_url: None,
                },
                updated_at: 0,
                expires_at: None,
                tags_from: crate::catalog::model::TagSource::User,
                fetch: Default::default(),
            }),
        }
    }

    #[test]
    fn xspf_escapes_and_carries_tags() {
        let entries = [
            entry(
                "aaaaaaaaaaa",
                "A & B",
                "<T> \"q\" 'x'",
                "Alb\u{1}um",
                Some(212),
            ),
            PlaylistEntry {
                video_id: "bbbbbbbbbbb".into(),
                track: None,
            },
        ];
        let links = Links {
            base_url: "http://h:1/",
            token: None,
        };
        let text = xspf("Mix & <Match>", &entries, links);
        assert!(text.contains("<title>Mix &amp; &lt;Match&gt;</title>"));
        assert!(text.contains("<location>http://h:1/proxy/aaaaaaaaaaa/?icy=0</location>"));
        assert!(text.contains("<creator>A &amp; B</creator>"));
        assert!(text.contains("<title>&lt;T&gt; &quot;q&quot; &apos;x&apos;</title>"));
        assert!(text.contains("<album>Album</album>"));
        assert!(text.contains("<duration>212000</duration>"));
        assert!(text.contains("<title>bbbbbbbbbbb</title>"));
        assert_eq!(text.matches("<track>").count(), 2);
    }

    #[test]
    fn m3u_lines_cannot_be_broken() {
        let entries = [entry("aaaaaaaaaaa", "A\r\n#EXTINF:1,evil", "T", "", None)];
        let links = Links {
            base_url: "http://h:1",
            token: Some("tok"),
        };
        let text = m3u("Name\nX", &entries, links);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "#EXTM3U",
                "#PLAYLIST:Name X",
                "#EXTINF:-1,A  #EXTINF:1,evil - T",
                "http://h:1/proxy/aaaaaaaaaaa/?icy=0&token=tok"
            ]
        );
        let local = Links {
            base_url: "http://127.0.0.1:8080",
            token: Some("tok"),
        };
        assert_eq!(
            track_url(local, "aaaaaaaaaaa"),
            "http://127.0.0.1:8080/proxy/aaaaaaaaaaa/?icy=0"
        );
    }
}
