//! The HTTP server: the accept loop and worker pools (`server`), routing
//! (`route`), the optional token (`access`) and the small endpoints beside
//! the stream (`endpoints`), the access log's lines (`request_log`). Uses `stream` and `catalog`; knows nothing of
//! MPD or warming (what those report reaches `/health` through
//! [`endpoints::Status`]).

pub mod access;
pub(crate) mod endpoints;
mod request_log;
pub mod route;
pub mod server;
pub mod settings;
