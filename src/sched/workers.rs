//! The async side: the bounded queues and the worker threads that drain
//! them, most urgent class first. Submitting never waits on the network,
//! the limiter or a full queue. The workers run [`Task`]s without knowing
//! what they do.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::job::{Completion, Job};
use super::scheduler::Scheduler;
use crate::error::{Error, ErrorKind};
use crate::log::Level;

#[cfg(test)]
mod tests;

thread_local! {
    /// The scheduler whose worker this thread is (its address), so a
    /// callback that calls free or flush on its own client is refused
    /// instead of deadlocking on itself.
    static SERVING: Cell<usize> = const { Cell::new(0) };
}

/// Whether the calling thread is one of `sched`'s workers.
pub(crate) fn is_own_worker(sched: &Arc<Scheduler>) -> bool {
    SERVING.with(|s| s.get() == Arc::as_ptr(sched) as usize)
}

/// How long an extra worker (beyond `workers`) waits for work before it
/// ends: long enough to carry a burst of calls, short enough not to keep
/// dozens of idle threads in a quiet PBX.
const EXTRA_WORKER_IDLE: Duration = Duration::from_secs(30);

/// Starts the `count` core workers, which live as long as the scheduler.
pub(crate) fn spawn_workers(sched: &Arc<Scheduler>, count: usize) -> Result<(), Error> {
    for _ in 0..count {
        sched.state().live_workers += 1;
        if let Err(e) = spawn(sched, true) {
            sched.state().live_workers -= 1;
            // Out of threads: stop the workers already started and fail.
            sched.close();
            sched.work_ready.notify_all();
            join_all(sched);
            return Err(e);
        }
    }
    Ok(())
}

/// Starts one worker (already counted in `live_workers`) and keeps its
/// handle for shutdown, dropping the handles of workers that have ended.
fn spawn(sched: &Arc<Scheduler>, core: bool) -> Result<(), Error> {
    let worker_sched = Arc::clone(sched);
    // Tasks and completions are guarded inside; a panic in the loop itself
    // ends this worker, whose place is taken by the next one started.
    let thread = sched.threads.start_once(
        "lsq-worker",
        "a worker",
        move || work(&worker_sched, core),
        {
            let sched = Arc::clone(sched);
            move || sched.state().live_workers -= 1
        },
    )?;
    let mut pool = sched.pool();
    pool.retain(|t| !t.is_finished());
    pool.push(thread);
    Ok(())
}

/// Joins every worker, core and extra.
pub(crate) fn join_all(sched: &Scheduler) {
    let handles = std::mem::take(&mut *sched.pool());
    for thread in handles {
        thread.join();
    }
}

/// Queues a validated task. A popup or an agent ringing comes with its
/// dedup key (`call_session_id`, agent), is admitted as
/// [`State::admit`](super::scheduler::State::admit) says, and counts as a
/// popup; other tasks are refused only when the queues are full.
///
/// When every worker is busy (each may be waiting seconds for a slow
/// answer) another one is started, up to the pool's size: the budget, not a
/// thread count, limits delivery. Starting a thread is the only work this
/// adds to the caller's thread, and only in a burst.
pub(crate) fn submit(
    sched: &Arc<Scheduler>,
    task: Job,
    queued_at: Instant,
    dedup: Option<(&str, &str)>,
) -> Result<(), Error> {
    let mut state = sched.state();
    if state.closing {
        return Err(shutting_down());
    }
    let capacity = sched.capacity.queue;
    match dedup {
        Some((call_session_id, user)) => {
            state.admit(queued_at, call_session_id, user, Some(capacity))?
        }
        None if state.queued() >= capacity => return Err(state.queue_full()),
        None => {}
    }
    push(sched, state, task);
    Ok(())
}

/// Queues a task that is never refused for room (a call log, accepted and
/// so durable, or the completion of one). Refused only once the scheduler
/// is closing, unless the task says it is shutdown's own.
pub(crate) fn enqueue(sched: &Arc<Scheduler>, task: Job) -> Result<(), Error> {
    let state = sched.state();
    if state.closing && task.refused_when_closing() {
        return Err(shutting_down());
    }
    push(sched, state, task);
    Ok(())
}

fn shutting_down() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "the client is shutting down: not queued",
    )
}

/// Puts `task` in its queue and wakes or starts a worker for it.
fn push(
    sched: &Arc<Scheduler>,
    mut state: std::sync::MutexGuard<'_, super::scheduler::State>,
    task: Job,
) {
    state.queues[task.class().index()].push_back(task);
    let wake = state.idle_workers > 0;
    let grow = !wake && state.live_workers < sched.capacity.max_workers;
    if grow {
        state.live_workers += 1;
    }
    drop(state);
    if wake {
        sched.work_ready.notify_one();
    }
    if grow && spawn(sched, false).is_err() {
        // Out of threads: the workers there are will take the task.
        sched.state().live_workers -= 1;
        sched.logger.log(Level::Warn, || {
            "could not start another worker thread: the job waits for a free one".to_string()
        });
    }
}

/// A worker's life: take the most urgent task, run it (or cancel it when
/// shutdown's grace is over), count it, until the queues are closed and
/// empty.
fn work(sched: &Arc<Scheduler>, core: bool) {
    SERVING.with(|s| s.set(Arc::as_ptr(sched) as usize));
    loop {
        let mut state = sched.state();
        let task = loop {
            if let Some(task) = state.take_next(sched.capacity.max_log_workers) {
                break task;
            }
            if state.closing {
                state.live_workers -= 1;
                return;
            }
            state.idle_workers += 1;
            let (next, waited) = sched
                .work_ready
                .wait_timeout(state, EXTRA_WORKER_IDLE)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state = next;
            state.idle_workers -= 1;
            if waited.timed_out() && !core && state.queued() == 0 {
                state.live_workers -= 1;
                return;
            }
        };
        let class = task.class();
        let popup = class == super::job::Class::Popup;
        state.begin(class, popup);
        let cancelling = state.cancelling;
        drop(state);
        // A task guards its own work; a panic that escapes it anyway (a bug
        // in the task's own bookkeeping) must still end it here.
        let outcome =
            catch_unwind(AssertUnwindSafe(|| task.run(cancelling))).unwrap_or_else(|_| {
                sched.logger.log(Level::Error, || {
                    "internal error: a task panicked outside its guard".to_string()
                });
                popup.then_some(Some(ErrorKind::Internal))
            });
        sched.finish(class, outcome);
    }
}

/// Runs `job`, with a panic inside (a bug) turned into an Internal report
/// by `failed`: the job still ends exactly once, so its callback runs and
/// it does not stay counted in flight (flush and free would wait for it
/// until their timeouts).
pub(crate) fn guarded<R>(failed: impl FnOnce(Error) -> R, job: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(job)).unwrap_or_else(|_| {
        failed(Error::new(
            ErrorKind::Internal,
            "internal error: a panic inside liblsq was caught",
        ))
    })
}

/// Calls a completion. It calls into the host; a panic there (a Rust
/// user's closure) must not kill the worker or lose the accounting.
pub(crate) fn complete<R>(logger: &crate::log::Logger, done: Completion<R>, report: R) {
    if catch_unwind(AssertUnwindSafe(move || done(report))).is_err() {
        logger.log(Level::Error, || {
            "a completion panicked; ignored".to_string()
        });
    }
}
