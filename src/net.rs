//! The connection layer under ureq for direct (proxy-less) requests.
//!
//! ureq's defaults cost a popup on a warm keep-alive connection far more than
//! the request itself: the target host is resolved before the pool is
//! looked at, on a new thread whenever a timeout is set (so every popup
//! spawned a thread and, for a host name, asked DNS); the request head and
//! body go out in two `send`s (two TCP segments, two wake-ups of the
//! server); every read and write first sets a socket timeout; and every
//! pool probe toggles the socket's blocking mode around its read.
//!
//! Here, with no proxy configured:
//! - [`Dns`] resolves the target once and hands ureq that answer for a
//!   pooled connection, which does not use it; a *new* connection resolves
//!   afresh in [`Direct::connect`], within the same timeouts ureq would
//!   apply, so no connection is ever made to a stale address;
//! - [`Socket`] keeps its socket non-blocking, queues what ureq writes until
//!   ureq waits for input (then head and body leave in one `send`), reads
//!   at once and waits with `poll` for the remaining budget only when
//!   nothing is there yet, and probes with one `recv(MSG_PEEK)`; an
//!   address literal is parsed without ureq's lookup thread.
//!
//! TLS (rustls) wraps [`Socket`] exactly as it wraps ureq's own TCP
//! transport. With a proxy, everything goes through ureq's default
//! connector and resolver, unchanged.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Instant as StdInstant;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use ureq::config::Config;
use ureq::http::uri::{Authority, Scheme};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::time::{Duration, Instant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, RustlsConnector,
    ShutdownHandle, Transport,
};
use ureq::{Agent, Error, Timeout};

/// An agent for `config` with this module's connector and resolver.
pub(crate) fn agent(config: Config) -> Agent {
    let dns = Arc::new(Dns::default());
    let connector = Direct {
        dns: Arc::clone(&dns),
        direct: ().chain(SocketConnector).chain(RustlsConnector::default()),
        default: DefaultConnector::new(),
    };
    Agent::with_parts(config, connector, SharedDns(dns))
}

/// The last resolution of the target, for requests that will find a pooled
/// connection and never use it.
#[derive(Debug, Default)]
struct Dns {
    last: Mutex<Option<Resolved>>,
}

#[derive(Debug)]
struct Resolved {
    scheme: Scheme,
    authority: Authority,
    addrs: ResolvedSocketAddrs,
    /// Resolved for the request now being made: a new connection may use it.
    fresh: bool,
}

impl Dns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Resolved>> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer for a new connection to `uri`: the one resolved for this
    /// very request if there is one, else a fresh resolution.
    fn for_new_connection(
        &self,
        details: &ConnectionDetails<'_>,
    ) -> Result<ResolvedSocketAddrs, Error> {
        {
            let mut last = self.lock();
            if let Some(r) = last.as_mut() {
                if r.fresh && matches(r, details.uri) {
                    r.fresh = false;
                    return Ok(r.addrs.clone());
                }
            }
        }
        let timeout = phase_timeout(details.config, details.now, Timeout::Resolve, details.now);
        let addrs = resolve(details.uri, details.config, timeout)?;
        self.remember(details.uri, &addrs, false);
        Ok(addrs)
    }

    fn remember(&self, uri: &Uri, addrs: &ResolvedSocketAddrs, fresh: bool) {
        if let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) {
            *self.lock() = Some(Resolved {
                scheme: scheme.clone(),
                authority: authority.clone(),
                addrs: addrs.clone(),
                fresh,
            });
        }
    }
}

fn matches(r: &Resolved, uri: &Uri) -> bool {
    uri.scheme() == Some(&r.scheme) && uri.authority() == Some(&r.authority)
}

/// The agent's resolver: the remembered answer when it is for this target.
#[derive(Debug)]
struct SharedDns(Arc<Dns>);

impl Resolver for SharedDns {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        if config.proxy().is_some() {
            return DefaultResolver::default().resolve(uri, config, timeout);
        }
        if let Some(r) = self.0.lock().as_ref() {
            if matches(r, uri) {
                return Ok(r.addrs.clone());
            }
        }
        let addrs = resolve(uri, config, timeout)?;
        self.0.remember(uri, &addrs, true);
        Ok(addrs)
    }
}

