//! `icyproxy doctor`: every link of the chain from the config file to
//! MPD, checked as the service would use it, one line each (✔ fine, ✗ to
//! fix, ! worth a look) with the fix on the same line. It changes nothing:
//! the database is opened read-only, permissions are read from mode bits,
//! the resolver runs once for `[doctor] probe_id` and two small ranges of
//! its stream are read, MPD is asked questions only.
//!
//! Files: `report` (a check, its line and JSON), `files` (the config
//! file, the database), `tools` (the resolver, its age, a JavaScript
//! runtime, the cookies), `probe` (a real resolve and two reads of its
//! stream), `mpd` (MPD and `mpd_dir`), `listen` (the port, and the
//! icyproxy already running there).

mod cache;
mod files;
mod listen;
mod mpd;
mod probe;
mod reader;
pub mod report;
mod tools;

use crate::config::Config;
use crate::error::{Error, Result};

use report::Check;

/// Runs every check on `config` (or reports why it could not be read),
/// writes the report as lines or `--json`, and fails (exit 1) when
/// something is to fix.
pub fn doctor(config: Result<Config>, json: bool, out: &mut dyn std::io::Write) -> Result<()> {
    let checks = match config {
        Ok(config) => run(&config),
        Err(e) => vec![Check::fail(
            "config",
            e.to_string(),
            "the shipped proxy.toml lists every key, with a comment",
        )],
    };
    match report::write(&checks, json, out)? {
        0 => Ok(()),
        1 => Err(Error::InvalidInput("doctor: 1 thing to fix".into())),
        n => Err(Error::InvalidInput(format!("doctor: {n} things to fix"))),
    }
}

/// Every check, in the chain's order.
pub fn run(config: &Config) -> Vec<Check> {
    let mut checks = vec![
        files::config_file(config),
        files::database(config),
        cache::audio_cache(config),
    ];
    let resolver = tools::resolver_checks(config, &mut checks);
    if let Some(cookies) = tools::cookies(config) {
        checks.push(cookies);
    }
    checks.push(reader::reader(config));
    if let Some(program) = resolver {
        checks.extend(probe::probe(config, &program));
    }
    checks.extend(mpd::mpd(config));
    checks.extend(listen::listen(config));
    checks.extend(listen::front(config));
    checks
}
