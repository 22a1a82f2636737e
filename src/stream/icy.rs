//! ICY (Shoutcast/Icecast) metadata: the `StreamTitle` text, the inline
//! metadata blocks and the writer that interleaves them with audio.
//!
//! Pure logic with no sockets, so every byte can be checked in unit tests.
//! Wire format: after every `metaint` audio bytes comes one length byte `L`
//! and then `L * 16` bytes of metadata text, NUL-padded. `L = 0` means
//! "no change".

use std::io::{self, Write};

/// The most metadata text one block can carry (255 × 16 bytes).
pub const MAX_METADATA_BYTES: usize = 255 * 16;

const TITLE_PREFIX: &str = "StreamTitle='";
const TITLE_SUFFIX: &str = "';";
/// Longest title that still lets `StreamTitle='…';` fit one block.
const MAX_TITLE_BYTES: usize = MAX_METADATA_BYTES - TITLE_PREFIX.len() - TITLE_SUFFIX.len();
/// `icy-name` is a header; keep it to one sane line.
const MAX_HEADER_BYTES: usize = 1024;

/// Makes `text` safe for a `StreamTitle='…';` field.
///
/// Control characters (CR, LF, NUL, …) are removed, `';` (which MPD and
/// others take as the end of the field) is broken up as `' ;`, and the
/// result is cut on a character boundary so the whole field fits one block.
pub fn sanitize_stream_title(text: &str) -> String {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.replace("';", "' ;");
    cut_at_char_boundary(&cleaned, MAX_TITLE_BYTES).to_owned()
}

/// Makes `text` safe for a header value such as `icy-name`: one line,
/// no control characters, at most 1 KiB.
pub fn sanitize_header_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cut_at_char_boundary(cleaned.trim(), MAX_HEADER_BYTES)
        .trim_end()
        .to_owned()
}

fn cut_at_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One complete metadata block (length byte, text, NUL padding) carrying
/// `StreamTitle='<title>';`. The title is sanitised here.
pub fn title_block(title: &str) -> Vec<u8> {
    let field = format!(
        "{TITLE_PREFIX}{}{TITLE_SUFFIX}",
        sanitize_stream_title(title)
    );
    let units = field.len().div_ceil(16);
    debug_assert!(
        units <= 255,
        "sanitize_stream_title keeps the field in one block"
    );
    let mut block = Vec::with_capacity(1 + units * 16);
    block.push(units as u8);
    block.extend_from_slice(field.as_bytes());
    block.resize(1 + units * 16, 0);
    block
}

/// The number of body bytes a response carries when `audio_len` audio bytes
/// are interleaved with blocks: exact, so it can go in `Content-Length`.
/// `None` when that number does not fit in a `u64`.
pub fn wire_length(audio_len: u64, metaint: u64, first_block_len: u64) -> Option<u64> {
    if audio_len == 0 || metaint == 0 {
        return Some(audio_len);
    }
    // A block goes before audio byte k*metaint (k >= 1), never after the last byte.
    let blocks = (audio_len - 1) / metaint;
    match blocks {
        0 => Some(audio_len),
        n => audio_len.checked_add(first_block_len)?.checked_add(n - 1),
    }
}

/// Interleaves metadata blocks with audio, counting from the first body
/// byte of the response. The first block carries the title, later ones are
/// the single byte 0 ("unchanged").
#[derive(Debug)]
pub struct IcyInserter {
    metaint: usize,
    until_block: usize,
    first_block: Option<Vec<u8>>,
    /// Audio and blocks are gathered here and written with one call: a
    /// 1-byte block on its own would cost a syscall.
    scratch: Vec<u8>,
}

impl IcyInserter {
    /// `metaint` must be at least 1 (the config guarantees it).
    pub fn new(metaint: usize, title: &str) -> IcyInserter {
        assert!(metaint > 0, "metaint is validated as >= 1 in config");
        IcyInserter {
            metaint,
            until_block: metaint,
            first_block: Some(title_block(title)),
            scratch: Vec::new(),
        }
    }

    /// Length of the first block, for [`wire_length`].
    pub fn first_block_len(&self) -> usize {
        self.first_block.as_ref().map_or(1, Vec::len)
    }

