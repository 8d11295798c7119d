//! The running emulator: listener, accept loop, one thread per connection, and the handle
//! that tests and the command line use to steer and observe it.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::{ServerConnection, StreamOwned};

use crate::answer;
use crate::check::{self, exception_type, Rejection, Summary};
use crate::config::{limit_message, Config, DOCUMENTED_RATE_LIMIT};
use crate::faults::{self, After, Ctx, Fault};
use crate::http::{Conn, ReadError, Request, Stream};
use crate::log::{redact_query, Received, RequestLog};
use crate::ratelimit::SlidingWindow;

/// Settings that can change while the emulator runs.
struct State {
    rate: Option<SlidingWindow>,
    limit_status: u16,
    retry_after: Option<String>,
    delay: Duration,
    faults: VecDeque<Fault>,
}

/// Everything the connection threads share with the handle.
struct Shared {
    access_key: String,
    secret_key: String,
    quiet: bool,
    idle_timeout: Option<Duration>,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Mutex<State>,
    log: RequestLog,
    stopping: AtomicBool,
    stop_lock: Mutex<()>,
    stop_cv: Condvar,
    next_conn: AtomicU64,
    conns: Mutex<HashMap<u64, Tracked>>,
}

/// An open connection: a handle on its socket (to shut it down) and its thread.
struct Tracked {
    socket: TcpStream,
    thread: JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn stopped(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `d` unless the emulator stops first; true when it is still running.
    fn sleep(&self, d: Duration) -> bool {
        if d.is_zero() {
            return !self.stopped();
        }
        let g = lock(&self.stop_lock);
        let _ = self
            .stop_cv
            .wait_timeout_while(g, d, |_| !self.stopped())
            .unwrap_or_else(|e| e.into_inner());
        !self.stopped()
    }

    fn stop(&self) {
        let _g = lock(&self.stop_lock);
        self.stopping.store(true, Ordering::SeqCst);
        self.stop_cv.notify_all();
    }
}

/// A running LeadSquared stand-in. Dropping it stops it: the listener closes, open
/// connections are shut down, and every thread it started has ended when `drop` returns.
///
/// All methods take `&self`, and the handle is `Send + Sync`: share it with an `Arc`.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    url: String,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").field("url", &self.url).finish()
    }
}

