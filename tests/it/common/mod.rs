//! Shared test helpers: a real origin HTTP server, the real proxy server on
//! port 0 with a real SQLite file, a raw HTTP/1.x client and an ICY parser
//! written independently of the code under test.
#![allow(dead_code)]

pub mod mpd;
pub mod music;
pub mod music_files;
pub mod ytmusic;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use icyproxy::app::root::App;
use icyproxy::catalog::model::NewTrack;
use icyproxy::catalog::store::TrackStore;
use icyproxy::config::Config;
use icyproxy::http::server::StopHandle;

/// Deterministic, non-periodic audio bytes (an LCG), so a block inserted at
/// the wrong offset can never line up by accident.
pub fn audio_bytes(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// What the origin saw.
#[derive(Default)]
pub struct OriginLog {
    pub requests: AtomicUsize,
    pub body_bytes: AtomicU64,
    /// Connections whose body write failed (the proxy hung up on us).
    pub aborted: AtomicUsize,
    /// `METHOD path range` per request.
    pub lines: Mutex<Vec<String>>,
    /// Per-URL state for the once-only faults.
    pub state: Mutex<HashMap<String, u64>>,
    /// When the first body byte of any response left the origin.
    pub first_body_byte_at: Mutex<Option<Instant>>,
    /// `status user-agent accept-encoding` per request, in order.
    pub agents: Mutex<Vec<String>>,
    /// When each request arrived, with its target.
    pub arrivals: Mutex<Vec<(Instant, String)>>,
}

impl OriginLog {
    /// Requests whose target contains `needle`.
    pub fn requests_for(&self, needle: &str) -> Vec<String> {
        let lines = self.lines.lock().expect("log lock");
        lines
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    /// Adds one to a per-URL counter and returns the new value.
    fn bump(&self, key: &str) -> u64 {
        let mut state = self.state.lock().expect("state lock");
        let n = state.entry(key.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    fn get(&self, key: &str) -> u64 {
        *self
            .state
            .lock()
            .expect("state lock")
            .get(key)
            .unwrap_or(&0)
    }
}

/// A real HTTP origin on 127.0.0.1. `GET`/`HEAD /audio/{len}` serves
/// [`audio_bytes`] and honours single `Range`s. Query options:
/// `chunked=1` (no length), `noranges=1`, `status=N`, `head=N` (status for
/// HEAD), `delay_ms=N` (before the head), `stall_after=N&stall_ms=M`
/// (pause mid-body), `ct=none` (no Content-Type), `drop_after=N` (close
/// the connection after N body bytes), `shift=N` (a `Content-Range` N bytes
/// off the range sent), `fake_total=N` (a `Content-Range` total of N),
/// `fake_length=N` (a `Content-Length` of N, whatever the body).
/// Faults that happen once per URL:
/// `drop_at=X` (close at absolute byte X), `stall_at=X&stall_ms=M`,
/// `fail5xx=N` (the first N requests get 503). `expire=T` answers 403 once
/// the unix time T has passed, `not_before=T` answers 403 until it comes, `deny=1` always answers 403,
/// `deny_from=N` answers 403 to a `Range` starting at byte N or later (a
/// URL refused past its first minute), and
/// `deny_after_drop=1` answers 403 once `drop_at` has happened.
pub struct Origin {
    pub addr: SocketAddr,
    pub log: Arc<OriginLog>,
    _closing: Closing,
}

impl Origin {
    pub fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind origin");
        let addr = listener.local_addr().expect("origin addr");
        let log = Arc::new(OriginLog::default());
        let shared = Arc::clone(&log);
        let closing = Closing::new(addr);
        let closed = closing.flag();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if closed.load(Ordering::SeqCst) {
                    break;
                }
                let log = Arc::clone(&shared);
                thread::spawn(move || {
                    let _ = serve_origin(stream, &log);
                });
            }
        });
        Origin {
            addr,
            log,
            _closing: closing,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn requests(&self) -> usize {
        self.log.requests.load(Ordering::SeqCst)
    }

    pub fn body_bytes(&self) -> u64 {
        self.log.body_bytes.load(Ordering::SeqCst)
    }

    /// The body byte count once it has stopped changing for 100 ms: the
    /// origin counts a piece after its write returns, which may be after
    /// the proxy has passed it on.
    pub fn settled_body_bytes(&self) -> u64 {
        let mut last = self.body_bytes();
        loop {
            thread::sleep(Duration::from_millis(100));
            let now = self.body_bytes();
            if now == last {
                return now;
            }
            last = now;
        }
    }
}

fn serve_origin(stream: TcpStream, log: &OriginLog) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    log.requests.fetch_add(1, Ordering::SeqCst);
    log.arrivals
        .lock()
        .expect("arrivals lock")
        .push((Instant::now(), target.clone()));
    let range_header = headers.get("range").cloned();
    log.lines.lock().expect("log lock").push(format!(
        "{method} {target} {}",
        range_header.as_deref().unwrap_or("-")
    ));
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let opts: HashMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    let opt = |k: &str| opts.get(k).and_then(|v| v.parse::<u64>().ok());
    let mut out = stream;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dropped_key = format!("dropped {target}");
    let status = |code: u16| {
        let ua = headers.get("user-agent").map_or("-", String::as_str);
        let enc = headers.get("accept-encoding").map_or("-", String::as_str);
        log.agents
            .lock()
            .expect("agents lock")
            .push(format!("{code} {ua} {enc}"));
    };
    let range_start = range_header
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split('-').next()?.parse::<u64>().ok());
    let forbidden = opt("deny").is_some()
        || opt("deny_from").is_some_and(|n| range_start.is_some_and(|s| s >= n))
        || opt("expire").is_some_and(|t| now > t)
        || opt("not_before").is_some_and(|t| now < t)
        || (opt("deny_after_drop").is_some() && log.get(&dropped_key) > 0);
    status(if forbidden { 403 } else { 200 });
    if forbidden {
        return out.write_all(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforbidden",
        );
    }
    if let Some(n) = opt("fail5xx") {
        if log.bump(&format!("fail {target}")) <= n {
            return out.write_all(
                b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
            );
        }
    }
    if let Some(ms) = opt("delay_ms") {
        thread::sleep(Duration::from_millis(ms));
    }
    let Some((data, content_type)) = origin_body(path) else {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let len = data.len();
    let status_for = if method == "HEAD" {
        opt("head").or(opt("status"))
    } else {
        opt("status")
    };
    if let Some(status) = status_for {
        return write!(
            out,
            "HTTP/1.1 {status} Nope\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
        );
    }
    let ranges_ok = opt("noranges").is_none();
    let mut status = "200 OK";
    let (mut start, mut end) = (0usize, len);
    let mut extra = String::new();
    if let (true, Some(r)) = (
        ranges_ok,
        range_header
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes=")),
    ) {
        let (a, b) = r.split_once('-').unwrap_or(("", ""));
        let (s, e) = match (a.parse::<usize>().ok(), b.parse::<usize>().ok()) {
            (Some(a), Some(b)) => (a, (b + 1).min(len)),
            (Some(a), None) => (a, len),
            (None, Some(n)) => (len.saturating_sub(n), len),
            (None, None) => (0, len),
        };
        if s >= len || s >= e {
            return write!(
                out,
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        status = "206 Partial Content";
        // Lies, for the checks on upstream's answer: a shifted range, or
        // a total that does not reach the range's end.
        let shift = opt("shift").unwrap_or(0) as usize;
        let total = opt("fake_total").map_or(len, |t| t as usize);
        extra = format!(
            "Content-Range: bytes {}-{}/{total}\r\n",
            s + shift,
            e - 1 + shift
        );
        (start, end) = (s, e);
    }
    if ranges_ok {
        extra.push_str("Accept-Ranges: bytes\r\n");
    }
    if opts.get("ct") != Some(&"none") {
        extra.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    let chunked = opt("chunked").is_some();
    if chunked {
        extra.push_str("Transfer-Encoding: chunked\r\n");
    } else {
        let length = opt("fake_length").unwrap_or((end - start) as u64);
        extra.push_str(&format!("Content-Length: {length}\r\n"));
    }
    write!(out, "HTTP/1.1 {status}\r\n{extra}Connection: close\r\n\r\n")?;
    out.flush()?;
    if method == "HEAD" {
        return Ok(());
    }
    let body = &data[start..end];
    // Once-per-URL faults, in absolute offsets, turned into this body's offsets.
    let once = |key: &str, at: Option<u64>| {
        at.filter(|&x| {
            (x as usize) >= start && (x as usize) < end && log.get(&format!("{key} {target}")) == 0
        })
        .map(|x| x as usize - start)
    };
    let drop_at = once("dropped", opt("drop_at"));
    let stall_at = once("stalled", opt("stall_at"));
    if drop_at.is_some() {
        log.bump(&dropped_key);
    }
    if stall_at.is_some() {
        log.bump(&format!("stalled {target}"));
    }
    let stall_after = opt("stall_after").map(|n| n as usize).or(stall_at);
    let drop_after = opt("drop_after").map(|n| n as usize).or(drop_at);
    let mut sent = 0usize;
    for piece in body.chunks(16 * 1024) {
        let mut piece = piece;
        if let Some(limit) = drop_after {
            if sent >= limit {
                return Ok(());
            }
            piece = &piece[..piece.len().min(limit - sent)];
        }
        if let Some(at) = stall_after {
            if sent <= at && at < sent + piece.len() {
                let (a, b) = piece.split_at(at - sent);
                write_piece(&mut out, a, chunked, log)?;
                thread::sleep(Duration::from_millis(opt("stall_ms").unwrap_or(1000)));
                piece = b;
                sent += a.len();
            }
        }
        write_piece(&mut out, piece, chunked, log)?;
        sent += piece.len();
    }
    if chunked {
        out.write_all(b"0\r\n\r\n")?;
    }
    out.flush()
}

/// `/audio/{len}`: [`audio_bytes`]; `/file/{name}`: a file from
/// `tests/fixtures/`.
fn origin_body(path: &str) -> Option<(Vec<u8>, &'static str)> {
    if let Some(len) = path.strip_prefix("/audio/") {
        return Some((audio_bytes(len.parse().ok()?), "audio/webm"));
    }
    let name = path.strip_prefix("/file/")?;
    if name.contains('/') {
        return None;
    }
    let data = std::fs::read(fixture(name)).ok()?;
    let kind = match name.rsplit('.').next() {
        Some("webm") => "audio/webm",
        Some("mp3") => "audio/mpeg",
        Some("wav") => "audio/wav",
        Some("jpg") => "image/jpeg",
        _ => "application/octet-stream",
    };
    Some((data, kind))
}

/// Closes a test server's listener when the server is dropped: every test
/// runs in one process, where a listener left open would hold its
/// descriptor until the last test ends (and the tests that open a thousand
/// connections need the descriptors). Connections already accepted finish
/// on their own.
struct Closing {
    addr: SocketAddr,
    flag: Arc<AtomicBool>,
}

impl Closing {
    fn new(addr: SocketAddr) -> Closing {
        Closing {
            addr,
            flag: Arc::new(AtomicBool::new(false)),
        }
    }

    /// What the accept loop checks after each connection: when set, it
    /// ends and drops the listener.
    fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A file in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A `[resolver]` section whose commands are the stand-ins for yt-dlp in
/// `tests/fixtures/` (their headers say what each prints). As text it ends
/// with a newline, so bare keys written right after it (`timeout_secs = 1`)
/// land in `[resolver]`.
#[derive(Debug, Clone)]
pub struct FakeResolver {
    /// The `command` array; `None` leaves the key out (yt-dlp, the default).
    command: Option<String>,
    /// The `playlist_command` array; `None` leaves the key out.
    playlist_command: Option<String>,
}

/// `command = [fake-resolver, CALLS, MODE, BASE_URL, "{video_id}"]`: each
/// run appends its ids to `calls` (one line per run), and `mode` says what
/// it prints (`json`, `slow2`, `deny`, ...); the URLs it hands out are
/// `base_url` plus a query.
pub fn fake_resolver(mode: &str, calls: &Path, base_url: &str) -> FakeResolver {
    FakeResolver {
        command: Some(format!(
            "[{:?}, {:?}, {mode:?}, {base_url:?}, \"{{video_id}}\"]",
            fixture("fake-resolver").display().to_string(),
            calls.display().to_string(),
        )),
        playlist_command: None,
    }
}

/// Only `playlist_command` (see [`FakeResolver::with_playlists`]); no
/// `command` key.
pub fn fake_playlists(calls: &Path, dir: &Path) -> FakeResolver {
    FakeResolver {
        command: None,
        playlist_command: None,
    }
    .with_playlists(calls, dir)
}

impl FakeResolver {
    /// `playlist_command = [fake-playlist, CALLS, DIR, "{url}"]`: each run
    /// appends its URL to `calls` and prints `dir/KEY.json` for `list=KEY`
    /// (fails with `dir/KEY.fail`).
    pub fn with_playlists(mut self, calls: &Path, dir: &Path) -> FakeResolver {
        self.playlist_command = Some(format!(
            "[{:?}, {:?}, {:?}, \"{{url}}\"]",
            fixture("fake-playlist").display().to_string(),
            calls.display().to_string(),
            dir.display().to_string(),
        ));
        self
    }

    /// `command = []`: no resolver, unknown ids are 404.
    pub fn without_resolver(mut self) -> FakeResolver {
        self.command = Some("[]".to_owned());
        self
    }
}

impl std::fmt::Display for FakeResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tests reach no YouTube: the reader is off (first, so that lines
        // written after this stay in [resolver]).
        writeln!(f, "[youtube]\napi_url = \"\"")?;
        writeln!(f, "[resolver]")?;
        if let Some(command) = &self.command {
            writeln!(f, "command = {command}")?;
        }
        if let Some(command) = &self.playlist_command {
            writeln!(f, "playlist_command = {command}")?;
        }
        Ok(())
    }
}

fn write_piece(
    out: &mut TcpStream,
    piece: &[u8],
    chunked: bool,
    log: &OriginLog,
) -> std::io::Result<()> {
    if piece.is_empty() {
        return Ok(());
    }
    let mut first = log.first_body_byte_at.lock().expect("first byte lock");
    if first.is_none() {
        *first = Some(Instant::now());
    }
    drop(first);
    let r = if chunked {
        write!(out, "{:x}\r\n", piece.len())
            .and_then(|()| out.write_all(piece))
            .and_then(|()| out.write_all(b"\r\n"))
    } else {
        out.write_all(piece)
    };
    match r.and_then(|()| out.flush()) {
        Ok(()) => {
            log.body_bytes
                .fetch_add(piece.len() as u64, Ordering::SeqCst);
            Ok(())
        }
        Err(e) => {
            log.aborted.fetch_add(1, Ordering::SeqCst);
            Err(e)
        }
    }
}

/// The real proxy server on 127.0.0.1:0 with its own SQLite file.
pub struct Proxy {
    pub addr: SocketAddr,
    pub db_path: PathBuf,
    pub config: Config,
    stop: StopHandle,
    server: Option<App>,
    _dir: tempfile::TempDir,
}

impl Proxy {
    pub fn start() -> Proxy {
        Proxy::start_with("")
    }

    /// Starts with extra TOML (for example `"[server]\nworkers = 2\n"`).
    pub fn start_with(extra_toml: &str) -> Proxy {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("proxy.toml");
        let mut text = String::from(extra_toml);
        if !text.contains("[server]") {
            text.push_str("\n[server]\n");
        }
        text = text.replacen("[server]", "[server]\nport = 0", 1);
        if !text.contains("[resolver]") {
            // No resolver unless a test asks for one: unknown ids are 404.
            text.push_str("\n[resolver]\ncommand = []\n");
        }
        text.push_str(&no_mpd_unless_asked(extra_toml));
        let before_mpd = mpd::mpd_port_in(extra_toml)
            .filter(|_| mpd::through_front() && !extra_toml.contains("[front]"));
        if before_mpd.is_some() {
            text.push_str("\n[front]\nlisten = \"127.0.0.1:0\"\n");
        }
        std::fs::write(&path, text).expect("write config");
        let config = Config::from_file(&path).expect("valid test config");
        let server = App::start(&config).expect("server starts");
        if let (Some(mpd_port), Some(front)) = (before_mpd, server.front_addr()) {
            mpd::register_front(mpd_port, front.port());
        }
        Proxy {
            addr: server.local_addr(),
            db_path: config.store.path.clone(),
            stop: server.stop_handle(),
            config,
            server: Some(server),
            _dir: dir,
        }
    }

    /// The front door's address (`[front] listen` set).
    pub fn front(&self) -> SocketAddr {
        self.server
            .as_ref()
            .and_then(App::front_addr)
            .expect("a front door")
    }

    pub fn add(&self, id: &str, url: &str, artist: &str, title: &str) {
        let track = NewTrack::new(id, url, artist, title).expect("valid track");
        TrackStore::open(&self.db_path)
            .expect("open store")
            .upsert(&track)
            .expect("upsert");
    }

    /// Stops the server and waits as `main` would; returns how long it took.
    pub fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.stop.stop();
        if let Some(server) = self.server.take() {
            server.wait().expect("clean stop");
        }
        started.elapsed()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(front) = self.server.as_ref().and_then(App::front_addr) {
            mpd::unregister_front(front.port());
        }
        self.stop.stop();
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connects with read/write timeouts so no test can hang.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.set_write_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s
}

/// Sends a request and reads the whole response.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut s = connect(addr);
    let mut text = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        text.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    s.write_all(text.as_bytes()).expect("send");
    read_reply(&mut BufReader::new(s), method == "HEAD")
}

pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(addr, "GET", path, headers)
}

/// Reads a status line and headers.
pub fn read_head(r: &mut impl BufRead) -> (String, Vec<(String, String)>) {
    let mut status_line = String::new();
    r.read_line(&mut status_line).expect("status line");
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header line");
        if h.trim_end_matches(['\r', '\n']).is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').expect("header has a colon");
        headers.push((k.to_owned(), v.trim().to_owned()));
    }
    (status_line.trim_end().to_owned(), headers)
}

/// Reads a whole response, honouring Content-Length, chunked or close.
pub fn read_reply(r: &mut impl BufRead, head_only: bool) -> Reply {
    let (status_line, headers) = read_head(r);
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut reply = Reply {
        status,
        status_line,
        headers,
        body: Vec::new(),
    };
    if head_only {
        return reply;
    }
    if let Some(len) = reply.header("content-length") {
        let len: usize = len.parse().expect("numeric length");
        reply.body = vec![0; len];
        r.read_exact(&mut reply.body)
            .expect("body of declared length");
    } else if reply
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).expect("chunk size");
            let n = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).expect("chunk");
            assert_eq!(&chunk[n..], b"\r\n", "chunk ends with CRLF");
            if n == 0 {
                break;
            }
            reply.body.extend_from_slice(&chunk[..n]);
        }
    } else {
        r.read_to_end(&mut reply.body).expect("body until close");
    }
    reply
}

