//! `cargo bench`: icyproxy against a direct download and against the best
//! general-purpose proxies, all on loopback in one run, so every figure is
//! a ratio against a baseline measured minutes apart at most.
//!
//! Rows: direct from the origin; icyproxy plain and with `Icy-MetaData: 1`;
//! nginx (`proxy_buffering off` with default and 64k buffers, and
//! `proxy_buffering on`); HAProxy (`mode http`, one thread, splice-auto).
//! Then the same proxies in front of an HTTPS origin (nginx with a
//! certificate from a CA made at bench time), each checking that
//! certificate: icyproxy with `[upstream] ca_file`, nginx with
//! `proxy_ssl_verify on`, HAProxy with `ssl verify required`. The client
//! always speaks plain HTTP to the proxy.
//! A peer that is not installed is a row that says "skipped". Prints one
//! table and writes it as JSON to `target/bench/results.json`.
//!
//! Not a test: nothing here asserts a timing; the targets are printed
//! beside the figures, met or not.

/// The test helpers (only `proc_status` is used here).
#[path = "../tests/it/common/mod.rs"]
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

mod support;
use support::{download, read_head_length};

const BIG_BYTES: usize = 200 * 1024 * 1024;
const SMALL_BYTES: usize = 64 * 1024;
const ROUNDS: usize = 3;
const TTFB_REQUESTS: usize = 1000;
const SLOW_STREAMS: usize = 64;
const BIG_ID: &str = "benchBig001";
const SMALL_ID: &str = "benchSmall1";
const TLS_BIG_ID: &str = "benchTlsBig";
const TLS_SMALL_ID: &str = "benchTlsSml";

/// Row names; the summary finds rows by name (a skipped row's name has a
/// suffix, so it is never found).
const ICY_ROW: &str = "icyproxy";
const NGINX_64K_ROW: &str = "nginx proxy_buffering off, 64k buffers";
const ICY_TLS_ROW: &str = "icyproxy, HTTPS origin";
const NGINX_TLS_ROW: &str = "nginx proxy_pass https://, 64k buffers";
const HAPROXY_TLS_ROW: &str = "haproxy ssl verify required";

