//! The client side of a stream: the body it is sent (audio, with ICY
//! blocks when it asked for them), the copy loop that feeds it, and the
//! watch that frees the worker when the client leaves while upstream is
//! silent.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use log::debug;

use crate::response::{BodyWriter, Framing, Outcome, ResponseHead};
use crate::stream::icy::IcyInserter;
use crate::stream::upstream::Upstream;

/// A response whose head is out: tiny_http's raw writer, and the socket
/// (patched tiny_http lends it: a stalled reader times out, and a body cut
/// short ends the connection instead of leaving the client waiting for
/// bytes that never come).
pub(crate) struct HeadSent {
    pub writer: Box<dyn Write + Send>,
    pub connection: Option<tiny_http::ConnectionHandle>,
}

impl HeadSent {
    /// Ends the connection (a body cut short, or close-delimited).
    pub fn close(&self) {
        if let Some(conn) = &self.connection {
            conn.shutdown();
        }
    }
}

/// Writes and flushes `head`, with `write_timeout` on the socket; the
/// outcome to log when the client is gone already.
pub(crate) fn send_head(
    request: tiny_http::Request,
    head: &ResponseHead,
    http11: bool,
    write_timeout: std::time::Duration,
) -> Result<HeadSent, Outcome> {
    let connection = request.connection();
    if let Some(conn) = &connection {
        let _ = conn.set_write_timeout(Some(write_timeout));
    }
    let mut sent = HeadSent {
        writer: request.into_writer(),
        connection,
    };
    let written = sent
        .writer
        .write_all(&head.to_bytes(http11))
        .and_then(|()| sent.writer.flush());
    match written {
        Ok(()) => Ok(sent),
        Err(e) => {
            sent.close();
            let why = format!("client gone before the body: {e}");
            Err(Outcome::new(head.status, 0, Some(why)))
        }
    }
}

/// Where audio goes: the client's body, through the ICY inserter when the
/// client asked for blocks.
pub(crate) struct ClientBody<W: Write> {
    out: BodyWriter<W>,
    icy: Option<IcyInserter>,
    /// Body bytes written (audio and blocks).
    sent: u64,
}

impl<W: Write> ClientBody<W> {
    /// The body written through `out`, with blocks when `icy` is there.
    pub(crate) fn new(out: BodyWriter<W>, icy: Option<IcyInserter>) -> ClientBody<W> {
        ClientBody { out, icy, sent: 0 }
    }

    /// Writes and flushes one chunk: the first audio byte leaves as soon
    /// as it arrives.
    pub(super) fn send(&mut self, chunk: &[u8]) -> io::Result<()> {
        let written = match self.icy.as_mut() {
            Some(ins) => ins.write_audio(chunk, &mut self.out)?,
            None => {
                self.out.write_all(chunk)?;
                chunk.len() as u64
            }
        };
        self.out.flush()?;
        self.sent += written;
        Ok(())
    }

    /// Ends the body: the bytes sent, and why it ended early, if it did. A
    /// body shorter than its `Content-Length` is cut short, whoever ended it.
    pub(crate) fn finish(self, end: End, framing: Framing) -> (u64, Option<String>) {
        let why = match end {
            End::Complete => match framing {
                Framing::Length(n) if self.sent != n => Some(format!(
                    "upstream ended the body at {} of {n} bytes",
                    self.sent
                )),
                _ => self
                    .out
                    .finish()
                    .err()
                    .map(|e| format!("client gone at the end: {e}")),
            },
            End::Stopped => Some("server shutting down".into()),
            End::UpstreamFailed(e) => Some(format!("upstream failed: {e}")),
            End::ClientGone(e) => Some(format!("client gone: {e}")),
        };
        (self.sent, why)
    }
}

/// How a body's copy ended.
pub(crate) enum End {
    Complete,
    Stopped,
    UpstreamFailed(io::Error),
    ClientGone(io::Error),
}

/// Copies upstream to the client chunk by chunk. (A read-ahead thread was
/// measured on 2 cores: 600-680 MB/s against 955 for this loop.)
pub(crate) fn copy_body<R: Read, W: Write>(
    mut body: R,
    client: &mut ClientBody<W>,
    stopping: &AtomicBool,
    buf: &mut [u8],
) -> End {
    loop {
        if stopping.load(Ordering::Relaxed) {
            return End::Stopped;
        }
        let n = match body.read(buf) {
            Ok(0) => return End::Complete,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return stopped_or(stopping, End::UpstreamFailed(e)),
        };
        if let Err(e) = client.send(&buf[..n]) {
            return stopped_or(stopping, End::ClientGone(e));
        }
    }
}

/// A stop shuts the streams' sockets, and the copy then fails on one of
/// them: that is the stop, not the client or upstream going.
fn stopped_or(stopping: &AtomicBool, end: End) -> End {
    match stopping.load(Ordering::Relaxed) {
        true => End::Stopped,
        false => end,
    }
}

