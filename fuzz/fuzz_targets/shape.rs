//! The shape stage (`stream::shape::shape`), for any client range and any
//! upstream head the parsers and `upstream` let through: it never panics,
//! and what it decides holds up. A `206` is exactly the client's range cut
//! to the known length, and lies inside it; a `416` comes only when the
//! range starts at or past the end; pieces start where upstream's first
//! piece does and end with the range; a body is dropped before the range
//! only as far as its start.
#![no_main]

use icyproxy::stream::shape::{self, Ask, Misfit, Plan, Shape};
use icyproxy::stream::upstream::UpstreamHead;
use icyproxy::wire::{self, ByteRange, ContentRange, MAX_LENGTH};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((ask, head)) = case(&mut u) else {
        return;
    };
    let known = head.content_range.map_or(head.content_length, |r| r.total);
    match shape::shape(ask, &head) {
        Ok(shape) => match known {
            Some(total) => check_known(ask, &head, total, &shape),
            None => check_unknown(ask, &head, &shape),
        },
        Err(misfit) => check_misfit(ask, &head, known, misfit),
    }
});

/// The span `[start, end)` the client's range names in `total` bytes,
/// worked out apart from `ByteRange::within`; empty when `start >= end`.
fn span(range: Option<ByteRange>, total: u64) -> (u64, u64) {
    match range {
        None => (0, total),
        Some(ByteRange::From { first, last }) => (first, last.map_or(total, |l| total.min(l + 1))),
        Some(ByteRange::Suffix(n)) => (total.saturating_sub(n), total),
    }
}

fn check_known(ask: Ask, head: &UpstreamHead, total: u64, shape: &Shape) {
    let (start, end) = span(ask.range, total);
    assert!(
        start < end || (ask.range.is_none() && total == 0),
        "{ask:?} {head:?}: no 416"
    );
    assert!(end <= total);
    assert_eq!(shape.content_type, head.content_type);
    assert!(shape.accepts_ranges);
    assert_eq!(shape.length, Some(end - start));
    match ask.range {
        Some(_) => {
            assert_eq!(shape.status, 206);
            let part = shape.content_range.expect("a 206 names its range");
            assert_eq!(
                (part.first, part.last, part.total),
                (start, end - 1, Some(total))
            );
            assert!(part.first <= part.last && part.last < total);
            // What the head says is what parsers read back.
            assert_eq!(ContentRange::parse(&part.to_string()), Some(part));
        }
        None => {
            assert_eq!(shape.status, 200);
            assert_eq!(shape.content_range, None);
            assert_eq!(shape.length, Some(total));
        }
    }
    match shape.plan {
        Plan::Pieces {
            start: s,
            first_end,
            end: e,
            total: t,
        } => {
            let got = head.content_range.expect("pieces follow a part");
            assert!(!ask.head_only, "HEAD reads no pieces");
            assert_eq!((s, e, t), (start, end, total));
            assert_eq!(got.first, start);
            assert!(s < first_end && first_end <= e && first_end <= got.last + 1);
        }
        Plan::Plain { skip, take } => {
            assert!(ask.head_only || head.content_range.is_none());
            assert_eq!((skip, take), (start, Some(end - start)));
        }
    }
}

fn check_unknown(ask: Ask, head: &UpstreamHead, shape: &Shape) {
    assert!(!shape.accepts_ranges);
    assert_eq!(shape.content_type, head.content_type);
    assert_eq!(shape.length, head.content_length);
    assert_eq!(
        shape.plan,
        Plan::Plain {
            skip: 0,
            take: None
        }
    );
    match (ask.range, head.content_range) {
        (Some(_), Some(got)) => {
            assert_eq!(shape.status, 206);
            assert_eq!(shape.content_range, Some(got));
        }
        _ => {
            assert_eq!(shape.status, 200);
            assert_eq!(shape.content_range, None);
        }
    }
}

