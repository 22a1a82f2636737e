//! Fetching from a stream URL with ureq: timeouts per phase, one range per
//! request, and upstream's answer checked and mapped to our errors before
//! anything is sent on.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::{HeaderMap, Response};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    ConnectProxyConnector, ConnectionDetails, Connector, RustlsConnector, TcpConnector, Transport,
};
use ureq::{Agent, Body};

use crate::catalog::stream_url;
use crate::error::{Error, Result};
use crate::stream::settings::UpstreamSettings;
use crate::wire::{ByteRange, ContentRange};

const INPUT_BUFFER_BYTES: usize = 64 * 1024;
const OUTPUT_BUFFER_BYTES: usize = 8 * 1024;
/// Redirects followed from one URL, each checked as the first URL is.
const MAX_REDIRECTS: usize = 5;

/// One request to send: method, extra headers, a whole deadline.
#[derive(Clone, Copy)]
struct Ask<'a> {
    head: bool,
    range: Option<&'a str>,
    headers: &'a [(String, String)],
    deadline: Option<Duration>,
}

/// A ureq agent (cheap to clone; connections are pooled).
#[derive(Clone)]
pub struct Upstream {
    agent: Agent,
    /// Every agent's TLS step: it builds the TLS client configuration (root
    /// store included) on first use and keeps it, so the process has one,
    /// not one per stream.
    tls: Arc<RustlsConnector>,
    /// The whole time a small fetch (cover art) may take.
    small_deadline: Duration,
}

/// What upstream answered (`200` or `206`), checked, with the body unread.
pub struct UpstreamResponse {
    pub head: UpstreamHead,
    /// The body (`None` after a `HEAD`).
    pub body: Option<Box<dyn Read + Send>>,
}

/// The head of upstream's answer, checked: a `Content-Range` only on a
/// `206` (and always there), possible, and agreeing with `Content-Length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamHead {
    pub status: u16,
    pub content_type: Option<String>,
    /// Length of this response's body, when upstream says.
    pub content_length: Option<u64>,
    /// Present (and possible) on every `206`.
    pub content_range: Option<ContentRange>,
    pub accepts_ranges: bool,
}

impl UpstreamHead {
    /// The whole upstream body's length: from `Content-Range` on a `206`,
    /// from `Content-Length` on a `200`.
    pub fn total(&self) -> Option<u64> {
        match &self.content_range {
            Some(range) => range.total,
            None => self.content_length,
        }
    }
}

/// One ranged piece of the upstream body: `[start, end)` with the body.
pub struct Piece {
    pub body: Box<dyn Read + Send>,
    pub start: u64,
    pub end: u64,
    /// The whole body's length, from `Content-Range`.
    pub total: Option<u64>,
}

impl Piece {
    /// This piece, if it is of the same file as the first: a later piece
    /// of another length means upstream changed the file mid-stream.
    pub fn of_total(self, total: u64) -> Result<Piece> {
        match self.total == Some(total) {
            true => Ok(self),
            false => Err(Error::UpstreamInvalid(
                "upstream changed the file mid-stream".into(),
            )),
        }
    }
}

