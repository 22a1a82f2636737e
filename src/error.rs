//! The one error type. Its `Display` text is what a user reads (in an HTTP
//! body or on stderr); [`Error::status`] is the only place that decides HTTP
//! status codes.

use std::fmt;
use std::sync::Arc;

use crate::subprocess::Failure;

#[derive(Debug, Clone)]
pub enum Error {
    /// The request is malformed (bad video id, bad header value).
    BadRequest(String),
    /// The access token is missing or wrong.
    Unauthorized,
    /// A browser asked on behalf of a web page (cross-site, a foreign
    /// `Origin`, a rebound host name): refused before anything runs.
    Forbidden(String),
    /// Nothing is served at this path, or the track is unknown.
    NotFound(String),
    /// The path exists but not for this method; carries the `Allow` list.
    MethodNotAllowed { allow: &'static str },
    /// Every stream worker is busy.
    Busy,
    /// The server is stopping: a request that was waiting (for a URL's
    /// `available_at`) ends now.
    Shutdown,
    /// Upstream could not be reached (refused, DNS, TLS, reset before headers).
    UpstreamUnreachable {
        /// The host (never the rest of a stream URL: it carries credentials).
        host: String,
        /// What failed: ureq's error, or the OS error under it.
        cause: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// Upstream's TLS certificate was refused (unknown CA, expired, another
    /// host): asking again would be refused again.
    UpstreamCertificate {
        host: String,
        /// Why, in the user's words.
        why: String,
        /// rustls's verdict.
        cause: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// Upstream did not connect or answer within the configured time, or
    /// its URL would not be available within `max_wait`.
    UpstreamTimeout {
        /// What did not come in time (names a host, never a URL).
        what: String,
        /// ureq's timeout or the OS error, when a request timed out.
        cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// Upstream answered with a status we cannot pass on.
    UpstreamStatus(u16),
    /// Upstream answered something that cannot be true or is not what we
    /// asked for (an impossible `Content-Range`, another range, another
    /// file): asking again would get the same.
    UpstreamInvalid(String),
    /// Upstream refused the stored URL (`403`, say) and getting a fresh
    /// one failed too: both causes, for the user to act on.
    StaleUrl {
        /// Upstream's refusal.
        refused: Arc<Error>,
        /// Why no fresh URL came (also the `source()`).
        refresh: Arc<Error>,
    },
    /// Upstream answered `416`: passed through with its `Content-Range`.
    RangeNotSatisfiable { content_range: Option<String> },
    /// The stored stream URL is not something we may fetch.
    BadStreamUrl {
        why: &'static str,
        /// What refused it (ureq, or our own check). It may quote the whole
        /// URL, credentials and all: kept for `source()`, never displayed.
        cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// The resolver command failed or printed something unusable.
    Resolver(Failure),
    /// A playlist's source (the playlist command) failed or printed
    /// something that is not a playlist.
    PlaylistSource(Failure),
    /// The resolver command ran past its time limit and was killed.
    ResolverTimeout(String),
    /// MPD could not be reached, or refused a change to its queue: the
    /// whole text, naming MPD's address and what to do.
    Mpd(String),
    /// Every resolver slot (`[resolver] max_running`) stayed busy for as
    /// long as a request may wait for one.
    ResolverBusy { slots: usize },
    /// The resolver failed for this id a moment ago: that failure, and
    /// the seconds until it may run for the id again.
    RecentlyFailed {
        cause: Arc<Error>,
        retry_in_secs: u64,
    },
    /// YouTube Music's web API (the reader, `catalog::music`) failed, or
    /// answered in a shape it does not read: which call, and what went wrong.
    Music { call: String, fault: MusicFault },
    /// Bad input on the command line or in an import file.
    InvalidInput(String),
    /// The configuration file or a flag is wrong; the text names the key.
    Config(String),
    /// The track store failed: what we were doing (usually the file), the
    /// SQLite error when there is one, and what the user can do about it.
    Store {
        context: String,
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
        fix: Option<&'static str>,
    },
    /// Any other I/O failure: what we were doing, and the OS error when
    /// there is one. (`Arc`, because results are shared between requests.)
    Io {
        context: String,
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
        fix: Option<&'static str>,
    },
}

impl Error {
    /// The HTTP status for this error. The one place that maps errors to codes.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthorized => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::RangeNotSatisfiable { .. } => 416,
            Error::Busy | Error::Shutdown | Error::ResolverBusy { .. } => 503,
            Error::RecentlyFailed { cause, .. } => cause.status(),
            Error::UpstreamUnreachable { .. }
            | Error::UpstreamStatus(_)
            | Error::UpstreamInvalid(_)
            | Error::UpstreamCertificate { .. }
            | Error::StaleUrl { .. }
            | Error::BadStreamUrl { .. }
            | Error::Resolver(_)
            | Error::PlaylistSource(_)
            | Error::Mpd(_) => 502,
            Error::Music { fault, .. } => fault.status(),
            Error::UpstreamTimeout { .. } | Error::ResolverTimeout(_) => 504,
            Error::InvalidInput(_) => 400,
            Error::Config(_) | Error::Store { .. } | Error::Io { .. } => 500,
        }
    }

    /// The reason in a few words, for the `X-Icyproxy-Error` header (a
    /// `HEAD` has no body to say it in): a resolver's named cause
    /// (`YouTube's bot check`), else the whole text; one line of ASCII, at
    /// most 200 characters.
    pub fn reason(&self) -> String {
        let text = match self {
            Error::Resolver(f) | Error::PlaylistSource(f) => match (&f.how, &f.cause) {
                (crate::subprocess::How::LoginNeeded { .. }, _) | (_, None) => f.to_string(),
                (_, Some(cause)) => cause.label.to_owned(),
            },
            Error::RecentlyFailed { cause, .. } => return cause.reason(),
            other => other.to_string(),
        };
        text.chars()
            .map(|c| match c {
                ' '..='~' => c,
                _ => '?',
            })
            .take(200)
            .collect()
    }

    /// Extra headers that belong with this error's response.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::MethodNotAllowed { allow } => vec![("Allow", (*allow).to_owned())],
            Error::Busy => vec![("Retry-After", "2".to_owned())],
            Error::ResolverBusy { .. } => vec![("Retry-After", "10".to_owned())],
            Error::RecentlyFailed { retry_in_secs, .. } => {
                vec![("Retry-After", retry_in_secs.to_string())]
            }
            Error::Unauthorized => vec![("WWW-Authenticate", "Bearer".to_owned())],
            Error::RangeNotSatisfiable {
                content_range: Some(range),
            } => vec![("Content-Range", range.clone())],
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadRequest(why) => write!(f, "bad request: {why}"),
            Error::Unauthorized => write!(
                f,
                "a valid token is needed (?token=... or Authorization: Bearer ...)"
            ),
            Error::Forbidden(why) => write!(f, "forbidden: {why}"),
            Error::NotFound(what) => write!(f, "not found: {what}"),
            Error::MethodNotAllowed { allow } => write!(f, "method not allowed (allowed: {allow})"),
            Error::Busy => write!(f, "all stream workers are busy, retry shortly"),
            Error::Shutdown => write!(f, "server shutting down"),
            Error::UpstreamUnreachable { host, cause } => {
                write!(f, "upstream unreachable: {host}: {cause}")
            }
            Error::UpstreamTimeout { what, .. } => write!(f, "upstream timed out: {what}"),
            Error::UpstreamCertificate { host, why, .. } => {
                write!(
                    f,
                    "upstream TLS refused: {host}: certificate refused: {why}"
                )
            }
            Error::UpstreamStatus(code) => write!(f, "upstream answered {code}"),
            Error::UpstreamInvalid(why) => write!(f, "upstream answer unusable: {why}"),
            Error::StaleUrl { refused, refresh } => {
                write!(f, "{refused} and the URL could not be refreshed: {refresh}")
            }
            Error::RangeNotSatisfiable { .. } => write!(f, "range not satisfiable"),
            Error::BadStreamUrl { why, .. } => write!(f, "stored stream URL refused: {why}"),
            Error::Resolver(failure) | Error::PlaylistSource(failure) => write!(f, "{failure}"),
            Error::ResolverTimeout(why) => write!(f, "{why}"),
            Error::ResolverBusy { slots } => write!(
                f,
                "the resolver is busy ({slots} runs at once, [resolver] max_running), retry shortly"
            ),
            Error::RecentlyFailed {
                cause,
                retry_in_secs,
            } => write!(f, "{cause} (next try in {retry_in_secs} s)"),
            Error::Music { call, fault } => write!(f, "YouTube Music's {call}: {fault}"),
            Error::InvalidInput(why) | Error::Mpd(why) => write!(f, "{why}"),
            Error::Config(why) => write!(f, "config: {why}"),
            Error::Store {
                context,
                source,
                fix,
            } => {
                write!(f, "track store: ")?;
                with_cause(f, context, source.as_deref(), *fix)
            }
            Error::Io {
                context,
                source,
                fix,
            } => with_cause(f, context, source.as_deref(), *fix),
        }
    }
}

/// What went wrong with a call to YouTube Music's web API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MusicFault {
    /// Not reached: refused, DNS, TLS, a reset (the transport's words).
    Unreachable(String),
    /// No whole answer within `[youtube] timeout_secs`.
    TimedOut,
    /// An HTTP status, with YouTube's own message when it gave one.
    Status { code: u16, message: String },
    /// The call needs the account and the jar does not log in (or there
    /// is none): the cookies file, when there is one.
    LoggedOut { cookies: Option<String> },
    /// Nothing by that id (an album, artist or playlist YouTube does not have).
    Unknown(String),
    /// An answer over the reader's size limit.
    TooLarge { limit: u64 },
    /// Not JSON (cut short, an HTML page): serde's words.
    NotJson(String),
    /// JSON, but not in a shape the reader knows: the path where it differed.
    Shape(String),
}

