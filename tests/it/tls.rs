//! An HTTPS upstream, as googlevideo is: the test origin behind a real TLS
//! server whose certificates come from a CA made at test time and trusted
//! through `[upstream] ca_file`. Streams, pieces, resume and refresh must
//! work as over plain HTTP; a refused certificate is a clear 502.

use std::path::Path;

use crate::common::*;
use icyproxy::app::root::App;
use icyproxy::config::Config;

const ID: &str = "dQw4w9WgXcQ";
const LEN: usize = 300_000;

/// A proxy trusting `ca`, asking upstream for 64 KiB pieces.
fn proxy_trusting(ca: &TestCa, dir: &Path, extra: &str) -> Proxy {
    let ca_file = ca.write_pem(dir);
    Proxy::start_with(&format!(
        "[upstream]\nca_file = {:?}\nchunk_bytes = 65536\n{extra}",
        ca_file.display().to_string()
    ))
}

#[test]
fn https_streams_are_byte_exact_in_pieces_with_and_without_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("icyproxy test CA");
    let origin = Origin::start();
    let front = TlsFront::start(&origin, &ca, Leaf::Good);
    let proxy = proxy_trusting(&ca, dir.path(), "");
    proxy.add(ID, &front.url(&format!("/audio/{LEN}")), "Artist", "Title");
    let data = audio_bytes(LEN);
    let path = format!("/proxy/{ID}/");

    let plain = get(proxy.addr, &path, &[]);
    assert_eq!(plain.status, 200);
    assert!(plain.body == data, "plain body differs");
    assert!(
        origin.log.requests_for("/audio/").len() >= 5,
        "fetched in 64 KiB pieces: {:?}",
        origin.log.requests_for("/audio/")
    );

    let icy = get(proxy.addr, &path, &[("Icy-MetaData", "1")]);
    assert_eq!(icy.status, 200);
    let (audio, metas) = split_icy(&icy.body, 16000);
    assert!(audio == data, "audio with blocks removed differs");
    assert_eq!(stream_title(&metas[0]).as_deref(), Some("Artist - Title"));

    let ranged = get(proxy.addr, &path, &[("Range", "bytes=100000-")]);
    assert_eq!(ranged.status, 206);
    assert!(ranged.body == data[100_000..], "ranged body differs");
    assert!(front.handshakes.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[test]
fn a_dropped_https_piece_resumes_at_the_next_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("icyproxy test CA");
    let origin = Origin::start();
    let front = TlsFront::start(&origin, &ca, Leaf::Good);
    let proxy = proxy_trusting(&ca, dir.path(), "");
    let url = front.url(&format!("/audio/{LEN}?drop_at=100001"));
    proxy.add(ID, &url, "Artist", "Title");
    for headers in [vec![], vec![("Icy-MetaData", "1")]] {
        let reply = get(proxy.addr, &format!("/proxy/{ID}/"), &headers);
        assert_eq!(reply.status, 200);
        let audio = if headers.is_empty() {
            reply.body
        } else {
            split_icy(&reply.body, 16000).0
        };
        assert!(audio == audio_bytes(LEN), "resumed body differs");
    }
    assert!(
        origin
            .log
            .requests_for("drop_at")
            .iter()
            .any(|l| l.ends_with("bytes=100001-165536")),
        "no resume at the next byte: {:?}",
        origin.log.requests_for("drop_at")
    );
}

#[test]
fn a_403_over_https_refreshes_the_url_through_the_resolver() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("icyproxy test CA");
    let origin = Origin::start();
    let front = TlsFront::start(&origin, &ca, Leaf::Good);
    let calls = dir.path().join("calls");
    let resolver = fake_resolver("json", &calls, &front.url(&format!("/audio/{LEN}")));
    let proxy = proxy_trusting(&ca, dir.path(), &resolver.to_string());
    proxy.add(
        ID,
        &front.url(&format!("/audio/{LEN}?deny=1")),
        "Artist",
        "Title",
    );
    let reply = get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
    assert_eq!(reply.status, 200);
    assert!(reply.body == audio_bytes(LEN));
    let runs = std::fs::read_to_string(&calls).expect("resolver ran");
    assert_eq!(runs.lines().count(), 1, "{runs}");
}

