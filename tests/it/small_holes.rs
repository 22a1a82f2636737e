//! The smaller holes: an id beginning with `-` never becomes a resolver
//! option; redirects from a stream URL get the checks the URL got, and
//! the resolver's Cookie and Authorization go to no other host; cover
//! art is only a JPEG, PNG, GIF or WebP image of bounded size; a `ca_file`
//! block that is not a certificate stops the start.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use icyproxy::app::root::App;
use icyproxy::catalog::model::NewTrack;
use icyproxy::catalog::store::TrackStore;
use icyproxy::config::Config;

use crate::common::*;

/// A server whose every path has one fixed answer: `(path, head, body)`.
fn fixed_answers(answers: Vec<(String, String, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let answers = answers.clone();
            thread::spawn(move || answer(conn, &answers));
        }
    });
    format!("http://{addr}")
}

fn answer(conn: TcpStream, answers: &[(String, String, Vec<u8>)]) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let mut out = conn;
    match answers.iter().find(|(p, _, _)| p == path) {
        Some((_, head, body)) => {
            let _ = write!(
                out,
                "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = out.write_all(body);
        }
        None => {
            let _ =
                out.write_all(b"HTTP/1.1 404 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    }
}

fn redirect(path: &str, to: &str) -> (String, String, Vec<u8>) {
    (
        path.into(),
        format!("302 Found\r\nLocation: {to}"),
        Vec::new(),
    )
}

#[test]
fn an_id_beginning_with_a_dash_is_never_a_resolver_option() {
    let origin = Origin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls");
    // The test stand-in takes its ids bare, as a custom template would.
    let resolver = fake_resolver("json", &calls, &origin.url("/audio/1000"));
    let proxy = Proxy::start_with(&resolver.to_string());
    let reply = get(proxy.addr, "/proxy/-abcdefghij/", &[]);
    assert_eq!(reply.status, 200, "{}", reply.body_text());
    let ran = std::fs::read_to_string(&calls).expect("calls");
    assert!(ran.starts_with("-- -abcdefghij "), "{ran}");
}

/// A `--` written before `{video_id}` in `[resolver] command`: the
/// cookies still reach the program as an option (before the `--`), never
/// as an argument after it.
#[test]
fn cookies_go_before_a_dash_dash_in_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls");
    let jar = dir.path().join("jar.txt");
    std::fs::write(&jar, "# Netscape HTTP Cookie File\n").expect("jar");
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o600);
    std::fs::set_permissions(&jar, mode).expect("chmod");
    let env = env(&format!(
        "[resolver]\ncommand = [{:?}, {:?}, \"json\", \"http://127.0.0.1:9/a\", \"--\", \
         \"{{video_id}}\"]\ncookies_file = {:?}\n",
        fixture("fake-resolver").display().to_string(),
        calls.display().to_string(),
        jar.display().to_string()
    ));
    succeeds(&env, &["resolve", "dQw4w9WgXcQ"]);
    let argv = std::fs::read_to_string(calls.with_extension("argv")).unwrap_or_default();
    assert!(
        argv.starts_with("cookies "),
        "no --cookies option: {argv:?}"
    );
    let ran = std::fs::read_to_string(&calls).expect("calls");
    assert!(ran.starts_with("-- dQw4w9WgXcQ "), "{ran}");
}

#[test]
fn redirects_are_checked_like_the_stream_url() {
    let origin = Origin::start();
    let good = origin.url("/audio/5000");
    let with_user = good.replacen("http://", "http://user:secret@", 1);
    let base = fixed_answers(vec![
        redirect("/good", &good),
        redirect("/relative", "/audio-elsewhere"),
        redirect("/user", &with_user),
        redirect("/ftp", "ftp://127.0.0.1/x"),
        redirect("/loop", "/loop"),
    ]);
    let proxy = Proxy::start();
    let ids = [
        "AAAAAAAAAAA",
        "BBBBBBBBBBB",
        "CCCCCCCCCCC",
        "DDDDDDDDDDD",
        "EEEEEEEEEEE",
    ];
    for (id, path) in ids
        .iter()
        .zip(["/good", "/relative", "/user", "/ftp", "/loop"])
    {
        proxy.add(id, &format!("{base}{path}"), "A", "T");
    }
    let reply = get(proxy.addr, "/proxy/AAAAAAAAAAA/", &[]);
    assert_eq!(reply.status, 200, "{}", reply.body_text());
    assert_eq!(reply.body, audio_bytes(5000));
    // A relative Location is taken on the redirecting host (404 there).
    assert_eq!(get(proxy.addr, "/proxy/BBBBBBBBBBB/", &[]).status, 502);
    for (id, why) in [
        ("CCCCCCCCCCC", "redirect 1 refused"),
        ("DDDDDDDDDDD", "redirect 1 refused"),
        ("EEEEEEEEEEE", "more than 5 redirects"),
    ] {
        for method in ["GET", "HEAD"] {
            let reply = request(proxy.addr, method, &format!("/proxy/{id}/"), &[]);
            assert_eq!(reply.status, 502, "{id} {method}");
            if method == "GET" {
                assert!(
                    reply.body_text().contains(why),
                    "{id}: {}",
                    reply.body_text()
                );
                assert!(!reply.body_text().contains("secret"));
            }
        }
    }
    assert!(
        origin.requests() == 1,
        "only the good redirect reached the origin ({} requests)",
        origin.requests()
    );
}

/// A server on `ip` that records each request's head and answers
/// `/hop` with a redirect to `to` (when given), anything else with 200.
fn recording(ip: &str, to: Option<String>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind((ip, 0)).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            let mut head = String::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                head.push_str(&h);
            }
            let hop = head.starts_with("GET /hop ");
            seen.lock().expect("heads").push(head);
            let mut out = conn;
            let _ = match (&to, hop) {
                (Some(to), true) => write!(
                    out,
                    "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n"
                ),
                _ => write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                ),
            };
        }
    });
    (format!("http://{addr}"), heads)
}

