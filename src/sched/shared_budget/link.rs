//! The one connection to Redis, made lazily and shared by a client's
//! worker threads, with every wait bounded by the caller's deadline.
//!
//! - A caller *checks the connection out* for one round trip, with the
//!   socket's read and write timeouts set to what is left of its deadline;
//!   a caller that finds it checked out waits on a condition variable, never
//!   past its deadline. So no caller ever waits longer than
//!   `rate_limit_redis_timeout_ms`, however many there are.
//! - Connecting (DNS, TCP, TLS, AUTH, SELECT) runs on a short-lived thread
//!   of its own, with a longer budget ([`CONNECT_BUDGET`]), because a name
//!   lookup cannot be bounded in the calling thread and a TLS handshake to a
//!   distant Redis may take longer than one round trip's timeout. Callers
//!   wait for it only until their deadline; a connection made after that is
//!   kept for the next caller.
//! - A timeout or an I/O error drops the connection (an unread answer would
//!   desynchronise it); an error *answer* keeps it.

use crate::threads::{LibraryThread, Threads};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redis::{Connection, RedisError};

use super::url::RedisUrl;
use super::Unavailable;

/// The longest a background connect may take (at least the round-trip
/// timeout): long enough for a TLS handshake across a WAN, short enough that
/// a client being freed, which joins the thread, is not held up for long.
pub(super) const CONNECT_BUDGET: Duration = Duration::from_secs(1);

/// What went wrong, for the outage logic ([`super::outage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// The connection was in use (or being made) until the deadline: Redis
    /// may be fine, this caller just could not have it in time.
    Busy,
    /// No answer within the timeout.
    Timeout,
    /// Could not connect, or the connection broke.
    Connect,
    /// Redis refused the user or password.
    Auth,
    /// Redis answered with an error, or with something unexpected.
    Reply,
}

/// A classified failure; the message names the Redis host, never the password.
#[derive(Clone, Debug)]
pub(super) struct Failure {
    pub kind: Kind,
    pub message: Unavailable,
}

impl Failure {
    pub(super) fn new(kind: Kind, message: String) -> Failure {
        Failure {
            kind,
            message: Unavailable::new(message),
        }
    }
}

enum Conn {
    /// None, and no connect under way.
    Empty,
    /// Made, not in use.
    Idle(Box<Connection>),
    /// Checked out by a caller.
    Busy,
    /// A connect thread is running.
    Connecting,
}

struct State {
    conn: Conn,
    /// Connect attempts so far; a waiter knows which one it waits for.
    attempt: u64,
    /// The failure of the last connect attempt that failed.
    failed: Option<(u64, Failure)>,
    thread: Option<LibraryThread>,
}

struct Inner {
    threads: Threads,
    url: RedisUrl,
    timeout: Duration,
    state: Mutex<State>,
    changed: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves nothing half-done (each
        // change is one assignment): carry on with the state as it is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The connection and how to make it.
pub(super) struct Link {
    inner: Arc<Inner>,
}

/// Puts the connection back (or drops it) however the round trip ended.
struct CheckedOut<'a> {
    inner: &'a Inner,
    conn: Option<Box<Connection>>,
}

impl Drop for CheckedOut<'_> {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        state.conn = match self.conn.take() {
            Some(conn) => Conn::Idle(conn),
            None => Conn::Empty,
        };
        drop(state);
        self.inner.changed.notify_all();
    }
}

impl Link {
    /// No I/O: the connection is made on first use.
    pub(super) fn new(url: RedisUrl, timeout: Duration, threads: Threads) -> Link {
        Link {
            inner: Arc::new(Inner {
                threads,
                url,
                timeout,
                state: Mutex::new(State {
                    conn: Conn::Empty,
                    attempt: 0,
                    failed: None,
                    thread: None,
                }),
                changed: Condvar::new(),
            }),
        }
    }

    pub(super) fn url(&self) -> &RedisUrl {
        &self.inner.url
    }

