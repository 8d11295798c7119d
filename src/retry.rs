//! The retry policy, in one place: the backoff every retry waits (one type,
//! three settings) and the table of what each kind of work tries again.
//!
//! | what | tried again after | how | until |
//! | --- | --- | --- | --- |
//! | any request (popup, lookup, create, user, call log) | a connect failure, 502/503/504 | [`REQUEST`] backoff | `max_retries`, and never past the request's deadline |
//! | any request | a rate limit (429, a 403 naming a limit, one inside a 200) | the server's `Retry-After` or the limit's window, never less than [`REQUEST`] backoff | the deadline |
//! | any request | anything else (400, 401, 404, 500, a timeout after sending, a bad answer) | not within the request | |
//! | a call log, after its request ended | everything but the rows below | [`call_log`] backoff, capped at `log_retry_max_ms` | `log_max_age_ms` |
//! | a call log | 400, or a 500 carrying an `MX...Exception` (the log itself is wrong) | never: dead | |
//! | a call log | the client stopping | the next client on the outbox | |
//! | a warm connection | a failed connect or handshake | [`WARM`] backoff | the client's end |
//! | `host = "auto"`'s question | as any request | [`REQUEST`] backoff | `max_retries`, `max_age_ms` |

use std::time::Duration;

use crate::error::ErrorKind;

/// Exponential backoff with equal jitter: the wait after the `n`th failure
/// in a row is `base` doubled `n - 1` times, at most `cap`, of which the
/// upper half is random, so that many clients coming back from one outage
/// do not retry in step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
}

/// Within one request: 100 ms doubled to 2 s (50-100 ms after the first failure).
pub(crate) const REQUEST: Backoff =
    Backoff::new(Duration::from_millis(100), Duration::from_secs(2));

/// Keeping connections warm: 250 ms doubled to 30 s.
pub(crate) const WARM: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));

/// A call log between attempt cycles: 1 s doubled up to `cap` (`log_retry_max_ms`).
pub(crate) const fn call_log(cap: Duration) -> Backoff {
    Backoff::new(Duration::from_secs(1), cap)
}

impl Backoff {
    pub(crate) const fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap }
    }

    /// The longest wait it ever gives.
    pub(crate) const fn cap(&self) -> Duration {
        self.cap
    }

    /// The wait after `failures` failures in a row (0 counts as 1).
    pub(crate) fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.clamp(1, 31) - 1;
        let full = self.base.saturating_mul(1 << doublings).min(self.cap);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Whether a request that failed this way is tried again within its
/// deadline (the first two rows of the table; rate limits are judged by
/// their own rule).
pub(crate) fn within_request(kind: ErrorKind, http_status: u16) -> bool {
    kind == ErrorKind::Connect || matches!(http_status, 502..=504)
}

/// What comes after a call log's attempt cycle failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterCallLog {
    /// Tried again later, with [`call_log`] backoff.
    Later,
    /// Never again: the log is dead (kept, for an admin).
    Dead,
    /// The client is stopping: the log stays pending for the next one.
    Interrupted,
}

/// The call-log rows of the table. `exception` is the answer's
/// ExceptionType, if it had one.
pub(crate) fn after_call_log(
    kind: ErrorKind,
    http_status: u16,
    exception: Option<&str>,
) -> AfterCallLog {
    let mx_exception = exception.is_some_and(|e| e.starts_with("MX"));
    match kind {
        ErrorKind::Cancelled => AfterCallLog::Interrupted,
        ErrorKind::BadRequest => AfterCallLog::Dead,
        ErrorKind::Server if http_status == 500 && mx_exception => AfterCallLog::Dead,
        _ => AfterCallLog::Later,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The documented bounds, written out for each setting.
    #[test]
    fn backoff_doubles_within_its_jitter_up_to_its_cap() {
        for (backoff, failures, low, high) in [
            (REQUEST, 1, 50, 100),
            (REQUEST, 2, 100, 200),
            (REQUEST, 5, 800, 1600),
            (REQUEST, 6, 1000, 2000),
            (REQUEST, 40, 1000, 2000),
            (WARM, 1, 125, 250),
            (WARM, 20, 15_000, 30_000),
            (call_log(Duration::from_secs(300)), 1, 500, 1000),
            (call_log(Duration::from_secs(300)), 2, 1000, 2000),
            (call_log(Duration::from_secs(300)), 9, 128_000, 256_000),
            (call_log(Duration::from_secs(300)), 41, 150_000, 300_000),
        ] {
            for _ in 0..100 {
                let d = backoff.delay(failures);
                assert!(
                    d >= ms(low) && d <= ms(high),
                    "{backoff:?} {failures}: {d:?}"
                );
            }
        }
        assert!(REQUEST.delay(0) <= ms(100));
        assert!(call_log(ms(10)).delay(30) <= ms(10));
    }

    #[test]
    fn backoff_is_jittered() {
        let waits: std::collections::HashSet<Duration> =
            (0..50).map(|_| REQUEST.delay(3)).collect();
        assert!(waits.len() > 10);
    }

    #[test]
    fn the_table() {
        use ErrorKind::*;
        assert!(within_request(Connect, 0));
        for status in [502, 503, 504] {
            assert!(within_request(Server, status));
        }
        for (kind, status) in [
            (Server, 500),
            (BadRequest, 400),
            (Unauthorized, 401),
            (NotFound, 404),
            (Timeout, 0),
            (Response, 200),
        ] {
            assert!(!within_request(kind, status), "{kind:?} {status}");
        }
        assert_eq!(after_call_log(BadRequest, 400, None), AfterCallLog::Dead);
        assert_eq!(
            after_call_log(Server, 500, Some("MXDuplicateEntryException")),
            AfterCallLog::Dead
        );
        assert_eq!(after_call_log(Server, 500, None), AfterCallLog::Later);
        assert_eq!(
            after_call_log(Server, 503, Some("MXx")),
            AfterCallLog::Later
        );
        for kind in [
            Unauthorized,
            NotFound,
            Timeout,
            Connect,
            RateLimited,
            Expired,
        ] {
            assert_eq!(
                after_call_log(kind, 0, None),
                AfterCallLog::Later,
                "{kind:?}"
            );
        }
        assert_eq!(
            after_call_log(Cancelled, 0, None),
            AfterCallLog::Interrupted
        );
    }
}
