//! `cargo bench --bench reader`: `icyproxy search QUERY --limit 20` from
//! start to printed rows, through the reader (one request to a stand-in
//! for YouTube Music's API) against the yt-dlp path (the playlist command
//! and the resolver stand-ins of `tests/fixtures`), both with the same
//! stand-in latency; and `icyproxy --version` as the baseline of a run's
//! start. Then the peak heap while the reader parses a large answer,
//! against the answer's size (a counting allocator in this process).
//!
//! Target (issue 29): at most 30 ms of icyproxy's own time beyond the
//! stand-in's latency.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the stand-in (and yt-dlp's stand-in) waits before answering.
const LATENCY: Duration = Duration::from_millis(80);
const ROUNDS: usize = 5;

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = NOW.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the layout is the caller's, passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = stand_in(search_answer(20));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let music_dir = dir.path().join("music");
    std::fs::create_dir_all(&music_dir).expect("dir");
    // yt-dlp's stand-in sleeps this long: the same latency.
    std::fs::write(
        music_dir.join("delay"),
        format!("{}", LATENCY.as_secs_f64()),
    )
    .expect("delay");
    let resolver = format!(
        "[resolver]\ncommand = [{:?}, {:?}, \"music\", \"http://127.0.0.1:9/a\", \"{{video_id}}\"]\n\
         playlist_command = [{:?}, {:?}, {:?}, \"{{url}}\"]\n",
        fixtures.join("fake-resolver").display().to_string(),
        dir.path().join("resolved").display().to_string(),
        fixtures.join("fake-ytdlp-music").display().to_string(),
        dir.path().join("calls").display().to_string(),
        music_dir.display().to_string(),
    );
    let config = |name: &str, api_url: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "[store]\npath = \"{name}.db\"\n[mpd]\naddress = \"\"\n[cache]\nmax_mb = 0\n\
                 [youtube]\napi_url = {api_url:?}\n{resolver}"
            ),
        )
        .expect("config");
        path
    };
    let reader = config("reader", &format!("http://{api}"));
    let ytdlp = config("ytdlp", "");
    let run = |config: &Path, args: &[&str]| {
        let started = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
            .arg("--config")
            .arg(config)
            .args(args)
            .output()
            .expect("run icyproxy");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let rows = String::from_utf8_lossy(&o.stdout).lines().count();
        (started.elapsed(), rows)
    };
    let best = |config: &Path, args: &[&str]| {
        (0..ROUNDS)
            .map(|_| run(config, args))
            .min_by_key(|(took, _)| *took)
            .expect("rounds")
    };
    let search = ["search", "daft punk", "--limit", "20"];
    let (start, _) = best(&reader, &["--version"]);
    let (through_reader, rows) = best(&reader, &search);
    assert_eq!(rows, 20, "20 rows through the reader");
    let (through_ytdlp, rows) = best(&ytdlp, &search);
    assert_eq!(rows, 20, "20 rows through yt-dlp");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let own = ms(through_reader) - ms(LATENCY) - ms(start);
    println!(
        "search --limit 20, best of {ROUNDS}, stand-in latency {:.0} ms:",
        ms(LATENCY)
    );
    println!("  icyproxy --version (a run's start)  {:8.1} ms", ms(start));
    println!(
        "  through the reader                  {:8.1} ms",
        ms(through_reader)
    );
    println!(
        "  through yt-dlp's stand-ins          {:8.1} ms",
        ms(through_ytdlp)
    );
    println!(
        "  reader / yt-dlp path                {:8.2}x",
        through_reader.as_secs_f64() / through_ytdlp.as_secs_f64()
    );
    println!("  icyproxy's own time beyond the stand-in and the start: {own:.1} ms (target <= 30)");

    // Parse memory: the largest answer the reader reads in one piece, a
    // search page of many rows.
    let big = search_answer(4000);
    let before = NOW.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let started = Instant::now();
    let found = icyproxy::catalog::music::offline::read_all(big.as_bytes()).expect("parses");
    let took = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert!(found >= 4000, "{found}");
    println!(
        "parse of a {:.1} MB answer ({found} rows): {:.1} ms, peak heap {:.1} MB ({:.1}x its size)",
        big.len() as f64 / 1e6,
        ms(took),
        peak as f64 / 1e6,
        peak as f64 / big.len() as f64
    );
}

/// A song search's answer of `rows` rows, in the API's shape.
fn search_answer(rows: usize) -> String {
    let row = |n: usize| {
        let id = format!("bench{n:06}");
        format!(
            r#"{{"musicResponsiveListItemRenderer":{{"thumbnail":{{"musicThumbnailRenderer":{{"thumbnail":{{"thumbnails":[{{"url":"https://lh3.googleusercontent.com/{id}=w60-h60-l90-rj","width":60,"height":60}},{{"url":"https://lh3.googleusercontent.com/{id}=w120-h120-l90-rj","width":120,"height":120}}]}}}}}},"flexColumns":[{{"musicResponsiveListItemFlexColumnRenderer":{{"text":{{"runs":[{{"text":"Song {n}","navigationEndpoint":{{"watchEndpoint":{{"videoId":"{id}"}}}}}}]}}}}}},{{"musicResponsiveListItemFlexColumnRenderer":{{"text":{{"runs":[{{"text":"Artist {n}","navigationEndpoint":{{"browseEndpoint":{{"browseId":"UCbench","browseEndpointContextSupportedConfigs":{{"browseEndpointContextMusicConfig":{{"pageType":"MUSIC_PAGE_TYPE_ARTIST"}}}}}}}}}},{{"text":" • "}},{{"text":"Album {n}","navigationEndpoint":{{"browseEndpoint":{{"browseId":"MPREb_bench"}}}}}},{{"text":" • "}},{{"text":"3:{:02}"}}]}}}}}}],"playlistItemData":{{"videoId":"{id}"}}}}}}"#,
            n % 60
        )
    };
    let rows: Vec<String> = (0..rows).map(row).collect();
    format!(
        r#"{{"contents":{{"tabbedSearchResultsRenderer":{{"tabs":[{{"tabRenderer":{{"content":{{"sectionListRenderer":{{"contents":[{{"musicShelfRenderer":{{"contents":[{}]}}}}]}}}}}}}}]}}}}}}"#,
        rows.join(",")
    )
}

/// Serves `answer` to every request after [`LATENCY`]; its address.
fn stand_in(answer: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                std::thread::sleep(LATENCY);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{answer}",
                    answer.len()
                );
            });
        }
    });
    addr
}
