//! Who gets the next rate-limit slot: the most urgent request waiting.
//!
//! The account's budget is tiny (2 to 25 requests per 5 s) and shared by
//! popups, lookups and call logs. A request does not reserve a slot ahead
//! of time (a call log reserving the next free slot would push back a popup
//! that arrives a moment later); it waits here in the order of its urgency
//! class, then of arrival, and only the first waiter takes a slot, when
//! the limiter has one free. So a free slot always goes to the most urgent
//! request waiting, a call log delays a popup by at most the request
//! already in flight, and a less urgent class goes as soon as nothing more
//! urgent waits.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::job::Class;
use super::ratelimit::Slot;
use super::scheduler::Scheduler;
use super::shared_budget::{Grant, Ticket};

/// A slot: when the request may leave, and the shared budget's ticket when
/// the slot came from Redis (its answer is reported there too).
#[derive(Debug)]
pub(crate) struct Granted {
    pub slot: Slot,
    pub ticket: Option<Ticket>,
}

/// How long a less urgent request at the head steps back, at a time, for a
/// more urgent job queued for a worker.
const URGENT_FIRST: std::time::Duration = std::time::Duration::from_millis(20);

/// Why no slot was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No slot before the deadline.
    TooLate,
    /// Shutdown's grace period ended.
    Cancelled,
}

/// The requests waiting for a slot, most urgent first.
#[derive(Default)]
pub(crate) struct Gate {
    waiting: Mutex<BTreeSet<(Class, u64)>>,
    turn: Condvar,
    arrivals: AtomicU64,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<(Class, u64)>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot for a request of `class`, until `deadline`. With a
    /// budget shared through Redis, the first waiter asks Redis for the
    /// account's next slot (outside every lock: one round trip, bounded by
    /// `rate_limit_redis_timeout_ms`); when Redis is out of reach the local
    /// limiter decides alone. A slot may lie a little ahead (Redis reserved
    /// it): the caller sleeps until `slot.at`.
    pub fn acquire(
        &self,
        sched: &Scheduler,
        class: Class,
        deadline: Instant,
    ) -> Result<Granted, Denied> {
        let me = (class, self.arrivals.fetch_add(1, Ordering::Relaxed));
        let mut waiting = self.lock();
        waiting.insert(me);
        let result = loop {
            if sched.is_cancelling() {
                break Err(Denied::Cancelled);
            }
            let mut now = Instant::now();
            // Whoever waited past its deadline leaves, whatever its place:
            // a waiter that becomes first after its deadline must not take
            // the slot (that sent popups late, by about one server latency,
            // under the budget benchmark's load).
            if now > deadline {
                break Err(Denied::TooLate);
            }
            let wake_at = if waiting.first() == Some(&me) && sched.more_urgent_queued(class) {
                // A more urgent job waits for a worker, about to ask for a
                // slot: leave the slot to it (a worker is free or freeing).
                (now + URGENT_FIRST).min(deadline)
            } else if waiting.first() == Some(&me) {
                if let Some(budget) = &sched.budget {
                    drop(waiting);
                    let limit = sched.limiter().limit();
                    let asked = budget.acquire(limit, deadline.saturating_duration_since(now));
                    waiting = self.lock();
                    if let Some(learned) = budget.learned() {
                        sched.limiter().learn(learned);
                    }
                    match asked {
                        Ok(Grant::TooLate(_)) => break Err(Denied::TooLate),
                        Ok(grant) => {
                            let at = now + grant.wait();
                            let slot = sched.limiter().record(at);
                            let ticket = match grant {
                                Grant::Now(t) | Grant::WaitFor(_, t) => Some(t),
                                Grant::TooLate(_) => None,
                            };
                            break Ok(Granted { slot, ticket });
                        }
                        // Out of reach (said once per outage in the log):
                        // the local limiter decides.
                        Err(_) => now = Instant::now(),
                    }
                }
                if now > deadline {
                    break Err(Denied::TooLate);
                }
                let mut limiter = sched.limiter();
                let at = limiter.earliest(now);
                if at <= now {
                    break limiter
                        .reserve(now, now)
                        .map(|slot| Granted { slot, ticket: None })
                        .map_err(|_| Denied::TooLate);
                }
                if at > deadline {
                    break Err(Denied::TooLate);
                }
                at
            } else {
                deadline
            };
            waiting = self
                .turn
                .wait_timeout(waiting, wake_at - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        waiting.remove(&me);
        drop(waiting);
        // The next waiter may be first now.
        self.turn.notify_all();
        result
    }

    /// Wakes every waiter to look again: the limiter changed (a pause, a
    /// learned limit) or shutdown is cancelling.
    pub fn wake(&self) {
        let _waiting = self.lock();
        self.turn.notify_all();
    }

    /// Requests waiting for a slot, by class (for the metrics).
    pub fn waiting(&self) -> [usize; Class::COUNT] {
        let mut counts = [0; Class::COUNT];
        for (class, _) in self.lock().iter() {
            counts[class.index()] += 1;
        }
        counts
    }
}
