//! Reading one upstream body as a chain of ranged pieces: each request
//! asks for at most `chunk` bytes (googlevideo throttles larger ranges),
//! and a piece that drops or stalls is reopened at the next byte, so the
//! client sees one unbroken body.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use log::debug;

use crate::error::Result;
use crate::stream::retry::{self, Recovery, Stage};
use crate::stream::upstream::Piece;

/// Reads `[next, end)` of the upstream body as a chain of ranged pieces of
/// at most `chunk` bytes, and resumes from the next byte when a piece drops
/// or stalls. The client sees one unbroken body.
pub struct PieceReader<'a> {
    current: Option<Box<dyn Read + Send>>,
    next: u64,
    piece_end: u64,
    end: u64,
    chunk: u64,
    retries: u32,
    failures: u32,
    open: &'a mut dyn FnMut(u64, u64) -> Result<Piece>,
    /// When one is set (server stopping, client gone), give up at once
    /// instead of retrying.
    stop_flags: Vec<&'a AtomicBool>,
    /// How many times a piece was reopened after a failure.
    pub resumes: u32,
}

impl<'a> PieceReader<'a> {
    /// Starts with the already open `first` piece; `end` is the exclusive
    /// end of the whole span; `open(start, end)` fetches a further piece.
    pub fn new(
        first: Piece,
        end: u64,
        chunk: u64,
        retries: u32,
        open: &'a mut dyn FnMut(u64, u64) -> Result<Piece>,
    ) -> PieceReader<'a> {
        PieceReader {
            next: first.start,
            piece_end: first.end.min(end),
            current: Some(first.body),
            end,
            chunk,
            retries,
            failures: 0,
            open,
            stop_flags: Vec::new(),
            resumes: 0,
        }
    }

    /// Gives up at once, instead of retrying, once `flag` is set.
    pub fn stop_when(mut self, flag: &'a AtomicBool) -> Self {
        self.stop_flags.push(flag);
        self
    }

    /// Counts a failure; after `retries` consecutive ones the read fails.
    fn failed(&mut self, why: &str) -> io::Result<()> {
        self.current = None;
        self.failures += 1;
        let stop = self.stop_flags.iter().any(|f| f.load(Ordering::Relaxed));
        if self.failures > self.retries || stop {
            return Err(io::Error::other(format!(
                "gave up at byte {} after {} attempts: {why}",
                self.next, self.failures
            )));
        }
        debug!(
            "upstream failed at byte {} ({why}); retry {}",
            self.next, self.failures
        );
        thread::sleep(retry::backoff(self.failures));
        Ok(())
    }

    fn open_next(&mut self) -> io::Result<()> {
        let want_end = self.next.saturating_add(self.chunk).min(self.end);
        match (self.open)(self.next, want_end) {
            Ok(piece) => {
                self.piece_end = piece.end.min(self.end);
                self.current = Some(piece.body);
                if self.failures > 0 {
                    self.resumes += 1;
                }
                Ok(())
            }
            // A refusal reaching here was refreshed already, or cannot be.
            Err(e) => match Recovery::of(&e, Stage::Body) {
                Recovery::Retry => self.failed(&e.to_string()),
                Recovery::Refresh | Recovery::GiveUp => Err(io::Error::other(e.to_string())),
            },
        }
    }
}

impl Read for PieceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.next >= self.end || buf.is_empty() {
                return Ok(0);
            }
            let Some(body) = self.current.as_mut() else {
                self.open_next()?;
                continue;
            };
            let want = buf
                .len()
                .min((self.piece_end - self.next).min(usize::MAX as u64) as usize);
            match body.read(&mut buf[..want]) {
                Ok(0) if self.next < self.piece_end => self.failed("connection closed early")?,
                Ok(0) => self.current = None,
                Ok(n) => {
                    self.next += n as u64;
                    self.failures = 0;
                    if self.next >= self.piece_end {
                        self.current = None;
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.failed(&e.to_string())?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    /// Pieces served from memory, failing as scripted: the reader must
    /// still deliver every byte exactly once, in order.
    #[test]
    fn piece_reader_joins_pieces_and_resumes() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        // Each open call: (cut the piece short after n bytes, or fail to open).
        let mut script = vec![None, Some(Ok(300)), Some(Err(())), None, Some(Ok(0))].into_iter();
        let mut opened = Vec::new();
        let mut open = |start: u64, end: u64| -> Result<Piece> {
            opened.push((start, end));
            let (s, e) = (start as usize, end as usize);
            let body: Vec<u8> = match script.next().flatten() {
                Some(Ok(cut)) => data[s..e.min(s + cut)].to_vec(),
                Some(Err(())) => return Err(Error::UpstreamStatus(503)),
                None => data[s..e].to_vec(),
            };
            Ok(Piece {
                body: Box::new(io::Cursor::new(body)),
                start,
                end,
                total: Some(10_000),
            })
        };
        let stop = AtomicBool::new(false);
        let first = Piece {
            body: Box::new(io::Cursor::new(data[100..1100].to_vec())),
            start: 100,
            end: 1100,
            total: Some(10_000),
        };
        let mut reader = PieceReader::new(first, 9_000, 1000, 3, &mut open).stop_when(&stop);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("all bytes");
        let resumes = reader.resumes;
        assert_eq!(out, &data[100..9_000]);
        assert_eq!(opened[0], (1100, 2100));
        assert_eq!(opened[1], (2100, 3100));
        assert_eq!(opened[2], (2400, 3400), "resumed at the next byte");
        assert_eq!(opened[3], (2400, 3400), "retried after 503");
        assert!(resumes >= 2);
    }

    #[test]
    fn piece_reader_gives_up_after_retries() {
        let mut open = |_: u64, _: u64| -> Result<Piece> {
            Err(Error::unreachable(
                "h",
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
            ))
        };
        let stop = AtomicBool::new(false);
        let first = Piece {
            body: Box::new(io::Cursor::new(vec![1u8; 10])),
            start: 0,
            end: 10,
            total: Some(100),
        };
        let mut reader = PieceReader::new(first, 100, 10, 1, &mut open).stop_when(&stop);
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).expect_err("gives up");
        assert!(err.to_string().contains("gave up at byte 10"), "{err}");
        assert_eq!(out.len(), 10);
    }
}
