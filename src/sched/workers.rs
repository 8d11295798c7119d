//! The async side: a bounded queue and the worker threads that drain it.
//! Submitting never waits on the network, the limiter or a full queue.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::delivery::{cancelled, deliver_popup};
use super::job::{Completion, Job, Work};
use super::shared::Shared;
use crate::call_logs::deliver::{self, Outcome};
use crate::call_logs::LogJob;
use crate::error::{Error, ErrorKind};
use crate::flow::ringing;
use crate::log::Level;
use crate::report::{LeadReport, Report, RingingReport};
use crate::threads::AfterPanic;

thread_local! {
    /// The client whose worker this thread is (its `Shared` address), so a
    /// callback that calls free or flush on its own client is refused
    /// instead of deadlocking on itself.
    static SERVING: Cell<usize> = const { Cell::new(0) };
}

/// Whether the calling thread is one of `shared`'s workers.
pub(crate) fn is_own_worker(shared: &Arc<Shared>) -> bool {
    SERVING.with(|s| s.get() == Arc::as_ptr(shared) as usize)
}

/// How long an extra worker (beyond `workers`) waits for work before it
/// ends: long enough to carry a burst of calls, short enough not to keep
/// dozens of idle threads in a quiet PBX.
const EXTRA_WORKER_IDLE: Duration = Duration::from_secs(30);

/// Starts the `workers` core workers, which live as long as the client.
pub(crate) fn spawn_workers(shared: &Arc<Shared>, count: usize) -> Result<(), Error> {
    for _ in 0..count {
        shared.state().live_workers += 1;
        if let Err(e) = spawn(shared, true) {
            shared.state().live_workers -= 1;
            // Out of threads: stop the workers already started and fail.
            shared.state().closing = true;
            shared.work_ready.notify_all();
            join_all(shared);
            return Err(e);
        }
    }
    Ok(())
}

/// Starts the call-log feeder (its handle joined with the workers').
pub(crate) fn spawn_feeder(shared: &Arc<Shared>) -> Result<(), Error> {
    let feeder_shared = Arc::clone(shared);
    // It must run while the client lives: a bug in it would stop every
    // retry of every pending call log, so it starts again.
    let thread = shared.threads.start(
        "lsq-outbox",
        "the call-log feeder",
        AfterPanic::Restart,
        move || crate::call_logs::feeder::run(&feeder_shared),
    )?;
    shared.pool().push(thread);
    Ok(())
}

/// Starts one worker (already counted in `live_workers`) and keeps its
/// handle for shutdown, dropping the handles of workers that have ended.
fn spawn(shared: &Arc<Shared>, core: bool) -> Result<(), Error> {
    let worker_shared = Arc::clone(shared);
    // Jobs and completions are guarded inside; a panic in the loop itself
    // ends this worker, whose place is taken by the next one started.
    let thread = shared.threads.start_once(
        "lsq-worker",
        "a worker",
        move || work(&worker_shared, core),
        {
            let shared = Arc::clone(shared);
            move || shared.state().live_workers -= 1
        },
    )?;
    let mut pool = shared.pool();
    pool.retain(|t| !t.is_finished());
    pool.push(thread);
    Ok(())
}

/// Joins every worker, core and extra.
fn join_all(shared: &Shared) {
    let handles = std::mem::take(&mut *shared.pool());
    for thread in handles {
        thread.join();
    }
}

/// Queues a validated job. A popup or an agent ringing comes with its
/// dedup key (`call_session_id`, agent) and counts as a popup.
///
/// When every worker is busy (each may be waiting seconds for a slow
/// answer) another one is started, up to the pool's size: the budget, not a
/// thread count, limits delivery. Starting a thread is the only work this
/// adds to the caller's thread, and only in a burst.
pub(crate) fn submit(
    shared: &Arc<Shared>,
    job: Job,
    dedup: Option<(&str, &str)>,
) -> Result<(), Error> {
    let mut state = shared.state();
    if state.closing {
        return Err(Error::new(
            ErrorKind::Cancelled,
            "the client is shutting down: not queued",
        ));
    }
    let capacity = shared.settings.queue_capacity;
    match dedup {
        Some((call_session_id, user)) => {
            state.admit(job.queued_at, call_session_id, user, Some(capacity))?
        }
        None if state.queued() >= capacity => return Err(state.queue_full()),
        None => {}
    }
    state.queues[job.class().index()].push_back(job);
    let wake = state.idle_workers > 0;
    let grow = !wake && state.live_workers < shared.settings.max_workers;
    if grow {
        state.live_workers += 1;
    }
    drop(state);
    if wake {
        shared.work_ready.notify_one();
    }
    if grow && spawn(shared, false).is_err() {
        // Out of threads: the workers there are will take the job.
        shared.state().live_workers -= 1;
        shared.logger.log(Level::Warn, || {
            "could not start another worker thread: the job waits for a free one".to_string()
        });
    }
    Ok(())
}

/// Queues a call log (accepted, so durable: never refused for room) or a
/// cancelled log's completion. Refused only once workers are gone.
pub(crate) fn enqueue_log(shared: &Arc<Shared>, job: Job) -> Result<(), Error> {
    let mut state = shared.state();
    if state.closing && !matches!(job.work, Work::Cancel(..)) {
        return Err(Error::new(
            ErrorKind::Cancelled,
            "the client is shutting down: not queued",
        ));
    }
    state.queues[job.class().index()].push_back(job);
    let wake = state.idle_workers > 0;
    let grow = !wake && state.live_workers < shared.settings.max_workers;
    if grow {
        state.live_workers += 1;
    }
    drop(state);
    if wake {
        shared.work_ready.notify_one();
    }
    if grow && spawn(shared, false).is_err() {
        shared.state().live_workers -= 1;
    }
    Ok(())
}

