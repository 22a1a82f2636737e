//! A stream's stage 2, pure: from the client's [`Ask`] and the head of
//! upstream's first answer ([`UpstreamHead`]), what the client gets (a
//! `200` of the whole body, a `206` of exactly its range, or a `416`) and
//! how the body is read ([`Plan`]: ranged pieces, or one plain body).
//! No I/O: `proxy` turns a [`Misfit`] into the error it answers, and
//! `fuzz/fuzz_targets/shape.rs` holds the invariants. [`response_head`]
//! is the head both a streamed and a kept song are answered with.

use tiny_http::Request;

use crate::error::{Error, Result};
use crate::response::{Framing, ResponseHead};
use crate::stream::icy::{self, IcyInserter};
use crate::stream::upstream::UpstreamHead;
use crate::wire::{self, ByteRange, ContentRange};

/// What the client asked for, read from its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    /// Inline ICY blocks wanted (`Icy-MetaData: 1`, and not `?icy=0`).
    pub icy: bool,
    pub http11: bool,
    /// `HEAD`: the head only, no body is read.
    pub head_only: bool,
    /// The client's `Range`, if it sent one we serve.
    pub range: Option<ByteRange>,
}

impl Ask {
    /// `icy_allowed` is false for `?icy=0`: no inline blocks whatever the
    /// client asks.
    pub fn of(request: &Request, head_only: bool, icy_allowed: bool) -> Ask {
        let v = request.http_version();
        Ask {
            icy: icy_allowed
                && wire::header(request, "Icy-MetaData").is_some_and(|v| v.trim() == "1"),
            http11: (v.0, v.1) >= (1, 1),
            head_only,
            range: wire::header(request, "Range").and_then(ByteRange::parse),
        }
    }
}

/// What the client gets: status, length, range and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// `200` (the whole body) or `206` (a part).
    pub status: u16,
    pub content_type: Option<String>,
    pub content_range: Option<ContentRange>,
    /// Audio bytes in the body, when known.
    pub length: Option<u64>,
    /// `Accept-Ranges: bytes`: upstream's total is known, so every range
    /// can be served.
    pub accepts_ranges: bool,
    pub plan: Plan,
}

impl Shape {
    /// The `Content-Type` the client is sent.
    pub fn content_type_sent(&self) -> String {
        self.content_type
            .clone()
            .unwrap_or_else(|| FALLBACK_CONTENT_TYPE.into())
    }
}

/// How the body is read from upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Ranged pieces: `[start, first_end)` is open; the span ends at `end`;
    /// every later piece must report the same `total`.
    Pieces {
        start: u64,
        first_end: u64,
        end: u64,
        total: u64,
    },
    /// One plain body (upstream ignores `Range`, or gives no total): the
    /// first `skip` bytes are read and dropped, then `take` bytes (or all)
    /// are sent. No resume is possible.
    Plain { skip: u64, take: Option<u64> },
}

/// Why the ask and upstream's answer do not make a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misfit {
    /// `416`: none of the client's range lies in the body of `total` bytes.
    NotSatisfiable { total: u64 },
    /// Upstream's first piece does not start where the client's range does.
    WrongStart { got: ContentRange },
    /// A part of unknown total to a request without `Range`.
    UnaskedPart { got: ContentRange },
}

/// Stage 2: for a client without `Range`, a `200` of the whole body; with
/// one, a `206` of exactly its range. With a known total every range can
/// be served: by ranged pieces, or, when upstream ignores `Range` (or for
/// a `HEAD`, which reads no body), by reading and dropping the bytes
/// before it.
pub fn shape(ask: Ask, head: &UpstreamHead) -> Result<Shape, Misfit> {
    let Some(total) = head.total() else {
        return of_unknown_total(ask, head);
    };
    let (start, end) = match ask.range {
        None => (0, total),
        Some(range) => range
            .within(total)
            .ok_or(Misfit::NotSatisfiable { total })?,
    };
    let plan = match head.content_range {
        Some(got) if !ask.head_only => {
            let (got_start, got_end) = got.span();
            if got_start != start {
                return Err(Misfit::WrongStart { got });
            }
            Plan::Pieces {
                start,
                first_end: got_end.min(end),
                end,
                total,
            }
        }
        _ => Plan::Plain {
            skip: start,
            take: Some(end - start),
        },
    };
    let part = ask.range.map(|_| ContentRange::of_span(start, end, total));
    Ok(Shape {
        status: if part.is_some() { 206 } else { 200 },
        content_type: head.content_type.clone(),
        content_range: part,
        length: Some(end - start),
        accepts_ranges: true,
        plan,
    })
}

