//! Call logs, durable and sent at least once: accepted into the outbox
//! (synced before the call returns), delivered by the workers at the
//! lowest urgency, retried until delivered, dead, or too old.
//!
//! - [`CallLogs`] (here): accepting a log, the completions of async logs,
//!   which records are in flight, and writing each attempt's outcome.
//! - [`deliver`]: one attempt cycle and its retry policy.
//! - [`feeder`]: the thread that hands due records (retries, and what a
//!   previous client left pending) to the workers.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::api::log_call::CallLog;
use crate::api::popup::Delivered;
use crate::error::{Error, ErrorKind};
use crate::log::{Level, Logger};
use crate::outbox::payload::{self, LogRecord};
use crate::outbox::{Outbox, OutboxError, Record};
use crate::report::Report;
use crate::sched::job::Completion;
mod outcome;
pub(crate) use outcome::Outcome;

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Call-log counters, for the metrics.
#[derive(Debug, Default)]
pub(crate) struct LogCounters {
    pub accepted: AtomicU64,
    pub delivered: AtomicU64,
    pub dead: AtomicU64,
    pub retries: AtomicU64,
}

/// How long a new log belongs to the call that accepted it.
const JUST_ACCEPTED_MS: i64 = 10_000;

/// Unreadable stored logs reported with a line each; any more are only
/// counted (a rollback over a large outbox must not flood the log).
const UNREADABLE_LINES: usize = 20;

/// A stored log on its way: what the workers carry.
#[derive(Clone, Debug)]
pub(crate) struct LogJob {
    pub id: u64,
    /// Unix ms (for `log_max_age_ms`).
    pub accepted_at: i64,
    /// Failed tries so far (for the backoff).
    pub attempts: u32,
    pub record: LogRecord,
}

/// What is not in the outbox: async completions and the ids in flight.
#[derive(Default)]
struct Live {
    completions: HashMap<u64, Completion<Report>>,
    in_flight: HashSet<u64>,
    /// Pending records whose payload this liblsq cannot read: kept as they
    /// are (never sent, never dead), reported once, skipped from then on.
    unreadable: HashSet<u64>,
    /// Set at shutdown: the feeder stops.
    stopping: bool,
}

/// A client's call logs.
pub(crate) struct CallLogs {
    outbox: Outbox,
    /// Whether the outbox is a file (logs survive the process).
    durable: bool,
    live: Mutex<Live>,
    /// Wakes the feeder: a record came due, an outcome was written, shutdown.
    changed: Condvar,
    max_age: Duration,
    retry_max: Duration,
    /// When this client opened the outbox, Unix ms.
    opened_ms: i64,
    pub counters: LogCounters,
    logger: Logger,
}

impl CallLogs {
    /// Opens the outbox file (`None`: logs in memory only).
    pub fn open(
        path: Option<&std::path::Path>,
        max_age: Duration,
        retry_max: Duration,
        logger: Logger,
    ) -> Result<CallLogs, Error> {
        let (outbox, durable) = match path {
            Some(path) => (Outbox::open(path)?, true),
            None => (Outbox::in_memory(), false),
        };
        let logs = CallLogs {
            outbox,
            durable,
            live: Mutex::new(Live::default()),
            changed: Condvar::new(),
            max_age,
            retry_max,
            opened_ms: now_ms(),
            counters: LogCounters::default(),
            logger,
        };
        if durable {
            if let Ok((pending, dead)) = logs.outbox.counts() {
                if pending + dead > 0 {
                    logs.logger.log(Level::Info, || {
                        format!(
                            "outbox {}: {pending} call log(s) pending from before (sent again, at least once), {dead} dead",
                            logs.outbox.path().display()
                        )
                    });
                }
            }
        }
        Ok(logs)
    }

    /// Waits until an outcome is written or the client stops, at most
    /// `wait`; returns whether it is stopping (the feeder's wait).
    pub(crate) fn wait_for_change(&self, wait: std::time::Duration) -> bool {
        let live = self.live();
        if live.stopping {
            return true;
        }
        let (live, _) = self
            .changed
            .wait_timeout(live, wait)
            .unwrap_or_else(PoisonError::into_inner);
        live.stopping
    }

