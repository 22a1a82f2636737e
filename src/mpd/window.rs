//! The warm window, pure: which queue positions to read for a `status`
//! ([`plan`]), and the video ids those entries name ([`window`]), using
//! [`proxied_id`] to tell this proxy's URLs from everything else.
//!
//! Only the positions near the play position are read, in at most three
//! `playlistinfo START:END` ranges, so a queue of 10,000 entries costs what
//! a queue of ten does.

use super::protocol::{Entry, Status};
use crate::video_id::VideoId;

/// The queue positions to read, and the order they are needed in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// `playlistinfo START:END` ranges as `(START, END)`, END exclusive:
    /// not empty, not overlapping, each within the queue.
    pub ranges: Vec<(usize, usize)>,
    /// Positions in order of need, each once.
    pub order: Vec<usize>,
}

/// Plans the reads for `status`: the current song, MPD's `nextsong`, then
/// the `warm_ahead` entries after the current position in queue order,
/// wrapping to the start when `repeat` is on (never past the current song
/// again). With no current song the play position is 0, the entry a bare
/// `play` starts with.
pub fn plan(status: &Status, warm_ahead: usize) -> Plan {
    let len = status.length;
    let base = status.song.unwrap_or(0);
    if base >= len {
        return Plan::default();
    }
    let mut order = vec![base];
    let push = |pos: usize, order: &mut Vec<usize>| {
        if pos < len && !order.contains(&pos) {
            order.push(pos);
        }
    };
    if let Some(next) = status.next_song {
        push(next, &mut order);
    }
    // Entries after the current one, at most once round the queue.
    let ahead = warm_ahead.min(len - 1);
    let straight_end = (base + 1 + ahead).min(len);
    let wrapped_end = if status.repeat {
        (base + 1 + ahead).saturating_sub(len).min(base)
    } else {
        0
    };
    for pos in (base + 1..straight_end).chain(0..wrapped_end) {
        push(pos, &mut order);
    }

    let mut ranges = vec![(base, straight_end)];
    if wrapped_end > 0 {
        ranges.push((0, wrapped_end));
    }
    if let Some(next) = status.next_song.filter(|&n| n < len) {
        if !ranges.iter().any(|&r| within(r, next)) {
            ranges.push((next, next + 1));
        }
    }
    Plan { ranges, order }
}

/// Whether `pos` is in the range `(start, end)`.
fn within((start, end): (usize, usize), pos: usize) -> bool {
    start <= pos && pos < end
}

