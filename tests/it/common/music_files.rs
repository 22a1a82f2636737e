//! A local music library for the test MPD, made here byte by byte: each
//! song a tiny MP3 (an ID3v2.4 tag, then a second of silent MPEG frames)
//! that Debian's MPD indexes with its tags and duration and plays to the
//! null output. No encoder, no fixture files.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::Path;

/// One song of the library: its tags, and so its place on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Song {
    pub artist: String,
    pub album: String,
    pub title: String,
    /// Its number on the album, from 1.
    pub track: u32,
}

impl Song {
    pub fn new(artist: &str, album: &str, title: &str, track: u32) -> Song {
        Song {
            artist: artist.to_owned(),
            album: album.to_owned(),
            title: title.to_owned(),
            track,
        }
    }

    /// Its URI in MPD's database: `Artist/Album/NN Title.mp3`, as a
    /// ripper lays out a real library.
    pub fn uri(&self) -> String {
        format!(
            "{}/{}/{:02} {}.mp3",
            path_part(&self.artist),
            path_part(&self.album),
            self.track,
            path_part(&self.title)
        )
    }

    /// The whole file: the tag, then [`SECONDS`] of silence.
    pub fn mp3(&self) -> Vec<u8> {
        let mut file = id3(&[
            ("TIT2", &self.title),
            ("TPE1", &self.artist),
            ("TALB", &self.album),
            ("TRCK", &self.track.to_string()),
        ]);
        for _ in 0..FRAMES {
            file.extend_from_slice(&SILENT_FRAME);
        }
        file
    }
}

/// How long every song lasts, as MPD reports it (`duration: 1.008`,
/// `Time: 1`): [`FRAMES`] frames of 576 samples at 16 kHz.
pub const SECONDS: f64 = 1.008;

const FRAMES: usize = 28;

/// One MPEG-2 (LSF) Layer III frame of silence, 36 bytes: the header
/// `FF F3` (sync, MPEG-2, Layer III, no CRC), `18` (8 kbit/s, 16 kHz, no
/// padding), `C0` (mono); then side information and main data all zero,
/// which is every granule empty. 72 × 8000 / 16000 = 36 bytes a frame,
/// 576 samples = 36 ms. MPD's mad decoder takes the duration from the
/// size and the bit rate (there is no Xing header), and no byte after the
/// header is `FF`, so no false sync is found inside a frame.
const SILENT_FRAME: [u8; 36] = {
    let mut frame = [0u8; 36];
    frame[0] = 0xFF;
    frame[1] = 0xF3;
    frame[2] = 0x18;
    frame[3] = 0xC0;
    frame
};

/// An ID3v2.4 tag of text frames, each UTF-8 (encoding byte 3), so names
/// beyond ASCII come through as they are.
fn id3(frames: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (id, text) in frames {
        assert!(!text.contains('\n'), "a tag of one line: {text:?}");
        body.extend_from_slice(id.as_bytes());
        body.extend_from_slice(&syncsafe(text.len() + 1));
        body.extend_from_slice(&[0, 0, 3]);
        body.extend_from_slice(text.as_bytes());
    }
    let mut tag = b"ID3\x04\x00\x00".to_vec();
    tag.extend_from_slice(&syncsafe(body.len()));
    tag.extend(body);
    tag
}

/// A size in ID3v2.4's four bytes of seven bits each.
fn syncsafe(n: usize) -> [u8; 4] {
    assert!(n < 1 << 28, "an ID3 size fits 28 bits: {n}");
    [(n >> 21) as u8, (n >> 14) as u8, (n >> 7) as u8, n as u8].map(|b| b & 0x7F)
}

/// A name as a file or folder name: no `/`, not hidden (MPD skips names
/// that start with a dot), never empty.
fn path_part(name: &str) -> String {
    let part: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    match part.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None if part.is_empty() => "_".to_owned(),
        None => part,
    }
}

/// Writes each song to its [`Song::uri`] under `music_dir`; the URIs, in
/// order. Two songs on one path are a mistake in the test.
pub fn write_library(music_dir: &Path, songs: &[Song]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut made_dirs = HashSet::new();
    songs
        .iter()
        .map(|song| {
            let uri = song.uri();
            assert!(seen.insert(uri.clone()), "two songs at {uri}");
            let path = music_dir.join(&uri);
            let dir = path.parent().expect("a song is in an album folder");
            if made_dirs.insert(dir.to_path_buf()) {
                std::fs::create_dir_all(dir).expect("album folder");
            }
            std::fs::write(&path, song.mp3()).expect("write song");
            uri
        })
        .collect()
}

/// `n` made-up songs for a bench: ten to an album, two albums to an
/// artist, every name distinct and numbered (`Artist 0001`, `Album
/// 0001-2`, `Song 00017`), so a search for one finds only it.
pub fn synthetic(n: usize) -> Vec<Song> {
    (0..n)
        .map(|i| {
            let (artist, album, track) = (i / 20 + 1, i / 10 % 2 + 1, i % 10 + 1);
            Song {
                artist: format!("Artist {artist:04}"),
                album: format!("Album {artist:04}-{album}"),
                title: format!("Song {:05}", i + 1),
                track: track as u32,
            }
        })
        .collect()
}