    /// When the next readable pending record is due (Unix ms), if any.
    /// Unreadable records are kept, not sent: their due time is no reason
    /// to wake.
    pub(crate) fn next_due_at(&self) -> Option<i64> {
        let unreadable = self.live().unreadable.clone();
        self.outbox.next_due_at_except(&unreadable).ok().flatten()
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a validated log (committed and synced with an outbox file)
    /// and marks it in flight: the caller sends it now, or queues it.
    /// `done` is kept for the final outcome. The flag is false when the
    /// feeder saw the new record first (between the commit and the mark)
    /// and has already queued it: the caller must not queue it again.
    pub fn accept(
        &self,
        log: &CallLog<'_>,
        done: Option<Completion<Report>>,
    ) -> Result<(LogJob, bool), Error> {
        let record = LogRecord::of(log);
        let accepted_at = now_ms();
        let payload = payload::encode(&record);
        let id = self
            .outbox
            .accept(log.call_session_id, &payload, accepted_at)?;
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let mut live = self.live();
        let ours = live.in_flight.insert(id);
        if let Some(done) = done {
            live.completions.insert(id, done);
        }
        let job = LogJob {
            id,
            accepted_at,
            attempts: 0,
            record,
        };
        Ok((job, ours))
    }

    /// Due records not in flight, oldest first, now marked in flight (at
    /// most `limit`).
    pub fn take_due(&self, limit: usize) -> Result<Vec<LogJob>, Error> {
        let mut taken = Vec::new();
        // Unreadable records found in a pass took room in it: look again,
        // so a batch of them does not hold readable ones back a poll.
        while self.take_due_pass(limit, &mut taken)? && taken.len() < limit {}
        Ok(taken)
    }

    /// One look at the due records; true when it found unreadable ones and
    /// there may be more due records behind them.
    fn take_due_pass(&self, limit: usize, taken: &mut Vec<LogJob>) -> Result<bool, Error> {
        let skipped = {
            let live = self.live();
            live.in_flight.len() + live.unreadable.len()
        };
        let now = now_ms();
        let asked = limit.saturating_sub(taken.len()).saturating_add(skipped);
        let due = self.outbox.due(now, asked)?;
        let more = due.len() >= asked;
        let mut found = Vec::new();
        let mut live = self.live();
        for record in due {
            if taken.len() >= limit
                || live.in_flight.contains(&record.id)
                || live.unreadable.contains(&record.id)
            {
                continue;
            }
            // A log this client accepted moments ago is its accepting call's
            // to send (it may not be marked in flight yet: it was committed
            // first). Untried and older than that, it is the feeder's (an
            // admin's `lsq-outbox retry` makes a dead log untried again).
            let just_accepted = record.attempts == 0
                && record.accepted_at >= self.opened_ms
                && now - record.accepted_at < JUST_ACCEPTED_MS;
            if just_accepted {
                continue;
            }
            match payload::decode(&record.payload) {
                Ok(parsed) => {
                    live.in_flight.insert(record.id);
                    taken.push(LogJob {
                        id: record.id,
                        accepted_at: record.accepted_at,
                        attempts: record.attempts,
                        record: parsed,
                    });
                }
                Err(why) => {
                    live.unreadable.insert(record.id);
                    found.push((record, why, live.unreadable.len()));
                }
            }
        }
        drop(live);
        // Logged without the lock: the sink may call back into the client.
        let found_any = !found.is_empty();
        for (record, why, kept) in found {
            self.report_unreadable(&record, &why, kept);
        }
        Ok(found_any && more)
    }

    /// One error line for a stored log this liblsq cannot read (the first
    /// [`UNREADABLE_LINES`] of them; then one line saying the rest are only
    /// counted). The record is left exactly as it is, for a liblsq that
    /// reads it: marking it dead would lose it to an upgrade's rollback.
    fn report_unreadable(&self, record: &Record, why: &payload::Unreadable, kept: usize) {
        if kept > UNREADABLE_LINES + 1 {
            return;
        }
        self.logger.log(Level::Error, || {
            if kept > UNREADABLE_LINES {
                return format!(
                    "outbox {}: more call logs this liblsq cannot read are kept, counted in \
                     lsq_call_logs_unreadable_stored without a line each (lsq-outbox list shows them)",
                    self.outbox.path().display()
                );
            }
            format!(
                "call log {} (call {}) is not sent: {why}; kept pending in the outbox for a \
                 liblsq that reads it (not dead; upgrade liblsq, or see lsq-outbox list)",
                record.id, record.call_session_id
            )
        });
    }

    /// Pending logs this client found it cannot read and keeps.
    pub fn unreadable(&self) -> u64 {
        self.live().unreadable.len() as u64
    }

    /// Whether the log accepted at `accepted_ms` is past `log_max_age_ms`.
    fn too_old(&self, accepted_ms: i64) -> bool {
        let age = now_ms().saturating_sub(accepted_ms);
        u128::try_from(age).unwrap_or(0) > self.max_age.as_millis()
    }

    /// Writes a cycle's outcome; returns its report and whether it is final
    /// (delivered or dead: the async completion is due). `attempts`: HTTP
    /// requests of this cycle.
    pub fn record_outcome(
        &self,
        job: &LogJob,
        outcome: Outcome,
        attempts: u16,
        elapsed: Duration,
    ) -> (Report, bool) {
        let (id, record) = (job.id, &job.record);
        let (accepted_at, failed_attempts) = (job.accepted_at, job.attempts);
        let report = |outcome: Result<Delivered, Error>, http_status: u16| Report {
            outcome,
            http_status,
            attempts,
            elapsed,
        };
        let written = match outcome {
            Outcome::Delivered { message_id } => {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                let result = self.outbox.delivered(id).map(|_| ());
                Ok((
                    result,
                    report(
                        Ok(Delivered {
                            message_id,
                            message: "call log delivered".into(),
                        }),
                        200,
                    ),
                ))
            }
            Outcome::Dead { error, http_status } => {
                Ok(self.kill(id, record, error, http_status, &report))
            }
            Outcome::Retry { error, http_status } if self.too_old(accepted_at) => {
                let error = Error::new(
                    error.kind(),
                    format!(
                        "not delivered within log_max_age_ms ({} ms); last: {}",
                        self.max_age.as_millis(),
                        error.message()
                    ),
                );
                Ok(self.kill(id, record, error, http_status, &report))
            }
            Outcome::Retry { error, http_status } => {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                let pending = report(Err(error.clone()), http_status);
                let delay = crate::retry::call_log(self.retry_max).delay(failed_attempts + 1);
                let at =
                    now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                let kept = match self.durable {
                    true => "kept in the outbox",
                    false => "in memory only: no outbox is set",
                };
                self.logger.log(Level::Warn, || {
                    format!(
                        "call log {id} (call {}): {}; trying again in {} s ({kept})",
                        record.call_session_id,
                        error.message(),
                        delay.as_secs()
                    )
                });
                if let Err(e) = self
                    .outbox
                    .retry_later(id, at, http_status, error.message())
                {
                    self.storage_trouble(&e);
                }
                Err(pending)
            }
            Outcome::Interrupted { error } => Err(report(Err(error), 0)),
        };
        // Read under the same lock as the in-flight mark: either `stop` ran
        // first (seen here) or it sees this log no longer in flight and ends
        // its completion itself. Never neither: that lost callbacks at free.
        let stopping = {
            let mut live = self.live();
            live.in_flight.remove(&id);
            live.stopping
        };
        self.changed.notify_all();
        match written {
            Ok((Err(e), report)) => {
                // The outcome could not be written: the log stays pending in
                // the outbox and is sent again (at least once).
                self.storage_trouble(&e);
                self.not_final(id, record, report, stopping)
            }
            Ok((Ok(()), report)) => (report, true),
            Err(report) => self.not_final(id, record, report, stopping),
        }
    }

    /// A cycle that did not deliver the log nor kill it: pending, unless the
    /// client is being freed, which makes it final as `Cancelled` (keeping
    /// this cycle's HTTP status and attempts, and its last error).
    fn not_final(
        &self,
        id: u64,
        record: &LogRecord,
        report: Report,
        stopping: bool,
    ) -> (Report, bool) {
        if !stopping {
            return (report, false);
        }
        let last = report.outcome.as_ref().err().map_or("", Error::message);
        let error = Error::new(
            ErrorKind::Cancelled,
            format!("{}; last: {last}", self.freed_reason()),
        );
        self.note_lost(id, record);
        (
            Report {
                outcome: Err(error),
                ..report
            },
            true,
        )
    }

    /// Why a log not delivered before the client was freed ends now.
    fn freed_reason(&self) -> &'static str {
        if self.durable {
            "not delivered before the client was freed: kept in the outbox; the next client on it sends it"
        } else {
            "not delivered before the client was freed, and lost: no outbox is set (option outbox)"
        }
    }

