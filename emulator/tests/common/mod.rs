//! A raw HTTP/1.1 client over std sockets, for talking to the emulator exactly.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use lsq_emulator::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, POPUP_PATH};

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The documented example popup.
pub const POPUP: &str = r#"{"SourceNumber":"+91-8611795988","DestinationNumber":"+91-8971373363","DisplayNumber":"+91-8611795989","Direction":"Inbound","CallSessionId":"12345","LeadId":"f5c7e023-653c-11e7-b25c-023cca4497b9","Tag":"Tag - Lead","UserId":"dd908e91-c5c9-11e5-8de3-22000aa5088d"}"#;

/// Percent-encodes everything but unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/v2/...ShowAgentPopup?accessKey=..&secretKey=..` with the default keys.
pub fn target() -> String {
    target_with(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
}

pub fn target_with(ak: &str, sk: &str) -> String {
    format!(
        "{POPUP_PATH}?accessKey={}&secretKey={}",
        encode(ak),
        encode(sk)
    )
}

/// A request's bytes; Content-Length is added when a body is given and no
/// Transfer-Encoding header is.
pub fn raw(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    let chunked = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
    if !body.is_empty() && !chunked {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A well-formed popup request with the default keys in the query.
pub fn popup_request() -> Vec<u8> {
    raw(
        "POST",
        &target(),
        &[("Content-Type", "application/json")],
        POPUP.as_bytes(),
    )
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A connection with a buffered reader.
pub struct Client {
    pub reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        Client {
            reader: BufReader::new(s),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
    }

    /// Reads the head only.
    pub fn read_head(&mut self) -> io::Result<(u16, Vec<(String, String)>)> {
        read_head(&mut self.reader)
    }

    pub fn read_response(&mut self) -> io::Result<Resp> {
        let (status, headers) = self.read_head()?;
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().expect("content-length"))
            .unwrap_or(0);
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body)?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub fn roundtrip(&mut self, bytes: &[u8]) -> Resp {
        self.send(bytes);
        self.read_response().expect("response")
    }

    /// True when the server closed the connection (EOF or reset) before sending anything more.
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        match self.reader.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::TimedOut,
        }
    }
}

pub fn read_head(r: &mut impl BufRead) -> io::Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').expect("header line");
        headers.push((n.to_string(), v.trim().to_string()));
    }
    Ok((status, headers))
}

/// One request on a fresh connection.
pub fn once(addr: SocketAddr, bytes: &[u8]) -> Resp {
    Client::connect(addr).roundtrip(bytes)
}

/// `{path}?accessKey=..&secretKey=..` with the default keys, then `&{extra}` when given.
pub fn keyed(path: &str, extra: &str) -> String {
    let mut t = target().replacen(POPUP_PATH, path, 1);
    if !extra.is_empty() {
        t.push('&');
        t.push_str(extra);
    }
    t
}

/// A GET with the default keys in the query and `extra` after them.
pub fn get(path: &str, extra: &str) -> Vec<u8> {
    raw("GET", &keyed(path, extra), &[], b"")
}

/// A JSON POST with the default keys in the query.
pub fn post(path: &str, body: &str) -> Vec<u8> {
    raw(
        "POST",
        &keyed(path, ""),
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// A GUID made from a number, for test data.
pub fn guid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// Asserts a LeadSquared JSON error answer.
pub fn assert_error(r: &Resp, status: u16, exception_type: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["Status"], "Error", "{v}");
    assert_eq!(v["ExceptionType"], exception_type, "{v}");
    assert!(v["ExceptionMessage"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(v.as_object().unwrap().len(), 3);
}

/// The ExceptionMessage of an error answer.
pub fn message(r: &Resp) -> String {
    r.json()["ExceptionMessage"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}
