//! The async forms of the flows, as the scheduler's tasks: a popup, an
//! agent ringing and a lookup, each with its completion and the time it was
//! queued and must be done by.

use std::sync::Arc;
use std::time::Instant;

use crate::api::popup::OwnedPopup;
use crate::context::Context;
use crate::error::Error;
use crate::flow::ringing::OwnedRinging;
use crate::log::Level;
use crate::phone::Normalised;
use crate::report::{LeadReport, Report, RingingReport};
use crate::request::cancelled;
use crate::sched::job::{Class, Completion, PopupOutcome, Task};
use crate::sched::workers::{complete, guarded};

/// When a task was queued and when it must be done by.
pub(crate) struct Timing {
    pub queued_at: Instant,
    pub deadline: Instant,
}

pub(crate) struct PopupTask {
    pub ctx: Arc<Context>,
    pub popup: OwnedPopup,
    pub done: Completion<Report>,
    pub timing: Timing,
}

pub(crate) struct RingingTask {
    pub ctx: Arc<Context>,
    pub ringing: OwnedRinging,
    pub done: Completion<RingingReport>,
    pub timing: Timing,
}

pub(crate) struct LookupTask {
    pub ctx: Arc<Context>,
    pub number: Normalised,
    pub done: Completion<LeadReport>,
    pub timing: Timing,
}

/// A task's report: when shutdown is cancelling, `unsent` with the
/// cancelled reason; else `work`, a panic inside it (a bug) becoming
/// `unsent` with an Internal error, so the completion still runs once.
fn run_or_cancel<R>(
    cancelling: bool,
    unsent: impl FnOnce(Error) -> R,
    work: impl FnOnce() -> R,
) -> R {
    if cancelling {
        unsent(cancelled())
    } else {
        guarded(unsent, work)
    }
}

impl Task for PopupTask {
    fn class(&self) -> Class {
        Class::Popup
    }

    fn run(self: Box<Self>, cancelling: bool) -> PopupOutcome {
        let PopupTask {
            ctx,
            popup,
            done,
            timing: Timing {
                queued_at,
                deadline,
            },
        } = *self;
        let unsent = |error: Error| Report::unsent(error, queued_at.elapsed());
        let report = run_or_cancel(cancelling, unsent, || {
            let popup = popup.as_popup();
            ctx.logger.log(Level::Debug, || {
                format!("call {}: sending", popup.call_session_id)
            });
            super::popup::deliver_popup(&ctx, &popup, queued_at, deadline)
        });
        let kind = report.error_kind();
        complete(&ctx.logger, done, report);
        Some(kind)
    }
}

impl Task for RingingTask {
    fn class(&self) -> Class {
        Class::Popup
    }

    fn run(self: Box<Self>, cancelling: bool) -> PopupOutcome {
        let RingingTask {
            ctx,
            ringing,
            done,
            timing: Timing {
                queued_at,
                deadline,
            },
        } = *self;
        let unsent = |error: Error| Report::unsent(error, queued_at.elapsed());
        let lead_unsent = |error: Error| LeadReport::unsent(error, queued_at.elapsed());
        let both_unsent = |e: Error| RingingReport {
            popup: unsent(e.clone()),
            lead: lead_unsent(e),
        };
        let report = run_or_cancel(cancelling, both_unsent, || {
            let (ringing, number) = ringing.as_ringing();
            super::ringing::run(&ctx, &ringing, number, queued_at, deadline)
        });
        let kind = report.popup.error_kind();
        complete(&ctx.logger, done, report);
        Some(kind)
    }
}

impl Task for LookupTask {
    fn class(&self) -> Class {
        Class::Lookup
    }

    fn run(self: Box<Self>, cancelling: bool) -> PopupOutcome {
        let LookupTask {
            ctx,
            number,
            done,
            timing: Timing {
                queued_at,
                deadline,
            },
        } = *self;
        let lead_unsent = |error: Error| LeadReport::unsent(error, queued_at.elapsed());
        let report = run_or_cancel(cancelling, lead_unsent, || {
            super::find_lead::run(&ctx, &number, queued_at, deadline)
        });
        complete(&ctx.logger, done, report);
        None
    }
}
