//! HTTP details used on both sides of the proxy: byte ranges (the client's
//! `Range`, upstream's `Content-Range`), query parameters, header lookup
//! and percent-encoding. Pure text in, typed values out, so every odd value
//! can be unit-tested (and fuzzed: `fuzz/fuzz_targets/route.rs`).

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters left as they are in a path segment: RFC 3986's unreserved set.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The largest length or offset we accept or send: HTTP clients (curl,
/// MPD) keep them as signed 64-bit numbers, so anything larger is absurd.
pub const MAX_LENGTH: u64 = i64::MAX as u64;

/// Longest number of digits a length may have (`MAX_LENGTH` has 19).
const MAX_DIGITS: usize = 19;

/// A single byte range as a client asks for it (`Range: bytes=...`), the
/// only form we forward. Multiple ranges and other units are ignored, as
/// RFC 9110 allows: the client gets the whole body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-` (`last` is `None`) or `bytes=first-last`, inclusive.
    From { first: u64, last: Option<u64> },
    /// `bytes=-n`: the last `n` bytes (`n` > 0).
    Suffix(u64),
}

impl ByteRange {
    /// Parses a `Range` header value; `None` for anything but one
    /// well-formed `bytes=` range.
    pub fn parse(value: &str) -> Option<ByteRange> {
        let spec = value.trim().strip_prefix("bytes=")?;
        let (first, last) = spec.split_once('-')?;
        let (first, last) = (bound(first.trim())?, bound(last.trim())?);
        match (first, last) {
            (Some(first), last) if last.is_none_or(|l| first <= l) => {
                Some(ByteRange::From { first, last })
            }
            (None, Some(n)) if n > 0 => Some(ByteRange::Suffix(n)),
            _ => None,
        }
    }

    /// The span `[start, end)` this range selects in a body of `total`
    /// bytes, or `None` when none of it exists (a `416`).
    pub fn within(&self, total: u64) -> Option<(u64, u64)> {
        let (start, end) = match *self {
            ByteRange::From { first, last } => {
                let end = last.map_or(total, |l| l.saturating_add(1).min(total));
                (first, end)
            }
            ByteRange::Suffix(n) => (total.saturating_sub(n), total),
        };
        (start < end).then_some((start, end))
    }

    /// `[start, end)` as a request header value: `bytes=start-(end-1)`.
    /// `end` must be above `start`.
    pub fn span_header(start: u64, end: u64) -> String {
        format!("bytes={start}-{}", end.saturating_sub(1).max(start))
    }
}

impl fmt::Display for ByteRange {
    /// The header value, as it would be sent on.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ByteRange::From { first, last: None } => write!(f, "bytes={first}-"),
            ByteRange::From {
                first,
                last: Some(last),
            } => write!(f, "bytes={first}-{last}"),
            ByteRange::Suffix(n) => write!(f, "bytes=-{n}"),
        }
    }
}

/// `""` -> `Some(None)`; digits up to [`MAX_LENGTH`] -> `Some(Some(n))`;
/// anything else -> `None`.
fn bound(text: &str) -> Option<Option<u64>> {
    if text.is_empty() {
        return Some(None);
    }
    length(text).map(Some)
}

/// A decimal length or offset up to [`MAX_LENGTH`] (`Content-Length`, a
/// range bound); `None` for anything else.
pub fn length(text: &str) -> Option<u64> {
    let digits = text.len() <= MAX_DIGITS && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse().ok())
        .flatten()
        .filter(|&n| n <= MAX_LENGTH)
}

/// A `Content-Range: bytes first-last/total` of a `206`. Parsing refuses
/// what cannot be true (`last` before `first`, a total that does not reach
/// past `last`), so later arithmetic on it cannot wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub first: u64,
    /// Inclusive.
    pub last: u64,
    /// The whole body's length; `None` for `/*`.
    pub total: Option<u64>,
}

impl ContentRange {
    pub fn parse(value: &str) -> Option<ContentRange> {
        let spec = value.trim().strip_prefix("bytes ")?;
        let (span, total) = spec.split_once('/')?;
        let (first, last) = span.split_once('-')?;
        let number = |s: &str| bound(s.trim()).flatten();
        let (first, last) = (number(first)?, number(last)?);
        let total = match total.trim() {
            "*" => None,
            t => Some(number(t)?),
        };
        let possible = first <= last && total.is_none_or(|t| last < t);
        possible.then_some(ContentRange { first, last, total })
    }

    /// `[first, last + 1)` as a start and exclusive end.
    pub fn span(&self) -> (u64, u64) {
        // `last` < `total` <= u64::MAX, or `last` has at most 19 digits.
        (self.first, self.last.saturating_add(1))
    }

