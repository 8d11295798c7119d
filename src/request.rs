//! One request to LeadSquared, the one place every request is made and
//! accounted, blocking or async, whatever its endpoint: wait for a rate
//! slot, send, count it, and on a rate limit, a connect failure or a
//! 502/503/504 wait and try again (the table in [`crate::retry`]), never past
//! its deadline.

use std::time::{Duration, Instant};

use crate::api::answer::{classify, exception_type, Verdict};
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::log::Level;
use crate::net::transport::Request;
use crate::retry;
use crate::sched::gate::Denied;
use crate::sched::job::Class;

/// The wait after a rate-limit answer that gave no Retry-After and no limit.
const DEFAULT_LIMIT_PAUSE: Duration = Duration::from_secs(1);

/// How one request ended after its attempts.
#[derive(Debug)]
pub(crate) struct Attempted<T> {
    /// What the endpoint read from the success answer, or why it failed.
    /// Error messages are scrubbed of the keys.
    pub outcome: Result<T, Error>,
    /// The last HTTP status received, 0 when none.
    pub http_status: u16,
    /// HTTP requests made, 0 when none was sent.
    pub attempts: u16,
    /// The ExceptionType of the last error answer, if it named one
    /// (`MXDuplicateEntryException` tells a create that the lead exists).
    pub exception: Option<String>,
}

/// Sends `request` until it succeeds or fails for good: each attempt waits
/// for a rate-limit slot; a rate-limit answer waits (Retry-After, a learned
/// limit) and tries again; a connect failure or a 502/503/504 is retried up
/// to `max_retries` times with backoff; nothing is sent after `deadline`.
/// `what` names the request in log lines ("call 42: popup").
pub(crate) fn attempt<T>(
    ctx: &Context,
    class: Class,
    what: &dyn std::fmt::Display,
    request: &Request<'_>,
    parse: impl Fn(u16, &[u8]) -> Result<T, Error>,
    max_retries: u32,
    deadline: Instant,
) -> Attempted<T> {
    let mut attempts: u16 = 0;
    let mut http_status = 0;
    let mut exception = None;
    let mut retries_left = max_retries;
    let mut failures = 0u32;
    let mut limited = 0u32;
    let mut last_error: Option<Error> = None;
    let outcome = loop {
        let asked = Instant::now();
        let too_old = asked >= deadline;
        let granted = match ctx.sched.gate.acquire(&ctx.sched, class, deadline) {
            Ok(granted) => granted,
            Err(Denied::Cancelled) => break Err(cancelled()),
            Err(Denied::TooLate) => break Err(last_error.unwrap_or_else(|| expired(ctx, !too_old))),
        };
        let slot = granted.slot;
        if slot.at > Instant::now() && !ctx.sched.sleep_until(slot.at) {
            break Err(cancelled());
        }
        let waited = asked.elapsed();
        if waited.as_millis() > 0 {
            ctx.logger.log(Level::Debug, || {
                format!(
                    "{what}: waited {} ms for a rate-limit slot",
                    waited.as_millis()
                )
            });
        }
        attempts = attempts.saturating_add(1);
        if attempts > 1 {
            ctx.wire.add_retry(request.path == crate::api::popup::PATH);
        }
        let sent_at = Instant::now();
        let sent = ctx.transport.send(request);
        let took = sent_at.elapsed();
        ctx.sched.limiter().answered(slot, Instant::now());
        if let (Some(budget), Some(ticket)) = (&ctx.sched.budget, &granted.ticket) {
            // Unreachable now: the slot expires there on its own.
            let _ = budget.answered(ticket);
        }
        ctx.wire
            .add_request(request.path, sent.as_ref().map_or(0, |a| a.status), took);
        let verdict = match sent {
            Ok(answer) => {
                http_status = answer.status;
                if !(200..300).contains(&answer.status) {
                    exception = answer.body.as_deref().ok().and_then(exception_type);
                }
                classify(answer, &parse)
            }
            Err(_) if ctx.sched.is_cancelling() => break Err(cancelled()),
            Err(e) if retry::within_request(e.kind(), 0) => Verdict::Retryable(e),
            Err(e) => Verdict::Final(e),
        };
        match verdict {
            Verdict::Done(done) => break Ok(done),
            Verdict::RateLimited {
                error,
                retry_after,
                server_limit,
            } => {
                ctx.wire.add_rate_limited();
                let mut limiter = ctx.sched.limiter();
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
                    .max(retry::REQUEST.delay(limited));
                let resume = Instant::now().checked_add(pause);
                if let Some(at) = resume.filter(|&at| at <= deadline) {
                    limiter.pause_until(at);
                }
                // Log only after the lock is released: the host's log callback may call us.
                drop(limiter);
                // Every PBX sharing the budget learns the limit and the pause.
                if let Some(budget) = &ctx.sched.budget {
                    if let Some(limit) = server_limit {
                        let _ = budget.learn(limit);
                    }
                    let _ = budget.pause_for(pause);
                }
                // Whoever waits for a slot looks again at the new pause or limit.
                ctx.sched.gate.wake();
                if let Some(limit) = learned {
                    ctx.logger.log(Level::Info, || {
                        format!("server limit learned: now sending at most {limit}")
                    });
                }
                match resume {
                    Some(resume) if resume <= deadline => {
                        ctx.logger.log(Level::Warn, || {
                            format!(
                                "{what}: rate limited by the server, retrying in {} ms",
                                pause.as_millis()
                            )
                        });
                        last_error = Some(error);
                    }
                    _ => {
                        ctx.logger.log(Level::Warn, || {
                            format!(
                                "{what}: rate limited; the server's wait ({} s) passes the deadline: giving up",
                                pause.as_secs()
                            )
                        });
                        break Err(error);
                    }
                }
            }
            Verdict::Retryable(error) if retries_left > 0 => {
                retries_left -= 1;
                failures += 1;
                let delay = retry::REQUEST.delay(failures);
                if Instant::now() + delay > deadline {
                    break Err(error);
                }
                ctx.logger.log(Level::Warn, || {
                    format!(
                        "{what}: {}; retrying in {} ms",
                        ctx.credentials.scrub(error.message()),
                        delay.as_millis()
                    )
                });
                if !ctx.sched.sleep_until(Instant::now() + delay) {
                    break Err(cancelled());
                }
                last_error = Some(error);
            }
            Verdict::Retryable(error) | Verdict::Final(error) => break Err(error),
        }
    };
    // A server may echo what it was sent: scrub the keys from what it said.
    Attempted {
        outcome: outcome.map_err(|e| Error::new(e.kind(), ctx.credentials.scrub(e.message()))),
        http_status,
        attempts,
        exception,
    }
}

fn expired(ctx: &Context, limiter_busy: bool) -> Error {
    let why = if limiter_busy {
        "no rate-limit slot in time"
    } else {
        "it was too old when its turn came"
    };
    Error::new(
        ErrorKind::Expired,
        format!(
            "not sent within max_age_ms ({} ms): {why}; dropped, never sent late",
            ctx.settings.max_age.as_millis()
        ),
    )
}

pub(crate) fn cancelled() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "the client was freed before it could be sent",
    )
}
