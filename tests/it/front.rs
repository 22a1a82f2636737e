//! The front door (`[front] listen`) with real clients and a real MPD:
//! `mpc` (libmpdclient) and raw sockets against it, YouTube Music from the
//! reader's stand-in (`common/ytmusic.rs`), songs played through the proxy.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use icyproxy::catalog::model::ListedTrack;

use crate::common::mpd::{Mpd, skip_mpd_test, wait_state};
use crate::common::music::Music;
use crate::common::music_files::Song;
use crate::common::ytmusic::{self, YtMusic};
use crate::common::*;

/// A proxy with its front door before a real MPD, the reader's stand-in,
/// and yt-dlp stand-ins that play a tone.
struct Front {
    api: YtMusic,
    _music: Music,
    _origin: Origin,
    mpd: Mpd,
    proxy: Proxy,
    _dir: tempfile::TempDir,
}

impl Front {
    fn start(mpd_extra: &str, extra: &str) -> Front {
        Front::with_library(&[], mpd_extra, extra)
    }

    /// With `songs` in MPD's own library.
    fn with_library(songs: &[Song], mpd_extra: &str, extra: &str) -> Front {
        let api = YtMusic::start();
        let origin = Origin::start();
        let music = Music::new();
        let mpd = match songs.is_empty() {
            true => Mpd::started(mpd_extra),
            false => Mpd::with_library(songs, mpd_extra),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let jar = jar(dir.path());
        let resolver = music.resolver_and(
            "music",
            &origin.url("/file/tone-2s.wav"),
            &format!("cookies_file = {:?}", jar.display().to_string()),
            &api.section(""),
        );
        let front = match extra.split_once("[front]\n") {
            Some((before, keys)) => format!("{before}[front]\nlisten = \"127.0.0.1:0\"\n{keys}"),
            None => format!("{extra}\n[front]\nlisten = \"127.0.0.1:0\"\n"),
        };
        let proxy = Proxy::start_with(&format!(
            "{resolver}[mpd]\naddress = {:?}\nwarm_ahead = 0\n{front}",
            mpd.address()
        ));
        Front {
            api,
            _music: music,
            _origin: origin,
            mpd,
            proxy,
            _dir: dir,
        }
    }

    /// `mpc ARGS` against the front door: its output, or its stderr.
    fn mpc(&self, args: &[&str]) -> Result<String, String> {
        mpc_at(self.proxy.front(), args)
    }

    /// One raw command through the front door: its whole answer.
    fn front_cmd(&self, command: &str) -> String {
        let mut s = connect(self.proxy.front());
        s.write_all(format!("{command}\n").as_bytes())
            .expect("send");
        String::from_utf8_lossy(&answer(&mut s)).into_owned()
    }

    fn ok(&self, args: &[&str]) -> String {
        self.mpc(args)
            .unwrap_or_else(|e| panic!("mpc {args:?} through the front door: {e}"))
    }
}

fn mpc_at(addr: SocketAddr, args: &[&str]) -> Result<String, String> {
    let o = Command::new("mpc")
        .args(["-h", "127.0.0.1", "-p", &addr.port().to_string()])
        .args(args)
        .output()
        .expect("run mpc");
    match o.status.success() {
        true => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        false => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
    }
}

const TAGGED: &str = "%artist% - %title%";

/// A song as a stored playlist lists it.
fn listed(id: &str, artist: &str, title: &str) -> ListedTrack {
    ListedTrack {
        video_id: icyproxy::video_id::VideoId::parse(id).expect("id"),
        tags: icyproxy::catalog::tags::Tags {
            artist: artist.into(),
            title: title.into(),
            ..Default::default()
        },
    }
}

#[test]
fn a_search_box_finds_youtube_music_and_its_songs_go_in_tagged_and_play() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let local = [
        Song::new("Daft Punk", "Discovery", "One More Time", 1),
        Song::new("Daft Punk", "Discovery", "Aerodynamic", 2),
        Song::new("Air", "Moon Safari", "La femme d'argent", 1),
    ];
    let f = Front::with_library(&local, "", "");
    let found = f.ok(&["-f", TAGGED, "search", "any", "daft punk"]);
    let lines: Vec<&str> = found.lines().collect();
    assert_eq!(lines.len(), 22, "MPD's 2, then search_limit songs: {found}");
    assert_eq!(
        lines[..2],
        ["Daft Punk - One More Time", "Daft Punk - Aerodynamic"]
    );
    let (id0, title0, artist0) = ytmusic::search_song(0);
    assert_eq!(lines[2], format!("{artist0} - {title0}"), "{found}");
    assert_eq!(f.api.seen_at("search").len(), 1);
    // A filter expression, as myMPD and newer clients send it, with a
    // window past MPD's songs: YouTube Music's are numbered on from them.
    let mut c = f.mpd.connect();
    let windowed = f.front_cmd("search \"((any contains 'daft punk'))\" window 1:4");
    let titles: Vec<&str> = windowed
        .lines()
        .filter_map(|l| l.strip_prefix("Title: "))
        .collect();
    assert_eq!(
        titles,
        ["Aerodynamic", "Found Song 0", "Found Song 1"],
        "{windowed}"
    );
    c.ok("ping");
    let files = f.ok(&["search", "any", "daft punk"]);
    let first = files.lines().nth(2).expect("a song").to_owned();
    assert_eq!(
        first,
        format!("http://{}/proxy/{id0}/?icy=0", f.proxy.addr),
        "{files}"
    );
    // The search is under Search/ now, and listing it asks nothing more.
    let searches = f.ok(&["ls", "YouTube Music/Search"]);
    assert_eq!(searches.trim(), "YouTube Music/Search/daft punk");