impl MusicFault {
    fn status(&self) -> u16 {
        match self {
            MusicFault::TimedOut => 504,
            MusicFault::Unknown(_) => 404,
            _ => 502,
        }
    }
}

impl fmt::Display for MusicFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MusicFault::Unreachable(why) => write!(f, "unreachable: {why}"),
            MusicFault::TimedOut => write!(f, "no answer in time ([youtube] timeout_secs)"),
            MusicFault::Status { code, message } if message.is_empty() => {
                write!(f, "answered HTTP {code}")
            }
            MusicFault::Status { code, message } => write!(f, "answered HTTP {code}: {message}"),
            MusicFault::LoggedOut { cookies } => {
                write!(f, "{}", crate::subprocess::login_needed(cookies.as_deref()))
            }
            MusicFault::Unknown(what) => write!(f, "no such {what}"),
            MusicFault::TooLarge { limit } => {
                write!(f, "answer larger than {} MiB", limit >> 20)
            }
            MusicFault::NotJson(why) => write!(f, "answer is not JSON: {why}"),
            MusicFault::Shape(path) => write!(f, "answer in a shape not known: {path}"),
        }
    }
}

/// `context: cause (fix)`, leaving out what is absent.
fn with_cause(
    f: &mut fmt::Formatter<'_>,
    context: &str,
    source: Option<&(dyn std::error::Error + Send + Sync)>,
    fix: Option<&str>,
) -> fmt::Result {
    write!(f, "{context}")?;
    if let Some(source) = source {
        write!(f, ": {source}")?;
    }
    match fix {
        Some(fix) => write!(f, " ({fix})"),
        None => Ok(()),
    }
}

