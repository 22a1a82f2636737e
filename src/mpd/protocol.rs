//! MPD's text protocol, the pure half: answer lines to key/value pairs,
//! `status` and `playlistinfo` answers to values, arguments quoted. No I/O
//! here; `client.rs` reads the lines.
//!
//! An answer is `key: value` lines ending with `OK`, or one `ACK [code@n]
//! {command} message` line. Anything else (a line without `": "`, a number
//! that is not one) is a [`ProtocolError`]: the caller drops the connection
//! and starts again, it never guesses.

use std::fmt;

/// MPD's `ACK` codes this module names (`ack.h` in MPD's source).
pub const ACK_ARG: u32 = 2;
/// A command the connection has no permission for (no password sent).
pub const ACK_PERMISSION: u32 = 4;

/// An answer that is not MPD's protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// MPD's refusal of a command: `ACK [code@index] {command} message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The error code; 0 when the line did not carry a readable one.
    pub code: u32,
    /// The line after `ACK `, as MPD wrote it (for log lines).
    pub text: String,
}

impl fmt::Display for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What one answer may hold: a hostile or broken server (anything
/// listening on MPD's port) cannot grow us without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    lines_left: usize,
    bytes_left: u64,
}

impl Budget {
    /// A command's answer: far above what `status` or a window of
    /// `playlistinfo` (at most ~100 songs of ~30 lines) can be.
    pub const COMMAND: Budget = Budget {
        lines_left: 65_536,
        bytes_left: 8 << 20,
    };
    /// What `idle` may send while it waits: a few `changed:` lines.
    pub const IDLE: Budget = Budget {
        lines_left: 256,
        bytes_left: 16 << 10,
    };

    /// The longest next line allowed (bytes, its `\n` included).
    pub fn max_line(&self) -> u64 {
        self.bytes_left
    }

    /// Counts one line of `bytes` (its `\n` included); an error once the
    /// answer holds more lines or bytes than allowed.
    pub fn take(&mut self, bytes: usize) -> Result<(), ProtocolError> {
        let bytes = bytes as u64;
        if self.lines_left == 0 || bytes > self.bytes_left {
            return Err(ProtocolError(
                "MPD's answer is longer than any answer to this command can be".into(),
            ));
        }
        self.lines_left -= 1;
        self.bytes_left -= bytes;
        Ok(())
    }
}

/// A whole answer: its pairs, or MPD's refusal.
pub type Answer = Result<Vec<(String, String)>, Ack>;

/// Reads a whole answer from `text` (as received), within `budget`:
/// its pairs up to `OK`, or the `ACK`. What the client does line by line,
/// in one pure function (for tests and fuzzing). `None` when `text` ends
/// before the answer does.
pub fn parse_answer(text: &[u8], mut budget: Budget) -> Option<Result<Answer, ProtocolError>> {
    let mut pairs = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let (line, after) = rest.split_at(end + 1);
        rest = after;
        if let Err(e) = budget.take(line.len()) {
            return Some(Err(e));
        }
        let line = String::from_utf8_lossy(&line[..end]);
        match parse_line(&line) {
            Ok(Line::Ok) => return Some(Ok(Ok(pairs))),
            Ok(Line::Ack(ack)) => return Some(Ok(Err(ack))),
            Ok(Line::Pair(key, value)) => pairs.push((key, value)),
            Ok(Line::ListOk) => {
                return Some(Err(ProtocolError("list_OK outside a list".into())));
            }
            Err(e) => return Some(Err(e)),
        }
    }
}

/// One line of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `OK`: the answer is complete.
    Ok,
    /// `list_OK`: one command of a `command_list_ok_begin` list is done.
    ListOk,
    /// `ACK ...`: the command failed; the answer is complete.
    Ack(Ack),
    /// `key: value`.
    Pair(String, String),
}

