//! What a LAN client can make the server hold: MPD's clients change the
//! queue and the player as fast as they like (MPD's default has no
//! password), and the server keeps only the latest of each state, never
//! a backlog, however long the thread that reads them is busy.

use std::time::{Duration, Instant};

use crate::common::mpd::{Mpd, skip_mpd_test};
use crate::common::music::Music;
use crate::common::*;

/// `repeat` toggles sent while autoplay's radio run stalls, at least.
const TOGGLES: usize = 20_000;
/// Queue reads by the follower the flood must cause before it stops: MPD
/// folds idle events a client has not yet read, so how many reads a number
/// of toggles causes depends on the machine (1,833 for 20,000 once in CI).
const READS: usize = 2_000;
/// Toggles after which a follower that still has not read `READS` states
/// fails the test.
const MAX_TOGGLES: usize = 400_000;
/// Entries with long URLs at the queue's end: each state read carries them.
const LONG: usize = 8;

#[test]
fn a_repeat_flood_while_a_radio_run_stalls_leaves_memory_bounded() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let origin = Origin::start();
    let music = Music::new();
    // The radio's yt-dlp run (the mix) stalls far past the flood.
    std::fs::write(music.dir.join("delay"), "60").expect("delay");
    let mpd = Mpd::started("");
    let resolver = music.resolver("music", &origin.url("/file/tone-2s.wav"), "");
    let mut served = Served::start(
        &format!(
            "{resolver}[mpd]\naddress = {:?}\nautoplay = true\n",
            mpd.address()
        ),
        &[],
    );
    assert!(wait_until(Duration::from_secs(15), || health(served.addr)
        ["mpd"]
        == "connected"));
    let mut c = mpd.connect();
    let pad = "p".repeat(1000);
    let mut urls: Vec<String> = (0..LONG)
        .map(|i| origin.url(&format!("/file/long-{i}-{pad}")))
        .collect();
    for id in ["seedsong001", "seedsong002"] {
        urls.push(format!("http://{}/proxy/{id}/?icy=0", served.addr));
    }
    c.add_all(&urls);
    c.ok(&format!("play {LONG}"));
    assert!(
        wait_until(Duration::from_secs(30), || music
            .calls()
            .iter()
            .any(|l| l.contains("list=RDAMVM"))),
        "the radio never started: {:?}",
        served.log_lines()
    );
    let pid = served.child.id();
    let before = proc_status(pid, "VmRSS:");
    let started = Instant::now();
    let mut toggles = 0;
    while toggles < MAX_TOGGLES {
        for _ in 0..1_000 {
            toggles += 1;
            c.ok(&format!("repeat {}", toggles % 2));
        }
        // Batches of 1,000 end on `repeat 0`, which the wait below reads.
        if toggles >= TOGGLES && mpd.commands("playlistinfo").len() > READS {
            break;
        }
    }
    let flood = started.elapsed();
    // What the follower read of the flood reaches the autoplay thread.
    assert!(
        wait_until(Duration::from_secs(30), || {
            let s = c.status();
            s.iter().any(|(k, v)| k == "repeat" && v == "0")
        }),
        "MPD's repeat"
    );
    let states_read = mpd.commands("playlistinfo").len();
    let after = proc_status(pid, "VmRSS:");
    eprintln!(
        "VmRSS {before} kB before, {after} kB after {toggles} toggles in {flood:?} \
         ({states_read} queue reads by the follower)"
    );
    assert!(before > 0 && after > 0, "VmRSS unreadable");
    assert!(
        states_read > READS,
        "the follower read only {states_read} states: the flood proves nothing"
    );
    assert!(
        after < before + 4 * 1024,
        "VmRSS grew from {before} kB to {after} kB under the flood"
    );
}
