//! Streaming through the real server over TCP: bytes, headers, ICY blocks,
//! ranges, HEAD, HTTP/1.0 and latency.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use crate::common::*;

const ID: &str = "dQw4w9WgXcQ";
const MB: usize = 1024 * 1024;

fn setup(len: usize, query: &str) -> (Origin, Proxy) {
    let origin = Origin::start();
    let proxy = Proxy::start();
    proxy.add(
        ID,
        &origin.url(&format!("/audio/{len}{query}")),
        "Rick Astley",
        "Never Gonna Give You Up",
    );
    (origin, proxy)
}

#[test]
fn passthrough_is_byte_exact_with_icy_name_and_no_metaint() {
    let len = 5 * MB + 123;
    let (_origin, proxy) = setup(len, "");
    for path in [format!("/proxy/{ID}"), format!("/proxy/{ID}/")] {
        let reply = get(proxy.addr, &path, &[]);
        assert_eq!(reply.status, 200);
        assert!(reply.body == audio_bytes(len), "body differs from origin");
        assert_eq!(
            reply.header("content-length"),
            Some(len.to_string().as_str())
        );
        assert_eq!(reply.header("content-type"), Some("audio/webm"));
        assert_eq!(reply.header("cache-control"), Some("no-cache"));
        assert_eq!(reply.header("accept-ranges"), Some("bytes"));
        assert_eq!(
            reply.header("icy-name"),
            Some("Rick Astley - Never Gonna Give You Up")
        );
        assert_eq!(reply.header("icy-metaint"), None);
    }
}

#[test]
fn inline_blocks_carry_the_title_and_cut_the_audio_exactly() {
    let len = 3 * MB + 7;
    let (_origin, proxy) = setup(len, "");
    for header in ["Icy-MetaData", "icy-metadata", "ICY-METADATA"] {
        let reply = get(proxy.addr, &format!("/proxy/{ID}/"), &[(header, "1")]);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("icy-metaint"), Some("16000"));
        assert_eq!(reply.header("icy-name"), None, "no icy-name with blocks");
        let declared: usize = reply
            .header("content-length")
            .expect("exact length")
            .parse()
            .expect("number");
        assert_eq!(declared, reply.body.len());
        let (audio, metas) = split_icy(&reply.body, 16000);
        assert!(
            audio == audio_bytes(len),
            "audio with blocks removed differs"
        );
        assert_eq!(metas.len(), (len - 1) / 16000);
        assert_eq!(
            stream_title(&metas[0]).as_deref(),
            Some("Rick Astley - Never Gonna Give You Up")
        );
        assert!(
            metas[1..].iter().all(String::is_empty),
            "later blocks are empty"
        );
    }
}

#[test]
fn blocks_work_over_an_upstream_without_length() {
    let len = MB + 5;
    let (_origin, proxy) = setup(len, "?chunked=1&noranges=1");
    let reply = get(
        proxy.addr,
        &format!("/proxy/{ID}"),
        &[("Icy-MetaData", "1")],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.header("content-length"), None);
    let (audio, metas) = split_icy(&reply.body, 16000);
    assert!(audio == audio_bytes(len));
    assert!(stream_title(&metas[0]).is_some());
    let plain = get(proxy.addr, &format!("/proxy/{ID}"), &[]);
    assert!(plain.body == audio_bytes(len));
}

#[test]
fn metadata_header_values_other_than_1_mean_no_blocks() {
    let len = 100_000;
    let (_origin, proxy) = setup(len, "");
    for value in ["0", "2", "yes", ""] {
        let reply = get(
            proxy.addr,
            &format!("/proxy/{ID}"),
            &[("Icy-MetaData", value)],
        );
        assert_eq!(reply.status, 200, "value {value:?}");
        assert_eq!(reply.header("icy-metaint"), None, "value {value:?}");
        assert!(reply.body == audio_bytes(len), "value {value:?}");
    }
}

