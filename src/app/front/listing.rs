//! The front door's browsing: `lsinfo`, `listfiles`, `listall` and
//! `listallinfo` of the virtual directory (MPD's root with it added), and
//! `add`/`addid` of its songs and directories.

use crate::catalog::discover::{LIKED_NAME, NEEDS_COOKIES};
use crate::catalog::model::Track;
use crate::catalog::music::{Music, Section};
use crate::mpd::client::Failure;
use crate::mpd::relay::End;
use crate::video_id::VideoId;

use super::session::{ACK_NO_EXIST, Refusal, Session};
use super::songs;
use super::tree::{
    self, ALBUMS, ARTISTS, LIKED, Listing, MAX_SONGS, MIXES, Node, PLAYLISTS, RADIO, SEARCH,
    segment, unique_names,
};

/// Songs a radio lists.
const RADIO_SONGS: usize = 25;

impl<'a> Session<'a> {
    /// `lsinfo`, `listfiles`, `listall`, `listallinfo` of the root or a
    /// path of the virtual directory, or `lsinfo` of one of its songs.
    pub(super) fn browse(&mut self, line: &[u8], words: &[String]) -> Result<End, Failure> {
        let command = words[0].as_str();
        let Some(path) = words
            .get(1)
            .map(String::as_str)
            .filter(|p| !matches!(*p, "" | "/"))
        else {
            // MPD's root, with the virtual directory after MPD's own.
            let end = self.relay_line(line)?;
            if end == End::Ok && self.allowed()?.read() {
                let root = self.door.parts.settings.directory();
                self.write(format!("directory: {root}\n").as_bytes())?;
            }
            return Ok(end);
        };
        if !self.allowed()?.read() {
            return Ok(self.no_permission(command));
        }
        if let Some(id) = self.our_song(path) {
            let track = self.track(&id);
            songs::write_all(&mut self.out, &self.door.parts.entries, &[track])?;
            return Ok(End::Ok);
        }
        let Some(node) = self.node(path) else {
            return self.relay_line(line);
        };
        let listed = match command {
            "listall" | "listallinfo" => {
                let mut text = String::new();
                self.list_all(&node, command == "listallinfo", &mut text, 0)
                    .map(|()| text)
            }
            _ => self
                .list(&node)
                .map(|listing| self.listing_text(&listing, command == "listfiles")),
        };
        match listed {
            Ok(text) => {
                self.write(text.as_bytes())?;
                Ok(End::Ok)
            }
            Err(refusal) => Ok(self.refuse(command, refusal)),
        }
    }

    /// A listing as `lsinfo` (full paths) or `listfiles` (names) gives it.
    fn listing_text(&self, listing: &Listing, names: bool) -> String {
        let mut text = String::new();
        for dir in &listing.dirs {
            let shown = match names {
                true => dir.rsplit('/').next().unwrap_or(dir),
                false => dir,
            };
            text.push_str(&format!("directory: {shown}\n"));
        }
        for track in &listing.songs {
            text.push_str(&songs::entry(&self.door.parts.entries, track));
        }
        text
    }

    /// Everything under a stored node, as `listall` (paths alone) or
    /// `listallinfo` gives it; what needs YouTube Music is not read.
    fn list_all(
        &mut self,
        node: &Node,
        info: bool,
        text: &mut String,
        depth: usize,
    ) -> Result<(), Refusal> {
        if !node.is_stored() || depth > 3 {
            return Ok(());
        }
        let listing = self.list(node)?;
        for track in &listing.songs {
            match info {
                true => text.push_str(&songs::entry(&self.door.parts.entries, track)),
                false => {
                    let url = self.door.parts.entries.song(track).url;
                    text.push_str(&format!("file: {url}\n"));
                }
            }
        }
        for dir in &listing.dirs {
            text.push_str(&format!("directory: {dir}\n"));
            if let Some(child) = self.node(dir) {
                self.list_all(&child, info, text, depth + 1)?;
            }
        }
        Ok(())
    }

    /// `add`/`addid` of one of the front door's songs, or of a virtual
    /// directory (its songs; a stored directory's subdirectories too).
    pub(super) fn add(&mut self, words: &[String]) -> Result<End, Failure> {
        let command = words[0].as_str();
        let uri = words[1].as_str();
        if !self.allowed()?.add() {
            return Ok(self.no_permission(command));
        }
        let tracks = match (self.our_song(uri), self.node(uri)) {
            (Some(id), _) => vec![self.track(&id)],
            (None, Some(node)) => match self.songs_under(&node, 0) {
                Ok(tracks) => tracks,
                Err(refusal) => return Ok(self.refuse(command, refusal)),
            },
            (None, None) => {
                return Ok(self.refuse(command, Refusal(ACK_NO_EXIST, "No such song".into())));
            }
        };
        if tracks.is_empty() {
            return Ok(match command {
                "addid" => self.refuse(command, Refusal(ACK_NO_EXIST, "No songs there".into())),
                _ => End::Ok,
            });
        }
        let position = words.get(2).map(String::as_str);
        match songs::add(&mut self.mpd, &self.door.parts.entries, &tracks, position)? {
            Ok(ids) => {
                if let (Some(first), "addid") = (ids.first(), command) {
                    self.write(format!("Id: {first}\n").as_bytes())?;
                }
                log::info!("front door: {} songs added from {uri:?}", ids.len());
                Ok(End::Ok)
            }
            Err(ack) => Ok(End::Ack(ack)),
        }
    }

