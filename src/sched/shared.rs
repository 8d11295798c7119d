//! What a client's threads share: the transport, the limiter, and the state
//! behind one lock (queue, counters, dedup, shutdown flags), with the
//! condition variables that let threads wait on it instead of polling.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::dedup::Dedup;
use super::ratelimit::Limiter;
use crate::api::popup::{OwnedPopup, Popup};
use crate::credentials::Credentials;
use crate::error::{Error, ErrorKind};
use crate::log::Logger;
use crate::net::transport::Transport;
use crate::report::Report;
use crate::stats::{Counters, WireCounters};

/// Called once with the final report of an async popup.
pub type Completion = Box<dyn FnOnce(Report) + Send + 'static>;

/// A queued popup.
pub(crate) struct Job {
    pub popup: OwnedPopup,
    pub queued_at: Instant,
    pub deadline: Instant,
    pub done: Completion,
}

/// The lock-protected state.
pub(crate) struct State {
    pub queue: VecDeque<Job>,
    pub counters: Counters,
    pub dedup: Dedup,
    /// No new popups are taken.
    pub closing: bool,
    /// Shutdown's grace period is over: what is left ends as cancelled.
    pub cancelling: bool,
    /// Workers waiting for work, so a submit wakes one only when needed.
    pub idle_workers: usize,
}

impl State {
    /// Takes a valid popup in, or refuses it (counting why): a duplicate of
    /// one accepted within the dedup window, or, for the async queue with
    /// `queue_capacity`, a full queue. Taken in, it is remembered for dedup
    /// and counted as submitted.
    pub fn admit(
        &mut self,
        now: Instant,
        popup: &Popup<'_>,
        queue_capacity: Option<usize>,
    ) -> Result<(), Error> {
        if self
            .dedup
            .is_duplicate(now, popup.call_session_id, popup.user_id)
        {
            self.counters.duplicates += 1;
            return Err(Error::new(
                ErrorKind::Duplicate,
                "duplicate: a popup with this call_session_id and user_id was accepted within dedup_window_ms",
            ));
        }
        if queue_capacity.is_some_and(|capacity| self.queue.len() >= capacity) {
            self.counters.dropped += 1;
            return Err(Error::new(
                ErrorKind::QueueFull,
                format!(
                    "queue full ({} popups waiting): popup not queued",
                    self.queue.len()
                ),
            ));
        }
        self.dedup.accept(now, popup.call_session_id, popup.user_id);
        self.counters.submitted += 1;
        Ok(())
    }

    /// Nothing queued, nothing in flight: what flush and free wait for.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.counters.in_flight == 0
    }
}

/// Settings the delivery loop reads.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub max_age: Duration,
    pub max_retries: u32,
    pub queue_capacity: usize,
    pub shutdown_timeout: Duration,
}

pub(crate) struct Shared {
    pub transport: Transport,
    pub credentials: Credentials,
    pub limiter: Mutex<Limiter>,
    pub logger: Logger,
    pub limits: Limits,
    pub wire: WireCounters,
    state: Mutex<State>,
    /// Signalled when a job is queued or shutdown starts.
    pub work_ready: Condvar,
    /// Signalled when the queue is empty and nothing is in flight.
    pub became_idle: Condvar,
    /// Signalled when cancelling starts, to end waits on the limiter or a backoff.
    pub wake_sleepers: Condvar,
    #[cfg(feature = "test-hooks")]
    pub test_panic: Option<String>,
}

impl Shared {
    pub fn new(
        transport: Transport,
        credentials: Credentials,
        limiter: Limiter,
        logger: Logger,
        limits: Limits,
        dedup: Dedup,
    ) -> Shared {
        Shared {
            transport,
            credentials,
            limiter: Mutex::new(limiter),
            logger,
            limits,
            wire: WireCounters::default(),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                counters: Counters::default(),
                dedup,
                closing: false,
                cancelling: false,
                idle_workers: 0,
            }),
            work_ready: Condvar::new(),
            became_idle: Condvar::new(),
            wake_sleepers: Condvar::new(),
            #[cfg(feature = "test-hooks")]
            test_panic: None,
        }
    }

    /// Locks the state. A panic while it was held (a bug, caught elsewhere)
    /// must not make every later call fail, so poisoning is ignored: every
    /// update under this lock leaves the state consistent at each step.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until `until`, or until shutdown cancels; returns false when cancelled.
    pub fn sleep_until(&self, until: Instant) -> bool {
        self.wait_for(&self.wake_sleepers, until, true, |s| {
            s.cancelling.then_some(false)
        })
    }

    /// Begins a request on the caller's thread (the blocking path): admits
    /// it as [`State::admit`] does and counts it in flight. Every request
    /// begun here or taken from the queue by a worker ends in [`Shared::finish`].
    pub fn begin_blocking(&self, now: Instant, popup: &Popup<'_>) -> Result<(), Error> {
        let mut state = self.state();
        state.admit(now, popup, None)?;
        state.counters.in_flight += 1;
        Ok(())
    }

    /// Ends a request in flight, blocking or async: counts its outcome and,
    /// when nothing is left, wakes every thread waiting in flush or free.
    /// The one place where a request stops being in flight.
    pub fn finish(&self, outcome: Option<ErrorKind>) {
        let mut state = self.state();
        state.counters.finished(outcome);
        let idle = state.is_idle();
        drop(state);
        if idle {
            self.became_idle.notify_all();
        }
    }

    pub fn is_cancelling(&self) -> bool {
        self.state().cancelling
    }

    /// Waits until nothing is queued or in flight, or `deadline`; returns whether idle.
    pub fn wait_idle(&self, deadline: Instant) -> bool {
        self.wait_for(&self.became_idle, deadline, false, |s| {
            s.is_idle().then_some(true)
        })
    }

    /// Waits on `condvar` until `answer` has one for the state, or until
    /// `deadline`, which answers `at_deadline`.
    fn wait_for(
        &self,
        condvar: &Condvar,
        deadline: Instant,
        at_deadline: bool,
        answer: impl Fn(&State) -> Option<bool>,
    ) -> bool {
        let mut state = self.state();
        loop {
            if let Some(answer) = answer(&state) {
                return answer;
            }
            let now = Instant::now();
            if now >= deadline {
                return at_deadline;
            }
            state = condvar
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Panics at `point` when the test hook asks for it.
    #[cfg(feature = "test-hooks")]
    pub fn test_panic(&self, point: &str) {
        if self.test_panic.as_deref() == Some(point) {
            panic!("test hook: panic at {point}");
        }
    }

    #[cfg(not(feature = "test-hooks"))]
    #[inline(always)]
    pub fn test_panic(&self, _point: &str) {}
}
