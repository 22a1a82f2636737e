use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read};

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::common::{HTTPVersion, Method};
use crate::connections::Slot;
use crate::util::RefinedTcpStream;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // icyproxy patch: the socket, handed to each request
    handle: Option<crate::ConnectionHandle>,

    // true if the connection goes through SSL
    secure: bool,

    // icyproxy patch 11: the request-head deadlines and the cap
    // (connections.rs). `None` for a connection no registry counts.
    slot: Option<Slot>,
    // when the head being awaited must be complete
    deadline: Option<Instant>,
    // the read timeout set on the socket now
    read_timeout: Option<Duration>,
    // a byte of the head being awaited has arrived
    head_started: bool,
    // a request has been handed out (later waits are keep-alive waits)
    served: bool,
}

/// icyproxy patch: a blocking read may overrun the head deadline by this
/// much at most (the socket's read timeout is brought down to what is
/// left whenever it exceeds it by more).
const DEADLINE_SLACK: Duration = Duration::from_millis(50);
const HEAD_DEADLINE: &str = "request head deadline";

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    /// icyproxy patch: a request line or header over the limits (414/431)
    TooLarge(u16),
    ReadIoError(IoError),
}

/// icyproxy patch: the longest request or header line accepted.
const MAX_LINE_BYTES: usize = 16 * 1024;
/// icyproxy patch: the most header lines accepted.
const MAX_HEADERS: usize = 100;
const LINE_TOO_LONG: &str = "line too long";

/// icyproxy patch: an over-long line is `status` (414 or 431); a line
/// that is not ASCII is a `400` (it used to close the connection silently).
fn too_large(e: IoError, status: u16) -> ReadError {
    if e.kind() == ErrorKind::InvalidData && e.to_string() == LINE_TOO_LONG {
        ReadError::TooLarge(status)
    } else if e.kind() == ErrorKind::InvalidInput && e.to_string() == NOT_ASCII {
        ReadError::TooLarge(400)
    } else {
        ReadError::ReadIoError(e)
    }
}