/// ureq's resolution, without its lookup thread for an IP address: an
/// address literal is parsed, never looked up, so it cannot time out.
fn resolve(uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, Error> {
    let literal = uri.host().is_some_and(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
    });
    let timeout = if literal {
        NextTimeout {
            after: Duration::NotHappening,
            ..timeout
        }
    } else {
        timeout
    };
    DefaultResolver::default().resolve(uri, config, timeout)
}

/// The timeout ureq gives `phase` (Resolve or Connect) when the call
/// started at `call_start` and the previous phase ended at `phase_start`:
/// the earliest of the phase's own budget, the global one and the per-call one.
fn phase_timeout(
    config: &Config,
    call_start: Instant,
    phase: Timeout,
    phase_start: Instant,
) -> NextTimeout {
    let t = config.timeouts();
    let own = match phase {
        Timeout::Resolve => t.resolve,
        _ => t.connect,
    };
    let candidates = [
        (phase, own, phase_start),
        (Timeout::Global, t.global, call_start),
        (Timeout::PerCall, t.per_call, call_start),
    ];
    let (reason, at) = candidates
        .into_iter()
        .filter_map(|(reason, limit, from)| Some((reason, from + Duration::from(limit?))))
        .min_by(|a, b| a.1.cmp(&b.1))
        .unwrap_or((Timeout::Global, Instant::NotHappening));
    NextTimeout {
        after: until(at),
        reason,
        per_read: config.timeout_per_read().map(Into::into),
        per_write: config.timeout_per_write().map(Into::into),
    }
}

/// The time left until `at`.
fn until(at: Instant) -> Duration {
    match at {
        Instant::Exact(at) => Duration::Exact(at.saturating_duration_since(StdInstant::now())),
        Instant::NotHappening => Duration::NotHappening,
        Instant::AlreadyHappened => Duration::Exact(std::time::Duration::ZERO),
    }
}

/// Direct connections through [`SocketConnector`] (and rustls for https),
/// to a freshly resolved address; anything proxied through ureq's default.
struct Direct<C> {
    dns: Arc<Dns>,
    direct: C,
    default: DefaultConnector,
}

impl<C> fmt::Debug for Direct<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Direct")
    }
}

impl<C> Connector<()> for Direct<C>
where
    C: Connector<()>,
{
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, Error> {
        if details.config.proxy().is_some() {
            return self.default.connect(details, chained);
        }
        let addrs = self.dns.for_new_connection(details)?;
        let resolved_at = Instant::now();
        let fresh = ConnectionDetails {
            uri: details.uri,
            addrs,
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: resolved_at,
            timeout: phase_timeout(details.config, details.now, Timeout::Connect, resolved_at),
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        Ok(self
            .direct
            .connect(&fresh, chained)?
            .map(|t| Box::new(t) as Box<dyn Transport>))
    }
}

/// Opens a [`Socket`]: each resolved address in turn, sharing the connect
/// budget between them as ureq's TCP connector does.
#[derive(Debug)]
struct SocketConnector;

impl Connector<()> for SocketConnector {
    type Out = Socket;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Socket>, Error> {
        let stream = connect_any(details)?;
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        stream.set_nonblocking(true)?;
        let stream = Arc::new(stream);
        (details.register_shutdown)(Arc::downgrade(&stream) as Weak<dyn ShutdownHandle>)?;
        Ok(Some(Socket {
            stream,
            buffers: SocketBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
        }))
    }
}

/// ureq's address walk: address i gets a share 1/2^i of the budget
/// (normalised to sum to it, at least 10 ms); an address-specific failure
/// or a timeout moves on while the budget lasts; any other error stops.
fn connect_any(details: &ConnectionDetails) -> Result<TcpStream, Error> {
    const MIN_PER_ADDRESS: std::time::Duration = std::time::Duration::from_millis(10);
    let timeout = details.timeout;
    let total_weight = 2.0 * (1.0 - 0.5_f64.powi(details.addrs.len() as i32));
    let mut weight = 1.0_f64;
    let mut last_err: Option<Error> = None;
    for addr in &details.addrs {
        let per_addr = (!timeout.after.is_not_happening()).then(|| {
            let secs = timeout.after.as_secs_f64() * weight / total_weight;
            std::time::Duration::from_millis((secs * 1000.0) as u64).max(MIN_PER_ADDRESS)
        });
        match connect_one(*addr, per_addr) {
            Ok(stream) => return Ok(stream),
            Err(Error::Io(e)) if is_addr_specific(&e) => last_err = Some(Error::Io(e)),
            Err(e @ Error::Timeout(_)) => {
                let spent = match ((details.current_time)(), details.now) {
                    (Instant::Exact(now), Instant::Exact(start)) => {
                        now.saturating_duration_since(start)
                    }
                    _ => std::time::Duration::ZERO,
                };
                if Duration::Exact(spent) > timeout.after {
                    return Err(Error::Timeout(timeout.reason));
                }
                last_err = Some(e);
            }
            Err(e) => return Err(e),
        }
        weight /= 2.0;
    }
    Err(last_err.unwrap_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused).into()))
}