impl Upstream {
    /// The agent for `[upstream]`. Fails only on a bad `ca_file`.
    pub fn new(settings: &UpstreamSettings) -> Result<Upstream> {
        let mut tls = TlsConfig::builder();
        if let Some(path) = settings.ca_file() {
            let mut roots: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()))
                .collect();
            roots.extend(load_ca_file(path)?);
            tls = tls.root_certs(RootCerts::Specific(Arc::new(roots)));
        }
        let agent_config = Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .timeout_connect(Some(settings.connect_timeout()))
            .timeout_recv_response(Some(settings.read_timeout()))
            .timeout_per_read(Some(settings.read_timeout()))
            .user_agent(concat!("icyproxy/", env!("CARGO_PKG_VERSION")))
            // Redirects are followed by `send`, which checks each target
            // as the first URL is checked (scheme, host, no user info).
            .max_redirects(0)
            // Requests are a few hundred bytes; the input buffer bounds
            // each read. ureq's defaults (128 KiB each) cost a stream
            // 256 KiB of memory.
            .input_buffer_size(INPUT_BUFFER_BYTES)
            .output_buffer_size(OUTPUT_BUFFER_BYTES)
            .build();
        let tls = Arc::new(RustlsConnector::default());
        Ok(Upstream {
            agent: agent_with(agent_config, &tls),
            tls,
            small_deadline: settings.connect_timeout() + settings.read_timeout(),
        })
    }

    /// An `Upstream` with its own connection pool, for one stream: its
    /// connections can then be cut with [`Upstream::cut`] without touching
    /// other streams. The TLS configuration stays shared.
    pub fn for_stream(&self) -> Upstream {
        Upstream {
            agent: agent_with(self.agent.config().clone(), &self.tls),
            tls: Arc::clone(&self.tls),
            small_deadline: self.small_deadline,
        }
    }

    /// Shuts every connection of this pool down, interrupting a read that
    /// waits on a stalled upstream in another thread.
    pub fn cut(&self) {
        self.agent.clone().shutdown();
    }

    /// `GET url` with the resolver's `headers`, and `range` (a `Range`
    /// header value) when given.
    pub fn get(
        &self,
        url: &str,
        range: Option<&str>,
        headers: &[(String, String)],
    ) -> Result<UpstreamResponse> {
        let ask = Ask {
            head: false,
            range,
            headers,
            deadline: None,
        };
        let (url, resp) = self.send(url, ask)?;
        UpstreamResponse::from_http(&url, resp, true)
    }

    /// Sends `ask` to `url`, following up to [`MAX_REDIRECTS`] redirects,
    /// each target checked like a stream URL (`http(s)`, a host, no user
    /// info): a redirect must not lead where a stored URL may not. The
    /// resolver's credentials (`Cookie`, `Authorization`) go only to the
    /// first URL's origin, never to another a redirect names.
    /// Returns the URL that answered, and its answer.
    fn send(&self, url: &str, ask: Ask<'_>) -> Result<(String, Response<Body>)> {
        let first = url;
        let mut url = url.to_owned();
        for hop in 0..=MAX_REDIRECTS {
            let mut req = match ask.head {
                true => self.agent.head(&url),
                false => self.agent.get(&url),
            };
            let elsewhere = !same_origin(first, &url);
            for (name, value) in ask.headers {
                if elsewhere && is_credential(name) {
                    continue;
                }
                req = req.header(name.as_str(), value.as_str());
            }
            if let Some(range) = ask.range {
                req = req.header("Range", range);
            }
            if let Some(deadline) = ask.deadline {
                req = req.config().timeout_global(Some(deadline)).build();
            }
            let resp = req.call().map_err(|e| map_error(&url, e))?;
            let status = resp.status().as_u16();
            let location = header(resp.headers(), "location");
            let (true, Some(location)) = (matches!(status, 301 | 302 | 303 | 307 | 308), location)
            else {
                return Ok((url, resp));
            };
            let next = stream_url::join(&url, location.trim());
            if let Err(e) = stream_url::check(&next) {
                return Err(Error::UpstreamInvalid(format!(
                    "{}: redirect {} refused: {e}",
                    stream_url::host(&url),
                    hop + 1
                )));
            }
            url = next;
        }
        Err(Error::UpstreamInvalid(format!(
            "{}: more than {MAX_REDIRECTS} redirects",
            stream_url::host(&url)
        )))
    }

    /// The `200` a plain `GET` would get, without its body: `HEAD`, or where
    /// that gives no length (or is refused) a one-byte `GET` whose
    /// `Content-Range` tells the total.
    pub fn probe(&self, url: &str, headers: &[(String, String)]) -> Result<UpstreamResponse> {
        let ask = Ask {
            head: true,
            range: None,
            headers,
            deadline: None,
        };
        let (answered, head) = self.send(url, ask)?;
        let status = head.status().as_u16();
        let has_length = content_length(&answered, head.headers())?.is_some();
        if status == 200 && has_length || !matches!(status, 200 | 403 | 405 | 501) {
            return UpstreamResponse::from_http(&answered, head, false);
        }
        let mut one = self.get(url, Some("bytes=0-0"), headers)?;
        one.body = None;
        if let Some(range) = one.head.content_range.take() {
            one.head.status = 200;
            one.head.content_length = range.total;
            one.head.accepts_ranges = true;
        }
        Ok(one)
    }

    /// `GET url` for `[start, end)`: upstream must answer `206` starting
    /// exactly at `start` and ending within `end` (a `200` would restart
    /// the body from byte 0).
    pub fn open_piece(
        &self,
        url: &str,
        start: u64,
        end: u64,
        headers: &[(String, String)],
    ) -> Result<Piece> {
        let asked = ByteRange::span_header(start, end);
        let resp = self.get(url, Some(&asked), headers)?;
        let what = |got: &str| {
            Error::UpstreamInvalid(format!(
                "{}: asked for {asked}, got {got}",
                stream_url::host(url)
            ))
        };
        let (Some(range), Some(body)) = (resp.head.content_range, resp.body) else {
            return Err(what(&format!(
                "status {} without a range",
                resp.head.status
            )));
        };
        let (first, piece_end) = range.span();
        if first != start || piece_end > end {
            return Err(what(&range.to_string()));
        }
        Ok(Piece {
            body,
            start,
            end: piece_end,
            total: range.total,
        })
    }

    /// A small whole body (cover art): `200` only, at most `limit` bytes.
    /// Returns the bytes and the `Content-Type`.
    pub fn fetch_small(&self, url: &str, limit: u64) -> Result<(Vec<u8>, Option<String>)> {
        stream_url::check(url)?;
        // A whole deadline, not only one per read: a host that drips bytes
        // must not hold a worker for hours.
        let ask = Ask {
            head: false,
            range: None,
            headers: &[],
            deadline: Some(self.small_deadline),
        };
        let (url, mut resp) = self.send(url, ask)?;
        let url = url.as_str();
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(Error::UpstreamStatus(status));
        }
        let kind = header(resp.headers(), "content-type");
        let mut bytes = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::unreachable(stream_url::host(url), e))?;
        if bytes.len() as u64 > limit {
            return Err(Error::UpstreamInvalid(format!(
                "{}: body over {limit} bytes",
                stream_url::host(url)
            )));
        }
        Ok((bytes, kind))
    }
}

