//! Bytes read from a socket and not yet used: a fixed buffer, so a peer
//! that sends without end costs no more than its size. Lines are taken
//! from it whole; what `poll` cannot see (bytes already read) is asked
//! with [`Inbox::has_line`].

use std::io::{self, Read};

/// Whether a read error only means nothing arrived within the socket's
/// read timeout (or a signal came): read again.
pub fn no_data_yet(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

pub struct Inbox {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// What [`Inbox::take_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// A whole line, without its `\n` (a `\r` before it is kept).
    Line(Vec<u8>),
    /// No `\n` yet, and room for more.
    Partial,
    /// The buffer is full and holds no `\n`: longer than any line may be.
    TooLong,
}

impl Inbox {
    /// A buffer of `capacity` bytes: the longest line it can take.
    pub fn new(capacity: usize) -> Inbox {
        Inbox {
            buf: vec![0; capacity.max(16)].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The bytes read and not yet used.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Whether a whole line is waiting.
    pub fn has_line(&self) -> bool {
        self.buffered().contains(&b'\n')
    }

    /// Reads once from `from` into the free room (moving what is kept to
    /// the front first); the bytes read, 0 at the end of the stream or
    /// when the buffer is full.
    pub fn fill(&mut self, from: &mut impl Read) -> io::Result<usize> {
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return Ok(0);
        }
        let n = from.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// Whether there is room to read more.
    pub fn is_full(&self) -> bool {
        self.start == 0 && self.end == self.buf.len()
    }

    /// Takes the next whole line, if one is waiting.
    pub fn take_line(&mut self) -> Taken {
        match self.buffered().iter().position(|&b| b == b'\n') {
            Some(at) => {
                let line = self.buffered()[..at].to_vec();
                self.consume(at + 1);
                Taken::Line(line)
            }
            None if self.is_full() => Taken::TooLong,
            None => Taken::Partial,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_taken_whole_and_a_full_buffer_without_one_is_too_long() {
        let mut inbox = Inbox::new(16);
        let mut from: &[u8] = b"status\nlsinfo \"a";
        inbox.fill(&mut from).expect("read");
        assert_eq!(inbox.take_line(), Taken::Line(b"status".to_vec()));
        assert_eq!(inbox.take_line(), Taken::Partial);
        let mut more: &[u8] = b"\"\r\n";
        inbox.fill(&mut more).expect("read");
        assert_eq!(inbox.take_line(), Taken::Line(b"lsinfo \"a\"\r".to_vec()));
        let mut endless: &[u8] = &[b'x'; 40];
        while inbox.fill(&mut endless).expect("read") > 0 {}
        assert_eq!(inbox.take_line(), Taken::TooLong);
        assert_eq!(inbox.buffered().len(), 16);
    }
}