#[test]
fn refused_certificates_answer_502_naming_the_host_and_the_next_good_one_plays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("icyproxy test CA");
    let stranger = TestCa::new("a CA nobody trusts");
    let origin = Origin::start();
    let good = TlsFront::start(&origin, &ca, Leaf::Good);
    let fronts = [
        (
            "issued for another host",
            TlsFront::start(&origin, &ca, Leaf::WrongHost),
        ),
        (
            "it has expired",
            TlsFront::start(&origin, &ca, Leaf::Expired),
        ),
        (
            "not trusted here",
            TlsFront::start(&origin, &stranger, Leaf::Good),
        ),
    ];
    let proxy = proxy_trusting(&ca, dir.path(), "");
    for (what, front) in &fronts {
        proxy.add(ID, &front.url("/audio/1000"), "Artist", "Title");
        for method in ["GET", "HEAD"] {
            let reply = request(proxy.addr, method, &format!("/proxy/{ID}/"), &[]);
            assert_eq!(reply.status, 502, "{what} {method}");
            if method == "GET" {
                let text = reply.body_text();
                let want = format!(
                    "upstream TLS refused: {}: certificate refused: ",
                    front.addr
                );
                assert!(
                    text.starts_with(&want) && text.contains(what),
                    "{what}: {text}"
                );
                assert_eq!(text.trim_end().lines().count(), 1, "{what}: {text}");
            }
        }
        proxy.add(ID, &good.url("/audio/1000"), "Artist", "Title");
        let reply = get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
        assert_eq!(reply.status, 200, "after {what}");
        assert!(reply.body == audio_bytes(1000));
    }
    // Nor were the refused fronts asked anything: no request reached the origin.
    assert_eq!(origin.log.requests_for("/audio/1000").len(), 3);
}

/// A refused certificate keeps rustls's verdict under `source()`, where
/// a log or a test can tell it from any other TLS failure.
#[test]
fn a_refused_certificate_keeps_the_verdict_of_rustls() {
    use std::error::Error as _;
    let ca = TestCa::new("icyproxy test CA");
    let origin = Origin::start();
    let front = TlsFront::start(&origin, &ca, Leaf::Good);
    let config = Config::from_toml("", None).expect("defaults");
    let upstream = icyproxy::stream::upstream::Upstream::new(&config.upstream).expect("agent");
    let Err(e) = upstream.get(&front.url("/audio/10"), None, &[]) else {
        panic!("a private CA was trusted without ca_file");
    };
    let verdict = e
        .source()
        .and_then(|s| s.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("no rustls::Error under {e:?}"));
    assert!(
        matches!(
            verdict,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{verdict:?}"
    );
}

#[test]
fn without_ca_file_a_private_ca_is_refused() {
    let ca = TestCa::new("icyproxy test CA");
    let origin = Origin::start();
    let front = TlsFront::start(&origin, &ca, Leaf::Good);
    let proxy = Proxy::start();
    proxy.add(ID, &front.url("/audio/1000"), "Artist", "Title");
    let reply = get(proxy.addr, &format!("/proxy/{ID}/"), &[]);
    assert_eq!(reply.status, 502);
    assert!(
        reply.body_text().contains("certificate refused"),
        "{}",
        reply.body_text()
    );
}

#[test]
fn a_missing_or_unparsable_ca_file_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write");
    let missing = dir.path().join("missing.pem");
    for (path, why) in [(&missing, "No such file"), (&garbage, "no PEM certificate")] {
        let text = format!(
            "[server]\nport = 0\n[store]\npath = {:?}\n[upstream]\nca_file = {:?}\n",
            dir.path().join("t.db").display().to_string(),
            path.display().to_string()
        );
        let config = Config::from_toml(&text, None).expect("config parses");
        let e = App::start(&config)
            .err()
            .expect("start refused")
            .to_string();
        assert!(
            e.contains("[upstream] ca_file")
                && e.contains(&path.display().to_string())
                && e.contains(why),
            "{e}"
        );
    }
}