    /// Writes `audio` to `out`, with a block before every `metaint`-th byte.
    /// Returns the number of bytes written to `out`.
    pub fn write_audio(&mut self, mut audio: &[u8], out: &mut impl Write) -> io::Result<u64> {
        self.scratch.clear();
        while !audio.is_empty() {
            if self.until_block == 0 {
                match self.first_block.take() {
                    Some(block) => self.scratch.extend_from_slice(&block),
                    None => self.scratch.push(0),
                }
                self.until_block = self.metaint;
            }
            let n = audio.len().min(self.until_block);
            self.scratch.extend_from_slice(&audio[..n]);
            self.until_block -= n;
            audio = &audio[n..];
        }
        out.write_all(&self.scratch)?;
        Ok(self.scratch.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits an ICY body back into audio and block texts, as a client would.
    fn parse(body: &[u8], metaint: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let (mut audio, mut blocks, mut i) = (Vec::new(), Vec::new(), 0);
        while i < body.len() {
            let n = metaint.min(body.len() - i);
            audio.extend_from_slice(&body[i..i + n]);
            i += n;
            if i < body.len() {
                let len = body[i] as usize * 16;
                blocks.push(body[i + 1..i + 1 + len].to_vec());
                i += 1 + len;
            }
        }
        (audio, blocks)
    }

    #[test]
    fn block_is_length_byte_text_and_nul_padding() {
        let block = title_block("A - T");
        let text = b"StreamTitle='A - T';";
        assert_eq!(block[0], 2);
        assert_eq!(block.len(), 33);
        assert_eq!(&block[1..1 + text.len()], text);
        assert!(block[1 + text.len()..].iter().all(|&b| b == 0));
    }

    #[test]
    fn hostile_titles_stay_one_valid_field() {
        let long = "é".repeat(2500); // 5000 bytes
        for title in [
            "it's; fine",
            "a';b",
            "x\r\ny\0z",
            "🎵 emoji 🎶",
            "end'",
            long.as_str(),
        ] {
            let block = title_block(title);
            assert_eq!(block.len(), 1 + block[0] as usize * 16);
            let text = std::str::from_utf8(&block[1..])
                .expect("valid UTF-8")
                .trim_end_matches('\0');
            assert!(text.starts_with("StreamTitle='") && text.ends_with("';"));
            let inner = &text["StreamTitle='".len()..text.len() - 2];
            assert!(!inner.contains("';"), "{inner:?} ends the field early");
            assert!(!inner.contains(['\r', '\n', '\0']));
        }
    }

    #[test]
    fn long_title_is_cut_on_a_character_boundary() {
        let title = "🎵".repeat(2000);
        let cut = sanitize_stream_title(&title);
        assert!(cut.len() <= MAX_TITLE_BYTES);
        assert!(cut.len() > MAX_TITLE_BYTES - 4);
        assert!(cut.chars().all(|c| c == '🎵'));
        assert_eq!(title_block(&title)[0], 255);
    }

    #[test]
    fn header_value_is_one_line() {
        assert_eq!(sanitize_header_value("A\r\nB\0C"), "A  B C");
        assert!(sanitize_header_value(&"x".repeat(5000)).len() <= 1024);
    }

    #[test]
    fn wire_length_near_the_limit_is_none_not_wrong() {
        assert_eq!(wire_length(u64::MAX, 16000, 1), None);
        assert_eq!(wire_length(u64::MAX - 100, 1, 1), None);
        assert_eq!(wire_length(u64::MAX, u64::MAX, 1), Some(u64::MAX));
        assert_eq!(
            wire_length(1 << 63, 16000, 17).map(|n| n > 1 << 63),
            Some(true)
        );
    }

    #[test]
    fn inserter_round_trips_and_matches_wire_length() {
        let audio: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for metaint in [1, 7, 100, 1000, 9_999, 10_000, 10_001] {
            for len in [0, 1, 99, 100, 101, 1000, 10_000] {
                for write_size in [1, 3, 64, 4096] {
                    let mut ins = IcyInserter::new(metaint, "Artist - Title");
                    let first = ins.first_block_len() as u64;
                    let mut out = Vec::new();
                    let mut counted = 0;
                    for piece in audio[..len].chunks(write_size) {
                        counted += ins.write_audio(piece, &mut out).expect("vec write");
                    }
                    assert_eq!(counted, out.len() as u64);
                    assert_eq!(
                        out.len() as u64,
                        wire_length(len as u64, metaint as u64, first).expect("small lengths fit")
                    );
                    let (back, blocks) = parse(&out, metaint);
                    assert_eq!(back, &audio[..len], "metaint {metaint} len {len}");
                    if let Some((head, rest)) = blocks.split_first() {
                        assert!(head.starts_with(b"StreamTitle='Artist - Title';"));
                        assert!(rest.iter().all(Vec::is_empty));
                    }
                }
            }
        }
    }
}
