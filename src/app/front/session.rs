//! One client of the front door: its lines read (bounded), each command
//! relayed to its own connection to MPD or answered here, `idle` waited
//! on both sockets at once, command lists kept whole when MPD alone
//! answers them.

use std::io::{self, BufWriter, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use log::{debug, warn};

use super::Door;
use super::tree::Node;
use crate::app::budget::MinuteBudget;
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::LazyStore;
use crate::error::Error;
use crate::mpd::client::Failure;
use crate::mpd::filter;
use crate::mpd::inbox::{Inbox, Taken};
use crate::mpd::relay::{End, MpdLink};
use crate::mpd::words;
use crate::video_id::VideoId;

/// How often a wait looks at the stop flag.
const TICK: Duration = Duration::from_millis(200);
/// How long a write to the client may block (a client that stops
/// reading is dropped).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest command line with its `\n`: MPD's own input buffer
/// (8 KiB) holds no more, and MPD closes a client whose line is longer.
pub const MAX_LINE: usize = 8192;
/// The most bytes one command list may hold (MPD's default
/// `max_command_list_size`, 2 MiB).
pub const MAX_LIST_BYTES: usize = 2 << 20;
/// What MPD's `ACK` codes mean here (`ack.h`).
pub const ACK_ARG: u32 = 2;
pub const ACK_PERMISSION: u32 = 4;
pub const ACK_NO_EXIST: u32 = 50;
pub const ACK_SYSTEM: u32 = 52;

/// What MPD allows this connection (its `commands` answer).
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    pub names: Vec<String>,
}

impl Allowed {
    pub fn may(&self, command: &str) -> bool {
        self.names.iter().any(|n| n == command)
    }
    /// Browsing and searching (`read`).
    pub fn read(&self) -> bool {
        self.may("lsinfo")
    }
    /// Adding to the queue (`add`).
    pub fn add(&self) -> bool {
        self.may("add")
    }
    /// What MPD requires for stickers (`admin`: `kill` needs it too).
    pub fn admin(&self) -> bool {
        self.may("sticker") || self.may("kill")
    }
}

pub struct Session<'a> {
    pub door: &'a Door,
    client: TcpStream,
    inbox: Inbox,
    pub out: BufWriter<TcpStream>,
    pub mpd: MpdLink,
    allowed: Option<Allowed>,
    lazy: LazyStore,
    budget: MinuteBudget,
    /// A failed search was said at warn on this connection (the rest of
    /// the streak at debug: a search box can ask many times a minute).
    pub search_failed_said: bool,
}

/// Serves one client until it leaves, MPD closes, or the server stops.
pub fn serve(door: &Door, client: TcpStream, peer: SocketAddr) {
    match Session::open(door, client) {
        Ok(mut session) => match session.run() {
            Ok(()) | Err(Failure::Stopped) => debug!("front door: {peer} left"),
            Err(e) => debug!("front door: {peer} closed: {e:?}"),
        },
        Err(e) => warn!(
            "front door: {peer} turned away: MPD at {} {e:?}",
            door.parts.mpd_address
        ),
    }
}

/// Why a call to YouTube Music is not made, or failed: the `ACK` code and
/// its words.
pub struct Refusal(pub u32, pub String);

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        match e {
            Error::NotFound(what) => Refusal(ACK_NO_EXIST, what),
            Error::InvalidInput(what) => Refusal(ACK_ARG, what),
            other => Refusal(ACK_SYSTEM, format!("YouTube Music: {other}")),
        }
    }
}

