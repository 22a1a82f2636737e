//! One `/proxy/{id}` request as a [`Stream`] that goes through four stages
//! sharing its state, the way ureq's `run` shares one state across its
//! stage functions:
//!
//! 1. **open**: find the track (resolving it if needed) and send the first
//!    upstream request, retrying refused connections and refreshing a URL
//!    upstream refuses;
//! 2. **shape**: decide what the client gets (status, length, range) and
//!    how the body is read (ranged pieces, or one plain body): the pure
//!    [`shape::shape`] of the client's ask and upstream's head;
//! 3. **respond**: write our own head on tiny_http's raw writer;
//! 4. **copy**: the audio, with ICY blocks when the client asked for them
//!    (the client's side of it, and its watch, are in `client`).

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use log::debug;
use tiny_http::Request;

use crate::catalog::lookup::{Refreshed, TrackSource};
use crate::catalog::model::Track;
use crate::catalog::store::TrackStore;
use crate::catalog::stream_url;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::response::{self, BodyWriter, Framing, Outcome};
use crate::stream::cache::keep::{Keeper, Tee};
use crate::stream::cache::{self, AudioCache, Kept};
use crate::stream::client::{self, ClientBody, ClientWatch, End, copy_body, discard};
use crate::stream::icy::IcyInserter;
use crate::stream::pieces::PieceReader;
use crate::stream::retry::{self, Recovery, Stage};
use crate::stream::shape::{self, Ask, Misfit, Plan, Shape, response_head};
use crate::stream::upstream::{Piece, Upstream, UpstreamHead, UpstreamResponse};
use crate::video_id::VideoId;
use crate::wire::ByteRange;

/// The settings every stream shares, from `[icy]`, `[upstream]` and `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    /// Audio bytes between inline ICY blocks.
    pub metaint: usize,
    /// Bytes asked of upstream per ranged request.
    pub chunk_bytes: u64,
    /// Attempts after a failed upstream request or a dropped piece.
    pub retries: u32,
    /// How long a write to the client may block.
    pub write_timeout: Duration,
    /// The longest a request waits for a URL's `available_at`.
    pub max_wait: Duration,
}

/// What the server learned of a stream's track before its worker took it.
#[derive(Debug)]
pub enum Before {
    /// Resolved for this request (by the resolve pool).
    Resolved(Track),
    /// The store's row, read when the request arrived (`None`: unknown).
    Stored(Option<Track>),
    /// Nothing yet: the worker looks.
    Nothing,
    /// Kept in the audio cache: served from disk, no resolver, no upstream.
    Cached(Box<Kept>),
}

/// What a worker lends a stream. The buffer is the worker's own, reused
/// for every chunk of every stream.
pub struct ProxyContext<'a> {
    /// What was found for this request before it reached its worker: a
    /// track resolved for it, or the store's row read at dispatch.
    pub found: Before,
    pub store: &'a mut TrackStore,
    pub upstream: &'a Upstream,
    pub tracks: &'a TrackSource,
    pub settings: StreamSettings,
    pub stopping: &'a AtomicBool,
    pub metrics: &'a Metrics,
    /// Where songs streamed whole are kept, and kept ones are served from.
    pub cache: &'a AudioCache,
    pub buf: &'a mut [u8],
}

/// Serves `GET` or `HEAD /proxy/{id}` to completion.
pub fn serve(
    request: Request,
    id: &VideoId,
    head_only: bool,
    icy_allowed: bool,
    ctx: &mut ProxyContext,
) -> Outcome {
    let ask = Ask::of(&request, head_only, icy_allowed);
    if let Before::Cached(kept) = std::mem::replace(&mut ctx.found, Before::Nothing) {
        return cache::serve::serve(request, id, ask, *kept, ctx);
    }
    let opened = Stream::open(id, ask, ctx).and_then(|(stream, first)| {
        let shape = stream.shape(&first.head)?;
        Ok((stream, shape, first.body))
    });
    match opened {
        Ok((stream, shape, body)) => stream.respond(request, shape, body),
        Err(e) => {
            debug!("{id}: {e}");
            response::respond_error(request, &e)
        }
    }
}

