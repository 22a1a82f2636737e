//! `sticker … song URI …` on YouTube Music songs, kept in icyproxy's
//! store (MPD keeps stickers only for its own database's songs). Two
//! names are ratings clients set, and change the song's like on YouTube
//! Music (with cookies):
//!
//! - `rating` (Cantata, MALP: 0–10): 8 or more likes, 1–2 dislikes, 0 (or
//!   a delete) is indifferent; 3–7 only stays here;
//! - `like` (myMPD: 2 like, 0 dislike, 1 indifferent).
//!
//! `sticker get` of either answers what the library knows when nothing
//! was set here: a liked song (in the library's liked songs) is rated 10,
//! liked 2.

use crate::catalog::discover::LIKED_NAME;
use crate::catalog::music::Rating;
use crate::catalog::store::stickers::MAX_STICKER_BYTES;
use crate::mpd::client::Failure;
use crate::mpd::relay::End;
use crate::video_id::VideoId;

use super::session::{ACK_ARG, ACK_NO_EXIST, Refusal, Session};
use super::tree;

/// What a sticker's value asks of YouTube Music, if anything.
pub fn rating_of(name: &str, value: Option<&str>) -> Option<Rating> {
    let Some(value) = value else {
        return matches!(name, "rating" | "like").then_some(Rating::Indifferent);
    };
    let n: i64 = value.trim().parse().ok()?;
    match (name, n) {
        ("rating", 8..) => Some(Rating::Like),
        ("rating", 1..=2) => Some(Rating::Dislike),
        ("rating", 0) => Some(Rating::Indifferent),
        ("like", 2) => Some(Rating::Like),
        ("like", 0) => Some(Rating::Dislike),
        ("like", 1) => Some(Rating::Indifferent),
        _ => None,
    }
}

