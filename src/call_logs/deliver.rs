//! One delivery attempt cycle of a call log, and what follows from it:
//! delivered, tried again later (with backoff capped at
//! `log_retry_max_ms`), or dead. At least once: a log is retried after
//! connect failures, timeouts (even after the request was sent), rate
//! limits, 5xx other than a 500 carrying an `MX...Exception`, 401 and 404
//! (a wrong key or host is fixed by the admin, and the logs must still go),
//! until `log_max_age_ms`. It ends for good on 2xx, on 400 or a 500 with an
//! `MX...Exception` (the log itself is wrong), or on age.

use std::time::{Duration, Instant};

use crate::api::log_call;
use crate::error::{Error, ErrorKind};
use crate::log::Level;
use crate::lookup::users::resolve_user;
use crate::outbox::payload::LogRecord;
use crate::sched::delivery::attempt;
use crate::sched::job::Class;
use crate::sched::shared::Shared;

/// How long one cycle may wait for a slot and its answer (popups go first,
/// so under a tight budget a log may wait a while for its turn).
const CYCLE: Duration = Duration::from_secs(60);

/// What one cycle ended in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// LeadSquared has it: `Message.Id`.
    Delivered { message_id: String },
    /// Worth another try later.
    Retry { error: Error, http_status: u16 },
    /// Never to be sent again (unless an admin asks): the log is wrong.
    Dead { error: Error, http_status: u16 },
    /// Shutdown interrupted it: it stays pending.
    Interrupted { error: Error },
}

/// Sends `record` once (its agent's e-mail resolved first), within `CYCLE`.
pub(crate) fn deliver(shared: &Shared, id: u64, record: &LogRecord) -> (Outcome, u16) {
    shared.test_panic("log_call");
    let deadline = Instant::now() + CYCLE;
    let user_id = match record.user.as_deref() {
        None => None,
        Some(user) => {
            let found = resolve_user(shared, user, Class::Log, deadline);
            match found.outcome {
                Ok(user_id) => Some(user_id),
                Err(e) if e.kind() == ErrorKind::NoMatch => {
                    shared.logger.log(Level::Warn, || {
                        format!(
                            "call log {id} (call {}): {}; the log is sent without a UserId",
                            record.call_session_id,
                            e.message()
                        )
                    });
                    None
                }
                Err(error) => {
                    let http_status = found.http_status;
                    return (classify(error, http_status, None), 0);
                }
            }
        }
    };
    let body = log_call::body(&record.call_log(), user_id.as_deref());
    let what = format_args!("call log {id} (call {})", record.call_session_id);
    let sent = attempt(
        shared,
        Class::Log,
        &what,
        &log_call::request(&body),
        log_call::parse,
        0,
        deadline,
    );
    let outcome = match sent.outcome {
        Ok(message_id) => Outcome::Delivered { message_id },
        Err(error) => classify(error, sent.http_status, sent.exception.as_deref()),
    };
    (outcome, sent.attempts)
}

/// Sorts a failure into retry, dead or interrupted.
fn classify(error: Error, http_status: u16, exception: Option<&str>) -> Outcome {
    let mx_exception = exception.is_some_and(|e| e.starts_with("MX"));
    match error.kind() {
        ErrorKind::Cancelled => Outcome::Interrupted { error },
        ErrorKind::BadRequest => Outcome::Dead { error, http_status },
        ErrorKind::Server if http_status == 500 && mx_exception => {
            Outcome::Dead { error, http_status }
        }
        _ => Outcome::Retry { error, http_status },
    }
}

/// The wait before the next try after `attempts` failed ones: 1 s doubled
/// per failure, at most `cap`, with equal jitter (many PBXs coming back
/// from one outage do not retry in step).
pub(crate) fn retry_delay(attempts: u32, cap: Duration) -> Duration {
    let full = Duration::from_secs(1)
        .saturating_mul(1u32 << attempts.min(20))
        .min(cap);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_within_jitter_up_to_the_cap() {
        let cap = Duration::from_secs(300);
        for (attempts, low, high) in [
            (0, 500, 1000),
            (1, 1000, 2000),
            (3, 4000, 8000),
            (8, 128_000, 256_000),
            (40, 150_000, 300_000),
        ] {
            for _ in 0..100 {
                let d = retry_delay(attempts, cap).as_millis() as u64;
                assert!((low..=high).contains(&d), "{attempts}: {d}");
            }
        }
        assert!(retry_delay(30, Duration::from_millis(10)) <= Duration::from_millis(10));
    }

    #[test]
    fn failures_sort_into_retry_dead_and_interrupted() {
        let e = |kind| Error::new(kind, "x");
        assert!(matches!(
            classify(e(ErrorKind::BadRequest), 400, None),
            Outcome::Dead { .. }
        ));
        assert!(matches!(
            classify(e(ErrorKind::Server), 500, Some("MXInvalidInputException")),
            Outcome::Dead { .. }
        ));
        for (kind, status) in [
            (ErrorKind::Server, 500),
            (ErrorKind::Server, 503),
            (ErrorKind::Unauthorized, 401),
            (ErrorKind::NotFound, 404),
            (ErrorKind::RateLimited, 429),
            (ErrorKind::Timeout, 0),
            (ErrorKind::Connect, 0),
            (ErrorKind::Response, 200),
            (ErrorKind::Expired, 0),
        ] {
            assert!(
                matches!(classify(e(kind), status, None), Outcome::Retry { .. }),
                "{kind:?}"
            );
        }
        assert!(matches!(
            classify(e(ErrorKind::Server), 502, Some("MXSomething")),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(e(ErrorKind::Cancelled), 0, None),
            Outcome::Interrupted { .. }
        ));
    }
}
