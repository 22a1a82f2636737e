//! A private MPD for tests and benches: its own config, port, database,
//! state and log in a temp dir, a null audio output; and a small client of
//! its protocol.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::music_files::{Song, write_library};
use super::{free_port, wait_until};

/// Whether `program` is an executable file in a directory of `PATH`.
pub fn have(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        dir.join(program)
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// With `ICYPROXY_TEST_THROUGH_FRONT=1`, every proxy a test starts with
/// an `[mpd] address` opens a front door before that MPD, and the test's
/// own clients of that MPD (`connect`, `mpc`) go through it: the real-MPD
/// tests run a second time with the front door between them and MPD.
pub fn through_front() -> bool {
    std::env::var_os("ICYPROXY_TEST_THROUGH_FRONT").is_some_and(|v| v == "1")
}

/// The front doors open before each MPD port.
static FRONTS: std::sync::Mutex<Vec<(u16, u16)>> = std::sync::Mutex::new(Vec::new());

/// The front door `front` now stands before MPD at `mpd_port`.
pub fn register_front(mpd_port: u16, front: u16) {
    let mut fronts = FRONTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    fronts.retain(|(m, _)| *m != mpd_port);
    fronts.push((mpd_port, front));
}

/// The front door before `mpd_port` is gone.
pub fn unregister_front(front: u16) {
    let mut fronts = FRONTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    fronts.retain(|(_, f)| *f != front);
}

/// The MPD port of an `[mpd] address = "127.0.0.1:PORT"` in a config.
pub fn mpd_port_in(config: &str) -> Option<u16> {
    let (_, rest) = config.split_once("address = \"127.0.0.1:")?;
    rest.split('"').next()?.parse().ok()
}

/// How to get what the MPD tests run.
pub const INSTALL: &str = "apt-get install mpd mpc";

/// What a test does before it needs a real MPD:
/// `if skip_mpd_test(&["mpd", "mpc"]) { return; }`, naming the programs it
/// runs. With `ICYPROXY_SKIP_MPD=1` the rest of the test is skipped: `true`,
/// after a line on stderr saying so and why. Otherwise a program missing
/// from `PATH` fails the test, saying what to install.
pub fn skip_mpd_test(programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| !have(p)).collect();
    let test = std::thread::current()
        .name()
        .map_or_else(|| "an MPD test".to_owned(), str::to_owned);
    let needs = programs.join(" and ");
    if std::env::var_os("ICYPROXY_SKIP_MPD").is_some_and(|v| v == "1") {
        let found = match missing.as_slice() {
            [] => format!("{needs} on PATH"),
            m => format!("{} not on PATH: {INSTALL}", m.join(" and ")),
        };
        eprintln!(
            "SKIPPED {test}: what needs {needs} did not run, as ICYPROXY_SKIP_MPD=1 is set ({found})"
        );
        return true;
    }
    assert!(
        missing.is_empty(),
        "{test} needs {needs}: {} not on PATH ({INSTALL}), \
         or set ICYPROXY_SKIP_MPD=1 to skip the MPD tests",
        missing.join(" and ")
    );
    false
}

