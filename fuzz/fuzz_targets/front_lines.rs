//! What the front door reads from a client's line before it decides who
//! answers it: `mpd::words::split` (MPD's quoting) and, for a search,
//! `mpd::filter::asked` (the old form and filter expressions), on any
//! bytes: words or a refusal, never a panic or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(words) = icyproxy::mpd::words::split(line) {
        if let Some((_, args)) = words.split_first() {
            let _ = icyproxy::mpd::filter::asked(args);
            let _ = icyproxy::mpd::filter::filter_part(args);
        }
    }
});
