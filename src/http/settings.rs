//! `[server]`: where and how the HTTP server listens, checked here.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::public_url::PublicUrl;
use crate::settings::{self, Checked, bad, within};

/// `[server]` as written in `proxy.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Stream workers: the most concurrent streams.
    pub workers: usize,
    /// How long a write to a client may block before the stream is dropped.
    pub write_timeout_secs: u64,
    /// Empty: none. When set, streams, playlists and /metrics need it.
    pub token: String,
    /// How long a client has to send a whole request head.
    pub header_timeout_secs: u64,
    /// How long a keep-alive connection may stay silent between requests.
    pub idle_timeout_secs: u64,
    /// 0: derived from the open-file limit ([`Self::max_connections`]).
    pub max_connections: usize,
    /// Host names (beside `localhost` and IP addresses) a browser page may
    /// reach this server by.
    pub allowed_hosts: Vec<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            host: "127.0.0.1".into(),
            port: 8080,
            workers: 16,
            write_timeout_secs: 30,
            token: String::new(),
            header_timeout_secs: 10,
            idle_timeout_secs: 30,
            max_connections: 0,
            allowed_hosts: Vec::new(),
        }
    }
}

/// The largest `[server] max_connections` accepted (Linux's default
/// ceiling on open files, `fs.nr_open`).
const MAX_CONNECTIONS: usize = 1 << 20;

/// The most client connections a derived cap allows. Each holds a thread
/// of its own, with 2 MiB of address space for its stack: a 32-bit Pi's
/// 3 GiB run out well before 1,500 of them, and the packaged unit allows
/// 1,200 tasks. Past the cap, idle connections make room for new ones,
/// whereas a thread that cannot start costs the new connection.
pub const MAX_DERIVED_CONNECTIONS: u64 = 1024;

/// Descriptors kept back from client connections: 8 for each worker
/// thread (`threads`), for what one may hold at once (a SQLite connection:
/// database, WAL and shared-memory files; an upstream socket or two; a
/// running resolver's pipes; a cover file), and 64 for the rest (stdio,
/// the listener and its copy, the MPD connection, what warming and the
/// playlist sync hold, name lookups, and client sockets closed at the cap
/// that their thread has not let go of yet).
pub fn fd_reserve(threads: usize) -> u64 {
    64 + 8 * threads as u64
}

impl ServerSettings {
    /// The first wrong key of `[server]`.
    pub fn check(&self) -> Checked {
        settings::first([
            within("[server] workers", self.workers as u64, 1, 1024),
            within(
                "[server] max_connections",
                self.max_connections as u64,
                0,
                MAX_CONNECTIONS as u64,
            ),
            settings::timeout("[server] write_timeout_secs", self.write_timeout_secs),
            settings::timeout("[server] header_timeout_secs", self.header_timeout_secs),
            settings::timeout("[server] idle_timeout_secs", self.idle_timeout_secs),
            match self.host.trim().is_empty() {
                true => bad("[server] host", "must not be empty"),
                false => Ok(()),
            },
            self.token().map_or(Ok(()), |t| {
                check_token(t).or_else(|why| bad("[server] token", why))
            }),
        ])
    }

    pub fn write_timeout(&self) -> Duration {
        settings::secs(self.write_timeout_secs)
    }

    pub fn header_timeout(&self) -> Duration {
        settings::secs(self.header_timeout_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        settings::secs(self.idle_timeout_secs)
    }

    /// The token, when one is set.
    pub fn token(&self) -> Option<&str> {
        (!self.token.is_empty()).then_some(self.token.as_str())
    }

    /// The most client connections open at once: `max_connections`, or
    /// else what the open-file limit leaves once [`fd_reserve`]
    /// descriptors are kept back for `threads` worker threads and the
    /// rest, at least half the limit and at most
    /// [`MAX_DERIVED_CONNECTIONS`].
    pub fn max_connections(&self, open_files: u64, threads: usize) -> usize {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        let left = open_files.saturating_sub(fd_reserve(threads));
        left.max(open_files / 2).min(MAX_DERIVED_CONNECTIONS) as usize
    }

    /// `host:port` as text for binding, with IPv6 literals bracketed.
    pub fn bind_address(&self) -> String {
        match self.host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", self.host, self.port),
            Err(_) => format!("{}:{}", self.host, self.port),
        }
    }

    /// Whether the configured host is a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// This server's own URL, on the configured port.
    pub fn url(&self) -> PublicUrl {
        self.own_url(self.port)
    }

    /// This server's own URL, on `port` (the one bound, when known).
    pub fn own_url(&self, port: u16) -> PublicUrl {
        PublicUrl::of_listener(&self.host, port)
    }
}

/// A token must be URL-safe: it goes into playlist URLs as it is.
pub fn check_token(token: &str) -> std::result::Result<(), String> {
    let ok = (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("must be 16 to 128 characters of A-Z a-z 0-9 - . _ ~".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        assert!(check_token("s3cret-token-0123456789").is_ok());
        assert!(check_token("short").is_err());
        assert!(check_token("has space in the token!!").is_err());
    }

    #[test]
    fn the_connection_cap_leaves_descriptors_for_the_workers() {
        let c = ServerSettings::default();
        // 16 stream workers and 6 others: 64 + 8 * 22 = 240 kept back.
        assert_eq!(c.max_connections(1024, 22), 1024 - 240);
        // A low limit still gives clients half of it; a high one stops at
        // what threads allow.
        assert_eq!(c.max_connections(256, 22), 128);
        assert_eq!(c.max_connections(524_288, 22), 1024);
        let set = ServerSettings {
            max_connections: 5000,
            ..ServerSettings::default()
        };
        assert_eq!(set.max_connections(1024, 22), 5000);
    }
}