/// Without a total: a part upstream sent as the client asked is passed
/// on; anything else is the whole body, whatever the range (RFC 9110 lets
/// a server ignore `Range`; no `Accept-Ranges` was promised).
fn of_unknown_total(ask: Ask, head: &UpstreamHead) -> Result<Shape, Misfit> {
    let mut shape = Shape {
        status: 200,
        content_type: head.content_type.clone(),
        content_range: None,
        length: head.content_length,
        accepts_ranges: false,
        plan: Plan::Plain {
            skip: 0,
            take: None,
        },
    };
    match head.content_range {
        Some(got) if ask.range.is_some() => {
            shape.status = 206;
            shape.content_range = Some(got);
        }
        Some(got) => return Err(Misfit::UnaskedPart { got }),
        None => {}
    }
    Ok(shape)
}

/// Used when upstream does not say what it sends.
const FALLBACK_CONTENT_TYPE: &str = "audio/mpeg";

/// The same head for `GET` and `HEAD`: `icy-name` without inline blocks,
/// `icy-metaint` with them (`icy` is the inserter and its interval), never
/// both.
pub fn response_head(
    shape: &Shape,
    icy: Option<(&IcyInserter, usize)>,
    title: &str,
    http11: bool,
) -> Result<ResponseHead> {
    let mut headers = vec![
        ("Content-Type", shape.content_type_sent()),
        ("Cache-Control", "no-cache".into()),
    ];
    if shape.accepts_ranges {
        headers.push(("Accept-Ranges", "bytes".into()));
    }
    if let Some(range) = &shape.content_range {
        headers.push(("Content-Range", range.to_string()));
    }
    let length = match icy {
        Some((ins, metaint)) => {
            headers.push(("icy-metaint", metaint.to_string()));
            match shape.length {
                Some(n) => Some(with_blocks(n, metaint, ins)?),
                None => None,
            }
        }
        None => {
            let name = icy::sanitize_header_value(title);
            if !name.is_empty() {
                headers.push(("icy-name", name));
            }
            shape.length
        }
    };
    Ok(ResponseHead {
        status: shape.status,
        headers,
        framing: Framing::choose(length, http11),
    })
}