#[test]
fn hostile_titles_give_valid_blocks_and_one_header_line() {
    let len = 40_000;
    let origin = Origin::start();
    let proxy = Proxy::start();
    let url = origin.url(&format!("/audio/{len}"));
    let long = "ü".repeat(2500);
    let cases: [(&str, &str, &str); 6] = [
        ("", "it's; a ';test", "it's; a ' ;test"),
        ("Evil\r\nX-Injected: 1", "T", "EvilX-Injected: 1 - T"),
        ("Nul\0Byte", "Title", "NulByte - Title"),
        ("🎵 Emoji", "🎶 Song", "🎵 Emoji - 🎶 Song"),
        ("Quote \"q\"", "'single'", "Quote \"q\" - 'single'"),
        ("", &long, ""),
    ];
    for (artist, title, want) in cases {
        proxy.add(ID, &url, artist, title);
        let reply = get(
            proxy.addr,
            &format!("/proxy/{ID}"),
            &[("Icy-MetaData", "1")],
        );
        let (audio, metas) = split_icy(&reply.body, 16000);
        assert!(audio == audio_bytes(len), "audio unharmed for {artist:?}");
        let got = stream_title(&metas[0]).expect("StreamTitle field");
        if want.is_empty() {
            assert!(
                got.len() <= 4080 - 15 && got.len() > 4000,
                "long title cut to fit"
            );
            assert!(long.starts_with(&got), "cut on a character boundary");
        } else {
            assert_eq!(got, want);
        }
        let plain = get(proxy.addr, &format!("/proxy/{ID}"), &[]);
        assert!(plain.header("x-injected").is_none(), "header injection");
        let name = plain.header("icy-name").expect("icy-name");
        assert!(!name.contains(['\r', '\n', '\0']));
        assert!(plain.body == audio_bytes(len));
    }
}

#[test]
fn ranges_are_forwarded_and_answered_with_206() {
    let len = 2 * MB;
    let (_origin, proxy) = setup(len, "");
    let data = audio_bytes(len);
    let path = format!("/proxy/{ID}/");
    let cases = [
        ("bytes=1000-1999", 1000, 2000),
        ("bytes=1500000-", 1_500_000, len),
        ("bytes=-500", len - 500, len),
    ];
    for (range, start, end) in cases {
        let reply = get(proxy.addr, &path, &[("Range", range)]);
        assert_eq!(reply.status, 206, "{range}");
        assert_eq!(
            reply.header("content-range"),
            Some(format!("bytes {start}-{}/{len}", end - 1).as_str())
        );
        assert_eq!(
            reply.header("content-length"),
            Some((end - start).to_string().as_str())
        );
        assert_eq!(reply.header("accept-ranges"), Some("bytes"));
        assert!(reply.body == data[start..end], "{range}: wrong bytes");
    }
    let beyond = get(proxy.addr, &path, &[("Range", "bytes=99999999-")]);
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // Malformed and multi-range headers are ignored: the whole body, 200.
    for range in ["bytes=abc", "bytes=0-1,5-6", "pages=1-2"] {
        let reply = get(proxy.addr, &path, &[("Range", range)]);
        assert_eq!(reply.status, 200, "{range}");
        assert!(reply.body == data);
    }
}

/// An upstream that ignores `Range` but gives its length: every range is
/// served, exactly, by reading and dropping the bytes before it.
#[test]
fn ranges_over_an_upstream_that_ignores_range_are_served_exactly() {
    let len = 3 * MB + 17;
    let (origin, proxy) = setup(len, "?noranges=1");
    let data = audio_bytes(len);
    let path = format!("/proxy/{ID}/");
    let cases = [
        ("bytes=1000-1999", 1000, 2000),
        ("bytes=2500000-", 2_500_000, len),
        ("bytes=-500", len - 500, len),
        ("bytes=0-", 0, len),
    ];
    for (range, start, end) in cases {
        for method in ["GET", "HEAD"] {
            let reply = request(proxy.addr, method, &path, &[("Range", range)]);
            assert_eq!(reply.status, 206, "{method} {range}");
            assert_eq!(
                reply.header("content-range"),
                Some(format!("bytes {start}-{}/{len}", end - 1).as_str()),
                "{method} {range}"
            );
            assert_eq!(
                reply.header("content-length"),
                Some((end - start).to_string().as_str())
            );
            assert_eq!(reply.header("accept-ranges"), Some("bytes"));
            if method == "GET" {
                assert!(reply.body == data[start..end], "{range}: wrong bytes");
            }
        }
    }
    // With blocks: counted from this response's first body byte.
    let reply = get(
        proxy.addr,
        &path,
        &[("Range", "bytes=1000000-"), ("Icy-MetaData", "1")],
    );
    assert_eq!(reply.status, 206);
    let (audio, _) = split_icy(&reply.body, 16000);
    assert!(
        audio == data[1_000_000..],
        "ranged audio with blocks differs"
    );
    let beyond = get(proxy.addr, &path, &[("Range", "bytes=99999999-")]);
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // Whole-body requests still stream once, without Range retries.
    let before = origin.requests();
    let whole = get(proxy.addr, &path, &[]);
    assert_eq!(whole.status, 200);
    assert!(whole.body == data);
    assert_eq!(origin.requests(), before + 1);
}