impl<'a> Session<'a> {
    fn open(door: &'a Door, client: TcpStream) -> Result<Session<'a>, Failure> {
        let lost = |e: io::Error| Failure::Lost(format!("the client: {e}"));
        client.set_nodelay(true).map_err(lost)?;
        client.set_read_timeout(Some(TICK)).map_err(lost)?;
        client
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(lost)?;
        let writer = client.try_clone().map_err(lost)?;
        let (mpd, greeting) = MpdLink::open(&door.parts.mpd_address, &door.parts.stopping)?;
        let mut session = Session {
            door,
            client,
            inbox: Inbox::new(MAX_LINE),
            out: BufWriter::with_capacity(64 << 10, writer),
            mpd,
            allowed: None,
            lazy: LazyStore::new(&door.parts.store_path, false),
            budget: MinuteBudget::new(
                door.parts.settings.reader_per_minute,
                "[front] reader_per_minute",
            ),
            search_failed_said: false,
        };
        session.write(&greeting)?;
        session.flush()?;
        Ok(session)
    }

    fn run(&mut self) -> Result<(), Failure> {
        while let Some(line) = self.next_line()? {
            self.dispatch(&line)?;
            self.flush()?;
        }
        Ok(())
    }

    /// The next command line; `None` when the client left, sent a line
    /// longer than MPD takes, or MPD closed (its `connection_timeout`).
    fn next_line(&mut self) -> Result<Option<Vec<u8>>, Failure> {
        loop {
            match self.inbox.take_line() {
                Taken::Line(line) => return Ok(Some(line)),
                Taken::TooLong => {
                    debug!("front door: a line longer than {MAX_LINE} bytes: closed, as MPD does");
                    return Ok(None);
                }
                Taken::Partial => {}
            }
            match self.wait()? {
                Ready::Client => {
                    if !self.read_client()? {
                        return Ok(None);
                    }
                }
                // Unasked: MPD closed this connection.
                Ready::Mpd => return Ok(None),
            }
        }
    }

    /// Reads what the client sent; `false` when it left.
    fn read_client(&mut self) -> Result<bool, Failure> {
        match self.inbox.fill(&mut self.client) {
            Ok(0) => Ok(self.inbox.is_full()),
            Ok(_) => Ok(true),
            Err(e) if crate::mpd::inbox::no_data_yet(&e) => Ok(true),
            Err(_) => Ok(false),
        }
    }

    /// Waits until the client or MPD has something to read.
    fn wait(&mut self) -> Result<Ready, Failure> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        loop {
            if self.door.parts.stopping.load(Ordering::SeqCst) {
                return Err(Failure::Stopped);
            }
            if self.mpd.has_buffered() {
                return Ok(Ready::Mpd);
            }
            let flags = PollFlags::POLLIN;
            let mut fds = [
                PollFd::new(self.client.as_fd(), flags),
                PollFd::new(self.mpd.fd(), flags),
            ];
            match poll(&mut fds, PollTimeout::from(TICK.as_millis() as u16)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Failure::Lost(format!("poll: {e}"))),
            }
            let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
            if ready(&fds[1]) {
                return Ok(Ready::Mpd);
            }
            if ready(&fds[0]) {
                return Ok(Ready::Client);
            }
        }
    }

    fn dispatch(&mut self, line: &[u8]) -> Result<(), Failure> {
        let Some(words) = command_words(line) else {
            let end = self.relay_line(line)?;
            return self.write_end(&end, None);
        };
        match words[0].as_str() {
            "command_list_begin" => self.command_list(false),
            "command_list_ok_begin" => self.command_list(true),
            "idle" => self.idle(line),
            // Outside `idle` MPD answers `noidle` with nothing at all.
            "noidle" => {
                let mut bytes = line.to_vec();
                bytes.push(b'\n');
                self.mpd.send(&bytes)
            }
            _ => {
                let end = self.run_one(line, Some(&words))?;
                self.write_end(&end, None)
            }
        }
    }

    /// Runs one command (here or at MPD) and writes its answer but not
    /// its end, which is returned.
    fn run_one(&mut self, line: &[u8], words: Option<&[String]>) -> Result<End, Failure> {
        let Some(words) = words.filter(|w| self.is_ours(w)) else {
            let end = self.relay_line(line)?;
            if words.is_some_and(|w| w[0] == "password") {
                self.allowed = None;
            }
            return Ok(end);
        };
        self.ours(line, words)
    }

    /// Sends `line` to MPD and copies its answer.
    pub fn relay_line(&mut self, line: &[u8]) -> Result<End, Failure> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
        self.mpd.send(&bytes)?;
        self.mpd.relay(&mut self.out)
    }

    /// `idle`: MPD's answer, or the client's `noidle` passed on, whichever
    /// comes first; MPD's answer ends it either way.
    fn idle(&mut self, line: &[u8]) -> Result<(), Failure> {
        let mut bytes = line.to_vec();
        bytes.push(b'\n');
        self.mpd.send(&bytes)?;
        self.flush()?;
        let mut passed_on = false;
        loop {
            if !passed_on && self.inbox.has_line() {
                if let Taken::Line(next) = self.inbox.take_line() {
                    let mut bytes = next;
                    bytes.push(b'\n');
                    // `noidle` (or anything else, which MPD refuses by
                    // closing): MPD's answer to the idle follows.
                    self.mpd.send(&bytes)?;
                    passed_on = true;
                }
                continue;
            }
            match self.wait()? {
                Ready::Mpd => {
                    let end = self.mpd.relay(&mut self.out)?;
                    return self.write_end(&end, None);
                }
                Ready::Client if passed_on => {
                    // Later commands wait in the inbox until the answer.
                    if !self.inbox.is_full() && !self.read_client()? {
                        return Err(Failure::Lost("the client left in idle".into()));
                    }
                    if self.inbox.is_full() {
                        std::thread::sleep(TICK / 4);
                    }
                }
                Ready::Client => {
                    if !self.read_client()? {
                        return Err(Failure::Lost("the client left in idle".into()));
                    }
                    if self.inbox.is_full() && !self.inbox.has_line() {
                        return Err(Failure::Lost("a line too long in idle".into()));
                    }
                }
            }
        }
    }

    /// A command list: sent to MPD whole when MPD answers every command
    /// in it; else run one command at a time, answered as MPD answers a
    /// list (`list_OK` after each for the `ok` form, an `ACK` naming the
    /// failing command's index).
    fn command_list(&mut self, ok: bool) -> Result<(), Failure> {
        let mut lines = Vec::new();
        let mut bytes = 0;
        loop {
            let Some(line) = self.next_line()? else {
                return Err(Failure::Lost("the client left in a command list".into()));
            };
            if command_words(&line).is_some_and(|w| w[0] == "command_list_end") {
                break;
            }
            bytes += line.len() + 1;
            if bytes > MAX_LIST_BYTES {
                debug!("front door: a command list over {MAX_LIST_BYTES} bytes: closed");
                return Err(Failure::Lost("command list too long".into()));
            }
            lines.push(line);
        }
        let parsed: Vec<Option<Vec<String>>> = lines.iter().map(|l| command_words(l)).collect();
        let any_ours = parsed.iter().flatten().any(|w| self.is_ours(w));
        if !any_ours {
            let begin: &[u8] = match ok {
                true => b"command_list_ok_begin\n",
                false => b"command_list_begin\n",
            };
            let mut text = Vec::with_capacity(bytes + 64);
            text.extend_from_slice(begin);
            for line in &lines {
                text.extend_from_slice(line);
                text.push(b'\n');
            }
            text.extend_from_slice(b"command_list_end\n");
            self.mpd.send(&text)?;
            let end = self.mpd.relay(&mut self.out)?;
            if parsed.iter().flatten().any(|w| w[0] == "password") {
                self.allowed = None;
            }
            return self.write_end(&end, None);
        }
        for (index, (line, words)) in lines.iter().zip(&parsed).enumerate() {
            match self.run_one(line, words.as_deref())? {
                End::Ok if ok => self.write(b"list_OK\n")?,
                End::Ok => {}
                ack @ End::Ack(_) => return self.write_end(&ack, Some(index)),
            }
        }
        self.write(b"OK\n")
    }

    /// Writes an answer's end (`OK`, or the `ACK` with the index of the
    /// command in its list).
    pub fn write_end(&mut self, end: &End, index: Option<usize>) -> Result<(), Failure> {
        match end {
            End::Ok => self.write(b"OK\n"),
            End::Ack(text) => {
                let text = match index {
                    Some(index) => ack_at(text, index),
                    None => text.clone(),
                };
                self.write(format!("{text}\n").as_bytes())
            }
        }
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.out
            .write_all(bytes)
            .map_err(|e| Failure::Lost(format!("the client: {e}")))
    }

    fn flush(&mut self) -> Result<(), Failure> {
        self.out
            .flush()
            .map_err(|e| Failure::Lost(format!("the client: {e}")))
    }

    /// What MPD allows this connection, asked once (and again after a
    /// `password`).
    pub fn allowed(&mut self) -> Result<Allowed, Failure> {
        if let Some(allowed) = &self.allowed {
            return Ok(allowed.clone());
        }
        let names = match self.mpd.ask("commands")? {
            Ok(pairs) => pairs
                .into_iter()
                .filter(|(k, _)| k == "command")
                .map(|(_, v)| v)
                .collect(),
            Err(_) => Vec::new(),
        };
        let allowed = Allowed { names };
        self.allowed = Some(allowed.clone());
        Ok(allowed)
    }

    /// The store, opened on first use (this thread's own connection).
    pub fn store(&mut self) -> Result<&mut TrackStore, Refusal> {
        self.lazy.get().map_err(Refusal::from)
    }

    /// Takes one call to YouTube Music from this connection's budget and
    /// from all connections'.
    pub fn may_call(&mut self, what: &str) -> Result<(), Refusal> {
        let now = Instant::now();
        let what = format!("{what} not read");
        if !self.budget.take(now) {
            return Err(Refusal(
                ACK_SYSTEM,
                self.budget.refused("front door", &what),
            ));
        }
        let mut all = self.door.all_calls.lock().expect("budget lock poisoned");
        match all.take(now) {
            true => Ok(()),
            false => Err(Refusal(ACK_SYSTEM, all.refused("front door", &what))),
        }
    }

    /// The id of one of this server's song URLs.
    pub fn our_song(&self, uri: &str) -> Option<VideoId> {
        self.door.parts.entries.id_of(uri)
    }

    /// The node a path names under the virtual directory.
    pub fn node(&self, path: &str) -> Option<Node> {
        Node::of(path, self.door.parts.settings.directory())
    }

    /// Whether the front door answers this command itself.
    fn is_ours(&self, words: &[String]) -> bool {
        let arg = |n: usize| words.get(n).map(String::as_str);
        let root = |a: Option<&str>| matches!(a, None | Some("" | "/"));
        match words[0].as_str() {
            "commands" => true,
            "lsinfo" | "listfiles" => {
                root(arg(1))
                    || arg(1).is_some_and(|p| self.node(p).is_some() || self.our_song(p).is_some())
            }
            "listall" | "listallinfo" => arg(1).is_some_and(|p| self.node(p).is_some()),
            "add" | "addid" => {
                arg(1).is_some_and(|p| self.node(p).is_some() || self.our_song(p).is_some())
            }
            "search" | "searchadd" => self.merges(&words[1..]),
            "searchaddpl" => words.len() > 2 && self.merges(&words[2..]),
            "sticker" => {
                words.len() >= 4
                    && words[2] == "song"
                    && (self.our_song(&words[3]).is_some()
                        || (words[1] == "find" && self.node(&words[3]).is_some()))
            }
            _ => false,
        }
    }

    /// Whether a search adds YouTube Music's songs to MPD's.
    fn merges(&self, args: &[String]) -> bool {
        self.door.parts.settings.search_limit > 0
            && filter::asked(args).is_ok_and(|asked| asked.words.is_some())
    }

    /// Runs one of the commands [`Session::is_ours`] names.
    fn ours(&mut self, line: &[u8], words: &[String]) -> Result<End, Failure> {
        match words[0].as_str() {
            "commands" => self.commands(),
            "lsinfo" | "listfiles" | "listall" | "listallinfo" => self.browse(line, words),
            "add" | "addid" => self.add(words),
            "search" | "searchadd" | "searchaddpl" => self.search(line, words),
            "sticker" => self.sticker(words),
            _ => self.relay_line(line),
        }
    }

    /// `commands`, as MPD answers it; with `sticker` added when MPD has no
    /// sticker database but the connection may use stickers (on YouTube
    /// Music songs they work without one).
    fn commands(&mut self) -> Result<End, Failure> {
        self.allowed = None;
        let pairs = match self.mpd.ask("commands")? {
            Ok(pairs) => pairs,
            Err(ack) => return Ok(End::Ack(format!("ACK {}", ack.text))),
        };
        let mut names: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.clone())
            .collect();
        let allowed = Allowed {
            names: names.clone(),
        };
        if allowed.admin() && !allowed.may("sticker") {
            let at = names.partition_point(|n| n.as_str() < "sticker");
            names.insert(at, "sticker".into());
        }
        self.allowed = Some(allowed);
        let mut text = String::new();
        for name in names {
            text.push_str(&format!("command: {name}\n"));
        }
        self.write(text.as_bytes())?;
        Ok(End::Ok)
    }

    /// The `ACK` for a refusal, in MPD's form.
    pub fn refuse(&self, command: &str, refusal: Refusal) -> End {
        let Refusal(code, text) = refusal;
        End::Ack(format!(
            "ACK [{code}@0] {{{command}}} {}",
            text.replace(['\n', '\r'], " ")
        ))
    }

    /// The `ACK` MPD gives for a command the connection may not run.
    pub fn no_permission(&self, command: &str) -> End {
        self.refuse(
            command,
            Refusal(
                ACK_PERMISSION,
                format!("you don't have permission for \"{command}\""),
            ),
        )
    }
}

