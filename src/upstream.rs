//! Fetching audio from the stream URL with ureq: timeouts per phase, the
//! client's `Range` forwarded, and upstream failures mapped to our errors.

use std::io::Read;

use ureq::http::{HeaderMap, Response};
use ureq::{Agent, Body};

use crate::config::Config;
use crate::error::{Error, Result};

/// A shared ureq agent (cheap to clone; connections are pooled).
#[derive(Clone)]
pub struct Upstream {
    agent: Agent,
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
            .build()
            .new_agent();
        Upstream { agent }
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

    /// The headers a `GET` would get, without downloading audio: `HEAD`
    /// first; when that gives no length (or is refused), a `GET` of one byte
    /// whose `Content-Range` tells the total.
    pub fn probe(&self, url: &str, range: Option<&str>) -> Result<UpstreamResponse> {
        if range.is_some() {
            // Servers disagree on Range with HEAD; ask exactly what a GET would.
            let mut resp = self.get(url, range)?;
            resp.body = None;
            return Ok(resp);
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
            let total = one.content_range.as_deref().and_then(range_total);
            one.status = 200;
            one.content_length = total;
            one.content_range = None;
            one.accepts_ranges = true;
        }
        Ok(one)
    }
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

/// The total from `bytes 0-0/12345`; `None` for `*` or garbage.
pub fn range_total(content_range: &str) -> Option<u64> {
    content_range.rsplit_once('/')?.1.trim().parse().ok()
}

/// The client's `Range` header, if it is one we can forward: a single
/// `bytes=` range. Anything else is ignored, and the whole body is served
/// (RFC 9110 lets a server ignore Range).
pub fn forwardable_range(value: &str) -> Option<&str> {
    let value = value.trim();
    let spec = value.strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let digits = |s: &str| s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
    let ok = digits(start.trim())
        && digits(end.trim())
        && !(start.trim().is_empty() && end.trim().is_empty());
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
    fn totals_from_content_range() {
        assert_eq!(range_total("bytes 0-0/12345"), Some(12345));
        assert_eq!(range_total("bytes */12345"), Some(12345));
        assert_eq!(range_total("bytes 0-0/*"), None);
    }
}
