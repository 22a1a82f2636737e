//! The reader of YouTube Music's answers (`catalog::music::offline::read_all`:
//! every call's first page, its rows, continuations, album and artist
//! pages) on any bytes: a count or a typed error, never a panic. Seeds
//! worth giving it: answers of `tests/it/common/ytmusic.rs`'s stand-in.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = icyproxy::catalog::music::offline::read_all(data);
});
