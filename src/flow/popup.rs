//! A popup, when the LeadId and UserId are known: one request, its report
//! scrubbed of the keys, a failure logged.

use std::time::Instant;

use crate::api::popup::{self, Delivered, Popup};
use crate::context::Context;
use crate::log::Level;
use crate::report::Report;
use crate::request::attempt;
use crate::sched::job::Class;

/// Delivers one validated popup, started at `started`, which must not be
/// sent after `deadline`.
pub(crate) fn deliver_popup(
    ctx: &Context,
    popup: &Popup<'_>,
    started: Instant,
    deadline: Instant,
) -> Report {
    ctx.test_panic("deliver");
    let body = popup::body(popup);
    let what = format_args!("call {}: popup", popup.call_session_id);
    let done = attempt(
        ctx,
        Class::Popup,
        &what,
        &popup::request(&body),
        popup::parse_success,
        ctx.settings.max_retries,
        deadline,
    );
    // A server may echo what it was sent: scrub the keys from a success answer too.
    let scrub = |text: &str| ctx.credentials.scrub(text);
    let report = Report {
        outcome: done.outcome.map(|d| Delivered {
            message_id: scrub(&d.message_id),
            message: scrub(&d.message),
        }),
        http_status: done.http_status,
        attempts: done.attempts,
        elapsed: started.elapsed(),
    };
    if let Err(e) = &report.outcome {
        ctx.logger.log(Level::Error, || {
            format!(
                "call {}: popup failed after {} attempt(s): {}",
                popup.call_session_id, report.attempts, e
            )
        });
    }
    report
}