enum Ready {
    Client,
    Mpd,
}

/// The words of a command line that is UTF-8 and splits; `None` for
/// anything else (relayed as it is: MPD says what is wrong with it).
fn command_words(line: &[u8]) -> Option<Vec<String>> {
    let text = std::str::from_utf8(line).ok()?;
    let text = text.strip_suffix('\r').unwrap_or(text);
    words::split(text).ok().filter(|w| !w.is_empty())
}

/// `ACK [code@0] {cmd} text` with the list index `index`.
fn ack_at(text: &str, index: usize) -> String {
    let Some(rest) = text.strip_prefix("ACK [") else {
        return text.to_owned();
    };
    let Some((code, after)) = rest.split_once('@') else {
        return text.to_owned();
    };
    let Some((_, tail)) = after.split_once(']') else {
        return text.to_owned();
    };
    format!("ACK [{code}@{index}]{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ack_gets_its_index_in_the_list() {
        assert_eq!(
            ack_at("ACK [50@0] {lsinfo} No such directory", 3),
            "ACK [50@3] {lsinfo} No such directory"
        );
        assert_eq!(ack_at("odd", 1), "odd");
    }

    #[test]
    fn lines_that_do_not_split_are_not_commands_here() {
        assert_eq!(command_words(b"status\r"), Some(vec!["status".into()]));
        assert_eq!(command_words(b"add \"open"), None);
        assert_eq!(command_words(&[0xff, b'x']), None);
        assert_eq!(command_words(b"   "), None);
    }
}
