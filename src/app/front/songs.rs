//! YouTube Music songs as MPD's answers show them, and as they go into
//! MPD's queue through a client's own connection.
//!
//! An entry's `file:` is the seekable proxy URL (`/proxy/ID/?icy=0`, the
//! queue entries' own), so adding it works on any connection to MPD, even
//! one that bypasses the front door; through the front door it goes in
//! with `addid` and is tagged with `addtagid` at once.

use std::io::Write;

use crate::app::entries::QueueEntries;
use crate::catalog::model::Track;
use crate::catalog::tags::Tags;
use crate::mpd::client::Failure;
use crate::mpd::protocol::quote;
use crate::mpd::relay::MpdLink;
use crate::video_id::VideoId;

/// A track for an id the store does not hold: the id as its title.
pub fn bare(id: &VideoId) -> Track {
    Track {
        video_id: id.clone(),
        stream_url: None,
        tags: Tags {
            title: id.to_string(),
            ..Tags::default()
        },
        updated_at: 0,
        expires_at: None,
        tags_from: crate::catalog::model::TagSource::Flat,
        fetch: Default::default(),
    }
}

/// The lines of one song entry (`file:`, then its tags).
pub fn entry(entries: &QueueEntries, track: &Track) -> String {
    let song = entries.song(track);
    let mut text = format!("file: {}\n", one_line(&song.url));
    for (key, value) in [
        ("Artist", song.artist.as_str()),
        ("Title", song.title.as_str()),
        ("Album", song.album.as_deref().unwrap_or("")),
    ] {
        if !value.trim().is_empty() {
            text.push_str(&format!("{key}: {}\n", one_line(value)));
        }
    }
    if let Some(secs) = track.tags.duration_secs.filter(|s| *s > 0) {
        text.push_str(&format!("Time: {secs}\nduration: {secs}.000\n"));
    }
    text
}

/// A value on one line (a line break would end the answer's line).
fn one_line(value: &str) -> String {
    value.replace(['\n', '\r'], " ")
}

/// Writes `tracks`' entries.
pub fn write_all(
    out: &mut impl Write,
    entries: &QueueEntries,
    tracks: &[Track],
) -> Result<(), Failure> {
    for track in tracks {
        out.write_all(entry(entries, track).as_bytes())
            .map_err(|e| Failure::Lost(format!("the client: {e}")))?;
    }
    Ok(())
}

/// What adding songs came to: their ids, or MPD's refusal.
pub type Added = Result<Vec<u64>, String>;

/// Songs added per pair of command lists (well inside MPD's 2 MiB list).
const BATCH: usize = 500;

/// Adds `tracks` to the queue on the client's own connection, at
/// `position` and after (`None`: the end), tagged as icyproxy's own queue
/// entries are: per batch, one command list of `addid`s, then one of
/// their `addtagid`s. MPD's refusal (no `add` permission, a full queue)
/// is given back as its `ACK` line; the songs before it stay added.
pub fn add(
    link: &mut MpdLink,
    entries: &QueueEntries,
    tracks: &[Track],
    position: Option<&str>,
) -> Result<Added, Failure> {
    let songs: Vec<_> = tracks
        .iter()
        .map(|t| entries.song(t))
        .filter(|s| quote(&s.url).is_some())
        .collect();
    let mut ids = Vec::with_capacity(songs.len());
    for (batch_no, batch) in songs.chunks(BATCH).enumerate() {
        let adds: Vec<String> = batch
            .iter()
            .enumerate()
            .map(|(n, song)| {
                let at = position
                    .map(|p| shifted(p, batch_no * BATCH + n))
                    .unwrap_or_default();
                format!("addid {}{at}", quote(&song.url).unwrap_or_default())
            })
            .collect();
        let answers = match link.ask_list(&adds)? {
            Ok(answers) => answers,
            Err((_, ack)) => return Ok(Err(format!("ACK {}", ack.text))),
        };
        let mut tags = Vec::new();
        for (pairs, song) in answers.iter().zip(batch) {
            let id = pairs
                .iter()
                .find(|(k, _)| k == "Id")
                .and_then(|(_, v)| v.parse::<u64>().ok())
                .ok_or_else(|| Failure::Lost("MPD answered addid without an Id".into()))?;
            ids.push(id);
            tags.extend(song.tag_commands(id));
        }
        if !tags.is_empty() {
            if let Err((_, ack)) = link.ask_list(&tags)? {
                log::debug!("front door: tags not all set: {ack}");
            }
        }
    }
    Ok(Ok(ids))
}

/// ` POS` for the `n`th song added at `position` (`+N`/`-N` relative to
/// the current song stay relative, shifted by `n` after it).
fn shifted(position: &str, n: usize) -> String {
    let (sign, digits) = match position.strip_prefix(['+', '-']) {
        Some(rest) => (&position[..1], rest),
        None => ("", position),
    };
    match (sign, digits.parse::<usize>()) {
        ("", Ok(p)) => format!(" {}", p + n),
        ("+", Ok(p)) => format!(" +{}", p + n),
        // `-N`: before the current song; each next one one further on.
        ("-", Ok(p)) if p >= n => format!(" -{}", p - n),
        _ => format!(" {}", quote(position).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_move_on_with_each_song() {
        assert_eq!(shifted("3", 2), " 5");
        assert_eq!(shifted("+0", 1), " +1");
        assert_eq!(shifted("-2", 1), " -1");
        assert_eq!(shifted("x", 0), " \"x\"");
    }
}
