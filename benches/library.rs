//! `cargo bench --bench library`: what a local library of N songs costs
//! the test MPD (`common::music_files`): writing the files, MPD's
//! `update` until its database holds them, and MPD's own answers over
//! it (`listallinfo` of everything, `search any` for one song): the
//! baseline the front door's merged answers add to. Needs `mpd`
//! (apt-get install mpd); skipped without it.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::mpd::{Mpd, UPDATE_LIMIT, have};
use common::music_files::{synthetic, write_library};

fn main() {
    if !have("mpd") {
        println!("library: skipped (mpd is not installed: apt-get install mpd)");
        return;
    }
    println!("a local library in the test MPD, seconds:");
    for n in [100, 10_000] {
        let songs = synthetic(n);
        let mut mpd = Mpd::new("");
        let t = Instant::now();
        write_library(&mpd.music, &songs);
        let written = t.elapsed();
        mpd.start();
        let t = Instant::now();
        let indexed = mpd.update_and_wait(UPDATE_LIMIT);
        let updated = t.elapsed();
        assert_eq!(indexed, n, "songs indexed");
        let mut c = mpd.connect();
        let listed = timed(|| assert_eq!(files(&c.ok("listallinfo")), n, "every song"));
        let one = format!("search any \"{}\"", songs[n / 2].title);
        let searched = timed(|| assert_eq!(files(&c.ok(&one)), 1, "one song"));
        println!(
            "  {n:>6} songs: write {:.3}, update {:.3}, listallinfo {:.3}, search any {:.3}",
            written.as_secs_f64(),
            updated.as_secs_f64(),
            listed.as_secs_f64(),
            searched.as_secs_f64(),
        );
    }
}

fn files(pairs: &[(String, String)]) -> usize {
    pairs.iter().filter(|(k, _)| k == "file").count()
}

fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}