    /// Without an outbox a log ended at free is gone: one error line says so.
    fn note_lost(&self, id: u64, record: &LogRecord) {
        if !self.durable {
            self.logger.log(Level::Error, || {
                format!(
                    "call log {id} (call {}) lost: not delivered before the client was freed and no outbox is set (option outbox)",
                    record.call_session_id
                )
            });
        }
    }

    fn kill(
        &self,
        id: u64,
        record: &LogRecord,
        error: Error,
        http_status: u16,
        report: &dyn Fn(Result<Delivered, Error>, u16) -> Report,
    ) -> (Result<(), OutboxError>, Report) {
        self.counters.dead.fetch_add(1, Ordering::Relaxed);
        let kept = match self.durable {
            true => "kept in the outbox (lsq-outbox retry puts it back)",
            false => "not kept: no outbox is set (option outbox)",
        };
        self.logger.log(Level::Error, || {
            format!(
                "call log {id} (call {}) is dead: {}; {kept}",
                record.call_session_id,
                error.message()
            )
        });
        let result = self
            .outbox
            .dead(id, http_status, error.message())
            .map(|_| ());
        (result, report(Err(error), http_status))
    }

    fn storage_trouble(&self, e: &OutboxError) {
        self.logger
            .log(Level::Error, || format!("call log outbox: {}", e.message()));
    }

