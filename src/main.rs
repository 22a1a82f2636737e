//! The `icyproxy` command: parse the flags (their types are `icyproxy::cli`),
//! set up logging, load the config, dispatch to `commands`, and turn errors
//! into exit codes. Everything else lives in the library.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use icyproxy::catalog::cookies;
use icyproxy::catalog::music::Rating;
use icyproxy::catalog::playlist::Format;
use icyproxy::cli::{
    CacheCommand, Cli, Command, DiscoverCommand, LibraryCommand, PlaylistCommand, ServeArgs,
    TrackCommand,
};
use icyproxy::commands;
use icyproxy::config::{Config, Overrides};
use icyproxy::error::Error;
use simplelog::{ConfigBuilder, LevelFilter, WriteLogger};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    init_logging(match (cli.verbose, serving) {
        (true, _) => LevelFilter::Debug,
        (false, true) => LevelFilter::Info,
        // Commands print their own error; log lines would repeat it.
        (false, false) => LevelFilter::Off,
    });
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("icyproxy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    let (host, port) = match &command {
        Command::Serve(args) => (args.host.clone(), args.port),
        _ => (None, None),
    };
    let config = Config::load(cli.config.as_deref()).and_then(|c| {
        c.with_overrides(Overrides {
            host,
            port,
            db_path: cli.db,
        })
    });
    if !matches!(command, Command::Serve(_)) {
        // The cookie copies of runs that were cut short (a SIGKILL) go
        // (`serve` sweeps them as it starts).
        let copy = config.as_ref().ok().map(|c| c.store.cookies_copy());
        if let Some(copy) = &copy {
            cookies::sweep(copy);
        }
        // Ctrl-C or SIGTERM while a helper (yt-dlp) runs: it is in a
        // process group of its own, which the signal does not reach, so
        // end it (and what it started) before exiting, with the cookies
        // it was lent (`exit` runs no `Drop`). Nothing is half-written:
        // the database changes in transactions, files by rename.
        let handled = ctrlc::set_handler(move || {
            icyproxy::subprocess::kill_helpers();
            if let Some(copy) = &copy {
                cookies::remove_own(copy);
            }
            std::process::exit(130);
        });
        if let Err(e) = handled {
            eprintln!("icyproxy: cannot handle Ctrl-C: {e}");
        }
    }
    let mut out = std::io::stdout().lock();
    match command {
        Command::Serve(_) => {
            drop(out);
            commands::serve::serve(&config?)
        }
        // A config that cannot be read is the first thing doctor reports.
        Command::Doctor { json } => commands::doctor::doctor(config, json, &mut out),
        Command::Tracks(cmd) => run_tracks(&config?, cmd, &mut out),
        Command::Playlist(cmd) => run_playlist(&config?, cmd, &mut out),
        Command::Discover(cmd) => run_discover(&config?, cmd, &mut out),
        Command::Cache { action } => match action {
            None => commands::cache::summary(&config?, &mut out),
            Some(CacheCommand::Remove { video_id }) => {
                commands::cache::remove(&config?, &video_id, &mut out)
            }
            Some(CacheCommand::Clear) => commands::cache::clear(&config?, &mut out),
        },
    }
}

/// The commands on stored tracks.
fn run_tracks(config: &Config, cmd: TrackCommand, out: &mut dyn Write) -> Result<(), Error> {
    match cmd {
        TrackCommand::Add {
            video_id,
            url,
            title,
            artist,
            album,
            thumbnail,
            duration,
        } => {
            let added = commands::tracks::Added {
                id: video_id,
                url,
                artist,
                title,
                album,
                thumbnail,
                duration_secs: duration.map(i64::from),
            };
            commands::tracks::add(config, &added, out)
        }
        TrackCommand::Get { video_id } => commands::tracks::get(config, &video_id, out),
        TrackCommand::Resolve { video_id } => commands::tracks::resolve(config, &video_id, out),
        TrackCommand::List => commands::tracks::list(config, out),
        TrackCommand::Remove { video_id } => commands::tracks::remove(config, &video_id, out),
        TrackCommand::Import { file, playlist } => {
            commands::tracks::import(config, &file, playlist.as_deref(), out)
        }
    }
}

