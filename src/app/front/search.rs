//! `search`, `searchadd` and `searchaddpl` through the front door: MPD's
//! own answer first, unchanged, then up to `[front] search_limit` songs
//! from YouTube Music for the same words. `find` stays MPD's alone.
//!
//! With `window START:END`, MPD's songs are counted (the same search
//! without the window), and YouTube Music's follow them in the numbering, so a
//! client paging through the results sees each song once.

use crate::mpd::client::Failure;
use crate::mpd::filter;
use crate::mpd::protocol::quote;
use crate::mpd::relay::End;

use super::session::{ACK_SYSTEM, Session};
use super::songs;

impl Session<'_> {
    pub(super) fn search(&mut self, line: &[u8], words: &[String]) -> Result<End, Failure> {
        let command = words[0].as_str();
        let args = match command {
            "searchaddpl" => &words[2..],
            _ => &words[1..],
        };
        let asked = match filter::asked(args) {
            Ok(asked) => asked,
            Err(_) => return self.relay_line(line),
        };
        let Some(query) = asked.words.clone() else {
            return self.relay_line(line);
        };
        let end = self.relay_line(line)?;
        if end != End::Ok {
            return Ok(end);
        }
        match command {
            "search" => self.search_more(args, &query, asked.window),
            "searchadd" => {
                if !self.allowed()?.add() {
                    return Ok(End::Ok);
                }
                let found = self.found_or_nothing(&query);
                match songs::add(&mut self.mpd, &self.door.parts.entries, &found, None)? {
                    Ok(_) => Ok(End::Ok),
                    Err(ack) => Ok(End::Ack(ack)),
                }
            }
            _ => {
                let name = words[1].clone();
                let found = self.found_or_nothing(&query);
                for track in &found {
                    let url = self.door.parts.entries.song(track).url;
                    let (Some(name), Some(url)) = (quote(&name), quote(&url)) else {
                        continue;
                    };
                    if let Err(ack) = self.mpd.ask(&format!("playlistadd {name} {url}"))? {
                        return Ok(End::Ack(format!("ACK {}", ack.text)));
                    }
                }
                Ok(End::Ok)
            }
        }
    }

    /// YouTube Music's songs after MPD's answer to `search`, numbered on
    /// from MPD's within a window.
    fn search_more(
        &mut self,
        args: &[String],
        query: &str,
        window: Option<(usize, Option<usize>)>,
    ) -> Result<End, Failure> {
        let (skip, take) = match window {
            None => (0, usize::MAX),
            Some((start, end)) => {
                let mpd_songs = self.mpd_count(args)?;
                let end = end.unwrap_or(usize::MAX);
                if end <= mpd_songs {
                    return Ok(End::Ok);
                }
                (start.saturating_sub(mpd_songs), end - start.max(mpd_songs))
            }
        };
        let found = self.found_or_nothing(query);
        let shown: Vec<_> = found.into_iter().skip(skip).take(take).collect();
        songs::write_all(&mut self.out, &self.door.parts.entries, &shown)?;
        Ok(End::Ok)
    }

    /// How many songs MPD's own search finds: the search again without
    /// its window, counted (`count` matches as `find` does, with case).
    fn mpd_count(&mut self, args: &[String]) -> Result<usize, Failure> {
        let mut line = String::from("search");
        for arg in filter::filter_part(args) {
            let Some(quoted) = quote(arg) else {
                return Ok(0);
            };
            line.push(' ');
            line.push_str(&quoted);
        }
        Ok(match self.mpd.ask(&line)? {
            Ok(pairs) => pairs.iter().filter(|(k, _)| k == "file").count(),
            Err(_) => 0,
        })
    }

    /// YouTube Music's songs for `query`; none when the budget is spent
    /// or the search fails (said in the log): MPD's answer stands alone.
    fn found_or_nothing(&mut self, query: &str) -> Vec<crate::catalog::model::Track> {
        let limit = self.door.parts.settings.search_limit;
        match self.find_songs(query, limit) {
            Ok(found) => {
                self.search_failed_said = false;
                log::info!(
                    "front door: search {query:?}: {} songs from YouTube Music",
                    found.len()
                );
                found
            }
            Err(refusal) => {
                let first = !std::mem::replace(&mut self.search_failed_said, true);
                let level = match (refusal.0, first) {
                    (ACK_SYSTEM, true) => log::Level::Warn,
                    (_, true) => log::Level::Info,
                    (_, false) => log::Level::Debug,
                };
                log::log!(level, "front door: search {query:?}: {}", refusal.1);
                Vec::new()
            }
        }
    }
}
