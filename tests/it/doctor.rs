//! `icyproxy doctor`, run as a user runs it: the real binary, a stand-in
//! yt-dlp (`tests/fixtures/fake-ytdlp`, which prints yt-dlp's real error
//! lines) found on a PATH made for the test, a real origin for the probe's
//! reads, a real private MPD, and a real SQLite file.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::mpd::{Mpd, skip_mpd_test};
use crate::common::{Origin, dead_port, fixture};

/// A directory with a config, a `bin/` that is the whole PATH (so the
/// machine's own yt-dlp or node are not found), and what the test adds.
pub(crate) struct Setup {
    pub(crate) dir: tempfile::TempDir,
    /// Extra environment for the run.
    env: Vec<(String, String)>,
}

impl Setup {
    /// `bin/` holds bash and date (the stand-ins are bash scripts),
    /// `yt-dlp` (the stand-in) and a `deno` that answers `--version`.
    pub(crate) fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin");
        for tool in ["bash", "date"] {
            let found = ["/usr/bin", "/bin"]
                .iter()
                .map(|d| Path::new(d).join(tool))
                .find(|p| p.exists())
                .expect("bash and date");
            std::os::unix::fs::symlink(found, bin.join(tool)).expect("link");
        }
        std::os::unix::fs::symlink(fixture("fake-ytdlp"), bin.join("yt-dlp")).expect("link");
        let setup = Setup {
            dir,
            env: Vec::new(),
        };
        setup.script(
            "deno",
            "echo 'deno 2.1.4 (stable, release, x86_64-unknown-linux-gnu)'",
        );
        setup
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// An executable `bin/NAME` running `body`.
    pub(crate) fn script(&self, name: &str, body: &str) {
        let path = self.path("bin").join(name);
        std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// Writes proxy.toml: a database in the directory (unless `extra` has
    /// a `[store]`), port 0, `extra`.
    pub(crate) fn config(&self, extra: &str) {
        let mpd = crate::common::no_mpd_unless_asked(extra);
        let server = if extra.contains("[server]") {
            ""
        } else {
            "\n[server]\nport = 0\n"
        };
        let store = if extra.contains("[store]") {
            ""
        } else {
            "[store]\npath = \"tracks.db\"\n"
        };
        std::fs::write(
            self.path("proxy.toml"),
            format!("{store}{extra}{server}{mpd}"),
        )
        .expect("config");
    }

    /// The resolver line for the stand-in in `mode`, its URLs on `base`.
    pub(crate) fn resolver(mode: &str, base: &str, extra_args: &str) -> String {
        format!(
            "[resolver]\ncommand = [\"yt-dlp\", \"mode={mode}\", \"base={base}\", \"duration=180\", \
             {extra_args}\"--no-warnings\", \"-f\", \"bestaudio\", \"-j\", \
             \"https://music.youtube.com/watch?v={{video_id}}\"]\ntimeout_secs = 300\n"
        )
    }

    /// Creates the database with one track (through the binary).
    pub(crate) fn database(&self) {
        let o = self.command(&[
            "add",
            "dQw4w9WgXcQ",
            "--url",
            "http://127.0.0.1:1/a",
            "--title",
            "T",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    pub(crate) fn command(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_icyproxy"));
        c.current_dir(self.dir.path())
            .env("PATH", self.path("bin"))
            .env("HOME", self.path("home"))
            .env_remove("XDG_CONFIG_HOME")
            .arg("--config")
            .arg(self.path("proxy.toml"))
            .args(args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.output().expect("run icyproxy")
    }

    /// `doctor --json`: the exit code and the checks by name (the last
    /// one of a name wins; names repeat only for "resolver").
    pub(crate) fn doctor(&self) -> Report {
        let o = self.command(&["doctor", "--json"]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let json: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&o.stderr)));
        Report {
            code: o.status.code(),
            json,
        }
    }
}

pub(crate) struct Report {
    pub(crate) code: Option<i32>,
    pub(crate) json: serde_json::Value,
}

impl Report {
    /// `(status, detail, fix)` of the check named `name`.
    pub(crate) fn check(&self, name: &str) -> (String, String, String) {
        let checks = self.json["checks"].as_array().expect("checks");
        let c = checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {}", self.json));
        let text = |k: &str| c[k].as_str().unwrap_or("").to_owned();
        (text("status"), text("detail"), text("fix"))
    }

    pub(crate) fn failed(&self) -> Vec<String> {
        self.json["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["status"] == "fail")
            .map(|c| c["check"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Asserts exit 1 and that `name` failed with a fix containing `fix`.
    pub(crate) fn fails(&self, name: &str, detail: &str, fix: &str) {
        assert_eq!(self.code, Some(1), "{}", self.json);
        let (status, d, f) = self.check(name);
        assert_eq!(status, "fail", "{name}: {}", self.json);
        assert!(d.contains(detail), "{name} detail {d:?} lacks {detail:?}");
        assert!(f.contains(fix), "{name} fix {f:?} lacks {fix:?}");
    }
}

/// Every file under `dir` with its size and modification time.
pub(crate) fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let meta = e.path().symlink_metadata().expect("metadata");
            if meta.is_dir() {
                todo.push(e.path());
            }
            out.push((e.path(), meta.len(), meta.modified().expect("mtime")));
        }
    }
    out.sort();
    out
}

#[test]
fn a_good_setup_passes_in_seconds_and_changes_nothing() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let origin = Origin::start();
    let mpd = Mpd::started("");
    let s = Setup::new();
    std::fs::write(mpd.playlists.join("Road Trip.m3u"), "#EXTM3U\n").expect("playlist");
    s.config(&format!(
        "{}[playlists]\nmpd_dir = \"{}\"\n[mpd]\naddress = \"{}\"\n",
        Setup::resolver("ok", &origin.url("/audio/3000000"), ""),
        mpd.playlists.display(),
        mpd.address()
    ));
    s.database();
    let before = snapshot(s.dir.path());
    let playlists_before = snapshot(&mpd.playlists);
    let started = Instant::now();
    let o = s.command(&["doctor"]);
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("doctor took {:.2} s:\n{text}", took.as_secs_f64());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for line in text.lines() {
        assert!(line.starts_with('✔'), "{line}");
    }
    for wanted in [
        "✔ config: ",
        "✔ database: ",
        "schema ",
        "1 tracks), writable",
        "✔ resolver: ",
        "days old)",
        "✔ js runtime: deno 2.1.4",
        "✔ probe resolve: dQw4w9WgXcQ → Probe Artist - Probe Track in ",
        "✔ probe stream: first 64 KiB from 127.0.0.1:",
        "✔ probe 90 s in: 64 KiB from byte 1500000",
        "✔ mpd: MPD 0.",
        "✔ mpd_dir: ",
        "MPD lists its playlists",
        "✔ listen: 127.0.0.1:0 is free",
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing:\n{text}");
    }
    // Two ranged reads of the stream: the start and ~90 s in.
    let reads = origin.log.requests_for("/audio/3000000");
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads[0].ends_with("bytes=0-65535"), "{reads:?}");
    assert!(reads[1].ends_with("bytes=1500000-1565535"), "{reads:?}");
    assert_eq!(snapshot(s.dir.path()), before, "doctor changed files");
    assert_eq!(snapshot(&mpd.playlists), playlists_before);
    assert!(
        took < Duration::from_secs(60),
        "took {took:?} (seconds when everything is fine)"
    );
}

#[test]
fn json_says_ok_and_lists_every_check() {
    let origin = Origin::start();
    let s = Setup::new();
    s.config(&Setup::resolver("ok", &origin.url("/audio/3000000"), ""));
    let r = s.doctor();
    assert_eq!(r.code, Some(0), "{}", r.json);
    assert_eq!(r.json["ok"], true);
    let names: Vec<&str> = r.json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "config",
            "database",
            "cache",
            "resolver",
            "js runtime",
            "reader",
            "probe resolve",
            "probe stream",
            "probe 90 s in",
            "mpd",
            "listen"
        ]
    );
    assert_eq!(r.check("database").0, "warn", "no database yet");
}

