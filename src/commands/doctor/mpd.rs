//! MPD (reachable, its version, the password) and `[playlists] mpd_dir`
//! (writable, and the directory MPD reads).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use super::report::Check;
use crate::app::checks::{self as shared, PathCheck};
use crate::config::Config;
use crate::mpd::client::{Connection, Failure, LoginFailure};

/// MPD: reachable, its version, the password, `mpd_dir` writable and
/// whether MPD lists what icyproxy writes there.
pub fn mpd(config: &Config) -> Vec<Check> {
    let connected = match config.mpd.address() {
        None => Err(Check::ok("mpd", "off ([mpd] address is empty)")),
        Some(address) => login(config, address).map(|conn| (address, conn)),
    };
    let (address, mut conn) = match connected {
        Ok(connected) => connected,
        Err(check) => {
            let mut checks = vec![check];
            checks.extend(mpd_dir(config, None));
            return checks;
        }
    };
    let version = conn.version().to_owned();
    let mut checks = vec![match conn.command("status") {
        Ok(_) => Check::ok(
            "mpd",
            format!(
                "MPD {version} at {address}{}",
                match config.mpd.password() {
                    Some(_) => ", password accepted",
                    None => "",
                }
            ),
        ),
        Err(e) => Check::fail(
            "mpd",
            format!(
                "MPD {version} at {address} refused status: {}",
                failure_text(&e)
            ),
            "MPD wants a password: set [mpd] password",
        ),
    }];
    let listed = conn.command("listplaylists").ok().map(|pairs| {
        pairs
            .into_iter()
            .filter(|(k, _)| k == "playlist")
            .map(|(_, v)| v)
            .collect::<Vec<String>>()
    });
    checks.extend(mpd_dir(config, listed));
    checks
}

/// The one MPD login, as doctor tells its failures: unreachable, or the
/// password refused (or unsendable).
fn login(config: &Config, address: &str) -> Result<Connection, Check> {
    let stopping = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicU64::new(0));
    let (version, why) =
        match Connection::login(address, config.mpd.password(), &stopping, &counted) {
            Ok(conn) => return Ok(conn),
            Err(LoginFailure::Connect(e)) => {
                return Err(Check::fail(
                    "mpd",
                    format!("not reachable at {address}: {}", failure_text(&e)),
                    "start MPD (sudo systemctl start mpd), or set [mpd] address (empty: off)",
                ));
            }
            Err(LoginFailure::Unsendable { version }) => {
                (version, "the password holds a line break".to_owned())
            }
            Err(LoginFailure::Password { version, failure }) => (version, failure_text(&failure)),
        };
    Err(Check::fail(
        "mpd",
        format!("MPD {version} at {address} refused the password: {why}"),
        "set [mpd] password to MPD's (its password setting in mpd.conf)",
    ))
}

fn failure_text(e: &Failure) -> String {
    match e {
        Failure::Stopped => "stopped".to_owned(),
        Failure::Unreachable(why) | Failure::Lost(why) => why.clone(),
        Failure::Ack(ack) => ack.to_string(),
    }
}

/// `[playlists] mpd_dir`: writable by this user, and (when MPD lists its
/// playlists and icyproxy has written some) the directory MPD reads.
fn mpd_dir(config: &Config, listed: Option<Vec<String>>) -> Option<Check> {
    let PathCheck { path: dir, usable } = shared::mpd_dir(&config.playlists)?;
    if let Err(why) = usable {
        return Some(Check::fail(
            "mpd_dir",
            why,
            "let this user write there: with the packaged service, the README's mpd_dir steps \
             (adduser icyproxy audio, chmod g+ws the directory, ReadWritePaths= in a drop-in)",
        ));
    }
    let written: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".m3u").map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let shown = dir.display();
    Some(match listed {
        Some(listed) if !written.is_empty() && !written.iter().any(|n| listed.contains(n)) => {
            Check::fail(
                "mpd_dir",
                format!(
                    "{shown} is writable, but MPD lists none of its {} playlists",
                    written.len()
                ),
                "set [playlists] mpd_dir to MPD's playlist_directory (mpd.conf)",
            )
        }
        Some(_) if !written.is_empty() => Check::ok(
            "mpd_dir",
            format!("{shown} is writable and MPD lists its playlists"),
        ),
        _ => Check::ok("mpd_dir", format!("{shown} is writable")),
    })
}