impl Session<'_> {
    pub(super) fn sticker(&mut self, words: &[String]) -> Result<End, Failure> {
        if !self.allowed()?.admin() {
            return Ok(self.no_permission("sticker"));
        }
        let answered = match (words[1].as_str(), self.our_song(&words[3])) {
            ("find", _) => self.sticker_find(words),
            (action, Some(id)) => self.sticker_on(action, &id, &words[4..]),
            _ => Err(Refusal(ACK_NO_EXIST, "no such song".into())),
        };
        match answered {
            Ok(text) => {
                self.write(text.as_bytes())?;
                Ok(End::Ok)
            }
            Err(refusal) => Ok(self.refuse("sticker", refusal)),
        }
    }

    fn sticker_on(
        &mut self,
        action: &str,
        id: &VideoId,
        rest: &[String],
    ) -> Result<String, Refusal> {
        let bad = |what: &str| Refusal(ACK_ARG, what.into());
        match (action, rest) {
            ("get", [name]) => match self.stickers(id)?.into_iter().find(|(n, _)| n == name) {
                Some((name, value)) => Ok(format!("sticker: {name}={value}\n")),
                None => Err(Refusal(ACK_NO_EXIST, "no such sticker".into())),
            },
            ("list", []) => Ok(self
                .stickers(id)?
                .into_iter()
                .map(|(name, value)| format!("sticker: {name}={value}\n"))
                .collect()),
            ("set", [name, value]) => {
                if name.is_empty()
                    || name.contains('=')
                    || name.len() + value.len() > MAX_STICKER_BYTES
                {
                    return Err(bad("a sticker name without =, name and value within 1 KiB"));
                }
                self.rate(id, rating_of(name, Some(value)))?;
                match self.store()?.set_sticker(id, name, value)? {
                    true => Ok(String::new()),
                    false => Err(bad("too many stickers on this song")),
                }
            }
            ("delete", [name]) => {
                self.rate(id, rating_of(name, None))?;
                match self.store()?.delete_stickers(id, Some(name))? {
                    0 if self.library_sticker(id, name)?.is_none() => {
                        Err(Refusal(ACK_NO_EXIST, "no such sticker".into()))
                    }
                    _ => Ok(String::new()),
                }
            }
            ("delete", []) => {
                self.rate(id, rating_of("rating", None))?;
                self.store()?.delete_stickers(id, None)?;
                Ok(String::new())
            }
            _ => Err(bad("bad sticker command")),
        }
    }

    /// `sticker find song DIR NAME [= VALUE]` under the virtual directory.
    fn sticker_find(&mut self, words: &[String]) -> Result<String, Refusal> {
        let (name, wanted) = match &words[4..] {
            [name] => (name.clone(), None),
            [name, op, value] if op == "=" => (name.clone(), Some(value.clone())),
            _ => return Err(Refusal(ACK_ARG, "bad sticker find".into())),
        };
        let node = self
            .node(&words[3])
            .ok_or_else(|| Refusal(ACK_NO_EXIST, "No such directory".into()))?;
        let mut text = String::new();
        for track in self.stored_songs_under(&node)? {
            let Some((_, value)) = self
                .stickers(&track.video_id)?
                .into_iter()
                .find(|(n, _)| *n == name)
            else {
                continue;
            };
            if wanted.as_ref().is_none_or(|w| *w == value) {
                let url = self.door.parts.entries.song(&track).url;
                text.push_str(&format!("file: {url}\nsticker: {name}={value}\n"));
            }
        }
        Ok(text)
    }

    /// The songs a stored node and its stored subdirectories list.
    fn stored_songs_under(
        &mut self,
        node: &tree::Node,
    ) -> Result<Vec<crate::catalog::model::Track>, Refusal> {
        if !node.is_stored() {
            return Ok(Vec::new());
        }
        let listing = self.list(node)?;
        let mut songs = listing.songs;
        for dir in &listing.dirs {
            if let Some(child) = self
                .node(dir)
                .filter(|c| c.is_stored() && *c != tree::Node::Root)
            {
                let child_listing = self.list(&child)?;
                songs.extend(child_listing.songs);
            }
        }
        Ok(songs)
    }

    /// The song's stickers: those set here, then the library's ratings
    /// for names not set.
    fn stickers(&mut self, id: &VideoId) -> Result<Vec<(String, String)>, Refusal> {
        let mut set = self.store()?.stickers(id)?;
        for name in ["like", "rating"] {
            if !set.iter().any(|(n, _)| n == name) {
                if let Some(value) = self.library_sticker(id, name)? {
                    set.push((name.into(), value));
                }
            }
        }
        set.sort();
        Ok(set)
    }

    /// What the library says of `name` for a song: liked songs are rated.
    fn library_sticker(&mut self, id: &VideoId, name: &str) -> Result<Option<String>, Refusal> {
        let liked = self
            .store()?
            .playlist(LIKED_NAME)?
            .unwrap_or_default()
            .iter()
            .any(|e| e.video_id == id.as_str());
        Ok(match (liked, name) {
            (true, "rating") => Some("10".into()),
            (true, "like") => Some("2".into()),
            _ => None,
        })
    }

    /// Sends a rating to YouTube Music when cookies are set (else it stays
    /// here, said in the log).
    fn rate(&mut self, id: &VideoId, rating: Option<Rating>) -> Result<(), Refusal> {
        let Some(rating) = rating else {
            return Ok(());
        };
        let door = self.door;
        let Some(music) = door
            .parts
            .sources
            .music
            .as_ref()
            .filter(|m| m.has_cookies())
        else {
            log::info!("front door: {id} rated {rating:?} here only: no cookies for YouTube Music");
            return Ok(());
        };
        self.may_call("a rating")?;
        music.rate(id, rating)?;
        log::info!("front door: {id} rated {rating:?} on YouTube Music");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_of_both_scales() {
        assert_eq!(rating_of("rating", Some("10")), Some(Rating::Like));
        assert_eq!(rating_of("rating", Some("8")), Some(Rating::Like));
        assert_eq!(rating_of("rating", Some("5")), None);
        assert_eq!(rating_of("rating", Some("2")), Some(Rating::Dislike));
        assert_eq!(rating_of("rating", Some("0")), Some(Rating::Indifferent));
        assert_eq!(rating_of("like", Some("2")), Some(Rating::Like));
        assert_eq!(rating_of("like", Some("0")), Some(Rating::Dislike));
        assert_eq!(rating_of("like", Some("1")), Some(Rating::Indifferent));
        assert_eq!(rating_of("rating", None), Some(Rating::Indifferent));
        assert_eq!(rating_of("other", None), None);
        assert_eq!(rating_of("rating", Some("x")), None);
    }
}