/// Reads one answer line (without its `\n`).
pub fn parse_line(line: &str) -> Result<Line, ProtocolError> {
    match line {
        "OK" => return Ok(Line::Ok),
        "list_OK" => return Ok(Line::ListOk),
        _ => {}
    }
    if let Some(text) = line.strip_prefix("ACK ") {
        return Ok(Line::Ack(parse_ack(text)));
    }
    match line.split_once(": ") {
        Some((key, value)) if !key.is_empty() => Ok(Line::Pair(key.into(), value.into())),
        _ => Err(ProtocolError(format!(
            "unexpected line from MPD: {:?}",
            shorten(line)
        ))),
    }
}

/// `[4@0] {status} you don't have permission for "status"` -> code 4.
fn parse_ack(text: &str) -> Ack {
    let code = text
        .strip_prefix('[')
        .and_then(|rest| rest.split_once('@'))
        .and_then(|(code, _)| code.parse().ok())
        .unwrap_or(0);
    Ack {
        code,
        text: text.to_owned(),
    }
}

/// Reads the greeting MPD sends on connect: `OK MPD 0.23.5` -> `0.23.5`.
pub fn parse_greeting(line: &str) -> Result<&str, ProtocolError> {
    line.strip_prefix("OK MPD ").ok_or_else(|| {
        ProtocolError(format!(
            "not an MPD server (it greeted with {:?})",
            shorten(line)
        ))
    })
}

/// Quotes one command argument: `"`, with `\` and `"` escaped. `None` for
/// text MPD's line protocol cannot carry (a line break).
pub fn quote(arg: &str) -> Option<String> {
    if arg.contains(['\n', '\r']) {
        return None;
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

/// What the window needs from `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Queue position of the current song (`song`), if there is one.
    pub song: Option<usize>,
    /// Queue position MPD will play next (`nextsong`), if any.
    pub next_song: Option<usize>,
    /// Entries in the queue (`playlistlength`).
    pub length: usize,
    /// `repeat: 1`.
    pub repeat: bool,
    /// `random: 1` (informational: `nextsong` already accounts for it).
    pub random: bool,
    /// The queue's version (`playlist`): it changes with every change to
    /// the queue, so two equal statuses frame a consistent read.
    pub version: usize,
    /// `state: play` (not `pause` or `stop`).
    pub playing: bool,
    /// `single` on: `1`, or `oneshot` (MPD 0.21).
    pub single: bool,
}

/// Reads a `status` answer. `playlistlength` is required; other missing
/// keys mean "none" or "off".
pub fn parse_status(pairs: &[(String, String)]) -> Result<Status, ProtocolError> {
    let mut status = Status::default();
    let mut length = None;
    for (key, value) in pairs {
        match key.as_str() {
            "song" => status.song = Some(number(key, value)?),
            "nextsong" => status.next_song = Some(number(key, value)?),
            "playlistlength" => length = Some(number(key, value)?),
            "repeat" => status.repeat = flag(key, value)?,
            "random" => status.random = flag(key, value)?,
            "playlist" => status.version = number(key, value)?,
            "state" => status.playing = value == "play",
            "single" => status.single = value != "0",
            _ => {}
        }
    }
    status.length =
        length.ok_or_else(|| ProtocolError("MPD's status has no playlistlength".into()))?;
    Ok(status)
}

/// One queue entry from `playlistinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its queue position (`Pos`).
    pub pos: usize,
    /// Its URI (`file`), as it was added.
    pub file: String,
}

/// Reads a `playlistinfo` answer: each entry starts with `file:` and has
/// a `Pos:`; other tags are skipped.
pub fn parse_entries(pairs: &[(String, String)]) -> Result<Vec<Entry>, ProtocolError> {
    let mut entries = Vec::new();
    let mut current: Option<(String, Option<usize>)> = None;
    for (key, value) in pairs {
        match key.as_str() {
            "file" => {
                if let Some(done) = current.take() {
                    entries.push(finish_entry(done)?);
                }
                current = Some((value.clone(), None));
            }
            "Pos" => match current.as_mut() {
                Some((_, pos)) => *pos = Some(number(key, value)?),
                None => {
                    return Err(ProtocolError(
                        "a Pos before any file in playlistinfo".into(),
                    ));
                }
            },
            _ => {}
        }
    }
    if let Some(done) = current {
        entries.push(finish_entry(done)?);
    }
    Ok(entries)
}

