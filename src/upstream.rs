//! Fetching audio from the stream URL with ureq: timeouts per phase, the
//! client's `Range` forwarded, and upstream failures mapped to our errors.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use log::debug;

use ureq::http::{HeaderMap, Response};
use ureq::{Agent, Body};

use crate::config::Config;
use crate::error::{Error, Result};

const INPUT_BUFFER_BYTES: usize = 64 * 1024;
const OUTPUT_BUFFER_BYTES: usize = 8 * 1024;

/// A shared ureq agent (cheap to clone; connections are pooled).
#[derive(Clone)]
pub struct Upstream {
    agent: Agent,
    /// The whole time a small fetch (cover art) may take.
    small_deadline: Duration,
}

/// What upstream answered, with the body still unread.
pub struct UpstreamResponse {
    /// 200 or 206.
    pub status: u16,
    pub content_type: Option<String>,
    /// Length of this response's body, when upstream says.
    pub content_length: Option<u64>,
    pub content_range: Option<String>,
    pub accepts_ranges: bool,
    /// The body (`None` after a `HEAD`).
    pub body: Option<Box<dyn Read + Send>>,
}

impl Upstream {
    pub fn new(config: &Config) -> Upstream {
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_recv_response(Some(config.read_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .user_agent(concat!("icyproxy/", env!("CARGO_PKG_VERSION")))
            // Requests are a few hundred bytes; the input buffer bounds
            // each read. ureq's defaults (128 KiB each) cost a stream
            // 256 KiB of memory.
            .input_buffer_size(INPUT_BUFFER_BYTES)
            .output_buffer_size(OUTPUT_BUFFER_BYTES)
            .build()
            .new_agent();
        Upstream {
            agent,
            small_deadline: config.connect_timeout + config.read_timeout,
        }
    }

    /// An `Upstream` with its own connection pool, for one stream: its
    /// connections can then be cut with [`Upstream::cut`] without touching
    /// other streams.
    pub fn for_stream(&self) -> Upstream {
        Upstream {
            agent: Agent::new_with_config(self.agent.config().clone()),
            small_deadline: self.small_deadline,
        }
    }

    /// Shuts every connection of this pool down, interrupting a read that
    /// waits on a stalled upstream in another thread.
    pub fn cut(&self) {
        self.agent.clone().shutdown();
    }

    /// `GET url`, with `range` (a single `bytes=` range) forwarded.
    pub fn get(&self, url: &str, range: Option<&str>) -> Result<UpstreamResponse> {
        let mut req = self.agent.get(url);
        if let Some(range) = range {
            req = req.header("Range", range);
        }
        let resp = req.call().map_err(map_error)?;
        UpstreamResponse::from_http(resp, true)
    }

    /// The headers a `GET` would get, without downloading audio. Without
    /// a range: `HEAD`, or where that gives no length (or is refused) a
    /// one-byte `GET` whose `Content-Range` tells the total. With a range:
    /// a one-byte `GET` where the range starts, and the span rebuilt from
    /// the total.
    pub fn probe(&self, url: &str, range: Option<&str>) -> Result<UpstreamResponse> {
        if let Some(range) = range {
            return self.probe_range(url, range);
        }
        let head = self.agent.head(url).call().map_err(map_error)?;
        let status = head.status().as_u16();
        if status == 200 && content_length(head.headers()).is_some() {
            return UpstreamResponse::from_http(head, false);
        }
        if !matches!(status, 200 | 403 | 405 | 501) {
            return UpstreamResponse::from_http(head, false);
        }
        let mut one = self.get(url, Some("bytes=0-0"))?;
        one.body = None;
        if one.status == 206 {
            one.status = 200;
            one.content_length = one
                .content_range
                .as_deref()
                .and_then(parse_content_range)
                .and_then(|(_, _, total)| total);
            one.content_range = None;
            one.accepts_ranges = true;
        }
        Ok(one)
    }

    fn probe_range(&self, url: &str, range: &str) -> Result<UpstreamResponse> {
        let (start, last) = parse_range(range)
            .ok_or_else(|| Error::BadRequest("Range must be a single bytes=N-M range".into()))?;
        let one_byte = match start {
            Some(s) => format!("bytes={s}-{s}"),
            None => "bytes=-1".to_owned(),
        };
        let mut one = self.get(url, Some(&one_byte))?;
        one.body = None;
        if one.status != 206 {
            // Upstream ignores ranges: answer as a GET would.
            if start != Some(0) {
                return Err(Error::UpstreamUnreachable(
                    "upstream ignores Range, cannot serve a part".into(),
                ));
            }
            one.accepts_ranges = false;
            return Ok(one);
        }
        let total = one
            .content_range
            .as_deref()
            .and_then(parse_content_range)
            .and_then(|(_, _, total)| total);
        if let Some(total) = total {
            let (from, to) = match (start, last) {
                (Some(s), Some(l)) => (s, l.saturating_add(1).min(total)),
                (Some(s), None) => (s, total),
                (None, Some(n)) => (total.saturating_sub(n), total),
                (None, None) => (0, total),
            };
            one.content_range = Some(format!("bytes {from}-{}/{total}", to.saturating_sub(1)));
            one.content_length = Some(to.saturating_sub(from));
        }
        Ok(one)
    }
}

impl Upstream {
    /// A small whole body (cover art): `200` only, at most `limit` bytes.
    /// Returns the bytes and the `Content-Type`.
    pub fn fetch_small(&self, url: &str, limit: u64) -> Result<(Vec<u8>, Option<String>)> {
        crate::stream_url::check(url)?;
        // A whole deadline, not only one per read: a host that drips bytes
        // must not hold a worker for hours.
        let mut resp = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(self.small_deadline))
            .build()
            .call()
            .map_err(map_error)?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(Error::UpstreamStatus(status));
        }
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::UpstreamUnreachable(e.to_string()))?;
        if bytes.len() as u64 > limit {
            return Err(Error::UpstreamUnreachable(format!(
                "body over {limit} bytes"
            )));
        }
        Ok((bytes, kind))
    }
}