#[test]
fn no_resolver_is_named_with_the_fix() {
    let s = Setup::new();
    std::fs::remove_file(s.path("bin/yt-dlp")).expect("rm");
    s.config("");
    let r = s.doctor();
    r.fails("resolver", "yt-dlp not found on PATH", "install yt-dlp");
    assert_eq!(r.failed(), ["resolver"]);
}

#[test]
fn an_old_resolver_is_named_with_the_upgrade_command() {
    let origin = Origin::start();
    let mut s = Setup::new();
    s.env
        .push(("FAKE_YTDLP_VERSION".into(), "2025.01.15".into()));
    s.config(&Setup::resolver("ok", &origin.url("/audio/3000000"), ""));
    let r = s.doctor();
    let (status, detail, fix) = r.check("resolver");
    assert_eq!(status, "warn", "{}", r.json);
    assert!(
        detail.contains("2025.01.15 is ") && detail.contains("days old"),
        "{detail}"
    );
    // The stand-in is a script: installed with pip, as doctor sees it.
    assert!(
        fix.contains("upgrade it: python3 -m pip install -U"),
        "{fix}"
    );
}

#[test]
fn no_js_runtime_is_named_with_the_fix() {
    let origin = Origin::start();
    let s = Setup::new();
    std::fs::remove_file(s.path("bin/deno")).expect("rm");
    s.config(&Setup::resolver("ok", &origin.url("/audio/3000000"), ""));
    let r = s.doctor();
    r.fails("js runtime", "none of deno, node, bun, qjs", "install deno");
    // An old Node.js does not count; a new one does, named for yt-dlp.
    s.script("node", "echo v18.19.0");
    s.doctor()
        .fails("js runtime", "v18.19.0 (too old)", "Node.js 20+");
    s.script("node", "echo v20.11.1");
    let (status, _, fix) = s.doctor().check("js runtime");
    assert_eq!(status, "warn");
    assert!(fix.contains("\"--js-runtimes\", \"node\""), "{fix}");
}