    f.ok(&["add", &first]);
    f.ok(&["add", "YouTube Music/Search/daft punk"]);
    assert_eq!(f.api.seen_at("search").len(), 3, "each search asked once");
    let queue = f.mpd.mpc(&["-f", TAGGED, "playlist"]);
    let queued: Vec<&str> = queue.lines().collect();
    assert_eq!(queued.len(), 21, "{queue}");
    assert_eq!(
        queued[0],
        format!("{artist0} - {title0}"),
        "tagged before playing"
    );
    assert_eq!(queued[20], {
        let (_, t, a) = ytmusic::search_song(19);
        format!("{a} - {t}")
    });
    let mut c = f.mpd.connect();
    c.ok("play 0");
    assert!(wait_state(&mut c, "play", Duration::from_secs(30)));
    assert!(f.mpd.mpc_current().contains(&title0));
}

#[test]
fn the_root_shows_the_directory_and_liked_songs_list_and_add_whole() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let f = Front::start("", "");
    let listed: Vec<ListedTrack> = (0..3)
        .map(|n| {
            let (id, title, artist) = ytmusic::search_song(n);
            listed(&id, &artist, &title)
        })
        .collect();
    let mut store = icyproxy::catalog::store::TrackStore::open(&f.proxy.db_path).expect("store");
    store
        .replace_playlist("Liked songs", None, &listed)
        .expect("liked");
    store
        .replace_playlist("Road trip", None, &listed[..1])
        .expect("playlist");
    drop(store);

    let root = f.ok(&["ls"]);
    assert!(root.lines().any(|l| l == "YouTube Music"), "{root}");
    let top = f.ok(&["ls", "YouTube Music"]);
    for name in [
        "Liked songs",
        "Playlists",
        "Mixes",
        "Albums",
        "Artists",
        "Radio",
        "Search",
    ] {
        assert!(
            top.lines().any(|l| l == format!("YouTube Music/{name}")),
            "{name}: {top}"
        );
    }
    let liked = f.ok(&["-f", TAGGED, "ls", "YouTube Music/Liked songs"]);
    assert_eq!(liked.lines().count(), 3, "{liked}");
    assert!(liked.contains("Artist 2 - Found Song 2"), "{liked}");
    let playlists = f.ok(&["ls", "YouTube Music/Playlists"]);
    assert_eq!(playlists.trim(), "YouTube Music/Playlists/Road trip");
    // MPD itself would say "No such directory"; it never sees the path.
    let missing = f.mpc(&["ls", "YouTube Music/Playlists/Nope"]);
    assert!(missing.is_err_and(|e| e.contains("No such directory")));
    assert!(f.mpd.commands("lsinfo \"YouTube").is_empty());

    f.ok(&["add", "YouTube Music/Liked songs"]);
    let queue = f.mpd.mpc(&["-f", TAGGED, "playlist"]);
    assert_eq!(
        queue.lines().collect::<Vec<_>>(),
        [
            "Artist 0 - Found Song 0",
            "Artist 1 - Found Song 1",
            "Artist 2 - Found Song 2"
        ]
    );
    assert!(f.api.seen().is_empty(), "the stored lists asked nothing");
}