    fn songs_under(&mut self, node: &Node, depth: usize) -> Result<Vec<Track>, Refusal> {
        let listing = self.list(node)?;
        let mut tracks = listing.songs;
        if node.is_stored() && depth < 3 {
            for dir in &listing.dirs {
                if tracks.len() >= MAX_SONGS {
                    break;
                }
                if let Some(child) = self.node(dir).filter(Node::is_stored) {
                    tracks.extend(self.songs_under(&child, depth + 1)?);
                }
            }
        }
        tracks.truncate(MAX_SONGS);
        Ok(tracks)
    }

    /// A stored track, or a bare one for an id the store lacks.
    pub(super) fn track(&mut self, id: &VideoId) -> Track {
        match self.store().map(|store| store.get(id)) {
            Ok(Ok(Some(track))) => track,
            _ => songs::bare(id),
        }
    }

    /// `ROOT/parts…`.
    fn path(&self, parts: &[&str]) -> String {
        let mut path = self.door.parts.settings.directory().to_owned();
        for part in parts {
            path.push('/');
            path.push_str(part);
        }
        path
    }

    fn dirs(&self, under: &[&str], names: impl IntoIterator<Item = String>) -> Listing {
        Listing {
            dirs: names
                .into_iter()
                .map(|name| {
                    let mut parts = under.to_vec();
                    parts.push(&name);
                    self.path(&parts)
                })
                .collect(),
            songs: Vec::new(),
        }
    }

    /// What a node lists.
    pub(super) fn list(&mut self, node: &Node) -> Result<Listing, Refusal> {
        let songs = |songs: Vec<Track>| Listing {
            dirs: Vec::new(),
            songs,
        };
        Ok(match node {
            Node::Root => self.dirs(
                &[],
                [LIKED, PLAYLISTS, MIXES, ALBUMS, ARTISTS, RADIO, SEARCH].map(String::from),
            ),
            Node::Liked => songs(tree::stored_playlist(self.store()?, LIKED_NAME)?),
            Node::Playlists => {
                let (playlists, _) = tree::playlists_and_mixes(self.store()?)?;
                self.dirs(&[PLAYLISTS], playlists)
            }
            Node::Mixes => {
                let (_, mixes) = tree::playlists_and_mixes(self.store()?)?;
                self.dirs(&[MIXES], mixes)
            }
            Node::Playlist(name) | Node::Mix(name) => {
                let (playlists, mixes) = tree::playlists_and_mixes(self.store()?)?;
                let kind = match node {
                    Node::Mix(_) => &mixes,
                    _ => &playlists,
                };
                if !kind.contains(name) {
                    return Err(Refusal(ACK_NO_EXIST, "No such directory".into()));
                }
                songs(tree::stored_playlist(self.store()?, name)?)
            }
            Node::Albums => self.albums()?,
            Node::Album(name) => {
                let path = self.path(&[ALBUMS, name]);
                let id = match self.door.lead(&path) {
                    Some(id) => id,
                    None => {
                        self.albums()?;
                        self.door.lead(&path).ok_or_else(no_directory)?
                    }
                };
                songs(self.album(&id)?)
            }
            Node::Artists => {
                let names = tree::library_artists(self.store()?)?;
                self.dirs(&[ARTISTS], names)
            }
            Node::Artist(name) => self.artist(name)?,
            Node::ArtistAlbum(artist, album) => {
                let path = self.path(&[ARTISTS, artist, album]);
                let id = match self.door.lead(&path) {
                    Some(id) => id,
                    None => {
                        self.artist(artist)?;
                        self.door.lead(&path).ok_or_else(no_directory)?
                    }
                };
                songs(self.album(&id)?)
            }
            Node::Radio => songs(self.radio()?),
            Node::Searches => {
                let names = self.door.searches().into_iter().map(|(q, _)| segment(&q));
                self.dirs(&[SEARCH], names.collect::<Vec<_>>())
            }
            Node::Search(query) => songs(self.search_dir(query)?),
        })
    }

