//! Writing a streamed HTTP/1.x response ourselves on tiny_http's raw
//! writer. tiny_http's own `respond()` buffers the body and, for HTTP/1.0
//! clients with no length, reads all of it into memory first; a live stream
//! cannot afford either.

use std::io::{self, Write};

/// How the client learns where the body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 clients, unknown length).
    Chunked,
    /// No length: the body ends when the connection closes (HTTP/1.0).
    Close,
}

impl Framing {
    /// The framing for a body of `length` (if known) to an HTTP/1.1 client
    /// (`http11`) or an HTTP/1.0 one.
    pub fn choose(length: Option<u64>, http11: bool) -> Framing {
        match (length, http11) {
            (Some(n), _) => Framing::Length(n),
            (None, true) => Framing::Chunked,
            (None, false) => Framing::Close,
        }
    }
}

/// A response's status line and headers.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub framing: Framing,
}

impl ResponseHead {
    /// Serialises the head, ending with the blank line.
    pub fn to_bytes(&self, http11: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        let version = if http11 { "HTTP/1.1" } else { "HTTP/1.0" };
        out.extend_from_slice(
            format!("{version} {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        out.extend_from_slice(format!("Server: {SERVER}\r\n").as_bytes());
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match self.framing {
            Framing::Length(n) => {
                out.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes())
            }
            Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            Framing::Close => out.extend_from_slice(b"Connection: close\r\n"),
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// The reason phrase for the statuses we send.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// The `Server` header of every response, streamed or small.
pub const SERVER: &str = concat!("icyproxy/", env!("CARGO_PKG_VERSION"));

/// How a request ended, for the log line and the counters.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    /// Body bytes written to the client.
    pub bytes: u64,
    /// Why the request failed or its body ended early, if it did: the
    /// cause the access log shows.
    pub note: Option<String>,
}

impl Outcome {
    pub fn new(status: u16, bytes: u64, note: Option<String>) -> Outcome {
        Outcome {
            status,
            bytes,
            note,
        }
    }
}

/// The body writer: plain bytes, or HTTP/1.1 chunks.
pub struct BodyWriter<W: Write> {
    inner: W,
    chunked: bool,
}

impl<W: Write> BodyWriter<W> {
    pub fn new(inner: W, framing: Framing) -> BodyWriter<W> {
        BodyWriter {
            inner,
            chunked: framing == Framing::Chunked,
        }
    }

    /// Ends the body (the last chunk, for chunked framing) and flushes.
    /// Not called when the body is cut short, so the client sees the error.
    pub fn finish(mut self) -> io::Result<()> {
        if self.chunked {
            self.inner.write_all(b"0\r\n\r\n")?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Write for BodyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.chunked {
            write!(self.inner, "{:x}\r\n", buf.len())?;
            self.inner.write_all(buf)?;
            self.inner.write_all(b"\r\n")?;
        } else {
            self.inner.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Answers with a short text body, one line saying what went wrong; the
/// outcome carries the same line for the access log.
pub fn respond_error(request: tiny_http::Request, error: &crate::error::Error) -> Outcome {
    let mut headers = error.headers();
    headers.push(("Content-Type", "text/plain; charset=utf-8".into()));
    headers.push(("X-Icyproxy-Error", error.reason()));
    let text = error.to_string();
    let mut outcome = respond_small(
        request,
        error.status(),
        format!("{text}\n").into_bytes(),
        &headers,
    );
    outcome.note = Some(text);
    outcome
}

/// Answers with a small in-memory body through tiny_http, always with a
/// `Content-Length` (also for `HEAD`, which sends no body).
pub fn respond_small(
    request: tiny_http::Request,
    status: u16,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
) -> Outcome {
    let length = match request.method() {
        tiny_http::Method::Head => 0,
        _ => body.len() as u64,
    };
    let mut response = tiny_http::Response::from_data(body)
        .with_chunked_threshold(usize::MAX)
        .with_status_code(status);
    let server = [("Server", SERVER.to_owned())];
    for (name, value) in headers.iter().chain(&server) {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    match request.respond(response) {
        Ok(()) => Outcome::new(status, length, None),
        Err(e) => Outcome::new(status, 0, Some(format!("client gone: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_serialisation() {
        let head = ResponseHead {
            status: 206,
            headers: vec![("Content-Type", "audio/webm".into())],
            framing: Framing::Length(10),
        };
        let text = String::from_utf8(head.to_bytes(true)).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 206 Partial Content\r\n"));
        assert!(text.contains("\r\nContent-Type: audio/webm\r\n"));
        assert!(text.ends_with("Content-Length: 10\r\n\r\n"));
        let head = ResponseHead {
            framing: Framing::Close,
            ..head
        };
        let text = String::from_utf8(head.to_bytes(false)).expect("ascii");
        assert!(text.starts_with("HTTP/1.0 206"));
        assert!(text.ends_with("Connection: close\r\n\r\n"));
    }

    #[test]
    fn chunked_body() {
        let mut out = Vec::new();
        let mut w = BodyWriter::new(&mut out, Framing::Chunked);
        w.write_all(b"hello").expect("write");
        w.write_all(b"").expect("write");
        w.write_all(&[b'x'; 17]).expect("write");
        w.finish().expect("finish");
        assert_eq!(
            out,
            [
                b"5\r\nhello\r\n11\r\n".as_slice(),
                &[b'x'; 17],
                b"\r\n0\r\n\r\n"
            ]
            .concat()
        );
    }

    #[test]
    fn framing_choice() {
        assert_eq!(Framing::choose(Some(3), false), Framing::Length(3));
        assert_eq!(Framing::choose(None, true), Framing::Chunked);
        assert_eq!(Framing::choose(None, false), Framing::Close);
    }
}
