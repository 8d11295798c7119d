//! The feeder: one thread per client that hands due call logs to the
//! workers: retries whose time has come, and logs a previous client on
//! the same outbox left pending. (A log accepted now is queued at once by
//! the call that accepted it.) It wakes when an outcome is written, and at
//! least every [`POLL`], since the ops tool may change the outbox file from
//! another process (`lsq-outbox retry`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::call_logs::{now_ms, CallLogs};
use crate::context::Context;
use crate::error::Error;
use crate::log::Level;
use crate::sched::workers;
use crate::threads::AfterPanic;

/// The longest sleep between two looks at the outbox.
const POLL: Duration = Duration::from_secs(30);
/// After a storage error, the wait before looking again.
const STORAGE_PAUSE: Duration = Duration::from_secs(1);

/// Starts the feeder, a background service of the client, joined at its
/// shutdown. It must run while the client lives: a bug in it would stop
/// every retry of every pending call log, so it starts again after a panic.
pub(crate) fn start(ctx: &Arc<Context>) -> Result<(), Error> {
    let feeder_ctx = Arc::clone(ctx);
    let thread = ctx.threads.start(
        "lsq-outbox",
        "the call-log feeder",
        AfterPanic::Restart,
        move || run(&feeder_ctx),
    )?;
    *ctx.feeder
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(thread);
    Ok(())
}

/// The feeder's life, until the client stops it.
pub(crate) fn run(shared: &Arc<Context>) {
    let logs = &shared.logs;
    let mut failing = false;
    loop {
        shared.test_panic_once("feeder");
        let room = shared.sched.capacity.max_log_workers * 2;
        let wait = match logs.take_due(room) {
            Ok(due) => {
                if failing {
                    failing = false;
                    shared
                        .logger
                        .log(Level::Info, || "call log outbox readable again".into());
                }
                for job in due {
                    let task = super::task::LogTask {
                        ctx: Arc::clone(shared),
                        job,
                        queued_at: Instant::now(),
                    };
                    if workers::enqueue(&shared.sched, Box::new(task)).is_err() {
                        return;
                    }
                }
                next_wake(logs)
            }
            Err(e) => {
                if !failing {
                    failing = true;
                    shared
                        .logger
                        .log(Level::Error, || format!("call log outbox: {}", e.message()));
                }
                STORAGE_PAUSE
            }
        };
        if logs.wait_for_change(wait) {
            return;
        }
    }
}

/// How long to sleep: until the next record is due, at most [`POLL`]. A
/// record due already is in flight (or waits for room): its outcome wakes
/// the feeder, so there is nothing to poll for.
fn next_wake(logs: &CallLogs) -> Duration {
    match logs.next_due_at() {
        Some(at) if at > now_ms() => {
            let ms = at.saturating_sub(now_ms());
            Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(POLL)
        }
        _ => POLL,
    }
}
