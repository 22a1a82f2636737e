//! A hostile or broken MPD (anything listening on MPD's port) cannot grow
//! icyproxy or hold its follower: answers are bounded in lines and bytes,
//! every read but `idle` has a deadline that bytes dripping in do not
//! stretch, and `idle` is bounded in bytes. The stand-in MPD here reports
//! how much it could write before icyproxy hung up.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;

/// Past this the stand-in stops and reports that no one hung up.
const CAP: u64 = 256 << 20;
const STATUS: &str = "volume: 100\nrepeat: 0\nrandom: 0\nsingle: 0\nconsume: 0\nplaylist: 2\nplaylistlength: 0\nstate: stop\n";

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `status` is answered with pairs without end.
    Flood,
    /// `status` is answered one byte every 50 ms, without end.
    Drip,
    /// Commands are answered; `idle` gets `changed:` lines without end.
    IdleFlood,
}

/// What the stand-in saw on its first connection: bytes written into the
/// answer that never ends, whether icyproxy hung up, and when.
struct Seen {
    written: u64,
    hung_up: bool,
    after: Duration,
}

fn hostile_mpd(mode: Mode) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            thread::spawn(move || {
                if let Some(seen) = serve(conn, mode) {
                    let _ = tx.send(seen);
                }
            });
        }
    });
    (addr, rx)
}

fn serve(conn: TcpStream, mode: Mode) -> Option<Seen> {
    let mut out = conn.try_clone().ok()?;
    let mut lines = BufReader::new(conn).lines();
    out.write_all(b"OK MPD 0.23.5\n").ok()?;
    loop {
        let line = lines.next()?.ok()?;
        match (mode, line.as_str()) {
            (Mode::Flood | Mode::Drip, "status") => return Some(endless(&mut out, mode)),
            (Mode::IdleFlood, l) if l.starts_with("idle") => {
                return Some(endless(&mut out, mode));
            }
            (_, "command_list_ok_begin") => {
                let mut n = 0;
                for l in lines.by_ref() {
                    if l.ok()? == "command_list_end" {
                        break;
                    }
                    n += 1;
                }
                let answer = format!("{STATUS}list_OK\n").repeat(n);
                out.write_all(format!("{answer}OK\n").as_bytes()).ok()?;
            }
            (_, "status") => out.write_all(format!("{STATUS}OK\n").as_bytes()).ok()?,
            _ => out.write_all(b"OK\n").ok()?,
        }
    }
}

fn endless(out: &mut TcpStream, mode: Mode) -> Seen {
    let started = Instant::now();
    let piece: Vec<u8> = match mode {
        Mode::Flood => format!("file: {}\n", "x".repeat(200))
            .repeat(300)
            .into_bytes(),
        Mode::IdleFlood => b"changed: player\n".repeat(4000),
        Mode::Drip => b"v".to_vec(),
    };
    let mut written = 0u64;
    while written < CAP && started.elapsed() < Duration::from_secs(120) {
        if out.write_all(&piece).and_then(|()| out.flush()).is_err() {
            return Seen {
                written,
                hung_up: true,
                after: started.elapsed(),
            };
        }
        written += piece.len() as u64;
        if matches!(mode, Mode::Drip) {
            thread::sleep(Duration::from_millis(50));
        }
    }
    Seen {
        written,
        hung_up: false,
        after: started.elapsed(),
    }
}

fn against(mode: Mode) -> Seen {
    let (addr, seen) = hostile_mpd(mode);
    let proxy = Proxy::start_with(&format!("[mpd]\naddress = \"{addr}\"\n"));
    let first = seen
        .recv_timeout(Duration::from_secs(150))
        .expect("the stand-in MPD was asked");
    // Still serving meanwhile.
    assert_eq!(health(proxy.addr)["status"], "ok");
    eprintln!(
        "{mode:?}: {} bytes written, {} after {:?}",
        first.written,
        if first.hung_up {
            "hung up"
        } else {
            "never hung up"
        },
        first.after
    );
    first
}

#[test]
fn an_endless_answer_is_cut_at_its_budget() {
    let seen = against(Mode::Flood);
    assert!(
        seen.hung_up,
        "icyproxy read {} bytes of one answer",
        seen.written
    );
    // 8 MiB of answer, plus what the sockets' buffers held.
    assert!(seen.written < 64 << 20, "{} bytes", seen.written);
}

#[test]
fn an_answer_dripping_in_is_cut_at_its_deadline() {
    let seen = against(Mode::Drip);
    assert!(seen.hung_up, "still reading after {:?}", seen.after);
    assert!(seen.after < Duration::from_secs(60), "{:?}", seen.after);
}

#[test]
fn idle_is_bounded_in_bytes() {
    let seen = against(Mode::IdleFlood);
    assert!(seen.hung_up, "icyproxy read {} bytes in idle", seen.written);
    assert!(seen.written < 32 << 20, "{} bytes", seen.written);
}
