//! The real `icyproxy` binary: subcommands, exit codes, error messages,
//! serving and stopping on signals.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;

/// The generator `cargo run --example gen-docs` runs (and `scripts/dist`).
#[path = "../../examples/gen-docs/pages.rs"]
mod pages;

const ID: &str = "dQw4w9WgXcQ";

#[test]
fn add_get_list_remove() {
    let e = env("");
    succeeds(
        &e,
        &[
            "add",
            ID,
            "--url",
            "https://h.example/a?x=1",
            "--artist",
            "Rick Astley",
            "--title",
            "Never",
        ],
    );
    assert!(
        e.dir.path().join("data/tracks.db").exists(),
        "parent directory created"
    );
    let o = icyproxy(
        &e,
        &[
            "add",
            "aaaaaaaaaaa",
            "--url",
            "http://h/b?expire=1800000000",
            "--title",
            "Solo",
        ],
        None,
    );
    assert!(o.status.success());
    let o = icyproxy(&e, &["get", "aaaaaaaaaaa"], None);
    assert!(
        stdout(&o).ends_with("\nexpires_at\t2027-01-15T08:00:00Z\n"),
        "{}",
        stdout(&o)
    );

    let o = icyproxy(&e, &["get", ID], None);
    assert!(o.status.success());
    let fields = key_values(&stdout(&o));
    let want = [
        ("video_id", ID),
        ("artist", "Rick Astley"),
        ("title", "Never"),
        ("album", ""),
        ("duration_secs", ""),
        ("stream_url", "https://h.example/a?x=1"),
        ("thumbnail_url", ""),
    ];
    assert_eq!(fields[..7], want.map(|(k, v)| (k.to_owned(), v.to_owned())));
    assert_eq!(fields[7].0, "updated_at");
    assert_rfc3339(&fields[7].1);
    // The same instant as the stored integer, by an independent clock: date(1).
    let conn = rusqlite::Connection::open(e.dir.path().join("data/tracks.db")).expect("open");
    let stored: i64 = conn
        .query_row(
            "SELECT updated_at FROM tracks WHERE video_id = ?1",
            [ID],
            |r| r.get(0),
        )
        .expect("row");
    let date = Command::new("date")
        .args(["-u", &format!("-d@{stored}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    assert_eq!(fields[7].1, String::from_utf8_lossy(&date.stdout).trim());
    assert_eq!(fields[8], ("expires_at".to_owned(), String::new()));
    assert_eq!(fields.len(), 9);

    let o = icyproxy(&e, &["list"], None);
    let lines: Vec<Vec<String>> = stdout(&o)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0][..3], ["aaaaaaaaaaa", "", "Solo"]);
    assert_eq!(lines[1][..3], [ID, "Rick Astley", "Never"]);
    assert_rfc3339(&lines[1][3]);

    let o = icyproxy(&e, &["remove", ID], None);
    assert!(o.status.success());
    let o = icyproxy(&e, &["get", ID], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no track with video id"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    let o = icyproxy(&e, &["remove", ID], None);
    assert_eq!(o.status.code(), Some(1));
}

/// `key<TAB>value` lines as pairs, in order.
fn key_values(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').expect("key<TAB>value");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// A time as `get` and `list` print it: RFC 3339 UTC, and recent.
fn assert_rfc3339(text: &str) {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let shape: String = text
        .chars()
        .map(|c| if c.is_ascii_digit() { 'D' } else { c })
        .collect();
    assert_eq!(shape, "DDDD-DD-DDTDD:DD:DDZ", "{text}");
    assert!(digits.as_str() >= "20250101000000", "{text}");
}

#[test]
fn bad_ids_and_urls_are_refused() {
    let e = env("");
    let cases: [(&[&str], &str); 4] = [
        (
            &["add", "short", "--url", "http://h/a", "--title", "T"],
            "invalid video id",
        ),
        (
            &["add", ID, "--url", "file:///etc/passwd", "--title", "T"],
            "http:// or https://",
        ),
        (&["add", ID, "--url", "http://h/a", "--title", ""], "title"),
        (&["get", "../../etc/pa"], "invalid video id"),
    ];
    for (args, want) in cases {
        let o = icyproxy(&e, args, None);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let o = icyproxy(&e, &["list"], None);
    assert!(stdout(&o).is_empty(), "nothing stored");
}

#[test]
fn import_is_all_or_nothing() {
    let e = env("");
    let good = format!(
        "{ID}\thttp://h/a\tRick Astley\tNever\n{{\"video_id\":\"aaaaaaaaaaa\",\"stream_url\":\"https://h/b\",\"artist\":\"X\",\"title\":\"Y\"}}\n"
    );
    let file = e.dir.path().join("good.tsv");
    std::fs::write(&file, &good).expect("write");
    let o = succeeds(&e, &["import", file.to_str().expect("utf8 path")]);
    assert!(stdout(&o).contains("imported 2"));

    let bad = format!("bbbbbbbbbbb\thttp://h/c\tA\tT\n\n{ID}\thttp://h/a\tonly three\n");
    let o = icyproxy(&e, &["import", "-"], Some(&bad));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 3"), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing was imported"));
    let o = icyproxy(&e, &["get", "bbbbbbbbbbb"], None);
    assert_eq!(o.status.code(), Some(1), "a bad import wrote a row");

    let o = icyproxy(
        &e,
        &["import", "-"],
        Some("ccccccccccc\thttp://h/c\tA\tT\n"),
    );
    assert!(o.status.success());
    assert_eq!(stdout(&icyproxy(&e, &["list"], None)).lines().count(), 3);

    let o = icyproxy(&e, &["import", "/nonexistent/file"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read /nonexistent/file"));
}

#[test]
fn ytdlp_json_output_imports_as_it_is() {
    let e = env("");
    let line = std::fs::read_to_string(fixture("ytdlp-bestaudio.json")).expect("fixture");
    let o = icyproxy(&e, &["import", "-"], Some(&line));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "imported 1 track\n");
    let fields = key_values(&stdout(&icyproxy(&e, &["get", ID], None)));
    for (key, value) in [
        ("artist", "Rick Astley"),
        ("title", "Never Gonna Give You Up"),
        ("album", "Whenever You Need Somebody"),
        ("duration_secs", "212"),
        (
            "thumbnail_url",
            "https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp",
        ),
        ("expires_at", "2027-01-15T08:00:00Z"),
    ] {
        assert!(
            fields.contains(&(key.to_owned(), value.to_owned())),
            "{key}: {fields:?}"
        );
    }
    let url = &fields[5];
    assert!(
        url.1.contains("itag=251"),
        "the audio format's URL: {url:?}"
    );

    // Without yt-dlp's mark, the same keys are someone's typos: refused.
    let plain = line.replacen("\"extractor\": \"youtube\", ", "", 1);
    assert_ne!(plain, line);
    let o = icyproxy(&e, &["import", "-"], Some(&format!("\n{plain}")));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with("icyproxy: standard input: line 2: unknown keys \""),
        "{err}"
    );
    assert!(
        err.contains(" more (known: video_id,"),
        "a few are named: {err}"
    );
    assert!(err.trim_end().ends_with("nothing was imported"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn config_errors_name_the_key() {
    for (text, want) in [
        ("[server]\nwrkers = 3\n", "wrkers"),
        ("[server]\nworkers = 0\n", "[server] workers"),
        ("[icy]\nmetaint = -5\n", "metaint"),
        ("[nonsense]\n", "nonsense"),
    ] {
        let e = env(text);
        let o = icyproxy(&e, &["list"], None);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(stderr(&o).contains(want), "{text}: {}", stderr(&o));
    }
    let e = env("");
    let o = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
        .args(["--config", "/nonexistent/proxy.toml", "list"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read config file /nonexistent/proxy.toml"));
    drop(e);
}

#[test]
fn a_mistyped_command_gets_a_suggestion() {
    let e = env("");
    let o = icyproxy(&e, &["lsit"], None);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("unrecognized subcommand 'lsit'"), "{err}");
    assert!(err.contains("similar subcommand exists: 'list'"), "{err}");
    let o = icyproxy(&e, &["playlist", "exprt"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("'export'"), "{}", stderr(&o));
}

/// Every command, by its line in its parent's `--help` (name, then the
/// first line of its doc): `(path, about)`; a group's commands follow it.
/// A command removed, renamed, added or reworded fails the test.
const COMMANDS: &[(&[&str], &str)] = &[
    (
        &["serve"],
        "Serve /proxy/VIDEO_ID and /health in the foreground (Ctrl-C stops)",
    ),
    (
        &["add"],
        "Store a track, or replace the one with the same id",
    ),
    (
        &["get"],
        "Print one stored track as key<TAB>value lines (exit 1 when absent)",
    ),
    (
        &["resolve"],
        "Run the resolver (yt-dlp) for a video id and store the stream URL",
    ),
    (
        &["list"],
        "Print all tracks: video_id<TAB>artist<TAB>title<TAB>updated_at (RFC 3339 UTC)",
    ),
    (&["remove"], "Delete a stored track (exit 1 when absent)"),
    (
        &["import"],
        "Import tracks from a file or stdin (\"-\"), all or nothing",
    ),
    (
        &["playlist"],
        "Named playlists, served as /playlists/NAME.xspf and NAME.m3u",
    ),
    (
        &["playlist", "import"],
        "Import a YouTube Music (or YouTube) playlist by its URL",
    ),
    (
        &["playlist", "sync"],
        "Re-read imported playlists from their sources (one, or all)",
    ),
    (
        &["playlist", "add"],
        "Append video ids to a playlist (created on first use)",
    ),
    (
        &["playlist", "list"],
        "List playlists (name<TAB>entries[<TAB>source URL]), or one playlist's entries",
    ),
    (
        &["playlist", "remove"],
        "Remove ids from a playlist, or the whole playlist without ids",
    ),
    (
        &["playlist", "export"],
        "Write a playlist as XSPF or extended M3U (for MPD's playlist_directory)",
    ),
    (&["playlist", "help"], HELP),
    (
        &["doctor"],
        "Check every link from the config file to MPD, and say what to fix",
    ),
    (
        &["search"],
        "Search YouTube Music; print, queue, play or store what it finds",
    ),
    (
        &["radio"],
        "YouTube Music's radio of a song: print, queue, play or store it",
    ),
    (
        &["album"],
        "An album's songs: print, queue, play or store them",
    ),
    (
        &["artist"],
        "An artist's top songs (or, with --albums, albums): print, queue, play or store them",
    ),
    (
        &["like"],
        "Like a song on YouTube Music (needs [resolver] cookies_file)",
    ),
    (
        &["dislike"],
        "Dislike a song on YouTube Music (needs [resolver] cookies_file)",
    ),
    (
        &["unlike"],
        "Take back a like or dislike on YouTube Music (needs [resolver] cookies_file)",
    ),
    (
        &["library"],
        "Your YouTube Music library (needs [resolver] cookies_file)",
    ),
    (
        &["library", "sync"],
        "Import your liked songs and your playlists, or bring them up to date",
    ),
    (&["library", "help"], HELP),
    (
        &["cache"],
        "The audio cache: songs played whole, kept on disk ([cache])",
    ),
    (
        &["cache", "remove"],
        "Remove one kept song (it streams, and is kept again, on its next play)",
    ),
    (&["cache", "clear"], "Remove every kept song"),
    (&["cache", "help"], HELP),
    (&["help"], HELP),
];

/// clap's own `help` command, in every group.
const HELP: &str = "Print this message or the help of the given subcommand(s)";

/// The `Commands:` section of a `--help` output as (name, about) pairs,
/// each line whole: the name, the column padding, the about text.
fn help_commands(help: &str) -> Vec<(String, String)> {
    let mut lines = help.lines().skip_while(|l| *l != "Commands:");
    assert_eq!(
        lines.next(),
        Some("Commands:"),
        "no Commands: section in\n{help}"
    );
    lines
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let (name, about) = l.trim().split_once(' ').unwrap_or((l.trim(), ""));
            (name.to_owned(), about.trim().to_owned())
        })
        .collect()
}

#[test]
fn help_explains_every_subcommand() {
    let e = env("");
    let groups: Vec<&[&str]> = COMMANDS
        .iter()
        .map(|(path, _)| &path[..path.len() - 1])
        .fold(Vec::new(), |mut groups, parent| {
            if !groups.contains(&parent) {
                groups.push(parent);
            }
            groups
        });
    assert_eq!(groups, [&[][..], &["playlist"], &["library"], &["cache"]]);
    for parent in groups {
        let want: Vec<(String, String)> = COMMANDS
            .iter()
            .filter(|(path, _)| &path[..path.len() - 1] == parent)
            .map(|(path, about)| (path[path.len() - 1].to_owned(), (*about).to_owned()))
            .collect();
        let args = [parent, &["--help"]].concat();
        let o = succeeds(&e, &args);
        assert_eq!(help_commands(&stdout(&o)), want, "{args:?}");
    }
    // Each command that does something (not a group, not help) shows an
    // example of itself.
    for (path, _) in COMMANDS {
        let group = COMMANDS
            .iter()
            .any(|(p, _)| p.len() > path.len() && p.starts_with(path));
        if group || path.last() == Some(&"help") {
            continue;
        }
        let args = [path, &["--help"][..]].concat();
        let o = succeeds(&e, &args);
        let itself = format!("icyproxy {}", path.join(" "));
        let help = stdout(&o);
        assert!(
            help.lines()
                .any(|l| l.starts_with("Example: ") && l.contains(&itself)),
            "{args:?} has no example of {itself}:\n{help}"
        );
    }
}

/// The subcommands `--help` lists (its "Commands:" block), but `help`.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn man_pages_and_completions_cover_every_subcommand() {
    let e = env("");
    let dir = tempfile::tempdir().expect("tempdir");
    let written = pages::write_all(dir.path()).expect("write the pages");
    let man1 = dir.path().join("man1");
    assert_eq!(written[0], man1.join("icyproxy.1"));
    let read = |path: &Path| std::fs::read_to_string(path).expect("read a page");

    let top = read(&man1.join("icyproxy.1"));
    let title = top.lines().find(|line| line.starts_with(".TH "));
    assert!(
        title.is_some_and(|t| t.starts_with(".TH ICYPROXY 1 ")),
        "{title:?}"
    );
    assert!(top.contains("/usr/share/doc/icyproxy"), "{top}");
    assert!(top.contains("Run without a subcommand to serve."));

    let mut commands: Vec<Vec<String>> = Vec::new();
    for name in listed_commands(&stdout(&succeeds(&e, &["--help"]))) {
        let nested = listed_commands(&stdout(&succeeds(&e, &[&name, "--help"])));
        commands.extend(nested.iter().map(|sub| vec![name.clone(), sub.clone()]));
        commands.push(vec![name]);
    }
    assert!(commands.len() >= 19, "{commands:?}");
    for words in &commands {
        // icyproxy-playlist-import.1, named on icyproxy-playlist.1
        let page = format!("icyproxy-{}", words.join("-"));
        let parent = match &words[..] {
            [first, _] => format!("icyproxy-{first}.1"),
            _ => "icyproxy.1".to_owned(),
        };
        let text = read(&man1.join(format!("{page}.1")));
        let title = format!(".TH {} 1 ", page.to_uppercase());
        assert!(text.contains(&title), "{page}: {title}");
        let named = format!("\n{}(1)\n", page.replace('-', "\\-"));
        assert!(
            read(&man1.join(&parent)).contains(&named),
            "{parent} lacks {page}"
        );
    }
    let pages = std::fs::read_dir(&man1).expect("list man1").count();
    assert_eq!(pages, commands.len() + 1, "a page for each, no more");

    // bash offers every subcommand after `icyproxy `.
    let bash = dir.path().join("bash/icyproxy");
    let o = Command::new("bash")
        .arg("-c")
        .arg(
            "source \"$1\" && COMP_WORDS=(icyproxy '') COMP_CWORD=1 && \
             _icyproxy icyproxy '' icyproxy && printf '%s\\n' \"${COMPREPLY[@]}\"",
        )
        .arg("_")
        .arg(&bash)
        .output()
        .expect("run bash");
    assert!(o.status.success(), "{}", stderr(&o));
    let offered = stdout(&o);
    for words in commands.iter().filter(|words| words.len() == 1) {
        assert!(
            offered.lines().any(|line| line == words[0]),
            "bash does not offer {}: {offered}",
            words[0]
        );
    }
    for file in ["zsh/_icyproxy", "fish/icyproxy.fish"] {
        assert!(read(&dir.path().join(file)).contains("playlist"), "{file}");
    }
}

/// A running `icyproxy serve` child and the address it logged; killed if
/// a test fails before it exits.
struct Serving {
    child: Child,
    addr: SocketAddr,
    log: mpsc::Receiver<String>,
    /// The lines logged up to and including "listening on".
    start_log: Vec<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(env: &Env, args: &[&str]) -> Serving {
    let child = bin(env)
        .arg("--config")
        .arg(&env.config)
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let (tx, rx) = mpsc::channel();
    let mut serving = Serving {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        log: rx,
        start_log: Vec::new(),
    };
    let stderr = serving.child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = serving
            .log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a 'listening on' line");
        serving.start_log.push(line.clone());
        if let Some(url) = line.split("listening on http://").nth(1) {
            serving.addr = url.trim().parse().expect("address in the log line");
            return serving;
        }
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig}");
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("did not exit within {limit:?}");
}

#[test]
fn serve_logs_the_real_port_streams_and_stops_on_signals() {
    let origin = Origin::start();
    let e = env("");
    let url = origin.url("/audio/3000000?stall_after=100000&stall_ms=20000");
    let o = icyproxy(
        &e,
        &["add", ID, "--url", &url, "--artist", "A", "--title", "T"],
        None,
    );
    assert!(o.status.success());
    for sig in ["-TERM", "-INT"] {
        let mut s = serve(&e, &["serve", "--port", "0"]);
        assert_ne!(s.addr.port(), 0);
        assert_eq!(health(s.addr)["tracks"], 1);
        // A stream in flight, stalled upstream: the stop must not wait for it.
        let mut c = connect(s.addr);
        write!(c, "GET /proxy/{ID}/ HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
        let mut r = BufReader::new(c);
        let (status, _) = read_head(&mut r);
        assert!(status.contains(" 200 "));
        let started = Instant::now();
        signal(&s.child, sig);
        let code = wait_exit(&mut s.child, Duration::from_secs(3));
        let took = started.elapsed();
        assert_eq!(code, Some(0), "exit code after {sig}");
        assert!(took < Duration::from_secs(2), "{sig}: exit took {took:?}");
        let mut log = Vec::new();
        while let Ok(line) = s.log.recv_timeout(Duration::from_secs(10)) {
            log.push(line);
        }
        assert!(!log.iter().any(|l| l.contains("panicked")), "{log:?}");
        // The stream's line says the stop ended it, not its client.
        let line = log
            .iter()
            .find(|l| l.contains(&format!("\"GET /proxy/{ID}/\"")));
        assert!(
            line.is_some_and(|l| l.contains("server shutting down") && !l.contains("client gone")),
            "{sig}: {log:#?}"
        );
    }
}

#[test]
fn serve_without_subcommand_uses_proxy_toml_in_the_working_directory() {
    let e = env("");
    let port = free_port();
    std::fs::write(&e.config, format!("[server]\nport = {port}\n")).expect("config");
    let mut child = bin(&e).stderr(Stdio::piped()).spawn().expect("start");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert!(wait_until(Duration::from_secs(5), || {
        std::net::TcpStream::connect(addr).is_ok()
    }));
    assert_eq!(health(addr)["tracks"], 0);
    assert!(
        e.dir.path().join("tracks.db").exists(),
        "default store beside proxy.toml"
    );
    signal(&child, "-TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(3)), Some(0));
}

#[test]
fn serve_fails_clearly_when_it_cannot_start() {
    let e = env("");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let o = icyproxy(&e, &["serve", "--port", &port], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot listen on 127.0.0.1:"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("--port"),
        "names the fix: {}",
        stderr(&o)
    );

    let db = e.dir.path().join("newer.db");
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.pragma_update(None, "user_version", 42)
        .expect("version");
    drop(conn);
    let o = icyproxy(
        &e,
        &["serve", "--port", "0", "--db", db.to_str().expect("utf8")],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("newer than this icyproxy"),
        "{}",
        stderr(&o)
    );
    assert!(Path::new(&db).exists());
}

#[test]
fn playlist_commands_and_export() {
    let e = env("[server]\nport = 9123\n[resolver]\ncommand = []\n");
    let tsv = format!("{ID}\thttp://h/a\tRick Astley\tNever\thttps://i.example/a.jpg\n");
    let o = icyproxy(&e, &["import", "-", "--playlist", "Road Trip"], Some(&tsv));
    assert!(o.status.success(), "{}", stderr(&o));
    succeeds(
        &e,
        &[
            "add",
            "aaaaaaaaaaa",
            "--url",
            "http://h/b",
            "--title",
            "Solo",
            "--album",
            "LP",
            "--duration",
            "61",
            "--thumbnail",
            "https://i.example/b.jpg",
        ],
    );
    let fields = key_values(&stdout(&icyproxy(&e, &["get", "aaaaaaaaaaa"], None)));
    for (key, value) in [
        ("album", "LP"),
        ("duration_secs", "61"),
        ("thumbnail_url", "https://i.example/b.jpg"),
    ] {
        assert!(
            fields.contains(&(key.to_owned(), value.to_owned())),
            "{fields:?}"
        );
    }
    let o = succeeds(
        &e,
        &["playlist", "add", "Road Trip", "aaaaaaaaaaa", "zzzzzzzzzzz"],
    );
    assert_eq!(
        stdout(&o),
        "no tags for 1 new id: [resolver] command is empty \
         (icyproxy add stores a track's tags by hand)\nadded 2 entries to Road Trip\n"
    );
    let o = icyproxy(&e, &["playlist", "list"], None);
    assert_eq!(stdout(&o), "Road Trip\t3\n");
    let o = icyproxy(&e, &["playlist", "list", "Road Trip"], None);
    assert_eq!(
        stdout(&o),
        format!("{ID}\tRick Astley\tNever\naaaaaaaaaaa\t\tSolo\nzzzzzzzzzzz\t\t(not stored yet)\n")
    );

    // The format comes from the file name when --format is left out.
    let out = e.dir.path().join("road.m3u");
    let outs = out.to_str().expect("utf8");
    let o = succeeds(&e, &["playlist", "export", "Road Trip", "--output", outs]);
    assert_eq!(stdout(&o), format!("wrote 3 entries to {outs}\n"));
    let m3u = std::fs::read_to_string(&out).expect("written");
    assert!(
        m3u.contains("#EXTINF:61,Solo\nhttp://127.0.0.1:9123/proxy/aaaaaaaaaaa/?icy=0\n"),
        "{m3u}"
    );
    let o = icyproxy(
        &e,
        &[
            "playlist",
            "export",
            "Road Trip",
            "--format",
            "xspf",
            "--base-url",
            "http://pi.local:8080",
        ],
        None,
    );
    assert!(
        stdout(&o).contains("<location>http://pi.local:8080/proxy/dQw4w9WgXcQ/?icy=0</location>")
    );
    assert!(stdout(&o).contains("<album>LP</album>"));
    let xspf = e.dir.path().join("road.XSPF");
    let xspfs = xspf.to_str().expect("utf8");
    succeeds(&e, &["playlist", "export", "Road Trip", "--output", xspfs]);
    assert!(
        std::fs::read_to_string(&xspf)
            .expect("written")
            .contains("<playlist")
    );
    let m3u8 = e.dir.path().join("road.m3u8");
    let m3u8s = m3u8.to_str().expect("utf8");
    succeeds(
        &e,
        &[
            "playlist",
            "export",
            "Road Trip",
            "--format",
            "m3u",
            "--output",
            m3u8s,
        ],
    );
    assert!(
        std::fs::read_to_string(&m3u8)
            .expect("written")
            .starts_with("#EXTM3U")
    );
    let conflict = e.dir.path().join("other.m3u");
    let unknown = e.dir.path().join("road.txt");
    for (args, want) in [
        (
            vec![
                "--format",
                "xspf",
                "--output",
                conflict.to_str().expect("utf8"),
            ],
            "--format xspf contradicts the file name",
        ),
        (
            vec!["--output", unknown.to_str().expect("utf8")],
            "cannot tell the playlist format from the file name",
        ),
        (vec![], "give --format xspf or --format m3u"),
    ] {
        let o = icyproxy(
            &e,
            &[&["playlist", "export", "Road Trip"], &args[..]].concat(),
            None,
        );
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
    assert!(!conflict.exists() && !unknown.exists());
    let o = icyproxy(
        &e,
        &["playlist", "export", "Road Trip", "--format", "pdf"],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "clap refuses an unknown format");
    assert!(
        stderr(&o).contains("[possible values: xspf, m3u]"),
        "{}",
        stderr(&o)
    );

    let o = icyproxy(
        &e,
        &["playlist", "remove", "Road Trip", "zzzzzzzzzzz"],
        None,
    );
    assert!(o.status.success());
    assert_eq!(stdout(&o), "removed 1 entry from Road Trip\n");
    let o = icyproxy(
        &e,
        &["playlist", "remove", "Road Trip", "zzzzzzzzzzz"],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "nothing left to remove");
    let o = icyproxy(&e, &["playlist", "remove", "Road Trip"], None);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "removed playlist Road Trip (2 entries)\n");
    let o = icyproxy(&e, &["playlist", "list", "Road Trip"], None);
    assert_eq!(o.status.code(), Some(1));
    for (args, want) in [
        (vec!["playlist", "add", ".bad", ID], "invalid playlist name"),
        (vec!["playlist", "add", "ok", "short"], "invalid video id"),
        (
            vec!["playlist", "export", "nope", "--format", "m3u"],
            "no playlist",
        ),
        (
            vec![
                "add",
                ID,
                "--url",
                "http://h/a",
                "--title",
                "T",
                "--thumbnail",
                "file:///x",
            ],
            "thumbnail",
        ),
    ] {
        let o = icyproxy(&e, &args, None);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    // A bad line in an import to a playlist adds nothing to either.
    let o = icyproxy(
        &e,
        &["import", "-", "--playlist", "New"],
        Some("bbbbbbbbbbb\thttp://h/c\tA\tT\nbad\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    let o = icyproxy(&e, &["playlist", "list"], None);
    assert!(!stdout(&o).contains("New"));
}

/// Every mistake a newcomer can make: one line on stderr that names the
/// fix, and exit status 1. (`serve` logs which config and database it uses
/// before it starts; that line is context, not a second error.)
#[test]
fn newcomer_errors_are_one_line_that_names_the_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "",
            vec!["serve", "--port", &port],
            "choose another with --port",
        ),
        (
            "DIRECTORY",
            vec!["list"],
            "check the path given to --config",
        ),
        (
            "[server]\nwrkers = 3\n",
            vec!["list"],
            "[server] wrkers is not a key: did you mean workers?",
        ),
        (
            "[server]\nzzzz = 3\n",
            vec!["list"],
            "proxy.toml lists every key",
        ),
        (
            "[server]\nhost = 127.0.0.1\n",
            vec!["list"],
            "put the address in quotes: host = \"127.0.0.1\"",
        ),
        (
            "[server]\nport = 70000\n",
            vec!["serve"],
            "[server] port must be a whole number from 0 to 65535 (0: any free port), not 70000",
        ),
        (
            "",
            vec!["serve", "--port", "0", "--db", "/proc/icyproxy/t.db"],
            "choose a writable place",
        ),
        (
            "[resolver]\ncommand = [\"yt-dlp-missing-here\", \"{video_id}\"]\n",
            vec!["resolve", ID],
            "resolver command not found: yt-dlp-missing-here (install it, or set [resolver] command = []",
        ),
    ];
    for (config, args, fix) in cases {
        let e = if config == "DIRECTORY" {
            // A config path that cannot be read as a file.
            let e = env("");
            std::fs::remove_file(&e.config).expect("rm");
            std::fs::create_dir(&e.config).expect("mkdir");
            e
        } else {
            env(config)
        };
        let o = icyproxy(&e, &args, None);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(fix), "{args:?}: {err}");
        let errors = err.lines().filter(|l| !l.contains(" [INFO] config: "));
        assert_eq!(errors.count(), 1, "{args:?}: {err}");
    }
}

/// Writes a config file at `path` (and its directory) naming database `db`.
fn write_config(path: &Path, db: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, format!("[store]\npath = {db:?}\n")).expect("config");
}

/// What a read of a missing database says: the path and the config.
fn missing_db(db: &Path, config: &str) -> String {
    format!("no track database at {} (config: {config})", db.display())
}

#[test]
fn the_config_is_searched_in_order() {
    let e = env("");
    let dir = e.dir.path();
    // The child's working directory, as getcwd reports it.
    let work = dir.canonicalize().expect("canonical");
    let xdg = dir.join("xdg");
    let xdg_file = xdg.join("icyproxy/proxy.toml");
    let home_file = dir.join("home/.config/icyproxy/proxy.toml");
    write_config(&xdg_file, "xdg.db");
    write_config(&home_file, "home.db");
    let list_with_xdg = |value: Option<&Path>| {
        let mut c = bin(&e);
        if let Some(v) = value {
            c.env("XDG_CONFIG_HOME", v);
        }
        let o = run(c.arg("list"), None);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        stderr(&o)
    };
    let cwd_file = work.join("proxy.toml");
    let err = list_with_xdg(Some(&xdg));
    let want = missing_db(
        &work.join("data/tracks.db"),
        &cwd_file.display().to_string(),
    );
    assert!(err.contains(&want), "./proxy.toml first: {err}");

    std::fs::remove_file(&e.config).expect("rm");
    let err = list_with_xdg(Some(&xdg));
    let want = missing_db(
        &xdg.join("icyproxy/xdg.db"),
        &xdg_file.display().to_string(),
    );
    assert!(err.contains(&want), "then XDG_CONFIG_HOME: {err}");

    let want = missing_db(
        &dir.join("home/.config/icyproxy/home.db"),
        &home_file.display().to_string(),
    );
    for unset in [None, Some(Path::new(""))] {
        let err = list_with_xdg(unset);
        assert!(err.contains(&want), "then ~/.config ({unset:?}): {err}");
    }

    std::fs::remove_file(&home_file).expect("rm");
    // /etc/icyproxy/proxy.toml comes next; a test must not write /etc
    // (config::search_path's unit test checks its place in the order).
    if !Path::new("/etc/icyproxy/proxy.toml").exists() {
        let err = list_with_xdg(Some(&xdg.join("empty")));
        let want = missing_db(&work.join("tracks.db"), "built-in defaults");
        assert!(err.contains(&want), "then the defaults: {err}");
    }
    for db in ["data/tracks.db", "xdg/icyproxy/xdg.db", "tracks.db"] {
        assert!(!dir.join(db).exists(), "list created {db}");
    }
}

#[test]
fn db_is_a_global_option_for_the_cli_and_the_server() {
    let e = env("[resolver]\ncommand = []\n");
    let db = e.dir.path().join("x.db");
    let dbs = db.to_str().expect("utf8");
    let o = succeeds(
        &e,
        &[
            "--db",
            dbs,
            "add",
            ID,
            "--url",
            "http://h/a",
            "--title",
            "T",
        ],
    );
    assert!(
        stderr(&o).contains(&format!("database at {dbs} ")),
        "{}",
        stderr(&o)
    );
    let o = succeeds(
        &e,
        &[
            "add",
            "aaaaaaaaaaa",
            "--url",
            "http://h/b",
            "--title",
            "U",
            "--db",
            dbs,
        ],
    );
    assert_eq!(stderr(&o), "", "the database exists now");
    succeeds(&e, &["playlist", "add", "P", ID, "--db", dbs]);
    assert_eq!(
        stdout(&icyproxy(&e, &["list", "--db", dbs], None))
            .lines()
            .count(),
        2
    );
    assert_eq!(
        stdout(&icyproxy(&e, &["--db", dbs, "playlist", "list"], None)),
        "P\t1\n"
    );
    assert!(
        !e.dir.path().join("data").exists(),
        "the config's database was not used"
    );

    let s = serve(&e, &["serve", "--port", "0", "--db", dbs]);
    assert_eq!(health(s.addr)["tracks"], 2);
    let first = &s.start_log[0];
    for part in [
        format!("config: {}", e.config.display()),
        format!("database: {dbs}"),
        "resolver: off".to_owned(),
        format!("covers: {}", e.dir.path().join("covers").display()),
    ] {
        assert!(first.contains(&part), "{part:?} not in {first:?}");
    }
}

#[test]
fn a_new_database_is_announced_once() {
    let e = env("[resolver]\ncommand = [\"yt-dlp-missing-here\", \"{video_id}\"]\n");
    let db = e.dir.path().join("data/tracks.db");
    // Refused input, or a resolver that fails, creates nothing, and so
    // announces nothing.
    let o = icyproxy(&e, &["import", "-"], Some("bad line\n"));
    assert_eq!(o.status.code(), Some(1));
    let o = icyproxy(&e, &["resolve", ID], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("creating"), "{}", stderr(&o));
    let o = icyproxy(&e, &["playlist", "add", ".bad", ID], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("creating"), "{}", stderr(&o));
    assert!(!db.exists());

    let add = ["add", ID, "--url", "http://h/a", "--title", "T"];
    let o = icyproxy(&e, &add, None);
    assert!(o.status.success());
    assert_eq!(
        stderr(&o),
        format!(
            "icyproxy: creating a new, empty track database at {} (config: {})\n",
            db.display(),
            e.config.display()
        )
    );
    assert!(db.exists());
    let o = icyproxy(&e, &add, None);
    assert!(o.status.success());
    assert_eq!(stderr(&o), "", "said once only");
}

#[test]
fn reads_of_a_missing_database_fail_without_creating_it() {
    let e = env("");
    let db = e.dir.path().join("data/tracks.db");
    let want = missing_db(&db, &e.config.display().to_string());
    for args in [
        vec!["get", ID],
        vec!["list"],
        vec!["remove", ID],
        vec!["playlist", "list"],
        vec!["playlist", "list", "P"],
        vec!["playlist", "remove", "P"],
        vec!["playlist", "export", "P", "--format", "m3u"],
    ] {
        let o = icyproxy(&e, &args, None);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(&want), "{args:?}: {err}");
        assert!(err.contains("--db"), "names the fix: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!e.dir.path().join("data").exists(), "{args:?} created it");
    }
}

#[test]
fn a_listen_failure_comes_before_any_warning_about_the_address() {
    let e = env("[server]\nhost = \"0.0.0.0\"\n");
    let taken = std::net::TcpListener::bind("0.0.0.0:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let o = icyproxy(&e, &["serve", "--port", &port], None);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("cannot listen on 0.0.0.0:"), "{err}");
    assert!(!err.contains("without [server] token"), "{err}");
}
