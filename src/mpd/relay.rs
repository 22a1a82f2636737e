//! One front-door client's own connection to MPD: commands go out as the
//! client wrote them, answers come back byte for byte. Only the end of an
//! answer is looked at (`OK`, `ACK …`, and `binary: N` followed by N raw
//! bytes), so a 10,000-song `listallinfo` is copied, never parsed. The
//! connection is the client's, with MPD's permissions for the client: no
//! password of icyproxy's is ever sent on it.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::client::{Failure, Stream};
use super::inbox::{Inbox, Taken};
use super::protocol::{self, Ack, Budget, Line};

/// How often a blocked read looks at `stopping`.
const TICK: Duration = Duration::from_millis(200);
/// How long MPD may stay silent in the middle of an answer.
const SILENCE: Duration = Duration::from_secs(60);
/// How long a write to MPD may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes read at a time.
const BUFFER: usize = 64 << 10;

/// How an answer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `OK` (not copied).
    Ok,
    /// `ACK …` (not copied): the line without its `\n`.
    Ack(String),
}

/// A parsed answer: its pairs, or MPD's refusal.
pub type Asked = Result<Vec<(String, String)>, Ack>;
/// A list's answers, one per command; or those before MPD's refusal, and it.
pub type ListAnswers = Result<Vec<Vec<(String, String)>>, (Vec<Vec<(String, String)>>, Ack)>;

pub struct MpdLink {
    stream: Stream,
    inbox: Inbox,
    stopping: Arc<AtomicBool>,
}

impl MpdLink {
    /// Connects and reads MPD's greeting; the greeting line (with its
    /// `\n`) is returned to be sent to the client as it is.
    pub fn open(address: &str, stopping: &Arc<AtomicBool>) -> Result<(MpdLink, Vec<u8>), Failure> {
        let stream = Stream::connect(address, stopping)?;
        stream
            .set_timeouts_to(TICK, WRITE_TIMEOUT)
            .map_err(|e| Failure::Unreachable(e.to_string()))?;
        let mut link = MpdLink {
            stream,
            inbox: Inbox::new(BUFFER),
            stopping: Arc::clone(stopping),
        };
        let greeting = link.line(Budget::IDLE.max_line())?;
        protocol::parse_greeting(&String::from_utf8_lossy(&greeting))
            .map_err(|e| Failure::Lost(e.0))?;
        let mut line = greeting;
        line.push(b'\n');
        Ok((link, line))
    }

    /// The socket, for `poll`.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.stream.fd()
    }

    /// Whether bytes from MPD are waiting already read (which `poll` on
    /// the socket does not see).
    pub fn has_buffered(&self) -> bool {
        !self.inbox.buffered().is_empty()
    }

    /// Sends `bytes` (whole lines, each with its `\n`).
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| Failure::Lost(format!("cannot send to MPD: {e}")))
    }

    /// Sends one command line (without `\n`) and reads its answer as pairs.
    pub fn ask(&mut self, line: &str) -> Result<Asked, Failure> {
        self.send(format!("{line}\n").as_bytes())?;
        self.read_asked()
    }

    /// Sends `commands` as one `command_list_ok_begin` list and reads
    /// one answer per command; MPD's `ACK` (which ends the list) instead,
    /// with the answers before it.
    pub fn ask_list(&mut self, commands: &[String]) -> Result<ListAnswers, Failure> {
        let mut text = String::from("command_list_ok_begin\n");
        for command in commands {
            text.push_str(command);
            text.push('\n');
        }
        text.push_str("command_list_end\n");
        self.send(text.as_bytes())?;
        let mut answers = Vec::with_capacity(commands.len());
        let mut pairs = Vec::new();
        let mut budget = Budget::COMMAND;
        loop {
            match self.next_answer_line(&mut budget)? {
                Line::Ok => return Ok(Ok(answers)),
                Line::ListOk => answers.push(std::mem::take(&mut pairs)),
                Line::Ack(ack) => return Ok(Err((answers, ack))),
                Line::Pair(key, value) => pairs.push((key, value)),
            }
        }
    }

    fn next_answer_line(&mut self, budget: &mut Budget) -> Result<Line, Failure> {
        let line = self.line(budget.max_line())?;
        budget
            .take(line.len() + 1)
            .map_err(|e| Failure::Lost(e.0))?;
        protocol::parse_line(&String::from_utf8_lossy(&line)).map_err(|e| Failure::Lost(e.0))
    }

    /// Reads one answer as pairs, within [`Budget::COMMAND`].
    pub fn read_asked(&mut self) -> Result<Asked, Failure> {
        let mut budget = Budget::COMMAND;
        let mut pairs = Vec::new();
        loop {
            match self.next_answer_line(&mut budget)? {
                Line::Ok => return Ok(Ok(pairs)),
                Line::Ack(ack) => return Ok(Err(ack)),
                Line::Pair(key, value) => pairs.push((key, value)),
                Line::ListOk => {
                    return Err(Failure::Lost("MPD sent list_OK outside a list".into()));
                }
            }
        }
    }

    /// Copies one answer to `out` up to its end, which is returned and
    /// not copied. `list_OK` lines are copied like any other.
    pub fn relay(&mut self, out: &mut impl Write) -> Result<End, Failure> {
        // Within a line longer than the buffer: its start was copied.
        let mut mid_line = false;
        loop {
            match scan(self.inbox.buffered(), &mut mid_line) {
                Scan::End { lines, line, end } => {
                    write(out, &self.inbox.buffered()[..lines])?;
                    self.inbox.consume(lines + line);
                    return Ok(end);
                }
                Scan::Binary { through, size } => {
                    write(out, &self.inbox.buffered()[..through])?;
                    self.inbox.consume(through);
                    self.copy_raw(out, size + 1)?;
                }
                Scan::More { lines } => {
                    write(out, &self.inbox.buffered()[..lines])?;
                    self.inbox.consume(lines);
                    // A partial line that fills the buffer cannot be an end.
                    if self.inbox.is_full() {
                        let all = self.inbox.buffered().len();
                        write(out, self.inbox.buffered())?;
                        self.inbox.consume(all);
                        mid_line = true;
                    }
                    self.fill()?;
                }
            }
        }
    }

    /// Copies `n` raw bytes (a binary chunk and its `\n`).
    fn copy_raw(&mut self, out: &mut impl Write, mut n: usize) -> Result<(), Failure> {
        while n > 0 {
            if self.inbox.buffered().is_empty() {
                self.fill()?;
            }
            let take = self.inbox.buffered().len().min(n);
            write(out, &self.inbox.buffered()[..take])?;
            self.inbox.consume(take);
            n -= take;
        }
        Ok(())
    }

    /// One line (without `\n`), at most `max` bytes long.
    fn line(&mut self, max: u64) -> Result<Vec<u8>, Failure> {
        loop {
            match self.inbox.take_line() {
                Taken::Line(line) if line.len() as u64 <= max => return Ok(line),
                Taken::Line(_) | Taken::TooLong => {
                    return Err(Failure::Lost(
                        "MPD's answer is longer than any answer to this command can be".into(),
                    ));
                }
                Taken::Partial if self.inbox.buffered().len() as u64 > max => {
                    return Err(Failure::Lost(
                        "MPD's answer is longer than any answer to this command can be".into(),
                    ));
                }
                Taken::Partial => self.fill()?,
            }
        }
    }

    /// Reads more from MPD: waits (in ticks, looking at `stopping`) up to
    /// [`SILENCE`].
    fn fill(&mut self) -> Result<(), Failure> {
        let deadline = Instant::now() + SILENCE;
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return Err(Failure::Stopped);
            }
            match self.inbox.fill(&mut self.stream) {
                Ok(0) => return Err(Failure::Lost("MPD closed the connection".into())),
                Ok(_) => return Ok(()),
                Err(e) if super::inbox::no_data_yet(&e) => {
                    if Instant::now() >= deadline {
                        return Err(Failure::Lost(format!(
                            "MPD was silent for {} s in the middle of an answer",
                            SILENCE.as_secs()
                        )));
                    }
                }
                Err(e) => return Err(Failure::Lost(format!("reading from MPD: {e}"))),
            }
        }
    }
}