#[test]
fn a_failing_probe_resolve_names_the_cause_and_the_fix() {
    let origin = Origin::start();
    let s = Setup::new();
    for (mode, detail, fix) in [
        ("bot", "YouTube's bot check", "set [resolver] cookies_file"),
        (
            "ratelimit",
            "YouTube's rate limit",
            "about 300 videos an hour",
        ),
        ("private", "video unavailable", "it is not retried"),
        ("members", "video unavailable", "cookies of an account"),
        (
            "outdated",
            "yt-dlp too old for YouTube",
            "upgrade it (python3 -m pip",
        ),
        ("network", "YouTube unreachable", "network and DNS"),
        ("nojs", "no JavaScript runtime for yt-dlp", "install deno"),
    ] {
        s.config(&Setup::resolver(mode, &origin.url("/audio/3000000"), ""));
        let r = s.doctor();
        r.fails("probe resolve", detail, fix);
        assert_eq!(r.failed(), ["probe resolve"], "{mode}: {}", r.json);
        // The cause once, the fix once (and only in the fix).
        let (_, d, f) = r.check("probe resolve");
        assert_eq!(d.matches(detail).count(), 1, "{mode}: {d}");
        assert!(!d.contains(&f) && !d.contains("fix:"), "{mode}: {d}");
        assert_eq!(f.matches(fix).count(), 1, "{mode}: {f}");
    }
}

#[test]
fn a_stream_url_refused_mid_way_is_the_po_token_case() {
    let origin = Origin::start();
    let s = Setup::new();
    s.config(&Setup::resolver(
        "ok",
        &origin.url("/audio/3000000?deny_from=1000000"),
        "",
    ));
    let r = s.doctor();
    r.fails("probe 90 s in", "the PO-token case", "PO Token Guide");
    assert_eq!(r.check("probe stream").0, "ok");
}

