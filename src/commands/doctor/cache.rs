//! The audio cache's directory: where, whether this user may write it,
//! and the free space on its disk against `[cache] min_free_mb`.

use std::path::Path;

use super::report::Check;
use crate::config::Config;
use crate::config::absolute;
use crate::permissions::{self, Want};
use crate::stream::cache::free_bytes;
use crate::stream::cache::settings::MB;

const NAME: &str = "cache";

/// `[cache] dir`, or the directory it will be made in.
pub fn audio_cache(config: &Config) -> Check {
    let settings = &config.cache;
    if !settings.on() {
        return Check::ok(NAME, "off ([cache] max_mb = 0)");
    }
    let dir = absolute(&settings.dir);
    // Not made yet: the first serve makes it in the nearest directory that is.
    let existing = dir
        .ancestors()
        .find(|d| d.is_dir())
        .unwrap_or(Path::new("/"));
    let made = match existing == dir {
        true => String::new(),
        false => " (made by the first serve)".to_owned(),
    };
    if let Err(why) = permissions::check(existing, Want::Write) {
        return Check::fail(
            NAME,
            format!("{}{made}: {why}: no song will be kept", dir.display()),
            "choose a writable [cache] dir, or set [cache] max_mb = 0",
        );
    }
    let free = match free_bytes(existing) {
        Ok(free) => free,
        Err(e) => {
            return Check::warn(
                NAME,
                format!("{}: cannot read its free space: {e}", dir.display()),
                "choose another [cache] dir",
            );
        }
    };
    let shown = format!(
        "{}{made}: {} MB free, up to {} MB kept",
        dir.display(),
        free / MB,
        settings.max_mb
    );
    if free < settings.min_free_bytes() {
        return Check::warn(
            NAME,
            format!(
                "{shown}; below [cache] min_free_mb ({}): nothing is kept",
                settings.min_free_mb
            ),
            "free space on that disk, lower [cache] min_free_mb, or choose another [cache] dir",
        );
    }
    Check::ok(NAME, shown)
}