#[test]
fn a_rating_sticker_likes_the_song_on_youtube_music_and_reads_back() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let f = Front::start("", "");
    let url = format!("http://{}/proxy/seedsong001/?icy=0", f.proxy.addr);
    f.ok(&["sticker", &url, "set", "rating", "10"]);
    let like = f.api.seen_at("like/like").pop().expect("liked");
    assert_eq!(like.body["target"]["videoId"], "seedsong001");
    assert_eq!(
        f.ok(&["sticker", &url, "get", "rating"]).trim(),
        "rating=10"
    );
    f.ok(&["sticker", &url, "set", "rating", "5"]);
    assert_eq!(f.api.seen_at("like/removelike").len(), 0, "5 stays here");
    f.ok(&["sticker", &url, "set", "like", "0"]);
    assert_eq!(f.api.seen_at("like/dislike").len(), 1, "myMPD's dislike");
    let all = f.ok(&["sticker", &url, "list"]);
    assert!(all.contains("like=0") && all.contains("rating=5"), "{all}");
    f.ok(&["sticker", &url, "delete", "rating"]);
    assert_eq!(f.api.seen_at("like/removelike").len(), 1);
    let gone = f.mpc(&["sticker", &url, "get", "rating"]);
    assert!(gone.is_err_and(|e| e.contains("no such sticker")));
}

#[test]
fn a_client_without_mpds_add_permission_cannot_add_through_the_front_door() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let f = Front::start(
        "password \"secret@read,add,control,admin\"\ndefault_permissions \"read\"\n",
        "password = \"secret\"\n",
    );
    let url = format!("http://{}/proxy/seedsong001/?icy=0", f.proxy.addr);
    let refused = f.mpc(&["add", &url]);
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("permission")),
        "{refused:?}"
    );
    let refused = f.mpc(&["add", "YouTube Music/Liked songs"]);
    assert!(refused.is_err_and(|e| e.contains("permission")));
    // Reading is allowed: browsing works without the password.
    assert!(
        f.ok(&["ls", "YouTube Music"])
            .contains("YouTube Music/Radio")
    );
    assert!(f.mpd.mpc(&["-P", "secret", "playlist"]).trim().is_empty());
    // With the password, the same client adds.
    f.ok(&["-P", "secret", "add", &url]);
    let queue = f.mpd.mpc(&["-P", "secret", "-f", "%file%", "playlist"]);
    assert_eq!(queue.trim(), url);
}

