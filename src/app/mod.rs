//! The composition root: builds the server, the MPD follower, the warmer
//! and playlist sync from the `Config` and wires them together.

pub mod warm;
