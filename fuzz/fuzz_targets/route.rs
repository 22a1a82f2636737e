//! Request routing and the other request-text parsers never panic, and
//! what they accept is well formed.
#![no_main]

use icyproxy::http::route::{self, Route};
use icyproxy::wire::{self, ByteRange, ContentRange};
use icyproxy::http::access;
use icyproxy::video_id::VideoId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (method, target) = text.split_once(' ').unwrap_or(("GET", &text));
    if let Ok(route) = route::route(method, target) {
        match route {
            Route::Stream { id, .. } | Route::Cover { id, .. } => {
                assert!(VideoId::parse(id.as_str()).is_some());
            }
            Route::Playlist { name, .. } => {
                assert!(icyproxy::catalog::model::check_playlist_name(&name).is_ok());
                assert!(!name.contains('/'));
            }
            Route::Health | Route::Metrics | Route::Playlists => {}
        }
    }
    if let Some(decoded) = wire::percent_decode(&text) {
        assert_eq!(wire::percent_decode(&wire::percent_encode(&decoded)).as_deref(), Some(decoded.as_str()));
    }
    if let Some(range) = ByteRange::parse(&text) {
        // What we forward parses back to the same range.
        assert_eq!(ByteRange::parse(&range.to_string()), Some(range));
        for total in [0, 1, 1000, u64::MAX - 1, u64::MAX] {
            if let Some((start, end)) = range.within(total) {
                assert!(start < end && end <= total);
            }
        }
    }
    if let Some(got) = ContentRange::parse(&text) {
        let (start, end) = got.span();
        assert!(start < end);
        if let Some(total) = got.total {
            assert!(end <= total);
        }
        assert_eq!(ContentRange::parse(&got.to_string()), Some(got));
    }
    let _ = access::presented_token(&text, Some(&text));
    let _ = icyproxy::catalog::stream_url::check(&text);
    let _ = icyproxy::catalog::stream_url::expires_at(&text);
});
