//! The config file (who may read its secrets) and the database (its
//! schema, whether this user may write it).

use std::path::Path;

use super::report::Check;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::SCHEMA_VERSION;
use crate::config::{Config, Source, absolute};
use crate::permissions::{self, Want};

/// The config file used, and whether others may read the secrets in it.
pub fn config_file(config: &Config) -> Check {
    let Source::File(path) = &config.source else {
        return Check::ok(
            "config",
            "built-in defaults (no ./proxy.toml, ~/.config/icyproxy/proxy.toml or \
             /etc/icyproxy/proxy.toml)",
        );
    };
    let mode = std::fs::metadata(path).map_or(0, |m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777
    });
    let secrets: Vec<&str> = [
        config.server.token().map(|_| "[server] token"),
        config.mpd.password().map(|_| "[mpd] password"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if mode & 0o004 != 0 && !secrets.is_empty() {
        return Check::warn(
            "config",
            format!(
                "{} (mode {mode:o}) holds {} and every user may read it",
                path.display(),
                secrets.join(" and ")
            ),
            format!(
                "chmod o-r {} (the service reads it through its group)",
                path.display()
            ),
        );
    }
    Check::ok("config", format!("{} (mode {mode:o})", path.display()))
}

/// The database: where, which schema, whether this user may write it.
pub fn database(config: &Config) -> Check {
    let path = absolute(&config.store.path);
    if !path.exists() {
        return Check::warn(
            "database",
            format!("no database at {} yet", path.display()),
            "serve, add or playlist import creates it (check [store] path if you have one)",
        );
    }
    let (version, tracks) = match TrackStore::inspect(&path) {
        Ok(found) => found,
        Err(e) => {
            return Check::fail(
                "database",
                e.to_string(),
                "restore it from a copy, or move it away to start afresh",
            );
        }
    };
    let schema = match version.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => format!("schema {version}"),
        _ => format!("schema {version}, upgraded to {SCHEMA_VERSION} by the next serve"),
    };
    let detail = format!("{} ({schema}, {tracks} tracks)", path.display());
    let dir = path.parent().unwrap_or(Path::new("."));
    let refused =
        permissions::check(&path, Want::Write).and_then(|()| permissions::check(dir, Want::Write));
    match refused {
        Ok(()) => Check::ok("database", format!("{detail}, writable")),
        Err(why) => Check::warn(
            "database",
            format!("{detail}, read-only for this user: {why}"),
            "commands that write need the service's group: sudo adduser $USER icyproxy, then \
             log in again",
        ),
    }
}
