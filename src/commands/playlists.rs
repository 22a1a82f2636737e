//! The playlists: `playlist add`, `list`, `import`, `sync`, `remove` and
//! `export`.

use std::io::Write;
use std::path::Path;

use super::shared::{
    changing_mpd_file, clean, count, open_store, parse_ids, say, say_fallback, sources, write_all,
};
use crate::app::root;
use crate::catalog::playlist::Format;
use crate::catalog::playlist_source;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::Need;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::video_id::VideoId;

/// `playlist add`: appends ids to a playlist (created on first use). Ids
/// with no stored track get their tags at once through the resolver
/// (saying so), so MPD shows `Artist - Title` rather than the id; one the
/// resolver cannot tag stays in the playlist as a bare id, said on stderr,
/// and the command still succeeds: the entries were added.
pub fn playlist_add(
    config: &Config,
    name: &str,
    ids: &[String],
    out: &mut dyn Write,
) -> Result<()> {
    crate::catalog::model::check_playlist_name(name)?;
    let ids = parse_ids(ids)?;
    let mut store = open_store(config, Need::Write)?;
    if let Some(why) = playlist_source::hand_edit_conflict(&store, name)? {
        return Err(Error::InvalidInput(why));
    }
    changing_mpd_file(config, &mut store, name, |s| {
        s.playlist_add(name, &ids)?;
        tag_new_ids(config, s, name, &ids, out)
    })?;
    say(
        out,
        &format!("added {} to {name}", count(ids.len(), "entry", "entries")),
    )
}

