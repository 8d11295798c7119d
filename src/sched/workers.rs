//! The async side: a bounded queue and the worker threads that drain it.
//! Submitting never waits on the network, the limiter or a full queue.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::delivery::{cancelled, deliver_popup_guarded};
use super::shared::{Job, Shared};
use crate::error::{Error, ErrorKind};
use crate::log::Level;
use crate::report::Report;

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

/// Queues a validated popup job.
pub(crate) fn submit(shared: &Shared, job: Job) -> Result<(), Error> {
    let mut state = shared.state();
    if state.closing {
        return Err(Error::new(
            ErrorKind::Cancelled,
            "the client is shutting down: popup not queued",
        ));
    }
    state.admit(
        job.queued_at,
        &job.popup.as_popup(),
        Some(shared.limits.queue_capacity),
    )?;
    state.queue.push_back(job);
    let wake = state.idle_workers > 0;
    drop(state);
    if wake {
        shared.work_ready.notify_one();
    }
    Ok(())
}

/// A worker's life: take a job, deliver it (or cancel it when shutdown's
/// grace is over), report it, until the queue is closed and empty.
fn work(shared: &Arc<Shared>) {
    SERVING.with(|s| s.set(Arc::as_ptr(shared) as usize));
    loop {
        let mut state = shared.state();
        let job = loop {
            if let Some(job) = state.queue.pop_front() {
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
        state.counters.in_flight += 1;
        let cancelling = state.cancelling;
        drop(state);

        let report = if cancelling {
            Report::unsent(cancelled(), job.queued_at.elapsed())
        } else {
            let popup = job.popup.as_popup();
            shared.logger.log(Level::Debug, || {
                format!("call {}: sending", popup.call_session_id)
            });
            deliver_popup_guarded(shared, &popup, job.queued_at, job.deadline)
        };
        let kind = report.error_kind();
        let done = job.done;
        // The completion calls into the host; a panic there (a Rust user's
        // closure) must not kill the worker or lose the accounting.
        if catch_unwind(AssertUnwindSafe(move || done(report))).is_err() {
            shared.logger.log(Level::Error, || {
                "a popup completion panicked; ignored".to_string()
            });
        }
        shared.finish(kind);
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
            state.queue.len() + state.counters.in_flight as usize
        };
        shared.logger.log(Level::Warn, || {
            format!("shutdown: grace period over, cancelling {left} popup(s)")
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