/// One stream's shared state.
struct Stream<'s, 'a> {
    id: &'s VideoId,
    ask: Ask,
    ctx: &'s mut ProxyContext<'a>,
    /// A `GET` gets its own pool, so its connection can be cut when its
    /// client leaves while upstream is silent; a `HEAD` uses the shared one.
    upstream: Upstream,
    track: Track,
    refreshed: Refreshed,
    /// The song written into the cache as it streams, when it is kept.
    keeper: Option<Keeper<'a>>,
}

impl<'s, 'a> Stream<'s, 'a> {
    /// Stage 1: the track, and upstream's answer to the first request
    /// (`HEAD`-like probe, or the first ranged piece).
    fn open(
        id: &'s VideoId,
        ask: Ask,
        ctx: &'s mut ProxyContext<'a>,
    ) -> Result<(Stream<'s, 'a>, UpstreamResponse)> {
        let (track, refreshed) = match std::mem::replace(&mut ctx.found, Before::Nothing) {
            Before::Resolved(track) => (track, Refreshed::Yes),
            Before::Stored(stored) => ctx.tracks.play_found(id, ctx.store, stored)?,
            Before::Nothing | Before::Cached(_) => ctx.tracks.playable(id, ctx.store)?,
        };
        let upstream = match ask.head_only {
            true => ctx.upstream.clone(),
            false => ctx.upstream.for_stream(),
        };
        let mut stream = Stream {
            id,
            ask,
            ctx,
            upstream,
            track,
            refreshed,
            keeper: None,
        };
        stream.wait_until_available()?;
        let first = stream.first_answer()?;
        Ok((stream, first))
    }

    /// As [`retry`] says: retried with backoff up to `retries` times, or
    /// once with a fresh URL.
    fn first_answer(&mut self) -> Result<UpstreamResponse> {
        let retries = self.ctx.settings.retries;
        let mut attempt = 0;
        loop {
            let e = match self.ask_upstream() {
                Ok(first) => return Ok(first),
                Err(e) => e,
            };
            match Recovery::of(&e, Stage::Open) {
                Recovery::Refresh => {
                    self.refresh_once(e)?;
                    self.wait_until_available()?;
                }
                Recovery::Retry if attempt < retries => {
                    attempt += 1;
                    self.ctx.metrics.upstream_retry();
                    debug!("{}: {e}; retry {attempt} of {retries}", self.id);
                    std::thread::sleep(retry::backoff(attempt));
                }
                Recovery::Retry | Recovery::GiveUp => return Err(e),
            }
        }
    }

    /// One request with the current URL.
    fn ask_upstream(&self) -> Result<UpstreamResponse> {
        let url = checked_url(self.id, &self.track)?;
        debug!("{}: upstream {url}", self.id);
        let headers = &self.track.fetch.http_headers;
        if self.ask.head_only {
            return self.upstream.probe(url, headers);
        }
        let first = self.upstream.get(url, Some(&self.first_range()), headers)?;
        if first.head.status == 206 && first.head.total().is_none() {
            // Pieces need a known total: one plain request as the client
            // asked instead.
            let range = self.ask.range.map(|r| r.to_string());
            return self.upstream.get(url, range.as_deref(), headers);
        }
        Ok(first)
    }

    /// The first piece: where the client's range starts (or 0), at most
    /// one chunk long; a suffix range is passed on as it is.
    fn first_range(&self) -> String {
        let chunk = self.ctx.settings.chunk_bytes;
        match self.ask.range {
            None => ByteRange::span_header(0, chunk),
            Some(ByteRange::From { first, last }) => {
                let piece_end = first.saturating_add(chunk);
                let end = last.map_or(piece_end, |l| l.saturating_add(1).min(piece_end));
                ByteRange::span_header(first, end)
            }
            Some(suffix) => suffix.to_string(),
        }
    }

