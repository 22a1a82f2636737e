//! One rule for each tag, whatever the shape of yt-dlp's JSON: artist,
//! title, album, duration, cover.

use crate::catalog::stream_url;
use crate::catalog::tags::Tags;
use crate::catalog::ytdlp::Info;

/// The longest duration believed, in seconds: a day. YouTube keeps uploads
/// and live archives of at most 12 hours; a larger number is a wrong one,
/// and no length is better than a wrong one. (It also keeps
/// `duration_secs * 1000` far from overflowing.)
pub const MAX_DURATION_SECS: i64 = 24 * 60 * 60;

/// The suffix of YouTube's auto-generated artist channels ("Röyksopp -
/// Topic"): not part of the artist's name.
const TOPIC: &str = " - Topic";

impl Info {
    /// The artist, by one rule for every shape: the first of
    ///
    /// 1. YouTube Music's artists: `artists` joined with ", ", else
    ///    `artist` (yt-dlp's own join of the same list, which writes a comma
    ///    inside a name as a full-width "，": the list keeps
    ///    "Tyler, The Creator" whole);
    /// 2. the video's creators: `creators` joined, else `creator` (a song's
    ///    artists again, or the channels that made a video together);
    /// 3. the channel (`channel`, else `uploader`), without the " - Topic"
    ///    of YouTube's auto-generated artist channels.
    ///
    /// The channel comes last, and is used whenever nothing else names
    /// someone, Topic channel or not. Flat playlist entries carry nothing
    /// else: their artist is always the channel, and for YouTube Music's
    /// songs that is the "Artist - Topic" channel. For other uploads the
    /// channel is who published the video (for music usually the artist's
    /// own channel), which beats showing a title with no name at all.
    pub fn artist(&self) -> String {
        self.music_artist()
            .or_else(|| joined(&self.creators).or_else(|| nonempty(&self.creator)))
            .or_else(|| {
                let channel = nonempty(&self.channel).or_else(|| nonempty(&self.uploader))?;
                let name = channel.strip_suffix(TOPIC).unwrap_or(&channel).trim();
                (!name.is_empty()).then(|| name.to_owned())
            })
            .unwrap_or_default()
    }

    /// YouTube Music's own artist (step 1 of [`Info::artist`]), when given.
    fn music_artist(&self) -> Option<String> {
        joined(&self.artists).or_else(|| nonempty(&self.artist))
    }

    /// The title: YouTube Music's `track` (the song's), else `title` (the
    /// video's, "Artist - Song (Official Video)" on YouTube); empty when
    /// neither is given.
    pub fn title(&self) -> String {
        nonempty(&self.track)
            .or_else(|| nonempty(&self.title))
            .unwrap_or_default()
    }

    /// Whether the tags are YouTube Music's own (a `track`, or artists),
    /// not only a video's title and channel.
    pub fn is_music(&self) -> bool {
        nonempty(&self.track).is_some() || self.music_artist().is_some()
    }

    /// `album`, when it says something.
    pub fn album(&self) -> Option<String> {
        nonempty(&self.album)
    }

    /// `duration` in whole seconds: see [`duration_secs`].
    pub fn duration_secs(&self) -> Option<i64> {
        self.duration.and_then(duration_secs)
    }

    /// The cover: yt-dlp's own choice (`thumbnail`) when it is an http(s)
    /// URL, else the largest of `thumbnails` (by area; the last of equals,
    /// as yt-dlp lists them worst first). Flat entries have only the list.
    pub fn thumbnail_url(&self) -> Option<String> {
        let usable = |url: &str| stream_url::check(url).is_ok();
        self.thumbnail
            .clone()
            .filter(|url| usable(url))
            .or_else(|| {
                self.thumbnails
                    .iter()
                    .enumerate()
                    .filter(|(_, (url, _, _))| usable(url))
                    .max_by_key(|(i, (_, width, height))| (width.saturating_mul(*height), *i))
                    .map(|(_, (url, _, _))| url.clone())
            })
    }

    /// All the tags, each by its rule.
    pub fn tags(&self) -> Tags {
        Tags {
            artist: self.artist(),
            title: self.title(),
            album: self.album(),
            duration_secs: self.duration_secs(),
            thumbnail_url: self.thumbnail_url(),
        }
    }
}

/// Seconds as icyproxy keeps them: rounded to whole seconds, and only
/// when finite and from 0 to [`MAX_DURATION_SECS`].
pub fn duration_secs(secs: f64) -> Option<i64> {
    (secs.is_finite() && (0.0..=MAX_DURATION_SECS as f64).contains(&secs))
        .then(|| secs.round() as i64)
}

