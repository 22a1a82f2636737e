//! The `icyproxy` command: argument parsing, logging set-up and exit codes.
//! Everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use icyproxy::config::{Config, Overrides};
use icyproxy::{Error, commands};
use simplelog::{ConfigBuilder, LevelFilter, WriteLogger};

/// A streaming proxy that makes MPD show "Artist - Title" for YouTube Music
/// tracks. Point MPD at http://HOST:PORT/proxy/VIDEO_ID/ and icyproxy
/// streams the stored track with ICY metadata.
#[derive(Parser)]
#[command(
    name = "icyproxy",
    version,
    after_help = "Run without a subcommand to serve.\n\
Examples:\n  icyproxy --config proxy.toml serve --port 8080\n  \
icyproxy add dQw4w9WgXcQ --url 'https://...' --artist 'Rick Astley' --title 'Never Gonna Give You Up'"
)]
struct Cli {
    /// Config file [default: ./proxy.toml if present, else built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log details (debug level), including upstream URLs
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve /proxy/VIDEO_ID and /health in the foreground (Ctrl-C stops).
    ///
    /// Example: icyproxy serve --host 0.0.0.0 --port 8080
    Serve(ServeArgs),
    /// Store a track, or replace the one with the same id.
    ///
    /// Example: icyproxy add dQw4w9WgXcQ --url 'https://host/audio' --artist 'Rick Astley' --title 'Never Gonna Give You Up'
    Add {
        /// The 11-character YouTube video id
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
    },
    /// Print one stored track as key<TAB>value lines (exit 1 when absent).
    ///
    /// Example: icyproxy get dQw4w9WgXcQ
    Get { video_id: String },
    /// Run the resolver (yt-dlp) for a video id and store the stream URL.
    ///
    /// A stored track keeps its artist and title and gets a fresh URL; an
    /// unknown one is stored with the resolver's tags. Prints what it stored.
    ///
    /// Example: icyproxy resolve dQw4w9WgXcQ
    Resolve { video_id: String },
    /// Print all tracks: video_id<TAB>artist<TAB>title<TAB>updated_at.
    List,
    /// Delete a stored track (exit 1 when absent).
    ///
    /// Example: icyproxy remove dQw4w9WgXcQ
    Remove { video_id: String },
    /// Import tracks from a file or stdin ("-"), all or nothing.
    ///
    /// Lines are video_id<TAB>stream_url<TAB>artist<TAB>title, or JSON
    /// objects with those keys. A bad line is named and nothing is written.
    ///
    /// Example: icyproxy import tracks.tsv
    Import {
        /// The file to read, or - for standard input
        file: String,
    },
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Address to listen on (overrides [server] host)
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on; 0 picks a free one (overrides [server] port)
    #[arg(long)]
    port: Option<u16>,
    /// Track database (overrides [store] path)
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    init_logging(match (cli.verbose, serving) {
        (true, _) => LevelFilter::Debug,
        (false, true) => LevelFilter::Info,
        (false, false) => LevelFilter::Warn,
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
    let config = Config::load(cli.config.as_deref())?;
    let mut out = std::io::stdout().lock();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            let config = config.with_overrides(Overrides {
                host: args.host,
                port: args.port,
                db_path: args.db,
            })?;
            drop(out);
            commands::serve(&config)
        }
        Command::Add {
            video_id,
            url,
            title,
            artist,
        } => commands::add(&config, &video_id, &url, &artist, &title, &mut out),
        Command::Get { video_id } => commands::get(&config, &video_id, &mut out),
        Command::Resolve { video_id } => commands::resolve(&config, &video_id, &mut out),
        Command::List => commands::list(&config, &mut out),
        Command::Remove { video_id } => commands::remove(&config, &video_id, &mut out),
        Command::Import { file } => commands::import(&config, &file, &mut out),
    }
}

/// Logs go to stderr, only icyproxy's own lines (tiny_http and ureq are
/// noisy at debug and may print upstream URLs).
fn init_logging(level: LevelFilter) {
    let config = ConfigBuilder::new()
        .add_filter_allow_str("icyproxy")
        .set_thread_level(LevelFilter::Off)
        .set_target_level(LevelFilter::Off)
        .build();
    let _ = WriteLogger::init(level, config, std::io::stderr());
}