#[test]
fn mpd_down_and_a_wrong_password_are_named_with_the_fix() {
    let s = Setup::new();
    let dead = dead_port();
    s.config(&format!(
        "[resolver]\ncommand = []\n[mpd]\naddress = \"127.0.0.1:{}\"\n",
        dead.port
    ));
    s.doctor()
        .fails("mpd", "not reachable at 127.0.0.1:", "start MPD");
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let mpd = Mpd::started("password \"right@read,add,control,admin\"\n");
    s.config(&format!(
        "[resolver]\ncommand = []\n[mpd]\naddress = \"{}\"\npassword = \"wrong\"\n",
        mpd.address()
    ));
    s.doctor()
        .fails("mpd", "refused the password", "set [mpd] password");
    s.config(&format!(
        "[resolver]\ncommand = []\n[mpd]\naddress = \"{}\"\n",
        mpd.address()
    ));
    s.doctor()
        .fails("mpd", "refused status", "set [mpd] password");
    s.config(&format!(
        "[resolver]\ncommand = []\n[mpd]\naddress = \"{}\"\npassword = \"right\"\n",
        mpd.address()
    ));
    let r = s.doctor();
    assert_eq!(r.code, Some(0), "{}", r.json);
    assert!(
        r.check("mpd").1.ends_with("password accepted"),
        "{}",
        r.json
    );
}

#[test]
fn an_mpd_dir_this_user_cannot_write_is_named_with_the_fix() {
    let s = Setup::new();
    let dir = s.path("playlists");
    std::fs::create_dir(&dir).expect("mkdir");
    s.config(&format!(
        "[resolver]\ncommand = []\n[playlists]\nmpd_dir = \"{}\"\n",
        dir.display()
    ));
    // As Debian ships MPD's playlist directory: 0755, not this user's.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let r = if crate::common::is_root() {
        // Root writes anywhere: ask as nobody, who reads the config but
        // owns nothing here.
        std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("setpriv (util-linux) to run as nobody");
        let o = Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_icyproxy"))
            .arg("--config")
            .arg(s.path("proxy.toml"))
            .args(["doctor", "--json"])
            .env("PATH", s.path("bin"))
            .output()
            .expect("setpriv");
        Report {
            code: o.status.code(),
            json: serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr))),
        }
    } else {
        s.doctor()
    };
    r.fails("mpd_dir", "is not writable by this user", "ReadWritePaths=");
    // A directory that is not there is named too.
    s.config(&format!(
        "[resolver]\ncommand = []\n[playlists]\nmpd_dir = \"{}\"\n",
        s.path("missing").display()
    ));
    s.doctor().fails("mpd_dir", "missing", "ReadWritePaths=");
}

#[test]
fn a_taken_port_is_told_from_icyproxy_answering_there() {
    let s = Setup::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    s.config(&format!(
        "[resolver]\ncommand = []\n[server]\nport = {port}\n"
    ));
    // A listener that never answers: not icyproxy.
    let r = s.doctor();
    r.fails(
        "listen",
        "is taken by another program",
        "another [server] port",
    );
    drop(taken);
    let served = crate::common::Served::start("[resolver]\ncommand = []\n", &[]);
    // Another database than the one this config names: said, not ✔.
    s.config(&format!(
        "[resolver]\ncommand = []\n[server]\nport = {}\n",
        served.addr.port()
    ));
    s.doctor().fails(
        "listen",
        &format!(
            "serves another database ({}",
            served.db().canonicalize().expect("db").display()
        ),
        "--config FILE",
    );
    s.config(&format!(
        "[store]\npath = {:?}\n[resolver]\ncommand = []\n[server]\nport = {}\n",
        served.db().display().to_string(),
        served.addr.port()
    ));
    let r = s.doctor();
    assert_eq!(r.code, Some(0), "{}", r.json);
    assert!(
        r.check("listen")
            .1
            .contains("icyproxy already answers /health")
    );
}

