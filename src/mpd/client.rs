//! One connection to MPD, over TCP or a Unix socket: send a command, read
//! its answer as key/value pairs, wait in `idle`.
//!
//! Nothing here can hang or grow without bound, whatever listens on MPD's
//! port: the socket has a short read timeout (a tick), and between reads
//! (ticks, or bytes dripping in) the reader checks `stopping` and the
//! answer's deadline. A wait in `idle` has no deadline but still ends
//! within a tick of `stopping`, after sending `noidle`. Every answer is
//! bounded in lines and bytes ([`Budget`]: `idle`'s far more tightly), and
//! every byte read is counted for [`super::FollowStatus::bytes_read`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::protocol::{self, Ack, Budget, Line};

/// How often a blocked read looks at `stopping`.
const TICK: Duration = Duration::from_millis(200);
/// How long one TCP connect may take (a stop waits for it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long MPD may take to answer a command (not `idle`), the greeting
/// included: MPD answers in milliseconds, even on a Pi.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// MPD's port when the address names none.
const DEFAULT_PORT: u16 = 6600;

/// Why a connection or a command did not work.
#[derive(Debug)]
pub enum Failure {
    /// `stopping` was set.
    Stopped,
    /// No connection could be made.
    Unreachable(String),
    /// MPD refused the command; the connection is still usable.
    Ack(Ack),
    /// The connection broke, timed out or carried something that is not
    /// MPD's protocol: it must be dropped.
    Lost(String),
}

/// Why [`Connection::login`] did not work.
#[derive(Debug)]
pub enum LoginFailure {
    /// No connection, or no greeting.
    Connect(Failure),
    /// MPD (`version`) answered, but the password holds a line break,
    /// which MPD's protocol cannot carry: it was not sent.
    Unsendable { version: String },
    /// MPD (`version`) answered, but sending the password failed
    /// ([`Failure::Ack`]: MPD refused it).
    Password { version: String, failure: Failure },
}

/// A connection's socket, TCP or Unix.
pub(super) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

impl Stream {
    /// Connects to `address` (`host:port`, `host`, or a socket path).
    pub(super) fn connect(address: &str, stopping: &AtomicBool) -> Result<Stream, Failure> {
        match address.starts_with('/') {
            true => UnixStream::connect(address)
                .map(Stream::Unix)
                .map_err(|e| Failure::Unreachable(e.to_string())),
            false => connect_tcp(address, stopping).map(Stream::Tcp),
        }
    }

    /// The socket, for `poll`.
    pub(super) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
        }
    }

    /// Read and write timeouts of its own (the front door's).
    pub(super) fn set_timeouts_to(&self, read: Duration, write: Duration) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.set_read_timeout(Some(read))?;
                s.set_write_timeout(Some(write))?;
                s.set_nodelay(true)
            }
            Stream::Unix(s) => {
                s.set_read_timeout(Some(read))?;
                s.set_write_timeout(Some(write))
            }
        }
    }

    fn set_timeouts(&self) -> io::Result<()> {
        self.set_timeouts_to(TICK, WRITE_TIMEOUT)
    }
}

/// A connection that has read MPD's greeting.
pub struct Connection {
    reader: BufReader<Stream>,
    stopping: Arc<AtomicBool>,
    bytes_read: Arc<AtomicU64>,
    line: Vec<u8>,
    /// The protocol version MPD's greeting named.
    version: String,
}

impl Connection {
    /// Connects to `address` (`host:port`, `host` for port 6600, or a
    /// Unix socket path starting with `/`) and reads the greeting: the
    /// first half of [`Connection::login`], the only way in.
    fn open(
        address: &str,
        stopping: &Arc<AtomicBool>,
        bytes_read: &Arc<AtomicU64>,
    ) -> Result<Connection, Failure> {
        let stream = Stream::connect(address, stopping)?;
        stream
            .set_timeouts()
            .map_err(|e| Failure::Unreachable(e.to_string()))?;
        let mut connection = Connection {
            reader: BufReader::new(stream),
            stopping: Arc::clone(stopping),
            bytes_read: Arc::clone(bytes_read),
            line: Vec::new(),
            version: String::new(),
        };
        let mut budget = Budget::IDLE;
        let greeting = connection
            .read_line(Some(Instant::now() + ANSWER_TIMEOUT), &mut budget)?
            .ok_or_else(|| Failure::Lost("closed the connection without a greeting".into()))?;
        let version = protocol::parse_greeting(&greeting).map_err(|e| Failure::Lost(e.0))?;
        connection.version = version.trim().to_owned();
        Ok(connection)
    }

