//! The composition root (`root`: [`root::App::start`]) and what it wires
//! beside the server: warming (`warm`), MPD's `icyproxy` channel
//! (`channel`), autoplay (`autoplay`), this server's queue entries
//! (`entries`), and what `/health` shows of them (`beside`).

pub mod autoplay;
mod beside;
pub mod channel;
pub mod entries;
pub mod root;
pub mod warm;
