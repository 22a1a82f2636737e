//! icyproxy: a small streaming proxy that makes MPD show "Artist - Title"
//! for YouTube Music tracks. See `ARCHITECTURE.md` for a request's path.
//!
//! Layers, each using only those above it in this list (checked by
//! `scripts/check-layers`):
//! - the base: `error`, `time`, `video_id`, `wire` and `response` (HTTP
//!   details both sides share), `files`, `latest`, `subprocess`, `metrics`, `permissions`, `config`;
//! - `catalog`: tracks, the store, playlists, the yt-dlp reader, resolving;
//! - `stream`: one stream's path (upstream, pieces, ICY blocks, cover art);
//! - `http`: the server, routing, access, endpoints;
//! - `mpd`: following MPD's queue (uses only the base);
//! - `app`: the composition root that builds and wires all of them;
//! - `commands` and `cli` (clap's types for the binary's `main`) on top.

pub mod config;
pub mod error;
pub mod files;
pub mod latest;
pub mod metrics;
pub mod permissions;
pub mod public_url;
pub mod response;
pub mod settings;
pub mod subprocess;
pub mod time;
pub mod video_id;
pub mod wire;

pub mod catalog;
pub mod stream;

pub mod http;
pub mod mpd;

pub mod app;

pub mod cli;
pub mod commands;
