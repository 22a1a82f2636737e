//! `cargo bench --bench playlist_import`: how long `icyproxy playlist
//! import` takes for a 5,000-entry playlist (target: under 2 s on the
//! 2-core development machine), beside the time the playlist command alone
//! takes (the baseline, measured in the same run). Checks that the store
//! and the served playlist hold all 5,000 entries in order.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ENTRIES: usize = 5000;
const ROUNDS: usize = 3;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("list.json");
    let ids: Vec<String> = (0..ENTRIES).map(|i| format!("bench{i:06}")).collect();
    std::fs::write(&json, listing(&ids)).expect("listing");
    let size = std::fs::metadata(&json).map_or(0, |m| m.len());
    let config = dir.path().join("proxy.toml");
    let command = format!("[\"sh\", \"-c\", \"cat {}\", \"{{url}}\"]", json.display());
    std::fs::write(
        &config,
        // The reader off: this measures the playlist command's path.
        format!(
            "[store]\npath = \"bench.db\"\n[youtube]\napi_url = \"\"\n[resolver]\nplaylist_command = {command}\n"
        ),
    )
    .expect("config");
    let url = "https://music.youtube.com/playlist?list=PLbench";

    let mut command_alone = Vec::new();
    let mut imports = Vec::new();
    for round in 0..ROUNDS {
        let started = Instant::now();
        let ok = Command::new("sh")
            .args(["-c", &format!("cat {} > /dev/null", json.display()), url])
            .status()
            .expect("sh")
            .success();
        assert!(ok);
        command_alone.push(started.elapsed());
        let started = Instant::now();
        let out = icyproxy(&config, &["playlist", "import", url, "--name", "Bench"]);
        imports.push(started.elapsed());
        eprintln!("round {round}: {} in {:?}", out.trim(), imports[round]);
    }
    check_order(&config, &ids);
    let import = median(imports);
    let alone = median(command_alone);
    println!(
        "\nplaylist import, {ENTRIES} entries ({:.1} MB of flat JSON), median of {ROUNDS}:",
        size as f64 / 1e6
    );
    println!(
        "  icyproxy playlist import: {:.3} s (target < 2 s: {}); the playlist command alone: {:.3} s; ratio {:.1}",
        import.as_secs_f64(),
        if import < Duration::from_secs(2) {
            "met"
        } else {
            "MISSED"
        },
        alone.as_secs_f64(),
        import.as_secs_f64() / alone.as_secs_f64().max(1e-6)
    );
    println!("  store and served playlist: all {ENTRIES} entries, in order");
}

/// A flat playlist shaped like yt-dlp's, `ids` in order.
fn listing(ids: &[String]) -> String {
    let entries: Vec<serde_json::Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::json!({
                "_type": "url", "ie_key": "Youtube", "id": id,
                "url": format!("https://www.youtube.com/watch?v={id}"),
                "title": format!("Song number {i}"), "duration": 180 + (i % 120),
                "channel": format!("Artist {} - Topic", i % 300), "channel_id": "UCxxxxxxxxxxxxxxxxxxxxxx",
                "uploader": format!("Artist {} - Topic", i % 300),
                "thumbnails": [
                    {"url": format!("https://i.ytimg.com/vi/{id}/hqdefault.jpg"), "height": 94, "width": 168},
                    {"url": format!("https://i.ytimg.com/vi/{id}/hq720.jpg"), "height": 720, "width": 1280},
                ],
                "availability": null, "live_status": null, "view_count": 1000 + i,
                "__x_forwarded_for_ip": null,
            })
        })
        .collect();
    serde_json::json!({"_type": "playlist", "id": "PLbench", "title": "Bench", "entries": entries})
        .to_string()
}

fn icyproxy(config: &Path, args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_icyproxy"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run icyproxy");
    assert!(
        o.status.success(),
        "icyproxy {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The store lists every id in order, and so does the exported playlist.
fn check_order(config: &Path, ids: &[String]) {
    let listed: Vec<String> = icyproxy(config, &["playlist", "list", "Bench"])
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_owned())
        .collect();
    assert!(listed == ids, "the store lost or reordered entries");
    let m3u = icyproxy(config, &["playlist", "export", "Bench", "--format", "m3u"]);
    let urls: Vec<&str> = m3u.lines().filter(|l| l.starts_with("http")).collect();
    assert_eq!(urls.len(), ids.len());
    for (url, id) in urls.iter().zip(ids) {
        assert!(url.contains(&format!("/proxy/{id}/")), "{url} is not {id}");
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
