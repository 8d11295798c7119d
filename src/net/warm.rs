//! Warm connections: a library thread keeps `warm_connections` connections
//! to the target open and ready (TCP and, for https, the TLS handshake; never
//! an HTTP request, so no API budget is spent), and [`Direct`] hands one to
//! ureq before it would dial. ureq then keeps it in its pool as any other.
//!
//! - **When**: as soon as the client is made (on this thread, never the
//!   caller's), whenever a request took one, and whenever the server closes
//!   a parked one (its socket turns readable: EOF, a reset or an alert).
//! - **Ahead of the server**: once the server has closed a parked
//!   connection after it sat idle for `L`, each parked connection is
//!   replaced when it is `L` less a margin old (a fifth of `L`, at least
//!   three handshakes), so a popup never finds the slot empty while the
//!   replacement is being opened.
//! - **Resumption**: the warmer wraps its sockets with the agent's own
//!   [`RustlsConnector`], so they share one rustls `ClientConfig` and its
//!   session cache: every connection after the first resumes the TLS
//!   session where the server allows it. The TLS 1.3 session tickets that
//!   arrive after the handshake are read by the warmer (they make the
//!   socket readable; see [`still_open`]).
//! - **Failures**: a connect, resolve or handshake failure, or a parked
//!   connection the server closes within [`SHORT_LIVED`] of opening, backs
//!   off (250 ms doubling to 30 s, jittered: `retry::WARM`) and is logged once
//!   per outage, not per attempt; the outage ends (one log line) when a
//!   connection proves healthy: it lived past [`SHORT_LIVED`], a request
//!   used it, or a request's own dial succeeded (which also retries at once).
//! - **Stop**: [`Warmer::stop`] wakes the thread from any wait (its polls
//!   include a wake socket; a handshake in progress is shut down) and joins
//!   it; parked connections are closed.
//!
//! With a proxy the warmer is not started (see `transport.rs`).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs};
use ureq::unversioned::transport::time::{Duration, Instant};
use ureq::unversioned::transport::{
    ConnectionDetails, NextTimeout, RustlsConnector, ShutdownHandle, Transport,
};
use ureq::{Error, Timeout};

use super::connect::{socket_on, with_tls};
use super::errors::{dns_failure, map_error, Target};
use crate::log::{Level, Logger};
use crate::retry;
use crate::threads::{LibraryThread, Threads};

/// A parked connection closed by the server sooner than this after it was
/// opened is a failure (the server refuses warm connections), not an idle close.
pub(crate) const SHORT_LIVED: StdDuration = StdDuration::from_millis(250);
/// How long a probe of a readable parked socket waits for more bytes.
/// (Reaching the socket through rustls and ureq's adapter takes over a
/// millisecond in a debug build: the probe must outlast that.)
const PROBE: StdDuration = StdDuration::from_millis(20);

/// What the warmer and the connector share: the parked connections.
pub(crate) struct Warm {
    target: Uri,
    state: Mutex<State>,
    /// Written to wake the warmer (a connection taken, a dial, stop).
    wake_tx: UnixStream,
}

#[derive(Default)]
struct State {
    /// Oldest first.
    parked: Vec<Parked>,
    stopping: bool,
    /// The socket whose handshake is under way: stop shuts it down.
    opening: Option<Arc<TcpStream>>,
    /// A request took a parked connection or dialled the host itself.
    healthy: bool,
}

struct Parked {
    transport: Box<dyn Transport>,
    /// The socket under `transport`, to poll.
    stream: Arc<TcpStream>,
    opened: StdInstant,
}

impl Warm {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self) {
        // Non-blocking: a full socket already holds a wake-up.
        let _ = (&self.wake_tx).write(&[1]);
    }

    /// A parked connection for `uri`'s target with nothing to read (so not
    /// closed by the server as far as can be seen), with its socket (to
    /// register for shutdown); the newest first.
    pub(super) fn take(&self, uri: &Uri) -> Option<(Box<dyn Transport>, Arc<TcpStream>)> {
        if uri.scheme() != self.target.scheme() || uri.authority() != self.target.authority() {
            return None;
        }
        loop {
            let parked = {
                let mut state = self.lock();
                let parked = state.parked.pop()?;
                state.healthy = true;
                parked
            };
            self.wake();
            // Readable: closed by the server (or, rarely, session tickets
            // the warmer has not read yet): not worth a probe on the
            // request's time; the warmer replaces it.
            if !readable(&parked.stream) {
                return Some((parked.transport, parked.stream));
            }
        }
    }

    /// A request dialled the host itself and got through.
    pub(super) fn dialled(&self) {
        self.lock().healthy = true;
        self.wake();
    }

    fn stopping(&self) -> bool {
        self.lock().stopping
    }
}

