//! The scheduler: the queues by urgency class and the state behind one lock
//! (in flight, counters, dedup, shutdown flags), the condition variables
//! that let threads wait on it instead of polling, who gets the next
//! rate-limit slot ([`Gate`]), the local limiter and the budget shared
//! through Redis. It knows nothing of what its tasks do.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::dedup::Dedup;
use super::gate::Gate;
use super::job::{Class, Job};
use super::ratelimit::Limiter;
use super::shared_budget::SharedBudget;
use crate::error::{Error, ErrorKind};
use crate::log::Logger;
use crate::stats::Counters;
use crate::threads::{LibraryThread, Threads};

/// The lock-protected state.
pub(crate) struct State {
    /// One queue per urgency class, most urgent first.
    pub queues: [VecDeque<Job>; Class::COUNT],
    /// Jobs in flight of every kind, blocking or async: with the queues,
    /// what flush and free wait on.
    pub active: usize,
    /// Of `active`, by class.
    pub active_by_class: [usize; Class::COUNT],
    /// Workers alive (core and extra).
    pub live_workers: usize,
    /// Popup counters (`lsq_stats`).
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
        call_session_id: &str,
        user: &str,
        queue_capacity: Option<usize>,
    ) -> Result<(), Error> {
        if self.dedup.is_duplicate(now, call_session_id, user) {
            self.counters.duplicates += 1;
            return Err(Error::new(
                ErrorKind::Duplicate,
                "duplicate: a popup with this call_session_id and user_id was accepted within dedup_window_ms",
            ));
        }
        if queue_capacity.is_some_and(|capacity| self.queued() >= capacity) {
            self.counters.dropped += 1;
            return Err(self.queue_full());
        }
        self.dedup.accept(now, call_session_id, user);
        self.counters.submitted += 1;
        Ok(())
    }

    pub fn queue_full(&self) -> Error {
        Error::new(
            ErrorKind::QueueFull,
            format!("queue full ({} jobs waiting): not queued", self.queued()),
        )
    }

    /// Jobs waiting, of every class.
    pub fn queued(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    /// Popups waiting (`lsq_stats.queued`).
    pub fn queued_popups(&self) -> usize {
        self.queues[Class::Popup.index()].len()
    }

    /// The most urgent job waiting. Call logs take at most
    /// `max_log_workers` workers, so a backlog of logs never leaves a popup
    /// waiting for a thread.
    pub fn take_next(&mut self, max_log_workers: usize) -> Option<Job> {
        let logs_full = self.active_by_class[Class::Log.index()] >= max_log_workers;
        self.queues
            .iter_mut()
            .enumerate()
            .filter(|(class, _)| !(logs_full && *class == Class::Log.index()))
            .find_map(|(_, queue)| queue.pop_front())
    }

    /// Counts a job as in flight.
    pub fn begin(&mut self, class: Class, popup: bool) {
        self.active += 1;
        self.active_by_class[class.index()] += 1;
        if popup {
            self.counters.in_flight += 1;
        }
    }

    /// Nothing queued, nothing in flight: what flush and free wait for.
    pub fn is_idle(&self) -> bool {
        self.active == 0 && self.queues.iter().all(VecDeque::is_empty)
    }
}

/// The sizes the scheduler keeps to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Capacity {
    /// Tasks waiting at most (`queue_capacity`); call logs are never refused for room.
    pub queue: usize,
    /// Worker threads at most: the requests that may be in flight at once.
    pub max_workers: usize,
    /// Of those, the most that call logs may take.
    pub max_log_workers: usize,
}

