//! The access log: one line per request (who, what, status, bytes, time,
//! and why it failed or ended early), written when it is answered.

use std::time::Instant;

use log::info;
use tiny_http::Request;

use crate::metrics::Metrics;
use crate::response::Outcome;

/// A request as its access line names it, kept before the request is
/// consumed by its answer.
pub(super) struct Seen {
    client: String,
    target: String,
    started: Instant,
}

impl Seen {
    pub(super) fn of(request: &Request, started: Instant) -> Seen {
        Seen {
            client: client_of(request),
            target: describe(request),
            started,
        }
    }

    /// Counts the answer and writes its one line.
    pub(super) fn answered(&self, outcome: &Outcome, metrics: &Metrics) {
        metrics.request(outcome.status, outcome.bytes);
        log_request(&self.client, &self.target, outcome, self.started);
    }
}

fn client_of(request: &Request) -> String {
    request
        .remote_addr()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The request as a log line shows it: method and path as sent (trailing
/// slash included), never a query string (it may carry a token), never
/// control characters, at most 100 characters.
fn describe(request: &Request) -> String {
    let method: String = request.method().as_str().chars().take(16).collect();
    let path = request.url().split(['?', '#']).next().unwrap_or("");
    let clean: String = path.chars().filter(|c| !c.is_control()).take(100).collect();
    format!("{method} {clean}")
}

/// One line per request at info: who, what, status, bytes, time, and why
/// it failed or ended early. Error texts never carry a stream URL's path
/// or query (they name its host only).
fn log_request(client: &str, target: &str, outcome: &Outcome, started: Instant) {
    let ms = started.elapsed().as_millis();
    let Outcome {
        status,
        bytes,
        note,
    } = outcome;
    match note {
        None => info!("{client} \"{target}\" {status} {bytes}B {ms}ms"),
        Some(why) => info!("{client} \"{target}\" {status} {bytes}B {ms}ms ({why})"),
    }
}
