//! The one retry policy: what a failed upstream request calls for, and how
//! long to wait before asking again. Pure: the stages that ask upstream
//! (`proxy` opening a stream, `pieces` resuming one) do the asking, count
//! their attempts and know whether a resolver can refresh a URL; this file
//! only decides.

use std::time::Duration;

use crate::error::Error;

/// Where in a stream upstream failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Before the client's first byte (the first request, or the probe for
    /// a `HEAD`).
    Open,
    /// Mid-body: a later piece, resumed at the next byte.
    Body,
}

/// What a failure calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Ask again with the same URL after [`backoff`] (mid-body: from the
    /// next byte), while attempts are left.
    Retry,
    /// Upstream refused the URL itself: a fresh one from the resolver may
    /// be served, the same one would be refused again.
    Refresh,
    /// Asking again would get the same answer, or not in time.
    GiveUp,
}

impl Recovery {
    /// The policy. Refused or reset connections and upstream `5xx` may
    /// pass: retried. `403`, `404` and `410` refuse the URL (it expired,
    /// or was never good): refreshed. A timeout is retried mid-body only:
    /// before the first byte a second wait would stall the client twice as
    /// long, while a stalled piece is what resuming is for. An answer that
    /// was wrong, a refused certificate, a stop: never retried.
    pub fn of(e: &Error, stage: Stage) -> Recovery {
        match (e, stage) {
            (Error::UpstreamStatus(403 | 404 | 410), _) => Recovery::Refresh,
            (Error::UpstreamStatus(500..=599) | Error::UpstreamUnreachable { .. }, _) => {
                Recovery::Retry
            }
            (Error::UpstreamTimeout { .. }, Stage::Body) => Recovery::Retry,
            _ => Recovery::GiveUp,
        }
    }
}

/// The pause before retry number `attempt` (1-based): 0.25 s, 0.5 s, 1 s, ...
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.saturating_sub(1).min(6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error as IoError, ErrorKind};
    use std::sync::Arc;

    #[test]
    fn the_policy() {
        use Recovery::{GiveUp, Refresh, Retry};
        let refused = Error::unreachable("h", IoError::from(ErrorKind::ConnectionRefused));
        let timeout = Error::timed_out("h: connect", IoError::from(ErrorKind::TimedOut));
        let wait = Error::UpstreamTimeout {
            what: "not available for another 60 s".into(),
            cause: None,
        };
        let status = Error::UpstreamStatus;
        let table = [
            // what failed,                 opening, mid-body
            (refused.clone(), Retry, Retry),
            (status(500), Retry, Retry),
            (status(502), Retry, Retry),
            (status(503), Retry, Retry),
            (status(599), Retry, Retry),
            (status(403), Refresh, Refresh),
            (status(404), Refresh, Refresh),
            (status(410), Refresh, Refresh),
            (timeout, GiveUp, Retry),
            (wait, GiveUp, Retry),
            (status(400), GiveUp, GiveUp),
            (status(401), GiveUp, GiveUp),
            (status(405), GiveUp, GiveUp),
            (status(429), GiveUp, GiveUp),
            (status(600), GiveUp, GiveUp),
            (
                Error::UpstreamInvalid("asked for 0-9, got 5-9".into()),
                GiveUp,
                GiveUp,
            ),
            (
                Error::RangeNotSatisfiable {
                    content_range: None,
                },
                GiveUp,
                GiveUp,
            ),
            (
                Error::certificate("h", "it has expired", IoError::other("x")),
                GiveUp,
                GiveUp,
            ),
            (
                Error::StaleUrl {
                    refused: Arc::new(status(403)),
                    refresh: Arc::new(refused),
                },
                GiveUp,
                GiveUp,
            ),
            (
                Error::BadStreamUrl {
                    why: "none stored yet",
                    cause: None,
                },
                GiveUp,
                GiveUp,
            ),
            (Error::Shutdown, GiveUp, GiveUp),
            (Error::Busy, GiveUp, GiveUp),
            (Error::NotFound("x".into()), GiveUp, GiveUp),
            (Error::store_msg("x"), GiveUp, GiveUp),
        ];
        for (e, open, body) in table {
            let got = (Recovery::of(&e, Stage::Open), Recovery::of(&e, Stage::Body));
            assert_eq!(got, (open, body), "{e}");
        }
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_millis(1000));
    }
}
