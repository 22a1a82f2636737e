//! The command line: clap's types for the flags and subcommands, with the
//! few conversions that are theirs (`Deliver::wanted`, `ExportFormat` into
//! `Format`, the playlist URL check). The commands never see these types:
//! `main` parses, loads the config and dispatches, turning each
//! subcommand's fields into the commands' own arguments.
//! `examples/gen-docs/` writes the man pages and the shell completions
//! from the same definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::catalog::playlist::Format;
use crate::commands;

/// A streaming proxy that makes MPD show "Artist - Title" for YouTube Music
/// tracks. Point MPD at http://HOST:PORT/proxy/VIDEO_ID/ and icyproxy
/// streams the stored track with ICY metadata.
#[derive(Parser)]
#[command(
    name = "icyproxy",
    version,
    after_help = "Run without a subcommand to serve.\n\
\n\
Without --config, the config file is the first that exists of:\n  \
./proxy.toml\n  \
$XDG_CONFIG_HOME/icyproxy/proxy.toml (unset: ~/.config/icyproxy/proxy.toml)\n  \
/etc/icyproxy/proxy.toml\n\
and with none, the built-in defaults. A relative [store] path is taken from\n\
the config file's directory (with no file, from the working directory).\n\
--config and --db work with every command, so the CLI and the server can\n\
be pointed at the same database.\n\
\n\
Examples:\n  icyproxy --config proxy.toml serve --port 8080\n  \
icyproxy --db /var/lib/icyproxy/tracks.db list\n  \
icyproxy add dQw4w9WgXcQ --url 'https://...' --artist 'Rick Astley' --title 'Never Gonna Give You Up'"
)]
pub struct Cli {
    /// Config file [default: the first found of ./proxy.toml,
    /// ~/.config/icyproxy/proxy.toml, /etc/icyproxy/proxy.toml; see icyproxy --help]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Track database, for any command (overrides [store] path)
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Log details (debug level), including upstream URLs
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands, in the order `--help` lists them. Those that take the
/// same path through `main` are grouped: clap lists a flattened group's
/// subcommands where the group stands, as if they were written here.
#[derive(Subcommand)]
pub enum Command {
    /// Serve /proxy/VIDEO_ID and /health in the foreground (Ctrl-C stops).
    ///
    /// Example: icyproxy serve --host 0.0.0.0 --port 8080
    Serve(ServeArgs),
    // add, get, resolve, list, remove, import
    #[command(flatten)]
    Tracks(TrackCommand),
    /// Named playlists, served as /playlists/NAME.xspf and NAME.m3u.
    ///
    /// Example: icyproxy playlist import 'https://music.youtube.com/playlist?list=PL...'
    ///
    /// Example: icyproxy playlist add "Road Trip" dQw4w9WgXcQ
    #[command(subcommand)]
    Playlist(PlaylistCommand),
    /// Check every link from the config file to MPD, and say what to fix.
    ///
    /// One line per check: ✔ fine, ✗ to fix, ! worth a look, with the fix
    /// after →. The config file and its permissions; the database; the
    /// resolver (found, --version, its age) and, for yt-dlp, a JavaScript
    /// runtime; the cookies file of [resolver] command; a real resolve of
    /// [doctor] probe_id, then 64 KiB of its stream from the start and from
    /// ~90 s in; MPD (reachable, version, password) and [playlists] mpd_dir;
    /// the listening address. Changes nothing. Exit 0: nothing to fix, 1:
    /// something to fix.
    ///
    /// Example: sudo -u icyproxy icyproxy doctor      (as the service sees it)
    Doctor {
        /// One JSON object: {"ok": BOOL, "checks": [{"check", "status", "detail", "fix"}]}
        #[arg(long)]
        json: bool,
    },
    // search, radio, library
    #[command(flatten)]
    Discover(DiscoverCommand),
    /// The audio cache: songs played whole, kept on disk ([cache]).
    ///
    /// Without a subcommand: where it is, its free space, how many songs
    /// and MB it holds, and how often a play came from it.
    ///
    /// Example: icyproxy cache remove dQw4w9WgXcQ
    Cache {
        #[command(subcommand)]
        action: Option<CacheCommand>,
    },
}

/// What `cache` may remove.
#[derive(Subcommand)]
pub enum CacheCommand {
    /// Remove one kept song (it streams, and is kept again, on its next play).
    ///
    /// Example: icyproxy cache remove dQw4w9WgXcQ
    Remove { video_id: String },
    /// Remove every kept song.
    ///
    /// Example: icyproxy cache clear
    Clear,
}

/// The commands on stored tracks.
#[derive(Subcommand)]
pub enum TrackCommand {
    /// Store a track, or replace the one with the same id.
    ///
    /// Example: icyproxy add dQw4w9WgXcQ --url 'https://host/audio' --artist 'Rick Astley' --title 'Never Gonna Give You Up'
    Add {
        /// The video id, or a YouTube / YouTube Music URL holding it (watch?v=ID, youtu.be/ID)
        video_id: String,
        /// The upstream audio URL (http or https)
        #[arg(long)]
        url: String,
        /// The track title
        #[arg(long)]
        title: String,
        /// The artist (may be left out)
        #[arg(long, default_value = "")]
        artist: String,
        /// The album (shown by XSPF playlists)
        #[arg(long)]
        album: Option<String>,
        /// Cover art URL (http or https), served to MPD as cover.jpg
        #[arg(long, value_name = "URL")]
        thumbnail: Option<String>,
        /// Length in seconds (shown by playlists), at most a day
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(0..=86_400))]
        duration: Option<u32>,
    },
    /// Print one stored track as key<TAB>value lines (exit 1 when absent).
    ///
    /// Every key, always, in this order: video_id, artist, title, album,
    /// duration_secs, stream_url, thumbnail_url, updated_at, expires_at. An
    /// unknown value is empty; times are RFC 3339 UTC (2026-11-27T23:53:45Z).
    ///
    /// Example: icyproxy get dQw4w9WgXcQ
    Get {
        /// The video id, or a YouTube / YouTube Music URL holding it (watch?v=ID, youtu.be/ID)
        video_id: String,
    },
    /// Run the resolver (yt-dlp) for a video id and store the stream URL.
    ///
    /// A stored track keeps its artist and title and gets a fresh URL; an
    /// unknown one is stored with the resolver's tags. Prints what it stored.
    ///
    /// Example: icyproxy resolve dQw4w9WgXcQ
    Resolve {
        /// The video id, or a YouTube / YouTube Music URL holding it (watch?v=ID, youtu.be/ID)
        video_id: String,
    },
    /// Print all tracks: video_id<TAB>artist<TAB>title<TAB>updated_at (RFC 3339 UTC).
    ///
    /// Example: icyproxy list | grep -i astley
    List,
    /// Delete a stored track (exit 1 when absent).
    ///
    /// Example: icyproxy remove dQw4w9WgXcQ
    Remove {
        /// The video id, or a YouTube / YouTube Music URL holding it (watch?v=ID, youtu.be/ID)
        video_id: String,
    },
    /// Import tracks from a file or stdin ("-"), all or nothing.
    ///
    /// One track per line; blank lines and lines starting with # are
    /// skipped. A bad line is named and nothing is written.
    ///
    /// Tab-separated: video_id<TAB>stream_url<TAB>artist<TAB>title[<TAB>thumbnail]
    ///
    /// JSON, one object per line: video_id, stream_url and title are
    /// required; artist, album, thumbnail (an http(s) URL) and duration
    /// (seconds, at most a day) are optional; null counts as absent. Any
    /// other key is an error. yt-dlp's names work too: id (video_id), url
    /// (stream_url), track (preferred over title), artists (a list, joined
    /// with ", ", preferred over artist). A line with yt-dlp's "extractor"
    /// key is yt-dlp's own output: its other keys are ignored, but for the
    /// artist of a video without one (its creators, else its channel less
    /// " - Topic", as for a playlist's entries).
    ///
    /// Example: icyproxy import tracks.tsv --playlist "Road Trip"
    ///
    /// Example: yt-dlp -j -f bestaudio 'https://music.youtube.com/watch?v=dQw4w9WgXcQ' | icyproxy import -
    Import {
        /// The file to read, or - for standard input
        file: String,
        /// Also append the imported tracks to this playlist
        #[arg(long, value_name = "NAME")]
        playlist: Option<String>,
    },
}