    /// The one MPD login: connects (see `open`), then sends `password` when
    /// there is one (`None` or empty: none is sent).
    pub fn login(
        address: &str,
        password: Option<&str>,
        stopping: &Arc<AtomicBool>,
        bytes_read: &Arc<AtomicU64>,
    ) -> Result<Connection, LoginFailure> {
        let mut connection =
            Connection::open(address, stopping, bytes_read).map_err(LoginFailure::Connect)?;
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Ok(connection);
        };
        let version = connection.version.clone();
        let Some(quoted) = protocol::quote(password) else {
            return Err(LoginFailure::Unsendable { version });
        };
        match connection.command(&format!("password {quoted}")) {
            Ok(_) => Ok(connection),
            Err(failure) => Err(LoginFailure::Password { version, failure }),
        }
    }

    /// The protocol version MPD's greeting named (`0.23.5`, say).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Sends one command line (arguments already quoted) and reads its
    /// answer: `Ok(pairs)`, or `Err(Failure::Ack)` when MPD refused it.
    pub fn command(&mut self, line: &str) -> Result<Vec<(String, String)>, Failure> {
        self.send(line)?;
        self.answer(Some(Instant::now() + ANSWER_TIMEOUT), Budget::COMMAND)
    }

    /// Sends `commands` as one `command_list_ok_begin` list, which MPD
    /// runs without another client's command in between, and reads one
    /// answer per command. An `ACK` (for any of them) ends the list.
    pub fn command_list(
        &mut self,
        commands: &[String],
    ) -> Result<Vec<Vec<(String, String)>>, Failure> {
        let mut text = String::from("command_list_ok_begin\n");
        for command in commands {
            text.push_str(command);
            text.push('\n');
        }
        text.push_str("command_list_end");
        self.send(&text)?;
        let deadline = Some(Instant::now() + ANSWER_TIMEOUT);
        let mut budget = Budget::COMMAND;
        let mut answers = Vec::with_capacity(commands.len());
        let mut pairs = Vec::new();
        loop {
            let mid_answer = !pairs.is_empty() || !answers.is_empty();
            match self.next_line(deadline, mid_answer, &mut budget)? {
                Line::Ok if pairs.is_empty() && answers.len() == commands.len() => {
                    return Ok(answers);
                }
                Line::Ok => {
                    return Err(Failure::Lost(format!(
                        "MPD answered {} of {} commands in a list",
                        answers.len(),
                        commands.len()
                    )));
                }
                Line::ListOk => answers.push(std::mem::take(&mut pairs)),
                Line::Ack(ack) => return Err(Failure::Ack(ack)),
                Line::Pair(key, value) => pairs.push((key, value)),
            }
        }
    }

    /// `idle SUBSYSTEMS`: waits, as long as it takes, until MPD reports a
    /// change in one of them, and returns the subsystems that changed;
    /// what it sends meanwhile is bounded by [`Budget::IDLE`]. Ends within
    /// a tick of `stopping` (after sending `noidle`, without waiting for
    /// its answer).
    pub fn idle(&mut self, subsystems: &str) -> Result<Vec<String>, Failure> {
        self.send(&format!("idle {subsystems}"))?;
        match self.answer(None, Budget::IDLE) {
            Ok(pairs) => Ok(pairs
                .into_iter()
                .filter(|(key, _)| key == "changed")
                .map(|(_, value)| value)
                .collect()),
            Err(Failure::Stopped) => {
                let _ = self.send("noidle");
                Err(Failure::Stopped)
            }
            Err(other) => Err(other),
        }
    }

    fn send(&mut self, line: &str) -> Result<(), Failure> {
        let stream = self.reader.get_mut();
        stream
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| Failure::Lost(format!("cannot send to MPD: {e}")))
    }

    /// Reads `key: value` lines up to `OK` (or an `ACK`), within `budget`.
    fn answer(
        &mut self,
        deadline: Option<Instant>,
        mut budget: Budget,
    ) -> Result<Vec<(String, String)>, Failure> {
        let mut pairs = Vec::new();
        loop {
            match self.next_line(deadline, !pairs.is_empty(), &mut budget)? {
                Line::Ok => return Ok(pairs),
                Line::Ack(ack) => return Err(Failure::Ack(ack)),
                Line::Pair(key, value) => pairs.push((key, value)),
                Line::ListOk => {
                    return Err(Failure::Lost("MPD sent list_OK outside a list".into()));
                }
            }
        }
    }

    /// The next answer line, parsed; `mid_answer` words the error when the
    /// connection ends.
    fn next_line(
        &mut self,
        deadline: Option<Instant>,
        mid_answer: bool,
        budget: &mut Budget,
    ) -> Result<Line, Failure> {
        let Some(line) = self.read_line(deadline, budget)? else {
            return Err(Failure::Lost(if mid_answer {
                "MPD closed the connection in the middle of an answer".into()
            } else {
                "MPD closed the connection".into()
            }));
        };
        protocol::parse_line(&line).map_err(|e| Failure::Lost(e.0))
    }

    /// One line without its `\n`, counted against `budget`; `None` when
    /// the connection ended before it began. A partial line survives read
    /// timeouts; between reads `stopping` and `deadline` are looked at, so
    /// bytes dripping in cannot keep a read going past its deadline.
    fn read_line(
        &mut self,
        deadline: Option<Instant>,
        budget: &mut Budget,
    ) -> Result<Option<String>, Failure> {
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return Err(Failure::Stopped);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Failure::Lost(format!(
                    "MPD did not answer within {} s",
                    ANSWER_TIMEOUT.as_secs()
                )));
            }
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if super::inbox::no_data_yet(&e) => {
                    continue;
                }
                Err(e) => return Err(Failure::Lost(format!("reading from MPD: {e}"))),
            };
            if buf.is_empty() {
                return match self.line.is_empty() {
                    true => Ok(None),
                    false => Err(Failure::Lost(
                        "MPD closed the connection in the middle of an answer".into(),
                    )),
                };
            }
            let (take, complete) = match buf.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buf.len(), false),
            };
            if (self.line.len() + take) as u64 > budget.max_line() {
                return Err(Failure::Lost(
                    "MPD's answer is longer than any answer to this command can be".into(),
                ));
            }
            self.line.extend_from_slice(&buf[..take]);
            self.reader.consume(take);
            self.bytes_read.fetch_add(take as u64, Ordering::Relaxed);
            if complete {
                budget
                    .take(self.line.len())
                    .map_err(|e| Failure::Lost(e.0))?;
                self.line.pop();
                let text = String::from_utf8_lossy(&self.line).into_owned();
                self.line.clear();
                return Ok(Some(text));
            }
        }
    }
}