/// Splits an ICY body into audio and metadata texts (NUL padding removed),
/// as an ICY client does.
pub fn split_icy(body: &[u8], metaint: usize) -> (Vec<u8>, Vec<String>) {
    let (mut audio, mut metas, mut i) = (Vec::new(), Vec::new(), 0);
    while i < body.len() {
        let n = metaint.min(body.len() - i);
        audio.extend_from_slice(&body[i..i + n]);
        i += n;
        if i < body.len() {
            let len = body[i] as usize * 16;
            assert!(
                i + 1 + len <= body.len(),
                "metadata block runs past the body"
            );
            let text = &body[i + 1..i + 1 + len];
            let text = String::from_utf8(text.to_vec()).expect("metadata is UTF-8");
            metas.push(text.trim_end_matches('\0').to_owned());
            i += 1 + len;
        }
    }
    (audio, metas)
}

/// The value of `StreamTitle` in a metadata text, parsed like MPD 0.23
/// does: the value ends at the first `'` followed by `;`.
pub fn stream_title(meta: &str) -> Option<String> {
    let rest = meta.strip_prefix("StreamTitle='")?;
    let end = rest.find("';")?;
    assert_eq!(&rest[end..], "';", "nothing after the field");
    Some(rest[..end].to_owned())
}

/// Polls `f` until it is true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// `/health` as JSON.
pub fn health(addr: SocketAddr) -> serde_json::Value {
    let reply = get(addr, "/health", &[]);
    assert_eq!(reply.status, 200);
    serde_json::from_slice(&reply.body).expect("health is JSON")
}

