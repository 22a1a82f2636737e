//! `serve`: the server in the foreground.

use log::{info, warn};

use crate::app::root::App;
use crate::config::{Config, absolute};
use crate::error::{Error, Result};

/// Runs the server in the foreground until SIGINT or SIGTERM.
///
/// The first log line says which config, database, resolver, cover and
/// audio cache directories are in use, so a CLI run that used another can be spotted.
/// The warning about a public address comes only once the server listens:
/// a server that failed to start exposes nothing.
pub fn serve(config: &Config) -> Result<()> {
    let resolver = if config.resolver.command.is_empty() {
        "off".to_owned()
    } else {
        config.resolver.command.join(" ")
    };
    let audio = match config.cache.on() {
        true => absolute(&config.cache.dir).display().to_string(),
        false => "off".to_owned(),
    };
    info!(
        "config: {}; database: {}; resolver: {resolver}; covers: {}; audio cache: {audio}",
        config.source,
        absolute(&config.store.path).display(),
        absolute(&config.cover.cache_dir).display()
    );
    let server = App::start(config)?;
    // What doctor would fail, said once each once serving (a server that
    // failed to start says only why).
    for warning in server.warnings() {
        warn!("{warning}");
    }
    if !config.server.is_loopback() && config.server.token().is_none() {
        warn!(
            "listening on {} (not loopback) without [server] token: anyone on the network \
             can use this proxy",
            config.server.host
        );
    }
    let stop = server.stop_handle();
    ctrlc::set_handler(move || stop.stop())
        .map_err(|e| Error::io("cannot install the signal handler", e))?;
    let stopped = server.wait();
    // Helpers still running (a resolver run the stop cut short) end with
    // the server, with what they started, and the cookies they were lent
    // go with them (their runs' `Drop`s may not run before the exit).
    crate::subprocess::kill_helpers();
    crate::catalog::cookies::remove_own(&config.store.cookies_copy());
    stopped
}
