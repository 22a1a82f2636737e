//! `[playlists] base_url` on another port than the one bound (MPD reaches
//! icyproxy through a relay, as through a reverse proxy): the follower,
//! autoplay and `radio --current` all take the entries on that port for
//! icyproxy's, and every entry icyproxy adds names it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::common::mpd::{Mpd, skip_mpd_test, wait_state};
use crate::common::music::Music;
use crate::common::*;

/// Copies every connection made to its own port on to `target`, both ways.
struct Relay {
    addr: SocketAddr,
    target: Arc<OnceLock<SocketAddr>>,
}

impl Relay {
    fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let addr = listener.local_addr().expect("relay address");
        let target: Arc<OnceLock<SocketAddr>> = Arc::new(OnceLock::new());
        let to = Arc::clone(&target);
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Some(&target) = to.get() else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                pipe(&client, &server);
                pipe(&server, &client);
            }
        });
        Relay { addr, target }
    }
}

/// Copies `from` to `to` on a thread of its own, and ends `to`'s writing
/// when `from` ends.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

fn port_of(file: &str) -> Option<u16> {
    let rest = file.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

#[test]
fn the_follower_autoplay_and_radio_current_agree_on_a_base_url_of_another_port() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let origin = Origin::start();
    let music = Music::new();
    let mpd = Mpd::started("");
    let relay = Relay::start();
    let base = format!("http://{}", relay.addr);
    let resolver = music.resolver("music", &origin.url("/file/tone-2s.wav"), "");
    let proxy = Proxy::start_with(&format!(
        "{resolver}[playlists]\nbase_url = {base:?}\n[mpd]\naddress = {:?}\nautoplay = true\n",
        mpd.address()
    ));
    relay.target.set(proxy.addr).expect("relay target set once");
    assert_ne!(relay.addr.port(), proxy.addr.port());
    assert!(wait_until(
        Duration::from_secs(15),
        || health(proxy.addr)["mpd"] == "connected"
    ));
    let mut c = mpd.connect();
    let seeds = ["seedsong001", "seedsong002", "seedsong003"];
    let urls: Vec<String> = seeds
        .iter()
        .map(|id| format!("{base}/proxy/{id}/?icy=0"))
        .collect();
    c.add_all(&urls);
    c.ok("play 0");
    assert!(wait_state(&mut c, "play", Duration::from_secs(10)));
    // The follower: the relay's entries are warmed.
    assert!(
        wait_until(
            Duration::from_secs(30),
            || health(proxy.addr)["warm_tracks"].as_u64().unwrap_or(0) >= 2
        ),
        "{}",
        health(proxy.addr)
    );
    // Autoplay: a playing queue of icyproxy's songs (on the relay's port)
    // with two left is extended, with entries on that port.
    let files = |mpd: &Mpd| -> Vec<String> {
        mpd.mpc(&["-f", "%file%", "playlist"])
            .lines()
            .map(str::to_owned)
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(60), || files(&mpd).len() > seeds.len()),
        "autoplay appended nothing: {}",
        health(proxy.addr)
    );
    // radio --current: the current song, on the relay's port, is a seed.
    c.ok("pause 1");
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = dir.path().join("cli.toml");
    std::fs::write(
        &cli,
        format!(
            "[store]\npath = {:?}\n{resolver}[playlists]\nbase_url = {base:?}\n[mpd]\naddress = {:?}\n",
            proxy.db_path.display().to_string(),
            mpd.address()
        ),
    )
    .expect("cli config");
    let before = files(&mpd).len();
    let o = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
        .arg("--config")
        .arg(&cli)
        .args(["radio", "--current", "--add", "--limit", "2"])
        .output()
        .expect("run icyproxy");
    assert!(o.status.success(), "{}", stderr(&o));
    let after = files(&mpd);
    assert!(after.len() >= before + 2, "{after:?}");
    let ports: Vec<Option<u16>> = after.iter().map(|f| port_of(f)).collect();
    assert!(
        ports.iter().all(|p| *p == Some(relay.addr.port())),
        "every entry on the public port {}: {after:?}",
        relay.addr.port()
    );
    c.ok("stop");
}