/// The warmer thread's handle: [`Warmer::stop`] (or drop) stops and joins it.
pub(crate) struct Warmer {
    warm: Arc<Warm>,
    thread: Mutex<Option<LibraryThread>>,
}

/// What the warmer needs besides [`Warm`].
pub(super) struct Spec {
    pub(super) count: usize,
    pub(super) target: Uri,
    pub(super) tls: Arc<RustlsConnector>,
    pub(super) config: Config,
    pub(super) logger: Logger,
    pub(super) threads: Threads,
    pub(super) names: Target,
}

impl Warmer {
    /// The shared state for the connector, and a warmer filling it; `None`
    /// (no warming, logged) when the wake socket or the thread cannot be made.
    pub(super) fn start(spec: Spec) -> Option<(Arc<Warm>, Warmer)> {
        let (wake_tx, wake_rx) = match UnixStream::pair() {
            Ok(pair) => pair,
            Err(e) => {
                spec.logger.log(Level::Warn, || {
                    format!("warm connections: off (no wake socket: {e})")
                });
                return None;
            }
        };
        if wake_tx.set_nonblocking(true).is_err() || wake_rx.set_nonblocking(true).is_err() {
            return None;
        }
        let warm = Arc::new(Warm {
            target: spec.target.clone(),
            state: Mutex::new(State::default()),
            wake_tx,
        });
        let logger = spec.logger.clone();
        let threads = spec.threads.clone();
        let mut worker = Worker {
            warm: Arc::clone(&warm),
            wake_rx,
            spec,
        };
        // A bug here must not end more than warming.
        match threads.start_once(
            "lsq-warm",
            "the warm-connection keeper (warming is now off)",
            move || worker.run(),
            || {},
        ) {
            Ok(thread) => Some((
                Arc::clone(&warm),
                Warmer {
                    warm,
                    thread: Mutex::new(Some(thread)),
                },
            )),
            Err(e) => {
                logger.log(Level::Warn, || format!("warm connections: off ({e})"));
                None
            }
        }
    }

    /// Stops the warmer: interrupts any wait or handshake, closes the parked
    /// connections and joins the thread. Idempotent.
    pub(crate) fn stop(&self) {
        let opening = {
            let mut state = self.warm.lock();
            state.stopping = true;
            state.opening.take()
        };
        if let Some(stream) = opening {
            ShutdownHandle::shutdown(&*stream);
        }
        self.warm.wake();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            thread.join();
        }
        let parked = std::mem::take(&mut self.warm.lock().parked);
        drop(parked);
    }
}

impl Drop for Warmer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The warmer thread.
struct Worker {
    warm: Arc<Warm>,
    wake_rx: UnixStream,
    spec: Spec,
}

/// Failures in a row and what they mean for the next attempt.
struct Health {
    failures: u32,
    retry_at: StdInstant,
    /// An outage was logged and has not ended yet.
    logged: bool,
}

