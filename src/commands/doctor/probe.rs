//! The probe: a real resolve of `[doctor] probe_id`, then two small
//! reads of its stream, from the start and from ~90 s in.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use super::report::Check;
use crate::catalog::cookies::Cookies;
use crate::catalog::resolver::{Resolved, Resolver};
use crate::catalog::stream_url;
use crate::catalog::ytdlp_error::{self, Class};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::stream::upstream::Upstream;
use crate::video_id::VideoId;

/// Bytes read from the stream's start and from ~90 s in.
const PROBE_BYTES: u64 = 64 * 1024;

/// Where in the audio the second read starts: past the first minute, where
/// URLs that need a PO token are refused.
const LATE_SECS: u64 = 90;

/// A real resolve of `[doctor] probe_id`, then its stream's first 64 KiB
/// and 64 KiB from ~90 s in.
pub fn probe(config: &Config, _program: &Path) -> Vec<Check> {
    let Some(id) = VideoId::parse(config.doctor.probe_id()) else {
        return vec![Check::fail(
            "probe",
            format!(
                "[doctor] probe_id {:?} is not a video id",
                config.doctor.probe_id()
            ),
            "give an 11-character YouTube video id",
        )];
    };
    let Some(resolver) = Resolver::new(&config.resolver.command, config.resolver.timeout()) else {
        return Vec::new();
    };
    // As the service runs it: with the same cookies, but changing nothing.
    let resolver = resolver.with_cookies(config.cookies().map(Cookies::read_only));
    let started = Instant::now();
    let resolved = match resolver.resolve(&id) {
        Ok(resolved) => resolved,
        Err(e) => return vec![resolve_failed(config, &id, &e)],
    };
    let took = started.elapsed();
    let mut checks = vec![Check::ok(
        "probe resolve",
        format!(
            "{id} → {} in {:.1} s",
            show_track(&resolved),
            took.as_secs_f64()
        ),
    )];
    checks.extend(stream_probe(config, &resolved));
    checks
}

fn show_track(r: &Resolved) -> String {
    let (artist, title) = (&r.tags.artist, &r.tags.title);
    match (artist.is_empty(), title.is_empty()) {
        (false, false) => format!("{artist} - {title}"),
        (true, false) => title.clone(),
        _ => "a stream URL".to_owned(),
    }
}

/// The probe's resolve failed: its cause, named once, with the fix once
/// (as the server classified it).
fn resolve_failed(config: &Config, id: &VideoId, e: &Error) -> Check {
    let (found, fix) = match (e, ytdlp_error::told(e)) {
        (Error::ResolverTimeout(_), _) => (
            e.to_string(),
            format!(
                "raise [resolver] timeout_secs ({} s now), or check the network",
                config.resolver.timeout().as_secs()
            ),
        ),
        (_, Some(told)) => told,
        (_, None) => (e.to_string(), Class::Other.fix("")),
    };
    Check::fail("probe resolve", format!("{id}: {found}"), fix)
}

/// The first 64 KiB of the resolved stream, then 64 KiB from ~90 s of
/// audio in: a URL refused there is the PO-token case.
fn stream_probe(config: &Config, resolved: &Resolved) -> Vec<Check> {
    let upstream = match Upstream::new(&config.upstream) {
        Ok(u) => u,
        Err(e) => {
            return vec![Check::fail(
                "probe stream",
                e.to_string(),
                "check [upstream]",
            )];
        }
    };
    let headers = &resolved.fetch.http_headers;
    let url = &resolved.stream_url;
    let host = crate::catalog::stream_url::host(url).to_owned();
    let never = std::sync::atomic::AtomicBool::new(false);
    let wait = stream_url::wait_available(
        resolved.fetch.available_at,
        config.resolver.max_wait(),
        &never,
    );
    if let Err(e) = wait {
        return vec![Check::fail(
            "probe stream",
            format!("{host}: {e}"),
            "run doctor again when the video is out (a premiere), or raise [resolver] max_wait_secs",
        )];
    }
    let started = Instant::now();
    let first = read_range(&upstream, url, 0, headers);
    let (got, total) = match first {
        Ok(found) => found,
        Err(e) => {
            return vec![Check::fail(
                "probe stream",
                format!("{host} refused the stream's start: {e}"),
                "resolve again later; if it stays, upgrade yt-dlp",
            )];
        }
    };
    let mut checks = vec![Check::ok(
        "probe stream",
        format!(
            "first {} KiB from {host} in {:.2} s",
            got / 1024,
            started.elapsed().as_secs_f64()
        ),
    )];
    let late = match (total, resolved.tags.duration_secs) {
        (Some(total), Some(secs)) if secs > LATE_SECS as i64 + 5 => {
            Some(total * LATE_SECS / secs as u64)
        }
        (Some(total), None) if total > PROBE_BYTES * 4 => Some(total / 2),
        _ => None,
    };
    let Some(offset) = late else {
        checks.push(Check::ok(
            "probe 90 s in",
            "skipped: the track is too short (or its length unknown)",
        ));
        return checks;
    };
    checks.push(match read_range(&upstream, url, offset, headers) {
        Ok((got, _)) => Check::ok(
            "probe 90 s in",
            format!("{} KiB from byte {offset}", got / 1024),
        ),
        Err(Error::UpstreamStatus(403)) => Check::fail(
            "probe 90 s in",
            format!(
                "{host} served the first minute but refused byte {offset} (~{LATE_SECS} s in) \
                 with 403: the PO-token case"
            ),
            "this player client's URLs need a PO token past the first minute: see yt-dlp's \
             \"PO Token Guide\" (its wiki), or let yt-dlp choose its default clients (no \
             player_client in [resolver] command)",
        ),
        Err(e) => Check::fail(
            "probe 90 s in",
            format!("{host} failed at byte {offset}: {e}"),
            "resolve again later; if it stays, upgrade yt-dlp",
        ),
    });
    checks
}

/// Reads up to [`PROBE_BYTES`] from `start`; the bytes read and the whole
/// body's length when upstream says.
fn read_range(
    upstream: &Upstream,
    url: &str,
    start: u64,
    headers: &[(String, String)],
) -> Result<(u64, Option<u64>)> {
    let range = format!("bytes={start}-{}", start + PROBE_BYTES - 1);
    let resp = upstream.get(url, Some(&range), headers)?;
    if !matches!(resp.head.status, 200 | 206) {
        return Err(Error::UpstreamStatus(resp.head.status));
    }
    let total = resp.head.total();
    let Some(body) = resp.body else {
        return Ok((0, total));
    };
    let mut buf = Vec::new();
    body.take(PROBE_BYTES)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("reading the stream", e))?;
    if buf.is_empty() {
        return Err(Error::UpstreamInvalid("an empty body".into()));
    }
    Ok((buf.len() as u64, total))
}
