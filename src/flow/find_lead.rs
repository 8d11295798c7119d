//! A lookup asked for on its own (`lsq_find_lead*`): the lead for a number,
//! within `max_age_ms` of the call.

use std::time::Instant;

use crate::context::Context;
use crate::flow::leads::find_lead;
use crate::phone::Normalised;
use crate::report::LeadReport;
use crate::sched::job::Class;

/// Finds the lead for `number`, started at `started`, nothing sent after `deadline`.
pub(crate) fn run(
    shared: &Context,
    number: &Normalised,
    started: Instant,
    deadline: Instant,
) -> LeadReport {
    shared.test_panic("lookup");
    let found = find_lead(shared, number, Class::Lookup, deadline);
    LeadReport {
        outcome: found.outcome,
        http_status: found.http_status,
        attempts: found.attempts,
        elapsed: started.elapsed(),
        cached: found.cached,
    }
}