/// Targets from issue 14, printed beside the figures.
const TARGET_TLS_STREAM_KB: f64 = 200.0;

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
    let tls = TlsFiles::make(dir.path());
    let tls_origin = start_tls_origin(dir.path(), &root, &tls);
    match &tls_origin {
        Some(o) => eprintln!("HTTPS origin: nginx on {}", o.addr),
        None => eprintln!("HTTPS origin: none (nginx not installed)"),
    }

    let icy = Icyproxy::start(
        dir.path(),
        "plain",
        &[
            (BIG_ID, format!("http://{origin_addr}/big.bin")),
            (SMALL_ID, format!("http://{origin_addr}/small.bin")),
        ],
        None,
    );
    // Idle RSS as the spec asks: right after start, before any stream.
    let idle_rss = icy.rss_kib();
    let idle_threads = icy.threads();
    // A second process for the HTTPS origin, so its slow streams start
    // from memory no plain stream has touched: in one process the
    // allocator would hand the plain streams' freed pages to the HTTPS
    // ones and the per-stream figure would come out too small.
    let icy_tls = tls_origin.as_ref().map(|o| {
        Icyproxy::start(
            dir.path(),
            "tls",
            &[
                (TLS_BIG_ID, format!("https://{}/big.bin", o.addr)),
                (TLS_SMALL_ID, format!("https://{}/small.bin", o.addr)),
            ],
            Some(&tls.ca),
        )
    });
    let idle_rss_tls = icy_tls.as_ref().map(Icyproxy::rss_kib);

    let mut peers: Vec<(String, Option<Peer>)> = vec![
        ("direct (origin)".into(), Some(Peer::direct(origin_addr))),
        (ICY_ROW.into(), Some(icy.peer(BIG_ID, false))),
        (
            "icyproxy, Icy-MetaData: 1".into(),
            Some(icy.peer(BIG_ID, true)),
        ),
    ];
    for (name, extra) in NGINX_PEERS {
        peers.push((
            name.to_string(),
            nginx_proxy(dir.path(), name, extra, "http", origin_addr),
        ));
    }
    peers.push((
        "haproxy 1 thread, splice-auto".into(),
        haproxy(dir.path(), "plain", origin_addr, ""),
    ));
    peers.extend(tls_peers(
        dir.path(),
        tls_origin.as_ref(),
        icy_tls.as_ref(),
        &tls,
    ));

    let rows = throughput_rows(&peers);

    // First-byte latency: fresh connections, one after another.
    let direct_ttfb = ttfb(origin_addr, "/small.bin", TTFB_REQUESTS);
    let icy_ttfb = ttfb(icy.addr, &format!("/proxy/{SMALL_ID}/"), TTFB_REQUESTS);
    // Also gives the HTTPS process the same history as the plain one
    // before its slow streams (every worker has served requests), so the
    // two per-stream figures start from the same kind of state.
    let icy_tls_ttfb = icy_tls
        .as_ref()
        .map(|i| ttfb(i.addr, &format!("/proxy/{TLS_SMALL_ID}/"), TTFB_REQUESTS));

    // Memory and concurrency.
    let after_load_rss = icy.rss_kib();
    let streams = slow_streams(&icy, BIG_ID);
    let tls_streams = icy_tls.as_ref().map(|i| slow_streams(i, TLS_BIG_ID));

    let binary_bytes = std::fs::metadata(env!("CARGO_BIN_EXE_icyproxy")).map_or(0, |m| m.len());
    let report = Report {
        origin: origin_kind.into(),
        rows,
        ttfb_direct: direct_ttfb,
        ttfb_icyproxy: icy_ttfb,
        ttfb_icyproxy_tls: icy_tls_ttfb,
        idle_rss_kib: idle_rss,
        idle_threads,
        idle_rss_tls_kib: idle_rss_tls,
        after_load_rss_kib: after_load_rss,
        streams,
        tls_streams,
        binary_bytes,
    };
    report.print();
    report.write_json();
    drop(peers);
    drop(icy_tls);
    drop(icy);
    drop(tls_origin);
    drop(origin);
}

/// The rows in front of the HTTPS origin, each verifying its certificate
/// against the bench CA; all skipped without an HTTPS origin.
fn tls_peers(
    dir: &Path,
    origin: Option<&Origin>,
    icy: Option<&Icyproxy>,
    tls: &TlsFiles,
) -> Vec<(String, Option<Peer>)> {
    let nginx_extra = format!(
        "{NGINX_64K} proxy_ssl_verify on; proxy_ssl_trusted_certificate {}; proxy_ssl_name 127.0.0.1;",
        tls.ca.display()
    );
    let haproxy_opts = format!("ssl verify required ca-file {}", tls.ca.display());
    vec![
        (ICY_TLS_ROW.into(), icy.map(|i| i.peer(TLS_BIG_ID, false))),
        (
            NGINX_TLS_ROW.into(),
            origin.and_then(|o| nginx_proxy(dir, NGINX_TLS_ROW, &nginx_extra, "https", o.addr)),
        ),
        (
            HAPROXY_TLS_ROW.into(),
            origin.and_then(|o| haproxy(dir, "tls", o.addr, &haproxy_opts)),
        ),
    ]
}

