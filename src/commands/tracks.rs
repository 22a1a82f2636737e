//! The tracks: `add`, `get`, `resolve`, `list`, `remove` and `import`.

use std::io::{Read, Write};
use std::path::Path;

use super::shared::{clean, count, open_store, parse_id, say, write_all};
use crate::app::root;
use crate::catalog::import;
use crate::catalog::model::{NewTrack, Track};
use crate::catalog::playlist_source;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::Need;
use crate::config::Config;
use crate::error::{Error, Result};

/// What `add` stores, as given on the command line.
#[derive(Debug, Default)]
pub struct Added {
    pub id: String,
    pub url: String,
    pub artist: String,
    pub title: String,
    pub album: Option<String>,
    pub thumbnail: Option<String>,
    pub duration_secs: Option<i64>,
}

/// `add`: inserts or replaces one track.
pub fn add(config: &Config, added: &Added, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(&added.id)?;
    let mut track = NewTrack::new(id.as_str(), &added.url, &added.artist, &added.title)?;
    if let Some(album) = &added.album {
        track = track.with_album(album);
    }
    if let Some(thumb) = &added.thumbnail {
        track = track.with_thumbnail(thumb)?;
    }
    track.tags.duration_secs = added.duration_secs;
    open_store(config, Need::Write)?.upsert(&track)?;
    say(out, &format!("stored {}", track.video_id))
}

/// `get`: prints one track as `key<TAB>value` lines.
pub fn get(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    let store = open_store(config, Need::Read)?;
    let track = store
        .get(&id)?
        .ok_or_else(|| Error::NotFound(format!("no track with video id {id}")))?;
    write_all(out, &track_lines(&track))
}

/// `resolve`: runs the resolver for one id and stores what it says.
pub fn resolve(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    let source = root::track_source(config, metrics);
    if config.store.path.exists() {
        let track = source.resolve_now(&id, &mut open_store(config, Need::Write)?)?;
        return write_all(out, &track_lines(&track));
    }
    // No database yet: resolve into a scratch store in memory first, so a
    // resolver that fails (not installed, say) leaves no empty file behind.
    let mut scratch = TrackStore::open(Path::new(":memory:"))?;
    let resolved = source.resolve_now(&id, &mut scratch)?;
    let url = resolved
        .stream_url
        .clone()
        .ok_or_else(|| Error::io_msg(format!("the resolver gave {id} no URL")))?;
    let mut store = open_store(config, Need::Write)?;
    store.upsert(&NewTrack {
        tags_from: resolved.tags_from,
        ..NewTrack::tagged(id.as_str(), &url, resolved.tags.clone())?
    })?;
    let track = store.get(&id)?.unwrap_or(resolved);
    write_all(out, &track_lines(&track))
}

/// A track as `key<TAB>value` lines: every field, in a fixed order, an
/// empty value for one that is unknown (so scripts can rely on the keys),
/// and times as RFC 3339 UTC.
fn track_lines(track: &Track) -> String {
    let time = |t: Option<i64>| t.map(crate::time::rfc3339).unwrap_or_default();
    let fields = [
        ("video_id", track.video_id.to_string()),
        ("artist", clean(&track.tags.artist)),
        ("title", clean(&track.tags.title)),
        ("album", clean(track.tags.album.as_deref().unwrap_or(""))),
        (
            "duration_secs",
            track
                .tags
                .duration_secs
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
        (
            "stream_url",
            clean(track.stream_url.as_deref().unwrap_or("")),
        ),
        (
            "thumbnail_url",
            clean(track.tags.thumbnail_url.as_deref().unwrap_or("")),
        ),
        ("updated_at", time(Some(track.updated_at))),
        ("expires_at", time(track.expires_at)),
    ];
    fields
        .iter()
        .map(|(key, value)| format!("{key}\t{value}\n"))
        .collect()
}

/// `list`: one `video_id<TAB>artist<TAB>title<TAB>updated_at` line per
/// track, the time as RFC 3339 UTC.
pub fn list(config: &Config, out: &mut dyn Write) -> Result<()> {
    let store = open_store(config, Need::Read)?;
    let mut text = String::new();
    for t in store.list()? {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            t.video_id,
            clean(&t.tags.artist),
            clean(&t.tags.title),
            crate::time::rfc3339(t.updated_at)
        ));
    }
    write_all(out, &text)
}

/// `remove`: deletes a track; an unknown id is an error.
pub fn remove(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    let mut store = open_store(config, Need::Existing)?;
    if !store.remove(&id)? {
        return Err(Error::NotFound(format!("no track with video id {id}")));
    }
    // A removed track is not played from the audio cache either.
    match super::cache::forget(config, &id, &mut store) {
        true => say(out, &format!("removed {id} and its kept audio")),
        false => say(out, &format!("removed {id}")),
    }
}

/// `import`: reads `source` (a path, or `-` for stdin), checks every line,
/// then writes all tracks in one transaction; with `playlist`, they are
/// also appended to that playlist, in file order.
pub fn import(
    config: &Config,
    source: &str,
    playlist: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
    if let Some(name) = playlist {
        crate::catalog::model::check_playlist_name(name)?;
    }
    let mut input = Vec::new();
    if source == "-" {
        std::io::stdin()
            .read_to_end(&mut input)
            .map_err(|e| Error::io("cannot read standard input", e))?;
    } else {
        input = std::fs::read(Path::new(source))
            .map_err(|e| Error::io(format!("cannot read {source}"), e))?;
    }
    let name = if source == "-" {
        "standard input"
    } else {
        source
    };
    let tracks = import::parse(&input)
        .map_err(|e| Error::InvalidInput(format!("{name}: {e}; nothing was imported")))?;
    let mut store = open_store(config, Need::Write)?;
    if let Some(name) = playlist {
        if let Some(why) = playlist_source::hand_edit_conflict(&store, name)? {
            return Err(Error::InvalidInput(format!("{why}; nothing was imported")));
        }
    }
    match playlist {
        Some(name) => store.import_into_playlist(&tracks, name)?,
        None => store.upsert_many(&tracks)?,
    }
    say(
        out,
        &format!("imported {}", count(tracks.len(), "track", "tracks")),
    )
}
