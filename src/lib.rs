//! icyproxy: a small streaming proxy that makes MPD show "Artist - Title"
//! for YouTube Music tracks. See `ARCHITECTURE.md` for a request's path.

pub mod access;
pub mod commands;
pub mod config;
pub mod cover;
pub mod endpoints;
pub mod error;
pub mod flat_playlist;
pub mod http;
pub mod icy;
pub mod import;
pub mod lookup;
pub mod metrics;
pub mod mpd;
pub mod pieces;
pub mod playlist;
pub mod playlist_source;
pub mod proxy;
pub mod resolver;
pub mod response;
pub mod route;
pub mod server;
pub mod store;
pub mod stream_url;
pub mod subprocess;
pub mod time;
pub mod upstream;
pub mod video_id;
pub mod warm;

pub use config::Config;
pub use error::{Error, Result};
pub use server::Server;
pub use store::{NewTrack, Track, TrackStore};
pub use video_id::VideoId;