/// Reads one whole answer (up to `OK` or `ACK`, binary chunks included).
fn answer(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    let mut line_start = 0;
    loop {
        s.read_exact(&mut byte).expect("answer byte");
        got.push(byte[0]);
        if byte[0] != b'\n' {
            continue;
        }
        let line = got[line_start..].to_vec();
        line_start = got.len();
        if line == b"OK\n" || line.starts_with(b"ACK ") {
            return got;
        }
        if let Some(n) = line
            .strip_prefix(b"binary: ")
            .and_then(|rest| std::str::from_utf8(rest).ok())
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            let mut chunk = vec![0; n + 1];
            s.read_exact(&mut chunk).expect("binary");
            got.extend_from_slice(&chunk);
            line_start = got.len();
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut greeting = Vec::new();
    let mut byte = [0u8; 1];
    while byte[0] != b'\n' {
        s.read_exact(&mut byte).expect("greeting");
        greeting.push(byte[0]);
    }
    assert!(greeting.starts_with(b"OK MPD "));
    s
}

#[test]
fn relayed_answers_idle_and_command_lists_are_byte_identical_to_mpds() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let songs = crate::common::music_files::synthetic(40);
    let f = Front::with_library(&songs, "", "");
    // A cover bigger than one binary chunk (MPD's binarylimit is 8 KiB).
    let cover: Vec<u8> = (0..20_000u32).map(|n| (n * 7 % 251) as u8).collect();
    let album_dir = songs[0]
        .uri()
        .rsplit_once('/')
        .expect("a folder")
        .0
        .to_owned();
    std::fs::write(f.mpd.music.join(&album_dir).join("cover.jpg"), &cover).expect("cover");
    let song = songs[0].uri();
    let mpd_addr: SocketAddr = f.mpd.address().parse().expect("MPD's address");
    let mut direct = connect(mpd_addr);
    let mut front = connect(f.proxy.front());
    for command in [
        "tagtypes",
        "urlhandlers",
        "decoders",
        "outputs",
        "lsinfo \"nope\"",
        "frobnicate",
        "command_list_ok_begin\nping\ntagtypes\nlsinfo \"nope\"\nping\ncommand_list_end",
        "command_list_begin\nping\nreplay_gain_status\ncommand_list_end",
        "idle database\nnoidle",
        "listallinfo",
        &format!("albumart \"{song}\" 0"),
        &format!("albumart \"{song}\" 8192"),
        &format!("albumart \"{song}\" 16384"),
        &format!("readpicture \"{song}\" 0"),
        "binarylimit 64",
        &format!("albumart \"{song}\" 100"),
        &format!("find artist \"{}\"", songs[0].artist),
    ] {
        let bytes = format!("{command}\n");
        direct.write_all(bytes.as_bytes()).expect("send");
        front.write_all(bytes.as_bytes()).expect("send");
        let (want, got) = (answer(&mut direct), answer(&mut front));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{command}"
        );
    }
    // An idle answered by a change another client makes.
    direct.write_all(b"idle options\n").expect("send");
    front.write_all(b"idle options\n").expect("send");
    f.mpd.mpc(&["repeat", "on"]);
    assert_eq!(answer(&mut front), answer(&mut direct));
    // A list mixing MPD's commands and the front door's: answered as MPD
    // answers a list, the failing command's index in the ACK.
    front
        .write_all(
            b"command_list_ok_begin\nping\nlsinfo \"YouTube Music\"\nfrobnicate\nping\ncommand_list_end\n",
        )
        .expect("send");
    let mixed = String::from_utf8(answer(&mut front)).expect("text");
    assert!(
        mixed.starts_with("list_OK\ndirectory: YouTube Music/Liked songs\n"),
        "{mixed}"
    );
    assert!(
        mixed.ends_with("list_OK\nACK [5@2] {} unknown command \"frobnicate\"\n"),
        "{mixed}"
    );
    // `noidle` outside idle has no answer from MPD, nor from the door.
    front.write_all(b"noidle\nping\n").expect("send");
    assert_eq!(answer(&mut front), b"OK\n");
}

/// The front door's address, from the real binary's log.
fn front_of(served: &mut Served) -> SocketAddr {
    let mut found = None;
    assert!(wait_until(Duration::from_secs(10), || {
        found = served.log_lines().iter().find_map(|l| {
            l.split_once("front door listening on ")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok())
        });
        found.is_some()
    }));
    found.expect("the front door's address")
}

