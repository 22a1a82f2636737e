//! `cargo bench --bench skip`: the time from `mpc play 5` to audio in a
//! real MPD, with icyproxy following MPD's queue (`[mpd] address`) and
//! without, against a resolver that takes 2 s per run (as yt-dlp does on a
//! Pi). Needs `mpd` (apt-get install mpd); skipped without it.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::mpd::{Mpd, MpdClient, get_value, have};
use common::*;

const ROUNDS: usize = 3;

fn main() {
    if !have("mpd") {
        println!("skip time: skipped (mpd is not installed: apt-get install mpd)");
        return;
    }
    let mut with = Vec::new();
    let mut without = Vec::new();
    for round in 0..ROUNDS {
        with.push(skip_time(true, round));
        without.push(skip_time(false, round));
        eprintln!(
            "round {round}: with [mpd] {:?}, without {:?}",
            with[round], without[round]
        );
    }
    let (w, wo) = (median(with), median(without));
    println!(
        "\nskip time, `play 5` to audio in a real MPD, resolver 2 s per run, median of {ROUNDS}:"
    );
    println!(
        "  with [mpd] (warmed ahead): {:.3} s; without: {:.3} s; ratio {:.2}",
        w.as_secs_f64(),
        wo.as_secs_f64(),
        w.as_secs_f64() / wo.as_secs_f64().max(1e-6)
    );
}

/// Queues six unresolved songs, plays the first, then skips to the fifth
/// and times it until MPD reports audio played.
fn skip_time(follow: bool, round: usize) -> Duration {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls");
    let mpd = Mpd::started("");
    let mpd_section = if follow {
        format!("[mpd]\naddress = \"127.0.0.1:{}\"\n", mpd.port)
    } else {
        "[mpd]\naddress = \"\"\n".to_owned()
    };
    let proxy = Proxy::start_with(&format!(
        "{}{mpd_section}",
        fake_resolver("slow2", &calls, &origin.url("/file/tone.mp3"))
    ));
    let mut c = mpd.connect();
    for song in 0..6 {
        c.ok(&format!(
            "add \"http://{}/proxy/skip{round}{}x{song:04}/\"",
            proxy.addr,
            u8::from(follow)
        ));
    }
    c.ok("play 0");
    assert!(wait_audio(&mut c, "0"), "the first song did not play");
    if follow {
        assert!(
            wait_until(
                Duration::from_secs(60),
                || health(proxy.addr)["warm_tracks"] == 6
            ),
            "not warm: {}",
            health(proxy.addr)
        );
    }
    let asked = Instant::now();
    c.ok("play 4");
    assert!(wait_audio(&mut c, "4"), "the fifth song did not play");
    asked.elapsed()
}

/// Waits until MPD plays song `pos` with some audio done.
fn wait_audio(c: &mut MpdClient, pos: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let status = c.status();
        let elapsed = get_value(&status, "elapsed").and_then(|e| e.parse::<f64>().ok());
        if get_value(&status, "song") == Some(pos) && elapsed.is_some_and(|e| e > 0.0) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
