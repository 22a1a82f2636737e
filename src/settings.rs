//! What every `proxy.toml` section shares: the error that names a key,
//! the range rules, and "empty means unset". Each section's type lives
//! beside the code that uses it (`http::settings`, `catalog::settings`,
//! ...), deserializes itself and checks its own keys with these; the
//! `config` layer only reads the file, anchors paths and names it.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A key whose value is refused, and why, in a user's words
/// (`[server] workers`, `must be between 1 and 1024`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadKey {
    pub key: &'static str,
    pub why: String,
}

/// A section's verdict on its own keys: the first wrong one.
pub type Checked = std::result::Result<(), BadKey>;

/// Refuses `key` for `why`.
pub fn bad(key: &'static str, why: impl Into<String>) -> Checked {
    Err(BadKey {
        key,
        why: why.into(),
    })
}

/// `value` within `min..=max`, or said as a range.
pub fn within(key: &'static str, value: u64, min: u64, max: u64) -> Checked {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    match min {
        0 => bad(key, format!("must be at most {max}")),
        _ => bad(key, format!("must be between {min} and {max}")),
    }
}

/// Every `_secs` key that is a timeout: a second to an hour.
pub fn timeout(key: &'static str, secs: u64) -> Checked {
    within(key, secs, 1, 3600)
}

/// The first failure of several checks, in order.
pub fn first(checks: impl IntoIterator<Item = Checked>) -> Checked {
    checks.into_iter().collect()
}

/// Seconds as a `Duration`.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// An empty path key is unset.
pub fn set_path(path: &Path) -> Option<&Path> {
    (!path.as_os_str().is_empty()).then_some(path)
}

/// An empty (or blank) text key is unset; set ones are trimmed.
pub fn set_text(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// A relative path made relative to `dir` (the config file's folder);
/// empty and absolute ones stay as they are.
pub fn anchor(path: &mut PathBuf, dir: &Path) {
    if !path.as_os_str().is_empty() && path.is_relative() {
        *path = dir.join(&*path);
    }
}

/// Whether an argv names a program to run.
pub fn names_program(argv: &[String]) -> bool {
    argv.first().is_some_and(|p| !p.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_said_as_the_user_reads_them() {
        assert_eq!(within("[a] b", 5, 1, 5), Ok(()));
        let e = within("[a] b", 0, 1, 5).expect_err("below");
        assert_eq!(
            (e.key, e.why.as_str()),
            ("[a] b", "must be between 1 and 5")
        );
        let e = within("[a] b", 9, 0, 5).expect_err("above");
        assert_eq!(e.why, "must be at most 5");
        assert!(timeout("[a] t", 0).is_err() && timeout("[a] t", 3600).is_ok());
        let e = first([Ok(()), bad("[x] one", "no"), bad("[x] two", "no")]).expect_err("bad");
        assert_eq!(e.key, "[x] one");
    }

    #[test]
    fn empty_is_unset_and_relative_paths_follow_the_file() {
        assert_eq!(set_path(Path::new("")), None);
        assert_eq!(set_text("  "), None);
        assert_eq!(set_text(" a:1 "), Some("a:1"));
        let mut p = PathBuf::from("t.db");
        anchor(&mut p, Path::new("/etc/icy"));
        assert_eq!(p, PathBuf::from("/etc/icy/t.db"));
        let mut empty = PathBuf::new();
        anchor(&mut empty, Path::new("/etc/icy"));
        assert!(empty.as_os_str().is_empty());
        assert!(names_program(&["yt-dlp".into()]) && !names_program(&[" ".into()]));
    }
}
