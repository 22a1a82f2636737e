//! One stream's path: the request's stages (`proxy`; the shape stage,
//! pure, is `shape`; the client side is `client`), upstream requests (`upstream`), what a failed one
//! calls for (`retry`, pure), ranged pieces with resume (`pieces`), ICY
//! blocks (`icy`) and cover art fetched upstream and cached on disk
//! (`cover`), songs kept whole on disk and served from there (`cache`).
//! Uses `catalog`; knows nothing of the HTTP server's pools or routes.

pub mod cache;
pub(crate) mod client;
pub mod cover;
pub mod icy;
pub(crate) mod pieces;
pub mod proxy;
pub mod retry;
pub mod settings;
pub mod shape;
pub mod upstream;