impl Emulator {
    /// Binds `config.bind` and starts serving; the listener is ready when this returns.
    ///
    /// Errors: the address cannot be bound, or the TLS identity is unusable
    /// (`InvalidInput`).
    pub fn start(config: Config) -> io::Result<Emulator> {
        let tls = match &config.tls {
            Some(id) => Some(crate::tls::server_config(id)?),
            None => None,
        };
        if config.limit_status != 429 && config.limit_status != 403 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "limit_status must be 429 or 403",
            ));
        }
        let listener = TcpListener::bind(config.bind)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            access_key: config.access_key,
            secret_key: config.secret_key,
            quiet: config.quiet,
            idle_timeout: config.idle_timeout,
            tls,
            state: Mutex::new(State {
                rate: config.rate_limit.map(|(n, w)| SlidingWindow::new(n, w)),
                limit_status: config.limit_status,
                retry_after: config.retry_after,
                delay: config.delay,
                faults: VecDeque::new(),
            }),
            log: RequestLog::new(config.log_limit),
            stopping: AtomicBool::new(false),
            stop_lock: Mutex::new(()),
            stop_cv: Condvar::new(),
            next_conn: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("lsq-emu-accept".into())
                .spawn(move || accept_loop(listener, shared))?
        };
        let url = url_for(addr, config.tls.is_some());
        Ok(Emulator {
            shared,
            addr,
            url,
            accept: Some(accept),
        })
    }

    /// The base URL to give a client: `http://127.0.0.1:PORT`, or `https://localhost:PORT` in
    /// TLS mode (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets (or with `None` removes) the rate limit of N requests per window W. The sliding
    /// window starts empty.
    pub fn set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        self.shared.state().rate = limit.map(|(n, w)| SlidingWindow::new(n, w));
    }

    /// Sets the status of rate-limit answers: 429 or 403 (anything else is ignored).
    pub fn set_limit_status(&self, status: u16) {
        if status == 429 || status == 403 {
            self.shared.state().limit_status = status;
        }
    }

    /// Sets the `Retry-After` value sent with rate-limit answers (`None`: no header).
    pub fn set_retry_after(&self, value: Option<String>) {
        self.shared.state().retry_after = value;
    }

    /// Sets how long every answer waits before being written.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.state().delay = delay;
    }

    /// Appends a fault to the script: the next request that would succeed gets it instead.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.state().faults.push_back(fault);
    }

    /// Appends several faults, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.state().faults.extend(faults);
    }

    /// Faults not used yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.state().faults.len()
    }

    /// Removes the faults not used yet.
    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    /// Every request recorded so far, oldest first (at most `Config::log_limit` of them).
    pub fn requests(&self) -> Vec<Received> {
        self.shared.log.requests()
    }

    /// How many requests were answered (or dropped by a fault) so far.
    pub fn request_count(&self) -> u64 {
        self.shared.log.count()
    }

    /// How many requests got this status (0 counts `Drop` and `Garbage` faults).
    pub fn count_with_status(&self, status: u16) -> u64 {
        self.shared.log.count_with_status(status)
    }

    /// Waits until at least `n` requests have been recorded, or `timeout` passes; returns
    /// whether they were. Requests are recorded just before their answer is written.
    pub fn wait_for_requests(&self, n: u64, timeout: Duration) -> bool {
        self.shared.log.wait_until(timeout, |total, _| total >= n)
    }

    /// Waits until at least `n` requests got `status`, or `timeout` passes.
    pub fn wait_for_status(&self, status: u16, n: u64, timeout: Duration) -> bool {
        self.shared
            .log
            .wait_until(timeout, |_, by| by.get(&status).copied().unwrap_or(0) >= n)
    }

    /// Forgets the recorded requests and resets the counts.
    pub fn clear_log(&self) {
        self.shared.log.clear();
    }

    /// How many TCP connections were accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.next_conn.load(Ordering::SeqCst)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.stop();
        // Unblock accept() by connecting to ourselves.
        let woke =
            TcpStream::connect_timeout(&wake_addr(self.addr), Duration::from_secs(2)).is_ok();
        if let Some(h) = self.accept.take() {
            if woke {
                let _ = h.join();
            }
        }
        let conns: Vec<_> = lock(&self.shared.conns).drain().map(|(_, v)| v).collect();
        for c in &conns {
            let _ = c.socket.shutdown(Shutdown::Both);
        }
        for c in conns {
            let _ = c.thread.join();
        }
    }
}

fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn url_for(addr: SocketAddr, tls: bool) -> String {
    let ip = wake_addr(addr).ip();
    let host = match ip {
        _ if tls && ip.is_loopback() => "localhost".to_owned(),
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}:{}", addr.port())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for incoming in listener.incoming() {
        if shared.stopped() {
            break;
        }
        let tcp = match incoming {
            Ok(s) => s,
            Err(_) => {
                // Out of descriptors and the like: back off a little instead of spinning.
                shared.sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let Ok(clone) = tcp.try_clone() else { continue };
        let id = shared.next_conn.fetch_add(1, Ordering::SeqCst) + 1;
        let mut conns = lock(&shared.conns);
        let worker = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("lsq-emu-conn-{id}"))
                .spawn(move || {
                    serve(&shared, tcp, id);
                    lock(&shared.conns).remove(&id);
                })
        };
        if let Ok(thread) = worker {
            conns.insert(
                id,
                Tracked {
                    socket: clone,
                    thread,
                },
            );
        }
    }
}

fn serve(shared: &Shared, tcp: TcpStream, id: u64) {
    if let Some(t) = shared.idle_timeout {
        let _ = tcp.set_read_timeout(Some(t));
    }
    let stream = match &shared.tls {
        Some(cfg) => match ServerConnection::new(Arc::clone(cfg)) {
            Ok(c) => Stream::Tls(Box::new(StreamOwned::new(c, tcp))),
            Err(_) => return,
        },
        None => Stream::Plain(tcp),
    };
    let mut conn = Conn::new(stream);
    loop {
        if shared.stopped() {
            return;
        }
        let req = match conn.read_request() {
            Ok(r) => r,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad { status, message }) => {
                conn.out.clear();
                let r = Rejection::new(status, exception_type(status), message);
                answer::error(&mut conn.out, &r, true, false);
                if conn.send_out().is_ok() {
                    conn.close();
                }
                return;
            }
        };
        match handle(shared, &mut conn, req, id) {
            Ok(After::KeepAlive) => continue,
            Ok(After::Close) => return conn.close(),
            Ok(After::Reset) => return conn.reset(),
            Ok(After::Abort) | Err(_) => return,
        }
    }
}