/// A worker's life: take the most urgent job, run it (or cancel it when
/// shutdown's grace is over), report it, until the queues are closed and
/// empty.
fn work(shared: &Arc<Shared>, core: bool) {
    SERVING.with(|s| s.set(Arc::as_ptr(shared) as usize));
    loop {
        let mut state = shared.state();
        let job = loop {
            if let Some(job) = state.take_next(shared.settings.max_log_workers) {
                break job;
            }
            if state.closing {
                state.live_workers -= 1;
                return;
            }
            state.idle_workers += 1;
            let (next, waited) = shared
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
        let class = job.class();
        state.begin(class, job.is_popup());
        let cancelling = state.cancelling;
        drop(state);
        let popup_outcome = run(shared, job, cancelling);
        shared.finish(class, popup_outcome);
    }
}

/// Runs one job and calls its completion; returns the popup outcome to
/// count (`None` for a job that is not a popup).
fn run(shared: &Shared, job: Job, cancelling: bool) -> Option<Option<ErrorKind>> {
    let Job {
        work,
        queued_at,
        deadline,
    } = job;
    let unsent = |error: Error| Report::unsent(error, queued_at.elapsed());
    match work {
        Work::Popup(popup, done) => {
            let report = if cancelling {
                unsent(cancelled())
            } else {
                let popup = popup.as_popup();
                shared.logger.log(Level::Debug, || {
                    format!("call {}: sending", popup.call_session_id)
                });
                guarded(unsent, || {
                    deliver_popup(shared, &popup, queued_at, deadline)
                })
            };
            let kind = report.error_kind();
            complete(shared, done, report);
            Some(kind)
        }
        Work::Ringing(ringing, done) => {
            let lead_unsent = |error: Error| LeadReport::unsent(error, queued_at.elapsed());
            let report = if cancelling {
                RingingReport {
                    popup: unsent(cancelled()),
                    lead: lead_unsent(cancelled()),
                }
            } else {
                let (ringing, number) = ringing.as_ringing();
                guarded(
                    |e| RingingReport {
                        popup: unsent(e.clone()),
                        lead: lead_unsent(e),
                    },
                    || ringing::run(shared, &ringing, number, queued_at, deadline),
                )
            };
            let kind = report.popup.error_kind();
            complete(shared, done, report);
            Some(kind)
        }
        Work::Lookup(number, done) => {
            let lead_unsent = |error: Error| LeadReport::unsent(error, queued_at.elapsed());
            let report = if cancelling {
                lead_unsent(cancelled())
            } else {
                guarded(lead_unsent, || {
                    crate::flow::find_lead::run(shared, &number, queued_at, deadline)
                })
            };
            complete(shared, done, report);
            None
        }
        Work::Log(job) => {
            if cancelling {
                if let Some((done, error)) = shared.logs.cancelled(&job) {
                    complete(shared, done, unsent(error));
                }
                return None;
            }
            let (report, is_final) = send_log(shared, &job, queued_at);
            if is_final {
                if let Some(done) = shared.logs.take_completion(job.id) {
                    complete(shared, done, report);
                }
            }
            None
        }
        Work::Cancel(done, error) => {
            complete(shared, done, unsent(error));
            None
        }
    }
}

/// One delivery cycle of a call log, its outcome written to the outbox:
/// the report, and whether it is final.
pub(crate) fn send_log(shared: &Shared, job: &LogJob, started: Instant) -> (Report, bool) {
    let (outcome, attempts) = guarded(
        // A bug while sending: the log stays pending and is tried again.
        |error| {
            (
                Outcome::Retry {
                    error,
                    http_status: 0,
                },
                0,
            )
        },
        || deliver::deliver(shared, job.id, &job.record),
    );
    shared
        .logs
        .record_outcome(job, outcome, attempts, started.elapsed())
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
fn complete<R>(shared: &Shared, done: Completion<R>, report: R) {
    if catch_unwind(AssertUnwindSafe(move || done(report))).is_err() {
        shared.logger.log(Level::Error, || {
            "a completion panicked; ignored".to_string()
        });
    }
}

/// Shutdown: stop intake, let the queue drain until the grace period ends,
/// then cancel the rest and interrupt requests in flight, and join.
pub(crate) fn shutdown(shared: &Arc<Shared>) {
    // The grace period ends a little before shutdown_timeout, so that
    // cancelling, interrupting and joining fit inside it: the caller gets
    // control back within shutdown_timeout (plus its own callbacks' time).
    let total = shared.settings.shutdown_timeout;
    let deadline = Instant::now() + total - (total / 10).min(Duration::from_millis(100));
    {
        let mut state = shared.state();
        state.closing = true;
    }
    // Call logs waiting for a retry end now (they stay in the outbox); their
    // completions run on the workers, like every callback.
    for (done, error) in shared.logs.stop() {
        let queued_at = Instant::now();
        let job = Job {
            work: Work::Cancel(done, error),
            queued_at,
            deadline: queued_at,
        };
        let _ = enqueue_log(shared, job);
    }
    shared.work_ready.notify_all();
    if !shared.wait_idle(deadline) {
        let left = {
            let mut state = shared.state();
            state.cancelling = true;
            state.queued() + state.active
        };
        shared.logger.log(Level::Warn, || {
            format!("shutdown: grace period over, cancelling {left} job(s)")
        });
        shared.wake_sleepers.notify_all();
        shared.gate.wake();
        shared.work_ready.notify_all();
        shared.transport.interrupt();
    }
    join_all(shared);
}