#[test]
fn the_resolver_s_cookie_and_authorization_go_to_no_other_host() {
    let config = Config::from_toml("", None).expect("defaults");
    let upstream = icyproxy::stream::upstream::Upstream::new(&config.upstream).expect("agent");
    let headers: Vec<(String, String)> = [
        ("Cookie", "SID=secret"),
        ("authorization", "Bearer secret"),
        ("X-Test", "kept"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    // 127.0.0.1 redirects to 127.0.0.2: another host (both loopback).
    let (other, other_heads) = recording("127.0.0.2", None);
    let (first, first_heads) = recording("127.0.0.1", Some(format!("{other}/end")));
    let got = upstream.get(&format!("{first}/hop"), None, &headers);
    assert_eq!(got.expect("redirected").head.status, 200);
    let first_head = first_heads.lock().expect("heads").join("");
    let other_head = other_heads.lock().expect("heads").join("").to_lowercase();
    assert!(first_head.contains("SID=secret"), "{first_head}");
    assert!(other_head.contains("x-test: kept"), "{other_head}");
    assert!(
        !other_head.contains("secret") && !other_head.contains("cookie"),
        "another host got the credentials: {other_head}"
    );
    // A redirect on the same host keeps them.
    let (same, same_heads) = recording("127.0.0.1", Some("/end".to_owned()));
    let got = upstream.get(&format!("{same}/hop"), None, &headers);
    assert_eq!(got.expect("answered").head.status, 200);
    let heads = same_heads.lock().expect("heads").clone();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(
        heads[1].starts_with("GET /end ") && heads[1].contains("SID=secret"),
        "{heads:?}"
    );
}

#[test]
fn cover_art_is_only_a_bounded_raster_image() {
    let jpeg = std::fs::read(fixture("cover.jpg")).expect("fixture");
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let mut big = vec![0xff, 0xd8, 0xff, 0xe0];
    big.resize(3 * 1024 * 1024, 0);
    let base = fixed_answers(vec![
        (
            "/jpeg".into(),
            "200 OK\r\nContent-Type: image/jpeg".into(),
            jpeg.clone(),
        ),
        (
            "/svg".into(),
            "200 OK\r\nContent-Type: image/svg+xml".into(),
            svg.clone(),
        ),
        (
            "/lying".into(),
            "200 OK\r\nContent-Type: image/jpeg".into(),
            svg,
        ),
        (
            "/big".into(),
            "200 OK\r\nContent-Type: image/jpeg".into(),
            big,
        ),
    ]);
    let proxy = Proxy::start();
    let store = TrackStore::open(&proxy.db_path).expect("store");
    let ids = ["AAAAAAAAAAA", "BBBBBBBBBBB", "CCCCCCCCCCC", "DDDDDDDDDDD"];
    for (id, path) in ids.iter().zip(["/jpeg", "/svg", "/lying", "/big"]) {
        let track = NewTrack::new(id, "http://127.0.0.1:1/a", "A", "T")
            .and_then(|t| t.with_thumbnail(&format!("{base}{path}")))
            .expect("track");
        let mut store = TrackStore::open(&proxy.db_path).expect("store");
        store.upsert(&track).expect("upsert");
    }
    drop(store);
    let reply = get(proxy.addr, "/proxy/AAAAAAAAAAA/cover.jpg", &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("image/jpeg"));
    assert_eq!(reply.body, jpeg);
    for id in &ids[1..] {
        let reply = get(proxy.addr, &format!("/proxy/{id}/cover.jpg"), &[]);
        assert_eq!(reply.status, 404, "{id}");
    }
}

#[test]
fn a_ca_file_block_that_is_not_a_certificate_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("icyproxy test CA");
    let key = rcgen::KeyPair::generate().expect("key").serialize_pem();
    let cases = [
        (
            "key.pem",
            format!("{}{key}", ca.pem),
            "PEM block 2 is not a certificate",
        ),
        (
            "garbage.pem",
            format!(
                "{}-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
                ca.pem
            ),
            "PEM block 2 is not a usable certificate",
        ),
    ];
    for (name, pem, why) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).expect("write");
        let text = format!(
            "[server]\nport = 0\n[store]\npath = {:?}\n[upstream]\nca_file = {:?}\n[resolver]\ncommand = []\n[mpd]\naddress = \"\"\n",
            dir.path().join("t.db").display().to_string(),
            path.display().to_string()
        );
        let config = Config::from_toml(&text, None).expect("config");
        let e = App::start(&config).err().expect("refused at start");
        assert!(e.to_string().contains(why), "{name}: {e}");
    }
}