/// The verdict on a request, in the documented order.
enum Verdict {
    Reject(Rejection),
    Accept(Summary, Option<Fault>),
}

/// 404, then 401, then the rate limit, then 400; an accepted request takes the next fault.
fn decide(shared: &Shared, req: &Request) -> Verdict {
    if let Err(r) = check::route(req) {
        return Verdict::Reject(r);
    }
    if let Err(r) = check::authenticate(req, &shared.access_key, &shared.secret_key) {
        return Verdict::Reject(r);
    }
    {
        let mut st = shared.state();
        let (status, retry_after) = (st.limit_status, st.retry_after.clone());
        if let Some(window) = st.rate.as_mut() {
            if window.arrive(Instant::now()) {
                let (n, w) = window.limit();
                let mut r = Rejection::new(status, exception_type(status), limit_message(n, w));
                r.retry_after = retry_after;
                return Verdict::Reject(r);
            }
        }
    }
    match check::body(req) {
        Err(r) => Verdict::Reject(r),
        Ok(summary) => Verdict::Accept(summary, shared.state().faults.pop_front()),
    }
}

fn handle(shared: &Shared, conn: &mut Conn, req: Request, id: u64) -> io::Result<After> {
    let verdict = decide(shared, &req);
    let (status, fault_name) = match &verdict {
        Verdict::Reject(r) => (r.status, None),
        Verdict::Accept(_, Some(f)) => (f.status_code(), Some(f.name())),
        Verdict::Accept(_, None) => (200, None),
    };
    if !shared.quiet {
        print_line(&req, status, &verdict);
    }
    let keep_alive = req.keep_alive;
    let head_only = req.method == "HEAD";
    shared.log.record(Received {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        body: req.body,
        status,
        fault: fault_name,
        connection: id,
        arrived: req.arrived,
    });
    let (delay, limit) = {
        let st = shared.state();
        let limit = st.rate.as_ref().map(|w| w.limit());
        (st.delay, limit.unwrap_or(DOCUMENTED_RATE_LIMIT))
    };
    if !shared.sleep(delay) {
        return Ok(After::Abort);
    }
    let next = if keep_alive {
        After::KeepAlive
    } else {
        After::Close
    };
    conn.out.clear();
    match verdict {
        Verdict::Reject(r) => {
            answer::error(&mut conn.out, &r, !keep_alive, head_only);
            conn.send_out()?;
            Ok(next)
        }
        Verdict::Accept(_, None) => {
            answer::success(&mut conn.out, !keep_alive);
            conn.send_out()?;
            Ok(next)
        }
        Verdict::Accept(_, Some(fault)) => {
            let sleep = |d| shared.sleep(d);
            let ctx = Ctx {
                keep_alive,
                limit,
                sleep: &sleep,
            };
            faults::play(fault, conn, &ctx)
        }
    }
}

/// One console line per request; the keys are never printed.
fn print_line(req: &Request, status: u16, verdict: &Verdict) {
    let mut line = format!("{} {}", clean(&req.method, 16), clean(&req.path, 200));
    if !req.query.is_empty() {
        line.push('?');
        line.push_str(&clean(&redact_query(&req.query), 200));
    }
    line.push_str(&format!(" {status}"));
    match verdict {
        Verdict::Reject(r) => {
            line.push_str(&format!(
                " {}: {}",
                r.exception_type,
                clean(&r.message, 200)
            ));
        }
        Verdict::Accept(s, fault) => {
            line.push_str(&format!(
                " {} -> {} {} LeadId {}",
                clean(&s.source, 64),
                clean(&s.destination, 64),
                clean(&s.direction, 16),
                clean(&s.lead_id, 64)
            ));
            if let Some(f) = fault {
                line.push_str(&format!(" [fault {}]", f.name()));
            }
        }
    }
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Control characters replaced, length capped: request text is untrusted.
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let a: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(url_for(a, false), "http://127.0.0.1:8080");
        assert_eq!(url_for(a, true), "https://localhost:8080");
        let u: SocketAddr = "0.0.0.0:1".parse().unwrap();
        assert_eq!(url_for(u, false), "http://127.0.0.1:1");
        let v6: SocketAddr = "[::1]:2".parse().unwrap();
        assert_eq!(url_for(v6, false), "http://[::1]:2");
    }

    #[test]
    fn clean_strips_controls() {
        assert_eq!(clean("a\r\nb", 10), "a??b");
        assert_eq!(clean("abcdef", 3), "abc...");
    }
}