/// A private MPD on a fixed port (and a Unix socket), which can be
/// started, killed and started again; killed on drop.
pub struct Mpd {
    child: Option<Child>,
    pub port: u16,
    pub socket: PathBuf,
    /// Its `music_directory`, empty unless a test writes songs there.
    pub music: PathBuf,
    /// Its `playlist_directory`.
    pub playlists: PathBuf,
    conf: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mpd {
    /// Writes the config (plus `extra` lines); does not start MPD.
    pub fn new(extra: &str) -> Mpd {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for sub in ["music", "playlists"] {
            std::fs::create_dir(d.join(sub)).expect("mkdir");
        }
        let port = free_port();
        let (log, socket) = (d.join("mpd.log"), d.join("mpd.sock"));
        // No state_file: a restarted MPD starts empty, whatever was killed.
        let conf = format!(
            "music_directory \"{m}\"\nplaylist_directory \"{p}\"\ndb_file \"{db}\"\n\
             log_file \"{log}\"\npid_file \"{pid}\"\n\
             bind_to_address \"127.0.0.1\"\nbind_to_address \"{sock}\"\nport \"{port}\"\n\
             log_level \"verbose\"\nzeroconf_enabled \"no\"\nauto_update \"no\"\n\
             max_playlist_length \"20000\"\n\
             audio_output {{\n  type \"null\"\n  name \"null\"\n  mixer_type \"none\"\n}}\n{extra}",
            m = d.join("music").display(),
            p = d.join("playlists").display(),
            db = d.join("database").display(),
            log = log.display(),
            pid = d.join("pid").display(),
            sock = socket.display(),
        );
        let conf_path = d.join("mpd.conf");
        std::fs::write(&conf_path, conf).expect("mpd.conf");
        Mpd {
            child: None,
            port,
            socket,
            music: d.join("music"),
            playlists: d.join("playlists"),
            conf: conf_path,
            log,
            _dir: dir,
        }
    }

    pub fn started(extra: &str) -> Mpd {
        let mut mpd = Mpd::new(extra);
        mpd.start();
        mpd
    }

    /// Started with `songs` in its music directory (see
    /// [`write_library`]) and its database updated to hold them all.
    pub fn with_library(songs: &[Song], extra: &str) -> Mpd {
        let mut mpd = Mpd::new(extra);
        write_library(&mpd.music, songs);
        mpd.start();
        let indexed = mpd.update_and_wait(UPDATE_LIMIT);
        assert_eq!(
            indexed,
            songs.len(),
            "songs in MPD's database; log:\n{}",
            mpd.log_text()
        );
        mpd
    }

    /// Sends `update` and waits, on MPD's `idle update` events, until no
    /// update runs (up to `limit`); the songs the database then holds.
    pub fn update_and_wait(&self, limit: Duration) -> usize {
        let mut c = self.connect();
        let deadline = Instant::now() + limit;
        c.ok("update");
        // Events between two commands wait for the next `idle`: an update
        // that ends between `status` and `idle` wakes it at once.
        while get_value(&c.status(), "updating_db").is_some() {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "MPD still updating after {limit:?}; log:\n{}",
                self.log_text()
            );
            c.r.get_ref().set_read_timeout(Some(left)).expect("timeout");
            c.ok("idle update");
        }
        let stats = c.ok("stats");
        get_value(&stats, "songs")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("songs in {stats:?}"))
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port the test's own clients use: the front door's before this
    /// MPD, when one stands there (see [`through_front`]).
    pub fn client_port(&self) -> u16 {
        let fronts = FRONTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        fronts
            .iter()
            .find(|(m, _)| *m == self.port)
            .map_or(self.port, |(_, f)| *f)
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let _ = std::fs::remove_file(&self.socket);
        let child = Command::new("mpd")
            .arg("--no-daemon")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start mpd: {e} ({INSTALL})"));
        self.child = Some(child);
        let port = self.port;
        assert!(
            wait_until(Duration::from_secs(15), || TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "mpd did not start; log:\n{}",
            self.log_text()
        );
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn connect(&self) -> MpdClient {
        let s = TcpStream::connect(("127.0.0.1", self.client_port())).expect("connect mpd");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut r = BufReader::new(s);
        let mut greeting = String::new();
        r.read_line(&mut greeting).expect("greeting");
        assert!(greeting.starts_with("OK MPD"), "{greeting}");
        MpdClient { r }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The commands MPD processed, as logged at `log_level "verbose"`.
    pub fn commands(&self, prefix: &str) -> Vec<String> {
        let needle = format!("process command \"{prefix}");
        self.log_text()
            .lines()
            .filter_map(|l| {
                l.split_once(&needle)
                    .map(|(_, rest)| format!("{prefix}{rest}"))
            })
            .map(|c| c.trim_end_matches('"').to_owned())
            .collect()
    }

    /// Runs `mpc ARGS` against this MPD and returns its output.
    pub fn mpc(&self, args: &[&str]) -> String {
        let o = Command::new("mpc")
            .args(["-h", "127.0.0.1", "-p", &self.client_port().to_string()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run mpc: {e} ({INSTALL})"));
        assert!(
            o.status.success(),
            "mpc {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `mpc current` with its default format.
    pub fn mpc_current(&self) -> String {
        let o = Command::new("mpc")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.client_port().to_string(),
                "current",
            ])
            .output()
            .unwrap_or_else(|e| panic!("run mpc: {e} ({INSTALL})"));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Mpd {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct MpdClient {
    r: BufReader<TcpStream>,
}

impl MpdClient {
    /// Runs a command (or a `command_list_begin` ... `command_list_end`
    /// block); `Ok(key/value pairs)` or `Err(ACK line)`.
    pub fn cmd(&mut self, text: &str) -> Result<Vec<(String, String)>, String> {
        self.r
            .get_mut()
            .write_all(format!("{text}\n").as_bytes())
            .expect("send");
        let mut pairs = Vec::new();
        loop {
            let mut l = String::new();
            self.r.read_line(&mut l).expect("mpd answer");
            let l = l.trim_end_matches('\n');
            if l == "OK" {
                return Ok(pairs);
            }
            if l.starts_with("ACK") {
                return Err(l.to_owned());
            }
            let (k, v) = l.split_once(": ").expect("key: value");
            pairs.push((k.to_owned(), v.to_owned()));
        }
    }

    pub fn ok(&mut self, text: &str) -> Vec<(String, String)> {
        self.cmd(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Adds `urls` in one command list.
    pub fn add_all(&mut self, urls: &[String]) {
        let mut list = String::from("command_list_begin\n");
        for url in urls {
            list.push_str(&format!("add \"{url}\"\n"));
        }
        list.push_str("command_list_end");
        self.ok(&list);
    }

    /// `play POS` then `pause`: POS is the current song, and stays so.
    pub fn play_paused(&mut self, pos: usize) {
        self.ok(&format!("play {pos}"));
        self.ok("pause 1");
        let status = self.ok("status");
        let song = status.iter().find(|(k, _)| k == "song").map(|(_, v)| v);
        assert_eq!(song, Some(&pos.to_string()), "{status:?}");
    }

    pub fn status(&mut self) -> Vec<(String, String)> {
        self.ok("status")
    }

    /// The whole image through `albumart`, paging by offset.
    pub fn albumart(&mut self, uri: &str) -> Result<Vec<u8>, String> {
        let mut image = Vec::new();
        loop {
            let line = format!("albumart \"{uri}\" {}\n", image.len());
            self.r.get_mut().write_all(line.as_bytes()).expect("send");
            let mut size = None;
            let binary = loop {
                let mut l = String::new();
                self.r.read_line(&mut l).expect("answer");
                let l = l.trim_end_matches('\n');
                if l.starts_with("ACK") {
                    return Err(l.to_owned());
                }
                if let Some(v) = l.strip_prefix("size: ") {
                    size = v.parse::<usize>().ok();
                } else if let Some(v) = l.strip_prefix("binary: ") {
                    break v.parse::<usize>().ok();
                }
            };
            let n = binary.expect("binary length");
            let mut chunk = vec![0; n + 1];
            self.r.read_exact(&mut chunk).expect("binary data");
            image.extend_from_slice(&chunk[..n]);
            let mut ok = String::new();
            self.r.read_line(&mut ok).expect("OK");
            assert_eq!(ok, "OK\n");
            if n == 0 || image.len() >= size.expect("size") {
                return Ok(image);
            }
        }
    }
}

pub fn get_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// How long [`Mpd::with_library`] waits for MPD to index its songs: ten
/// times what 10,000 take on two cores (5 s, `cargo bench --bench
/// library`).
pub const UPDATE_LIMIT: Duration = Duration::from_secs(60);

/// Polls `status` until `state` is `want`.
pub fn wait_state(c: &mut MpdClient, want: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if get_value(&c.status(), "state") == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `elapsed` in a status, in seconds; 0 when it has none.
pub fn elapsed(status: &[(String, String)]) -> f64 {
    get_value(status, "elapsed")
        .and_then(|e| e.parse().ok())
        .unwrap_or(0.0)
}

/// Polls `status` until `elapsed` is past `secs`: MPD has played that
/// much (or seeked there). Whether it got there in `limit`.
pub fn wait_elapsed(c: &mut MpdClient, secs: f64, limit: Duration) -> bool {
    wait_until(limit, || elapsed(&c.status()) > secs)
}

/// Polls `currentsong` until it has `key`.
pub fn wait_song_key(c: &mut MpdClient, key: &str, limit: Duration) -> Vec<(String, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let song = c.ok("currentsong");
        if get_value(&song, key).is_some() || Instant::now() >= deadline {
            return song;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Log lines that show trouble: exceptions (but the missing state file of
/// a fresh MPD), errors, invalid or corrupt data, lost sync.
pub fn decoder_errors(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            let fresh_state = l.contains("state_file") || l.contains("/state'");
            [
                "exception",
                "error",
                "invalid",
                "corrupt",
                "lost sync",
                "failed",
            ]
            .iter()
            .any(|w| l.contains(w))
                && !fresh_state
        })
        .map(str::to_owned)
        .collect()
}
