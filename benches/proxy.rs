//! `cargo bench`: icyproxy against a direct download and against the best
//! general-purpose proxies, all on loopback in one run, so every figure is
//! a ratio against a baseline measured minutes apart at most.
//!
//! Rows: direct from the origin; icyproxy plain and with `Icy-MetaData: 1`;
//! nginx (`proxy_buffering off` with default and 64k buffers, and
//! `proxy_buffering on`); HAProxy (`mode http`, one thread, splice-auto).
//! A peer that is not installed is a row that says "skipped". Prints one
//! table and writes it as JSON to `target/bench/results.json`.
//!
//! Not a test: nothing here asserts a timing.

/// The test helpers (only `proc_status` is used here).
#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::proc_status;

const BIG_BYTES: usize = 200 * 1024 * 1024;
const SMALL_BYTES: usize = 64 * 1024;
const ROUNDS: usize = 3;
const TTFB_REQUESTS: usize = 1000;
const SLOW_STREAMS: usize = 64;
const BIG_ID: &str = "benchBig001";
const SMALL_ID: &str = "benchSmall1";

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // useful either way: always run, it is short.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).expect("www");
    write_file(&root.join("big.bin"), BIG_BYTES);
    write_file(&root.join("small.bin"), SMALL_BYTES);

    let (origin, origin_kind) = start_origin(dir.path(), &root);
    let origin_addr = origin.addr;
    eprintln!("origin: {origin_kind} on {origin_addr}");

    let icy = Icyproxy::start(dir.path(), origin_addr);
    // Idle RSS as the spec asks: right after start, before any stream.
    let idle_rss = icy.rss_kib();
    let idle_threads = icy.threads();
    let mut rows: Vec<Row> = Vec::new();
    let mut peers: Vec<(String, Option<Peer>)> = vec![
        ("direct (origin)".into(), Some(Peer::direct(origin_addr))),
        ("icyproxy".into(), Some(icy.peer(false))),
        ("icyproxy, Icy-MetaData: 1".into(), Some(icy.peer(true))),
    ];
    for (name, extra) in NGINX_PEERS {
        peers.push((
            name.to_string(),
            nginx_proxy(dir.path(), name, extra, origin_addr),
        ));
    }
    peers.push((
        "haproxy 1 thread, splice-auto".into(),
        haproxy(dir.path(), origin_addr),
    ));

    // Throughput and CPU: alternate the rows, ROUNDS times.
    let mut samples: BTreeMap<usize, Vec<(f64, Option<f64>)>> = BTreeMap::new();
    for round in 0..ROUNDS {
        for (i, (name, peer)) in peers.iter().enumerate() {
            let Some(peer) = peer else { continue };
            let cpu_before = peer.cpu_seconds();
            let (bytes, secs) = download(peer.addr, &peer.big_path, peer.icy);
            let cpu = cpu_before.and_then(|b| peer.cpu_seconds().map(|a| a - b));
            let mbps = bytes as f64 / secs / 1e6;
            eprintln!("round {round}: {name}: {mbps:.0} MB/s");
            samples
                .entry(i)
                .or_default()
                .push((mbps, cpu.map(|c| c / (bytes as f64 / 1e9))));
        }
    }
    let direct = median(samples[&0].iter().map(|s| s.0).collect());
    for (i, (name, peer)) in peers.iter().enumerate() {
        match (peer, samples.get(&i)) {
            (Some(_), Some(s)) => {
                let mbps = median(s.iter().map(|x| x.0).collect());
                let cpu: Vec<f64> = s.iter().filter_map(|x| x.1).collect();
                rows.push(Row {
                    name: name.clone(),
                    mbps: Some(mbps),
                    of_direct: Some(mbps / direct),
                    cpu_s_per_gb: (!cpu.is_empty()).then(|| median(cpu)),
                });
            }
            _ => rows.push(Row {
                name: format!("{name} (skipped: not installed)"),
                mbps: None,
                of_direct: None,
                cpu_s_per_gb: None,
            }),
        }
    }

    // First-byte latency: fresh connections, one after another.
    let direct_ttfb = ttfb(origin_addr, "/small.bin", TTFB_REQUESTS);
    let icy_ttfb = ttfb(icy.addr, &format!("/proxy/{SMALL_ID}/"), TTFB_REQUESTS);

    // Memory and concurrency.
    let after_load_rss = icy.rss_kib();
    let (peak_rss, peak_threads, health_rps) = slow_streams(&icy);

    let binary_bytes = std::fs::metadata(env!("CARGO_BIN_EXE_icyproxy")).map_or(0, |m| m.len());
    let report = Report {
        origin: origin_kind.into(),
        rows,
        ttfb_direct: direct_ttfb,
        ttfb_icyproxy: icy_ttfb,
        idle_rss_kib: idle_rss,
        idle_threads,
        after_load_rss_kib: after_load_rss,
        streams_rss_kib: peak_rss,
        streams_threads: peak_threads,
        health_rps_during_streams: health_rps,
        binary_bytes,
    };
    report.print();
    report.write_json();
    drop(peers);
    drop(icy);
    drop(origin);
}

