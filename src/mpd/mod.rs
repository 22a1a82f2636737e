//! Following MPD's queue: a background thread connects to MPD as a client,
//! reads the songs about to be played and hands their video ids to the
//! caller, who keeps them warm (resolved, cover cached).
//!
//! ```text
//! follow()  ->  thread "mpd-follow":
//!   connect, password  ->  status, [playlistinfo START:END.., status]  ->  on_window(ids)
//!                      <-  idle player playlist options  <-'
//!   any failure: one log line per change of state, retry after 1 s, 2 s, ... 30 s
//! ```
//!
//! The window (`window.rs`): the current song, MPD's `nextsong`, then
//! the `warm_ahead` entries after the current position in queue order
//! (wrapping when `repeat` is on), only entries that stream through this
//! proxy ([`proxied_id`]), each id once. Reading it costs the same for a
//! queue of 10 or 10,000 entries: `status`, then one command list of at
//! most three small `playlistinfo` ranges and `status` again (equal
//! statuses prove the ranges match the plan), never the whole queue.
//!
//! With an `on_message` listener the follower also subscribes to MPD's
//! channel `icyproxy`, waits for `message` in the same `idle`, and hands
//! each message read with `readmessages` on (never running it here).
//!
//! Files: `protocol.rs` (answer parsing, pure), `window.rs` (the window,
//! pure), `client.rs` (one connection: the one login, timeouts, `idle`,
//! `noidle`), `queue.rs` (a short-lived connection that appends tagged
//! songs), this file (the thread, reconnecting and what it logs).

pub mod client;
pub mod filter;
pub mod inbox;
pub mod protocol;
pub mod queue;
pub mod relay;
pub mod settings;
mod window;
pub mod words;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::video_id::VideoId;
use client::{Connection, Failure, LoginFailure};
use protocol::{ACK_ARG, ACK_PERMISSION};

pub use window::proxied_id;

/// The first wait after a failed attempt; doubled after each failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// What `idle` waits for: the current song, the queue, `repeat`.
const IDLE_SUBSYSTEMS: &str = "player playlist options";
/// The same, and the client-to-client messages of the channel.
const IDLE_WITH_MESSAGES: &str = "player playlist options message";
/// The MPD channel icyproxy listens on (`mpc sendmessage icyproxy TEXT`).
pub const CHANNEL: &str = "icyproxy";
/// The channel icyproxy answers each command on (`mpc subscribe
/// icyproxy-reply` prints the answers).
pub const REPLY_CHANNEL: &str = "icyproxy-reply";
/// How often a backoff wait looks at `stopping`.
const STOP_CHECK: Duration = Duration::from_millis(100);
/// Reads of the window retried when the queue changes under them.
const WINDOW_ATTEMPTS: usize = 3;
/// Entries at the queue's end a [`QueueState`] carries.
const TAIL: usize = 10;

/// The player and the end of the queue, for deciding whether to extend
/// it (autoplay): read after every change, consistent with one `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueState {
    /// `state: play`.
    pub playing: bool,
    pub repeat: bool,
    pub random: bool,
    /// `single` on (or `oneshot`).
    pub single: bool,
    /// The current song's position.
    pub song: Option<usize>,
    /// Entries in the queue.
    pub length: usize,
    /// The queue's version: it changes with every change to the queue.
    pub version: usize,
    /// The current song's URI.
    pub current: Option<String>,
    /// The URIs of the last entries (at most ten), in queue order.
    pub tail: Vec<String>,
}

/// Where MPD is and what to follow.
#[derive(Clone)]
pub struct FollowSettings {
    /// `"127.0.0.1:6600"` (`host` alone means port 6600), or a Unix socket
    /// path starting with `/`. Empty: following is off.
    pub address: String,
    /// Sent with `password` after connecting; `None` or empty: none sent.
    pub password: Option<String>,
    /// How many queue entries after the current one to include.
    pub warm_ahead: usize,
    /// This proxy's port: only queue entries whose URL is http(s) on this
    /// port with path `/proxy/{id}` or `/proxy/{id}/` (any query) count;
    /// anything else is ignored.
    pub proxy_port: u16,
}

