//! This server's entries in MPD's queue: the URL a song is added with
//! (`/proxy/ID/?icy=0` on the public URL, seekable, as playlist entries
//! are) and the port that tells them from anyone else's. One answer for
//! the follower, autoplay, the channel and the CLI (`radio --current`,
//! `--add`), derived once from the public URL.

use crate::catalog::model::Track;
use crate::catalog::playlist::{self, Links};
use crate::config::Config;
use crate::mpd::proxied_id;
use crate::mpd::queue::QueueSong;
use crate::public_url::PublicUrl;
use crate::video_id::VideoId;

#[derive(Debug, Clone)]
pub struct QueueEntries {
    public: PublicUrl,
    token: Option<String>,
}

impl QueueEntries {
    /// The entries of the server `config` describes; `bound_port` is the
    /// port it really listens on, when it runs.
    pub fn of(config: &Config, bound_port: Option<u16>) -> QueueEntries {
        QueueEntries {
            public: config.public_url(bound_port),
            token: config.server.token().map(str::to_owned),
        }
    }

    /// Where MPD reaches this server.
    pub fn public(&self) -> &PublicUrl {
        &self.public
    }

    /// The queue entry for a stored track: its URL and its tags.
    pub fn song(&self, track: &Track) -> QueueSong {
        let links = Links {
            base_url: self.public.base(),
            token: self.token.as_deref(),
        };
        QueueSong {
            url: playlist::track_url(links, track.video_id.as_str()),
            artist: track.tags.artist.clone(),
            title: track.tags.title.clone(),
            album: track.tags.album.clone(),
        }
    }

    /// The id of a queue entry of this server's (`None`: someone else's).
    pub fn id_of(&self, file: &str) -> Option<VideoId> {
        proxied_id(file, self.public.port())
    }

    /// The port this server's entries name.
    pub fn port(&self) -> u16 {
        self.public.port()
    }
}
