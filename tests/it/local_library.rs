//! A real MPD with a local library of its own (`common::music_files`):
//! songs it indexes with their tags, finds by search, and plays. What
//! the front door's merged answers will stand on.
//!
//! Without `mpd` and `mpc` the tests fail; `ICYPROXY_SKIP_MPD=1` skips
//! them, as in `tests/it/mpd.rs`.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::mpd::{Mpd, decoder_errors, get_value, skip_mpd_test, wait_elapsed, wait_state};
use crate::common::music_files::{SECONDS, Song, synthetic};

/// Ten times what a one-second song needs to start and to end.
const EVENT: Duration = Duration::from_secs(10);

fn library() -> Vec<Song> {
    vec![
        Song::new("Björk", "Homogenic", "Jóga", 3),
        Song::new("Björk", "Homogenic", "Hunter", 1),
        Song::new("Massive Attack", "Mezzanine", "Angel", 1),
        Song::new("Massive Attack", "Mezzanine", "Teardrop", 3),
        Song::new("Portishead", "Dummy", "Roads", 5),
    ]
}

#[test]
fn search_any_finds_the_generated_songs_with_their_tags() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let mpd = Mpd::with_library(&library(), "");
    let found = |query: &str| {
        let out = mpd.mpc(&[
            "-f",
            "%artist% :: %album% :: %track% :: %title% :: %time%",
            "search",
            "any",
            query,
        ]);
        let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    // By title and by artist, in any case.
    assert_eq!(
        found("EA"),
        [
            "Massive Attack :: Mezzanine :: 3 :: Teardrop :: 0:01",
            "Portishead :: Dummy :: 5 :: Roads :: 0:01",
        ]
    );
    // By album, beyond ASCII.
    assert_eq!(
        found("homogenic"),
        [
            "Björk :: Homogenic :: 1 :: Hunter :: 0:01",
            "Björk :: Homogenic :: 3 :: Jóga :: 0:01",
        ]
    );

    // The protocol's own answer: every tag, the URI and the duration.
    let mut c = mpd.connect();
    let song = c.ok("search any \"jóga\"");
    for (key, want) in [
        ("file", "Björk/Homogenic/03 Jóga.mp3"),
        ("Artist", "Björk"),
        ("Album", "Homogenic"),
        ("Title", "Jóga"),
        ("Track", "3"),
        ("Time", "1"),
        ("duration", &SECONDS.to_string()),
    ] {
        assert_eq!(get_value(&song, key), Some(want), "{key} in {song:?}");
    }
    // Laid out as a real library: a folder per artist, one per album.
    let root = c.ok("lsinfo");
    let artists: Vec<&str> = root
        .iter()
        .filter(|(k, _)| k == "directory")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(artists, ["Björk", "Massive Attack", "Portishead"]);
}

#[test]
fn a_generated_song_plays_to_its_end_on_the_null_output() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let song = Song::new("Portishead", "Dummy", "Roads", 5);
    let mpd = Mpd::with_library(std::slice::from_ref(&song), "");
    let mut c = mpd.connect();
    c.ok(&format!("add \"{}\"", song.uri()));
    c.ok("play 0");
    assert!(wait_state(&mut c, "play", EVENT), "{:?}", c.status());
    assert_eq!(get_value(&c.ok("currentsong"), "Title"), Some("Roads"));
    assert!(
        wait_elapsed(&mut c, SECONDS / 4.0, EVENT),
        "elapsed did not advance: {:?}",
        c.status()
    );
    // One song in the queue: at its end MPD stops.
    assert!(wait_state(&mut c, "stop", EVENT), "{:?}", c.status());
    let log = mpd.log_text();
    assert!(
        log.contains(&format!("player: played \"{}\"", song.uri())),
        "{log}"
    );
    assert_eq!(decoder_errors(&log), Vec::<String>::new(), "{log}");
}

// ------------------------------------------------- the files themselves

#[test]
fn the_tag_and_the_frames_are_laid_out_byte_for_byte() {
    let mp3 = Song::new("A", "B", "Cé", 7).mp3();
    // Four text frames of 10 + 1 + text bytes: 14 + 12 + 12 + 12 = 50.
    assert_eq!(&mp3[..10], b"ID3\x04\x00\x00\x00\x00\x00\x32");
    assert_eq!(&mp3[10..24], "TIT2\0\0\0\x04\0\0\x03Cé".as_bytes());
    // Then 28 silent frames of 36 bytes, each starting FF F3 18 C0.
    assert_eq!(mp3.len(), 10 + 50 + 28 * 36);
    assert!(
        mp3[60..]
            .chunks(36)
            .all(|f| f[..4] == [0xFF, 0xF3, 0x18, 0xC0])
    );
    // A size past 127 in seven-bit bytes: 200 + 1 is 1 × 128 + 73.
    let long = Song::new("A", "B", &"x".repeat(200), 1).mp3();
    assert_eq!(&long[14..18], &[0, 0, 1, 73]);
}

#[test]
fn names_become_safe_paths() {
    let song = Song::new(".hidden", "AC/DC", "", 3);
    assert_eq!(song.uri(), "_hidden/AC_DC/03 _.mp3");
}

#[test]
fn synthetic_songs_are_distinct() {
    let songs = synthetic(45);
    let uris: HashSet<String> = songs.iter().map(Song::uri).collect();
    assert_eq!(uris.len(), 45);
    assert_eq!(
        songs[44].uri(),
        "Artist 0003/Album 0003-1/05 Song 00045.mp3"
    );
    assert_eq!(songs[19].album, "Album 0001-2");
}