impl Error {
    /// Upstream at `host` could not be reached; `cause` says why and is
    /// kept (`source()`), so logs and tests can tell a refused connection
    /// from a reset or a TLS failure.
    pub fn unreachable(
        host: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::UpstreamUnreachable {
            host: host.into(),
            cause: Arc::new(cause),
        }
    }

    /// A request to upstream timed out: `what` names the host and the
    /// phase; `cause` (ureq's timeout, or the OS error) is kept.
    pub fn timed_out(
        what: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::UpstreamTimeout {
            what: what.into(),
            cause: Some(Arc::new(cause)),
        }
    }

    /// Upstream at `host` showed a certificate we refuse: `why` in words,
    /// `cause` the TLS library's verdict.
    pub fn certificate(
        host: impl Into<String>,
        why: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::UpstreamCertificate {
            host: host.into(),
            why: why.into(),
            cause: Arc::new(cause),
        }
    }

    /// The stored stream URL was refused for `why`; `cause` is kept for
    /// `source()` but never displayed (it may quote the URL).
    pub fn bad_stream_url(
        why: &'static str,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::BadStreamUrl {
            why,
            cause: Some(Arc::new(cause)),
        }
    }

    /// A store failure with its cause (SQLite's, or the file system's).
    pub fn store(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Store {
            context: context.into(),
            source: Some(Arc::new(source)),
            fix: None,
        }
    }

    /// A store failure found by our own checks (no SQLite error behind it).
    pub fn store_msg(context: impl Into<String>) -> Error {
        Error::Store {
            context: context.into(),
            source: None,
            fix: None,
        }
    }

    /// Adds what the user can do to a store or I/O failure.
    pub fn with_fix(mut self, how: &'static str) -> Error {
        if let Error::Store { fix, .. } | Error::Io { fix, .. } = &mut self {
            *fix = Some(how);
        }
        self
    }

    /// An I/O failure with its cause (an OS error, usually).
    pub fn io(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Io {
            context: context.into(),
            source: Some(Arc::new(source)),
            fix: None,
        }
    }

    /// An I/O-side failure with no error value behind it.
    pub fn io_msg(context: impl Into<String>) -> Error {
        Error::Io {
            context: context.into(),
            source: None,
            fix: None,
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Store { source, .. }
            | Error::Io { source, .. }
            | Error::UpstreamTimeout { cause: source, .. }
            | Error::BadStreamUrl { cause: source, .. } => source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            Error::UpstreamUnreachable { cause, .. } | Error::UpstreamCertificate { cause, .. } => {
                Some(cause.as_ref() as &(dyn std::error::Error + 'static))
            }
            Error::StaleUrl { refresh, .. } => Some(refresh.as_ref()),
            Error::RecentlyFailed { cause, .. } => Some(cause.as_ref()),
            Error::Resolver(failure) | Error::PlaylistSource(failure) => failure
                .io_error()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for Error {
    /// A query failure; the cause is kept for logs and tests.
    fn from(e: rusqlite::Error) -> Self {
        Error::Store {
            context: "query failed".into(),
            source: Some(Arc::new(e)),
            fix: None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_precise() {
        assert_eq!(Error::BadRequest("x".into()).status(), 400);
        assert_eq!(Error::NotFound("x".into()).status(), 404);
        assert_eq!(Error::MethodNotAllowed { allow: "GET" }.status(), 405);
        assert_eq!(Error::Busy.status(), 503);
        assert_eq!(Error::Shutdown.status(), 503);
        assert_eq!(
            Error::unreachable(
                "h",
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused)
            )
            .status(),
            502
        );
        assert_eq!(Error::UpstreamStatus(403).status(), 502);
        assert_eq!(
            Error::UpstreamTimeout {
                what: "x".into(),
                cause: None
            }
            .status(),
            504
        );
        assert_eq!(
            Error::RangeNotSatisfiable {
                content_range: None
            }
            .status(),
            416
        );
    }

    #[test]
    fn store_and_io_errors_keep_their_cause() {
        use std::error::Error as _;
        let e = Error::store("/x/t.db", rusqlite::Error::InvalidQuery).with_fix("use --db");
        assert_eq!(
            e.to_string(),
            "track store: /x/t.db: Query is not read-only (use --db)"
        );
        let cause = e.source().expect("kept");
        assert!(cause.downcast_ref::<rusqlite::Error>().is_some());
        let e = Error::io(
            "cannot read f",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        let cause = e.source().expect("kept");
        let io = cause.downcast_ref::<std::io::Error>().expect("io");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        assert!(Error::io_msg("x").source().is_none());
    }

    /// Every variant that wraps a library's or the OS's error keeps it
    /// under `source()`, where it can be told apart by type; what the user
    /// reads stays the same, and never quotes a stream URL.
    #[test]
    fn wrapping_variants_keep_their_cause() {
        use std::error::Error as _;
        use std::io::ErrorKind;
        fn io_kind(e: &Error) -> Option<ErrorKind> {
            let cause = e.source()?;
            cause.downcast_ref::<std::io::Error>().map(|io| io.kind())
        }
        let unreachable =
            Error::unreachable("h:1", std::io::Error::from(ErrorKind::ConnectionReset));
        assert_eq!(io_kind(&unreachable), Some(ErrorKind::ConnectionReset));
        let timeout = Error::timed_out("h:1: connect", std::io::Error::from(ErrorKind::TimedOut));
        assert_eq!(io_kind(&timeout), Some(ErrorKind::TimedOut));
        assert_eq!(timeout.to_string(), "upstream timed out: h:1: connect");
        let verdict = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        let certificate = Error::certificate("h:1", "it has expired", verdict.clone());
        let cause = certificate.source().expect("kept");
        assert_eq!(cause.downcast_ref::<rustls::Error>(), Some(&verdict));
        assert_eq!(
            certificate.to_string(),
            "upstream TLS refused: h:1: certificate refused: it has expired"
        );
        let secret = "http://h:1/a?sig=SECRET";
        let bad = Error::bad_stream_url(
            "not a valid URL",
            ureq::Error::BadUri(format!("{secret} is missing scheme")),
        );
        let cause = bad.source().expect("kept");
        assert!(cause.downcast_ref::<ureq::Error>().is_some());
        assert_eq!(
            bad.to_string(),
            "stored stream URL refused: not a valid URL"
        );
        let store = Error::store("t.db", rusqlite::Error::InvalidQuery);
        assert!(store.source().expect("kept").is::<rusqlite::Error>());
        let io = Error::io("cannot read f", std::io::Error::from(ErrorKind::NotFound));
        assert_eq!(io_kind(&io), Some(ErrorKind::NotFound));
        let stale = Error::StaleUrl {
            refused: Arc::new(Error::UpstreamStatus(403)),
            refresh: Arc::new(timeout),
        };
        assert!(
            stale
                .to_string()
                .starts_with("upstream answered 403 and the URL could not be refreshed: "),
            "{stale}"
        );
        let refresh = stale.source().expect("kept");
        assert!(refresh.is::<Error>());
        assert_eq!(
            refresh
                .source()
                .and_then(|c| c.downcast_ref::<std::io::Error>())
                .map(|io| io.kind()),
            Some(ErrorKind::TimedOut),
            "the chain goes on to the OS error"
        );
    }
}