/// Throughput and CPU: every row downloads the big file once per round,
/// the rows alternating, ROUNDS times; the median of each row is kept.
fn throughput_rows(peers: &[(String, Option<Peer>)]) -> Vec<Row> {
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
    let mut rows = Vec::new();
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
    rows
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
        // Honoured as nginx does: the ttfb loop reads each answer to EOF.
        let mut close = false;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            close |= h.trim().eq_ignore_ascii_case("connection: close");
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                let (a, b) = v.trim().split_once('-').unwrap_or(("0", ""));
                range = Some((a.parse::<u64>().unwrap_or(0), b.parse::<u64>().ok()));
            }
        }
        let Ok(mut file) = std::fs::File::open(root.join(path.trim_start_matches('/'))) else {
            let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            if close {
                return;
            }
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
        if std::io::copy(&mut (&mut file).take(end - start), &mut out).is_err() || close {
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

// ---------------------------------------------------------------- TLS origin

/// A test CA and a leaf for 127.0.0.1 signed by it, as PEM files: made at
/// bench time, so nothing that expires or must stay secret is committed.
struct TlsFiles {
    /// What the proxies trust: icyproxy's `[upstream] ca_file`, nginx's
    /// `proxy_ssl_trusted_certificate`, HAProxy's `ca-file`.
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    fn make(dir: &Path) -> TlsFiles {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "icyproxy bench CA");
        let ca_pem = ca_params.self_signed(&ca_key).expect("CA cert").pem();

        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        // "127.0.0.1" becomes an IP address SAN, which is what rustls
        // checks. nginx checks names with X509_check_host, which reads DNS
        // SANs and, when there are none, the CN, but never IP SANs: hence
        // the same name as CN.
        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).expect("leaf params");
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let leaf_pem = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("leaf cert")
            .pem();

        let tls_dir = dir.join("tls");
        std::fs::create_dir_all(&tls_dir).expect("tls dir");
        let files = TlsFiles {
            ca: tls_dir.join("ca.pem"),
            cert: tls_dir.join("leaf.pem"),
            key: tls_dir.join("leaf.key"),
        };
        std::fs::write(&files.ca, ca_pem).expect("write CA");
        std::fs::write(&files.cert, leaf_pem).expect("write leaf");
        std::fs::write(&files.key, leaf_key.serialize_pem()).expect("write leaf key");
        files
    }
}