fn write_file(path: &Path, len: usize) {
    let mut x: u32 = 0x9e37_79b9;
    let mut data = Vec::with_capacity(len + 4);
    while data.len() < len {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    std::fs::write(path, data).expect("write bench file");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_listening(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

fn have(program: &str) -> Option<PathBuf> {
    [
        "/usr/sbin",
        "/usr/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
        "/sbin",
    ]
    .iter()
    .map(|d| Path::new(d).join(program))
    .find(|p| p.exists())
}

/// A child process killed on drop.
struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) of `pid` and its direct children.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let tick = clock_ticks();
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let after = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        let ppid: u32 = f[1].parse().ok()?;
        if p == pid || ppid == pid {
            let ut: f64 = f[11].parse().ok()?;
            let st: f64 = f[12].parse().ok()?;
            total += (ut + st) / tick;
        }
    }
    Some(total)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------- origin

struct Origin {
    addr: SocketAddr,
    _proc: Option<Proc>,
}

impl Drop for Origin {
    fn drop(&mut self) {}
}

/// nginx with sendfile when installed, else an in-process server (whose
/// `io::copy` from a file to a socket also uses sendfile on Linux).
fn start_origin(dir: &Path, root: &Path) -> (Origin, &'static str) {
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    if let Some(nginx) = have("nginx") {
        let server = format!(
            "server {{ listen 127.0.0.1:{port}; root {}; location / {{ }} }}",
            root.display()
        );
        if let Some(p) = run_nginx(&nginx, dir, "origin", &server) {
            if wait_listening(addr) {
                return (
                    Origin {
                        addr,
                        _proc: Some(p),
                    },
                    "nginx (sendfile)",
                );
            }
        }
    }
    let listener = TcpListener::bind(addr).expect("bind origin");
    let root = root.to_owned();
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let root = root.clone();
            thread::spawn(move || serve_file(conn, &root));
        }
    });
    (
        Origin { addr, _proc: None },
        "in-process (io::copy, sendfile)",
    )
}

fn serve_file(conn: TcpStream, root: &Path) {
    let mut r = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut out = conn;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut range = None;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                let (a, b) = v.trim().split_once('-').unwrap_or(("0", ""));
                range = Some((a.parse::<u64>().unwrap_or(0), b.parse::<u64>().ok()));
            }
        }
        let Ok(mut file) = std::fs::File::open(root.join(path.trim_start_matches('/'))) else {
            let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            continue;
        };
        let len = file.metadata().map_or(0, |m| m.len());
        let (start, end) = match range {
            Some((a, b)) => (a, b.map_or(len, |b| (b + 1).min(len))),
            None => (0, len),
        };
        let head = match range {
            Some(_) => format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}\r\nAccept-Ranges: bytes\r\nContent-Type: audio/webm\r\nContent-Length: {}\r\n\r\n",
                end - 1,
                end - start
            ),
            None => format!(
                "HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nContent-Type: audio/webm\r\nContent-Length: {len}\r\n\r\n"
            ),
        };
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        use std::io::Seek;
        if file.seek(std::io::SeekFrom::Start(start)).is_err() {
            return;
        }
        if std::io::copy(&mut (&mut file).take(end - start), &mut out).is_err() {
            return;
        }
    }
}

