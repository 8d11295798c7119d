//! A call log as the scheduler's task: one delivery cycle.

use std::sync::Arc;
use std::time::Instant;

use super::deliver::{self, Outcome};
use crate::call_logs::LogJob;
use crate::context::Context;
use crate::report::Report;
use crate::sched::job::{Class, PopupOutcome, Task};
use crate::sched::workers::{complete, guarded};

/// One delivery cycle of a call log.
pub(crate) struct LogTask {
    pub ctx: Arc<Context>,
    pub job: LogJob,
    pub queued_at: Instant,
}

impl Task for LogTask {
    fn class(&self) -> Class {
        Class::Log
    }

    fn run(self: Box<Self>, cancelling: bool) -> PopupOutcome {
        let LogTask {
            ctx,
            job,
            queued_at,
        } = *self;
        if cancelling {
            if let Some((done, error)) = ctx.logs.cancelled(&job) {
                complete(
                    &ctx.logger,
                    done,
                    Report::unsent(error, queued_at.elapsed()),
                );
            }
            return None;
        }
        let (report, is_final) = send_log(&ctx, &job, queued_at);
        if is_final {
            if let Some(done) = ctx.logs.take_completion(job.id) {
                complete(&ctx.logger, done, report);
            }
        }
        None
    }
}

/// One delivery cycle of a call log, its outcome written to the outbox:
/// the report, and whether it is final.
pub(crate) fn send_log(ctx: &Context, job: &LogJob, started: Instant) -> (Report, bool) {
    let (outcome, attempts) = guarded(
        // A bug while sending: the log stays pending and is tried again.
        |error| {
            (
                Outcome::Retry {
                    error,
                    http_status: 0,
                },
                0,
            )
        },
        || deliver::deliver(ctx, job.id, &job.record),
    );
    ctx.logs
        .record_outcome(job, outcome, attempts, started.elapsed())
}
