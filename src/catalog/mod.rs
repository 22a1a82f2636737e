//! What icyproxy knows about tracks: the model, the SQLite store, finding a playable
//! URL (`lookup`, `resolver`, `stream_url`, `limits` on resolver runs), playlists and their sources,
//! import files, and the one reader of yt-dlp's JSON (`ytdlp`). Knows no
//! HTTP server and no stream.

pub mod cookies;
pub mod discover;
pub(crate) mod import;
pub mod jar;
pub mod library;
pub mod limits;
pub mod lookup;
pub mod model;
pub mod music;
pub mod playlist;
pub mod playlist_source;
pub(crate) mod resolver;
pub mod settings;
pub mod store;
pub mod stream_url;
pub mod tags;
pub(crate) mod ytdlp;
pub mod ytdlp_error;