#[test]
fn a_thousand_connections_and_an_endless_line_leave_memory_bounded_and_mpd_serving() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let _alone = alone();
    let mpd = Mpd::started("");
    let mut served = Served::start(
        &format!(
            "[resolver]\ncommand = []\n[mpd]\naddress = {:?}\nwarm_ahead = 0\n\
             [front]\nlisten = \"127.0.0.1:0\"\n",
            mpd.address()
        ),
        &[],
    );
    let front = front_of(&mut served);
    let pid = served.child.id();
    assert!(mpc_at(front, &["status"]).is_ok());
    let before = proc_status(pid, "VmRSS:");

    // A line without end: closed once it is longer than MPD would take,
    // and none of it reaches MPD.
    let mut endless = connect(front);
    endless
        .set_write_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let chunk = vec![b'x'; 64 << 10];
    let mut sent = 0usize;
    while sent < (64 << 20) && endless.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    assert!(sent < (64 << 20), "64 MiB of one line taken");
    assert!(mpd.commands("xxxx").is_empty());

    // A thousand connections at once: at most [front] max_connections
    // served, the rest closed at once; MPD keeps serving its own clients.
    let flood: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(front).ok())
        .collect();
    assert!(flood.len() >= 900, "{} connected", flood.len());
    assert!(wait_until(Duration::from_secs(30), || served
        .log_lines()
        .iter()
        .any(|l| l.contains("[front] max_connections"))));
    assert!(mpd.mpc(&["status"]).contains("volume"));
    let seen = health(served.addr);
    assert!(seen["front"]["turned_away"].as_u64() > Some(0), "{seen}");
    assert_eq!(seen["front"]["listen"], front.to_string());
    let during = proc_status(pid, "VmRSS:");
    eprintln!("front door RSS: {before} KiB before, {during} KiB with 1,000 connections");
    assert!(
        during < before + 32 * 1024,
        "RSS grew from {before} KiB to {during} KiB"
    );
    drop(flood);
    // The door serves again once they are gone.
    assert!(wait_until(Duration::from_secs(30), || mpc_at(
        front,
        &["status"]
    )
    .is_ok()));
}

#[test]
fn albums_artists_mixes_and_the_radio_are_read_when_listed() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let f = Front::start("", "");
    let albums = f.ok(&["ls", "YouTube Music/Albums"]);
    assert_eq!(albums.trim(), "YouTube Music/Albums/Saved Album");
    let tracks = f.ok(&[
        "-f",
        "%artist% - %title% - %album%",
        "ls",
        "YouTube Music/Albums/Saved Album",
    ]);
    assert_eq!(tracks.lines().count(), 12, "{tracks}");
    assert_eq!(
        tracks.lines().next(),
        Some("Album Artist - Album Track 1 - Stand-in Album")
    );

    // Artists come from the library's songs; each lists its page.
    let listed = vec![listed("seedsong001", "Page Artist", "Seed")];
    let mut store = icyproxy::catalog::store::TrackStore::open(&f.proxy.db_path).expect("store");
    store
        .replace_playlist("Liked songs", None, &listed)
        .expect("liked");
    store.set_origin("Liked songs", "library").expect("origin");
    let mix = "https://music.youtube.com/playlist?list=RDTMAK5uy_super";
    store
        .replace_playlist("My Supermix", Some(mix), &listed)
        .expect("mix");
    store.set_origin("My Supermix", "library").expect("origin");
    drop(store);
    let mixes = f.ok(&["ls", "YouTube Music/Mixes"]);
    assert_eq!(mixes.trim(), "YouTube Music/Mixes/My Supermix");
    let playlists = f.ok(&["ls", "YouTube Music/Playlists"]);
    assert!(
        playlists.trim().is_empty(),
        "a mix is not a playlist: {playlists}"
    );
    let artists = f.ok(&["ls", "YouTube Music/Artists"]);
    assert_eq!(artists.trim(), "YouTube Music/Artists/Page Artist");
    let page = f.ok(&["ls", "YouTube Music/Artists/Page Artist"]);
    assert!(
        page.contains("YouTube Music/Artists/Page Artist/Page Album 1"),
        "{page}"
    );
    assert_eq!(page.matches("/proxy/").count(), 5, "top songs: {page}");
    let album = f.ok(&["ls", "YouTube Music/Artists/Page Artist/Page Album 1"]);
    assert_eq!(album.lines().count(), 12, "{album}");

    // The radio of what MPD plays now, fresh each time.
    let url = format!("http://{}/proxy/seedsong001/?icy=0", f.proxy.addr);
    f.ok(&["add", &url]);
    let mut c = f.mpd.connect();
    c.ok("play 0");
    assert!(wait_state(&mut c, "play", Duration::from_secs(30)));
    let radio = f.ok(&["-f", TAGGED, "ls", "YouTube Music/Radio"]);
    assert!(
        radio.lines().any(|l| l == "Radio Artist 0 - Radio Song 0"),
        "{radio}"
    );
    let asked = f.api.seen_at("next").len();
    f.ok(&["ls", "YouTube Music/Radio"]);
    assert!(f.api.seen_at("next").len() > asked, "read again");
}