fn connect_one(addr: SocketAddr, timeout: Option<std::time::Duration>) -> Result<TcpStream, Error> {
    let stream = match timeout {
        Some(t) if !t.is_zero() => TcpStream::connect_timeout(&addr, t),
        _ => TcpStream::connect(addr),
    };
    stream.map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout(Timeout::Connect),
        _ => e.into(),
    })
}

fn is_addr_specific(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable
    )
}

/// A non-blocking TCP socket whose writes wait for the next read.
struct Socket {
    stream: Arc<TcpStream>,
    buffers: SocketBuffers,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("addr", &self.stream.peer_addr().ok())
            .finish()
    }
}

impl Socket {
    /// Sends everything queued, waiting at most until `deadline`.
    fn flush(&mut self, deadline: Option<StdInstant>, reason: Timeout) -> Result<(), Error> {
        let mut sent = 0;
        while sent < self.buffers.queued {
            match (&*self.stream).write(&self.buffers.output[sent..self.buffers.queued]) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait(PollFlags::OUT, deadline, reason)?
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.buffers.queued = 0;
        Ok(())
    }

    /// Waits until the socket is ready for `events` (or hung up), or fails
    /// with `Timeout(reason)` at `deadline`.
    fn wait(
        &self,
        events: PollFlags,
        deadline: Option<StdInstant>,
        reason: Timeout,
    ) -> Result<(), Error> {
        loop {
            let timeout = match deadline {
                None => None,
                Some(d) => {
                    let left = d.saturating_duration_since(StdInstant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout(reason));
                    }
                    // Whole milliseconds, rounded up: never wake before the deadline and spin.
                    let ms = left.as_nanos().div_ceil(1_000_000);
                    let left =
                        std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
                    Some(Timespec::try_from(left).unwrap_or(Timespec {
                        tv_sec: i64::MAX,
                        tv_nsec: 0,
                    }))
                }
            };
            let mut fds = [PollFd::new(&self.stream, events)];
            match poll(&mut fds, timeout.as_ref()) {
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
        }
    }
}

fn deadline(timeout: NextTimeout) -> Result<Option<StdInstant>, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok((!timeout.after.is_not_happening()).then(|| StdInstant::now() + *timeout.after))
}