fn run_nginx(nginx: &Path, dir: &Path, name: &str, http_body: &str) -> Option<Proc> {
    let prefix = dir.join(format!("nginx-{name}"));
    std::fs::create_dir_all(prefix.join("logs")).ok()?;
    let conf = format!(
        "worker_processes 1;\ndaemon off;\nuser root;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n access_log off;\n sendfile on;\n tcp_nopush on;\n keepalive_requests 100000;\n\
         client_body_temp_path {p}/body;\n proxy_temp_path {p}/proxy;\n fastcgi_temp_path {p}/fcgi;\n\
         uwsgi_temp_path {p}/uwsgi;\n scgi_temp_path {p}/scgi;\n {http_body}\n}}\n",
        p = prefix.display()
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf).ok()?;
    let child = Command::new(nginx)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Proc { child })
}

// ---------------------------------------------------------------- peers

/// Something the client downloads through.
struct Peer {
    addr: SocketAddr,
    big_path: String,
    icy: bool,
    pid: Option<u32>,
    _proc: Option<Proc>,
}

impl Peer {
    fn direct(addr: SocketAddr) -> Peer {
        Peer {
            addr,
            big_path: "/big.bin".into(),
            icy: false,
            pid: None,
            _proc: None,
        }
    }

    fn cpu_seconds(&self) -> Option<f64> {
        self.pid.and_then(cpu_seconds)
    }
}

const NGINX_PEERS: [(&str, &str); 3] = [
    (
        "nginx proxy_buffering off (default 4k/8k)",
        "proxy_buffering off;",
    ),
    (
        "nginx proxy_buffering off, 64k buffers",
        "proxy_buffering off; proxy_buffer_size 64k; proxy_buffers 4 64k; proxy_busy_buffers_size 128k;",
    ),
    (
        "nginx proxy_buffering on, 16x64k",
        "proxy_buffering on; proxy_buffers 16 64k; proxy_max_temp_file_size 0;",
    ),
];

fn nginx_proxy(dir: &Path, name: &str, extra: &str, origin: SocketAddr) -> Option<Peer> {
    let nginx = have("nginx")?;
    let port = free_port();
    let tag: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let body = format!(
        "upstream o {{ server {origin}; keepalive 8; }}\n server {{ listen 127.0.0.1:{port};\n \
         location / {{ proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection \"\"; {extra} }} }}"
    );
    listening_peer(run_nginx(&nginx, dir, &tag, &body)?, port)
}

/// A peer process once it listens on `port`.
fn listening_peer(proc_: Proc, port: u16) -> Option<Peer> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_listening(addr).then_some(())?;
    Some(Peer {
        addr,
        big_path: "/big.bin".into(),
        icy: false,
        pid: Some(proc_.child.id()),
        _proc: Some(proc_),
    })
}

fn haproxy(dir: &Path, origin: SocketAddr) -> Option<Peer> {
    let haproxy = have("haproxy")?;
    let port = free_port();
    let conf = format!(
        "global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  \
         timeout client 60s\n  timeout server 60s\n  option splice-auto\n\
         frontend f\n  bind 127.0.0.1:{port}\n  default_backend b\nbackend b\n  server o {origin}\n"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, conf).ok()?;
    let child = Command::new(haproxy)
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    listening_peer(Proc { child }, port)
}

// ---------------------------------------------------------------- icyproxy

struct Icyproxy {
    addr: SocketAddr,
    pid: u32,
    _proc: Proc,
}

impl Icyproxy {
    fn start(dir: &Path, origin: SocketAddr) -> Icyproxy {
        let port = free_port();
        let config = dir.join("proxy.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nport = {port}\nworkers = {}\n[store]\npath = \"bench.db\"\n[resolver]\ncommand = []\n",
                SLOW_STREAMS + 4
            ),
        )
        .expect("config");
        let bin = env!("CARGO_BIN_EXE_icyproxy");
        for (id, file) in [(BIG_ID, "big.bin"), (SMALL_ID, "small.bin")] {
            let ok = Command::new(bin)
                .args(["--config", config.to_str().expect("utf8"), "add", id])
                .args([
                    "--url",
                    &format!("http://{origin}/{file}"),
                    "--artist",
                    "Bench",
                    "--title",
                    file,
                ])
                .status()
                .expect("icyproxy add")
                .success();
            assert!(ok, "icyproxy add failed");
        }
        let child = Command::new(bin)
            .args(["--config", config.to_str().expect("utf8"), "serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start icyproxy");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        assert!(wait_listening(addr), "icyproxy did not start");
        thread::sleep(Duration::from_millis(300));
        Icyproxy {
            addr,
            pid: child.id(),
            _proc: Proc { child },
        }
    }