/// Resolves `address` (on a named thread, so a slow DNS answer cannot
/// delay a stop) and connects to the first address that answers.
fn connect_tcp(address: &str, stopping: &AtomicBool) -> Result<TcpStream, Failure> {
    let addrs = match address.parse::<SocketAddr>() {
        Ok(addr) => vec![addr],
        Err(_) => resolve(address, stopping)?,
    };
    let mut last = None;
    for addr in addrs {
        if stopping.load(Ordering::SeqCst) {
            return Err(Failure::Stopped);
        }
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::Unreachable(match last {
        Some(e) => e.to_string(),
        None => format!("{address} has no address"),
    }))
}

fn resolve(address: &str, stopping: &AtomicBool) -> Result<Vec<SocketAddr>, Failure> {
    let target = if address.contains(':') {
        address.to_owned()
    } else {
        format!("{address}:{DEFAULT_PORT}")
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::Builder::new()
        .name("mpd-resolve".into())
        .spawn(move || {
            let found = target
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<Vec<_>>());
            let _ = tx.send(found);
        })
        .map_err(|e| Failure::Unreachable(format!("cannot start a resolver thread: {e}")))?;
    loop {
        match rx.recv_timeout(TICK) {
            Ok(Ok(addrs)) => return Ok(addrs),
            Ok(Err(e)) => {
                return Err(Failure::Unreachable(format!(
                    "cannot resolve {address}: {e}"
                )));
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if stopping.load(Ordering::SeqCst) {
                    return Err(Failure::Stopped);
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                return Err(Failure::Unreachable(format!("cannot resolve {address}")));
            }
        }
    }
}