/// The ids to keep warm: the entries at `order`'s positions that point at
/// this proxy, in that order, each id once. Positions with no entry (the
/// queue changed under the reads) are skipped; the next `idle` event
/// brings a fresh read.
pub fn window(order: &[usize], entries: &[Entry], proxy_port: u16) -> Vec<VideoId> {
    let mut ids: Vec<VideoId> = Vec::with_capacity(order.len());
    for &pos in order {
        let Some(entry) = entries.iter().find(|e| e.pos == pos) else {
            continue;
        };
        if let Some(id) = proxied_id(&entry.file, proxy_port) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The video id of a queue entry that streams through this proxy: an
/// `http`/`https` URL on `proxy_port` (any host: MPD may know this machine
/// by any name) whose path is `/proxy/{id}` or `/proxy/{id}/`, with any
/// query or fragment. `None` for anything else.
///
/// ```
/// use icyproxy::mpd::proxied_id;
/// let id = proxied_id("http://pi.local:8080/proxy/dQw4w9WgXcQ/?icy=0", 8080);
/// assert_eq!(id.map(|i| i.to_string()).as_deref(), Some("dQw4w9WgXcQ"));
/// assert!(proxied_id("http://pi.local:8081/proxy/dQw4w9WgXcQ/", 8080).is_none());
/// ```
pub fn proxied_id(url: &str, proxy_port: u16) -> Option<VideoId> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        80
    } else if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        return None;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(authority_end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let port_text = if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        if host.is_empty() {
            return None;
        }
        match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) if !host.is_empty() => Some(port),
            Some(_) => return None,
            None if host_port.is_empty() => return None,
            None => None,
        }
    };
    let port = match port_text {
        None | Some("") => default_port,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse::<u16>().ok()?,
        Some(_) => return None,
    };
    if port != proxy_port {
        return None;
    }
    let path_end = target.find(['?', '#']).unwrap_or(target.len());
    let id = target[..path_end].strip_prefix("/proxy/")?;
    VideoId::parse(id.strip_suffix('/').unwrap_or(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "dQw4w9WgXcQ";

    fn id(url: &str) -> Option<String> {
        proxied_id(url, 8080).map(|i| i.to_string())
    }

    #[test]
    fn proxy_urls_match() {
        for url in [
            "http://127.0.0.1:8080/proxy/dQw4w9WgXcQ/",
            "http://127.0.0.1:8080/proxy/dQw4w9WgXcQ",
            "http://127.0.0.1:8080/proxy/dQw4w9WgXcQ?icy=0",
            "http://127.0.0.1:8080/proxy/dQw4w9WgXcQ/?icy=0&x=/proxy/",
            "http://pi.local:8080/proxy/dQw4w9WgXcQ/#frag",
            "HTTPS://pi.local:8080/proxy/dQw4w9WgXcQ/",
            "http://user:pw@pi.local:8080/proxy/dQw4w9WgXcQ/",
            "http://[::1]:8080/proxy/dQw4w9WgXcQ/",
            "http://pi:08080/proxy/dQw4w9WgXcQ/",
        ] {
            assert_eq!(id(url).as_deref(), Some(ID), "{url}");
        }
        assert_eq!(
            proxied_id("http://pi/proxy/dQw4w9WgXcQ/", 80).map(|i| i.to_string()),
            Some(ID.into())
        );
        assert_eq!(
            proxied_id("https://pi:/proxy/dQw4w9WgXcQ", 443).map(|i| i.to_string()),
            Some(ID.into())
        );
    }

    #[test]
    fn everything_else_is_ignored() {
        for url in [
            "http://127.0.0.1:8081/proxy/dQw4w9WgXcQ/",
            "http://127.0.0.1/proxy/dQw4w9WgXcQ/",
            "http://127.0.0.1:8080/file/tone.mp3",
            "http://127.0.0.1:8080/proxy/dQw4w9WgXcQ/cover.jpg",
            "http://127.0.0.1:8080/proxy/dQw4w9WgXcQ//",
            "http://127.0.0.1:8080/proxy/dQw4w9WgXc/",
            "http://127.0.0.1:8080/proxy/dQw4w9WgXcQQ/",
            "http://127.0.0.1:8080/proxy/dQw4w9WgX%51/",
            "http://127.0.0.1:8080/proxy/",
            "http://127.0.0.1:8080/x/proxy/dQw4w9WgXcQ/",
            "http://127.0.0.1:8080?/proxy/dQw4w9WgXcQ/",
            "http://127.0.0.1:+8080/proxy/dQw4w9WgXcQ/",
            "http://127.0.0.1:99999/proxy/dQw4w9WgXcQ/",
            "http://:8080/proxy/dQw4w9WgXcQ/",
            "http://[::1/proxy/dQw4w9WgXcQ/",
            "http://[::1]x:8080/proxy/dQw4w9WgXcQ/",
            "ftp://127.0.0.1:8080/proxy/dQw4w9WgXcQ/",
            "/proxy/dQw4w9WgXcQ/",
            "Music/song.flac",
            "",
            "http://",
            "http://127.0.0.1:8080/proxy/dQw4w9WgXé/",
        ] {
            assert_eq!(id(url), None, "{url}");
        }
    }

    fn status(song: Option<usize>, next: Option<usize>, length: usize, repeat: bool) -> Status {
        Status {
            song,
            next_song: next,
            length,
            repeat,
            random: false,
            version: 1,
            ..Status::default()
        }
    }

    #[test]
    fn plan_in_queue_order() {
        let p = plan(&status(Some(2), Some(3), 8, false), 5);
        assert_eq!(p.order, [2, 3, 4, 5, 6, 7]);
        assert_eq!(p.ranges, [(2, 8)]);
        // Near the end without repeat: stops at the end.
        let p = plan(&status(Some(6), Some(7), 8, false), 5);
        assert_eq!(p.order, [6, 7]);
        assert_eq!(p.ranges, [(6, 8)]);
        // The last song, no nextsong.
        let p = plan(&status(Some(7), None, 8, false), 5);
        assert_eq!(p.order, [7]);
        assert_eq!(p.ranges, [(7, 8)]);
    }

    #[test]
    fn plan_wraps_with_repeat() {
        let p = plan(&status(Some(6), Some(7), 8, true), 5);
        assert_eq!(p.order, [6, 7, 0, 1, 2, 3]);
        assert_eq!(p.ranges, [(6, 8), (0, 4)]);
        // Never round past the current song, however far ahead.
        let p = plan(&status(Some(2), Some(3), 4, true), 100);
        assert_eq!(p.order, [2, 3, 0, 1]);
        assert_eq!(p.ranges, [(2, 4), (0, 2)]);
        let p = plan(&status(Some(0), Some(0), 1, true), 5);
        assert_eq!(p.order, [0]);
        assert_eq!(p.ranges, [(0, 1)]);
    }

    #[test]
    fn plan_random_nextsong_is_read_on_its_own() {
        let mut s = status(Some(5000), Some(17), 10_000, false);
        s.random = true;
        let p = plan(&s, 5);
        assert_eq!(p.order, [5000, 17, 5001, 5002, 5003, 5004, 5005]);
        assert_eq!(p.ranges, [(5000, 5006), (17, 18)]);
        // nextsong inside the straight range is not read twice.
        let p = plan(&status(Some(10), Some(13), 100, false), 5);
        assert_eq!(p.order, [10, 13, 11, 12, 14, 15]);
        assert_eq!(p.ranges, [(10, 16)]);
        // ... nor inside the wrapped one.
        let p = plan(&status(Some(8), Some(1), 10, true), 5);
        assert_eq!(p.order, [8, 1, 9, 0, 2, 3]);
        assert_eq!(p.ranges, [(8, 10), (0, 4)]);
    }

    #[test]
    fn plan_without_current_song_or_queue() {
        let p = plan(&status(None, None, 8, false), 2);
        assert_eq!(p.order, [0, 1, 2]);
        assert_eq!(p.ranges, [(0, 3)]);
        assert_eq!(plan(&status(None, None, 0, false), 5), Plan::default());
        assert_eq!(plan(&status(None, None, 0, true), 5), Plan::default());
        // Odd input: positions past the end are never read.
        assert_eq!(plan(&status(Some(9), Some(3), 8, true), 5), Plan::default());
        let p = plan(&status(Some(1), Some(99), 3, false), 0);
        assert_eq!(p.order, [1]);
        assert_eq!(p.ranges, [(1, 2)]);
    }

    #[test]
    fn plan_reads_are_bounded_by_warm_ahead() {
        for len in [1, 2, 7, 10_000] {
            for song in [0, len / 2, len - 1] {
                for repeat in [false, true] {
                    for ahead in [0, 1, 5] {
                        let p = plan(
                            &status(Some(song), Some((song * 7) % len), len, repeat),
                            ahead,
                        );
                        let read: usize = p.ranges.iter().map(|(s, e)| e - s).sum();
                        assert!(read <= ahead + 2, "{len} {song} {repeat} {ahead}: {p:?}");
                        assert!(p.ranges.iter().all(|&(s, e)| s < e && e <= len));
                        for &pos in &p.order {
                            assert!(p.ranges.iter().any(|&r| within(r, pos)), "{p:?}");
                        }
                    }
                }
            }
        }
    }

    fn entry(pos: usize, file: &str) -> Entry {
        Entry {
            pos,
            file: file.into(),
        }
    }

    #[test]
    fn window_keeps_order_skips_and_dedups() {
        let entries = [
            entry(6, "http://h:8080/proxy/aaaaaaaaaaa/"),
            entry(7, "http://h:9999/proxy/bbbbbbbbbbb/"),
            entry(0, "http://h:8080/proxy/ccccccccccc?icy=0"),
            entry(1, "http://h:8080/proxy/aaaaaaaaaaa"),
            entry(2, "local/file.flac"),
            entry(3, "http://h:8080/proxy/ddddddddddd/"),
        ];
        let ids: Vec<String> = window(&[6, 7, 0, 1, 2, 3, 4], &entries, 8080)
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(ids, ["aaaaaaaaaaa", "ccccccccccc", "ddddddddddd"]);
        assert!(window(&[], &entries, 8080).is_empty());
    }
}
