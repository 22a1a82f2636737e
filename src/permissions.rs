//! What this process may do to a file, told without touching it: from the
//! file's mode bits and owner, this process's user and groups
//! (`/proc/self/status`) and whether the file lies on a read-only mount
//! (`/proc/self/mountinfo`, which is how systemd's `ProtectSystem=` shows
//! up). For checks that must change nothing (`icyproxy doctor`).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Read,
    Write,
}

/// A user and its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gids: Vec<u32>,
}

impl Identity {
    /// This process's effective user and groups; `None` without `/proc`.
    pub fn current() -> Option<Identity> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        Identity::from_status(&status)
    }

    /// Pure: from the text of `/proc/PID/status` (`Uid:`, `Gid:`,
    /// `Groups:`; the effective ids are the second column).
    pub fn from_status(status: &str) -> Option<Identity> {
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|rest| {
                    rest.split_whitespace()
                        .filter_map(|n| n.parse::<u32>().ok())
                        .collect::<Vec<u32>>()
                })
        };
        let uid = *field("Uid:")?.get(1)?;
        let mut gids = vec![*field("Gid:")?.get(1)?];
        gids.extend(field("Groups:").unwrap_or_default());
        Some(Identity { uid, gids })
    }

    /// Whether the mode bits let this identity `want` a file with this
    /// owner, group and mode (root may do anything but run a file no one
    /// may run, which does not matter here).
    pub fn allowed(&self, owner: u32, group: u32, mode: u32, want: Want) -> bool {
        if self.uid == 0 {
            return true;
        }
        let bit = match want {
            Want::Read => 0o4,
            Want::Write => 0o2,
        };
        let shift = if owner == self.uid {
            6
        } else if self.gids.contains(&group) {
            3
        } else {
            0
        };
        mode >> shift & bit != 0
    }
}

/// Whether this process may `want` the file or directory at `path` (for a
/// directory, writing means creating files in it): `Err` says why not.
pub fn check(path: &Path, want: Want) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let me = Identity::current().ok_or("cannot read /proc/self/status")?;
    if !me.allowed(meta.uid(), meta.gid(), meta.mode(), want) {
        let what = match want {
            Want::Read => "readable",
            Want::Write => "writable",
        };
        return Err(format!(
            "{} is not {what} by this user (mode {:o}, owner {}, group {})",
            path.display(),
            meta.mode() & 0o7777,
            meta.uid(),
            meta.gid()
        ));
    }
    if want == Want::Write && read_only_mount(path) {
        return Err(format!("{} lies on a read-only mount", path.display()));
    }
    Ok(())
}

/// Whether `path` lies on a mount that is read-only for this process.
pub fn read_only_mount(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    mount_is_read_only(&info, &path)
}

/// Pure: the options of the longest mount point above `path` in the text of
/// `/proc/self/mountinfo` hold `ro`.
pub fn mount_is_read_only(mountinfo: &str, path: &Path) -> bool {
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let point = unescape(fields.get(4)?);
            let options = fields.get(5)?;
            path.starts_with(&point)
                .then(|| (point.len(), options.split(',').any(|o| o == "ro")))
        })
        .max_by_key(|(len, _)| *len)
        .is_some_and(|(_, ro)| ro)
}

/// mountinfo writes a space as `\040` (and tab, newline, backslash alike).
fn unescape(text: &str) -> String {
    text.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_from_proc_status() {
        let me = Identity::from_status(
            "Name:\tx\nUid:\t1000\t1001\t1000\t1000\nGid:\t100\t29\t100\t100\nGroups:\t27 44 \n",
        )
        .expect("parsed");
        assert_eq!(
            me,
            Identity {
                uid: 1001,
                gids: vec![29, 27, 44]
            }
        );
        assert_eq!(Identity::from_status("Name:\tx\n"), None);
    }

    #[test]
    fn mode_bits_decide_by_owner_group_other() {
        let me = Identity {
            uid: 1000,
            gids: vec![29],
        };
        // mpd:audio 0755, as Debian's /var/lib/mpd/playlists.
        assert!(!me.allowed(110, 29, 0o40755, Want::Write));
        assert!(me.allowed(110, 29, 0o40775, Want::Write));
        assert!(me.allowed(1000, 5, 0o600, Want::Write));
        assert!(!me.allowed(2000, 5, 0o640, Want::Read));
        assert!(me.allowed(2000, 5, 0o644, Want::Read));
        let root = Identity {
            uid: 0,
            gids: vec![0],
        };
        assert!(root.allowed(110, 29, 0o400, Want::Write));
    }

    #[test]
    fn the_longest_mount_point_decides() {
        let info = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                    30 22 8:1 /var/lib/mpd /var/lib/mpd ro,relatime shared:1 - ext4 /dev/sda1 rw\n\
                    31 22 8:1 / /var/lib/my\\040dir rw shared:1 - ext4 /dev/sda1 rw\n";
        assert!(mount_is_read_only(
            info,
            Path::new("/var/lib/mpd/playlists")
        ));
        assert!(!mount_is_read_only(info, Path::new("/var/lib/icyproxy")));
        assert!(!mount_is_read_only(info, Path::new("/var/lib/my dir/x")));
        assert!(!mount_is_read_only("", Path::new("/x")));
    }
}