/// The commands that find music: through YouTube Music's API (the
/// reader), or through yt-dlp where it fails or is off.
#[derive(Subcommand)]
pub enum DiscoverCommand {
    /// Search YouTube Music; print, queue, play or store what it finds.
    ///
    /// Asks YouTube Music's API ([youtube] api_url) for the first N
    /// results of the songs section (--videos, --albums, --artists,
    /// --playlists for the others): one request per 20, with artist,
    /// album, duration and cover. Where the API fails (or is off), runs
    /// [resolver] playlist_command on the search instead, then the
    /// resolver once for the tags. Prints position, Artist - Title,
    /// duration and id (albums, artists, playlists: title, what YouTube
    /// says of it, and the id to give `album`, `artist` or `playlist
    /// import`).
    ///
    /// Example: icyproxy search 'daft punk one more time' --limit 5 --play
    Search {
        /// What to search for
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// How many results, at most
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
        limit: u16,
        /// The videos section instead of the songs
        #[arg(long, group = "section")]
        videos: bool,
        /// The albums section (lists albums, not songs)
        #[arg(long, group = "section")]
        albums: bool,
        /// The artists section (lists artists)
        #[arg(long, group = "section")]
        artists: bool,
        /// The playlists section (lists playlists)
        #[arg(long, group = "section")]
        playlists: bool,
        #[command(flatten)]
        deliver: Deliver,
    },
    /// YouTube Music's radio of a song: print, queue, play or store it.
    ///
    /// Runs [resolver] playlist_command on the song's mix
    /// (music.youtube.com/watch?v=ID&list=RDAMVMID) for the first N songs,
    /// without the song itself and without songs MPD's queue holds; one
    /// yt-dlp run. Prints position, Artist - Title, duration and id.
    ///
    /// Example: icyproxy radio --current --add
    Radio {
        /// A video id, or a YouTube (Music) URL naming one
        #[arg(required_unless_present = "current", conflicts_with = "current")]
        song: Option<String>,
        /// The radio of MPD's current song ([mpd] address)
        #[arg(long)]
        current: bool,
        /// How many songs, at most
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=50))]
        limit: u16,
        #[command(flatten)]
        deliver: Deliver,
    },
    /// An album's songs: print, queue, play or store them.
    ///
    /// Reads the album's page from YouTube Music's API: its songs, tagged
    /// with the album's title, artist and cover.
    ///
    /// Example: icyproxy album https://music.youtube.com/browse/MPREb_x --add
    Album {
        /// The album's id (MPREb..., or its OLAK5uy... playlist) or URL
        album: String,
        /// How many songs, at most
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
        #[command(flatten)]
        deliver: Deliver,
    },
    /// An artist's top songs (or, with --albums, albums): print, queue, play or store them.
    ///
    /// Example: icyproxy artist UC2XdaAVUannpujzv32jcouQ --play
    Artist {
        /// The artist's id (UC...) or URL
        artist: String,
        /// List the artist's albums and singles instead (ids for `album`)
        #[arg(long)]
        albums: bool,
        /// How many, at most
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
        #[command(flatten)]
        deliver: Deliver,
    },
    /// Like a song on YouTube Music (needs [resolver] cookies_file).
    ///
    /// Example: icyproxy like --current
    Like(Rated),
    /// Dislike a song on YouTube Music (needs [resolver] cookies_file).
    ///
    /// Example: icyproxy dislike dQw4w9WgXcQ
    Dislike(Rated),
    /// Take back a like or dislike on YouTube Music (needs [resolver] cookies_file).
    ///
    /// Example: icyproxy unlike https://music.youtube.com/watch?v=dQw4w9WgXcQ
    Unlike(Rated),
    /// Your YouTube Music library (needs [resolver] cookies_file).
    #[command(subcommand)]
    Library(LibraryCommand),
}