/// An upstream that neither honours `Range` nor gives a length: the whole
/// body, `200`, as RFC 9110 allows, and no `Accept-Ranges` promised.
#[test]
fn a_range_over_an_upstream_without_length_or_ranges_gets_the_whole_body() {
    let len = MB + 3;
    let (_origin, proxy) = setup(len, "?noranges=1&chunked=1");
    let reply = get(
        proxy.addr,
        &format!("/proxy/{ID}/"),
        &[("Range", "bytes=500-")],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("accept-ranges"), None);
    assert_eq!(reply.header("content-range"), None);
    assert!(reply.body == audio_bytes(len));
}

/// Upstream answers that cannot be true are refused before a byte is
/// sent, whichever piece they arrive on.
#[test]
fn impossible_upstream_ranges_answer_502() {
    let len = 200_000;
    for query in [
        "?shift=7",
        "?fake_total=100",
        "?fake_total=18446744073709551615",
    ] {
        let (_origin, proxy) = setup(len, query);
        for range in [None, Some("bytes=1000-")] {
            let headers: Vec<(&str, &str)> = range.iter().map(|r| ("Range", *r)).collect();
            let reply = get(proxy.addr, &format!("/proxy/{ID}/"), &headers);
            assert_eq!(reply.status, 502, "{query} {range:?}");
            assert!(
                reply.body_text().starts_with("upstream answer unusable"),
                "{query}: {}",
                reply.body_text()
            );
        }
    }
}

