//! `cargo bench --bench cache`: a song from the audio cache against the
//! same song streamed from its stored URL, and against the origin itself,
//! all on loopback in one run, so every figure is a ratio against a
//! baseline measured moments apart.
//!
//! Rows (100 MB, median of 3 rounds, rows alternating): the origin direct
//! (an in-process file server, `sendfile` through `io::copy`); icyproxy
//! streaming the stored URL (its cache off), plain and with
//! `Icy-MetaData: 1`; icyproxy from its cache, `?icy=0` (the kernel's
//! `sendfile`) and with `Icy-MetaData: 1`. MB/s (the median of 3 rounds),
//! and icyproxy's CPU seconds per GB over 1 GB more of each row (the
//! kernel counts CPU in 10 ms ticks: one 100 MB round is 3 or 4 of them).
//! Then first-byte latency of a 64 KiB song, streamed and from the
//! cache, beside the server's own floor (a `404`, which touches neither
//! the store nor a file): the cache cannot come under that floor, so the
//! ratio against a loopback origin is bounded by it. Prints one table and
//! writes it as JSON to `target/bench/cache.json`.
//!
//! Not a test: nothing here asserts a timing; the targets of issue 31 are
//! printed beside the figures, met or not.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod support;
use support::{download, read_head_length};

const BIG_BYTES: usize = 100 * 1024 * 1024;
const SMALL_BYTES: usize = 64 * 1024;
const ROUNDS: usize = 3;
const TTFB_REQUESTS: usize = 300;
/// Downloads of the 100 MB song per row for its CPU figure (1 GB), in two
/// passes over the rows.
const CPU_DOWNLOADS: usize = 10;
const BIG_ID: &str = "benchCache1";
const SMALL_ID: &str = "benchCache2";

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).expect("www");
    write_file(&root.join("big.bin"), BIG_BYTES);
    write_file(&root.join("small.bin"), SMALL_BYTES);
    let origin = start_origin(&root);
    let streamed = Icyproxy::start(dir.path(), "streamed", origin, "max_mb = 0");
    let cached = Icyproxy::start(
        dir.path(),
        "cached",
        origin,
        "max_mb = 1024\nmin_free_mb = 0",
    );
    // One play each, to its end: kept from now on.
    for id in [BIG_ID, SMALL_ID] {
        download(cached.addr, &format!("/proxy/{id}/"), false);
    }
    assert!(
        wait_for(|| cached.dir.join(format!("{BIG_ID}.audio")).exists()
            && cached.dir.join(format!("{SMALL_ID}.audio")).exists()),
        "the bench songs were not kept"
    );
    let big = format!("/proxy/{BIG_ID}/");
    let peers = [
        (
            "direct (origin)",
            origin,
            "/big.bin".to_owned(),
            false,
            None,
        ),
        (
            "icyproxy, stored URL",
            streamed.addr,
            big.clone(),
            false,
            Some(streamed.pid),
        ),
        (
            "icyproxy, stored URL, Icy-MetaData: 1",
            streamed.addr,
            big.clone(),
            true,
            Some(streamed.pid),
        ),
        (
            "icyproxy, cache, ?icy=0 (sendfile)",
            cached.addr,
            format!("{big}?icy=0"),
            false,
            Some(cached.pid),
        ),
        (
            "icyproxy, cache, Icy-MetaData: 1",
            cached.addr,
            big,
            true,
            Some(cached.pid),
        ),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
    for round in 0..ROUNDS {
        for (i, (name, addr, path, icy, _)) in peers.iter().enumerate() {
            let (bytes, secs) = download(*addr, path, *icy);
            let mbps = bytes as f64 / secs / 1e6;
            eprintln!("round {round}: {name}: {mbps:.0} MB/s");
            samples[i].push(mbps);
        }
    }
    // CPU seconds and bytes per row, the rows alternating.
    let mut cpu = vec![(0.0, 0u64); peers.len()];
    for _ in 0..2 {
        for (i, (_, addr, path, icy, pid)) in peers.iter().enumerate() {
            let Some(pid) = pid else { continue };
            let Some(before) = cpu_seconds(*pid) else {
                continue;
            };
            for _ in 0..CPU_DOWNLOADS / 2 {
                cpu[i].1 += download(*addr, path, *icy).0;
            }
            cpu[i].0 += cpu_seconds(*pid).map_or(f64::NAN, |after| after - before);
        }
    }
    let rows: Vec<(String, f64, Option<f64>)> = peers
        .iter()
        .zip(samples)
        .zip(cpu)
        .map(|(((name, ..), mbps), (secs, bytes))| {
            let per_gb = (bytes > 0).then(|| secs / (bytes as f64 / 1e9));
            ((*name).to_owned(), median(mbps), per_gb)
        })
        .collect();
    let ttfb = Ttfb {
        streamed: ttfb(streamed.addr, &format!("/proxy/{SMALL_ID}/")),
        cached: ttfb(cached.addr, &format!("/proxy/{SMALL_ID}/")),
        floor: ttfb(cached.addr, "/no-such-page"),
    };
    report(&rows, &ttfb);
}

/// Median first-byte times, in ms.
struct Ttfb {
    streamed: f64,
    cached: f64,
    /// A `404` of the same server: accept, route, answer.
    floor: f64,
}