impl Worker {
    fn run(&mut self) {
        let mut health = Health {
            failures: 0,
            retry_at: StdInstant::now(),
            logged: false,
        };
        // How long the server let a parked connection sit idle, once seen.
        let mut idle_life: Option<StdDuration> = None;
        let mut handshake = StdDuration::ZERO;
        self.spec.logger.log(Level::Debug, || {
            format!(
                "warm connections: keeping {} open to {}",
                self.spec.count, self.spec.names.host_port
            )
        });
        loop {
            let now = StdInstant::now();
            let (count, oldest, streams) = {
                let mut state = self.warm.lock();
                if state.stopping {
                    break;
                }
                if std::mem::take(&mut state.healthy) {
                    self.recovered(&mut health);
                }
                let oldest = state.parked.first().map(|p| p.opened);
                let streams: Vec<Arc<TcpStream>> =
                    state.parked.iter().map(|p| Arc::clone(&p.stream)).collect();
                (state.parked.len(), oldest, streams)
            };
            if health.failures > 0 && oldest.is_some_and(|o| now >= o + SHORT_LIVED) {
                self.recovered(&mut health);
            }
            let refresh_at = match (idle_life, oldest) {
                (Some(life), Some(opened)) if count >= self.spec.count => {
                    refresh_age(life, handshake).map(|age| opened + age)
                }
                _ => None,
            };
            let due = count < self.spec.count || refresh_at.is_some_and(|t| now >= t);
            if due && now >= health.retry_at {
                drop(streams);
                let started = StdInstant::now();
                match self.open() {
                    Ok(parked) => {
                        handshake = started.elapsed();
                        self.spec.logger.log(Level::Debug, || {
                            format!(
                                "warm connections: one ready to {} ({} ms)",
                                self.spec.names.host_port,
                                handshake.as_millis()
                            )
                        });
                        let mut state = self.warm.lock();
                        if state.stopping {
                            break;
                        }
                        state.parked.push(parked);
                        if state.parked.len() > self.spec.count {
                            // A refresh: the oldest goes, before the server closes it.
                            let old = state.parked.remove(0);
                            drop(state);
                            drop(old);
                        }
                    }
                    Err(e) => {
                        if self.warm.stopping() {
                            break;
                        }
                        let reason = map_error(e, &self.spec.names);
                        self.failed(&mut health, || reason.message().to_string());
                    }
                }
                continue;
            }
            // Wait for a parked socket to turn readable, a wake-up, or the next due time.
            let mut wake_at = None;
            if due {
                wake_at = Some(health.retry_at);
            } else if let Some(t) = refresh_at {
                wake_at = Some(t.max(health.retry_at));
            }
            if health.failures > 0 {
                if let Some(o) = oldest {
                    wake_at = Some(wake_at.map_or(o + SHORT_LIVED, |w| w.min(o + SHORT_LIVED)));
                }
            }
            let readable = self.wait(&streams, wake_at);
            drop(streams);
            for stream in readable {
                if let Some(lived) = self.check(&stream) {
                    if lived >= SHORT_LIVED {
                        idle_life = Some(lived);
                        self.recovered(&mut health);
                    } else {
                        self.failed(&mut health, || {
                            format!(
                                "{} closed a warm connection {} ms after it was opened",
                                self.spec.names.host_port,
                                lived.as_millis()
                            )
                        });
                    }
                }
            }
        }
        let parked = std::mem::take(&mut self.warm.lock().parked);
        drop(parked);
    }

    fn failed(&self, health: &mut Health, reason: impl FnOnce() -> String) {
        health.failures = health.failures.saturating_add(1);
        health.retry_at = StdInstant::now() + retry::WARM.delay(health.failures);
        if !health.logged {
            health.logged = true;
            self.spec.logger.log(Level::Warn, || {
                format!(
                    "warm connections: {}; retrying in the background, at most every {} s",
                    reason(),
                    retry::WARM.cap().as_secs()
                )
            });
        }
    }

    fn recovered(&self, health: &mut Health) {
        health.failures = 0;
        health.retry_at = StdInstant::now();
        if std::mem::take(&mut health.logged) {
            self.spec.logger.log(Level::Info, || {
                format!(
                    "warm connections: {} reachable again",
                    self.spec.names.host_port
                )
            });
        }
    }

    /// Waits until one of `streams` is readable, the wake socket is, or
    /// `until`; returns the readable streams.
    fn wait(&self, streams: &[Arc<TcpStream>], until: Option<StdInstant>) -> Vec<Arc<TcpStream>> {
        let mut fds = Vec::with_capacity(streams.len() + 1);
        fds.push(PollFd::new(&self.wake_rx, PollFlags::IN));
        for s in streams {
            fds.push(PollFd::new(&**s, PollFlags::IN));
        }
        let timeout = until.map(|u| timespec(u.saturating_duration_since(StdInstant::now())));
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => {
                // Cannot happen with valid descriptors; never spin on it.
                thread::sleep(StdDuration::from_millis(100));
            }
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        if ready[0] {
            self.drain_wake();
        }
        streams
            .iter()
            .zip(&ready[1..])
            .filter(|(_, r)| **r)
            .map(|(s, _)| Arc::clone(s))
            .collect()
    }

    fn drain_wake(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
    }

