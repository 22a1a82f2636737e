//! One stream's path: the request's stages (`proxy`), upstream requests
//! (`upstream`), ranged pieces with resume (`pieces`) and ICY blocks
//! (`icy`).

pub mod icy;
pub mod pieces;
pub mod proxy;
pub mod upstream;
