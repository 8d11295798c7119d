//! The feeder: one thread per client that hands due call logs to the
//! workers: retries whose time has come, and logs a previous client on
//! the same outbox left pending. (A log accepted now is queued at once by
//! the call that accepted it.) It wakes when an outcome is written, and at
//! least every [`POLL`], since the ops tool may change the outbox file from
//! another process (`lsq-outbox retry`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{now_ms, CallLogs};
use crate::log::Level;
use crate::sched::job::{Job, Work};
use crate::sched::shared::Shared;
use crate::sched::workers;

/// The longest sleep between two looks at the outbox.
const POLL: Duration = Duration::from_secs(30);
/// After a storage error, the wait before looking again.
const STORAGE_PAUSE: Duration = Duration::from_secs(1);

/// The feeder's life, until the client stops it.
pub(crate) fn run(shared: &Arc<Shared>) {
    let logs = &shared.logs;
    let mut failing = false;
    loop {
        shared.test_panic_once("feeder");
        let room = shared.settings.max_log_workers * 2;
        let wait = match logs.take_due(room) {
            Ok(due) => {
                if failing {
                    failing = false;
                    shared
                        .logger
                        .log(Level::Info, || "call log outbox readable again".into());
                }
                for job in due {
                    let queued_at = Instant::now();
                    let job = Job {
                        work: Work::Log(job),
                        queued_at,
                        deadline: queued_at,
                    };
                    if workers::enqueue_log(shared, job).is_err() {
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
        let live = logs.live();
        if live.stopping {
            return;
        }
        let (live, _) = logs
            .changed
            .wait_timeout(live, wait)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if live.stopping {
            return;
        }
    }
}

/// How long to sleep: until the next record is due, at most [`POLL`]. A
/// record due already is in flight (or waits for room): its outcome wakes
/// the feeder, so there is nothing to poll for.
fn next_wake(logs: &CallLogs) -> Duration {
    // Unreadable records are kept, not sent: their due time is no reason
    // to wake.
    let unreadable = logs.live().unreadable.clone();
    match logs.outbox.next_due_at_except(&unreadable) {
        Ok(Some(at)) if at > now_ms() => {
            let ms = at.saturating_sub(now_ms());
            Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(POLL)
        }
        _ => POLL,
    }
}