/// The body length of `n` audio bytes with blocks, if a client can count it.
fn with_blocks(n: u64, metaint: usize, inserter: &IcyInserter) -> Result<u64> {
    icy::wire_length(n, metaint as u64, inserter.first_block_len() as u64)
        .filter(|&wire| wire <= wire::MAX_LENGTH)
        .ok_or_else(|| {
            Error::UpstreamInvalid(format!(
                "{n} bytes with ICY blocks are more than a client can count"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(range: &str) -> Ask {
        Ask {
            icy: false,
            http11: true,
            head_only: false,
            range: ByteRange::parse(range),
        }
    }

    fn head_request(range: &str) -> Ask {
        Ask {
            head_only: true,
            ..get(range)
        }
    }

    /// A `206` with `content_range` (as upstream writes it).
    fn part(content_range: &str) -> UpstreamHead {
        let range = ContentRange::parse(content_range).expect(content_range);
        let (first, end) = range.span();
        UpstreamHead {
            status: 206,
            content_type: Some("audio/webm".into()),
            content_length: Some(end - first),
            content_range: Some(range),
            accepts_ranges: true,
        }
    }

    /// A `200` of `length` bytes (when known): upstream ignored `Range`.
    fn whole(length: Option<u64>) -> UpstreamHead {
        UpstreamHead {
            status: 200,
            content_type: None,
            content_length: length,
            content_range: None,
            accepts_ranges: false,
        }
    }

    fn pieces(start: u64, first_end: u64, end: u64, total: u64) -> Plan {
        Plan::Pieces {
            start,
            first_end,
            end,
            total,
        }
    }

    fn shape_of(ask: Ask, head: &UpstreamHead) -> Shape {
        shape(ask, head).expect("a shape")
    }

    fn content_range(text: &str) -> Option<ContentRange> {
        Some(ContentRange::parse(text).expect(text))
    }

    #[test]
    fn no_range_gets_the_whole_body_in_pieces() {
        let answer = shape_of(get(""), &part("bytes 0-9/100"));
        assert_eq!(
            answer,
            Shape {
                status: 200,
                content_type: Some("audio/webm".into()),
                content_range: None,
                length: Some(100),
                accepts_ranges: true,
                plan: pieces(0, 10, 100, 100),
            }
        );
    }

    #[test]
    fn a_first_piece_longer_than_the_body_ends_with_it() {
        let answer = shape_of(get(""), &part("bytes 0-99/100"));
        assert_eq!(answer.plan, pieces(0, 100, 100, 100));
    }

    #[test]
    fn an_open_ended_range_runs_to_the_end() {
        let answer = shape_of(get("bytes=40-"), &part("bytes 40-49/100"));
        assert_eq!(answer.status, 206);
        assert_eq!(answer.content_range, content_range("bytes 40-99/100"));
        assert_eq!(answer.length, Some(60));
        assert!(answer.accepts_ranges);
        assert_eq!(answer.plan, pieces(40, 50, 100, 100));
    }

    #[test]
    fn a_closed_range_shorter_than_a_piece_stops_at_its_last_byte() {
        let answer = shape_of(get("bytes=40-44"), &part("bytes 40-44/100"));
        assert_eq!(answer.content_range, content_range("bytes 40-44/100"));
        assert_eq!(answer.length, Some(5));
        assert_eq!(answer.plan, pieces(40, 45, 45, 100));
    }

    #[test]
    fn a_piece_past_the_clients_last_byte_is_cut_there() {
        // Upstream may answer more than asked; the client gets its range.
        let answer = shape_of(get("bytes=40-44"), &part("bytes 40-59/100"));
        assert_eq!(answer.length, Some(5));
        assert_eq!(answer.plan, pieces(40, 45, 45, 100));
    }

    #[test]
    fn a_range_whose_last_byte_is_past_the_end_ends_with_the_body() {
        let answer = shape_of(get("bytes=90-500"), &part("bytes 90-99/100"));
        assert_eq!(answer.content_range, content_range("bytes 90-99/100"));
        assert_eq!(answer.length, Some(10));
        assert_eq!(answer.plan, pieces(90, 100, 100, 100));
    }

    #[test]
    fn a_suffix_range_is_the_last_bytes() {
        let answer = shape_of(get("bytes=-30"), &part("bytes 70-99/100"));
        assert_eq!(answer.status, 206);
        assert_eq!(answer.content_range, content_range("bytes 70-99/100"));
        assert_eq!(answer.length, Some(30));
        assert_eq!(answer.plan, pieces(70, 100, 100, 100));
    }

    #[test]
    fn a_suffix_longer_than_the_body_is_all_of_it_as_a_206() {
        let answer = shape_of(get("bytes=-500"), &part("bytes 0-99/100"));
        assert_eq!(answer.status, 206);
        assert_eq!(answer.content_range, content_range("bytes 0-99/100"));
        assert_eq!(answer.length, Some(100));
    }

    #[test]
    fn a_range_that_starts_at_or_past_the_end_is_a_416() {
        for range in ["bytes=100-", "bytes=100-200", "bytes=5000-"] {
            assert_eq!(
                shape(get(range), &whole(Some(100))),
                Err(Misfit::NotSatisfiable { total: 100 }),
                "{range}"
            );
        }
        // Upstream's total from a part: the same.
        assert_eq!(
            shape(get("bytes=100-"), &part("bytes 0-9/100")),
            Err(Misfit::NotSatisfiable { total: 100 })
        );
        assert_eq!(
            shape(get("bytes=-1"), &whole(Some(0))),
            Err(Misfit::NotSatisfiable { total: 0 })
        );
        assert_eq!(
            shape(head_request("bytes=100-"), &whole(Some(100))),
            Err(Misfit::NotSatisfiable { total: 100 })
        );
    }

    #[test]
    fn the_last_byte_is_still_inside() {
        let answer = shape_of(get("bytes=99-"), &part("bytes 99-99/100"));
        assert_eq!(answer.content_range, content_range("bytes 99-99/100"));
        assert_eq!(answer.length, Some(1));
    }

    #[test]
    fn upstream_ignoring_range_drops_the_bytes_before_the_range() {
        let answer = shape_of(get("bytes=40-59"), &whole(Some(100)));
        assert_eq!(
            answer,
            Shape {
                status: 206,
                content_type: None,
                content_range: content_range("bytes 40-59/100"),
                length: Some(20),
                accepts_ranges: true,
                plan: Plan::Plain {
                    skip: 40,
                    take: Some(20),
                },
            }
        );
        let suffix = shape_of(get("bytes=-30"), &whole(Some(100)));
        assert_eq!(
            suffix.plan,
            Plan::Plain {
                skip: 70,
                take: Some(30),
            }
        );
    }

    #[test]
    fn upstream_ignoring_range_without_one_asked_is_the_whole_body() {
        let answer = shape_of(get(""), &whole(Some(100)));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_range, None);
        assert_eq!(answer.length, Some(100));
        assert!(answer.accepts_ranges);
        assert_eq!(
            answer.plan,
            Plan::Plain {
                skip: 0,
                take: Some(100),
            }
        );
    }

    #[test]
    fn an_empty_body_is_a_200_of_nothing() {
        let answer = shape_of(get(""), &whole(Some(0)));
        assert_eq!((answer.status, answer.length), (200, Some(0)));
        assert_eq!(
            answer.plan,
            Plan::Plain {
                skip: 0,
                take: Some(0),
            }
        );
    }

    #[test]
    fn an_unknown_length_gets_the_whole_body_whatever_the_range() {
        for range in ["", "bytes=40-", "bytes=-30", "bytes=5000-"] {
            let answer = shape_of(get(range), &whole(None));
            assert_eq!(
                answer,
                Shape {
                    status: 200,
                    content_type: None,
                    content_range: None,
                    length: None,
                    accepts_ranges: false,
                    plan: Plan::Plain {
                        skip: 0,
                        take: None,
                    },
                },
                "{range}"
            );
        }
    }

    #[test]
    fn a_part_of_unknown_total_is_passed_on_as_asked() {
        let answer = shape_of(get("bytes=40-"), &part("bytes 40-49/*"));
        assert_eq!(
            answer,
            Shape {
                status: 206,
                content_type: Some("audio/webm".into()),
                content_range: content_range("bytes 40-49/*"),
                length: Some(10),
                accepts_ranges: false,
                plan: Plan::Plain {
                    skip: 0,
                    take: None,
                },
            }
        );
    }

    #[test]
    fn a_part_of_unknown_total_to_no_range_is_refused() {
        assert_eq!(
            shape(get(""), &part("bytes 0-9/*")),
            Err(Misfit::UnaskedPart {
                got: ContentRange::parse("bytes 0-9/*").expect("a part of unknown total"),
            })
        );
    }

    #[test]
    fn a_first_piece_that_starts_elsewhere_is_refused() {
        let got = ContentRange::parse("bytes 0-9/100").expect("the first part");
        assert_eq!(
            shape(get("bytes=40-"), &part("bytes 0-9/100")),
            Err(Misfit::WrongStart { got })
        );
        let got = ContentRange::parse("bytes 60-99/100").expect("the last part");
        assert_eq!(
            shape(get("bytes=-30"), &part("bytes 60-99/100")),
            Err(Misfit::WrongStart { got })
        );
    }

    #[test]
    fn head_is_shaped_as_get_without_reading_pieces() {
        let answer = shape_of(head_request("bytes=40-59"), &whole(Some(100)));
        assert_eq!(answer.status, 206);
        assert_eq!(answer.content_range, content_range("bytes 40-59/100"));
        assert_eq!(answer.length, Some(20));
        let whole_body = shape_of(head_request(""), &whole(Some(100)));
        assert_eq!(
            (
                whole_body.status,
                whole_body.length,
                whole_body.accepts_ranges
            ),
            (200, Some(100), true)
        );
        // A probe answered with a part: no start to check, no pieces.
        let probed = shape_of(head_request("bytes=40-"), &part("bytes 0-0/100"));
        assert_eq!(probed.content_range, content_range("bytes 40-99/100"));
        assert_eq!(
            probed.plan,
            Plan::Plain {
                skip: 40,
                take: Some(60),
            }
        );
        let unknown = shape_of(head_request("bytes=40-"), &whole(None));
        assert_eq!((unknown.status, unknown.length), (200, None));
    }

    #[test]
    fn the_content_type_is_upstreams() {
        let typed = UpstreamHead {
            content_type: Some("audio/mp4".into()),
            ..whole(None)
        };
        assert_eq!(
            shape_of(get(""), &typed).content_type.as_deref(),
            Some("audio/mp4")
        );
        assert_eq!(shape_of(get(""), &whole(None)).content_type, None);
    }
}
