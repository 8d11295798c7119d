//! One account, one budget, many PBXs: the `rate_limit` budget shared
//! through Redis (connector contract, "Sharing one budget across PBXs").
//!
//! [`SharedBudget`] is what a client's limiter asks for a slot when
//! `rate_limit_redis` is set. Each call is one atomic script in Redis
//! (`script.rs`) under the account's key (`key.rs`), over one lazily made
//! connection (`link.rs`), bounded by `rate_limit_redis_timeout_ms`. When
//! Redis is slow, unreachable or failing the call returns [`Unavailable`] at
//! once and the caller uses its local limiter; the outage is logged once and
//! Redis is tried again after a pause (`outage.rs`).
//!
//! Only library worker threads call it, never a submit path: every call may
//! take up to the timeout. Nothing is done at creation.

use crate::threads::Threads;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::log::{Level, Logger};
use crate::sched::ratelimit::RateLimit;

mod key;
mod link;
mod outage;
mod script;
mod url;

pub use key::KeyName;
pub use url::RedisUrl;

use link::Link;
use outage::Outage;
use script::AcquireReply;

/// How long a limit learned from a 429 stays in Redis (each new 429 with
/// the same limit renews it). After that clients go back to their
/// `rate_limit` and learn again from the next 429: an account whose plan
/// was raised is not held to the old limit for ever.
pub const LEARNED_TTL: Duration = Duration::from_secs(3600);

/// Redis could not be used for this call: use the local limiter. The
/// message names the Redis host and why, never the password.
#[derive(Clone, Debug)]
pub struct Unavailable {
    message: Arc<str>,
}

impl Unavailable {
    fn new(message: String) -> Unavailable {
        Unavailable {
            message: message.into(),
        }
    }

    /// Why, for a log line or an error.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A slot reserved in the shared budget. Report its request's answer with
/// [`SharedBudget::answered`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    member: String,
    /// How long the budget must keep the slot once answered (W + margin).
    keep: Duration,
    slot_us: i64,
}

impl Ticket {
    /// The slot in Redis's clock, microseconds since the epoch (tests
    /// compare slots of several processes on it).
    #[doc(hidden)]
    pub fn server_slot_micros(&self) -> i64 {
        self.slot_us
    }
}

/// What [`SharedBudget::acquire`] got from Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// A slot now: send.
    Now(Ticket),
    /// A slot reserved this far ahead: sleep that long (outside any lock), then send.
    WaitFor(Duration, Ticket),
    /// No slot within `max_wait`: the first free one is this far ahead.
    /// Nothing was reserved.
    TooLate(Duration),
}

impl Grant {
    /// How long until the slot (zero for [`Grant::Now`]).
    pub fn wait(&self) -> Duration {
        match self {
            Grant::Now(_) => Duration::ZERO,
            Grant::WaitFor(wait, _) | Grant::TooLate(wait) => *wait,
        }
    }

    /// The reserved slot, unless [`Grant::TooLate`].
    pub fn ticket(&self) -> Option<&Ticket> {
        match self {
            Grant::Now(t) | Grant::WaitFor(_, t) => Some(t),
            Grant::TooLate(_) => None,
        }
    }
}

/// The counters a metrics endpoint shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `acquire` calls that got a slot from Redis.
    pub grants: u64,
    /// `acquire` calls Redis answered with no slot within `max_wait`.
    pub too_late: u64,
    /// `acquire` calls answered [`Unavailable`]: the local limiter decided.
    pub fallbacks: u64,
    /// Outages begun (each logged once).
    pub outages: u64,
    /// Failed Redis calls: connects, timeouts, error answers (probes during
    /// an outage included; a caller that only found the connection busy not).
    pub errors: u64,
    /// Commands sent to Redis by `acquire`, `answered`, `learn` and
    /// `pause_for` (2 for one call when the script had to be sent again).
    pub round_trips: u64,
}

/// A client's handle on the account's budget in Redis. Thread-safe; share
/// it with `Arc`.
pub struct SharedBudget {
    link: Link,
    key: KeyName,
    keys: [String; 3],
    timeout: Duration,
    logger: Logger,
    outage: Outage,
    /// Tickets are `{client_id:016x}.{seq:x}`: unique among the clients of a key.
    client_id: u64,
    next_seq: AtomicU64,
    learned: Mutex<Option<RateLimit>>,
    grants: AtomicU64,
    too_late: AtomicU64,
    round_trips: AtomicU64,
}

impl SharedBudget {
    /// A budget at `url` under `key`; each Redis call is bounded by
    /// `timeout` (`rate_limit_redis_timeout_ms`). No I/O here.
    pub fn new(url: RedisUrl, key: KeyName, timeout: Duration, logger: Logger) -> SharedBudget {
        let threads = Threads::new(logger.clone());
        SharedBudget::with_threads(url, key, timeout, logger, threads)
    }

    /// As [`SharedBudget::new`], its connect threads started by a client's
    /// `threads` (their panics counted with the client's).
    pub(crate) fn with_threads(
        url: RedisUrl,
        key: KeyName,
        timeout: Duration,
        logger: Logger,
        threads: Threads,
    ) -> SharedBudget {
        SharedBudget {
            keys: key.redis_keys(),
            link: Link::new(url, timeout, threads),
            key,
            timeout,
            logger,
            outage: Outage::default(),
            client_id: fastrand::u64(..),
            next_seq: AtomicU64::new(0),
            learned: Mutex::new(None),
            grants: AtomicU64::new(0),
            too_late: AtomicU64::new(0),
            round_trips: AtomicU64::new(0),
        }
    }