/// ncmpcpp in a tmux session of its own (killed on drop), its screen
/// read with `capture-pane`.
struct Ncmpcpp {
    socket: String,
    _home: tempfile::TempDir,
}

impl Ncmpcpp {
    fn start(front: SocketAddr) -> Ncmpcpp {
        let home = tempfile::tempdir().expect("home");
        let config = home.path().join("config");
        std::fs::write(
            &config,
            format!(
                "mpd_host = \"127.0.0.1\"\nmpd_port = \"{}\"\nstartup_screen = \"browser\"\n",
                front.port()
            ),
        )
        .expect("config");
        let socket = format!("icyproxy-test-{}", std::process::id());
        let socket = format!("{socket}-{}", front.port());
        let status = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-x", "160", "-y", "40"])
            .arg(format!("ncmpcpp --config {}", config.display()))
            .env("HOME", home.path())
            .status()
            .expect("run tmux");
        assert!(status.success());
        Ncmpcpp {
            socket,
            _home: home,
        }
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    /// Waits until the screen shows `text`.
    fn shows(&self, text: &str) -> bool {
        wait_until(Duration::from_secs(30), || self.screen().contains(text))
    }
}

impl Drop for Ncmpcpp {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn ncmpcpp_shows_the_directory_in_its_browser_and_finds_youtube_music_in_its_search_engine() {
    if skip_mpd_test(&["mpd", "ncmpcpp", "tmux"]) {
        return;
    }
    let f = Front::start("", "");
    let nc = Ncmpcpp::start(f.proxy.front());
    assert!(nc.shows("[YouTube Music]"), "{}", nc.screen());
    // The search engine (screen 3): "Any", the words, then "Search", 13
    // rows down.
    nc.keys(&["3"]);
    assert!(nc.shows("Search engine"), "{}", nc.screen());
    nc.keys(&["Enter"]);
    nc.keys(&["-l", "daft punk"]);
    nc.keys(&["Enter"]);
    assert!(nc.shows("daft punk"), "{}", nc.screen());
    for _ in 0..13 {
        nc.keys(&["Down"]);
    }
    nc.keys(&["Enter"]);
    let (_, title, _) = ytmusic::search_song(0);
    assert!(nc.shows(&title), "{}", nc.screen());
    assert_eq!(f.api.seen_at("search").len(), 1);
}

/// A Python with python-mpd2: the one `.ci/run` installs
/// (`target/python-mpd2`), or `python3` if it has it.
fn python_mpd2() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python-mpd2/bin/python");
    [venv, PathBuf::from("python3")].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import mpd.asyncio"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn python_mpd2_mixes_relayed_and_answered_commands_in_lists_and_idles_through_the_door() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let Some(python) = python_mpd2() else {
        if std::env::var_os("ICYPROXY_SKIP_MPD").is_some_and(|v| v == "1") {
            eprintln!("SKIPPED: python-mpd2 not installed (ICYPROXY_SKIP_MPD=1)");
            return;
        }
        panic!(
            "python-mpd2 is not installed: python3 -m venv target/python-mpd2 && \
             target/python-mpd2/bin/pip install python-mpd2 (.ci/run does it)"
        );
    };
    let f = Front::start("", "");
    let mpd_port = f.mpd.address().rsplit(':').next().expect("port").to_owned();
    let o = Command::new(python)
        .arg(fixture("mpd2-client.py"))
        .args([f.proxy.front().port().to_string(), mpd_port])
        .output()
        .expect("run python");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (_, title, _) = ytmusic::search_song(0);
    for want in [
        "answers 4".to_owned(),
        "dirs YouTube Music/Liked songs,YouTube Music/Playlists,".to_owned(),
        format!("found 20 {title}"),
        "error [50@0] {lsinfo} No such directory".to_owned(),
        "status 0".to_owned(),
        "changes options".to_owned(),
    ] {
        assert!(out.contains(&want), "{want:?} in {out}");
    }
}