/// A numeric field of `/proc/PID/status` (`VmRSS:` in KiB, `Threads:`),
/// 0 when unreadable.
pub fn proc_status(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// An address of this machine that is not loopback (the one it would
/// send from to a far host), for tests of what callers from the network
/// see: the server admits loopback callers without its token.
pub fn lan_address() -> std::net::IpAddr {
    let found = ["192.0.2.1:9", "10.255.255.1:9", "[2001:db8::1]:9"]
        .iter()
        .find_map(|far| {
            let bind = if far.starts_with('[') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            };
            let socket = std::net::UdpSocket::bind(bind).ok()?;
            socket.connect(far).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        });
    found.expect("this test needs a network address besides loopback (an interface with a route)")
}

/// A port with nothing listening on it.
/// A port free a moment ago, for a server the test starts on it.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A port that refuses every connection for as long as this lives: a
/// socket bound to it that never listens, so no other test's server can
/// take the port in the meantime (a port only free a moment ago could).
pub struct DeadPort {
    _socket: std::os::fd::OwnedFd,
    pub port: u16,
}

pub fn dead_port() -> DeadPort {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockType, SockaddrIn, bind, getsockname, socket,
    };
    use std::os::fd::AsRawFd;
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).expect("bind");
    let port = getsockname::<SockaddrIn>(fd.as_raw_fd())
        .expect("getsockname")
        .port();
    DeadPort { _socket: fd, port }
}