/// The song `like`, `dislike` and `unlike` rate.
#[derive(Args)]
pub struct Rated {
    /// A video id, or a YouTube (Music) URL naming one
    #[arg(required_unless_present = "current", conflicts_with = "current")]
    pub song: Option<String>,
    /// MPD's current song ([mpd] address)
    #[arg(long)]
    pub current: bool,
}

/// Where `search` and `radio` put the songs they find, besides printing them.
#[derive(Args)]
pub struct Deliver {
    /// Append them to MPD's queue ([mpd] address), tagged
    #[arg(long)]
    add: bool,
    /// Append them and play the first
    #[arg(long)]
    play: bool,
    /// Store them as this playlist (replaced if it exists)
    #[arg(long, value_name = "NAME")]
    playlist: Option<String>,
}

impl Deliver {
    /// The commands' own form: at most `limit` songs, delivered as asked.
    pub fn wanted(self, limit: u16) -> commands::discover::Wanted {
        commands::discover::Wanted {
            limit: usize::from(limit),
            add: self.add,
            play: self.play,
            playlist: self.playlist,
        }
    }
}

#[derive(Subcommand)]
pub enum LibraryCommand {
    /// Import your liked songs and your playlists, or bring them up to date.
    ///
    /// "Liked music" becomes the playlist "Liked songs", and each playlist
    /// of your account's playlists page its own playlist by its title, as
    /// `playlist import` makes them (tags, [playlists] mpd_dir). A playlist
    /// gone from your account is removed here too, if this command made
    /// it; a playlist of yours with the same name is left alone. [playlists]
    /// library_minutes does this in the background while serving.
    ///
    /// Example: icyproxy library sync
    Sync,
}

