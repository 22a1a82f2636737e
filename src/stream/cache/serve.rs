//! A kept song answered from disk: the same shape and head as a streamed
//! answer ([`shape::shape`] of the kept length and type, then
//! [`shape::response_head`]), so `200`, `206`, `416`, `HEAD` and ICY
//! blocks are exactly what streaming would send. Without blocks the
//! kernel copies file to socket (`sendfile`); with them the file is read
//! through the ICY inserter as upstream's body would be.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use tiny_http::{ConnectionHandle, Request};

use crate::error::Error;
use crate::response::{self, BodyWriter, Framing, Outcome};
use crate::stream::cache::Kept;
use crate::stream::client::{self, ClientBody, copy_body};
use crate::stream::icy::IcyInserter;
use crate::stream::proxy::ProxyContext;
use crate::stream::shape::{self, Ask, Misfit, Plan};
use crate::stream::upstream::UpstreamHead;
use crate::video_id::VideoId;

/// The most one `sendfile` call sends, so a stop is seen between calls.
const SENDFILE_STEP: usize = 1 << 20;

/// Serves `GET` or `HEAD` of the kept song `kept` to completion.
pub fn serve(
    request: Request,
    id: &VideoId,
    ask: Ask,
    kept: Kept,
    ctx: &mut ProxyContext,
) -> Outcome {
    let as_upstream = UpstreamHead {
        status: 200,
        content_type: Some(kept.song.content_type.clone()),
        content_length: Some(kept.song.bytes),
        content_range: None,
        accepts_ranges: true,
    };
    let shape = match shape::shape(ask, &as_upstream) {
        Ok(shape) => shape,
        Err(Misfit::NotSatisfiable { total }) => {
            if !ask.head_only {
                ctx.cache.count_hit(id, ctx.store);
            }
            let e = Error::RangeNotSatisfiable {
                content_range: Some(format!("bytes */{total}")),
            };
            return response::respond_error(request, &e);
        }
        Err(other) => {
            let e = Error::UpstreamInvalid(format!("kept song: {other:?}"));
            return response::respond_error(request, &e);
        }
    };
    let (skip, take) = match shape.plan {
        Plan::Plain { skip, take } => (skip, take.unwrap_or(kept.song.bytes - skip)),
        Plan::Pieces { start, end, .. } => (start, end - start),
    };
    let title = match ctx.store.get(id) {
        Ok(Some(track)) => track.tags.display_title(),
        _ => String::new(),
    };
    let settings = ctx.settings;
    let inserter = ask.icy.then(|| IcyInserter::new(settings.metaint, &title));
    let icy = inserter.as_ref().map(|ins| (ins, settings.metaint));
    let head = match shape::response_head(&shape, icy, &title, ask.http11) {
        Ok(head) => head,
        Err(e) => return response::respond_error(request, &e),
    };
    let sent = match client::send_head(request, &head, ask.http11, settings.write_timeout) {
        Ok(sent) => sent,
        Err(outcome) => return outcome,
    };
    if ask.head_only {
        return Outcome::new(head.status, 0, None);
    }
    let _active = ctx.metrics.stream_started(sent.connection.clone());
    let mut file = kept.file;
    let (bytes, why) = match (&inserter, &sent.connection, head.framing) {
        (None, Some(conn), Framing::Length(_)) => send_file(conn, &file, skip, take, ctx.stopping),
        _ => {
            let mut client = ClientBody::new(BodyWriter::new(sent.writer, head.framing), inserter);
            let end = match file.seek(SeekFrom::Start(skip)) {
                Ok(_) => copy_body((&mut file).take(take), &mut client, ctx.stopping, ctx.buf),
                Err(e) => client::End::UpstreamFailed(e),
            };
            client.finish(end, head.framing)
        }
    };
    if why.is_some() || head.framing == Framing::Close {
        if let Some(conn) = &sent.connection {
            conn.shutdown();
        }
    }
    // Recorded once the body is out: no write before the first byte.
    ctx.cache.count_hit(id, ctx.store);
    Outcome::new(head.status, bytes, why)
}

/// `len` bytes of `file` from `from`, copied by the kernel to the client's
/// socket (the head already flushed); the bytes sent, and why it ended
/// early.
fn send_file(
    conn: &ConnectionHandle,
    file: &File,
    from: u64,
    len: u64,
    stopping: &AtomicBool,
) -> (u64, Option<String>) {
    let Ok(mut offset) = libc::off_t::try_from(from) else {
        return (0, Some(format!("offset {from} too large for sendfile")));
    };
    let mut sent = 0u64;
    while sent < len {
        if stopping.load(Ordering::Relaxed) {
            return (sent, Some("server shutting down".into()));
        }
        let want = usize::try_from(len - sent).map_or(SENDFILE_STEP, |n| n.min(SENDFILE_STEP));
        match nix::sys::sendfile::sendfile(conn.socket_fd(), file, Some(&mut offset), want) {
            Ok(0) => {
                return (
                    sent,
                    Some(format!("kept file ended at {sent} of {len} bytes")),
                );
            }
            Ok(n) => sent += n as u64,
            Err(Errno::EINTR) => {}
            Err(e) => return (sent, Some(format!("client gone: {e}"))),
        }
    }
    (sent, None)
}