impl UpstreamResponse {
    fn from_http(url: &str, resp: Response<Body>, keep_body: bool) -> Result<UpstreamResponse> {
        let status = resp.status().as_u16();
        let headers = resp.headers();
        match status {
            200 | 206 => {}
            416 => {
                return Err(Error::RangeNotSatisfiable {
                    content_range: header(headers, "content-range"),
                });
            }
            other => return Err(Error::UpstreamStatus(other)),
        }
        let content_range = match header(headers, "content-range") {
            _ if status == 200 => None,
            Some(text) => Some(ContentRange::parse(&text).ok_or_else(|| {
                Error::UpstreamInvalid(format!(
                    "{}: impossible Content-Range {:?}",
                    stream_url::host(url),
                    text.chars().take(80).collect::<String>()
                ))
            })?),
            None => {
                return Err(Error::UpstreamInvalid(format!(
                    "{}: 206 without Content-Range",
                    stream_url::host(url)
                )));
            }
        };
        let accepts_ranges = status == 206
            || header(headers, "accept-ranges")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("bytes"));
        let content_length = content_length(url, headers)?;
        let content_type = header(headers, "content-type").filter(|v| !v.trim().is_empty());
        if let (Some(range), Some(len)) = (&content_range, content_length) {
            let (first, end) = range.span();
            if end - first != len {
                return Err(Error::UpstreamInvalid(format!(
                    "{}: Content-Length {len} disagrees with Content-Range {range}",
                    stream_url::host(url)
                )));
            }
        }
        let body =
            keep_body.then(|| Box::new(resp.into_body().into_reader()) as Box<dyn Read + Send>);
        Ok(UpstreamResponse {
            head: UpstreamHead {
                status,
                content_type,
                content_length,
                content_range,
                accepts_ranges,
            },
            body,
        })
    }
}

/// ureq's default chain (HTTP CONNECT proxies, TCP, rustls), with the TLS
/// step shared between agents.
fn agent_with(config: ureq::config::Config, tls: &Arc<RustlsConnector>) -> Agent {
    let chain =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(SharedTls(Arc::clone(tls)));
    Agent::with_parts(config, chain, DefaultResolver::default())
}

/// One [`RustlsConnector`] behind every agent: it keeps the TLS client
/// configuration it built first (all our agents have the same one).
#[derive(Debug)]
struct SharedTls(Arc<RustlsConnector>);

impl<In: Transport> Connector<In> for SharedTls {
    type Out = <RustlsConnector as Connector<In>>::Out;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained)
    }
}

