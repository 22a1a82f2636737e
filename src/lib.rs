//! icyproxy: a small streaming proxy that makes MPD show "Artist - Title"
//! for YouTube Music tracks. See `ARCHITECTURE.md` for a request's path.
//!
//! Four neighbourhoods: `http` (server, routing, responses, endpoints),
//! `stream` (one stream's path), `catalog` (tracks, lookup, resolver,
//! playlists), `mpd` (following MPD's queue, warming); beside them the
//! program-wide pieces (config, errors, commands, metrics).

pub mod catalog;
pub mod commands;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod mpd;
pub mod stream;
pub mod subprocess;
pub mod time;

// The modules by their short names, as the code and tests use them.
pub use catalog::{
    cover, flat_playlist, import, lookup, playlist, playlist_source, resolver, store, stream_url,
    video_id,
};
pub use http::{access, endpoints, response, route, server};
pub use mpd::warm;
pub use stream::{icy, pieces, proxy, upstream};

pub use config::Config;
pub use error::{Error, Result};
pub use server::Server;
pub use store::{NewTrack, Track, TrackStore};
pub use video_id::VideoId;
