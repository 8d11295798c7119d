//! The attempt loop shared by the blocking and async paths: wait for a rate
//! slot, send, and on a rate limit, a connect failure or a 502/503/504 wait
//! and try again, never past the popup's deadline.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};
use crate::log::Level;
use crate::popup::Popup;
use crate::report::Report;
use crate::response::{classify, Delivered, Verdict};
use crate::shared::Shared;
use crate::wire;

/// The first backoff; it doubles per retry up to [`BACKOFF_CAP`].
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(2);
/// The wait after a rate-limit answer that gave no Retry-After and no limit.
const DEFAULT_LIMIT_PAUSE: Duration = Duration::from_secs(1);

/// Delivers one validated popup, started at `started`, which must not be
/// sent after `deadline`.
pub(crate) fn deliver(
    shared: &Shared,
    popup: &Popup<'_>,
    started: Instant,
    deadline: Instant,
) -> Report {
    shared.test_panic("deliver");
    let body = wire::body(popup);
    let mut report = Report::unsent(Error::new(ErrorKind::Internal, ""), Duration::ZERO);
    let mut retries_left = shared.limits.max_retries;
    let mut failures = 0u32;
    let mut limited = 0u32;
    let mut last_error: Option<Error> = None;
    let outcome = loop {
        let now = Instant::now();
        let slot = match shared.limiter().reserve(now, deadline) {
            Ok(slot) => slot,
            Err(too_late) => {
                break Err(last_error.unwrap_or_else(|| expired(shared, too_late.earliest > now)))
            }
        };
        if slot.at > now {
            shared.logger.log(Level::Debug, || {
                format!(
                    "call {}: waiting {} ms for a rate-limit slot",
                    popup.call_session_id,
                    (slot.at - now).as_millis()
                )
            });
            if !shared.sleep_until(slot.at) {
                break Err(cancelled());
            }
        }
        report.attempts = report.attempts.saturating_add(1);
        if report.attempts > 1 {
            shared.wire.add_retry();
        }
        let sent = shared.transport.send(&body);
        shared.limiter().answered(slot, Instant::now());
        let verdict = match sent {
            Ok(answer) => {
                report.http_status = answer.status;
                classify(answer)
            }
            Err(_) if shared.is_cancelling() => break Err(cancelled()),
            Err(e) if e.kind() == ErrorKind::Connect => Verdict::Retryable(e),
            Err(e) => Verdict::Final(e),
        };
        match verdict {
            Verdict::Delivered(delivered) => break Ok(delivered),
            Verdict::RateLimited {
                error,
                retry_after,
                server_limit,
            } => {
                shared.wire.add_rate_limited();
                let mut limiter = shared.limiter();
                let learned = server_limit.filter(|&limit| limiter.learn(limit));
                // Never sooner than the backoff: a server that says "retry
                // now" (Retry-After: 0, a past date) over and over would
                // otherwise be hammered until max_age.
                limited = limited.saturating_add(1);
                let pause = retry_after
                    .unwrap_or_else(|| {
                        limiter
                            .limit()
                            .map_or(DEFAULT_LIMIT_PAUSE, |l| l.window() + l.margin())
                    })
                    .max(backoff(limited));
                let resume = Instant::now().checked_add(pause);
                if let Some(at) = resume.filter(|&at| at <= deadline) {
                    limiter.pause_until(at);
                }
                // Log only after the lock is released: the host's log callback may call us.
                drop(limiter);
                if let Some(limit) = learned {
                    shared.logger.log(Level::Info, || {
                        format!("server limit learned: now sending at most {limit}")
                    });
                }
                match resume {
                    Some(resume) if resume <= deadline => {
                        shared.logger.log(Level::Warn, || {
                            format!(
                                "call {}: rate limited by the server, retrying in {} ms",
                                popup.call_session_id,
                                pause.as_millis()
                            )
                        });
                        last_error = Some(error);
                    }
                    _ => {
                        shared.logger.log(Level::Warn, || {
                            format!("call {}: rate limited; the server's wait ({} s) passes max_age_ms: giving up", popup.call_session_id, pause.as_secs())
                        });
                        break Err(error);
                    }
                }
            }
            Verdict::Retryable(error) if retries_left > 0 => {
                retries_left -= 1;
                failures += 1;
                let delay = backoff(failures);
                if Instant::now() + delay > deadline {
                    break Err(error);
                }
                shared.logger.log(Level::Warn, || {
                    format!(
                        "call {}: {}; retrying in {} ms",
                        popup.call_session_id,
                        shared.credentials.scrub(error.message()),
                        delay.as_millis()
                    )
                });
                if !shared.sleep_until(Instant::now() + delay) {
                    break Err(cancelled());
                }
                last_error = Some(error);
            }
            Verdict::Retryable(error) | Verdict::Final(error) => break Err(error),
        }
    };
    // A server may echo what it was sent: scrub the keys from anything it
    // said, in a success answer too.
    let scrub = |text: &str| shared.credentials.scrub(text);
    report.outcome = outcome
        .map(|d| Delivered {
            message_id: scrub(&d.message_id),
            message: scrub(&d.message),
        })
        .map_err(|e| Error::new(e.kind(), scrub(e.message())));
    report.elapsed = started.elapsed();
    if let Err(e) = &report.outcome {
        shared.logger.log(Level::Error, || {
            format!(
                "call {}: popup failed after {} attempt(s): {}",
                popup.call_session_id, report.attempts, e
            )
        });
    }
    report
}

/// [`deliver`], with a panic inside (a bug) turned into an Internal report:
/// the popup still ends exactly once, so its callback runs and it does not
/// stay counted in flight (flush and free would wait for it until their
/// timeouts).
pub(crate) fn deliver_guarded(
    shared: &Shared,
    popup: &Popup<'_>,
    started: Instant,
    deadline: Instant,
) -> Report {
    catch_unwind(AssertUnwindSafe(|| {
        deliver(shared, popup, started, deadline)
    }))
    .unwrap_or_else(|_| {
        Report::unsent(
            Error::new(
                ErrorKind::Internal,
                "internal error: a panic inside liblsq was caught",
            ),
            started.elapsed(),
        )
    })
}

/// Exponential backoff with equal jitter: half fixed, half random, so
/// retries from many clients do not march in step.
fn backoff(failures: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1 << failures.min(16).saturating_sub(1))
        .min(BACKOFF_CAP);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

fn expired(shared: &Shared, limiter_busy: bool) -> Error {
    let why = if limiter_busy {
        "no rate-limit slot in time"
    } else {
        "it was too old when its turn came"
    };
    Error::new(
        ErrorKind::Expired,
        format!(
            "not sent within max_age_ms ({} ms): {why}; dropped, never sent late",
            shared.limits.max_age.as_millis()
        ),
    )
}

pub(crate) fn cancelled() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "cancelled: the client was freed before the popup could be sent",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for failures in 1..20 {
            let d = backoff(failures);
            let full = BACKOFF_BASE
                .saturating_mul(1 << (failures.min(16) - 1))
                .min(BACKOFF_CAP);
            assert!(d >= full / 2 && d <= full, "{failures}: {d:?}");
        }
    }
}