impl fmt::Debug for FollowSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FollowSettings")
            .field("address", &self.address)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("warm_ahead", &self.warm_ahead)
            .field("proxy_port", &self.proxy_port)
            .finish()
    }
}

/// The state of the link to MPD, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Following is turned off (no address).
    Off,
    /// Connected, with the password accepted, following the queue.
    Connected,
    /// Not connected (not yet, lost, or the password refused): retrying.
    Disconnected,
}

impl Link {
    /// `"off"`, `"connected"` or `"disconnected"`, as `/health` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Link::Off => "off",
            Link::Connected => "connected",
            Link::Disconnected => "disconnected",
        }
    }

    fn from_u8(value: u8) -> Link {
        match value {
            0 => Link::Off,
            1 => Link::Connected,
            _ => Link::Disconnected,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Link::Off => 0,
            Link::Connected => 1,
            Link::Disconnected => 2,
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shared with the follower thread, cheap to read (atomics): for
/// `/health` and `/metrics`.
#[derive(Debug)]
pub struct FollowStatus {
    link: AtomicU8,
    reconnects: AtomicU64,
    bytes_read: Arc<AtomicU64>,
}

impl FollowStatus {
    fn new(link: Link) -> FollowStatus {
        FollowStatus {
            link: AtomicU8::new(link.to_u8()),
            reconnects: AtomicU64::new(0),
            bytes_read: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The link now.
    pub fn link(&self) -> Link {
        Link::from_u8(self.link.load(Ordering::SeqCst))
    }

    /// Connections made again after a connection was lost (the first
    /// connection does not count).
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::SeqCst)
    }

    /// Bytes read from MPD since the start, all connections together: what
    /// following costs (it does not grow with the queue's length).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::SeqCst)
    }

    fn set_link(&self, link: Link) {
        self.link.store(link.to_u8(), Ordering::SeqCst);
    }
}

/// What the follower hands on, from its thread: keep each quick (hand the
/// value to a channel), the follower waits for it.
pub struct Listeners {
    /// The ids to keep warm, each time the window changes.
    pub on_window: Box<dyn FnMut(Vec<VideoId>) + Send>,
    /// Each message sent to MPD's channel [`CHANNEL`]; `None`: the
    /// follower does not subscribe.
    pub on_message: Option<Box<dyn FnMut(String) + Send>>,
    /// The player and the queue's end, after each connect and each change
    /// of the player or the queue; `None`: not read.
    pub on_queue: Option<Box<dyn FnMut(QueueState) + Send>>,
}

/// Starts the follower thread (`mpd-follow`). Each time the window changes
/// (and once after the first read), `on_window` gets the ids to keep warm,
/// in order of need: the current song (with none, the first entry: what
/// `play` starts), MPD's `nextsong` (in `random` mode too), then the next
/// `warm_ahead` entries after the current position in queue order
/// (wrapping when `repeat` is on), proxied ids only, each once. While MPD
/// is unreachable the last window stands; `on_window` is not called.
/// `on_window` runs on the follower thread: hand the ids on (a channel)
/// rather than resolving there.
///
/// The thread retries forever with backoff (1 s doubling up to 30 s) and
/// logs one line per change of state. It ends within about a second of
/// `stopping` being set, also while waiting in `idle`. With an empty
/// address it ends at once and the link is [`Link::Off`].
///
/// `Err` only when the thread cannot be started.
pub fn follow(
    settings: FollowSettings,
    stopping: Arc<AtomicBool>,
    on_window: Box<dyn FnMut(Vec<VideoId>) + Send>,
) -> Result<(Arc<FollowStatus>, JoinHandle<()>)> {
    let listeners = Listeners {
        on_window,
        on_message: None,
        on_queue: None,
    };
    follow_with(settings, stopping, listeners)
}

/// [`follow`], handing on more: with `on_message`, the follower subscribes
/// to MPD's channel [`CHANNEL`] after each connect, waits in `idle` for
/// messages too, reads them (`readmessages`) and hands each on. A channel
/// MPD refuses (no permission) is logged once; following goes on without.
pub fn follow_with(
    settings: FollowSettings,
    stopping: Arc<AtomicBool>,
    listeners: Listeners,
) -> Result<(Arc<FollowStatus>, JoinHandle<()>)> {
    let off = settings.address.is_empty();
    let status = Arc::new(FollowStatus::new(if off {
        Link::Off
    } else {
        Link::Disconnected
    }));
    let follower = Follower {
        settings,
        stopping,
        status: Arc::clone(&status),
        listeners,
        state: State::Starting,
        last: None,
        backoff: FIRST_BACKOFF,
        connections: 0,
    };
    let handle = thread::Builder::new()
        .name("mpd-follow".into())
        .spawn(move || {
            if !off {
                follower.run();
            }
        })
        .map_err(|e| Error::io("cannot start the MPD follower thread", e))?;
    Ok((status, handle))
}

/// What was last logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Starting,
    Connected,
    Down,
    Refused,
}

