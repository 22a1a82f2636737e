//! `cargo bench --bench front`: the front door's cost over MPD itself, in
//! the same run: `status` round trips (p50, p99) and a 10,000-song
//! `listallinfo` (MB/s), each straight to MPD and through the front door,
//! interleaved. Targets: relayed `status` p50 within 0.3 ms of direct,
//! `listallinfo` at 0.9x direct or better. Needs `mpd`; skipped without.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::Proxy;
use common::mpd::{Mpd, have};
use common::music_files::synthetic;

const SONGS: usize = 10_000;
const ROUND_TRIPS: usize = 2_000;
const LISTINGS: usize = 7;

fn main() {
    if !have("mpd") {
        println!("front: skipped (mpd is not installed: apt-get install mpd)");
        return;
    }
    let mpd = Mpd::with_library(&synthetic(SONGS), "");
    let proxy = Proxy::start_with(&format!(
        "[mpd]\naddress = {:?}\nwarm_ahead = 0\n[front]\nlisten = \"127.0.0.1:0\"\n",
        mpd.address()
    ));
    let direct_addr: SocketAddr = mpd.address().parse().expect("address");
    let front_addr = proxy.front();
    let mut direct = Client::connect(direct_addr);
    let mut front = Client::connect(front_addr);

    let (mut d, mut f) = (Vec::new(), Vec::new());
    for _ in 0..ROUND_TRIPS {
        d.push(direct.timed("status").0);
        f.push(front.timed("status").0);
    }
    let (d50, d99) = percentiles(&mut d);
    let (f50, f99) = percentiles(&mut f);
    println!("status, {ROUND_TRIPS} round trips each, interleaved:");
    println!(
        "  direct        p50 {:>7.1} us  p99 {:>7.1} us",
        us(d50),
        us(d99)
    );
    println!(
        "  front door    p50 {:>7.1} us  p99 {:>7.1} us",
        us(f50),
        us(f99)
    );
    println!(
        "  p50 difference {:.3} ms (target <= 0.3 ms)",
        (f50.as_secs_f64() - d50.as_secs_f64()) * 1e3
    );

    let (mut dt, mut ft, mut bytes) = (Vec::new(), Vec::new(), 0);
    for _ in 0..LISTINGS {
        let (took, n) = direct.timed("listallinfo");
        dt.push(took);
        bytes = n;
        let (took, n) = front.timed("listallinfo");
        assert_eq!(n, bytes, "the same answer through the front door");
        ft.push(took);
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let mbs = |t: Duration| bytes as f64 / 1e6 / t.as_secs_f64();
    let (db, fb) = (best(&dt), best(&ft));
    println!(
        "listallinfo of {SONGS} songs ({:.1} MB), best of {LISTINGS}:",
        bytes as f64 / 1e6
    );
    println!("  direct       {:>7.1} ms  {:>7.1} MB/s", ms(db), mbs(db));
    println!("  front door   {:>7.1} ms  {:>7.1} MB/s", ms(fb), mbs(fb));
    println!(
        "  front door throughput {:.2}x direct (target >= 0.9x)",
        db.as_secs_f64() / fb.as_secs_f64()
    );
}

struct Client {
    r: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let mut r = BufReader::with_capacity(64 << 10, s);
        let mut greeting = String::new();
        r.read_line(&mut greeting).expect("greeting");
        assert!(greeting.starts_with("OK MPD"), "{greeting}");
        Client { r }
    }

    /// Sends `command`; the time to its whole answer, and the answer's bytes.
    fn timed(&mut self, command: &str) -> (Duration, usize) {
        let started = Instant::now();
        self.r
            .get_mut()
            .write_all(format!("{command}\n").as_bytes())
            .expect("send");
        let mut bytes = 0;
        let mut line = Vec::new();
        loop {
            line.clear();
            bytes += self.r.read_until(b'\n', &mut line).expect("answer");
            if line == b"OK\n" {
                return (started.elapsed(), bytes);
            }
            assert!(
                !line.starts_with(b"ACK"),
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
    }
}

fn percentiles(v: &mut [Duration]) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
