//! What each subcommand does, as library functions that write their
//! output to a given writer (so tests and `main` share them).

use std::io::{Read, Write};
use std::path::Path;

use log::warn;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::import;
use crate::lookup::TrackSource;
use crate::server::Server;
use crate::store::{NewTrack, Track, TrackStore};
use crate::video_id::VideoId;

/// Runs the server in the foreground until SIGINT or SIGTERM.
pub fn serve(config: &Config) -> Result<()> {
    if !config.is_loopback() {
        warn!(
            "listening on {} (not loopback): anyone on the network can use this proxy",
            config.host
        );
    }
    let server = Server::start(config)?;
    let stop = server.stop_handle();
    ctrlc::set_handler(move || stop.stop())
        .map_err(|e| Error::Io(format!("cannot install the signal handler: {e}")))?;
    server.wait()
}

fn parse_id(text: &str) -> Result<VideoId> {
    VideoId::parse(text).ok_or_else(|| {
        Error::InvalidInput(format!(
            "invalid video id {text:?}: expected 11 characters of A-Z a-z 0-9 _ -"
        ))
    })
}

/// `add`: inserts or replaces one track.
pub fn add(
    config: &Config,
    id: &str,
    url: &str,
    artist: &str,
    title: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let track = NewTrack::new(id, url, artist, title)?;
    TrackStore::open(&config.db_path)?.upsert(&track)?;
    say(out, &format!("stored {}", track.video_id))
}

/// `get`: prints one track as `key<TAB>value` lines.
pub fn get(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    let store = TrackStore::open(&config.db_path)?;
    let track = store
        .get(&id)?
        .ok_or_else(|| Error::NotFound(format!("no track with video id {id}")))?;
    write_all(out, &track_lines(&track))
}

/// `resolve`: runs the resolver for one id and stores what it says.
pub fn resolve(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    let mut store = TrackStore::open(&config.db_path)?;
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    let track = TrackSource::new(config, metrics).resolve_now(&id, &mut store)?;
    write_all(out, &track_lines(&track))
}

/// A track as `key<TAB>value` lines.
fn track_lines(track: &Track) -> String {
    let mut text = format!(
        "video_id\t{}\nartist\t{}\ntitle\t{}\nstream_url\t{}\nupdated_at\t{}\n",
        track.video_id, track.artist, track.title, track.stream_url, track.updated_at
    );
    if let Some(expires) = track.expires_at {
        text.push_str(&format!("expires_at\t{expires}\n"));
    }
    if let Some(duration) = track.duration_secs {
        text.push_str(&format!("duration_secs\t{duration}\n"));
    }
    text
}

/// `list`: one `video_id<TAB>artist<TAB>title<TAB>updated_at` line per track.
pub fn list(config: &Config, out: &mut dyn Write) -> Result<()> {
    let store = TrackStore::open(&config.db_path)?;
    let mut text = String::new();
    for t in store.list()? {
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            t.video_id,
            clean(&t.artist),
            clean(&t.title),
            t.updated_at
        ));
    }
    write_all(out, &text)
}

/// `remove`: deletes a track; an unknown id is an error.
pub fn remove(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    if !TrackStore::open(&config.db_path)?.remove(&id)? {
        return Err(Error::NotFound(format!("no track with video id {id}")));
    }
    say(out, &format!("removed {id}"))
}

/// `import`: reads `source` (a path, or `-` for stdin), checks every line,
/// then writes all tracks in one transaction.
pub fn import(config: &Config, source: &str, out: &mut dyn Write) -> Result<()> {
    let mut input = Vec::new();
    if source == "-" {
        std::io::stdin()
            .read_to_end(&mut input)
            .map_err(|e| Error::Io(format!("cannot read standard input: {e}")))?;
    } else {
        input = std::fs::read(Path::new(source))
            .map_err(|e| Error::Io(format!("cannot read {source}: {e}")))?;
    }
    let tracks = import::parse(&input)
        .map_err(|e| Error::InvalidInput(format!("{source}: {e}; nothing was imported")))?;
    TrackStore::open(&config.db_path)?.upsert_many(&tracks)?;
    say(out, &format!("imported {} tracks", tracks.len()))
}

fn say(out: &mut dyn Write, line: &str) -> Result<()> {
    write_all(out, &format!("{line}\n"))
}

fn write_all(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Io(format!("cannot write output: {e}")))
}