/// The text, trimmed, when it says something.
fn nonempty(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The names that say something, joined with ", "; `None` when none do.
fn joined(names: &Option<Vec<String>>) -> Option<String> {
    let names: Vec<&str> = names
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tags expected of one shape: artist, title, album, duration,
    /// thumbnail, and whether they are YouTube Music's.
    struct Want {
        artist: &'static str,
        title: &'static str,
        album: Option<&'static str>,
        duration_secs: Option<i64>,
        thumbnail: Option<&'static str>,
        music: bool,
    }

    fn check(name: &str, info: &Info, want: &Want) {
        let tags = info.tags();
        assert_eq!(tags.artist, want.artist, "{name}: artist");
        assert_eq!(tags.title, want.title, "{name}: title");
        assert_eq!(tags.album.as_deref(), want.album, "{name}: album");
        assert_eq!(tags.duration_secs, want.duration_secs, "{name}: duration");
        assert_eq!(
            tags.thumbnail_url.as_deref(),
            want.thumbnail,
            "{name}: thumbnail"
        );
        assert_eq!(info.is_music(), want.music, "{name}: music");
    }

    /// `-j` output as yt-dlp prints it (keys trimmed to those read,
    /// values as yt-dlp gives them), each read by the one set of rules.
    #[test]
    fn full_shapes_by_the_same_rules() {
        let cases: [(&str, &str, Want); 3] = [
            (
                // `-j -f bestaudio` of a YouTube Music song: `artists` a
                // list, `artist`/`creator` yt-dlp's joins of it (a comma in
                // a name made full-width), a Topic channel.
                "music track",
                r#"{"id":"aaaaaaaaaa1","title":"Yonkers","track":"Yonkers",
                    "artists":["Tyler, The Creator","Frank Ocean"],
                    "artist":"Tyler， The Creator, Frank Ocean",
                    "creators":["Tyler, The Creator","Frank Ocean"],
                    "creator":"Tyler， The Creator, Frank Ocean",
                    "album":"Goblin","channel":"Tyler, The Creator - Topic",
                    "uploader":"Tyler, The Creator - Topic","duration":249.0,
                    "thumbnail":"https://i.ytimg.com/vi/aaaaaaaaaa1/maxresdefault.jpg",
                    "url":"https://rr1---sn-x.googlevideo.com/videoplayback?expire=1","extractor":"youtube"}"#,
                Want {
                    artist: "Tyler, The Creator, Frank Ocean",
                    title: "Yonkers",
                    album: Some("Goblin"),
                    duration_secs: Some(249),
                    thumbnail: Some("https://i.ytimg.com/vi/aaaaaaaaaa1/maxresdefault.jpg"),
                    music: true,
                },
            ),
            (
                // An official music video on the artist's channel: the
                // video's title carries the artist, `track` does not.
                "music video",
                r#"{"id":"dQw4w9WgXcQ",
                    "title":"Rick Astley - Never Gonna Give You Up (Official Music Video)",
                    "track":"Never Gonna Give You Up","artists":["Rick Astley"],
                    "artist":"Rick Astley","album":"Whenever You Need Somebody",
                    "creators":null,"channel":"Rick Astley","uploader":"Rick Astley",
                    "duration":212.061,"thumbnails":[{"url":"https://i.ytimg.com/a.jpg"}],
                    "thumbnail":"https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp"}"#,
                Want {
                    artist: "Rick Astley",
                    title: "Never Gonna Give You Up",
                    album: Some("Whenever You Need Somebody"),
                    duration_secs: Some(212),
                    thumbnail: Some("https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp"),
                    music: true,
                },
            ),
            (
                // A plain upload: a title and a channel, nothing more; a
                // collaboration names both channels as `creators`.
                "plain upload",
                r#"{"id":"brhfDfLdDZ8","title":"Scientists React to Movie Science",
                    "channel":"Sauce +","uploader":"Sauce +",
                    "creators":["Sauce +","William Osman 2"],"creator":"Sauce +, William Osman 2",
                    "duration":1664,"album":"  ","thumbnail":"file:///etc/passwd",
                    "thumbnails":[{"url":"https://i/small.jpg","width":168,"height":94},
                                  {"url":"https://i/big.jpg","width":1280,"height":720},
                                  {"url":"https://i/mid.jpg","width":320,"height":180}]}"#,
                Want {
                    artist: "Sauce +, William Osman 2",
                    title: "Scientists React to Movie Science",
                    album: None,
                    duration_secs: Some(1664),
                    thumbnail: Some("https://i/big.jpg"),
                    music: false,
                },
            ),
        ];
        check_all(&cases);
    }

    /// Flat playlist entries and import lines, by the same rules as `-j`.
    #[test]
    fn flat_and_import_shapes_by_the_same_rules() {
        let cases: [(&str, &str, Want); 3] = [
            (
                // A flat playlist entry: no music tags, the artist is the
                // Topic channel's name.
                "flat entry",
                r#"{"_type":"url","ie_key":"Youtube","id":"bbbbbbbbbb2",
                    "url":"https://www.youtube.com/watch?v=bbbbbbbbbb2",
                    "title":"戦場のメリークリスマス","duration":null,
                    "channel":"坂本龍一 - Topic","uploader":"坂本龍一 - Topic",
                    "thumbnails":[{"url":"https://i.ytimg.com/vi/bbbbbbbbbb2/hqdefault.jpg","width":168,"height":94}],
                    "availability":null,"live_status":null,"__x_forwarded_for_ip":null}"#,
                Want {
                    artist: "坂本龍一",
                    title: "戦場のメリークリスマス",
                    album: None,
                    duration_secs: None,
                    thumbnail: Some("https://i.ytimg.com/vi/bbbbbbbbbb2/hqdefault.jpg"),
                    music: false,
                },
            ),
            (
                // A flat entry of a private video: a placeholder title,
                // nothing else.
                "private entry",
                r#"{"_type":"url","ie_key":"Youtube","id":"eeeeeeeeee5",
                    "url":"https://www.youtube.com/watch?v=eeeeeeeeee5","title":"[Private video]",
                    "duration":null,"channel":null,"uploader":null,"thumbnails":[]}"#,
                Want {
                    artist: "",
                    title: "[Private video]",
                    album: None,
                    duration_secs: None,
                    thumbnail: None,
                    music: false,
                },
            ),
            (
                // An import line in icyproxy's names with yt-dlp's as
                // aliases (read by `Info::read_import` below too).
                "import line",
                r#"{"id":"ccccccccccc","url":"https://h/b","title":"Video title",
                    "track":"Song","artists":["A","B"],"artist":"Solo","duration":200.4}"#,
                Want {
                    artist: "A, B",
                    title: "Song",
                    album: None,
                    duration_secs: Some(200),
                    thumbnail: None,
                    music: true,
                },
            ),
        ];
        check_all(&cases);
    }

    fn check_all(cases: &[(&str, &str, Want)]) {
        for (name, json, want) in cases {
            let info = Info::parse(&json.replace('\n', " ")).expect(name);
            check(name, &info, want);
        }
    }

    #[test]
    fn youtube_music_tags_are_told_apart_from_channel_names() {
        let info = Info::parse(
            r#"{"title":"Song (Official Video)","track":"Song","artists":["A","B"],"uploader":"A - Topic"}"#,
        )
        .expect("valid");
        assert!(info.is_music());
        assert_eq!(
            (info.title(), info.artist()),
            ("Song".into(), "A, B".into())
        );
        let info = Info::parse(r#"{"title":"Vlog","uploader":"Someone"}"#).expect("valid");
        assert!(!info.is_music());
        assert_eq!(info.artist(), "Someone");
    }

    #[test]
    fn the_artist_falls_back_in_order() {
        let artist = |json: &str| Info::parse(json).expect(json).artist();
        assert_eq!(artist(r#"{"artists":[" ",""],"artist":"A"}"#), "A");
        assert_eq!(
            artist(r#"{"artist":" ","creator":"C","channel":"Ch"}"#),
            "C"
        );
        assert_eq!(
            artist(r#"{"creators":["C1","C2"],"creator":"x"}"#),
            "C1, C2"
        );
        assert_eq!(artist(r#"{"channel":" ","uploader":"U - Topic"}"#), "U");
        assert_eq!(artist(r#"{"channel":"Ch - Topic ","uploader":"U"}"#), "Ch");
        assert_eq!(artist(r#"{"channel":"Topic Records"}"#), "Topic Records");
        assert_eq!(artist(r#"{"title":"T"}"#), "");
    }

    #[test]
    fn durations_are_clamped_to_what_can_be_true() {
        assert_eq!(duration_secs(212.4), Some(212));
        assert_eq!(duration_secs(0.0), Some(0));
        assert_eq!(duration_secs(86_400.0), Some(86_400));
        for bad in [-1.0, 86_400.6, 1e300, f64::NAN, f64::INFINITY] {
            assert_eq!(duration_secs(bad), None, "{bad}");
        }
        let info = Info::parse(r#"{"duration":1e19}"#).expect("valid");
        assert_eq!(info.duration_secs(), None);
    }
}
