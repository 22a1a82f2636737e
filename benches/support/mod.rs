//! What more than one bench needs: one download through a server, its
//! head's length read.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

/// Downloads `path` once; returns (body bytes, seconds).
pub fn download(addr: SocketAddr, path: &str, icy: bool) -> (u64, f64) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    let icy_header = if icy { "Icy-MetaData: 1\r\n" } else { "" };
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\n{icy_header}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut r = BufReader::with_capacity(256 * 1024, s);
    let len = read_head_length(&mut r);
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while got < len {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n as u64,
        }
    }
    (got, started.elapsed().as_secs_f64())
}

pub fn read_head_length(r: &mut impl BufRead) -> u64 {
    let mut len = u64::MAX;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            return len;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(u64::MAX);
        }
    }
}