fn check_misfit(ask: Ask, head: &UpstreamHead, known: Option<u64>, misfit: Misfit) {
    match misfit {
        Misfit::NotSatisfiable { total } => {
            assert_eq!(known, Some(total));
            let past_the_end = match ask.range.expect("a 416 answers a range") {
                ByteRange::From { first, .. } => first >= total,
                ByteRange::Suffix(_) => total == 0,
            };
            assert!(past_the_end, "416 for {ask:?} in {total} bytes");
        }
        Misfit::WrongStart { got } => {
            let total = known.expect("a start is checked against a known total");
            assert!(!ask.head_only);
            assert_eq!(head.content_range, Some(got));
            assert_ne!(got.first, span(ask.range, total).0);
        }
        Misfit::UnaskedPart { got } => {
            assert_eq!((ask.range, known), (None, None));
            assert_eq!(head.content_range, Some(got));
        }
    }
}

/// A client's ask and an upstream head as the proxy could see them: each
/// header goes through its parser, and a part's head is one `upstream`
/// accepts (`Content-Length`, when given, agrees with `Content-Range`).
fn case(u: &mut Unstructured) -> Result<(Ask, UpstreamHead)> {
    let range = match u.int_in_range(0..=3u8)? {
        0 => None,
        1 => ByteRange::parse(&format!("bytes={}-", number(u)?)),
        2 => ByteRange::parse(&format!("bytes={}-{}", number(u)?, number(u)?)),
        _ => ByteRange::parse(&format!("bytes=-{}", number(u)?)),
    };
    let ask = Ask {
        icy: u.arbitrary()?,
        http11: u.arbitrary()?,
        head_only: u.arbitrary()?,
        range,
    };
    let content_type = match u.arbitrary::<bool>()? {
        true => Some("audio/webm".to_string()),
        false => None,
    };
    let head = match u.arbitrary::<bool>()? {
        // A `200`: upstream ignored `Range` (or a probe's answer).
        false => UpstreamHead {
            status: 200,
            content_type,
            content_length: match u.arbitrary::<bool>()? {
                true => wire::length(&number(u)?.to_string()),
                false => None,
            },
            content_range: None,
            accepts_ranges: u.arbitrary()?,
        },
        true => part(u, ask, content_type)?,
    };
    Ok((ask, head))
}

/// A `206`; its first byte is often where the client's range starts, as
/// upstream answers the first piece.
fn part(u: &mut Unstructured, ask: Ask, content_type: Option<String>) -> Result<UpstreamHead> {
    let total = match u.arbitrary::<bool>()? {
        true => Some(number(u)?),
        false => None,
    };
    let first = match (u.arbitrary::<bool>()?, total) {
        (true, Some(t)) => span(ask.range, t).0,
        (true, None) => span(ask.range, MAX_LENGTH).0,
        (false, _) => number(u)?,
    };
    let last = first.saturating_add(number(u)?);
    let last = total.map_or(last, |t| last.min(t.saturating_sub(1)));
    let text = match total {
        Some(t) => format!("bytes {first}-{last}/{t}"),
        None => format!("bytes {first}-{last}/*"),
    };
    let Some(range) = ContentRange::parse(&text) else {
        // upstream answers a 502 before any shaping.
        return Err(libfuzzer_sys::arbitrary::Error::IncorrectFormat);
    };
    let (start, end) = range.span();
    Ok(UpstreamHead {
        status: 206,
        content_type,
        content_length: u.arbitrary::<bool>()?.then_some(end - start),
        content_range: Some(range),
        accepts_ranges: true,
    })
}

/// Small numbers most of the time, with the edges: 0, near a chunk, near
/// `MAX_LENGTH`, and past it (which the parsers refuse).
fn number(u: &mut Unstructured) -> Result<u64> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => u64::from(u.arbitrary::<u8>()?),
        1 => u64::from(u.arbitrary::<u16>()?),
        2 => u64::from(u.arbitrary::<u32>()?),
        3 => MAX_LENGTH - u64::from(u.arbitrary::<u8>()?),
        _ => u.arbitrary::<u64>()?,
    })
}
