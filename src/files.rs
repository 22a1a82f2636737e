//! Writing and reading files in directories other users may share (MPD's
//! playlist directory, an export's target, the cover cache) without being
//! turned against their targets: a new file goes through a temp file of a
//! random name, created exclusively and never through a symlink, then
//! renamed into place (a rename replaces a planted symlink, it does not
//! write through it); an existing file is opened without following a
//! symlink and without blocking (a planted FIFO), and must be a regular
//! file.

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The mode of a file that carries the access token: no one but its
/// owner and group may read it.
pub const PRIVATE_MODE: u32 = 0o640;
/// The mode of other files written (the umask may take more away).
pub const SHARED_MODE: u32 = 0o644;

/// Tries at a fresh temp name before giving up (a name is taken only by
/// a collision, or by someone guessing 64 random bits).
const TEMP_TRIES: usize = 8;

/// Writes `bytes` to `path` whole: into a new temp file beside it (random
/// name, `O_CREAT|O_EXCL|O_NOFOLLOW`, `mode`), on disk (`fsync`), then
/// renamed over `path`, and the rename on disk too (the directory's
/// `fsync`): after a power cut `path` is the old file or the new one,
/// never an empty one. A failure removes the temp file and leaves `path`
/// as it was.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (tmp, mut file) = create_temp(path, mode)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(mode)))
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| sync_dir_of(path))
}

/// Puts a rename in `path`'s directory on disk. Best effort: some file
/// systems refuse a directory's `fsync`, and the file itself is on disk.
pub fn sync_dir_of(path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// A new temp file beside `path`, created exclusively with `mode`.
fn create_temp(path: &Path, mode: u32) -> io::Result<(PathBuf, File)> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let mut last = io::Error::other("no temp name tried");
    for _ in 0..TEMP_TRIES {
        let tmp = dir.join(format!(".{name}.{:016x}.icyproxy-tmp", random()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Opens an existing regular file for reading: a symlink is refused
/// (`ELOOP`), a FIFO or device neither blocks nor is read (refused as
/// not a regular file).
pub fn open_existing(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// 64 bits no other process can predict: std's hasher keys are random
/// per process (and per `RandomState`), mixed with a counter.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_whole_with_its_mode_and_replaces_a_symlink_without_following_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").expect("victim");
        let path = dir.path().join("list.m3u");
        std::os::unix::fs::symlink(&victim, &path).expect("symlink");
        write_atomic(&path, b"new", PRIVATE_MODE).expect("written");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        let meta = std::fs::symlink_metadata(&path).expect("stat");
        assert!(meta.is_file());
        assert_eq!(meta.mode() & 0o777, PRIVATE_MODE);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temp file left: {left:?}");
        assert_ne!(random(), random());
    }

    #[test]
    fn opening_refuses_symlinks_and_fifos_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").expect("write");
        assert!(open_existing(&file).is_ok());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        assert!(open_existing(&link).is_err());
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let e = open_existing(&fifo).expect_err("a FIFO");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
