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

/// `[front] listen`, when set: free, or icyproxy's front door answers
/// there (its root lists the virtual directory); MPD itself there, or
/// another program, is a failure.
pub fn front(config: &Config) -> Option<Check> {
    let listen = config.front.listen()?;
    if config.mpd.address() == Some(listen) {
        return Some(Check::fail(
            "front",
            format!("[front] listen is [mpd] address ({listen})"),
            "move MPD to another port or its socket, and set [mpd] address to that",
        ));
    }
    match TcpListener::bind(listen) {
        Ok(listener) => {
            drop(listener);
            return Some(Check::ok(
                "front",
                format!("{listen} is free: MPD clients connect there for YouTube Music"),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
        Err(e) => {
            return Some(Check::fail(
                "front",
                format!("cannot listen on {listen}: {e}"),
                "choose another [front] listen (ports below 1024 need privileges)",
            ));
        }
    }
    Some(match root_of(listen) {
        Some(root) if root.contains(&format!("directory: {}\n", config.front.directory())) => {
            Check::ok(
                "front",
                format!("icyproxy's front door already answers on {listen}"),
            )
        }
        Some(_) => Check::fail(
            "front",
            format!("MPD itself answers on {listen}, not icyproxy's front door"),
            "move MPD to another port or its socket (mpd.conf), set [mpd] address to it, \
             and restart both",
        ),
        None => Check::fail(
            "front",
            format!("{listen} is taken by another program"),
            "stop it, or choose another [front] listen",
        ),
    })
}

/// The answer to `lsinfo` of whatever speaks MPD's protocol at `addr`.
fn root_of(addr: &str) -> Option<String> {
    use std::io::{BufRead, BufReader, Write};
    use std::time::Duration;
    let addr: std::net::SocketAddr = addr.parse().ok()?;
    let target = match addr.ip().is_unspecified() {
        true => std::net::SocketAddr::from(([127, 0, 0, 1], addr.port())),
        false => addr,
    };
    let stream = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("OK MPD ") {
        return None;
    }
    reader.get_mut().write_all(b"lsinfo\nclose\n").ok()?;
    let mut answer = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 || answer.len() > 1 << 20 {
            return Some(answer);
        }
        if line == "OK\n" || line.starts_with("ACK") {
            return Some(answer);
        }
        answer.push_str(&line);
    }
}