/// nginx serving the same files over HTTPS, or `None` without nginx (the
/// HTTPS rows are then skipped). Its `sendfile on` does not apply over TLS
/// (no kernel TLS here): it reads and encrypts in user space.
fn start_tls_origin(dir: &Path, root: &Path, tls: &TlsFiles) -> Option<Origin> {
    let nginx = have("nginx")?;
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = format!(
        "server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {}; ssl_certificate_key {}; \
         root {}; location / {{ }} }}",
        tls.cert.display(),
        tls.key.display(),
        root.display()
    );
    let p = run_nginx(&nginx, dir, "origin-tls", &server)?;
    wait_listening(addr).then_some(Origin {
        addr,
        _proc: Some(p),
    })
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

/// The 64k-buffer settings: the nginx row icyproxy is compared with, over
/// plain HTTP and over HTTPS.
const NGINX_64K: &str = "proxy_buffering off; proxy_buffer_size 64k; proxy_buffers 4 64k; proxy_busy_buffers_size 128k;";

const NGINX_PEERS: [(&str, &str); 3] = [
    (
        "nginx proxy_buffering off (default 4k/8k)",
        "proxy_buffering off;",
    ),
    (NGINX_64K_ROW, NGINX_64K),
    (
        "nginx proxy_buffering on, 16x64k",
        "proxy_buffering on; proxy_buffers 16 64k; proxy_max_temp_file_size 0;",
    ),
];

/// nginx proxying to `origin` over `scheme` (`http` or `https`), with
/// keep-alive upstream connections and `extra` in the location.
fn nginx_proxy(
    dir: &Path,
    name: &str,
    extra: &str,
    scheme: &str,
    origin: SocketAddr,
) -> Option<Peer> {
    let nginx = have("nginx")?;
    let port = free_port();
    let tag: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let body = format!(
        "upstream o {{ server {origin}; keepalive 8; }}\n server {{ listen 127.0.0.1:{port};\n \
         location / {{ proxy_pass {scheme}://o; proxy_http_version 1.1; proxy_set_header Connection \"\"; {extra} }} }}"
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

/// HAProxy, one thread, in front of `origin`; `server_opts` follow the
/// server's address (`ssl verify required ca-file ...` for HTTPS).
fn haproxy(dir: &Path, name: &str, origin: SocketAddr, server_opts: &str) -> Option<Peer> {
    let haproxy = have("haproxy")?;
    let port = free_port();
    let conf = format!(
        "global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  \
         timeout client 60s\n  timeout server 60s\n  option splice-auto\n\
         frontend f\n  bind 127.0.0.1:{port}\n  default_backend b\nbackend b\n  server o {origin} {server_opts}\n"
    );
    let path = dir.join(format!("haproxy-{name}.cfg"));
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
    /// The real binary with its own `{name}.toml` and database holding
    /// `tracks` (id, upstream URL); `ca_file` becomes `[upstream] ca_file`.
    fn start(
        dir: &Path,
        name: &str,
        tracks: &[(&str, String)],
        ca_file: Option<&Path>,
    ) -> Icyproxy {
        let port = free_port();
        let config = dir.join(format!("{name}.toml"));
        let upstream = ca_file.map_or(String::new(), |p| {
            format!("[upstream]\nca_file = \"{}\"\n", p.display())
        });
        std::fs::write(
            &config,
            format!(
                "[server]\nport = {port}\nworkers = {}\n[store]\npath = \"{name}.db\"\n[resolver]\ncommand = []\n[mpd]\naddress = \"\"\n{upstream}",
                SLOW_STREAMS + 4
            ),
        )
        .expect("config");
        let bin = env!("CARGO_BIN_EXE_icyproxy");
        for (id, url) in tracks {
            let title = url.rsplit('/').next().unwrap_or(id);
            let ok = Command::new(bin)
                .args(["--config", config.to_str().expect("utf8"), "add", id])
                .args(["--url", url, "--artist", "Bench", "--title", title])
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

    fn peer(&self, id: &str, icy: bool) -> Peer {
        Peer {
            addr: self.addr,
            big_path: format!("/proxy/{id}/"),
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

/// What [`slow_streams`] saw.
#[derive(Clone, Copy)]
struct Streams {
    /// RSS just before the first stream connects.
    before_rss_kib: u64,
    peak_rss_kib: u64,
    peak_threads: u64,
    health_rps: f64,
}

impl Streams {
    /// What one stream adds to RSS, in KB (1000 bytes): the figure the
    /// target is about.
    fn per_stream_kb(&self) -> f64 {
        self.kb_per_stream_from(self.before_rss_kib)
    }

    /// The peak's growth over `from_kib` (idle, say) per stream, in KB:
    /// counts what the first requests leave behind too (allocator arenas,
    /// touched stack pages), so it is the pessimistic figure.
    fn kb_per_stream_from(&self, from_kib: u64) -> f64 {
        self.peak_rss_kib.saturating_sub(from_kib) as f64 * 1.024 / SLOW_STREAMS as f64
    }
}

/// 64 streams of track `id` read slowly (64 KiB every 50 ms each) for
/// three seconds: RSS before them, peak RSS and threads, and `/health`
/// requests per second meanwhile.
fn slow_streams(icy: &Icyproxy, id: &str) -> Streams {
    let before_rss_kib = icy.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let started_streams = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..SLOW_STREAMS {
        let (stop, started_streams, addr) =
            (Arc::clone(&stop), Arc::clone(&started_streams), icy.addr);
        let request =
            format!("GET /proxy/{id}/ HTTP/1.1\r\nHost: bench\r\nIcy-MetaData: 1\r\n\r\n");
        readers.push(thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(addr) else {
                return;
            };
            let _ = s.write_all(request.as_bytes());
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
    Streams {
        before_rss_kib,
        peak_rss_kib: p.0,
        peak_threads: p.1,
        health_rps: rps,
    }
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
    /// Through the HTTPS-origin process, whose upstream is nginx over TLS.
    ttfb_icyproxy_tls: Option<Latency>,
    idle_rss_kib: u64,
    idle_threads: u64,
    /// The HTTPS-origin process (with `ca_file`) right after start.
    idle_rss_tls_kib: Option<u64>,
    after_load_rss_kib: u64,
    streams: Streams,
    tls_streams: Option<Streams>,
    binary_bytes: u64,
}

/// icyproxy's row against nginx's: throughput and CPU per GB as ratios.
#[derive(Clone, Copy)]
struct VsNginx {
    mbps_ratio: f64,
    cpu_ratio: f64,
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "not met" }
}

impl Report {
    /// A measured row (a skipped row's name carries a suffix, so it is
    /// never found).
    fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    fn vs(&self, icy: &str, nginx: &str) -> Option<VsNginx> {
        let (i, n) = (self.row(icy)?, self.row(nginx)?);
        Some(VsNginx {
            mbps_ratio: i.mbps? / n.mbps?,
            cpu_ratio: i.cpu_s_per_gb? / n.cpu_s_per_gb?,
        })
    }

    /// CPU s/GB of icyproxy and of nginx, both over HTTPS, and whether
    /// icyproxy's is at most nginx's. Both are whole clock ticks summed
    /// from /proc, so a difference far below one tick is float rounding:
    /// level counts as met.
    fn tls_cpu(&self) -> Option<(f64, f64, bool)> {
        let icy = self.row(ICY_TLS_ROW)?.cpu_s_per_gb?;
        let nginx = self.row(NGINX_TLS_ROW)?.cpu_s_per_gb?;
        Some((icy, nginx, icy <= nginx + 1e-6))
    }

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
        // One clock tick per round is the resolution of every CPU figure:
        // rows a tick or two apart are level.
        let tick = 1.0 / clock_ticks();
        println!(
            "CPU: user + system of the proxy's processes, counted in {:.0} ms ticks: {:.3} s/GB per round",
            tick * 1000.0,
            tick / (BIG_BYTES as f64 / 1e9)
        );
        let vs = |v: Option<VsNginx>| {
            v.map_or("not measured".to_owned(), |v| {
                format!(
                    "{:.2}x the MB/s at {:.2}x the CPU per GB",
                    v.mbps_ratio, v.cpu_ratio
                )
            })
        };
        println!(
            "icyproxy / nginx 64k buffers: plain HTTP {}; HTTPS origin {}",
            vs(self.vs(ICY_ROW, NGINX_64K_ROW)),
            vs(self.vs(ICY_TLS_ROW, NGINX_TLS_ROW))
        );
        match self.tls_cpu() {
            Some((i, n, ok)) => println!(
                "target: icyproxy CPU over HTTPS <= nginx's: {i:.2} vs {n:.2} s/GB: {}",
                met(ok)
            ),
            None => println!("target: icyproxy CPU over HTTPS <= nginx's: not measured"),
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
        if let Some(t) = self.ttfb_icyproxy_tls {
            println!(
                "first byte through icyproxy from the HTTPS origin: p50 {:.3} ms p99 {:.3} ms",
                t.p50_ms, t.p99_ms
            );
        }
        let mb = |kib: u64| kib as f64 / 1024.0;
        println!(
            "memory: idle RSS after start {:.1} MB ({} threads, {} stream workers); after the throughput rounds {:.1} MB",
            mb(self.idle_rss_kib),
            self.idle_threads,
            SLOW_STREAMS + 4,
            mb(self.after_load_rss_kib),
        );
        let st = self.streams;
        println!(
            "{SLOW_STREAMS} slow plain streams: RSS {:.1} MB before, peak {:.1} MB ({} threads): {:.0} KB per stream (from idle {:.0} KB); /health {:.0} requests/s meanwhile",
            mb(st.before_rss_kib),
            mb(st.peak_rss_kib),
            st.peak_threads,
            st.per_stream_kb(),
            st.kb_per_stream_from(self.idle_rss_kib),
            st.health_rps
        );
        match (self.tls_streams, self.idle_rss_tls_kib) {
            (Some(t), Some(idle)) => println!(
                "{SLOW_STREAMS} slow HTTPS streams (second process, idle {:.1} MB): RSS {:.1} MB before, peak {:.1} MB ({} threads): {:.0} KB per stream (from idle {:.0} KB; target <= {TARGET_TLS_STREAM_KB:.0} KB: {})",
                mb(idle),
                mb(t.before_rss_kib),
                mb(t.peak_rss_kib),
                t.peak_threads,
                t.per_stream_kb(),
                t.kb_per_stream_from(idle),
                met(t.per_stream_kb() <= TARGET_TLS_STREAM_KB)
            ),
            _ => println!("{SLOW_STREAMS} slow HTTPS streams: skipped (no HTTPS origin)"),
        }
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
        let vs = |v: Option<VsNginx>| {
            v.map(|v| serde_json::json!({"mb_per_s_ratio": v.mbps_ratio, "cpu_ratio": v.cpu_ratio}))
        };
        let streams = |s: Streams, idle: u64| {
            serde_json::json!({
                "idle_rss_kib": idle,
                "before_rss_kib": s.before_rss_kib, "peak_rss_kib": s.peak_rss_kib,
                "peak_threads": s.peak_threads, "per_stream_kb": s.per_stream_kb(),
                "per_stream_kb_from_idle": s.kb_per_stream_from(idle),
                "health_rps": s.health_rps,
            })
        };
        let st = self.streams;
        let json = serde_json::json!({
            "origin": self.origin,
            "throughput": rows,
            "icyproxy_vs_nginx_64k": {
                "plain": vs(self.vs(ICY_ROW, NGINX_64K_ROW)),
                "https": vs(self.vs(ICY_TLS_ROW, NGINX_TLS_ROW)),
            },
            "ttfb_ms": {
                "direct": {"p50": self.ttfb_direct.p50_ms, "p99": self.ttfb_direct.p99_ms},
                "icyproxy": {"p50": self.ttfb_icyproxy.p50_ms, "p99": self.ttfb_icyproxy.p99_ms},
                "added_p50": self.ttfb_icyproxy.p50_ms - self.ttfb_direct.p50_ms,
                "icyproxy_https_origin": self.ttfb_icyproxy_tls.map(|t| serde_json::json!({
                    "p50": t.p50_ms, "p99": t.p99_ms,
                })),
            },
            "memory_kib": {
                "idle_rss": self.idle_rss_kib, "idle_threads": self.idle_threads,
                "after_throughput_rss": self.after_load_rss_kib,
                "streams": SLOW_STREAMS, "streams_peak_rss": st.peak_rss_kib,
                "streams_peak_threads": st.peak_threads,
                "https_idle_rss": self.idle_rss_tls_kib,
            },
            "slow_streams": {
                "count": SLOW_STREAMS,
                "plain": streams(st, self.idle_rss_kib),
                "https": self.tls_streams.zip(self.idle_rss_tls_kib).map(|(t, idle)| streams(t, idle)),
            },
            "targets": {
                "https_cpu_s_per_gb_le_nginx": self.tls_cpu().map(|(i, n, ok)| serde_json::json!({
                    "icyproxy": i, "nginx": n, "met": ok,
                })),
                "https_stream_kb_le_200": self.tls_streams.map(|t| serde_json::json!({
                    "kb": t.per_stream_kb(), "met": t.per_stream_kb() <= TARGET_TLS_STREAM_KB,
                })),
            },
            "health_rps_during_streams": st.health_rps,
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