#[test]
fn calls_to_youtube_music_are_bounded_per_connection_and_for_all_of_them() {
    if skip_mpd_test(&["mpd"]) {
        return;
    }
    let f = Front::start("", "[front]\nreader_per_minute = 2\n");
    let mut one = connect(f.proxy.front());
    let mut songs = Vec::new();
    for query in ["a", "b", "c"] {
        one.write_all(format!("search any \"{query}\"\n").as_bytes())
            .expect("send");
        let got = String::from_utf8_lossy(&answer(&mut one)).into_owned();
        assert!(got.ends_with("OK\n"), "{got}");
        songs.push(got.matches("/proxy/").count());
    }
    assert_eq!(songs, [20, 20, 0], "the third is MPD's answer alone");
    assert_eq!(f.api.seen_at("search").len(), 2);
    // Other connections: together at most four connections' worth (8).
    for n in 0..8 {
        f.front_cmd(&format!("search any \"more {n}\""));
    }
    assert_eq!(f.api.seen_at("search").len(), 8, "2 + 6 more, then none");
}

#[test]
fn a_directory_of_600_songs_goes_in_tagged_in_a_few_round_trips() {
    if skip_mpd_test(&["mpd", "mpc"]) {
        return;
    }
    let f = Front::start("", "");
    let listed: Vec<ListedTrack> = (0..600)
        .map(|n| {
            let id = ytmusic::video_id("many", n);
            listed(&id, &format!("Many {n}"), &format!("Song {n}"))
        })
        .collect();
    let mut store = icyproxy::catalog::store::TrackStore::open(&f.proxy.db_path).expect("store");
    store
        .replace_playlist("Big", None, &listed)
        .expect("playlist");
    drop(store);
    f.ok(&["add", "YouTube Music/Playlists/Big"]);
    let queue = f.mpd.mpc(&["-f", TAGGED, "playlist"]);
    let lines: Vec<&str> = queue.lines().collect();
    assert_eq!(lines.len(), 600);
    assert_eq!(lines[0], "Many 0 - Song 0");
    assert_eq!(lines[599], "Many 599 - Song 599");
    // Two lists per 500 songs, not two commands per song.
    // A few lists (MPD logs each), not a round trip or two per song.
    let lists = f
        .mpd
        .log_text()
        .lines()
        .filter(|l| l.ends_with("process command list"))
        .count();
    assert!((2..60).contains(&lists), "{lists} command lists");
}
