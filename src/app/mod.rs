//! The composition root (`root`: [`root::App::start`]) and what it wires
//! beside the server: warming (`warm`), the next songs fetched into the
//! audio cache (`fetch_ahead`), MPD's `icyproxy` channel
//! (`channel`), autoplay (`autoplay`), this server's queue entries
//! (`entries`), and what `/health` shows of them (`beside`); `checks`:
//! what the start warns of and doctor checks, one each; `tidy`: ageing
//! out the tracks only searches found.

pub mod autoplay;
mod beside;
mod budget;
pub mod channel;
pub mod checks;
pub mod entries;
mod fetch_ahead;
pub mod front;
pub mod history;
pub mod root;
mod tidy;
pub mod warm;
