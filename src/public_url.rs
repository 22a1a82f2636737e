//! Where MPD reaches this server: one answer, derived once by the
//! composition root, for the URLs icyproxy writes (playlist files, queue
//! entries) and for telling its own queue entries from others (the
//! follower, autoplay, `radio --current`): all of them by this port.

/// A base URL (`http://pi.local:8080`, no trailing `/`) and its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    base: String,
    port: u16,
}

impl PublicUrl {
    /// `base` as configured (`[playlists] base_url`, checked to start with
    /// `http://` or `https://`), its port the one it names or its
    /// scheme's.
    pub fn new(base: &str) -> PublicUrl {
        let base = base.trim_end_matches('/').to_owned();
        let (scheme, rest) = base.split_once("://").unwrap_or(("http", &base));
        let authority = rest.split('/').next().unwrap_or("");
        let named = authority
            .rsplit_once(':')
            .filter(|(host, _)| !host.ends_with(']') || authority.starts_with('['))
            .and_then(|(_, p)| p.parse().ok());
        let port = named.unwrap_or(if scheme == "https" { 443 } else { 80 });
        PublicUrl { base, port }
    }

    /// The server's own address: `host:port` as bound, a wildcard host
    /// named as loopback, an IPv6 literal bracketed.
    pub fn of_listener(host: &str, port: u16) -> PublicUrl {
        let host = match host {
            "0.0.0.0" | "::" => "127.0.0.1",
            h => h,
        };
        let base = match host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("http://[{host}]:{port}"),
            Err(_) => format!("http://{host}:{port}"),
        };
        PublicUrl { base, port }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The port a queue entry of this server's names.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Whether `base` (`http://host[:port][/...]`) names this machine by a
/// loopback host (`127.x.x.x`, `::1`, `localhost`): a client reaching
/// the server by it asks from loopback and needs no token.
pub fn is_loopback(base: &str) -> bool {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_bases() {
        for base in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:8080/x",
            "http://127.1.2.3",
        ] {
            assert!(is_loopback(base), "{base}");
        }
        for base in [
            "http://pi.local:8080",
            "http://192.168.1.2:8080",
            "http://[fe80::1]:1",
            "http://localhost.evil.example",
        ] {
            assert!(!is_loopback(base), "{base}");
        }
    }

    #[test]
    fn the_port_is_the_one_named_or_the_schemes() {
        let at = |u: &str| PublicUrl::new(u).port();
        assert_eq!(at("http://pi.local:9000/"), 9000);
        assert_eq!(at("http://pi.local"), 80);
        assert_eq!(at("https://pi.local/icy"), 443);
        assert_eq!(at("http://[::1]:8081"), 8081);
        assert_eq!(at("http://[::1]"), 80);
        assert_eq!(PublicUrl::new("http://pi:1/").base(), "http://pi:1");
    }

    #[test]
    fn a_listener_is_named_as_a_client_reaches_it() {
        assert_eq!(
            PublicUrl::of_listener("0.0.0.0", 8080).base(),
            "http://127.0.0.1:8080"
        );
        let v6 = PublicUrl::of_listener("::1", 7);
        assert_eq!((v6.base(), v6.port()), ("http://[::1]:7", 7));
    }
}