    /// Runs `f` on the connection, connecting first if need be, all before
    /// `deadline`. `f` gets the connection with its timeouts set to what is
    /// left; it returns its result and the round trips it made.
    pub(super) fn with<T>(
        &self,
        deadline: Instant,
        f: impl FnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, Failure> {
        let mut out = self.check_out(deadline)?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining < Duration::from_millis(1) {
            return Err(self.busy());
        }
        let conn = out.conn.as_mut().expect("checked out");
        let set = conn
            .set_read_timeout(Some(remaining))
            .and_then(|()| conn.set_write_timeout(Some(remaining)));
        let result = set.and_then(|()| f(conn));
        result.map_err(|e| {
            let failure = classify(&self.inner.url, &e, self.inner.timeout);
            // Only an error answer leaves the connection in step.
            if failure.kind != Kind::Reply || e.is_unrecoverable_error() {
                out.conn = None;
            }
            failure
        })
    }

    fn busy(&self) -> Failure {
        Failure::new(
            Kind::Busy,
            format!(
                "Redis at {} was not free within {} ms",
                self.inner.url.host_port(),
                self.inner.timeout.as_millis()
            ),
        )
    }

    fn check_out(&self, deadline: Instant) -> Result<CheckedOut<'_>, Failure> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        let mut waiting_for = None;
        loop {
            match std::mem::replace(&mut state.conn, Conn::Busy) {
                Conn::Idle(conn) => {
                    return Ok(CheckedOut {
                        inner,
                        conn: Some(conn),
                    })
                }
                other => state.conn = other,
            }
            match state.conn {
                Conn::Empty => {
                    if let (Some(mine), Some((attempt, failure))) = (waiting_for, &state.failed) {
                        if mine == *attempt {
                            return Err(failure.clone());
                        }
                    }
                    waiting_for = Some(self.start_connect(&mut state)?);
                }
                Conn::Connecting => {
                    waiting_for.get_or_insert(state.attempt);
                }
                Conn::Busy | Conn::Idle(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.busy());
            }
            state = inner
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn start_connect(&self, state: &mut State) -> Result<u64, Failure> {
        if let Some(done) = state.thread.take() {
            // It has finished (the state is no longer Connecting): no wait.
            done.join();
        }
        state.attempt += 1;
        let attempt = state.attempt;
        let inner = Arc::clone(&self.inner);
        let after_panic = Arc::clone(&self.inner);
        let spawned = self.inner.threads.start_once(
            "lsq-redis-connect",
            "a Redis connect",
            move || {
                let budget = CONNECT_BUDGET.max(inner.timeout);
                let result = connect(&inner.url, budget);
                let mut state = inner.lock();
                state.conn = match result {
                    Ok(conn) => Conn::Idle(Box::new(conn)),
                    Err(failure) => {
                        state.failed = Some((attempt, failure));
                        Conn::Empty
                    }
                };
                drop(state);
                inner.changed.notify_all();
            },
            // Never left "connecting": the waiters see a failure and the
            // next request connects again.
            move || {
                let mut state = after_panic.lock();
                state.failed = Some((
                    attempt,
                    Failure::new(Kind::Connect, "internal error while connecting".into()),
                ));
                state.conn = Conn::Empty;
                drop(state);
                after_panic.changed.notify_all();
            },
        );
        match spawned {
            Ok(handle) => {
                state.thread = Some(handle);
                state.conn = Conn::Connecting;
                Ok(attempt)
            }
            Err(e) => Err(Failure::new(
                Kind::Connect,
                format!(
                    "could not start a thread to connect to Redis at {}: {e}",
                    self.inner.url.host_port()
                ),
            )),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // A connect under way ends within CONNECT_BUDGET (plus a name
        // lookup): wait for it, so no thread of ours outlives the client.
        let thread = self.inner.lock().thread.take();
        if let Some(thread) = thread {
            thread.join();
        }
    }
}

fn connect(url: &RedisUrl, budget: Duration) -> Result<Connection, Failure> {
    // The client crate's copy of the password lives only during this call.
    let client =
        redis::Client::open(url.connection_info()).map_err(|e| classify(url, &e, budget))?;
    client.get_connection_with_timeout(budget).map_err(|e| {
        let failure = classify(url, &e, budget);
        match failure.kind {
            Kind::Timeout => Failure::new(
                Kind::Timeout,
                format!(
                    "could not connect to Redis at {} within {} ms",
                    url.host_port(),
                    budget.as_millis()
                ),
            ),
            _ => failure,
        }
    })
}

/// Sorts a Redis client error into a [`Kind`] and a message that names the
/// host and never the password.
fn classify(url: &RedisUrl, e: &RedisError, timeout: Duration) -> Failure {
    let host = url.host_port();
    // Without AUTH, Redis answers NOAUTH, or refuses a command of more
    // than 10 arguments with "Protocol error: unauthenticated multibulk length".
    let auth = e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH"))
        || e.to_string().contains("unauthenticated");
    if auth {
        return Failure::new(
            Kind::Auth,
            format!(
                "Redis at {host} refused the user or password given in rate_limit_redis \
                 (the password is not shown)"
            ),
        );
    }
    if e.is_timeout() {
        return Failure::new(
            Kind::Timeout,
            format!(
                "Redis at {host} did not answer within {} ms",
                timeout.as_millis()
            ),
        );
    }
    let detail = url.scrub(&e.to_string());
    if e.is_connection_refusal() {
        return Failure::new(
            Kind::Connect,
            format!("Redis at {host} refused the connection"),
        );
    }
    if e.is_io_error() || e.is_connection_dropped() {
        return Failure::new(Kind::Connect, format!("Redis at {host}: {detail}"));
    }
    Failure::new(Kind::Reply, format!("Redis at {host} answered: {detail}"))
}