/// Reads and drops the first `n` bytes of a body that ignored our `Range`;
/// how the stream ends if that cannot be done.
pub(super) fn discard(
    body: &mut impl Read,
    n: u64,
    buf: &mut [u8],
    stopping: &AtomicBool,
) -> Result<(), End> {
    let mut left = n;
    while left > 0 {
        if stopping.load(Ordering::Relaxed) {
            return Err(End::Stopped);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        match body.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(End::UpstreamFailed(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("body ended {left} bytes before the range asked for"),
                )));
            }
            Ok(got) => left -= got as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(End::UpstreamFailed(e)),
        }
    }
    Ok(())
}

/// Watches a stream's client while the worker may be blocked on upstream:
/// when the client closes, the stream's upstream connections are cut, so
/// the blocked read returns and the worker is free within moments instead
/// of after the upstream read timeout.
pub(super) struct ClientWatch {
    done: Arc<AtomicBool>,
    /// Set when the client has closed.
    gone: Arc<AtomicBool>,
    upstream: Upstream,
}

impl ClientWatch {
    pub(super) fn start(
        conn: tiny_http::ConnectionHandle,
        upstream: Upstream,
    ) -> Option<ClientWatch> {
        let done = Arc::new(AtomicBool::new(false));
        let gone = Arc::new(AtomicBool::new(false));
        let (seen, mark) = (Arc::clone(&done), Arc::clone(&gone));
        let watched = upstream.clone();
        std::thread::Builder::new()
            .name("client-watch".into())
            .spawn(move || {
                // Returns when the client closes, or sends its next request.
                if conn.wait_for_peer_close() && !seen.load(Ordering::SeqCst) {
                    mark.store(true, Ordering::SeqCst);
                    watched.cut();
                }
            })
            .map_err(|e| debug!("no client watch: {e}"))
            .ok()?;
        Some(ClientWatch {
            done,
            gone,
            upstream,
        })
    }

    /// Set when the client has closed.
    pub(super) fn gone(&self) -> &AtomicBool {
        &self.gone
    }
}

impl Drop for ClientWatch {
    /// The stream is over: its pool (used by no one else) is closed now,
    /// not when the watching thread ends.
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        self.upstream.cut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(out: &mut Vec<u8>, framing: Framing) -> ClientBody<&mut Vec<u8>> {
        ClientBody::new(BodyWriter::new(out, framing), None)
    }

    #[test]
    fn the_body_is_copied_whole_and_counted() {
        let audio: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        let (mut out, mut buf) = (Vec::new(), [0; 4096]);
        let mut client = plain(&mut out, Framing::Length(10_000));
        let end = copy_body(&audio[..], &mut client, &AtomicBool::new(false), &mut buf);
        assert!(matches!(end, End::Complete));
        assert_eq!(client.finish(end, Framing::Length(10_000)), (10_000, None));
        assert_eq!(out, audio);
    }

    #[test]
    fn a_body_shorter_than_its_length_is_cut_short() {
        let (mut out, mut buf) = (Vec::new(), [0; 16]);
        let mut client = plain(&mut out, Framing::Length(10));
        let end = copy_body(&b"abc"[..], &mut client, &AtomicBool::new(false), &mut buf);
        let (sent, why) = client.finish(end, Framing::Length(10));
        assert_eq!(sent, 3);
        assert_eq!(
            why.as_deref(),
            Some("upstream ended the body at 3 of 10 bytes")
        );
    }

    #[test]
    fn a_stop_ends_the_copy_before_a_byte() {
        let (mut out, mut buf) = (Vec::new(), [0; 16]);
        let mut client = plain(&mut out, Framing::Chunked);
        let end = copy_body(&b"abc"[..], &mut client, &AtomicBool::new(true), &mut buf);
        let (sent, why) = client.finish(end, Framing::Chunked);
        assert_eq!((sent, why.as_deref()), (0, Some("server shutting down")));
        assert!(out.is_empty());
    }

    #[test]
    fn discard_drops_exactly_the_bytes_before_the_range() {
        let mut body = &b"0123456789"[..];
        let mut buf = [0; 3];
        assert!(discard(&mut body, 7, &mut buf, &AtomicBool::new(false)).is_ok());
        assert_eq!(body, b"789");
    }

    #[test]
    fn discard_past_the_end_is_an_upstream_failure() {
        let mut body = &b"0123"[..];
        let mut buf = [0; 3];
        let Err(End::UpstreamFailed(e)) = discard(&mut body, 10, &mut buf, &AtomicBool::new(false))
        else {
            panic!("expected an upstream failure");
        };
        assert_eq!(
            e.to_string(),
            "body ended 6 bytes before the range asked for"
        );
    }
}
