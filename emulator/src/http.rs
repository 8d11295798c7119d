//! HTTP/1.1 on one connection: reading requests (httparse for the head, Content-Length or
//! chunked bodies) and writing responses by hand into a reusable buffer.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

use rustls::{ServerConnection, StreamOwned};

/// Largest request head accepted (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// Most headers in one request.
const MAX_HEADERS: usize = 64;

/// The connection's byte stream: plain TCP or TLS over TCP.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Stream {
    /// The TCP socket underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A request as read off the wire.
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the connection may carry another request after this one.
    pub(crate) keep_alive: bool,
    pub(crate) arrived: Instant,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request could be read.
pub(crate) enum ReadError {
    /// The peer closed (or the socket failed) between requests, or mid-request.
    Closed,
    /// The request is not acceptable HTTP: answer `status` with `message`, then close.
    Bad { status: u16, message: &'static str },
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Closed
    }
}

fn bad(status: u16, message: &'static str) -> ReadError {
    ReadError::Bad { status, message }
}

/// One connection with its read buffer and a reusable output buffer.
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Response bytes are assembled here, then written with one call.
    pub(crate) out: Vec<u8>,
}

impl Conn {
    pub(crate) fn new(stream: Stream) -> Self {
        Conn {
            stream,
            buf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
            out: Vec::with_capacity(1024),
        }
    }

    /// Reads more bytes into the buffer; returns how many (0 at end of stream).
    fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let len = self.buf.len() * 2;
                self.buf.resize(len, 0);
            }
        }
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the next request. `Closed` right away when the peer closed between requests.
    pub(crate) fn read_request(&mut self) -> Result<Request, ReadError> {
        let (mut req, body) = loop {
            if self.start < self.end {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut parsed = httparse::Request::new(&mut headers);
                match parsed.parse(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete(n)) => {
                        let head = owned_head(&parsed)?;
                        self.start += n;
                        break head;
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(httparse::Error::TooManyHeaders) => {
                        return Err(bad(431, "Too many request headers"))
                    }
                    Err(_) => return Err(bad(400, "Malformed HTTP request")),
                }
                if self.end - self.start >= MAX_HEAD {
                    return Err(bad(431, "Request head too large"));
                }
            }
            if self.fill()? == 0 {
                return Err(ReadError::Closed);
            }
        };
        if body != BodyKind::None && expects_continue(&req) {
            self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            self.stream.flush()?;
        }
        req.body = match body {
            BodyKind::None => Vec::new(),
            BodyKind::Length(n) => self.read_exact_body(n)?,
            BodyKind::Chunked => self.read_chunked()?,
        };
        req.arrived = Instant::now();
        Ok(req)
    }

    fn read_exact_body(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::with_capacity(n);
        let have = (self.end - self.start).min(n);
        body.extend_from_slice(&self.buf[self.start..self.start + have]);
        self.start += have;
        if body.len() < n {
            body.resize(n, 0);
            self.stream.read_exact(&mut body[have..])?;
        }
        Ok(body)
    }

    /// Reads one line ending in CRLF (or LF), without the line end.
    fn read_line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(i) = self.buf[self.start..self.end]
                .iter()
                .position(|&b| b == b'\n')
            {
                let mut line = self.buf[self.start..self.start + i].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.start += i + 1;
                return Ok(line);
            }
            if self.end - self.start > 4096 {
                return Err(bad(400, "Chunk line too long"));
            }
            if self.fill()? == 0 {
                return Err(ReadError::Closed);
            }
        }
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let size_part = line.split(|&b| b == b';').next().unwrap_or(&[]);
            let size_str = std::str::from_utf8(size_part)
                .map_err(|_| bad(400, "Malformed chunk size"))?
                .trim();
            let size = usize::from_str_radix(size_str, 16)
                .map_err(|_| bad(400, "Malformed chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.read_line()?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_BODY {
                return Err(bad(413, "Request body too large"));
            }
            let chunk = self.read_exact_body(size)?;
            body.extend_from_slice(&chunk);
            if !self.read_line()?.is_empty() {
                return Err(bad(400, "Malformed chunk"));
            }
        }
    }

    /// Writes `self.out` and flushes.
    pub(crate) fn send_out(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.out)?;
        self.stream.flush()
    }

    /// Writes raw bytes and flushes.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// A polite close: TLS close_notify, then FIN, then a short lingering read so that bytes
    /// the client still sends do not turn the close into a reset that could destroy the
    /// answer in flight.
    pub(crate) fn close(mut self) {
        if let Stream::Tls(s) = &mut self.stream {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let tcp = self.stream.tcp();
        let _ = tcp.shutdown(Shutdown::Write);
        let _ = tcp.set_read_timeout(Some(std::time::Duration::from_millis(200)));
        let mut sink = [0u8; 4096];
        let mut left = 256 * 1024usize;
        let mut tcp: &TcpStream = tcp;
        while left > 0 {
            match tcp.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }

    /// An abortive close: RST instead of FIN (SO_LINGER with a zero timeout).
    pub(crate) fn reset(self) {
        set_linger_zero(self.stream.tcp());
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum BodyKind {
    None,
    Length(usize),
    Chunked,
}

fn owned_head(p: &httparse::Request<'_, '_>) -> Result<(Request, BodyKind), ReadError> {
    let method = p.method.unwrap_or("").to_owned();
    let target = p.path.unwrap_or("");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target.to_owned(), String::new()),
    };
    let http10 = p.version == Some(0);
    let mut headers = Vec::with_capacity(p.headers.len());
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut close = http10;
    for h in p.headers.iter() {
        let value = String::from_utf8_lossy(h.value).into_owned();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n: usize = value
                .trim()
                .parse()
                .map_err(|_| bad(400, "Malformed Content-Length"))?;
            if length.is_some_and(|m| m != n) {
                return Err(bad(400, "Conflicting Content-Length headers"));
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.trim().eq_ignore_ascii_case("chunked") {
                return Err(bad(501, "Only chunked Transfer-Encoding is supported"));
            }
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                    close = false;
                }
            }
        }
        headers.push((h.name.to_owned(), value));
    }
    let body = match (chunked, length) {
        (true, Some(_)) => {
            return Err(bad(
                400,
                "Both Content-Length and Transfer-Encoding were sent",
            ))
        }
        (true, None) => BodyKind::Chunked,
        (false, Some(n)) if n > MAX_BODY => return Err(bad(413, "Request body too large")),
        (false, Some(0)) | (false, None) => BodyKind::None,
        (false, Some(n)) => BodyKind::Length(n),
    };
    let req = Request {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
        keep_alive: !close,
        arrived: Instant::now(),
    };
    Ok((req, body))
}