/// The commands that find music through yt-dlp: `search`, `radio`,
/// `library`.
fn rate(
    config: &Config,
    rated: icyproxy::cli::Rated,
    rating: Rating,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let song = rated.song.as_deref();
    commands::rating::rate(config, song, rated.current, rating, out)
}

fn run_discover(config: &Config, cmd: DiscoverCommand, out: &mut dyn Write) -> Result<(), Error> {
    match cmd {
        DiscoverCommand::Search {
            query,
            limit,
            videos,
            albums,
            artists,
            playlists,
            deliver,
        } => {
            use icyproxy::catalog::discover::Section;
            let section = match (videos, albums, artists, playlists) {
                (true, ..) => Section::Videos,
                (_, true, ..) => Section::Albums,
                (_, _, true, _) => Section::Artists,
                (.., true) => Section::Playlists,
                _ => Section::Songs,
            };
            let args = commands::discover::SearchArgs {
                query: query.join(" "),
                section,
                wanted: deliver.wanted(limit),
            };
            commands::discover::search(config, &args, out)
        }
        DiscoverCommand::Album {
            album,
            limit,
            deliver,
        } => commands::pages::album(config, &album, &deliver.wanted(limit), out),
        DiscoverCommand::Artist {
            artist,
            albums,
            limit,
            deliver,
        } => commands::pages::artist(config, &artist, albums, &deliver.wanted(limit), out),
        DiscoverCommand::Like(r) => rate(config, r, Rating::Like, out),
        DiscoverCommand::Dislike(r) => rate(config, r, Rating::Dislike, out),
        DiscoverCommand::Unlike(r) => rate(config, r, Rating::Indifferent, out),
        DiscoverCommand::Radio {
            song,
            current,
            limit,
            deliver,
        } => {
            let args = commands::discover::RadioArgs {
                seed: song,
                current,
                wanted: deliver.wanted(limit),
            };
            commands::discover::radio(config, &args, out)
        }
        DiscoverCommand::Library(LibraryCommand::Sync) => {
            commands::discover::library_sync(config, out)
        }
    }
}

/// The `playlist` subcommands.
fn run_playlist(config: &Config, cmd: PlaylistCommand, out: &mut dyn Write) -> Result<(), Error> {
    match cmd {
        PlaylistCommand::Import { url, name, replace } => {
            let target = commands::playlists::Target {
                name: name.as_deref(),
                replace,
            };
            commands::playlists::playlist_import(config, &url, target, out)
        }
        PlaylistCommand::Sync { name } => {
            commands::playlists::playlist_sync(config, name.as_deref(), out)
        }
        PlaylistCommand::Add { name, video_ids } => {
            commands::playlists::playlist_add(config, &name, &video_ids, out)
        }
        PlaylistCommand::List { name } => {
            commands::playlists::playlist_list(config, name.as_deref(), out)
        }
        PlaylistCommand::Remove { name, video_ids } => {
            commands::playlists::playlist_remove(config, &name, &video_ids, out)
        }
        PlaylistCommand::Export {
            name,
            format,
            output,
            base_url,
        } => {
            let export = commands::playlists::Export {
                name,
                format: format.map(Format::from),
                output,
                base_url,
            };
            commands::playlists::playlist_export(config, &export, out)
        }
    }
}

/// Logs go to stderr, only icyproxy's own lines (tiny_http and ureq are
/// noisy at debug and may print upstream URLs).
fn init_logging(level: LevelFilter) {
    let config = ConfigBuilder::new()
        .add_filter_allow_str("icyproxy")
        .add_filter_allow_str("tiny_http")
        .set_thread_level(LevelFilter::Off)
        .set_target_level(LevelFilter::Off)
        .build();
    let _ = WriteLogger::init(level, config, std::io::stderr());
}