/// How a session ended.
enum End {
    Stopped,
    /// Unreachable, lost, or not speaking MPD: the detail for the log.
    Down(String),
    /// The password was refused, or one is needed: the whole log line.
    Refused(String),
}

impl From<Failure> for End {
    fn from(failure: Failure) -> End {
        match failure {
            Failure::Stopped => End::Stopped,
            Failure::Unreachable(detail) | Failure::Lost(detail) => End::Down(detail),
            Failure::Ack(ack) => End::Down(format!("MPD refused a command: {ack}")),
        }
    }
}

/// How a failed login ends the session: a password MPD refused (or
/// cannot be sent) is the whole log line; the rest is a connection down.
fn login_failed(addr: &str, failure: LoginFailure) -> End {
    match failure {
        LoginFailure::Unsendable { .. } => End::Refused(format!(
            "MPD at {addr}: [mpd] password contains a line break, which MPD's protocol \
             cannot carry; fix [mpd] password in proxy.toml"
        )),
        LoginFailure::Password {
            failure: Failure::Ack(ack),
            ..
        } => End::Refused(format!(
            "MPD refused the password at {addr} ({ack}): set [mpd] password in \
             proxy.toml to a password from MPD's configuration"
        )),
        LoginFailure::Connect(failure) | LoginFailure::Password { failure, .. } => failure.into(),
    }
}

struct Follower {
    settings: FollowSettings,
    stopping: Arc<AtomicBool>,
    status: Arc<FollowStatus>,
    listeners: Listeners,
    state: State,
    last: Option<Vec<VideoId>>,
    backoff: Duration,
    /// Connections made so far.
    connections: u64,
}

impl Follower {
    fn run(mut self) {
        while !self.stopped() {
            match self.session() {
                End::Stopped => break,
                End::Down(detail) => {
                    let addr = &self.settings.address;
                    let line = if self.state == State::Connected {
                        format!(
                            "MPD connection lost at {addr}: {detail}; reconnecting in the background"
                        )
                    } else {
                        format!(
                            "MPD not available at {addr}: {detail}; retrying in the background \
                             (is MPD running, and is [mpd] address right?)"
                        )
                    };
                    self.enter(State::Down, &line);
                }
                End::Refused(line) => self.enter(State::Refused, &line),
            }
            self.wait_backoff();
        }
        log::debug!("MPD follower stopped");
    }

    /// The password to send, if any (empty means none).
    fn password(&self) -> Option<&str> {
        self.settings.password.as_deref().filter(|p| !p.is_empty())
    }

    fn has_password(&self) -> bool {
        self.password().is_some()
    }

