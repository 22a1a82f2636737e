//! The layer order (ARCHITECTURE.md) holds on the real tree, and the
//! script that checks it catches a planted wrong import.

use std::path::{Path, PathBuf};
use std::process::Command;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-layers")
}

/// Runs the script on `src`, which must fail it (exit 1): what it said.
fn refused(src: &Path) -> String {
    let out = Command::new(script())
        .arg(src)
        .output()
        .expect("run scripts/check-layers");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    stderr
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's directory");
    for entry in std::fs::read_dir(from).expect("read src") {
        let entry = entry.expect("read an entry of src");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a source file");
        }
    }
}

#[test]
fn src_follows_the_layer_order() {
    let out = Command::new(script())
        .output()
        .expect("run scripts/check-layers");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_planted_wrong_import_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &src);
    // The catalog reaching up into the HTTP server, and MPD into the
    // stream through a grouped import.
    let store = src.join("catalog/store/tracks.rs");
    let mut text = std::fs::read_to_string(&store).expect("read store/tracks.rs");
    text.push_str("\nuse crate::http::server::Server;\n");
    std::fs::write(&store, text).expect("plant an import");
    let window = src.join("mpd/window.rs");
    let mut text = std::fs::read_to_string(&window).expect("read window.rs");
    text.push_str(
        "\nuse crate::{error::Error, stream::icy};\n// crate::app in a comment is no import\n",
    );
    std::fs::write(&window, text).expect("plant an import");

    let stderr = refused(&src);
    assert!(
        stderr.contains("catalog/store/tracks.rs:")
            && stderr.contains("catalog must not use crate::http"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mpd/window.rs:") && stderr.contains("mpd must not use crate::stream"),
        "{stderr}"
    );
    assert!(!stderr.contains("crate::app"), "{stderr}");
    assert!(
        stderr.contains("2 import(s) against the layer order"),
        "{stderr}"
    );
}

#[test]
fn only_main_uses_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &src);
    // The script reads every .rs file, in the module tree or not. clap's
    // types reach no layer: not the base, not the commands beside them.
    std::fs::write(src.join("planted.rs"), "use crate::cli::Cli;\n").expect("plant");
    std::fs::write(
        src.join("commands/planted.rs"),
        "use crate::{cli::Command, app::App};\n",
    )
    .expect("plant");

    let stderr = refused(&src);
    assert!(
        stderr.contains("planted.rs:1: base must not use crate::cli"),
        "{stderr}"
    );
    assert!(
        stderr.contains("commands/planted.rs:1: commands must not use crate::cli"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 import(s) against the layer order"),
        "{stderr}"
    );
}
