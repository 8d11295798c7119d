//! A small local HTTP proxy for the tests: CONNECT tunnels and absolute-form
//! forwarding over plain TCP relays (std threads), recording what it was
//! asked for; or a proxy that refuses or hangs up, to test failures.
//! Included with `#[path = "support/proxy.rs"] mod proxy;`.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How the proxy behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Tunnels CONNECT, forwards absolute-form requests.
    Forward,
    /// Reads the request, then answers this status and closes.
    Refuse(u16),
    /// Reads the request, then closes without a word.
    HangUp,
    /// Reads the request, then says nothing and keeps the connection open
    /// (until the client gives up or the proxy stops).
    Silent,
}

#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<String>>,
    changed: Condvar,
}

/// A running proxy; stops (closing every relay) when dropped.
pub struct Proxy {
    addr: SocketAddr,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts on a free loopback port.
    pub fn start(mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let threads: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let (seen, stop, sockets, threads) =
                (seen.clone(), stop.clone(), sockets.clone(), threads.clone());
            thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    if let Ok(c) = client.try_clone() {
                        sockets.lock().unwrap().push(c);
                    }
                    let (seen, sockets2, threads2) =
                        (seen.clone(), sockets.clone(), threads.clone());
                    let h = thread::spawn(move || serve(client, mode, &seen, &sockets2, &threads2));
                    threads.lock().unwrap().push(h);
                }
            })
        };
        Proxy {
            addr,
            seen,
            stop,
            sockets,
            threads,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request line received, e.g. `CONNECT 127.0.0.1:4242` or
    /// `POST http://127.0.0.1:4242/v2/...`.
    pub fn requests(&self) -> Vec<String> {
        self.seen.requests.lock().unwrap().clone()
    }

    /// Waits until `n` request lines were received.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let seen = self.seen.requests.lock().unwrap();
        let (seen, _) = self
            .seen
            .changed
            .wait_timeout_while(seen, timeout, |s| s.len() < n)
            .unwrap();
        seen.len() >= n
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        for s in self.sockets.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        loop {
            let next = self.threads.lock().unwrap().pop();
            match next {
                Some(h) => {
                    let _ = h.join();
                }
                None => break,
            }
        }
    }
}

/// Reads a request head (up to the blank line) and whatever came with it.
fn read_head(s: &mut TcpStream) -> io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if buf.len() > 64 * 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Shuts a socket down when dropped: the proxy keeps clones of its sockets
/// (to stop them from Drop), so dropping one would not close it.
struct CloseOnDrop(TcpStream);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

fn serve(
    mut client: TcpStream,
    mode: Mode,
    seen: &Seen,
    sockets: &Mutex<Vec<TcpStream>>,
    threads: &Mutex<Vec<JoinHandle<()>>>,
) {
    let _close = client.try_clone().ok().map(CloseOnDrop);
    let Ok((head, rest)) = read_head(&mut client) else {
        return;
    };
    let line = head.lines().next().unwrap_or_default().to_string();
    let mut parts = line.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    {
        let mut s = seen.requests.lock().unwrap();
        s.push(format!("{method} {target}"));
        seen.changed.notify_all();
    }
    match mode {
        Mode::HangUp => return,
        Mode::Silent => {
            let mut sink = [0u8; 1024];
            while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
            return;
        }
        Mode::Refuse(code) => {
            let _ = write!(
                client,
                "HTTP/1.1 {code} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return;
        }
        Mode::Forward => {}
    }
    let (authority, first) = if method == "CONNECT" {
        (target.clone(), None)
    } else {
        // Absolute form: http://host:port/path -> origin form to host:port.
        let Some(after) = target.strip_prefix("http://") else {
            let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        let (authority, path) = match after.find('/') {
            Some(i) => (after[..i].to_string(), after[i..].to_string()),
            None => (after.to_string(), "/".to_string()),
        };
        let mut rewritten = format!("{method} {path} HTTP/1.1\r\n");
        for h in head.lines().skip(1).filter(|l| !l.is_empty()) {
            let name = h.split(':').next().unwrap_or_default().to_ascii_lowercase();
            if name != "connection" && name != "proxy-connection" {
                rewritten.push_str(h);
                rewritten.push_str("\r\n");
            }
        }
        rewritten.push_str("Connection: close\r\n\r\n");
        (authority, Some(rewritten))
    };
    let upstream = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(3)).ok());
    let Some(mut upstream) = upstream else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if let Ok(u) = upstream.try_clone() {
        sockets.lock().unwrap().push(u);
    }
    match first {
        None => {
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .is_err()
            {
                return;
            }
        }
        Some(head) => {
            if upstream.write_all(head.as_bytes()).is_err() {
                return;
            }
        }
    }
    if !rest.is_empty() && upstream.write_all(&rest).is_err() {
        return;
    }
    // Relay both ways until either side closes.
    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let _close_upstream = upstream.try_clone().ok().map(CloseOnDrop);
    let back = thread::spawn(move || {
        let _ = io::copy(&mut u2, &mut c2);
        let _ = c2.shutdown(Shutdown::Write);
    });
    threads.lock().unwrap().push(back);
    let _ = io::copy(&mut client, &mut upstream);
    let _ = upstream.shutdown(Shutdown::Write);
}
