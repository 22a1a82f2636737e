//! Request routing and the other request-text parsers never panic, and
//! what they accept is well formed.
#![no_main]

use icyproxy::route::{self, Route};
use icyproxy::{VideoId, access, upstream};
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
                assert!(icyproxy::store::check_playlist_name(&name).is_ok());
                assert!(!name.contains('/'));
            }
            Route::Health | Route::Metrics | Route::Playlists => {}
        }
    }
    if let Some(decoded) = route::percent_decode(&text) {
        assert_eq!(route::percent_decode(&route::percent_encode(&decoded)).as_deref(), Some(decoded.as_str()));
    }
    if let Some(range) = upstream::forwardable_range(&text) {
        assert!(range.starts_with("bytes=") && !range.contains(','));
        assert!(upstream::parse_range(range).is_some());
    }
    let _ = upstream::parse_content_range(&text);
    let _ = access::presented_token(&text, Some(&text));
    let _ = icyproxy::stream_url::check(&text);
    let _ = icyproxy::stream_url::expires_at(&text);
});
