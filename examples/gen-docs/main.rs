//! Writes icyproxy's man pages and shell completions into a directory:
//!
//!     cargo run --example gen-docs -- OUTDIR
//!
//! `scripts/dist` runs it and packages what it writes (see `pages.rs`).
//! An example rather than part of the binary, so that clap_mangen and
//! clap_complete stay out of the release build.

use std::path::PathBuf;
use std::process::ExitCode;

mod pages;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: cargo run --example gen-docs -- OUTDIR");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    match pages::write_all(&dir) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-docs: cannot write into {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