/// Reads a `readmessages` answer: `(channel, message)` pairs in order.
pub fn parse_messages(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut messages = Vec::new();
    let mut channel = None;
    for (key, value) in pairs {
        match key.as_str() {
            "channel" => channel = Some(value.clone()),
            "message" => {
                if let Some(channel) = &channel {
                    messages.push((channel.clone(), value.clone()));
                }
            }
            _ => {}
        }
    }
    messages
}

fn finish_entry((file, pos): (String, Option<usize>)) -> Result<Entry, ProtocolError> {
    let pos =
        pos.ok_or_else(|| ProtocolError(format!("queue entry {:?} has no Pos", shorten(&file))))?;
    Ok(Entry { pos, file })
}

fn number(key: &str, value: &str) -> Result<usize, ProtocolError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProtocolError(format!(
            "MPD sent {key}: {:?}, not a number",
            shorten(value)
        )));
    }
    value
        .parse()
        .map_err(|_| ProtocolError(format!("MPD sent {key}: {value}, too large")))
}

fn flag(key: &str, value: &str) -> Result<bool, ProtocolError> {
    match value {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(ProtocolError(format!(
            "MPD sent {key}: {:?}, not 0 or 1",
            shorten(value)
        ))),
    }
}

/// At most 80 characters of `text`, for error messages.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_bounded_in_lines_and_bytes() {
        let ok = parse_answer(b"a: 1\nb: 2\nOK\n", Budget::COMMAND).expect("whole");
        assert_eq!(ok.expect("parsed").expect("not an ACK").len(), 2);
        assert!(
            parse_answer(b"a: 1\n", Budget::COMMAND).is_none(),
            "unfinished"
        );
        let endless = b"changed: player\n".repeat(300);
        let e = parse_answer(&endless, Budget::IDLE)
            .expect("ended")
            .expect_err("too long");
        assert!(e.0.contains("longer than any answer"), "{e}");
        let wide = [b"a: ".as_slice(), &[b'x'; 20_000], b"\nOK\n"].concat();
        assert!(parse_answer(&wide, Budget::IDLE).expect("ended").is_err());
        assert!(parse_answer(&wide, Budget::COMMAND).expect("ended").is_ok());
        let mut budget = Budget::COMMAND;
        for _ in 0..65_536 {
            budget.take(4).expect("within");
        }
        assert!(budget.take(1).is_err(), "one line too many");
    }

    fn pairs(text: &str) -> Vec<(String, String)> {
        text.lines()
            .map(|l| match parse_line(l) {
                Ok(Line::Pair(k, v)) => (k, v),
                other => panic!("{l:?}: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn lines() {
        assert_eq!(parse_line("OK"), Ok(Line::Ok));
        assert_eq!(parse_line("list_OK"), Ok(Line::ListOk));
        assert_eq!(
            parse_line("song: 2"),
            Ok(Line::Pair("song".into(), "2".into()))
        );
        assert_eq!(
            parse_line("file: http://h:1/a: b"),
            Ok(Line::Pair("file".into(), "http://h:1/a: b".into()))
        );
        assert_eq!(
            parse_line("Title: "),
            Ok(Line::Pair("Title".into(), "".into()))
        );
        assert_eq!(
            parse_line("ACK [4@0] {status} you don't have permission for \"status\""),
            Ok(Line::Ack(Ack {
                code: ACK_PERMISSION,
                text: "[4@0] {status} you don't have permission for \"status\"".into()
            }))
        );
        assert_eq!(
            parse_line("ACK [3@0] {password} incorrect password").map(|l| match l {
                Line::Ack(a) => a.code,
                _ => 99,
            }),
            Ok(3)
        );
        // An ACK without a readable code is still an ACK.
        assert!(matches!(
            parse_line("ACK junk"),
            Ok(Line::Ack(Ack { code: 0, .. }))
        ));
        for bad in [
            "",
            "OK MPD",
            "no separator",
            ":x",
            ": x",
            "key:value",
            "OKAY",
        ] {
            assert!(parse_line(bad).is_err(), "{bad:?} accepted");
        }
        let long = "x".repeat(10_000);
        let err = parse_line(&long).expect_err("garbage");
        assert!(err.0.len() < 200, "{}", err.0.len());
    }

    #[test]
    fn greeting() {
        assert_eq!(parse_greeting("OK MPD 0.23.5"), Ok("0.23.5"));
        assert!(parse_greeting("HTTP/1.1 400 Bad Request").is_err());
        assert!(parse_greeting("").is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("secret").as_deref(), Some("\"secret\""));
        assert_eq!(quote("a\"b\\c d").as_deref(), Some(r#""a\"b\\c d""#));
        assert_eq!(quote(""), Some("\"\"".into()));
        assert_eq!(quote("x\nstatus"), None);
        assert_eq!(quote("x\r"), None);
    }

    #[test]
    fn status_playing_and_stopped() {
        let s = parse_status(&pairs(
            "volume: -1\nrepeat: 1\nrandom: 0\nsingle: 0\nconsume: 0\nplaylist: 6\n\
             playlistlength: 5\nstate: stop\nsong: 2\nsongid: 3\nnextsong: 3\nnextsongid: 4",
        ))
        .expect("status");
        assert_eq!(
            s,
            Status {
                song: Some(2),
                next_song: Some(3),
                length: 5,
                repeat: true,
                random: false,
                version: 6,
                playing: false,
                single: false,
            }
        );
        let empty = parse_status(&pairs(
            "repeat: 0\nrandom: 1\nplaylistlength: 0\nstate: stop",
        ))
        .expect("status");
        assert_eq!(
            empty,
            Status {
                length: 0,
                random: true,
                ..Status::default()
            }
        );
    }

    #[test]
    fn status_refuses_odd_values() {
        for bad in [
            "repeat: 0",
            "playlistlength: -1",
            "playlistlength: 5\nsong: x",
            "playlistlength: 5\nsong: ",
            "playlistlength: 5\nsong: +1",
            "playlistlength: 99999999999999999999999999",
            "playlistlength: 5\nrepeat: 2",
            "playlistlength: 5\nplaylist: v2",
        ] {
            assert!(parse_status(&pairs(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn messages() {
        let m = parse_messages(&pairs(
            "channel: icyproxy\nmessage: search daft punk\nchannel: other\nmessage: x",
        ));
        assert_eq!(
            m,
            [
                ("icyproxy".into(), "search daft punk".into()),
                ("other".into(), "x".into())
            ]
        );
        assert!(parse_messages(&pairs("message: orphan")).is_empty());
    }

    #[test]
    fn entries() {
        let e = parse_entries(&pairs(
            "file: http://h:8080/proxy/dQw4w9WgXcQ/\nTitle: A - T\nPos: 4\nId: 5\n\
             file: song.flac\nPos: 5\nId: 9",
        ))
        .expect("entries");
        assert_eq!(
            e,
            [
                Entry {
                    pos: 4,
                    file: "http://h:8080/proxy/dQw4w9WgXcQ/".into()
                },
                Entry {
                    pos: 5,
                    file: "song.flac".into()
                }
            ]
        );
        assert_eq!(parse_entries(&[]), Ok(vec![]));
        assert!(parse_entries(&pairs("file: a\nId: 1")).is_err());
        assert!(parse_entries(&pairs("Pos: 1\nfile: a")).is_err());
        assert!(parse_entries(&pairs("file: a\nPos: one")).is_err());
    }
}