    fn music(&self) -> Result<&'a Music, Refusal> {
        let door = self.door;
        door.parts
            .sources
            .music
            .as_ref()
            .ok_or_else(|| Refusal::from(crate::catalog::discover::reader_off()))
    }

    /// The library's saved albums (with cookies), each remembered by path.
    fn albums(&mut self) -> Result<Listing, Refusal> {
        let door = self.door;
        let music = self.music()?;
        if !music.has_cookies() {
            return Err(Refusal(ACK_NO_EXIST, NEEDS_COOKIES.into()));
        }
        self.may_call("the library's albums")?;
        let leads = music.library_albums()?;
        let names = unique_names(leads.iter().map(|l| segment(&l.title)));
        for (name, lead) in names.iter().zip(&leads) {
            door.remember_lead(self.path(&[ALBUMS, name]), lead.browse_id.clone());
        }
        Ok(self.dirs(&[ALBUMS], names))
    }

    fn album(&mut self, browse_id: &str) -> Result<Vec<Track>, Refusal> {
        let door = self.door;
        let music = self.music()?;
        self.may_call("an album")?;
        let album = music.album(browse_id)?;
        let store = self.store()?;
        Ok(tree::stored(&door.reading(), store, album.tracks)?)
    }

    /// An artist (found by name, unless listed lately): top songs, albums.
    fn artist(&mut self, name: &str) -> Result<Listing, Refusal> {
        let door = self.door;
        let music = self.music()?;
        let path = self.path(&[ARTISTS, name]);
        let id = match door.lead(&path) {
            Some(id) => id,
            None => {
                self.may_call("an artist")?;
                let found = music.search_leads(name, Section::Artists, 1)?;
                let lead = found.into_iter().next().ok_or_else(no_directory)?;
                door.remember_lead(path, lead.browse_id.clone());
                lead.browse_id
            }
        };
        self.may_call("an artist")?;
        let artist = music.artist(&id)?;
        let names = unique_names(artist.albums.iter().map(|l| segment(&l.title)));
        for (album, lead) in names.iter().zip(&artist.albums) {
            door.remember_lead(self.path(&[ARTISTS, name, album]), lead.browse_id.clone());
        }
        let store = self.store()?;
        let songs = tree::stored(&door.reading(), store, artist.songs)?;
        let mut listing = self.dirs(&[ARTISTS, name], names);
        listing.songs = songs;
        Ok(listing)
    }

    /// The radio of MPD's current song: one of ours by its id, any other
    /// by the first song YouTube Music finds for its artist and title.
    fn radio(&mut self) -> Result<Vec<Track>, Refusal> {
        let current = match self.mpd.ask("currentsong") {
            Ok(Ok(pairs)) => pairs,
            Ok(Err(ack)) => return Err(Refusal(ack.code, ack.text)),
            Err(e) => return Err(Refusal(super::session::ACK_SYSTEM, format!("MPD: {e:?}"))),
        };
        let value = |key: &str| {
            current
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let seed = match value("file").and_then(|f| self.our_song(&f)) {
            Some(id) => id,
            None => {
                let words = format!(
                    "{} {}",
                    value("Artist").unwrap_or_default(),
                    value("Title").unwrap_or_default()
                );
                if words.trim().is_empty() {
                    return Ok(Vec::new());
                }
                let found = self.find_songs(words.trim(), 1)?;
                match found.into_iter().next() {
                    Some(track) => track.video_id,
                    None => return Ok(Vec::new()),
                }
            }
        };
        let door = self.door;
        self.may_call("the radio")?;
        let store = self.store()?;
        Ok(tree::radio(&door.reading(), store, &seed, RADIO_SONGS)?)
    }

    /// A recent search's songs (from the store), or a new search.
    fn search_dir(&mut self, query: &str) -> Result<Vec<Track>, Refusal> {
        let recent = self
            .door
            .searches()
            .into_iter()
            .find(|(q, _)| segment(q) == query);
        match recent {
            Some((_, ids)) => Ok(ids.iter().map(|id| self.track(id)).collect()),
            None => {
                let limit = self.door.parts.settings.search_limit.max(1);
                self.find_songs(query, limit)
            }
        }
    }

    /// Searches YouTube Music's songs (the reader, or yt-dlp where it
    /// fails) and remembers the search for `Search/`.
    pub(super) fn find_songs(&mut self, query: &str, limit: usize) -> Result<Vec<Track>, Refusal> {
        let door = self.door;
        self.may_call(&format!("the search {query:?}"))?;
        let store = self.store()?;
        let found = tree::search_songs(&door.reading(), store, query, limit)?;
        door.remember_search(query, found.iter().map(|t| t.video_id.clone()).collect());
        Ok(found)
    }
}

fn no_directory() -> Refusal {
    Refusal(ACK_NO_EXIST, "No such directory".into())
}