    /// Checks a parked connection whose socket turned readable: `None` if
    /// it is still open (or no longer parked), else how long it lived.
    fn check(&self, stream: &Arc<TcpStream>) -> Option<StdDuration> {
        let mut parked = {
            let mut state = self.warm.lock();
            let i = state
                .parked
                .iter()
                .position(|p| Arc::ptr_eq(&p.stream, stream))?;
            state.parked.remove(i)
        };
        if still_open(&mut *parked.transport) {
            let mut state = self.warm.lock();
            let at = state
                .parked
                .iter()
                .position(|p| p.opened > parked.opened)
                .unwrap_or(state.parked.len());
            state.parked.insert(at, parked);
            None
        } else {
            Some(parked.opened.elapsed())
        }
    }

    /// Opens one connection: resolve, TCP, TLS; within `connect_timeout_ms`.
    fn open(&self) -> Result<Parked, Error> {
        let started = StdInstant::now();
        let budget = self
            .spec
            .config
            .timeouts()
            .connect
            .unwrap_or(StdDuration::from_secs(30));
        let deadline = started + budget;
        let addrs = self.resolve(deadline)?;
        let mut last = None;
        for (i, addr) in addrs.iter().enumerate() {
            let left = deadline.saturating_duration_since(StdInstant::now());
            let share = left / u32::try_from(addrs.len() - i).unwrap_or(1);
            match self.connect(*addr, StdInstant::now() + share) {
                Ok(stream) => return self.handshake(stream, deadline),
                Err(e) => last = Some(e),
            }
            if self.warm.stopping() {
                break;
            }
        }
        Err(last.unwrap_or(Error::Timeout(Timeout::Connect)))
    }

    fn resolve(&self, deadline: StdInstant) -> Result<Vec<SocketAddr>, Error> {
        let uri = &self.spec.target;
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("http") => 80,
            _ => 443,
        });
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        // getaddrinfo cannot be interrupted: it runs on a thread of its own,
        // and the warmer waits for it in slices so that stop is never held up.
        let (tx, rx) = mpsc::channel();
        let lookup = self
            .spec
            .threads
            .start_once(
                "lsq-warm-dns",
                "a warm connection's DNS lookup",
                move || {
                    let _ = tx.send((host.as_str(), port).to_socket_addrs().map(Vec::from_iter));
                },
                || {},
            )
            .map_err(|e| Error::Io(io::Error::other(e.message().to_string())))?;
        // Joined once it answered (it is then ending); left to end by
        // itself when the warmer stops or gives up first.
        let answered = |r| {
            lookup.join();
            r
        };
        loop {
            if self.warm.stopping() {
                return Err(stopped());
            }
            let left = deadline.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Err(Error::Timeout(Timeout::Resolve));
            }
            match rx.recv_timeout(left.min(StdDuration::from_millis(50))) {
                Ok(Ok(addrs)) if !addrs.is_empty() => return answered(Ok(addrs)),
                Ok(Ok(_)) => return answered(Err(Error::HostNotFound)),
                Ok(Err(e)) => return answered(Err(dns_failure(Error::Io(e)))),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return answered(Err(Error::HostNotFound))
                }
            }
        }
    }

    /// A non-blocking TCP connect to `addr`, waiting on the socket and the
    /// wake socket until `deadline`.
    fn connect(&self, addr: SocketAddr, deadline: StdInstant) -> Result<TcpStream, Error> {
        let family = if addr.is_ipv4() {
            AddressFamily::INET
        } else {
            AddressFamily::INET6
        };
        let fd = rustix::net::socket_with(
            family,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )
        .map_err(io::Error::from)?;
        match rustix::net::connect(&fd, &addr) {
            Ok(()) => return Ok(TcpStream::from(fd)),
            Err(Errno::INPROGRESS) | Err(Errno::INTR) => {}
            Err(e) => return Err(io::Error::from(e).into()),
        }
        loop {
            if self.warm.stopping() {
                return Err(stopped());
            }
            let left = deadline.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Err(Error::Timeout(Timeout::Connect));
            }
            let mut fds = [
                PollFd::new(&fd, PollFlags::OUT),
                PollFd::new(&self.wake_rx, PollFlags::IN),
            ];
            match poll(&mut fds, Some(&timespec(left))) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
            let (connected, woken) = (!fds[0].revents().is_empty(), !fds[1].revents().is_empty());
            if woken {
                self.drain_wake();
            }
            if connected {
                break;
            }
        }
        match rustix::net::sockopt::socket_error(&fd) {
            Ok(Ok(())) => Ok(TcpStream::from(fd)),
            Ok(Err(e)) | Err(e) => Err(io::Error::from(e).into()),
        }
    }

    /// TLS over a connected socket (https), exactly as a request would.
    fn handshake(&self, stream: TcpStream, deadline: StdInstant) -> Result<Parked, Error> {
        if self.spec.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let stream = Arc::new(stream);
        {
            let mut state = self.warm.lock();
            if state.stopping {
                return Err(stopped());
            }
            state.opening = Some(Arc::clone(&stream));
        }
        let peer = stream.peer_addr()?;
        let left = deadline.saturating_duration_since(StdInstant::now());
        let resolver = DefaultResolver::default();
        let details = ConnectionDetails {
            uri: &self.spec.target,
            addrs: {
                let mut addrs = ResolvedSocketAddrs::from_fn(|_| peer);
                addrs.push(peer);
                addrs
            },
            config: &self.spec.config,
            request_level: false,
            resolver: &resolver,
            now: Instant::now(),
            timeout: NextTimeout {
                after: Duration::Exact(left),
                reason: Timeout::Connect,
                per_read: None,
                per_write: None,
            },
            current_time: Arc::new(Instant::now),
            run_connector: Arc::new(|_: &ConnectionDetails<'_>| Err(Error::ConnectionFailed)),
            register_shutdown: Arc::new(|_| Ok(())),
        };
        let send_now = Arc::new(AtomicBool::new(true));
        let mut socket = socket_on(&details, Arc::clone(&stream));
        socket.send_now = Some(Arc::clone(&send_now));
        let wrapped = with_tls(&self.spec.tls, &details, Some(socket));
        // From here on, writes wait for the next read again (one send per request).
        send_now.store(false, Ordering::Relaxed);
        self.warm.lock().opening = None;
        let mut transport = wrapped?.ok_or(Error::ConnectionFailed)?;
        // Reads the TLS 1.3 session tickets if already there, and sees a
        // server that closed at once.
        if !still_open(&mut *transport) {
            return Err(io::Error::from(io::ErrorKind::ConnectionReset).into());
        }
        Ok(Parked {
            transport,
            stream,
            opened: StdInstant::now(),
        })
    }
}