/// The real binary, serving; killed on drop. Its stderr is collected.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    log: mpsc::Receiver<String>,
    lines: Vec<String>,
    pub dir: tempfile::TempDir,
    /// The front door's port, when one was put before the test's MPD.
    front: Option<u16>,
}

impl Served {
    pub fn start(config: &str, prefix: &[&str]) -> Served {
        Served::start_in(tempfile::tempdir().expect("tempdir"), config, prefix)
    }

    /// [`Served::start`] in `dir`, which may hold a database already (of
    /// a server that was killed).
    pub fn start_in(dir: tempfile::TempDir, config: &str, prefix: &[&str]) -> Served {
        let cfg = dir.path().join("proxy.toml");
        let mut mpd = no_mpd_unless_asked(config);
        let before_mpd = mpd::mpd_port_in(config)
            .filter(|_| mpd::through_front() && !config.contains("[front]"));
        if before_mpd.is_some() {
            mpd.push_str("\n[front]\nlisten = \"127.0.0.1:0\"\n");
        }
        std::fs::write(
            &cfg,
            format!("[store]\npath = \"tracks.db\"\n{config}{mpd}"),
        )
        .expect("config");
        let bin = env!("CARGO_BIN_EXE_icyproxy");
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = cmd
            .arg("--config")
            .arg(&cfg)
            .args(["serve", "--port", "0"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("start icyproxy");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Served {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: rx,
            lines: Vec::new(),
            dir,
            front: None,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let line = served
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no 'listening on' line: {:?}", served.lines));
            served.lines.push(line.clone());
            if let (Some(mpd_port), Some(front)) = (
                before_mpd,
                line.split("front door listening on ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok()),
            ) {
                mpd::register_front(mpd_port, front.port());
                served.front = Some(front.port());
            }
            if let Some(url) = line.split("listening on http://").nth(1) {
                served.addr = url.trim().parse().expect("address");
                return served;
            }
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("tracks.db")
    }

    pub fn add(&self, id: &str, url: &str, artist: &str, title: &str) {
        let o = self.cli(&[
            "add", id, "--url", url, "--artist", artist, "--title", title,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// Runs an `icyproxy` command with this server's config.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_icyproxy"))
            .arg("--config")
            .arg(self.dir.path().join("proxy.toml"))
            .args(args)
            .output()
            .expect("run icyproxy")
    }

    /// Waits for a log line that `matches` (up to `limit`), keeping every
    /// line read on the way.
    pub fn wait_for_line(
        &mut self,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Option<String> {
        if let Some(line) = self.lines.iter().find(|l| matches(l)) {
            return Some(line.clone());
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.log.recv_timeout(left).ok()?;
            self.lines.push(line.clone());
            if matches(&line) {
                return Some(line);
            }
        }
    }

    /// Everything logged so far.
    pub fn log_lines(&mut self) -> &[String] {
        std::thread::sleep(Duration::from_millis(100));
        self.lines.extend(self.log.try_iter());
        &self.lines
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(front) = self.front {
            mpd::unregister_front(front);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certificate authority made at test time, and the leaves it signs.
pub struct TestCa {
    key: rcgen::KeyPair,
    params: rcgen::CertificateParams,
    /// The CA certificate, PEM: what `[upstream] ca_file` points at.
    pub pem: String,
}

/// Which server certificate a [`TlsFront`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// For 127.0.0.1 and localhost, valid now.
    Good,
    /// Valid now, for another host only.
    WrongHost,
    /// For 127.0.0.1, but it ran out in 2021.
    Expired,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().expect("CA key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("CA cert").pem();
        TestCa { key, params, pem }
    }

    /// Writes the CA certificate into `dir` and returns the path.
    pub fn write_pem(&self, dir: &std::path::Path) -> PathBuf {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, &self.pem).expect("write CA");
        path
    }

    fn leaf(
        &self,
        kind: Leaf,
    ) -> (
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ) {
        let names: Vec<String> = match kind {
            Leaf::WrongHost => vec!["other.example".into()],
            Leaf::Good | Leaf::Expired => vec!["127.0.0.1".into(), "localhost".into()],
        };
        let mut params = rcgen::CertificateParams::new(names).expect("leaf params");
        if kind == Leaf::Expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("leaf cert");
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
        (vec![cert.der().clone()], der.into())
    }
}

/// HTTPS in front of an [`Origin`]: each connection's one request goes to
/// the origin over plain TCP and its answer comes back over TLS, so every
/// origin option (ranges, drops, stalls, 403s) works over HTTPS too.
pub struct TlsFront {
    pub addr: SocketAddr,
    /// TLS handshakes completed.
    pub handshakes: Arc<AtomicUsize>,
    _closing: Closing,
}

impl TlsFront {
    pub fn start(origin: &Origin, ca: &TestCa, leaf: Leaf) -> TlsFront {
        let (chain, key) = ca.leaf(leaf);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind TLS front");
        let addr = listener.local_addr().expect("addr");
        let upstream = origin.addr;
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&handshakes);
        let closing = Closing::new(addr);
        let closed = closing.flag();
        thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                if closed.load(Ordering::SeqCst) {
                    break;
                }
                let config = Arc::clone(&config);
                let counted = Arc::clone(&counted);
                thread::spawn(move || {
                    let _ = relay_tls(tcp, config, upstream, &counted);
                });
            }
        });
        TlsFront {
            addr,
            handshakes,
            _closing: closing,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.addr, path)
    }
}

fn relay_tls(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    origin: SocketAddr,
    handshakes: &AtomicUsize,
) -> std::io::Result<()> {
    use std::io::Read;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tls.read(&mut byte)? == 0 || head.len() > 65536 {
            return Ok(());
        }
        if head.is_empty() {
            handshakes.fetch_add(1, Ordering::SeqCst);
        }
        head.push(byte[0]);
    }
    let mut up = TcpStream::connect(origin)?;
    up.write_all(&head)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = up.read(&mut buf)?;
        if n == 0 {
            break;
        }
        tls.write_all(&buf[..n])?;
        tls.flush()?;
    }
    tls.conn.send_close_notify();
    tls.flush()
}

/// A directory of its own for one run of the real binary: a config file
/// whose database is `data/tracks.db` there, and a home.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

pub fn env(extra: &str) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"data/tracks.db\"\n{extra}{}",
            no_mpd_unless_asked(extra)
        ),
    )
    .expect("config");
    Env { dir, config }
}