    /// The completion of an async log, once its outcome is final.
    pub fn take_completion(&self, id: u64) -> Option<Completion<Report>> {
        self.live().completions.remove(&id)
    }

    /// A log job that shutdown cancelled before it was sent: no longer in
    /// flight (it stays pending); its completion, with the reason.
    pub fn cancelled(&self, job: &LogJob) -> Option<(Completion<Report>, Error)> {
        let mut live = self.live();
        live.in_flight.remove(&job.id);
        let done = live.completions.remove(&job.id)?;
        let why = if self.durable {
            "not sent before the client was freed: kept in the outbox; the next client on it sends it"
        } else {
            "not sent before the client was freed, and lost: no outbox is set (option outbox)"
        };
        Some((done, Error::new(ErrorKind::Cancelled, why)))
    }

    /// Pending and dead logs.
    pub fn counts(&self) -> Result<(u64, u64), Error> {
        Ok(self.outbox.counts()?)
    }

    /// Stops the feeder, and gives back the completions of logs waiting for
    /// a retry (not in flight), each with the `Cancelled` error to end it
    /// with (the logs stay pending in an outbox file, for the next client).
    pub fn stop(&self) -> Vec<(Completion<Report>, Error)> {
        let mut live = self.live();
        live.stopping = true;
        let why = self.freed_reason();
        // Logs in flight (queued or being sent) end through their job.
        let waiting_ids: Vec<u64> = live
            .completions
            .keys()
            .filter(|id| !live.in_flight.contains(id))
            .copied()
            .collect();
        let waiting = waiting_ids
            .into_iter()
            .filter_map(|id| live.completions.remove(&id))
            .map(|done| (done, Error::new(ErrorKind::Cancelled, why)))
            .collect();
        drop(live);
        self.changed.notify_all();
        waiting
    }
}
