//! The HTTP side: the accept loop and worker pools, routing, access,
//! responses written by hand, the small endpoints, and the HTTP details
//! both sides share (`wire`).

pub mod access;
pub mod endpoints;
pub mod response;
pub mod route;
pub mod server;
mod wire;

pub use wire::*;
