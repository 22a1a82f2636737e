//! One `/proxy/{id}` request: look the id up, fetch upstream, write the
//! ICY response head ourselves and copy the audio, inserting metadata
//! blocks when the client asked for them.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use log::debug;
use tiny_http::Request;

use crate::error::{Error, Result};
use crate::icy::{self, IcyInserter};
use crate::response::{self, BodyWriter, Framing, ResponseHead};
use crate::store::{Track, TrackStore};
use crate::stream_url;
use crate::upstream::{self, Upstream, UpstreamResponse};
use crate::video_id::VideoId;

/// Used when upstream does not say what it sends.
const FALLBACK_CONTENT_TYPE: &str = "audio/mpeg";

/// What a worker needs to serve a stream. The buffer is the worker's own,
/// reused for every chunk of every stream.
pub struct ProxyContext<'a> {
    pub store: &'a TrackStore,
    pub upstream: &'a Upstream,
    pub metaint: usize,
    pub stopping: &'a AtomicBool,
    pub active_streams: &'a AtomicUsize,
    pub buf: &'a mut [u8],
}

/// How a request ended, for the log line.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    /// Body bytes written to the client.
    pub bytes: u64,
    /// Why the body ended early, if it did.
    pub cut_short: Option<String>,
}

/// What the client asked for, read from its request.
struct Ask {
    icy: bool,
    http11: bool,
    range: Option<String>,
}

impl Ask {
    fn of(request: &Request) -> Ask {
        let header = |name: &'static str| {
            request
                .headers()
                .iter()
                .find(|h| h.field.equiv(name))
                .map(|h| h.value.as_str())
        };
        let v = request.http_version();
        Ask {
            icy: header("Icy-MetaData").is_some_and(|v| v.trim() == "1"),
            http11: (v.0, v.1) >= (1, 1),
            range: header("Range")
                .and_then(upstream::forwardable_range)
                .map(str::to_owned),
        }
    }
}

/// Serves `GET` or `HEAD /proxy/{id}` to completion.
pub fn serve(request: Request, id: &VideoId, head_only: bool, ctx: &mut ProxyContext) -> Outcome {
    let ask = Ask::of(&request);
    let (track, upstream) = match open_upstream(id, head_only, &ask, ctx) {
        Ok(found) => found,
        Err(e) => {
            let status = e.status();
            debug!("{id}: {e}");
            let _ = response::respond_error(request, &e);
            return Outcome {
                status,
                bytes: 0,
                cut_short: None,
            };
        }
    };
    let title = icy::display_title(&track.artist, &track.title);
    let inserter = ask.icy.then(|| IcyInserter::new(ctx.metaint, &title));
    let head = response_head(
        &upstream,
        inserter.as_ref(),
        &title,
        ctx.metaint,
        ask.http11,
    );
    let status = head.status;
    let mut writer = request.into_writer();
    let sent_head = writer
        .write_all(&head.to_bytes(ask.http11))
        .and_then(|()| writer.flush());
    if let Err(e) = sent_head {
        return Outcome {
            status,
            bytes: 0,
            cut_short: Some(format!("client gone before the body: {e}")),
        };
    }
    let Some(body) = upstream.body.filter(|_| !head_only) else {
        return Outcome {
            status,
            bytes: 0,
            cut_short: None,
        };
    };
    let _active = ActiveStream::count(ctx.active_streams);
    let mut out = BodyWriter::new(writer, head.framing);
    let (bytes, end) = copy_body(body, &mut out, inserter, ctx);
    let cut_short = match end {
        End::Complete => out
            .finish()
            .err()
            .map(|e| format!("client gone at the end: {e}")),
        End::Stopped => Some("server shutting down".into()),
        End::UpstreamFailed(e) => Some(format!("upstream failed: {e}")),
        End::ClientGone(e) => Some(format!("client gone: {e}")),
    };
    Outcome {
        status,
        bytes,
        cut_short,
    }
}

/// Looks the track up and asks upstream for it (headers only for `HEAD`).
fn open_upstream(
    id: &VideoId,
    head_only: bool,
    ask: &Ask,
    ctx: &ProxyContext,
) -> Result<(Track, UpstreamResponse)> {
    let track = ctx
        .store
        .get(id)?
        .ok_or_else(|| Error::NotFound(format!("unknown video id {id}")))?;
    stream_url::check(&track.stream_url).map_err(|e| {
        log::warn!("{id}: stored stream URL refused: {e}");
        Error::BadStreamUrl("not an http(s) URL".into())
    })?;
    debug!("{id}: upstream {}", track.stream_url);
    let range = ask.range.as_deref();
    let upstream = if head_only {
        ctx.upstream.probe(&track.stream_url, range)?
    } else {
        ctx.upstream.get(&track.stream_url, range)?
    };
    Ok((track, upstream))
}

/// The same head for `GET` and `HEAD`: `icy-name` without inline blocks,
/// `icy-metaint` with them, never both.
fn response_head(
    upstream: &UpstreamResponse,
    inserter: Option<&IcyInserter>,
    title: &str,
    metaint: usize,
    http11: bool,
) -> ResponseHead {
    let content_type = upstream
        .content_type
        .clone()
        .unwrap_or_else(|| FALLBACK_CONTENT_TYPE.into());
    let mut headers = vec![
        ("Content-Type", content_type),
        ("Cache-Control", "no-cache".into()),
    ];
    if upstream.accepts_ranges {
        headers.push(("Accept-Ranges", "bytes".into()));
    }
    if let Some(range) = &upstream.content_range {
        headers.push(("Content-Range", range.clone()));
    }
    let length = match inserter {
        Some(ins) => {
            headers.push(("icy-metaint", metaint.to_string()));
            upstream
                .content_length
                .map(|n| icy::wire_length(n, metaint as u64, ins.first_block_len() as u64))
        }
        None => {
            let name = icy::sanitize_header_value(title);
            if !name.is_empty() {
                headers.push(("icy-name", name));
            }
            upstream.content_length
        }
    };
    ResponseHead {
        status: upstream.status,
        headers,
        framing: Framing::choose(length, http11),
    }
}

enum End {
    Complete,
    Stopped,
    UpstreamFailed(io::Error),
    ClientGone(io::Error),
}

/// Copies upstream to the client chunk by chunk, flushing each so the
/// first audio byte leaves as soon as it arrives.
fn copy_body<W: Write>(
    mut body: Box<dyn Read + Send>,
    out: &mut BodyWriter<W>,
    mut inserter: Option<IcyInserter>,
    ctx: &mut ProxyContext,
) -> (u64, End) {
    let mut sent = 0u64;
    loop {
        if ctx.stopping.load(Ordering::Relaxed) {
            return (sent, End::Stopped);
        }
        let n = match body.read(ctx.buf) {
            Ok(0) => return (sent, End::Complete),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (sent, End::UpstreamFailed(e)),
        };
        let chunk = &ctx.buf[..n];
        let written = match inserter.as_mut() {
            Some(ins) => ins.write_audio(chunk, out),
            None => out.write_all(chunk).map(|()| n as u64),
        };
        match written.and_then(|w| out.flush().map(|()| w)) {
            Ok(w) => sent += w,
            Err(e) => return (sent, End::ClientGone(e)),
        }
    }
}

/// Counts a stream in `/health` for as long as it lives.
struct ActiveStream<'a>(&'a AtomicUsize);

impl<'a> ActiveStream<'a> {
    fn count(counter: &'a AtomicUsize) -> ActiveStream<'a> {
        counter.fetch_add(1, Ordering::SeqCst);
        ActiveStream(counter)
    }
}

impl Drop for ActiveStream<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
