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
pub(crate) use crate::call_logs::Outcome;
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::flow::users::resolve_user;
use crate::log::Level;
use crate::outbox::payload::LogRecord;
use crate::request::attempt;
use crate::retry::{self, AfterCallLog};
use crate::sched::job::Class;

/// How long one cycle may wait for a slot and its answer (popups go first,
/// so under a tight budget a log may wait a while for its turn).
const CYCLE: Duration = Duration::from_secs(60);

/// Sends `record` once (its agent's e-mail resolved first), within `CYCLE`.
pub(crate) fn deliver(shared: &Context, id: u64, record: &LogRecord) -> (Outcome, u16) {
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

/// Sorts a failure into retry, dead or interrupted, by the table in
/// [`crate::retry`].
fn classify(error: Error, http_status: u16, exception: Option<&str>) -> Outcome {
    match retry::after_call_log(error.kind(), http_status, exception) {
        AfterCallLog::Interrupted => Outcome::Interrupted { error },
        AfterCallLog::Dead => Outcome::Dead { error, http_status },
        AfterCallLog::Later => Outcome::Retry { error, http_status },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