    /// Reserves the first slot under `limit` (the stricter of it and a
    /// limit learned by any client of this key; `None`: only a learned
    /// limit and pauses apply), if it is at most `max_wait` away.
    pub fn acquire(
        &self,
        limit: Option<RateLimit>,
        max_wait: Duration,
    ) -> Result<Grant, Unavailable> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let member = format!("{:016x}.{seq:x}", self.client_id);
        let args = script::acquire_args(limit, max_wait, &member);
        let reply = self.call(&args.each_ref().map(|a| a.as_bytes()));
        let reply = match reply.and_then(|value| self.decode(value)) {
            Ok(reply) => reply,
            Err(e) => {
                self.outage.fallbacks.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        self.note_learned(reply.learned);
        if !reply.reserved {
            self.too_late.fetch_add(1, Ordering::Relaxed);
            return Ok(Grant::TooLate(reply.wait));
        }
        self.grants.fetch_add(1, Ordering::Relaxed);
        let in_force = match (limit, reply.learned) {
            (Some(ours), Some(learned)) if learned.is_stricter_than(&ours) => Some(learned),
            (None, learned) => learned,
            (ours, _) => ours,
        };
        let ticket = Ticket {
            member,
            keep: in_force.map_or(Duration::ZERO, |l| l.window() + l.margin()),
            slot_us: reply.slot_us,
        };
        Ok(if reply.wait.is_zero() {
            Grant::Now(ticket)
        } else {
            Grant::WaitFor(reply.wait, ticket)
        })
    }

    /// The request of `ticket` got its answer (or failed) now: it reached
    /// the server no later than this, so its slot moves here for every
    /// client, as [`crate::sched::ratelimit::Limiter::answered`] does locally.
    pub fn answered(&self, ticket: &Ticket) -> Result<(), Unavailable> {
        if ticket.keep.is_zero() {
            return Ok(());
        }
        let keep = (script::micros(ticket.keep) / 1000 + 1000).to_string();
        self.call(&[b"answered", ticket.member.as_bytes(), keep.as_bytes()])
            .map(|_| ())
    }

    /// Stores a limit read from a 429 for every client of this key, if it
    /// is stricter than the one stored (for [`LEARNED_TTL`]). Returns
    /// whether it was stored.
    pub fn learn(&self, limit: RateLimit) -> Result<bool, Unavailable> {
        let n = limit.requests().to_string();
        let w = script::micros(limit.window()).to_string();
        let ttl = LEARNED_TTL.as_millis().to_string();
        let value = self.call(&[b"learn", n.as_bytes(), w.as_bytes(), ttl.as_bytes()])?;
        let stored = value == redis::Value::Int(1);
        if stored {
            self.note_learned(Some(limit));
        }
        Ok(stored)
    }

    /// The server said to wait (Retry-After): no client of this key gets a
    /// slot before `d` from now (a longer pause already set stays).
    pub fn pause_for(&self, d: Duration) -> Result<(), Unavailable> {
        let us = script::micros(d).to_string();
        self.call(&[b"pause", us.as_bytes()]).map(|_| ())
    }

    /// The limit learned by any client of this key, as Redis last said
    /// (no I/O). The caller's local limiter should learn it too, so that it
    /// holds to it when Redis is away.
    pub fn learned(&self) -> Option<RateLimit> {
        *self.learned.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        Counters {
            grants: self.grants.load(Ordering::Relaxed),
            too_late: self.too_late.load(Ordering::Relaxed),
            fallbacks: self.outage.fallbacks.load(Ordering::Relaxed),
            outages: self.outage.outages.load(Ordering::Relaxed),
            errors: self.outage.errors.load(Ordering::Relaxed),
            round_trips: self.round_trips.load(Ordering::Relaxed),
        }
    }

    /// The budget's name part (never the access key).
    pub fn key(&self) -> &KeyName {
        &self.key
    }

    /// One script call under the outage rules.
    fn call(&self, args: &[&[u8]]) -> Result<redis::Value, Unavailable> {
        self.outage.gate(Instant::now())?;
        let deadline = Instant::now() + self.timeout;
        let round_trips = &self.round_trips;
        let result = self.link.with(deadline, |conn| {
            let (result, trips) = script::run(conn, &self.keys, args);
            round_trips.fetch_add(trips, Ordering::Relaxed);
            result
        });
        match result {
            Ok(value) => {
                self.outage
                    .succeeded(&self.link.url().host_port(), &self.logger);
                Ok(value)
            }
            Err(failure) => Err(self.outage.failed(failure, &self.logger)),
        }
    }

    fn decode(&self, value: redis::Value) -> Result<AcquireReply, Unavailable> {
        AcquireReply::decode(value).ok_or_else(|| {
            let failure = link::Failure::new(
                link::Kind::Reply,
                format!(
                    "Redis at {} gave the budget script an answer it does not expect",
                    self.link.url().host_port()
                ),
            );
            self.outage.failed(failure, &self.logger)
        })
    }

    fn note_learned(&self, learned: Option<RateLimit>) {
        let mut ours = self.learned.lock().unwrap_or_else(|p| p.into_inner());
        if *ours != learned {
            *ours = learned;
            drop(ours);
            if let Some(limit) = learned {
                self.logger.log(Level::Info, || {
                    format!(
                        "rate_limit_redis: the account's limit {limit} (learned from a 429) applies to every client of budget {}",
                        self.key.as_str()
                    )
                });
            }
        }
    }
}

impl fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBudget")
            .field("redis", self.link.url())
            .field("key", &self.key.as_str())
            .field("timeout", &self.timeout)
            .field("down", &self.outage.is_down())
            .field("counters", &self.counters())
            .finish()
    }
}