pub(crate) struct Scheduler {
    pub limiter: Mutex<Limiter>,
    /// Who gets the next rate-limit slot: the most urgent request waiting.
    pub gate: Gate,
    /// The account's budget shared with other PBXs through Redis, if set.
    pub budget: Option<SharedBudget>,
    pub capacity: Capacity,
    /// Where a completion that panicked is reported.
    pub logger: Logger,
    /// Starts the workers, guarded.
    pub threads: Threads,
    /// Every worker thread (core and extra), joined at shutdown.
    pool: Mutex<Vec<LibraryThread>>,
    state: Mutex<State>,
    /// Signalled when a task is queued or shutdown starts.
    pub work_ready: Condvar,
    /// Signalled when the queue is empty and nothing is in flight.
    pub became_idle: Condvar,
    /// Signalled when cancelling starts, to end waits on the limiter or a backoff.
    pub wake_sleepers: Condvar,
}

impl Scheduler {
    pub fn new(
        limiter: Limiter,
        budget: Option<SharedBudget>,
        capacity: Capacity,
        dedup: Dedup,
        logger: Logger,
        threads: Threads,
    ) -> Scheduler {
        Scheduler {
            limiter: Mutex::new(limiter),
            gate: Gate::default(),
            budget,
            capacity,
            logger,
            threads,
            pool: Mutex::new(Vec::new()),
            state: Mutex::new(State {
                queues: Default::default(),
                active: 0,
                active_by_class: [0; Class::COUNT],
                live_workers: 0,
                counters: Counters::default(),
                dedup,
                closing: false,
                cancelling: false,
                idle_workers: 0,
            }),
            work_ready: Condvar::new(),
            became_idle: Condvar::new(),
            wake_sleepers: Condvar::new(),
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

    /// Begins a job on the caller's thread (the blocking path): a popup (or
    /// an agent ringing, with its call and agent) is admitted as
    /// [`State::admit`] does and counted in flight. Every job begun here or
    /// taken from the queue by a worker ends in [`Scheduler::finish`].
    pub fn begin_blocking(
        &self,
        now: Instant,
        class: Class,
        popup: Option<(&str, &str)>,
    ) -> Result<(), Error> {
        let mut state = self.state();
        if let Some((call_session_id, user)) = popup {
            state.admit(now, call_session_id, user, None)?;
        }
        state.begin(class, popup.is_some());
        Ok(())
    }

    /// Ends a job in flight, blocking or async: counts a popup's outcome
    /// (`popup`: `Some(outcome)`) and, when nothing is left, wakes every
    /// thread waiting in flush or free. The one place where a job stops
    /// being in flight.
    pub fn finish(&self, class: Class, popup: Option<Option<ErrorKind>>) {
        let mut state = self.state();
        state.active -= 1;
        state.active_by_class[class.index()] -= 1;
        if let Some(outcome) = popup {
            state.counters.finished(outcome);
        }
        let idle = state.is_idle();
        // A call log held back by the log workers' cap may go now.
        let log_waits = class == Class::Log && !state.queues[Class::Log.index()].is_empty();
        drop(state);
        if idle {
            self.became_idle.notify_all();
        }
        if log_waits {
            self.work_ready.notify_one();
        }
    }

    /// The worker threads' handles, for shutdown to join.
    pub fn pool(&self) -> MutexGuard<'_, Vec<LibraryThread>> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a job more urgent than `class` waits in a queue for a worker
    /// that can take it (one is not held by call logs: with every worker
    /// on a log, stepping back would wait forever).
    pub fn more_urgent_queued(&self, class: Class) -> bool {
        let state = self.state();
        let queued = state.queues[..class.index()].iter().any(|q| !q.is_empty());
        queued && state.live_workers > state.active_by_class[Class::Log.index()]
    }

    /// No new tasks are taken: shutdown's first step.
    pub fn close(&self) {
        self.state().closing = true;
    }

    /// Shutdown's grace period is over: what is left ends as cancelled, and
    /// every wait on a slot or a backoff is woken. Returns how many tasks
    /// were left, queued or in flight.
    pub fn cancel_rest(&self) -> usize {
        let left = {
            let mut state = self.state();
            state.cancelling = true;
            state.queued() + state.active
        };
        self.wake_sleepers.notify_all();
        self.gate.wake();
        self.work_ready.notify_all();
        left
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
}