/// The binary, run in the test's directory with a home of its own there
/// and no `XDG_CONFIG_HOME`, so no config of the machine's user is found.
pub fn bin(env: &Env) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_icyproxy"));
    c.current_dir(env.dir.path())
        .env("HOME", env.dir.path().join("home"))
        .env_remove("XDG_CONFIG_HOME");
    c
}

/// Runs `icyproxy --config ENV_CONFIG ARGS`.
pub fn icyproxy(env: &Env, args: &[&str], stdin: Option<&str>) -> Output {
    run(bin(env).arg("--config").arg(&env.config).args(args), stdin)
}

/// Runs `icyproxy ARGS` with `env`'s config and asserts that it succeeded
/// (its stderr in the message when not).
pub fn succeeds(env: &Env, args: &[&str]) -> Output {
    let o = icyproxy(env, args, None);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

/// Runs a prepared command, feeding it `stdin`, and collects its output.
pub fn run(command: &mut Command, stdin: Option<&str>) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run icyproxy");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Test servers follow no MPD unless the test says so: the machine's own
/// MPD (if one runs on 6600) is not the test's business. Nor do they keep
/// songs on disk unless the test has a `[cache]`: the other tests count
/// what upstream sees on each play.
pub fn no_mpd_unless_asked(config: &str) -> String {
    let mut off = String::new();
    if !config.contains("[mpd]") {
        off.push_str("\n[mpd]\naddress = \"\"\n");
    }
    if !config.contains("[cache]") {
        off.push_str("\n[cache]\nmax_mb = 0\n");
    }
    // Tests reach no YouTube: the reader is off unless a test gives it
    // its stand-in.
    if !config.contains("[youtube]") {
        off.push_str("\n[youtube]\napi_url = \"\"\n");
    }
    off
}

/// The warming thread as the composition root builds it, on `config`'s
/// store (created here), with its counters and stop flag.
pub struct StartedWarmer {
    pub warmer: icyproxy::app::warm::Warmer,
    pub metrics: Arc<icyproxy::metrics::Metrics>,
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
}

pub fn start_warmer(config: &Config) -> StartedWarmer {
    use icyproxy::app::root::track_source;
    use icyproxy::app::warm::{WarmParts, Warmer};
    use icyproxy::metrics::Metrics;
    use icyproxy::stream::cover::CoverCache;
    use icyproxy::stream::upstream::Upstream;
    TrackStore::open(&config.store.path).expect("create store");
    let metrics = Arc::new(Metrics::default());
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let parts = WarmParts {
        tracks: Arc::new(track_source(config, Arc::clone(&metrics))),
        covers: Arc::new(CoverCache::new(
            &config.cover.cache_dir,
            config.cover.max_bytes,
        )),
        upstream: Upstream::new(&config.upstream).expect("upstream"),
        metrics: Arc::clone(&metrics),
        stopping: Arc::clone(&stopping),
        store_path: config.store.path.clone(),
    };
    let (warmer, _thread) = Warmer::start(parts).expect("warm thread");
    StartedWarmer {
        warmer,
        metrics,
        stopping,
    }
}

/// Whether the tests run as root (who can write any file).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// The tests that load the machine (thousands of connections, threads
/// and processes: `hardening`, `connections`) take this, so one at a time
/// runs and each one's timing stays honest on two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A jar with the account's cookies (and one of another site's).
pub fn jar(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("cookies.txt");
    std::fs::write(
        &path,
        "# Netscape HTTP Cookie File\n\
         .youtube.com\tTRUE\t/\tTRUE\t0\tSAPISID\tsapi/sid123\n\
         .youtube.com\tTRUE\t/\tTRUE\t0\tSID\tthe-sid\n\
         .google.com\tTRUE\t/\tTRUE\t0\tNID\tnot-for-youtube\n",
    )
    .expect("jar");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}