/// The service runs as another user in a sandbox: what it found wrong at
/// its start (`/health`'s `warnings`) fails doctor, though this shell may
/// see the same setting as fine.
#[test]
fn the_running_service_s_own_warnings_are_checks() {
    let s = Setup::new();
    let playlists = s.path("mpd-playlists");
    let config = format!(
        "[resolver]\ncommand = []\n[playlists]\nmpd_dir = {:?}\n",
        playlists.display().to_string()
    );
    // Missing when the server starts: it says so, in its log and /health.
    let served = crate::common::Served::start(&config, &[]);
    let health = crate::common::health(served.addr);
    let warnings = health["warnings"].as_array().expect("warnings").clone();
    assert_eq!(warnings.len(), 1, "{health}");
    let warning = warnings[0].as_str().unwrap_or("");
    assert!(
        warning.starts_with("[playlists] mpd_dir: ") && warning.contains("mpd-playlists"),
        "{warning}"
    );
    // Here it exists and is writable; the service still said otherwise.
    std::fs::create_dir(&playlists).expect("mkdir");
    let store = |db: PathBuf| format!("[store]\npath = {:?}\n", db.display().to_string());
    s.config(&format!(
        "{}{config}[server]\nport = {}\n",
        store(served.db()),
        served.addr.port()
    ));
    let r = s.doctor();
    assert_eq!(r.check("mpd_dir").0, "ok", "{}", r.json);
    assert!(
        r.check("listen")
            .1
            .contains("icyproxy already answers /health")
    );
    r.fails("service", warning, "its own user, groups and sandbox");
    assert_eq!(r.failed(), ["service"], "{}", r.json);

    // A server that found nothing wrong adds no check.
    let fine = crate::common::Served::start(&config, &[]);
    s.config(&format!(
        "{}{config}[server]\nport = {}\n",
        store(fine.db()),
        fine.addr.port()
    ));
    let r = s.doctor();
    assert_eq!(r.code, Some(0), "{}", r.json);
    assert!(
        r.json["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["check"] != "service")
    );
}

#[test]
fn a_config_that_cannot_be_read_is_the_first_check() {
    let s = Setup::new();
    std::fs::write(s.path("proxy.toml"), "[server]\nprot = 1\n").expect("config");
    let r = s.doctor();
    r.fails("config", "prot", "the shipped proxy.toml");
}

#[test]
fn serve_says_at_start_what_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jar = dir.path().join("missing-cookies.txt");
    let mut served = crate::common::Served::start(
        &format!(
            "[resolver]\ncommand = [\"icyproxy-no-such-resolver\", \"{{video_id}}\"]\n\
             cookies_file = \"{}\"\n[playlists]\nmpd_dir = \"{}\"\n",
            jar.display(),
            dir.path().join("no-such-dir").display()
        ),
        &[],
    );
    for needle in [
        "resolver program icyproxy-no-such-resolver not found on PATH",
        "[playlists] mpd_dir: ",
        "[resolver] cookies_file ",
    ] {
        let line = served.wait_for_line(Duration::from_secs(20), |l| l.contains(needle));
        assert!(
            line.is_some(),
            "{needle:?} not said: {:?}",
            served.log_lines()
        );
    }
    let lines = served.log_lines().to_vec();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("not found on PATH"))
            .count(),
        1,
        "{lines:?}"
    );
}

#[test]
fn the_front_door_address_is_free_or_icyproxys_never_mpds_own() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let s = Setup::new();
    let mpd = Mpd::started("");
    let other = Mpd::started("");
    let config = |listen: &str| {
        format!(
            "[resolver]\ncommand = []\n[mpd]\naddress = \"{}\"\n[front]\nlisten = \"{listen}\"\n",
            mpd.address()
        )
    };
    s.config(&config(&format!(
        "127.0.0.1:{}",
        crate::common::free_port()
    )));
    let (status, detail, _) = s.doctor().check("front");
    assert_eq!(status, "ok", "{detail}");
    assert!(detail.contains("is free"), "{detail}");

    s.config(&config(&other.address()));
    s.doctor()
        .fails("front", "MPD itself answers on", "move MPD to another port");
    s.config(&config(&mpd.address()));
    s.doctor()
        .fails("front", "[front] listen is [mpd] address", "move MPD");

    let proxy = crate::common::Proxy::start_with(&format!(
        "[mpd]\naddress = \"{}\"\n[front]\nlisten = \"127.0.0.1:0\"\n",
        mpd.address()
    ));
    s.config(&config(&proxy.front().to_string()));
    let (status, detail, _) = s.doctor().check("front");
    assert_eq!(status, "ok", "{detail}");
    assert!(detail.contains("front door already answers"), "{detail}");
}