fn stopped() -> Error {
    io::Error::new(io::ErrorKind::Interrupted, "warm connections stopped").into()
}

/// Whether the socket has something to read (bytes, EOF or an error).
fn readable(stream: &TcpStream) -> bool {
    let mut fds = [PollFd::new(stream, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
}

/// Reads what made a parked connection readable: TLS 1.3 session tickets
/// (taken in by rustls, nothing for the application: the connection stays
/// usable), or EOF, a reset, an alert or bytes nobody asked for (closed).
fn still_open(transport: &mut dyn Transport) -> bool {
    let probe = NextTimeout {
        after: Duration::Exact(PROBE),
        reason: Timeout::Global,
        per_read: None,
        per_write: None,
    };
    match transport.await_input(probe) {
        Ok(_) => false,
        Err(Error::Timeout(_)) => true,
        Err(Error::Io(e)) => matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ),
        Err(_) => false,
    }
}

/// The age at which a parked connection is replaced, when the server closes
/// idle ones after `life`: a margin before, a fifth of `life` and at least
/// three handshakes; none when that leaves less than [`SHORT_LIVED`].
fn refresh_age(life: StdDuration, handshake: StdDuration) -> Option<StdDuration> {
    let margin = (life / 5).max(handshake * 3);
    life.checked_sub(margin).filter(|age| *age >= SHORT_LIVED)
}

fn timespec(d: StdDuration) -> Timespec {
    // Whole milliseconds, rounded up: never wake before the deadline and spin.
    let ms = d.as_nanos().div_ceil(1_000_000);
    let d = StdDuration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
    Timespec::try_from(d).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_the_server_closes() {
        let s = StdDuration::from_secs;
        let ms = StdDuration::from_millis;
        assert_eq!(refresh_age(s(60), ms(100)), Some(s(48)));
        assert_eq!(refresh_age(ms(1050), ms(100)), Some(ms(750)));
        assert_eq!(refresh_age(ms(400), ms(100)), None, "too short to refresh");
        assert_eq!(refresh_age(s(2), s(1)), None, "slow handshakes");
    }
}