/// The certificates of a PEM file, for `[upstream] ca_file`.
fn load_ca_file(path: &Path) -> Result<Vec<Certificate<'static>>> {
    let bad = |why: String| Error::Config(format!("[upstream] ca_file {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certs = Vec::new();
    for (n, item) in ureq::tls::parse_pem(&pem).enumerate() {
        let n = n + 1;
        match item {
            Ok(PemItem::Certificate(cert)) => {
                // A block labelled CERTIFICATE must be one a root store
                // takes: else every HTTPS stream would fail later instead.
                let der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
                if let Err(e) = rustls::RootCertStore::empty().add(der) {
                    return Err(bad(format!(
                        "PEM block {n} is not a usable certificate: {e}"
                    )));
                }
                certs.push(cert);
            }
            Ok(_) => {
                return Err(bad(format!(
                    "PEM block {n} is not a certificate (a key?): only CA certificates belong here"
                )));
            }
            Err(e) => return Err(bad(format!("not a PEM file: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The body's length: `None` when upstream does not say (or sends
/// chunks), an error when what it says is not a length we can serve.
fn content_length(url: &str, headers: &HeaderMap) -> Result<Option<u64>> {
    if headers.contains_key("transfer-encoding") {
        return Ok(None);
    }
    let Some(text) = header(headers, "content-length") else {
        return Ok(None);
    };
    match crate::wire::length(text.trim()) {
        Some(n) => Ok(Some(n)),
        None => Err(Error::UpstreamInvalid(format!(
            "{}: Content-Length {:?} is not a length",
            stream_url::host(url),
            text.chars().take(40).collect::<String>()
        ))),
    }
}

/// Our error for a failed request to `url`, naming its host only (the
/// rest of a stream URL carries credentials); ureq's error, or the one
/// under it, is kept as the cause.
fn map_error(url: &str, e: ureq::Error) -> Error {
    let host = stream_url::host(url);
    if let Some((why, verdict)) = refused_certificate(&e) {
        return Error::certificate(host, why, verdict);
    }
    match e {
        ureq::Error::Timeout(t) => Error::timed_out(format!("{host}: {t}"), e),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Error::timed_out(format!("{host}: {io}"), io)
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            Error::bad_stream_url("not a valid URL", e)
        }
        ureq::Error::Io(io) => Error::unreachable(host, io),
        other => Error::unreachable(host, other),
    }
}

/// Why the TLS handshake refused the server's certificate, in words, and
/// rustls's verdict, if that is what failed (rustls reports it inside an
/// I/O error during the handshake).
fn refused_certificate(e: &ureq::Error) -> Option<(String, rustls::Error)> {
    let rustls_error = match e {
        ureq::Error::Rustls(inner) => Some(inner),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    use rustls::CertificateError as Why;
    let verdict = rustls_error?;
    let rustls::Error::InvalidCertificate(why) = verdict else {
        return None;
    };
    let words = match why {
        Why::NotValidForName | Why::NotValidForNameContext { .. } => {
            "it was issued for another host".to_owned()
        }
        Why::Expired | Why::ExpiredContext { .. } => "it has expired".to_owned(),
        Why::NotValidYet | Why::NotValidYetContext { .. } => "it is not valid yet".to_owned(),
        Why::UnknownIssuer => "it is signed by an authority not trusted here \
             (a private CA goes in [upstream] ca_file)"
            .to_owned(),
        Why::Revoked => "it has been revoked".to_owned(),
        other => format!("{other:?}"),
    };
    Some((words, verdict.clone()))
}

/// Headers that carry a login: never sent to another origin.
fn is_credential(name: &str) -> bool {
    ["cookie", "authorization", "proxy-authorization"]
        .iter()
        .any(|c| name.eq_ignore_ascii_case(c))
}

/// Whether two URLs have one origin: scheme, host and port (as written;
/// a port spelled out for one and not the other counts as another).
fn same_origin(a: &str, b: &str) -> bool {
    let scheme = |u: &str| u.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    scheme(a) == scheme(b) && stream_url::host(a).eq_ignore_ascii_case(stream_url::host(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_scheme_host_or_port_is_another_origin() {
        let a = "https://rr1.googlevideo.com/videoplayback?x=1";
        assert!(same_origin(a, "HTTPS://RR1.googlevideo.com/other"));
        for b in [
            "http://rr1.googlevideo.com/videoplayback",
            "https://rr2.googlevideo.com/videoplayback",
            "https://rr1.googlevideo.com:8443/videoplayback",
            "https://rr1.googlevideo.com.evil.example/",
        ] {
            assert!(!same_origin(a, b), "{b}");
        }
        assert!(is_credential("COOKIE") && is_credential("Proxy-Authorization"));
        assert!(!is_credential("User-Agent"));
    }
}
