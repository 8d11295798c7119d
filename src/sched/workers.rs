//! The async side: a bounded queue and the worker threads that drain it.
//! Submitting never waits on the network, the limiter or a full queue.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::delivery::{cancelled, deliver_popup};
use super::job::{Completion, Job, Work};
use super::shared::Shared;
use crate::error::{Error, ErrorKind};
use crate::flow::ringing;
use crate::log::Level;
use crate::report::{LeadReport, Report, RingingReport};

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

/// Starts `count` workers.
pub(crate) fn spawn_workers(
    shared: &Arc<Shared>,
    count: usize,
) -> Result<Vec<JoinHandle<()>>, Error> {
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let worker_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("lsq-worker-{i}"))
            .spawn(move || work(&worker_shared));
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                // Out of threads: stop the workers already started and fail.
                shared.state().closing = true;
                shared.work_ready.notify_all();
                for handle in handles {
                    let _ = handle.join();
                }
                return Err(Error::new(
                    ErrorKind::Internal,
                    format!("could not start a worker thread: {e}"),
                ));
            }
        }
    }
    Ok(handles)
}

/// Queues a validated job. A popup or an agent ringing comes with its
/// dedup key (`call_session_id`, agent) and counts as a popup.
pub(crate) fn submit(shared: &Shared, job: Job, dedup: Option<(&str, &str)>) -> Result<(), Error> {
    let mut state = shared.state();
    if state.closing {
        return Err(Error::new(
            ErrorKind::Cancelled,
            "the client is shutting down: not queued",
        ));
    }
    let capacity = shared.limits.queue_capacity;
    match dedup {
        Some((call_session_id, user)) => {
            state.admit(job.queued_at, call_session_id, user, Some(capacity))?
        }
        None if state.queued() >= capacity => return Err(state.queue_full()),
        None => {}
    }
    state.queues[job.class().index()].push_back(job);
    let wake = state.idle_workers > 0;
    drop(state);
    if wake {
        shared.work_ready.notify_one();
    }
    Ok(())
}

/// A worker's life: take the most urgent job, run it (or cancel it when
/// shutdown's grace is over), report it, until the queues are closed and
/// empty.
fn work(shared: &Arc<Shared>) {
    SERVING.with(|s| s.set(Arc::as_ptr(shared) as usize));
    loop {
        let mut state = shared.state();
        let job = loop {
            if let Some(job) = state.take_next() {
                break job;
            }
            if state.closing {
                return;
            }
            state.idle_workers += 1;
            state = shared
                .work_ready
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.idle_workers -= 1;
        };
        state.active += 1;
        if job.is_popup() {
            state.counters.in_flight += 1;
        }
        let cancelling = state.cancelling;
        drop(state);
        let popup_outcome = run(shared, job, cancelling);
        shared.finish(popup_outcome);
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
                    crate::flow::lookup::run(shared, &number, queued_at, deadline)
                })
            };
            complete(shared, done, report);
            None
        }
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
fn complete<R>(shared: &Shared, done: Completion<R>, report: R) {
    if catch_unwind(AssertUnwindSafe(move || done(report))).is_err() {
        shared.logger.log(Level::Error, || {
            "a completion panicked; ignored".to_string()
        });
    }
}

/// Shutdown: stop intake, let the queue drain until the grace period ends,
/// then cancel the rest and interrupt requests in flight, and join.
pub(crate) fn shutdown(shared: &Shared, workers: Vec<JoinHandle<()>>) {
    // The grace period ends a little before shutdown_timeout, so that
    // cancelling, interrupting and joining fit inside it: the caller gets
    // control back within shutdown_timeout (plus its own callbacks' time).
    let total = shared.limits.shutdown_timeout;
    let deadline = Instant::now() + total - (total / 10).min(Duration::from_millis(100));
    {
        let mut state = shared.state();
        state.closing = true;
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
        shared.work_ready.notify_all();
        shared.transport.interrupt();
    }
    for worker in workers {
        // A worker cannot panic out of its loop (jobs and completions are
        // guarded), so an error here would be a bug we can only ignore.
        let _ = worker.join();
    }
}