fn expects_continue(req: &Request) -> bool {
    req.header("expect")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
}

/// Sets SO_LINGER {on, 0} so that closing the socket sends RST.
pub(crate) fn set_linger_zero(tcp: &TcpStream) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid open socket descriptor and a correctly sized, initialised option value.
        unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tcp.shutdown(Shutdown::Both);
    }
}

/// The reason phrase for a status code ("" when unknown: still valid HTTP).
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Appends a status line and headers, ending with the blank line.
///
/// `Content-Length` is added unless `headers` has one or `content_length` is `None`;
/// `Connection: close` is added when `close` and `headers` has no `Connection`.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
    content_length: Option<usize>,
    close: bool,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_num(out, status as usize);
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_length = false;
    let mut has_connection = false;
    for (n, v) in headers {
        has_length |= n.eq_ignore_ascii_case("content-length");
        has_connection |= n.eq_ignore_ascii_case("connection");
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let (false, Some(len)) = (has_length, content_length) {
        out.extend_from_slice(b"Content-Length: ");
        push_num(out, len);
        out.extend_from_slice(b"\r\n");
    }
    if close && !has_connection {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a decimal number without allocating.
pub(crate) fn push_num(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_well_formed() {
        let mut out = Vec::new();
        write_head(
            &mut out,
            404,
            &[("Content-Type", "application/json")],
            Some(12),
            true,
        );
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn numbers() {
        let mut out = Vec::new();
        push_num(&mut out, 0);
        out.push(b' ');
        push_num(&mut out, 10_485_760);
        assert_eq!(out, b"0 10485760");
    }
}