fn report(rows: &[(String, f64, Option<f64>)], ttfb: &Ttfb) {
    let (ttfb_streamed, ttfb_cached) = (ttfb.streamed, ttfb.cached);
    let direct = rows[0].1;
    println!(
        "\n{:<42} {:>9} {:>10} {:>10}",
        "", "MB/s", "of direct", "CPU s/GB"
    );
    for (name, mbps, cpu) in rows {
        let cpu = cpu.map_or("-".to_owned(), |c| format!("{c:.2}"));
        println!("{name:<42} {mbps:>9.0} {:>9.2}x {cpu:>10}", mbps / direct);
    }
    println!("\nfirst byte, 64 KiB song (median of {TTFB_REQUESTS}, fresh connections):");
    println!(
        "  stored URL {ttfb_streamed:.3} ms, cache {ttfb_cached:.3} ms ({:.2}x)",
        ttfb_cached / ttfb_streamed
    );
    println!(
        "  the server's floor (a 404) {:.3} ms: above it, the cache {:.3} ms, the stored URL {:.3} ms",
        ttfb.floor,
        ttfb_cached - ttfb.floor,
        ttfb_streamed - ttfb.floor
    );
    let cpu = |i: usize| rows[i].2.unwrap_or(f64::NAN);
    println!("\ntargets (issue 31):");
    println!(
        "  first byte from the cache <= 0.5x the stored URL's: {:.2}x",
        ttfb_cached / ttfb_streamed
    );
    println!(
        "  ?icy=0 from the cache >= the direct origin's MB/s: {:.2}x",
        rows[3].1 / direct
    );
    println!(
        "  CPU s/GB from the cache below streaming: plain {:.2} vs {:.2}, with blocks {:.2} vs {:.2}",
        cpu(3),
        cpu(1),
        cpu(4),
        cpu(2)
    );
    let json = serde_json::json!({
        "rows": rows.iter().map(|(name, mbps, cpu)| serde_json::json!({
            "name": name, "mb_per_s": mbps, "of_direct": mbps / direct, "cpu_s_per_gb": cpu,
        })).collect::<Vec<_>>(),
        "ttfb_ms": {"stored_url": ttfb_streamed, "cache": ttfb_cached, "floor_404": ttfb.floor},
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("cache.json"), json.to_string());
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn wait_for(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// An in-process origin: files of `root`, single ranges honoured, the
/// body by `io::copy` (sendfile on Linux).
fn start_origin(root: &Path) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind origin");
    let addr = listener.local_addr().expect("addr");
    let root = root.to_owned();
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let root = root.clone();
            thread::spawn(move || serve_file(conn, &root));
        }
    });
    addr
}

fn serve_file(conn: TcpStream, root: &Path) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut r = BufReader::new(read_half);
    let mut out = conn;
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
        let _ = out
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let (start, end) = match range {
        Some((a, b)) => (a, b.map_or(len, |b| (b + 1).min(len))),
        None => (0, len),
    };
    let status = match range {
        Some(_) => format!(
            "206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}",
            end - 1
        ),
        None => "200 OK".to_owned(),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nAccept-Ranges: bytes\r\nContent-Type: audio/webm\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        end - start
    );
    if out.write_all(head.as_bytes()).is_err() || file.seek(SeekFrom::Start(start)).is_err() {
        return;
    }
    let _ = std::io::copy(&mut (&mut file).take(end - start), &mut out);
}

/// The real binary with its own config, database and `[cache]`.
struct Icyproxy {
    addr: SocketAddr,
    pid: u32,
    dir: std::path::PathBuf,
    child: Child,
}

impl Drop for Icyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Icyproxy {
    fn start(dir: &Path, name: &str, origin: SocketAddr, cache: &str) -> Icyproxy {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let config = dir.join(format!("{name}.toml"));
        let audio = dir.join(format!("{name}-audio"));
        std::fs::write(
            &config,
            format!(
                "[server]\nport = {port}\n[store]\npath = \"{name}.db\"\n[resolver]\ncommand = []\n\
                 [mpd]\naddress = \"\"\n[cache]\ndir = {:?}\n{cache}\n",
                audio.display().to_string()
            ),
        )
        .expect("config");
        let bin = env!("CARGO_BIN_EXE_icyproxy");
        for (id, file) in [(BIG_ID, "big.bin"), (SMALL_ID, "small.bin")] {
            let url = format!("http://{origin}/{file}");
            let ok = Command::new(bin)
                .args(["--config", config.to_str().expect("utf8"), "add", id])
                .args(["--url", &url, "--artist", "Bench", "--title", file])
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
        assert!(
            wait_for(|| TcpStream::connect(addr).is_ok()),
            "icyproxy did not start"
        );
        Icyproxy {
            addr,
            pid: child.id(),
            dir: audio,
            child,
        }
    }
}

/// The median time to the first body byte over fresh connections, in ms.
fn ttfb(addr: SocketAddr, path: &str) -> f64 {
    let mut times = Vec::with_capacity(TTFB_REQUESTS);
    for _ in 0..TTFB_REQUESTS {
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
    median(times)
}

/// CPU seconds (user + system) of `pid`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().ok()? + f[12].parse::<f64>().ok()?;
    Some(ticks / clock_ticks())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
