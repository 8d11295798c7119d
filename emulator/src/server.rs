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

use crate::answer::{self, Answer};
use crate::calllog::{CallLog, CallLogs};
use crate::check::{self, exception_type, Rejection};
use crate::config::{Config, DOCUMENTED_RATE_LIMIT};
use crate::data::Data;
use crate::endpoint::{self, Endpoint};
use crate::endpoints::{self, Origin, World};
use crate::faults::{self, After, Ctx, Fault};
use crate::http::{Conn, ReadError, Request, Stream};
use crate::log::{redact_query, Received, RequestLog};
use crate::ratelimit::{is_limit_status, limit_rejection, SlidingWindow};

/// Settings that can change while the emulator runs.
struct State {
    rate: Option<SlidingWindow>,
    limit_status: u16,
    retry_after: Option<String>,
    delay: Duration,
    /// The shared script: taken by any endpoint.
    faults: VecDeque<Fault>,
    /// Per-endpoint scripts: taken first by their endpoint only.
    endpoint_faults: HashMap<Endpoint, VecDeque<Fault>>,
}

impl State {
    /// The fault an accepted request of `endpoint` gets: its own script first, then the
    /// shared one.
    fn take_fault(&mut self, endpoint: Endpoint) -> Option<Fault> {
        self.endpoint_faults
            .get_mut(&endpoint)
            .and_then(VecDeque::pop_front)
            .or_else(|| self.faults.pop_front())
    }
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
    world: World,
    stopping: AtomicBool,
    stop_lock: Mutex<()>,
    stop_cv: Condvar,
    next_conn: AtomicU64,
    conns: Mutex<HashMap<u64, Tracked>>,
    tls_handshakes: AtomicU64,
    tls_resumed: AtomicU64,
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
        if !is_limit_status(config.limit_status) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "limit_status must be 429, 403 or 200",
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
                endpoint_faults: HashMap::new(),
            }),
            log: RequestLog::new(config.log_limit),
            world: World {
                data: Mutex::new(config.data),
                calls: CallLogs::default(),
                account: config.account,
            },
            stopping: AtomicBool::new(false),
            stop_lock: Mutex::new(()),
            stop_cv: Condvar::new(),
            next_conn: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            tls_handshakes: AtomicU64::new(0),
            tls_resumed: AtomicU64::new(0),
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

    /// Sets the status of rate-limit answers: 429, 403, or 200 (the limit reported in a 200
    /// body, see [`Config::limit_status`]); anything else is ignored.
    pub fn set_limit_status(&self, status: u16) {
        if is_limit_status(status) {
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

    /// Appends a fault to the shared script: the next request that would succeed, of any
    /// endpoint whose own script ([`Emulator::push_fault_for`]) is empty, gets it instead.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.state().faults.push_back(fault);
    }

    /// Appends several faults, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.state().faults.extend(faults);
    }

    /// Appends a fault to `endpoint`'s own script: the next request of that endpoint that
    /// would succeed gets it, before any fault of the shared script.
    pub fn push_fault_for(&self, endpoint: Endpoint, fault: Fault) {
        self.push_faults_for(endpoint, [fault]);
    }

    /// Appends several faults to `endpoint`'s own script, in order.
    pub fn push_faults_for(&self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        self.shared
            .state()
            .endpoint_faults
            .entry(endpoint)
            .or_default()
            .extend(faults);
    }

    /// Faults not used yet, in the shared script and every endpoint's.
    pub fn pending_faults(&self) -> usize {
        let st = self.shared.state();
        st.faults.len()
            + st.endpoint_faults
                .values()
                .map(VecDeque::len)
                .sum::<usize>()
    }

    /// Faults not used yet in `endpoint`'s own script.
    pub fn pending_faults_for(&self, endpoint: Endpoint) -> usize {
        self.shared
            .state()
            .endpoint_faults
            .get(&endpoint)
            .map_or(0, VecDeque::len)
    }

    /// Removes the faults not used yet, from every script.
    pub fn clear_faults(&self) {
        let mut st = self.shared.state();
        st.faults.clear();
        st.endpoint_faults.clear();
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
        self.shared.log.wait_until(timeout, |c| c.total >= n)
    }

    /// Waits until at least `n` requests got `status`, or `timeout` passes.
    pub fn wait_for_status(&self, status: u16, n: u64, timeout: Duration) -> bool {
        self.shared.log.wait_until(timeout, |c| {
            c.by_status.get(&status).copied().unwrap_or(0) >= n
        })
    }

    /// Forgets the recorded requests and resets the counts (the call logs stay: see
    /// [`Emulator::clear_call_logs`]).
    pub fn clear_log(&self) {
        self.shared.log.clear();
    }

    /// The requests recorded for `endpoint`, oldest first.
    pub fn requests_for(&self, endpoint: Endpoint) -> Vec<Received> {
        let mut r = self.shared.log.requests();
        r.retain(|r| r.endpoint == Some(endpoint));
        r
    }

    /// How many requests for `endpoint` were answered (whatever the status).
    pub fn count_for(&self, endpoint: Endpoint) -> u64 {
        self.shared.log.count_for(endpoint, None)
    }

    /// How many requests for `endpoint` got `status`.
    pub fn count_for_with_status(&self, endpoint: Endpoint, status: u16) -> u64 {
        self.shared.log.count_for(endpoint, Some(status))
    }

    /// Waits until at least `n` requests for `endpoint` have been recorded, or `timeout`
    /// passes; returns whether they were.
    pub fn wait_for_endpoint(&self, endpoint: Endpoint, n: u64, timeout: Duration) -> bool {
        self.shared
            .log
            .wait_until(timeout, |c| c.for_endpoint(endpoint, None) >= n)
    }

    /// Waits until at least `n` requests for `endpoint` got `status`, or `timeout` passes.
    pub fn wait_for_endpoint_status(
        &self,
        endpoint: Endpoint,
        status: u16,
        n: u64,
        timeout: Duration,
    ) -> bool {
        self.shared
            .log
            .wait_until(timeout, |c| c.for_endpoint(endpoint, Some(status)) >= n)
    }

    /// Every call log accepted so far, in the order accepted (duplicates included).
    pub fn call_logs(&self) -> Vec<CallLog> {
        self.shared.world.calls.all()
    }

    /// How many call logs were accepted so far.
    pub fn call_log_count(&self) -> usize {
        self.shared.world.calls.count()
    }

    /// The call logs accepted with this CallSessionId, in order: more than one is a duplicate
    /// delivery.
    pub fn call_logs_for(&self, call_session_id: &str) -> Vec<CallLog> {
        self.shared.world.calls.for_session(call_session_id)
    }

    /// Waits until at least `n` call logs have been accepted, or `timeout` passes; returns
    /// whether they were. A log is kept before its answer is written.
    pub fn wait_for_call_logs(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .world
            .calls
            .wait_until(timeout, |logs| logs.len() >= n)
    }

    /// Waits until at least `n` call logs with this CallSessionId have been accepted, or
    /// `timeout` passes.
    pub fn wait_for_call_logs_for(
        &self,
        call_session_id: &str,
        n: usize,
        timeout: Duration,
    ) -> bool {
        self.shared.world.calls.wait_until(timeout, |logs| {
            logs.iter()
                .filter(|l| l.call_session_id == call_session_id)
                .count()
                >= n
        })
    }

    /// Forgets the call logs kept.
    pub fn clear_call_logs(&self) {
        self.shared.world.calls.clear();
    }

    /// The leads and users as they are now (the configured ones and those created since).
    pub fn data(&self) -> Data {
        self.shared.world.data().clone()
    }

    /// Replaces the leads and users.
    pub fn set_data(&self, data: Data) {
        *self.shared.world.data() = data;
    }

    /// How many TCP connections were accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.next_conn.load(Ordering::SeqCst)
    }

    /// How many accepted connections are still open (their thread still serving).
    pub fn connections_open(&self) -> usize {
        lock(&self.shared.conns).len()
    }

    /// Waits until `ready(accepted, open)` holds for the connection counts, or `timeout`
    /// passes; returns whether it held. For tests that wait on a condition, not a sleep.
    pub fn wait_for_connections(
        &self,
        timeout: Duration,
        ready: impl Fn(u64, usize) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if ready(self.connections_accepted(), self.connections_open()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// TLS handshakes completed so far (TLS mode), and how many of them resumed an earlier
    /// session (no certificate sent: the client presented a ticket or session id).
    pub fn tls_handshakes(&self) -> (u64, u64) {
        (
            self.shared.tls_handshakes.load(Ordering::SeqCst),
            self.shared.tls_resumed.load(Ordering::SeqCst),
        )
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
            Ok(mut c) => {
                // The handshake first, so it is counted even when no request follows.
                let mut tcp = tcp;
                while c.is_handshaking() {
                    if c.complete_io(&mut tcp).is_err() {
                        return;
                    }
                }
                shared.tls_handshakes.fetch_add(1, Ordering::SeqCst);
                if c.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                    shared.tls_resumed.fetch_add(1, Ordering::SeqCst);
                }
                Stream::Tls(Box::new(StreamOwned::new(c, tcp)))
            }
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
    Reject(Option<Endpoint>, Rejection),
    Accept {
        endpoint: Endpoint,
        summary: String,
        fault: Option<Fault>,
        /// The endpoint's answer; empty when a fault that does not commit replaced it.
        answer: Answer,
    },
}

impl Verdict {
    fn status(&self) -> u16 {
        match self {
            Verdict::Reject(_, r) => r.status,
            Verdict::Accept { fault: Some(f), .. } if !f.answers_normally() => f.status_code(),
            Verdict::Accept { answer, .. } => answer.status,
        }
    }
}

/// 404, then 401, then the rate limit (one window over every endpoint: the account's
/// budget), then the endpoint's 400 checks; an accepted request takes the next fault of its
/// endpoint's script, else of the shared one, and is performed unless the fault replaces it.
fn decide(shared: &Shared, req: &Request, id: u64) -> Verdict {
    let endpoint = match endpoint::route(req) {
        Ok(e) => e,
        Err(r) => return Verdict::Reject(None, r),
    };
    if let Err(r) = check::authenticate(req, &shared.access_key, &shared.secret_key) {
        return Verdict::Reject(Some(endpoint), r);
    }
    {
        let mut st = shared.state();
        let (status, retry_after) = (st.limit_status, st.retry_after.clone());
        if let Some(window) = st.rate.as_mut() {
            if window.arrive(Instant::now()) {
                let r = limit_rejection(status, window.limit(), retry_after);
                return Verdict::Reject(Some(endpoint), r);
            }
        }
    }
    let parsed = match endpoints::parse(endpoint, req) {
        Ok(p) => p,
        Err(r) => return Verdict::Reject(Some(endpoint), r),
    };
    let summary = parsed.summary();
    let fault = shared.state().take_fault(endpoint);
    let answer = if fault.as_ref().is_none_or(Fault::commits) {
        let origin = Origin {
            connection: id,
            arrived: req.arrived,
        };
        parsed.perform(&shared.world, origin)
    } else {
        Answer::default()
    };
    Verdict::Accept {
        endpoint,
        summary,
        fault,
        answer,
    }
}

fn handle(shared: &Shared, conn: &mut Conn, req: Request, id: u64) -> io::Result<After> {
    let verdict = decide(shared, &req, id);
    let status = verdict.status();
    let (endpoint, fault_name) = match &verdict {
        Verdict::Reject(e, _) => (*e, None),
        Verdict::Accept {
            endpoint, fault, ..
        } => (Some(*endpoint), fault.as_ref().map(Fault::name)),
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
        endpoint,
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
        Verdict::Reject(_, r) => {
            answer::error(&mut conn.out, &r, !keep_alive, head_only);
            conn.send_out()?;
            Ok(next)
        }
        Verdict::Accept {
            fault: None,
            answer,
            ..
        } => {
            answer.write(&mut conn.out, !keep_alive);
            conn.send_out()?;
            Ok(next)
        }
        Verdict::Accept {
            fault: Some(fault),
            answer,
            ..
        } => {
            let sleep = |d| shared.sleep(d);
            let ctx = Ctx {
                keep_alive,
                limit,
                sleep: &sleep,
                answer: &answer,
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
        Verdict::Reject(_, r) => {
            line.push_str(&format!(
                " {}: {}",
                r.exception_type,
                clean(&r.message, 200)
            ));
        }
        Verdict::Accept {
            summary,
            fault,
            answer,
            ..
        } => {
            line.push_str(summary);
            line.push_str(&answer.note);
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
pub(crate) fn clean(s: &str, max: usize) -> String {
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