    fn stopped(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// One connection, from connect to its end.
    fn session(&mut self) -> End {
        let addr = self.settings.address.clone();
        let password = self.settings.password.as_deref();
        let mut conn =
            match Connection::login(&addr, password, &self.stopping, &self.status.bytes_read) {
                Ok(conn) => conn,
                Err(failure) => return login_failed(&addr, failure),
            };
        // The first read doubles as the permission check.
        let first = match self.read_window(&mut conn) {
            Ok(window) => window,
            Err(Failure::Ack(ack)) if ack.code == ACK_PERMISSION => {
                return End::Refused(if self.has_password() {
                    format!(
                        "MPD refused the password at {addr} for reading the queue ({ack}): set \
                         [mpd] password in proxy.toml to a password with the read permission"
                    )
                } else {
                    format!(
                        "MPD at {addr} needs a password to read the queue ({ack}): set [mpd] \
                         password in proxy.toml to a password from MPD's configuration"
                    )
                });
            }
            Err(failure) => return failure.into(),
        };
        if self.connections > 0 {
            self.status.reconnects.fetch_add(1, Ordering::SeqCst);
        }
        self.connections += 1;
        self.enter(State::Connected, &format!("MPD connected at {addr}"));
        self.backoff = FIRST_BACKOFF;
        self.publish(first);
        if let Err(failure) = self.report_queue(&mut conn) {
            return failure.into();
        }
        let subsystems = match self.subscribe(&mut conn) {
            Ok(true) => IDLE_WITH_MESSAGES,
            Ok(false) => IDLE_SUBSYSTEMS,
            Err(failure) => return failure.into(),
        };
        loop {
            let changed = match conn.idle(subsystems) {
                Ok(changed) => changed,
                Err(failure) => return failure.into(),
            };
            if changed.iter().any(|c| c == "message") {
                if let Err(failure) = self.read_messages(&mut conn) {
                    return failure.into();
                }
            }
            if changed.iter().all(|c| c == "message") {
                continue;
            }
            match self.read_window(&mut conn) {
                Ok(window) => self.publish(window),
                Err(failure) => return failure.into(),
            }
            if let Err(failure) = self.report_queue(&mut conn) {
                return failure.into();
            }
        }
    }

    /// Reads the [`QueueState`] and hands it on, when asked for: the last
    /// [`TAIL`] entries and the current one, in one consistent read.
    fn report_queue(&mut self, conn: &mut Connection) -> std::result::Result<(), Failure> {
        if self.listeners.on_queue.is_none() {
            return Ok(());
        }
        let read = consistent_read(conn, |status| {
            let from = status.length.saturating_sub(TAIL);
            let mut commands = vec![format!("playlistinfo {from}:{}", status.length)];
            if let Some(song) = status.song.filter(|&s| s < status.length) {
                commands.push(format!("playlistinfo {song}:{}", song + 1));
            }
            ((), commands)
        })?;
        let Some(Snapshot {
            status, answers, ..
        }) = read
        else {
            return Ok(());
        };
        // The tail's answer, then the current song's when there is one.
        let lost = |e: protocol::ProtocolError| Failure::Lost(e.0);
        let entries = |at: usize| match answers.get(at) {
            Some(pairs) => protocol::parse_entries(pairs).map_err(lost),
            None => Ok(Vec::new()),
        };
        let tail = entries(0)?;
        let current = entries(1)?;
        let state = QueueState {
            playing: status.playing,
            repeat: status.repeat,
            random: status.random,
            single: status.single,
            song: status.song,
            length: status.length,
            version: status.version,
            current: current.into_iter().next().map(|e| e.file),
            tail: tail.into_iter().map(|e| e.file).collect(),
        };
        if let Some(on_queue) = self.listeners.on_queue.as_mut() {
            on_queue(state);
        }
        Ok(())
    }

    /// Subscribes to [`CHANNEL`] when messages are wanted: `Ok(true)` when
    /// MPD took it. A refusal is logged (once per refusal streak) and
    /// following goes on without messages.
    fn subscribe(&mut self, conn: &mut Connection) -> std::result::Result<bool, Failure> {
        if self.listeners.on_message.is_none() {
            return Ok(false);
        }
        match conn.command(&format!("subscribe \"{CHANNEL}\"")) {
            Ok(_) => Ok(true),
            // Already subscribed cannot happen on a new connection; any
            // refusal means no messages on this one.
            Err(Failure::Ack(ack)) => {
                log::warn!(
                    "MPD at {} refused the channel {CHANNEL} ({ack}): `mpc sendmessage \
                     {CHANNEL} ...` will not reach icyproxy",
                    self.settings.address
                );
                Ok(false)
            }
            Err(failure) => Err(failure),
        }
    }

    /// `readmessages`, each message of [`CHANNEL`] handed on.
    fn read_messages(&mut self, conn: &mut Connection) -> std::result::Result<(), Failure> {
        let pairs = conn.command("readmessages")?;
        let Some(on_message) = self.listeners.on_message.as_mut() else {
            return Ok(());
        };
        for (channel, text) in protocol::parse_messages(&pairs) {
            if channel == CHANNEL {
                on_message(text);
            }
        }
        Ok(())
    }

    /// The window: the planned `playlistinfo` ranges, in one consistent
    /// read. `None` when the queue kept changing.
    fn read_window(
        &self,
        conn: &mut Connection,
    ) -> std::result::Result<Option<Vec<VideoId>>, Failure> {
        let read = consistent_read(conn, |status| {
            let plan = window::plan(status, self.settings.warm_ahead);
            let commands = plan
                .ranges
                .iter()
                .map(|(start, end)| format!("playlistinfo {start}:{end}"))
                .collect();
            (plan, commands)
        })?;
        let Some(Snapshot { plan, answers, .. }) = read else {
            return Ok(None);
        };
        let mut entries = Vec::new();
        for pairs in &answers {
            entries.extend(protocol::parse_entries(pairs).map_err(|e| Failure::Lost(e.0))?);
        }
        Ok(Some(window::window(
            &plan.order,
            &entries,
            self.settings.proxy_port,
        )))
    }

    /// Calls `on_window` when the window differs from the last one.
    fn publish(&mut self, window: Option<Vec<VideoId>>) {
        let Some(window) = window else {
            return;
        };
        if self.last.as_ref() == Some(&window) {
            return;
        }
        log::debug!(
            "MPD window: {}",
            window
                .iter()
                .map(VideoId::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        );
        self.last = Some(window.clone());
        (self.listeners.on_window)(window);
    }

    /// Logs `line` and updates the link when the state changes; a repeat
    /// of the same state (another failed attempt) is silent.
    fn enter(&mut self, state: State, line: &str) {
        if state == self.state {
            return;
        }
        match state {
            State::Connected => log::info!("{line}"),
            State::Down | State::Refused => log::warn!("{line}"),
            State::Starting => {}
        }
        self.status.set_link(if state == State::Connected {
            Link::Connected
        } else {
            Link::Disconnected
        });
        self.state = state;
    }

    /// Waits the current backoff (ending early on `stopping`), then
    /// doubles it up to [`MAX_BACKOFF`].
    fn wait_backoff(&mut self) {
        let until = Instant::now() + self.backoff;
        while !self.stopped() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            thread::sleep(left.min(STOP_CHECK));
        }
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}

/// What [`consistent_read`] gives: a status, what was planned from it, and
/// the answers to the planned commands, all from one unchanged queue.
struct Snapshot<P> {
    status: protocol::Status,
    plan: P,
    answers: Vec<Vec<(String, String)>>,
}

/// `status`, then the commands planned from it and `status` again in one
/// command list (MPD runs it without other clients' commands in between).
/// When both statuses agree (the queue's version included), the answers
/// belong to the status the plan came from. When they do not, or a range
/// ran past a queue that shrank, plan again from the newer status. `None`
/// when the queue kept changing: that change is also an `idle` event, so
/// the next wait returns at once and reads again.
fn consistent_read<P>(
    conn: &mut Connection,
    plan: impl Fn(&protocol::Status) -> (P, Vec<String>),
) -> std::result::Result<Option<Snapshot<P>>, Failure> {
    let lost = |e: protocol::ProtocolError| Failure::Lost(e.0);
    let mut status = protocol::parse_status(&conn.command("status")?).map_err(lost)?;
    for _ in 0..WINDOW_ATTEMPTS {
        let (planned, mut commands) = plan(&status);
        commands.push("status".into());
        let mut answers = match conn.command_list(&commands) {
            Ok(answers) => answers,
            Err(Failure::Ack(ack)) if ack.code == ACK_ARG => {
                status = protocol::parse_status(&conn.command("status")?).map_err(lost)?;
                continue;
            }
            Err(failure) => return Err(failure),
        };
        let Some(last) = answers.pop() else {
            return Err(Failure::Lost("MPD answered an empty command list".into()));
        };
        let after = protocol::parse_status(&last).map_err(lost)?;
        if after != status {
            status = after;
            continue;
        }
        return Ok(Some(Snapshot {
            status,
            plan: planned,
            answers,
        }));
    }
    log::debug!("MPD's queue changed under {WINDOW_ATTEMPTS} reads; reading again after idle");
    Ok(None)
}