/// `bytes=A-B` -> (Some(A), Some(B)); `bytes=A-` -> (Some(A), None);
/// `bytes=-N` -> (None, Some(N)).
pub fn parse_range(value: &str) -> Option<(Option<u64>, Option<u64>)> {
    let spec = forwardable_range(value)?.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| {
        (!s.trim().is_empty())
            .then(|| s.trim().parse().ok())
            .flatten()
    };
    Some((num(a), num(b)))
}

impl UpstreamResponse {
    fn from_http(resp: Response<Body>, keep_body: bool) -> Result<UpstreamResponse> {
        let status = resp.status().as_u16();
        let headers = resp.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match status {
            200 | 206 => {}
            416 => {
                return Err(Error::RangeNotSatisfiable {
                    content_range: header("content-range"),
                });
            }
            other => return Err(Error::UpstreamStatus(other)),
        }
        let content_range = header("content-range").filter(|_| status == 206);
        let accepts_ranges = status == 206
            || header("accept-ranges").is_some_and(|v| v.trim().eq_ignore_ascii_case("bytes"));
        let content_type = header("content-type").filter(|v| !v.trim().is_empty());
        let content_length = content_length(headers);
        let body =
            keep_body.then(|| Box::new(resp.into_body().into_reader()) as Box<dyn Read + Send>);
        Ok(UpstreamResponse {
            status,
            content_type,
            content_length,
            content_range,
            accepts_ranges,
            body,
        })
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    if headers.contains_key("transfer-encoding") {
        return None;
    }
    headers
        .get("content-length")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// One ranged piece of the upstream body: `[start, end)` with the body.
pub struct Piece {
    pub body: Box<dyn Read + Send>,
    pub start: u64,
    pub end: u64,
    /// The whole body's length, from `Content-Range`.
    pub total: Option<u64>,
}

impl Upstream {
    /// `GET url` for `[start, end)`; upstream must answer `206` with exactly
    /// that start (a `200` would restart the body from byte 0).
    pub fn open_piece(&self, url: &str, start: u64, end: u64) -> Result<Piece> {
        let range = format!("bytes={start}-{}", end.saturating_sub(1));
        let resp = self.get(url, Some(&range))?;
        let span = resp.content_range.as_deref().and_then(parse_content_range);
        match (resp.status, span, resp.body) {
            (206, Some((s, e, total)), Some(body)) if s == start && e >= s => Ok(Piece {
                body,
                start,
                end: e + 1,
                total,
            }),
            (status, _, _) => Err(Error::UpstreamUnreachable(format!(
                "upstream answered {status} without the range asked for ({range})"
            ))),
        }
    }
}

/// `bytes 10-19/100` -> (10, 19, Some(100)); `bytes 10-19/*` -> total None.
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let spec = value.trim().strip_prefix("bytes ")?;
    let (span, total) = spec.split_once('/')?;
    let (s, e) = span.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((s.trim().parse().ok()?, e.trim().parse().ok()?, total))
}

/// Whether a failure before any byte arrived is worth another attempt:
/// refused or reset connections and upstream `5xx`. Timeouts are not: a
/// second wait would stall the client twice as long.
pub fn is_retryable(e: &Error) -> bool {
    matches!(e, Error::UpstreamUnreachable(_))
        || matches!(e, Error::UpstreamStatus(code) if (500..600).contains(code))
}

/// The pause before retry number `attempt` (1-based): 0.25 s, 0.5 s, 1 s, ...
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.saturating_sub(1).min(6))
}