    /// After upstream `refused` the URL before the first byte: a fresh
    /// one, unless the resolver already ran for this request; an error that
    /// names both causes when refreshing failed.
    fn refresh_once(&mut self, refused: Error) -> Result<()> {
        match std::mem::replace(&mut self.refreshed, Refreshed::Yes) {
            Refreshed::No if self.ctx.tracks.can_resolve() => self.refresh(refused),
            Refreshed::Failed(e) => Err(Error::StaleUrl {
                refused: Arc::new(refused),
                refresh: Arc::new(e),
            }),
            _ => Err(refused),
        }
    }

    /// No upstream request for a URL before its `available_at` (YouTube
    /// makes some fresh URLs wait): the request waits (MPD waits without a
    /// timeout) up to `max_wait`, else answers 504; a server stop ends the
    /// wait (503).
    fn wait_until_available(&self) -> Result<()> {
        let at = self.track.fetch.available_at;
        stream_url::wait_available(at, self.ctx.settings.max_wait, self.ctx.stopping)
    }

    /// Replaces the track's URL, which upstream `refused`, through the
    /// resolver.
    fn refresh(&mut self, refused: Error) -> Result<()> {
        let ctx = &mut *self.ctx;
        match ctx.tracks.refresh(self.id, ctx.store, &self.track) {
            Ok(fresh) => {
                self.track = fresh;
                Ok(())
            }
            Err(e) => Err(Error::StaleUrl {
                refused: Arc::new(refused),
                refresh: Arc::new(e),
            }),
        }
    }

    /// Stage 2, as [`shape::shape`] decides; a misfit is answered as an
    /// error.
    fn shape(&self, first: &UpstreamHead) -> Result<Shape> {
        shape::shape(self.ask, first).map_err(|misfit| match misfit {
            Misfit::NotSatisfiable { total } => Error::RangeNotSatisfiable {
                content_range: Some(format!("bytes */{total}")),
            },
            Misfit::WrongStart { got } => Error::UpstreamInvalid(format!(
                "{}: asked for {}, got {got}",
                stream_url::host(self.track.stream_url.as_deref().unwrap_or("")),
                self.first_range()
            )),
            Misfit::UnaskedPart { got } => {
                Error::UpstreamInvalid(format!("{got} to a request without Range"))
            }
        })
    }

    /// Stages 3 and 4: the head, then the body, then how it ended.
    fn respond(
        mut self,
        request: Request,
        shape: Shape,
        body: Option<Box<dyn Read + Send>>,
    ) -> Outcome {
        let settings = self.ctx.settings;
        let title = self.track.tags.display_title();
        let inserter = self
            .ask
            .icy
            .then(|| IcyInserter::new(settings.metaint, &title));
        let icy = inserter.as_ref().map(|ins| (ins, settings.metaint));
        let head = match response_head(&shape, icy, &title, self.ask.http11) {
            Ok(head) => head,
            Err(e) => return response::respond_error(request, &e),
        };
        let sent = match client::send_head(request, &head, self.ask.http11, settings.write_timeout)
        {
            Ok(sent) => sent,
            Err(outcome) => return outcome,
        };
        let Some(body) = body.filter(|_| !self.ask.head_only) else {
            return Outcome::new(head.status, 0, None);
        };
        let _active = self.ctx.metrics.stream_started(sent.connection.clone());
        let watch = sent
            .connection
            .clone()
            .and_then(|conn| ClientWatch::start(conn, self.upstream.clone()));
        let cache = self.ctx.cache;
        self.keeper = cache.keeper(self.id, &shape, &shape.content_type_sent(), self.ctx.store);
        let mut client = ClientBody::new(BodyWriter::new(sent.writer, head.framing), inserter);
        let gone = watch.as_ref().map(ClientWatch::gone);
        let end = self.copy(body, shape.plan, &mut client, gone);
        if let (End::Complete, Some(keeper)) = (&end, self.keeper.take()) {
            keeper.finish(self.ctx.store);
        }
        let (bytes, why) = client.finish(end, head.framing);
        // A close-delimited body ends only when the connection does; a
        // cut-short one must end visibly.
        if why.is_some() || head.framing == Framing::Close {
            if let Some(conn) = &sent.connection {
                conn.shutdown();
            }
        }
        Outcome::new(head.status, bytes, why)
    }

