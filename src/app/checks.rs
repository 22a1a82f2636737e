//! The checks the server's start and `icyproxy doctor` share, one each:
//! the resolver program on `PATH`, `[playlists] mpd_dir` writable, the
//! cookies file by the service's own rule. Each says what it found and changes nothing;
//! the start turns a failure into a warning line (`App::warnings`),
//! doctor into a check with its fix, each in its own words.

use std::ffi::OsStr;
use std::path::PathBuf;

use crate::catalog::cookies::{Cookies, Refused};
use crate::catalog::settings::{PlaylistsSettings, ResolverSettings};
use crate::catalog::ytdlp_error;
use crate::config::Config;
use crate::permissions::{self, Want};

/// The resolver program, as the service would run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program<'a> {
    /// `[resolver] command = []`: resolving is off.
    Off,
    /// The program's path: itself when it names one, else found on `PATH`.
    Found(PathBuf),
    /// The command's program is not on `PATH`.
    Missing(&'a str),
}

/// `[resolver] command`'s program, looked for on `path` (the `PATH`
/// variable).
pub fn resolver_program<'a>(resolver: &'a ResolverSettings, path: Option<&OsStr>) -> Program<'a> {
    let Some(program) = resolver.command.first() else {
        return Program::Off;
    };
    match ytdlp_error::locate(program, path) {
        Some(found) => Program::Found(found),
        None => Program::Missing(program),
    }
}

/// A path a setting names, and whether this process may use it as it
/// must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathCheck {
    pub path: PathBuf,
    /// `Err`: why not, in a user's words (it names the path).
    pub usable: Result<(), String>,
}

/// `[playlists] mpd_dir`, when set: writable by this process?
pub fn mpd_dir(playlists: &PlaylistsSettings) -> Option<PathCheck> {
    let dir = playlists.mpd_dir()?;
    Some(PathCheck {
        path: dir.to_path_buf(),
        usable: permissions::check(dir, Want::Write),
    })
}

/// `[resolver] cookies_file`, when set: lent to yt-dlp by the service's
/// own rule ([`Cookies::usable`])?
pub fn cookies_file(config: &Config) -> Option<(PathBuf, Result<(), Refused>)> {
    let cookies: Cookies = config.cookies()?;
    Some((cookies.file().to_path_buf(), cookies.usable()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(command: &[&str]) -> ResolverSettings {
        ResolverSettings {
            command: command.iter().map(|a| a.to_string()).collect(),
            ..ResolverSettings::default()
        }
    }

    #[test]
    fn the_resolver_program_is_off_found_or_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = dir.path().join("fake-resolver");
        std::fs::write(&program, "#!/bin/sh\n").expect("write");
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&program, mode).expect("chmod");
        let path = Some(dir.path().as_os_str());
        assert_eq!(resolver_program(&resolver(&[]), path), Program::Off);
        assert_eq!(
            resolver_program(&resolver(&["fake-resolver", "{video_id}"]), path),
            Program::Found(program)
        );
        assert_eq!(
            resolver_program(&resolver(&["not-there"]), path),
            Program::Missing("not-there")
        );
        assert_eq!(
            resolver_program(&resolver(&["fake-resolver"]), None),
            Program::Missing("fake-resolver")
        );
    }

    #[test]
    fn no_cookies_file_is_nothing_to_check() {
        let config = |extra: &str| Config::from_toml(extra, None).expect("valid");
        assert_eq!(cookies_file(&config("")), None);
        let named = cookies_file(&config("[resolver]\ncookies_file = \"/no/such/jar.txt\"\n"))
            .expect("set");
        assert_eq!(named.0, PathBuf::from("/no/such/jar.txt"));
        assert!(named.1.is_err());
    }
}