const NOT_ASCII: &str = "Header is not in ASCII";

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
        slot: Option<Slot>,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();

        let handle = read_socket.handle();
        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();
        // icyproxy patch: the first head is due `header_timeout` after the accept.
        let deadline = slot
            .as_ref()
            .and_then(|s| Some(s.accepted() + s.limits().header_timeout?));

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            handle,
            slot,
            deadline,
            read_timeout: None,
            head_started: false,
            served: false,
        }
    }

    /// icyproxy patch: the previous response is complete and the next head
    /// is awaited: for `idle_timeout`, then `header_timeout` from its first
    /// byte. `false`: the connection was closed meanwhile (at the cap, or
    /// its server is gone).
    fn await_head(&mut self) -> bool {
        self.head_started = false;
        if !self.served {
            return true; // the first head's deadline runs from the accept
        }
        match &self.slot {
            Some(slot) => {
                self.deadline = slot.limits().idle_timeout.map(|t| Instant::now() + t);
                slot.waiting()
            }
            None => true,
        }
    }

    /// icyproxy patch: fails once the head deadline has passed, and keeps
    /// the socket's read timeout within `DEADLINE_SLACK` of what is left of
    /// it, so a read that blocks ends near the deadline.
    fn check_deadline(&mut self) -> IoResult<()> {
        let deadline = match self.deadline {
            Some(deadline) => deadline,
            None => return Ok(()),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(IoError::new(ErrorKind::TimedOut, HEAD_DEADLINE));
        }
        if self.read_timeout.map_or(true, |t| t > left + DEADLINE_SLACK) {
            self.set_read_timeout(Some(left));
        }
        Ok(())
    }

    /// icyproxy patch: the first byte of a head. After a keep-alive wait,
    /// the head now has `header_timeout` to be complete.
    fn head_begins(&mut self) {
        self.head_started = true;
        if self.served {
            if let Some(slot) = &self.slot {
                self.deadline = slot.limits().header_timeout.map(|t| Instant::now() + t);
            }
        }
    }

    /// icyproxy patch: the head is complete: no deadline from here on (a
    /// response may stream for minutes while the client sends nothing,
    /// and a read timeout would also end `wait_for_peer_close`'s peek).
    fn head_done(&mut self) {
        self.deadline = None;
        if self.read_timeout.is_some() {
            self.set_read_timeout(None);
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        if let Some(handle) = &self.handle {
            if handle.0.set_read_timeout(timeout).is_ok() {
                self.read_timeout = timeout;
            }
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    fn read_next_line(&mut self) -> IoResult<AsciiString> {
        let mut buf = Vec::new();
        // icyproxy patch: lines were unbounded (a client could grow memory
        // without limit).
        let mut prev_byte_was_cr = false;

        loop {
            // icyproxy patch: the head deadlines (connections.rs).
            self.check_deadline()?;
            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                // a read that hit the socket's read timeout
                Some(Err(e))
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut =>
                {
                    return Err(IoError::new(ErrorKind::TimedOut, HEAD_DEADLINE))
                }
                Some(b) => b?,
                None => return Err(IoError::new(ErrorKind::ConnectionAborted, "Unexpected EOF")),
            };
            if !self.head_started {
                self.head_begins();
            }

            if byte == b'\n' && prev_byte_was_cr {
                buf.pop(); // removing the '\r'
                return AsciiString::from_ascii(buf)
                    .map_err(|_| IoError::new(ErrorKind::InvalidInput, NOT_ASCII));
            }

            prev_byte_was_cr = byte == b'\r';

            if buf.len() >= MAX_LINE_BYTES {
                return Err(IoError::new(ErrorKind::InvalidData, LINE_TOO_LONG));
            }
            buf.push(byte);
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        let (method, path, version, headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = self.read_next_line().map_err(|e| too_large(e, 414))?;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // getting all headers
            let headers = {
                let mut headers = Vec::new();
                loop {
                    let line = self.read_next_line().map_err(|e| too_large(e, 431))?;

                    if line.is_empty() {
                        break;
                    };
                    if headers.len() >= MAX_HEADERS {
                        return Err(ReadError::TooLarge(431));
                    }
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader(version)),
                    });
                }

                headers
            };

            (method, path, version, headers)
        };

        // building the writer for the request
        let writer = self.sink.next().unwrap();

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            self.remote_addr.as_ref().ok().copied().flatten(),
            data_source,
            writer,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
            }
        })?;

        // icyproxy patch: a request whose body may stay unread ends the
        // connection after its response (the body is never drained, see
        // equal_reader.rs); the request gets a handle on its socket.
        let has_body = request.body_length().map_or(false, |n| n > 0)
            || request
                .headers()
                .iter()
                .any(|h| h.field.equiv("Transfer-Encoding"));
        if has_body {
            self.no_more_requests = true;
        }
        let request = request.with_connection(self.handle.clone());

        // return the request
        Ok(request)
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        use crate::{Response, StatusCode};

        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            // icyproxy patch: the thread stays until the last response is
            // complete, so that its connection counts as busy until then
            // and closes right after (connections.rs, Slot's drop).
            self.sink.wait_idle();
            return None;
        }

        loop {
            // icyproxy patch: one request at a time per connection; see
            // SequentialWriterBuilder::wait_idle.
            self.sink.wait_idle();
            // icyproxy patch: closed while its response was written (at
            // the cap, or its server is gone)?
            if !self.await_head() {
                return None;
            }
            let rq = match self.read() {
                Err(ReadError::WrongRequestLine) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(400));
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::WrongHeader(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(400));
                    response.raw_print(writer, ver, &[], false, None).ok();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::ReadIoError(ref err)) if err.kind() == ErrorKind::TimedOut => {
                    // icyproxy patch: a head deadline passed. A head begun
                    // gets its 408; a silent connection (new or idle
                    // between requests) is closed without a word, as a
                    // client reusing it may be sending its next request
                    // right now and would take a 408 for that one's answer.
                    if let Some(slot) = &self.slot {
                        slot.timed_out(self.served && !self.head_started);
                    }
                    if self.head_started {
                        let writer = self.sink.next().unwrap();
                        let response = Response::new_empty(StatusCode(408));
                        response
                            .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                            .ok();
                    }
                    return None; // closing the connection
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(417));
                    response.raw_print(writer, ver, &[], true, None).ok();
                    return None; // TODO: should be recoverable, but needs handling in case of body
                }

                Err(ReadError::TooLarge(status)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(status));
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None; // we don't know where the next request would start
                }

                Err(ReadError::ReadIoError(_)) => return None,

                Ok(rq) => rq,
            };

            // icyproxy patch: a request in progress: no deadline, and not
            // to be closed at the cap. Dropped if the connection was
            // closed meanwhile.
            self.head_done();
            self.served = true;
            if let Some(slot) = &self.slot {
                if !slot.busy() {
                    if let Some(conn) = rq.connection() {
                        conn.shutdown();
                    }
                    return None;
                }
            }

            // checking HTTP version
            if *rq.http_version() > (1, 1) {
                // icyproxy patch: answer through the request's own writer.
                // A second writer waited for the first, which the request
                // only released after that wait: the connection hung.
                let response = Response::from_string(
                    "This server only supports HTTP versions 1.0 and 1.1".to_owned(),
                )
                .with_status_code(StatusCode(505));
                rq.respond(response).ok();
                return None;
            }

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