/// Lengths no client can count (over 2^63 - 1, with or without ICY
/// blocks) are refused with a 502 before a byte is sent, never wrapped.
#[test]
fn absurd_upstream_lengths_answer_502() {
    let cases = [
        ("?noranges=1&fake_length=9223372036854775808", false),
        ("?noranges=1&fake_length=18446744073709551615", false),
        ("?noranges=1&fake_length=9223372036854775000", true),
    ];
    for (query, icy) in cases {
        let (_origin, proxy) = setup(1000, query);
        let headers: &[(&str, &str)] = if icy { &[("Icy-MetaData", "1")] } else { &[] };
        for method in ["GET", "HEAD"] {
            let reply = request(proxy.addr, method, &format!("/proxy/{ID}/"), headers);
            assert_eq!(reply.status, 502, "{method} {query}");
        }
    }
    // Just below the limit without blocks, the length is passed on as is.
    let (_origin, proxy) = setup(1000, "?noranges=1&fake_length=9223372036854775000");
    let reply = request(proxy.addr, "HEAD", &format!("/proxy/{ID}/"), &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-length"), Some("9223372036854775000"));
}

#[test]
fn range_with_blocks_counts_blocks_from_the_first_body_byte() {
    let len = MB;
    let (_origin, proxy) = setup(len, "");
    let reply = get(
        proxy.addr,
        &format!("/proxy/{ID}"),
        &[("Range", "bytes=100000-"), ("Icy-MetaData", "1")],
    );
    assert_eq!(reply.status, 206);
    let (audio, metas) = split_icy(&reply.body, 16000);
    assert!(audio == audio_bytes(len)[100_000..]);
    assert!(stream_title(&metas[0]).is_some());
    let declared: usize = reply
        .header("content-length")
        .expect("length")
        .parse()
        .expect("number");
    assert_eq!(declared, reply.body.len());
}

#[test]
fn head_matches_get_and_never_downloads_audio() {
    let len = 4 * MB;
    let (origin, proxy) = setup(len, "");
    let path = format!("/proxy/{ID}/");
    for icy in [false, true] {
        let extra: &[(&str, &str)] = if icy { &[("Icy-MetaData", "1")] } else { &[] };
        let before = origin.settled_body_bytes();
        // The best of five: other tests share the two cores.
        let mut times = Vec::new();
        let mut head = None;
        for _ in 0..5 {
            let started = Instant::now();
            head = Some(request(proxy.addr, "HEAD", &path, extra));
            times.push(started.elapsed());
        }
        let head = head.expect("five HEADs");
        assert_eq!(head.status, 200);
        assert_eq!(origin.settled_body_bytes(), before, "HEAD downloaded audio");
        eprintln!("HEAD (icy {icy}) answered in {times:?}");
        // How fast is a bench figure; this only catches a HEAD that waits
        // for something (a download, a timeout) even on a loaded machine.
        let best = times.iter().min().expect("five times");
        assert!(*best < Duration::from_secs(2), "HEAD took {times:?}");
        let get = get(proxy.addr, &path, extra);
        let strip = |r: &Reply| {
            let mut h: Vec<_> = r
                .headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
                .cloned()
                .collect();
            h.sort();
            h
        };
        assert_eq!(
            strip(&head),
            strip(&get),
            "HEAD and GET headers differ (icy {icy})"
        );
    }
    // HEAD with a Range: the same headers as the ranged GET, and no audio.
    for range in ["bytes=1000-1999", "bytes=3000000-", "bytes=-500"] {
        let before = origin.settled_body_bytes();
        let head = request(proxy.addr, "HEAD", &path, &[("Range", range)]);
        assert!(
            origin.settled_body_bytes() - before <= 1,
            "HEAD {range} downloaded audio"
        );
        let get = get(proxy.addr, &path, &[("Range", range)]);
        assert_eq!(head.status, 206, "{range}");
        for name in [
            "content-range",
            "content-length",
            "accept-ranges",
            "content-type",
        ] {
            assert_eq!(head.header(name), get.header(name), "{range}: {name}");
        }
    }
    // The HEAD request itself must not carry a body: a second request on the
    // same connection still parses.
    let mut s = connect(proxy.addr);
    write!(s, "HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    let first = read_reply(&mut r, true);
    assert_eq!(first.status, 200);
    let second = read_reply(&mut r, false);
    assert_eq!(second.status, 200);
    assert!(second.body_text().contains("icyproxy"));
}

#[test]
fn head_falls_back_to_a_one_byte_range_when_upstream_refuses_head() {
    let len = 3 * MB;
    let (origin, proxy) = setup(len, "?head=405");
    let head = request(proxy.addr, "HEAD", &format!("/proxy/{ID}"), &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(head.header("accept-ranges"), Some("bytes"));
    let read = origin.settled_body_bytes();
    assert!(read <= 1, "fallback read {read} bytes");
}

#[test]
fn missing_content_type_falls_back_to_audio_mpeg() {
    let (_origin, proxy) = setup(1000, "?ct=none");
    let reply = get(proxy.addr, &format!("/proxy/{ID}"), &[]);
    assert_eq!(reply.header("content-type"), Some("audio/mpeg"));
}

/// The origin sends its first bytes, then pauses 2 s. Whatever the proxy
/// does, those first bytes must reach the client long before the pause ends.
#[test]
fn first_audio_bytes_are_not_held_back() {
    let len = 200_000;
    for (http, query) in [
        ("1.1", ""),
        ("1.1", "&chunked=1&noranges=1"),
        ("1.0", ""),
        ("1.0", "&chunked=1&noranges=1"),
    ] {
        for icy in ["0", "1"] {
            let (origin, proxy) = setup(len, &format!("?stall_after=1000&stall_ms=2000{query}"));
            let mut s = connect(proxy.addr);
            let started = Instant::now();
            write!(
                s,
                "GET /proxy/{ID} HTTP/{http}\r\nHost: x\r\nIcy-MetaData: {icy}\r\n\r\n"
            )
            .expect("send");
            let mut r = BufReader::new(s);
            let (status, headers) = read_head(&mut r);
            assert!(status.contains(" 200 "), "{status}");
            let chunked = headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
            let mut got = 0;
            while got < 1000 {
                if chunked {
                    let mut size = String::new();
                    r.read_line(&mut size).expect("chunk size");
                    let n = usize::from_str_radix(size.trim(), 16).expect("hex");
                    let mut chunk = vec![0; n + 2];
                    r.read_exact(&mut chunk).expect("chunk");
                    got += n;
                } else {
                    let buf = r.fill_buf().expect("read");
                    assert!(!buf.is_empty(), "body ended early");
                    got += buf.len();
                    let n = buf.len();
                    r.consume(n);
                }
            }
            let arrived = Instant::now();
            let took = arrived - started;
            let sent = origin
                .log
                .first_body_byte_at
                .lock()
                .expect("lock")
                .expect("origin sent");
            let lag = arrived - sent;
            eprintln!(
                "HTTP/{http}{query} icy={icy}: first 1000 bytes {took:?} after the request, \
                 {lag:?} after upstream sent them"
            );
            // The figure is the bench's; this catches bytes held back
            // until the pause ends, even on a loaded machine.
            assert!(
                lag < Duration::from_millis(1000),
                "first bytes held back {lag:?}"
            );
        }
    }
}

fn read_to_close(mut r: impl Read) -> Vec<u8> {
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).expect("read to close");
    rest
}

#[test]
fn close_delimited_body_for_http10_without_length() {
    let len = MB + 3;
    let (_origin, proxy) = setup(len, "?chunked=1&noranges=1");
    let mut s = connect(proxy.addr);
    write!(s, "GET /proxy/{ID} HTTP/1.0\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    assert!(status.starts_with("HTTP/1.0 200"), "{status}");
    assert!(
        !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    );
    assert!(
        !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
    );
    let body = read_to_close(r);
    assert!(body == audio_bytes(len), "HTTP/1.0 body differs");
}

#[test]
fn keep_alive_serves_two_streams_on_one_connection() {
    let len = 300_000;
    let (_origin, proxy) = setup(len, "");
    let mut s = connect(proxy.addr);
    write!(s, "GET /proxy/{ID} HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let first = read_reply(&mut r, false);
    assert!(first.body == audio_bytes(len));
    write!(
        s,
        "GET /proxy/{ID} HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let second = read_reply(&mut r, false);
    let (audio, _) = split_icy(&second.body, 16000);
    assert!(audio == audio_bytes(len));
}

#[test]
fn a_client_that_leaves_frees_its_worker_and_the_upstream() {
    let len = 64 * MB;
    let origin = Origin::start();
    let proxy = Proxy::start_with("[server]\nworkers = 1\n");
    proxy.add(ID, &origin.url(&format!("/audio/{len}")), "A", "T");
    let mut s = connect(proxy.addr);
    write!(s, "GET /proxy/{ID} HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut buf = vec![0; 256 * 1024];
    s.read_exact(&mut buf).expect("some audio");
    assert_eq!(health(proxy.addr)["active_streams"], 1);
    let left = Instant::now();
    drop(s);
    assert!(
        wait_until(
            Duration::from_secs(1),
            || health(proxy.addr)["active_streams"] == 0
        ),
        "worker still busy 1 s after the client left"
    );
    eprintln!("worker free {:?} after the client left", left.elapsed());
    assert!(
        wait_until(Duration::from_secs(2), || origin
            .log
            .aborted
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 1),
        "upstream connection was not closed"
    );
    assert!(
        origin.body_bytes() < (len / 2) as u64,
        "upstream kept downloading"
    );
    // The single worker takes the next stream.
    let reply = get(
        proxy.addr,
        &format!("/proxy/{ID}"),
        &[("Range", "bytes=0-9999")],
    );
    assert_eq!(reply.status, 206);
}

#[test]
fn a_client_that_leaves_during_an_upstream_stall_frees_its_worker() {
    let origin = Origin::start();
    let proxy = Proxy::start_with("[server]\nworkers = 1\n[upstream]\nread_timeout_secs = 30\n");
    proxy.add(
        ID,
        &origin.url("/audio/1000000?stall_after=50000&stall_ms=20000"),
        "A",
        "T",
    );
    let mut s = connect(proxy.addr);
    write!(s, "GET /proxy/{ID} HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    let _ = read_head(&mut r);
    let mut first = vec![0; 50_000];
    r.read_exact(&mut first).expect("audio before the stall");
    assert_eq!(health(proxy.addr)["active_streams"], 1);
    // Upstream is silent now; the client goes.
    drop(r);
    let left = Instant::now();
    assert!(
        wait_until(
            Duration::from_secs(1),
            || health(proxy.addr)["active_streams"] == 0
        ),
        "the worker waited on the stalled upstream after its client left"
    );
    eprintln!(
        "worker free {:?} after the client left mid-stall",
        left.elapsed()
    );
    let reply = get(
        proxy.addr,
        &format!("/proxy/{ID}"),
        &[("Range", "bytes=0-99")],
    );
    assert_eq!(reply.status, 206, "the single worker serves again");
}

#[test]
fn stop_ends_in_flight_streams_within_two_seconds() {
    let (_origin, proxy) = setup(MB, "?stall_after=10000&stall_ms=30000");
    let mut s = connect(proxy.addr);
    write!(s, "GET /proxy/{ID} HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut r = BufReader::new(s);
    let _ = read_head(&mut r);
    assert!(wait_until(
        Duration::from_secs(2),
        || health(proxy.addr)["active_streams"] == 1
    ));
    let took = proxy.stop();
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
}