/// Reads `[next, end)` of the upstream body as a chain of ranged pieces of
/// at most `chunk` bytes, and resumes from the next byte when a piece drops
/// or stalls. The client sees one unbroken body.
pub struct PieceReader<'a> {
    current: Option<Box<dyn Read + Send>>,
    next: u64,
    piece_end: u64,
    end: u64,
    chunk: u64,
    retries: u32,
    failures: u32,
    open: &'a mut (dyn FnMut(u64, u64) -> Result<Piece> + Send),
    stopping: &'a AtomicBool,
    /// Set when the client has gone: no point in retrying.
    client_gone: Option<&'a AtomicBool>,
    /// How many times a piece was reopened after a failure.
    pub resumes: u32,
}

impl<'a> PieceReader<'a> {
    /// Starts with the already open `first` piece; `end` is the exclusive
    /// end of the whole span; `open(start, end)` fetches a further piece.
    pub fn new(
        first: Piece,
        end: u64,
        chunk: u64,
        retries: u32,
        open: &'a mut (dyn FnMut(u64, u64) -> Result<Piece> + Send),
        stopping: &'a AtomicBool,
    ) -> PieceReader<'a> {
        PieceReader {
            next: first.start,
            piece_end: first.end.min(end),
            current: Some(first.body),
            end,
            chunk,
            retries,
            failures: 0,
            open,
            stopping,
            client_gone: None,
            resumes: 0,
        }
    }

    /// Gives up at once, instead of retrying, once `flag` is set.
    pub fn stop_when(mut self, flag: &'a AtomicBool) -> Self {
        self.client_gone = Some(flag);
        self
    }

    /// Counts a failure; after `retries` consecutive ones the read fails.
    fn failed(&mut self, why: &str) -> io::Result<()> {
        self.current = None;
        self.failures += 1;
        let gone = self.client_gone.is_some_and(|g| g.load(Ordering::Relaxed));
        if self.failures > self.retries || gone || self.stopping.load(Ordering::Relaxed) {
            return Err(io::Error::other(format!(
                "gave up at byte {} after {} attempts: {why}",
                self.next, self.failures
            )));
        }
        debug!(
            "upstream failed at byte {} ({why}); retry {}",
            self.next, self.failures
        );
        thread::sleep(backoff(self.failures));
        Ok(())
    }

    fn open_next(&mut self) -> io::Result<()> {
        let want_end = self.next.saturating_add(self.chunk).min(self.end);
        match (self.open)(self.next, want_end) {
            Ok(piece) => {
                self.piece_end = piece.end.min(self.end);
                self.current = Some(piece.body);
                if self.failures > 0 {
                    self.resumes += 1;
                }
                Ok(())
            }
            Err(e) if is_retryable(&e) || matches!(e, Error::UpstreamTimeout(_)) => {
                self.failed(&e.to_string())
            }
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    }
}

impl Read for PieceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.next >= self.end || buf.is_empty() {
                return Ok(0);
            }
            let Some(body) = self.current.as_mut() else {
                self.open_next()?;
                continue;
            };
            let want = buf
                .len()
                .min((self.piece_end - self.next).min(usize::MAX as u64) as usize);
            match body.read(&mut buf[..want]) {
                Ok(0) if self.next < self.piece_end => self.failed("connection closed early")?,
                Ok(0) => self.current = None,
                Ok(n) => {
                    self.next += n as u64;
                    self.failures = 0;
                    if self.next >= self.piece_end {
                        self.current = None;
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.failed(&e.to_string())?,
            }
        }
    }
}

