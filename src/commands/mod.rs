//! What each subcommand does, as library functions that write their
//! output to a given writer (so tests and `main` share them), one file per
//! area: `serve`, `tracks` (add, get, resolve, list, remove, import),
//! `playlists` (the `playlist` subcommands), `discover` (search, radio,
//! library sync), `cache` (the audio cache) and `doctor/`, which checks every link of the chain;
//! `shared` holds what they all use (the store opened by the one policy,
//! ids, output lines).

pub mod cache;
pub mod discover;
pub mod doctor;
pub mod pages;
pub mod playlists;
pub mod rating;
pub mod serve;
mod shared;
pub mod tracks;