    fn peer(&self, icy: bool) -> Peer {
        Peer {
            addr: self.addr,
            big_path: format!("/proxy/{BIG_ID}/"),
            icy,
            pid: Some(self.pid),
            _proc: None,
        }
    }

    fn rss_kib(&self) -> u64 {
        proc_status(self.pid, "VmRSS:")
    }

    fn threads(&self) -> u64 {
        proc_status(self.pid, "Threads:")
    }
}

// ---------------------------------------------------------------- clients

/// Downloads `path` once; returns (body bytes, seconds).
fn download(addr: SocketAddr, path: &str, icy: bool) -> (u64, f64) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    let icy_header = if icy { "Icy-MetaData: 1\r\n" } else { "" };
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\n{icy_header}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut r = BufReader::with_capacity(256 * 1024, s);
    let len = read_head_length(&mut r);
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while got < len {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n as u64,
        }
    }
    (got, started.elapsed().as_secs_f64())
}

fn read_head_length(r: &mut impl BufRead) -> u64 {
    let mut len = u64::MAX;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            return len;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(u64::MAX);
        }
    }
}

/// Time to the first body byte over a fresh connection, `n` times in a row.
fn ttfb(addr: SocketAddr, path: &str, n: usize) -> Latency {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let mut s = TcpStream::connect(addr).expect("connect");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut r = BufReader::new(s);
        let _ = read_head_length(&mut r);
        let mut one = [0u8; 1];
        let _ = r.read_exact(&mut one);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let _ = std::io::copy(&mut r, &mut std::io::sink());
    }
    times.sort_by(f64::total_cmp);
    Latency {
        p50_ms: times[n / 2],
        p99_ms: times[n * 99 / 100],
    }
}