/// What the bytes read so far hold: whole lines to copy (`lines` bytes),
/// then the answer's end, a binary chunk, or a partial line.
enum Scan {
    /// `lines` bytes to copy, then the end line of `line` bytes.
    End { lines: usize, line: usize, end: End },
    /// Copy `through` bytes (up to and with the `binary: N` line), then N
    /// raw bytes and a `\n`.
    Binary { through: usize, size: usize },
    /// Copy `lines` bytes; what follows is a partial line.
    More { lines: usize },
}

fn scan(buffered: &[u8], mid_line: &mut bool) -> Scan {
    let mut at = 0;
    while let Some(nl) = buffered[at..].iter().position(|&b| b == b'\n') {
        let line = &buffered[at..at + nl + 1];
        if !std::mem::take(mid_line) {
            if line == b"OK\n" {
                return Scan::End {
                    lines: at,
                    line: line.len(),
                    end: End::Ok,
                };
            }
            if line.starts_with(b"ACK ") {
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                return Scan::End {
                    lines: at,
                    line: line.len(),
                    end: End::Ack(text),
                };
            }
            if let Some(size) = binary_size(line) {
                return Scan::Binary {
                    through: at + line.len(),
                    size,
                };
            }
        }
        at += nl + 1;
    }
    Scan::More { lines: at }
}

/// `binary: N\n` → N.
fn binary_size(line: &[u8]) -> Option<usize> {
    let digits = line.strip_prefix(b"binary: ")?.strip_suffix(b"\n")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn write(out: &mut impl Write, bytes: &[u8]) -> Result<(), Failure> {
    if bytes.is_empty() {
        return Ok(());
    }
    out.write_all(bytes)
        .map_err(|e| Failure::Lost(format!("the client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_finds_the_end_the_binary_chunk_or_a_partial_line() {
        let mut mid = false;
        match scan(b"file: a\nTitle: OK\nOK\nnext", &mut mid) {
            Scan::End { lines, line, end } => {
                assert_eq!((lines, line, end), (18, 3, End::Ok));
            }
            _ => panic!("no end"),
        }
        match scan(b"size: 3\nbinary: 3\nOK\n", &mut mid) {
            Scan::Binary { through, size } => assert_eq!((through, size), (18, 3)),
            _ => panic!("no binary"),
        }
        match scan(b"a: b\nACK [50@0] {lsinfo} No such directory\n", &mut mid) {
            Scan::End { lines, end, .. } => {
                assert_eq!(lines, 5);
                assert_eq!(
                    end,
                    End::Ack("ACK [50@0] {lsinfo} No such directory".into())
                );
            }
            _ => panic!("no ack"),
        }
        assert!(matches!(
            scan(b"a: b\nOK", &mut mid),
            Scan::More { lines: 5 }
        ));
        // The rest of a long line is never an end, even if it reads "OK".
        mid = true;
        assert!(matches!(
            scan(b"OK\nOK\n", &mut mid),
            Scan::End { lines: 3, .. }
        ));
    }

    #[test]
    fn binary_sizes() {
        assert_eq!(binary_size(b"binary: 8192\n"), Some(8192));
        assert_eq!(binary_size(b"binary: x\n"), None);
        assert_eq!(binary_size(b"binaryx: 1\n"), None);
    }
}
