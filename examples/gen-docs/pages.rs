//! icyproxy's man pages and shell completions, made from the clap
//! definitions in `icyproxy::cli`, so they say what `--help` says. Used by
//! the `gen-docs` example (which `scripts/dist` runs for the package) and
//! by `tests/it/cli.rs`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use icyproxy::cli::Cli;

/// What the top page's description adds to `--help`'s first lines (roff
/// text: no line starts with a dot, and `-` is written `\-`).
const MORE: &str = "The rest of the documentation is installed in /usr/share/doc/icyproxy: \
README.md (what icyproxy is, and a first song in MPD) and, in docs/ beside it, \
raspberry-pi.md (the package, yt-dlp, doctor, playlists in MPD with the packaged service), \
configuration.md (which config, which database; following MPD's queue), commands.md \
(every command, playlists, your library and search, radio and autoplay, import files), \
http.md (the routes, /health, /metrics; how MPD shows the tags), performance.md and \
security.md (security and robustness). Every key of the config file is commented in \
/etc/icyproxy/proxy.toml. Each subcommand has a page of its own, named below.";

/// Writes into `dir`: `man1/icyproxy.1` and a page for each subcommand
/// (`man1/icyproxy-add.1`, `man1/icyproxy-playlist-import.1`, ...), and the
/// completions `bash/icyproxy`, `zsh/_icyproxy` and `fish/icyproxy.fish`.
/// Returns the files written, the top page first.
pub fn write_all(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let man = dir.join("man1");
    fs::create_dir_all(&man)?;
    // clap's own `help` subcommand gets no page.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Names every subcommand as its page does: icyproxy-playlist-import.
    cmd.build();
    man_pages(&cmd, &man, &mut written)?;

    for (shell, file) in [
        (Shell::Bash, "bash/icyproxy"),
        (Shell::Zsh, "zsh/_icyproxy"),
        (Shell::Fish, "fish/icyproxy.fish"),
    ] {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut out = io::BufWriter::new(File::create(&path)?);
        clap_complete::generate(shell, &mut Cli::command(), "icyproxy", &mut out);
        out.flush()?;
        written.push(path);
    }
    Ok(written)
}

/// The page of `cmd`, then those of its subcommands, depth first.
fn man_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> io::Result<()> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let page = clap_mangen::Man::new(cmd.clone()).title(name.to_uppercase());
    let mut text = Vec::new();
    page.render(&mut text)?;
    let mut text = String::from_utf8(text).map_err(io::Error::other)?;
    if written.is_empty() {
        // The top page: its description ends where its options begin.
        let end = text
            .find("\n.SH OPTIONS\n")
            .ok_or_else(|| io::Error::other("clap_mangen wrote no OPTIONS section"))?;
        text.insert_str(end, &format!("\n.PP\n{}", MORE.replace('-', "\\-")));
    }
    let path = dir.join(page.get_filename());
    fs::write(&path, text)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        man_pages(sub, dir, written)?;
    }
    Ok(())
}
