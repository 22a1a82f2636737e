//! The listening address: free, taken by another program, or an icyproxy
//! already running there, whose own start warnings become checks.

use std::net::TcpListener;
use std::path::PathBuf;

use super::report::Check;
use crate::config::Config;
use crate::stream::upstream::Upstream;

/// The listening address: free, or icyproxy already answers there.
/// When icyproxy answers there, what it said at start of its own setup
/// (`/health`'s `warnings`) is a failed check each: the service runs with
/// its own user, groups and sandbox, which this shell may not share.
pub fn listen(config: &Config) -> Vec<Check> {
    let bind = config.server.bind_address();
    match TcpListener::bind(&bind) {
        Ok(listener) => {
            drop(listener);
            return vec![Check::ok("listen", format!("{bind} is free"))];
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
        Err(e) => {
            return vec![Check::fail(
                "listen",
                format!("cannot listen on {bind}: {e}"),
                "choose another [server] host or port (ports below 1024 need privileges)",
            )];
        }
    }
    let Some(Running { warnings, database }) = running_icyproxy(config) else {
        return vec![Check::fail(
            "listen",
            format!("{bind} is taken by another program"),
            "stop it, or choose another [server] port",
        )];
    };
    let ours = std::fs::canonicalize(&config.store.path).unwrap_or(config.store.path.clone());
    let theirs = database.map(|d| std::fs::canonicalize(&d).unwrap_or(d));
    if let Some(theirs) = theirs.filter(|theirs| *theirs != ours) {
        return vec![Check::fail(
            "listen",
            format!(
                "the icyproxy on {bind} serves another database ({}; this config's is {})",
                theirs.display(),
                ours.display()
            ),
            "run doctor with the config that icyproxy was started with (--config FILE), or \
             stop it and start it with this one",
        )];
    }
    let mut checks = vec![Check::ok(
        "listen",
        format!("icyproxy already answers /health on {bind}"),
    )];
    checks.extend(warnings.into_iter().map(|warning| {
        Check::fail(
            "service",
            format!("the icyproxy on {bind} says: {warning}"),
            "it runs with its own user, groups and sandbox: fix this for it (README, \
             \"Install on a Raspberry Pi\"), then restart it",
        )
    }));
    checks
}

/// What the icyproxy answering on the configured address reports.
struct Running {
    warnings: Vec<String>,
    /// Its database file (`None`: an older icyproxy, or no token for it).
    database: Option<PathBuf>,
}

/// When `GET /health` on the configured address is icyproxy's: the
/// warnings it reports and the database it serves.
fn running_icyproxy(config: &Config) -> Option<Running> {
    let upstream = Upstream::new(&config.upstream).ok()?;
    // The token, when set, for the whole answer from an address that is
    // not loopback.
    let url = match config.server.token() {
        Some(token) => format!("{}/health?token={token}", config.server.url().base()),
        None => format!("{}/health", config.server.url().base()),
    };
    let (body, _) = upstream.fetch_small(&url, 64 * 1024).ok()?;
    let health: serde_json::Value = serde_json::from_slice(&body).ok()?;
    if health["service"] != "icyproxy" {
        return None;
    }
    let warnings = health["warnings"].as_array().map_or_else(Vec::new, |all| {
        all.iter()
            .filter_map(|w| w.as_str().map(str::to_owned))
            .collect()
    });
    let database = health["database"].as_str().map(PathBuf::from);
    Some(Running { warnings, database })
}