#[derive(Subcommand)]
pub enum PlaylistCommand {
    /// Import a YouTube Music (or YouTube) playlist by its URL.
    ///
    /// Runs [resolver] playlist_command (yt-dlp --flat-playlist -J) and makes
    /// the playlist NAME (default: the playlist's title) exactly its playable
    /// entries, in order, in one step; private, deleted, members-only and
    /// live entries are skipped and counted. Tracks get their tags now and
    /// their stream URL when first played. The playlist remembers its URL
    /// for `playlist sync`. Nothing changes when the command fails.
    ///
    /// Example: icyproxy playlist import 'https://music.youtube.com/playlist?list=PL...' --name "Road Trip"
    Import {
        /// The playlist's http(s) URL
        #[arg(value_parser = source_url)]
        url: String,
        /// The playlist's name here [default: the source's title]
        #[arg(long)]
        name: Option<String>,
        /// Replace a playlist of that name made by hand or imported from
        /// another URL (without it, that is refused; the same URL again
        /// is a sync)
        #[arg(long)]
        replace: bool,
    },
    /// Re-read imported playlists from their sources (one, or all).
    ///
    /// Entries become the source's current list (added, removed,
    /// reordered); tracks stay stored. A source that fails leaves its
    /// playlist as it was, the others still sync, and the exit status is 1.
    ///
    /// Example: icyproxy playlist sync "Road Trip"
    Sync { name: Option<String> },
    /// Append video ids to a playlist (created on first use).
    ///
    /// An imported playlist is refused: `playlist sync` makes it exactly
    /// its source again, so the entries would be lost. Ids with no stored
    /// track get their tags at once through [resolver] command (one line
    /// each: id, artist, title), so MPD shows "Artist - Title". An id the
    /// resolver cannot tag stays in the playlist as a bare id, with a line
    /// on stderr saying why; the exit status is still 0, since the entries
    /// were added (a running serve tries such ids again when it starts, and
    /// each playlist sync).
    ///
    /// Example: icyproxy playlist add "Road Trip" dQw4w9WgXcQ kJQP7kiw5Fk
    Add {
        name: String,
        /// Video ids, or YouTube / YouTube Music URLs holding them (watch?v=ID, youtu.be/ID)
        #[arg(required = true)]
        video_ids: Vec<String>,
    },
    /// List playlists (name<TAB>entries[<TAB>source URL]), or one playlist's entries.
    ///
    /// Example: icyproxy playlist list "Road Trip"
    List { name: Option<String> },
    /// Remove ids from a playlist, or the whole playlist without ids.
    ///
    /// Example: icyproxy playlist remove "Road Trip" dQw4w9WgXcQ
    Remove {
        name: String,
        /// Video ids, or YouTube / YouTube Music URLs holding them
        video_ids: Vec<String>,
    },
    /// Write a playlist as XSPF or extended M3U (for MPD's playlist_directory).
    ///
    /// The format is --format, or else the --output file's extension; a
    /// --format that contradicts the extension is an error.
    ///
    /// Example: icyproxy playlist export "Road Trip" --output ~/.mpd/playlists/road.m3u
    Export {
        name: String,
        /// The format [default: from the --output name: .m3u or .m3u8 is m3u, .xspf is xspf]
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Where MPD reaches icyproxy [default: from [server] host and port]
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
}

/// `--format` values; the CLI's name for [`Format`], which the
/// server's routes own.
#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Xspf,
    M3u,
}

impl From<ExportFormat> for Format {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Xspf => Format::Xspf,
            ExportFormat::M3u => Format::M3u,
        }
    }
}

#[derive(Args, Default)]
pub struct ServeArgs {
    /// Address to listen on (overrides [server] host)
    #[arg(long)]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one (overrides [server] port)
    #[arg(long)]
    pub port: Option<u16>,
}

/// A playlist source must be a web URL: anything else is a usage error
/// (exit 2) before any program runs.
fn source_url(text: &str) -> Result<String, String> {
    crate::catalog::playlist_source::check_source_url(text).map(|()| text.trim().to_owned())
}