/// Resolves the tags of those of `ids` that have no stored track, for
/// `playlist add`: a line on `out` before and per id tagged, one on stderr
/// per id left bare and why.
fn tag_new_ids(
    config: &Config,
    store: &mut TrackStore,
    name: &str,
    ids: &[VideoId],
    out: &mut dyn Write,
) -> Result<()> {
    let mut new: Vec<VideoId> = Vec::new();
    for id in ids {
        if store.get(id)?.is_none() && !new.contains(id) {
            new.push(id.clone());
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    let source = root::track_source(config, metrics);
    let ids_text = count(new.len(), "new id", "new ids");
    if !source.can_resolve() {
        return say(
            out,
            &format!(
                "no tags for {ids_text}: [resolver] command is empty \
                 (icyproxy add stores a track's tags by hand)"
            ),
        );
    }
    let program = config.resolver.command.first().map_or("", String::as_str);
    let program = Path::new(program)
        .file_name()
        .map_or(program.into(), |name| name.to_string_lossy());
    say(
        out,
        &format!("resolving the tags of {ids_text} with {program}"),
    )?;
    for (id, result) in source.resolve_batch(&new, store) {
        match result {
            Ok(track) => say(
                out,
                &format!(
                    "{id}\t{}\t{}",
                    clean(&track.tags.artist),
                    clean(&track.tags.title)
                ),
            )?,
            Err(e) => eprintln!(
                "icyproxy: {id}: no tags: {e}; it stays in {name} as a bare id, \
                 tried again when played"
            ),
        }
    }
    Ok(())
}

/// `playlist list [NAME]`: `name<TAB>entries[<TAB>source URL]` per
/// playlist, or one playlist's entries as `video_id<TAB>artist<TAB>title`.
pub fn playlist_list(config: &Config, name: Option<&str>, out: &mut dyn Write) -> Result<()> {
    let store = open_store(config, Need::Read)?;
    let mut text = String::new();
    match name {
        None => {
            for p in store.playlists()? {
                match p.source.as_deref() {
                    Some(url) => {
                        text.push_str(&format!("{}\t{}\t{}\n", p.name, p.entries, clean(url)))
                    }
                    None => text.push_str(&format!("{}\t{}\n", p.name, p.entries)),
                }
            }
        }
        Some(name) => {
            let entries = store
                .playlist(name)?
                .ok_or_else(|| Error::NotFound(format!("no playlist {name:?}")))?;
            for e in entries {
                let (artist, title) = e
                    .track
                    .map_or((String::new(), "(not stored yet)".to_owned()), |t| {
                        (t.tags.artist, t.tags.title)
                    });
                text.push_str(&format!("{}\t{artist}\t{title}\n", e.video_id));
            }
        }
    }
    write_all(out, &text)
}

/// Where `playlist import` puts what it reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target<'a> {
    /// `--name`; default: the source's title.
    pub name: Option<&'a str>,
    /// `--replace`: a playlist of that name made by hand or imported from
    /// another source is replaced (else that is refused).
    pub replace: bool,
}

/// `playlist import URL [--name NAME] [--replace]`: one line, e.g.
/// `Road Trip: 48 tracks (3 new), 2 unavailable skipped`. Onto a playlist
/// made by hand or from another source only with `--replace`; the same
/// URL again is a sync.
pub fn playlist_import(
    config: &Config,
    url: &str,
    target: Target<'_>,
    out: &mut dyn Write,
) -> Result<()> {
    let Target { name, replace } = target;
    // The source is read before the database is opened: a failing command
    // leaves no new, empty database behind.
    if let Some(name) = name {
        crate::catalog::model::check_playlist_name(name)?;
    }
    let sources = sources(config);
    let listing = playlist_source::read(&sources, url);
    say_fallback(&sources);
    let listing = listing?;
    let mut store = open_store(config, Need::Write)?;
    let name = playlist_source::target_name(name, &listing)?;
    let resync = store
        .playlist_sources()?
        .iter()
        .any(|(n, u)| *n == name && u == url);
    if !replace {
        if let Some(why) = playlist_source::import_conflict(&store, &name, url)? {
            return Err(Error::InvalidInput(why));
        }
    }
    let done = playlist_source::store_listing(&sources, &mut store, Some(&name), url, &listing)?;
    // The same URL again is a sync: say what changed.
    match resync {
        true => say(out, &playlist_source::sync_summary(&done)),
        false => say(out, &playlist_source::import_summary(&done)),
    }
}

/// `playlist sync [NAME]`: re-reads one imported playlist, or all; one line
/// per playlist. Those that fail are left as they were and make the exit
/// status 1; the others still sync.
pub fn playlist_sync(config: &Config, name: Option<&str>, out: &mut dyn Write) -> Result<()> {
    let mut store = open_store(config, Need::Existing)?;
    let imported = store.playlist_sources()?;
    let chosen: Vec<(String, String)> = match name {
        None => imported,
        Some(name) => {
            let found = imported.into_iter().find(|(n, _)| n == name);
            vec![found.ok_or_else(|| {
                Error::NotFound(format!(
                    "playlist {name:?} was not imported from a URL: nothing to sync"
                ))
            })?]
        }
    };
    if chosen.is_empty() {
        return say(out, "no imported playlists to sync");
    }
    let sources = sources(config);
    let mut failed = 0;
    for (name, url) in &chosen {
        match playlist_source::sync(&sources, &mut store, name, url) {
            Ok(done) => say(out, &playlist_source::sync_summary(&done))?,
            Err(e) => {
                failed += 1;
                eprintln!("icyproxy: {name}: {e}; left as it was");
            }
        }
    }
    say_fallback(&sources);
    match failed {
        0 => Ok(()),
        n => Err(Error::io_msg(format!(
            "{n} of {} failed to sync",
            count(chosen.len(), "playlist", "playlists")
        ))),
    }
}

/// `playlist remove NAME [ID...]`: drops ids from a playlist, or the whole
/// playlist; removing nothing is an error.
pub fn playlist_remove(
    config: &Config,
    name: &str,
    ids: &[String],
    out: &mut dyn Write,
) -> Result<()> {
    crate::catalog::model::check_playlist_name(name)?;
    let ids = parse_ids(ids)?;
    let mut store = open_store(config, Need::Existing)?;
    let removed = changing_mpd_file(config, &mut store, name, |s| s.playlist_remove(name, &ids))?;
    if removed == 0 {
        return Err(Error::NotFound(format!(
            "nothing to remove from playlist {name:?}"
        )));
    }
    let entries = count(removed, "entry", "entries");
    if ids.is_empty() {
        say(out, &format!("removed playlist {name} ({entries})"))
    } else {
        say(out, &format!("removed {entries} from {name}"))
    }
}

/// The format `playlist export` writes: `format` (from `--format`), or
/// else the output file's extension. Both given must agree, so that a
/// file's name never lies about its content.
pub fn export_format(format: Option<Format>, output: Option<&Path>) -> Result<Format> {
    let by_name = output
        .and_then(|p| p.file_name()?.to_str())
        .and_then(Format::of_file_name);
    match (format, by_name, output) {
        (Some(given), Some(named), Some(path)) if given != named => {
            Err(Error::InvalidInput(format!(
                "--format {} contradicts the file name {}, which says {}: leave out \
                 --format, or change the name",
                given.name(),
                path.display(),
                named.name()
            )))
        }
        (Some(given), _, _) => Ok(given),
        (None, Some(named), _) => Ok(named),
        (None, None, Some(path)) => Err(Error::InvalidInput(format!(
            "cannot tell the playlist format from the file name {}: give --format xspf \
             or --format m3u, or end the name in .m3u, .m3u8 or .xspf",
            path.display()
        ))),
        (None, None, None) => Err(Error::InvalidInput(
            "give --format xspf or --format m3u (or --output FILE ending in .m3u, .m3u8 \
             or .xspf)"
                .into(),
        )),
    }
}

/// What `playlist export` writes, as given on the command line.
#[derive(Debug)]
pub struct Export {
    pub name: String,
    /// `None`: from `output`'s extension.
    pub format: Option<Format>,
    /// `None`: stdout.
    pub output: Option<std::path::PathBuf>,
    /// `None`: from the config.
    pub base_url: Option<String>,
}

/// `playlist export`: the same XSPF or M3U text the server serves, to a
/// file (written whole, then renamed into place) or stdout. The format is
/// `format`, or else `output`'s extension ([`export_format`]).
pub fn playlist_export(config: &Config, export: &Export, out: &mut dyn Write) -> Result<()> {
    let Export {
        name,
        format,
        output,
        base_url,
    } = export;
    let (name, output) = (name.as_str(), output.as_deref());
    let format = export_format(*format, output)?;
    let store = open_store(config, Need::Read)?;
    let entries = store
        .playlist(name)?
        .ok_or_else(|| Error::NotFound(format!("no playlist {name:?}")))?;
    let base = base_url
        .clone()
        .unwrap_or_else(|| config.server.url().base().to_owned());
    if !base.starts_with("http://") && !base.starts_with("https://") {
        return Err(Error::InvalidInput(format!(
            "--base-url must start with http:// or https://: {base}"
        )));
    }
    let links = crate::catalog::playlist::Links {
        base_url: &base,
        token: config.server.token(),
    };
    let text = format.render(name, &entries, links);
    match output {
        None => write_all(out, &text),
        Some(path) => {
            // The token is in every URL: then not for every user to read.
            let mode = match config.server.token() {
                Some(_) => crate::files::PRIVATE_MODE,
                None => crate::files::SHARED_MODE,
            };
            crate::files::write_atomic(path, text.as_bytes(), mode)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
            say(
                out,
                &format!(
                    "wrote {} to {}",
                    count(entries.len(), "entry", "entries"),
                    path.display()
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Format::{M3u, Xspf};

    #[test]
    fn the_export_format_comes_from_the_flag_or_the_file_name() {
        let path = |p: &'static str| Some(Path::new(p));
        assert_eq!(export_format(Some(Xspf), None).ok(), Some(Xspf));
        assert_eq!(export_format(None, path("a/road.m3u")).ok(), Some(M3u));
        assert_eq!(export_format(None, path("road.M3U8")).ok(), Some(M3u));
        assert_eq!(export_format(None, path("road.xspf")).ok(), Some(Xspf));
        assert_eq!(export_format(Some(M3u), path("road.m3u8")).ok(), Some(M3u));
        assert_eq!(export_format(Some(M3u), path("road.txt")).ok(), Some(M3u));
        let err = |f, p| export_format(f, p).expect_err("refused").to_string();
        assert_eq!(
            err(Some(Xspf), path("road.m3u")),
            "--format xspf contradicts the file name road.m3u, which says m3u: leave out \
             --format, or change the name"
        );
        assert!(err(None, path("road.txt")).starts_with("cannot tell the playlist format"));
        assert!(err(None, path("road")).contains("end the name in .m3u, .m3u8 or .xspf"));
        assert!(err(None, None).starts_with("give --format xspf or --format m3u"));
    }
}