/// 64 streams read slowly (64 KiB every 50 ms each) for three seconds:
/// peak RSS, peak threads, and `/health` requests per second meanwhile.
fn slow_streams(icy: &Icyproxy) -> (u64, u64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let started_streams = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..SLOW_STREAMS {
        let (stop, started_streams, addr) =
            (Arc::clone(&stop), Arc::clone(&started_streams), icy.addr);
        readers.push(thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(addr) else {
                return;
            };
            let _ = write!(
                s,
                "GET /proxy/{BIG_ID}/ HTTP/1.1\r\nHost: bench\r\nIcy-MetaData: 1\r\n\r\n"
            );
            let mut buf = vec![0u8; 64 * 1024];
            let mut first = true;
            while !stop.load(Ordering::Relaxed) {
                if s.read(&mut buf).unwrap_or(0) == 0 {
                    return;
                }
                if first {
                    started_streams.fetch_add(1, Ordering::SeqCst);
                    first = false;
                }
                thread::sleep(Duration::from_millis(50));
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while started_streams.load(Ordering::SeqCst) < SLOW_STREAMS as u64 && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(20));
    }
    let peak = Arc::new(Mutex::new((0u64, 0u64)));
    let sampler = {
        let (stop, peak, pid) = (Arc::clone(&stop), Arc::clone(&peak), icy.pid);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut p = peak.lock().expect("peak");
                p.0 = p.0.max(proc_status(pid, "VmRSS:"));
                p.1 = p.1.max(proc_status(pid, "Threads:"));
                drop(p);
                thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // /health over one keep-alive connection, as fast as it answers.
    let window = Duration::from_secs(3);
    let started = Instant::now();
    let mut answered = 0u64;
    let mut s = TcpStream::connect(icy.addr).expect("connect");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    while started.elapsed() < window {
        if write!(s, "GET /health HTTP/1.1\r\nHost: bench\r\n\r\n").is_err() {
            break;
        }
        let len = read_head_length(&mut r);
        let mut body = vec![0u8; len.min(4096) as usize];
        if r.read_exact(&mut body).is_err() {
            break;
        }
        answered += 1;
    }
    let rps = answered as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    for t in readers {
        let _ = t.join();
    }
    let _ = sampler.join();
    let p = *peak.lock().expect("peak");
    (p.0, p.1, rps)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

// ---------------------------------------------------------------- report

struct Row {
    name: String,
    mbps: Option<f64>,
    of_direct: Option<f64>,
    cpu_s_per_gb: Option<f64>,
}

#[derive(Clone, Copy)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
}

struct Report {
    origin: String,
    rows: Vec<Row>,
    ttfb_direct: Latency,
    ttfb_icyproxy: Latency,
    idle_rss_kib: u64,
    idle_threads: u64,
    after_load_rss_kib: u64,
    streams_rss_kib: u64,
    streams_threads: u64,
    health_rps_during_streams: f64,
    binary_bytes: u64,
}

impl Report {
    fn print(&self) {
        println!("\nicyproxy benchmark, loopback, origin: {}", self.origin);
        println!(
            "{:<46} {:>9} {:>10} {:>10}",
            "throughput (200 MB, median of 3)", "MB/s", "of direct", "CPU s/GB"
        );
        for r in &self.rows {
            let f = |v: Option<f64>, p: usize| v.map_or("-".to_owned(), |v| format!("{v:.p$}"));
            println!(
                "{:<46} {:>9} {:>10} {:>10}",
                r.name,
                f(r.mbps, 0),
                f(r.of_direct, 2),
                f(r.cpu_s_per_gb, 2)
            );
        }
        let (d, i) = (self.ttfb_direct, self.ttfb_icyproxy);
        println!(
            "first byte, {TTFB_REQUESTS} fresh connections: direct p50 {:.3} ms p99 {:.3} ms; icyproxy p50 {:.3} ms p99 {:.3} ms; added p50 {:.3} ms",
            d.p50_ms,
            d.p99_ms,
            i.p50_ms,
            i.p99_ms,
            i.p50_ms - d.p50_ms
        );
        println!(
            "memory: idle RSS after start {:.1} MB ({} threads, {} stream workers); after the throughput rounds {:.1} MB; {SLOW_STREAMS} slow streams: peak RSS {:.1} MB ({} threads)",
            self.idle_rss_kib as f64 / 1024.0,
            self.idle_threads,
            SLOW_STREAMS + 4,
            self.after_load_rss_kib as f64 / 1024.0,
            self.streams_rss_kib as f64 / 1024.0,
            self.streams_threads
        );
        println!(
            "/health while {SLOW_STREAMS} streams run: {:.0} requests/s",
            self.health_rps_during_streams
        );
        println!("release binary: {:.2} MB", self.binary_bytes as f64 / 1e6);
    }

    fn write_json(&self) {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name, "mb_per_s": r.mbps, "of_direct": r.of_direct,
                    "cpu_s_per_gb": r.cpu_s_per_gb,
                })
            })
            .collect();
        let json = serde_json::json!({
            "origin": self.origin,
            "throughput": rows,
            "ttfb_ms": {
                "direct": {"p50": self.ttfb_direct.p50_ms, "p99": self.ttfb_direct.p99_ms},
                "icyproxy": {"p50": self.ttfb_icyproxy.p50_ms, "p99": self.ttfb_icyproxy.p99_ms},
                "added_p50": self.ttfb_icyproxy.p50_ms - self.ttfb_direct.p50_ms,
            },
            "memory_kib": {
                "idle_rss": self.idle_rss_kib, "idle_threads": self.idle_threads,
                "after_throughput_rss": self.after_load_rss_kib,
                "streams": SLOW_STREAMS, "streams_peak_rss": self.streams_rss_kib,
                "streams_peak_threads": self.streams_threads,
            },
            "health_rps_during_streams": self.health_rps_during_streams,
            "release_binary_bytes": self.binary_bytes,
        });
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("results.json");
        match serde_json::to_string_pretty(&json).map(|t| std::fs::write(&path, t)) {
            Ok(Ok(())) => println!("written: {}", path.display()),
            _ => eprintln!("could not write {}", path.display()),
        }
    }
}