    /// Stage 4: upstream to the client, as the plan says.
    fn copy(
        &mut self,
        body: Box<dyn Read + Send>,
        plan: Plan,
        client: &mut ClientBody<impl Write>,
        client_gone: Option<&AtomicBool>,
    ) -> End {
        let stopping = self.ctx.stopping;
        let metrics = self.ctx.metrics;
        let settings = self.ctx.settings;
        let buf = std::mem::take(&mut self.ctx.buf);
        // Every byte read goes to the keeper too, if the song is kept.
        let mut keeper = self.keeper.take();
        let end = match plan {
            Plan::Plain { skip, take } => {
                let mut body = body;
                if let Err(end) = discard(&mut body, skip, buf, stopping) {
                    return end;
                }
                let tee = Tee {
                    inner: body,
                    keeper: keeper.as_mut(),
                };
                match take {
                    Some(n) => copy_body(tee.take(n), client, stopping, buf),
                    None => copy_body(tee, client, stopping, buf),
                }
            }
            Plan::Pieces {
                start,
                first_end,
                end,
                total,
            } => {
                let first = Piece {
                    body,
                    start,
                    end: first_end,
                    total: Some(total),
                };
                let mut open = |from: u64, to: u64| self.open_piece(from, to, total);
                let mut reader = PieceReader::new(
                    first,
                    end,
                    settings.chunk_bytes,
                    settings.retries,
                    &mut open,
                )
                .stop_when(stopping);
                if let Some(gone) = client_gone {
                    reader = reader.stop_when(gone);
                }
                let tee = Tee {
                    inner: &mut reader,
                    keeper: keeper.as_mut(),
                };
                let end = copy_body(tee, client, stopping, buf);
                for _ in 0..reader.resumes {
                    metrics.upstream_retry();
                }
                end
            }
        };
        self.ctx.buf = buf;
        self.keeper = keeper;
        end
    }

    /// A later piece; a URL that upstream now refuses is refreshed (other
    /// failures are [`PieceReader`]'s to retry). A refreshed URL may name
    /// another file (another format): joining it at this offset would
    /// corrupt the stream, so its total must match.
    fn open_piece(&mut self, from: u64, to: u64, total: u64) -> Result<Piece> {
        let piece = match self.ask_piece(from, to) {
            Err(e)
                if Recovery::of(&e, Stage::Body) == Recovery::Refresh
                    && self.ctx.tracks.can_resolve() =>
            {
                self.refresh(e)?;
                self.wait_until_available()?;
                self.ask_piece(from, to)
            }
            other => other,
        }?;
        piece.of_total(total)
    }

    /// One request for `[from, to)` with the current URL.
    fn ask_piece(&self, from: u64, to: u64) -> Result<Piece> {
        let url = checked_url(self.id, &self.track)?;
        let headers = &self.track.fetch.http_headers;
        self.upstream.open_piece(url, from, to, headers)
    }
}

/// The track's URL, if it is one we may fetch. The URL itself may carry
/// credentials: the reason goes to the debug log only.
fn checked_url<'t>(id: &VideoId, track: &'t Track) -> Result<&'t str> {
    let url = track.stream_url.as_deref().ok_or(Error::BadStreamUrl {
        why: "none stored yet",
        cause: None,
    })?;
    stream_url::check(url).map_err(|e| {
        debug!("{id}: {e}");
        Error::bad_stream_url("not a plain http(s) URL", e)
    })?;
    Ok(url)
}