    /// The header for the part `[start, end)` of a body of `total` bytes.
    pub fn of_span(start: u64, end: u64, total: u64) -> ContentRange {
        ContentRange {
            first: start,
            last: end.saturating_sub(1).max(start),
            total: Some(total),
        }
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ContentRange { first, last, total } = self;
        match total {
            Some(total) => write!(f, "bytes {first}-{last}/{total}"),
            None => write!(f, "bytes {first}-{last}/*"),
        }
    }
}

/// The raw (still encoded) value of `key` in a request target's or URL's
/// query string; the first one wins.
pub fn query_param<'a>(target: &'a str, key: &str) -> Option<&'a str> {
    let (_, query) = target.split_once('?')?;
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((k, v)) if k == key => Some(v),
            None if pair == key => Some(""),
            _ => None,
        })
}

/// A request header's value (the first, names compared without case).
pub fn header<'a>(request: &'a tiny_http::Request, name: &'static str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// Decodes `%XX` escapes; `None` for a bad escape or invalid UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    // The crate passes a malformed escape through as it is; we refuse it.
    let malformed = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if malformed {
        return None;
    }
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Encodes text for a URL path segment (everything but `A-Za-z0-9-._~`).
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, PATH_SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_byte_ranges_parse_and_print_back() {
        for text in ["bytes=0-", "bytes=10-20", "bytes=-500", "bytes=7-7"] {
            let range = ByteRange::parse(text).expect(text);
            assert_eq!(range.to_string(), text);
        }
        assert_eq!(
            ByteRange::parse(" bytes=5 - 9 "),
            Some(ByteRange::From {
                first: 5,
                last: Some(9)
            })
        );
        for bad in [
            "bytes=-",
            "bytes=1-2,5-6",
            "items=0-1",
            "bytes=a-b",
            "",
            "bytes=0",
            "bytes=-0",
            "bytes=9-5",
            "bytes=99999999999999999999-",
            "bytes=+1-2",
            "bytes=9223372036854775808-",
        ] {
            assert_eq!(ByteRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_within_a_total() {
        let from = |first, last| ByteRange::From { first, last };
        assert_eq!(from(0, None).within(100), Some((0, 100)));
        assert_eq!(from(10, Some(19)).within(100), Some((10, 20)));
        assert_eq!(from(90, Some(500)).within(100), Some((90, 100)));
        assert_eq!(from(100, None).within(100), None);
        assert_eq!(
            from(0, Some(u64::MAX - 1)).within(u64::MAX),
            Some((0, u64::MAX))
        );
        assert_eq!(ByteRange::Suffix(30).within(100), Some((70, 100)));
        assert_eq!(ByteRange::Suffix(300).within(100), Some((0, 100)));
        assert_eq!(ByteRange::Suffix(3).within(0), None);
    }

    #[test]
    fn content_ranges_refuse_the_impossible() {
        assert_eq!(
            ContentRange::parse("bytes 10-19/100"),
            Some(ContentRange {
                first: 10,
                last: 19,
                total: Some(100)
            })
        );
        let open = ContentRange::parse("bytes 0-0/*").expect("valid");
        assert_eq!((open.total, open.span()), (None, (0, 1)));
        for bad in [
            "bytes */100",
            "items 1-2/3",
            "bytes 19-10/100",
            "bytes 0-100/100",
            "bytes 0-99999999999999999999/*",
            "bytes 0-18446744073709551615/*",
            "bytes 1-2/x",
            "bytes 0-1/9223372036854775808",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad}");
        }
        let c = ContentRange::of_span(5, 10, 50);
        assert_eq!(c.to_string(), "bytes 5-9/50");
        assert_eq!(ContentRange::parse(&c.to_string()), Some(c));
    }

    #[test]
    fn query_parameters() {
        assert_eq!(query_param("/p/x/?icy=0", "icy"), Some("0"));
        assert_eq!(query_param("/p/x?a=1&icy=0#f", "icy"), Some("0"));
        assert_eq!(query_param("/p/x?icy=01", "icy"), Some("01"));
        assert_eq!(query_param("/p/x?flag&b=2", "flag"), Some(""));
        assert_eq!(query_param("/p/x", "icy"), None);
        assert_eq!(query_param("/p/x?expire=5#expire=6", "expire"), Some("5"));
        assert_eq!(query_param("/p/x?noexpire=5", "expire"), None);
    }

    #[test]
    fn percent_round_trip() {
        for name in ["Road Trip", "a&b<c>\"d'", "🎵 x", "100%", "-._~"] {
            assert_eq!(percent_decode(&percent_encode(name)).as_deref(), Some(name));
        }
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(percent_decode("a%2Fb"), Some("a/b".into()));
    }
}