/// The client's `Range` header, if it is one we can forward: a single
/// `bytes=` range. Anything else is ignored, and the whole body is served
/// (RFC 9110 lets a server ignore Range).
pub fn forwardable_range(value: &str) -> Option<&str> {
    let value = value.trim();
    let spec = value.strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let digits = |s: &str| s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
    let (start, end) = (start.trim(), end.trim());
    let ordered = match (start.parse::<u64>(), end.parse::<u64>()) {
        (Ok(a), Ok(b)) => a <= b,
        _ => true,
    };
    let zero_suffix = start.is_empty() && end.parse::<u64>() == Ok(0);
    let ok = digits(start)
        && digits(end)
        && !(start.is_empty() && end.is_empty())
        && ordered
        && !zero_suffix;
    ok.then_some(value)
}

fn map_error(e: ureq::Error) -> Error {
    match e {
        ureq::Error::Timeout(t) => Error::UpstreamTimeout(t.to_string()),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Error::UpstreamTimeout(io.to_string())
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            Error::UpstreamUnreachable("invalid stream URL".into())
        }
        other => Error::UpstreamUnreachable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_byte_ranges_are_forwarded() {
        assert_eq!(forwardable_range("bytes=0-"), Some("bytes=0-"));
        assert_eq!(forwardable_range("bytes=10-20"), Some("bytes=10-20"));
        assert_eq!(forwardable_range("bytes=-500"), Some("bytes=-500"));
        for bad in [
            "bytes=-",
            "bytes=1-2,5-6",
            "items=0-1",
            "bytes=a-b",
            "",
            "bytes=0",
        ] {
            assert_eq!(forwardable_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 10-19/100"),
            Some((10, 19, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, 0, None)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_millis(1000));
    }

    /// Pieces served from memory, failing as scripted: the reader must
    /// still deliver every byte exactly once, in order.
    #[test]
    fn piece_reader_joins_pieces_and_resumes() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        // Each open call: (cut the piece short after n bytes, or fail to open).
        let mut script = vec![None, Some(Ok(300)), Some(Err(())), None, Some(Ok(0))].into_iter();
        let mut opened = Vec::new();
        let mut open = |start: u64, end: u64| -> Result<Piece> {
            opened.push((start, end));
            let (s, e) = (start as usize, end as usize);
            let body: Vec<u8> = match script.next().flatten() {
                Some(Ok(cut)) => data[s..e.min(s + cut)].to_vec(),
                Some(Err(())) => return Err(Error::UpstreamStatus(503)),
                None => data[s..e].to_vec(),
            };
            Ok(Piece {
                body: Box::new(io::Cursor::new(body)),
                start,
                end,
                total: Some(10_000),
            })
        };
        let stop = AtomicBool::new(false);
        let first = Piece {
            body: Box::new(io::Cursor::new(data[100..1100].to_vec())),
            start: 100,
            end: 1100,
            total: Some(10_000),
        };
        let mut reader = PieceReader::new(first, 9_000, 1000, 3, &mut open, &stop);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("all bytes");
        let resumes = reader.resumes;
        assert_eq!(out, &data[100..9_000]);
        assert_eq!(opened[0], (1100, 2100));
        assert_eq!(opened[1], (2100, 3100));
        assert_eq!(opened[2], (2400, 3400), "resumed at the next byte");
        assert_eq!(opened[3], (2400, 3400), "retried after 503");
        assert!(resumes >= 2);
    }

    #[test]
    fn piece_reader_gives_up_after_retries() {
        let mut open =
            |_: u64, _: u64| -> Result<Piece> { Err(Error::UpstreamUnreachable("refused".into())) };
        let stop = AtomicBool::new(false);
        let first = Piece {
            body: Box::new(io::Cursor::new(vec![1u8; 10])),
            start: 0,
            end: 10,
            total: Some(100),
        };
        let mut reader = PieceReader::new(first, 100, 10, 1, &mut open, &stop);
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).expect_err("gives up");
        assert!(err.to_string().contains("gave up at byte 10"), "{err}");
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn client_ranges() {
        assert_eq!(parse_range("bytes=5-9"), Some((Some(5), Some(9))));
        assert_eq!(parse_range("bytes=5-"), Some((Some(5), None)));
        assert_eq!(parse_range("bytes=-9"), Some((None, Some(9))));
        assert_eq!(parse_range("bytes=x-9"), None);
    }
}
