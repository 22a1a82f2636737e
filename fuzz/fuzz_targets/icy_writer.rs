//! Round trip of the ICY block writer: whatever the audio, the title and
//! how the audio arrives in pieces, an ICY client parsing the output gets
//! the audio back exactly and one valid StreamTitle field.
#![no_main]

use icyproxy::stream::icy::{self, IcyInserter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let metaint = 1 + usize::from(u16::from_le_bytes([data[0], data[1]]) % 4096);
    let title_len = usize::from(data[2]).min(data.len() - 4) * 8 % (data.len() - 3);
    let piece = 1 + usize::from(data[3]);
    let rest = &data[4..];
    let split = title_len.min(rest.len());
    let title = String::from_utf8_lossy(&rest[..split]).into_owned();
    let audio = &rest[split..];

    let mut ins = IcyInserter::new(metaint, &title);
    let first_len = ins.first_block_len() as u64;
    let mut out = Vec::new();
    for chunk in audio.chunks(piece) {
        ins.write_audio(chunk, &mut out).expect("writing to a Vec");
    }
    assert_eq!(out.len() as u64, icy::wire_length(audio.len() as u64, metaint as u64, first_len).expect("fits"));

    // Parse as a client would.
    let (mut back, mut metas, mut i) = (Vec::new(), Vec::new(), 0);
    while i < out.len() {
        let n = metaint.min(out.len() - i);
        back.extend_from_slice(&out[i..i + n]);
        i += n;
        if i < out.len() {
            let len = usize::from(out[i]) * 16;
            assert!(i + 1 + len <= out.len(), "block runs past the end");
            metas.push(out[i + 1..i + 1 + len].to_vec());
            i += 1 + len;
        }
    }
    assert_eq!(back, audio);
    if let Some((first, later)) = metas.split_first() {
        let text = std::str::from_utf8(first).expect("UTF-8 block");
        let text = text.trim_end_matches('\0');
        let inner = text
            .strip_prefix("StreamTitle='")
            .and_then(|t| t.strip_suffix("';"))
            .expect("one StreamTitle field");
        assert!(!inner.contains("';"), "field ends early");
        assert!(!inner.contains(['\r', '\n', '\0']));
        assert_eq!(inner, icy::sanitize_stream_title(&title));
        assert!(later.iter().all(Vec::is_empty));
    }
});
