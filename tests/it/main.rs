//! The integration tests, as one binary: one module per area, sharing the
//! helpers in `common` (a real origin, the real server, a raw HTTP client,
//! a private MPD). One binary links once, where thirteen linked thirteen
//! times. Tests in different modules run in the same process, at the same
//! time: none may change the process's environment or current directory.

mod common;

mod audio_cache;
mod browsers;
mod catalog;
mod causes;
mod cli;
mod config_files;
mod connections;
mod doctor;
mod doctor_service;
mod errors;
mod files;
mod floods;
mod friction;
mod front;
mod hardening;
mod hostile_mpd;
mod interrupts;
mod layers;
mod library;
mod lifecycle;
mod local_library;
mod mpd;
mod mpd_follow;
mod playlists;
mod public_port;
mod radio;
mod reader;
mod resolving_limits;
mod robustness;
mod search;
mod small_holes;
mod stream;
mod tls;
mod warming;
mod ytdlp_errors;