impl Transport for Socket {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let deadline = deadline(timeout)?;
        self.buffers.queue(amount);
        // Keep at least half the buffer free for ureq's next write.
        if self.buffers.queued > self.buffers.output.len() / 2 {
            self.flush(deadline, timeout.reason)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        let deadline = deadline(timeout)?;
        self.flush(deadline, timeout.reason)?;
        // Read before waiting, even right after sending: on loopback or with
        // the server on this CPU, its wake-up usually runs it (and its answer
        // arrives) before this thread would reach poll().
        let mut ready = true;
        loop {
            if !ready {
                self.wait(PollFlags::IN, deadline, timeout.reason)?;
            }
            let input = self.buffers.input_append_buf();
            match (&*self.stream).read(input) {
                Ok(n) => {
                    self.buffers.input_appended(n);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => ready = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready = false,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn is_open(&mut self) -> bool {
        // Open means nothing to read: any byte is garbage, EOF or an error is closed.
        matches!(self.stream.peek(&mut [0]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// ureq's buffers, with an output that grows past what is queued.
struct SocketBuffers {
    input_size: usize,
    output_size: usize,
    input: Vec<u8>,
    /// Unconsumed input is `input[consumed..filled]`.
    consumed: usize,
    filled: usize,
    progress: bool,
    output: Vec<u8>,
    /// `output[..queued]` waits to be sent.
    queued: usize,
    /// `output[..written]` has held data: what drop wipes.
    written: usize,
}

impl SocketBuffers {
    fn new(input_size: usize, output_size: usize) -> SocketBuffers {
        SocketBuffers {
            input_size: input_size.max(1),
            output_size: output_size.max(2),
            input: Vec::new(),
            consumed: 0,
            filled: 0,
            progress: false,
            output: Vec::new(),
            queued: 0,
            written: 0,
        }
    }

    fn allocate(&mut self) {
        if self.output.is_empty() {
            // Zeroed by the allocator: pages never written are never touched.
            self.output = vec![0; self.output_size];
        }
        if self.input.is_empty() {
            self.input = vec![0; self.input_size];
        }
    }

    /// Free input space at the end, moving unconsumed bytes to the front.
    fn input_free(&mut self, at_least: usize) -> &mut [u8] {
        self.allocate();
        if self.consumed > 0 {
            self.input.copy_within(self.consumed..self.filled, 0);
            self.filled -= self.consumed;
            self.consumed = 0;
        }
        if self.input.len() - self.filled < at_least {
            self.input.resize(self.filled + at_least, 0);
        }
        &mut self.input[self.filled..]
    }

    /// Marks `amount` more bytes as queued for sending.
    fn queue(&mut self, amount: usize) {
        self.queued += amount;
        self.written = self.written.max(self.queued);
    }
}

impl Drop for SocketBuffers {
    fn drop(&mut self) {
        // The request line carries the keys (query auth): wipe what the
        // connection sent and received when it goes.
        zeroize::Zeroize::zeroize(&mut self.output[..self.written]);
        zeroize::Zeroize::zeroize(&mut self.input);
    }
}

impl Buffers for SocketBuffers {
    fn output(&mut self) -> &mut [u8] {
        self.allocate();
        &mut self.output[self.queued..]
    }

    fn input(&self) -> &[u8] {
        &self.input[self.consumed..self.filled]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.input_free(1)
    }

    fn input_appended(&mut self, amount: usize) {
        self.filled += amount;
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.consumed += amount;
        if self.consumed == self.filled {
            self.consumed = 0;
            self.filled = 0;
        }
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        const MIN_TMP: usize = 10 * 1024;
        self.input_free(MIN_TMP);
        (
            &mut self.input[self.filled..],
            &mut self.output[self.queued..],
        )
    }

    fn can_use_input(&self) -> bool {
        self.filled > self.consumed && self.progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration as StdDuration;

    fn pair() -> (Socket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.set_nonblocking(true).unwrap();
        let socket = Socket {
            stream: Arc::new(client),
            buffers: SocketBuffers::new(1024, 1024),
        };
        (socket, server)
    }

    fn within(ms: u64) -> NextTimeout {
        NextTimeout {
            after: Duration::from_millis(ms),
            reason: Timeout::Global,
            ..NextTimeout::default()
        }
    }

    fn write(socket: &mut Socket, bytes: &[u8]) {
        socket.buffers().output()[..bytes.len()].copy_from_slice(bytes);
        socket.transmit_output(bytes.len(), within(1000)).unwrap();
    }

    #[test]
    fn writes_wait_for_the_next_read_and_leave_together() {
        let (mut socket, mut server) = pair();
        write(&mut socket, b"POST / HTTP/1.1\r\n\r\n");
        write(&mut socket, b"{\"body\":1}");
        server.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 256];
        let nothing = server.read(&mut buf).unwrap_err();
        assert_eq!(
            nothing.kind(),
            io::ErrorKind::WouldBlock,
            "sent before the read"
        );
        server.set_nonblocking(false).unwrap();
        let answer = std::thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < 29 {
                let n = server.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            server.write_all(b"HTTP/1.1 200 OK\r\n").unwrap();
            got
        });
        assert!(socket.await_input(within(5000)).unwrap());
        assert_eq!(socket.buffers().input(), b"HTTP/1.1 200 OK\r\n");
        assert_eq!(
            answer.join().unwrap(),
            b"POST / HTTP/1.1\r\n\r\n{\"body\":1}".to_vec()
        );
    }

    #[test]
    fn a_silent_peer_times_out_with_the_given_reason() {
        let (mut socket, _server) = pair();
        write(&mut socket, b"GET / HTTP/1.1\r\n\r\n");
        let started = StdInstant::now();
        let err = socket.await_input(within(100)).unwrap_err();
        assert!(matches!(err, Error::Timeout(Timeout::Global)), "{err:?}");
        let waited = started.elapsed();
        assert!(waited >= StdDuration::from_millis(100), "{waited:?}");
        assert!(waited < StdDuration::from_secs(2), "{waited:?}");
        let spent = NextTimeout {
            after: Duration::from_millis(0),
            reason: Timeout::RecvBody,
            ..NextTimeout::default()
        };
        assert!(matches!(
            socket.await_input(spent),
            Err(Error::Timeout(Timeout::RecvBody))
        ));
    }

    #[test]
    fn open_means_idle_and_connected() {
        let (mut socket, mut server) = pair();
        assert!(socket.is_open());
        server.write_all(b"x").unwrap();
        std::thread::sleep(StdDuration::from_millis(50));
        assert!(!socket.is_open(), "unread bytes: not reusable");
        let (mut socket, server) = pair();
        drop(server);
        std::thread::sleep(StdDuration::from_millis(50));
        assert!(!socket.is_open(), "closed by the peer");
        assert!(
            !socket.await_input(within(1000)).unwrap(),
            "EOF reads nothing"
        );
    }

    #[test]
    fn large_writes_are_sent_before_the_buffer_fills() {
        let (mut socket, mut server) = pair();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            server.read_to_end(&mut all).unwrap();
            all
        });
        let mut expected = Vec::new();
        for i in 0..100u8 {
            let chunk = [i; 300];
            let room = socket.buffers().output().len();
            assert!(room >= 300, "only {room} bytes free");
            write(&mut socket, &chunk);
            expected.extend_from_slice(&chunk);
        }
        socket.flush(None, Timeout::Global).unwrap();
        drop(socket);
        assert_eq!(reader.join().unwrap(), expected);
    }

    #[test]
    fn the_target_is_resolved_once_per_new_connection() {
        let dns = Arc::new(Dns::default());
        let shared = SharedDns(Arc::clone(&dns));
        let config = Config::default();
        let uri: Uri = "http://127.0.0.1:8080/x".parse().unwrap();
        let addrs = shared.resolve(&uri, &config, within(1000)).unwrap();
        assert_eq!(addrs[0], "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        // The request that just resolved may connect with that answer...
        assert!(dns.lock().as_ref().unwrap().fresh);
        // ...and a later request reuses it without resolving (pooled connection).
        let again = shared.resolve(&uri, &config, within(1000)).unwrap();
        assert_eq!((again.len(), again[0]), (addrs.len(), addrs[0]));
        let other: Uri = "http://127.0.0.1:9090/x".parse().unwrap();
        let addrs = shared.resolve(&other, &config, within(1000)).unwrap();
        assert_eq!(
            addrs[0].port(),
            9090,
            "another target is resolved, not reused"
        );
    }

    #[test]
    fn an_address_literal_is_parsed_without_a_lookup_thread() {
        // An already spent budget: the threaded lookup would time out at once.
        let spent = within(0);
        for (uri, port) in [("http://127.0.0.1:81/", 81), ("https://[::1]:82/", 82)] {
            let uri: Uri = uri.parse().unwrap();
            let addrs = resolve(&uri, &Config::default(), spent).unwrap();
            assert_eq!(addrs[0].port(), port);
        }
    }

    #[test]
    fn phase_timeouts_follow_ureqs_budgets() {
        let config = Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(5)))
            .timeout_connect(Some(std::time::Duration::from_secs(2)))
            .build();
        let now = Instant::now();
        let dns = phase_timeout(&config, now, Timeout::Resolve, now);
        assert_eq!(dns.reason, Timeout::Global);
        assert!(*dns.after <= std::time::Duration::from_secs(5));
        assert!(*dns.after > std::time::Duration::from_secs(4));
        let connect = phase_timeout(&config, now, Timeout::Connect, now);
        assert_eq!(connect.reason, Timeout::Connect);
        assert!(*connect.after <= std::time::Duration::from_secs(2));
        let none = phase_timeout(&Config::default(), now, Timeout::Connect, now);
        assert!(none.after.is_not_happening());
    }
}
