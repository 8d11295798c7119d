//! What waits in the async queue: a job of one kind (a popup, an agent
//! ringing, a lookup), when it was queued, when it expires, and the
//! completion to call exactly once with its report.

use std::time::Instant;

use crate::api::popup::OwnedPopup;
use crate::call_logs::LogJob;
use crate::error::Error;
use crate::flow::ringing::OwnedRinging;
use crate::phone::Normalised;
use crate::report::{LeadReport, Report, RingingReport};

/// Called once with the final report of an async call.
pub type Completion<R> = Box<dyn FnOnce(R) + Send + 'static>;

/// The urgency classes of "One account, one budget": a free worker takes
/// the most urgent job waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    /// A popup, and the lookups it waits on: a ringing phone does not wait.
    Popup = 0,
    /// A lookup asked for on its own.
    Lookup = 1,
    /// A call log: durable, it can wait.
    Log = 2,
}

impl Class {
    pub const COUNT: usize = 3;

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The work of a job, with its completion.
pub(crate) enum Work {
    Popup(OwnedPopup, Completion<Report>),
    Ringing(OwnedRinging, Completion<RingingReport>),
    Lookup(Normalised, Completion<LeadReport>),
    /// A call log to send (its completion, if any, waits in `CallLogs`).
    Log(LogJob),
    /// The completion of a call log that shutdown ends before it was sent.
    Cancel(Completion<Report>, Error),
}

/// A queued job.
pub(crate) struct Job {
    pub work: Work,
    pub queued_at: Instant,
    pub deadline: Instant,
}

impl Job {
    pub fn class(&self) -> Class {
        match self.work {
            Work::Popup(..) | Work::Ringing(..) => Class::Popup,
            Work::Lookup(..) => Class::Lookup,
            Work::Log(..) | Work::Cancel(..) => Class::Log,
        }
    }

    /// Whether it counts in the popup statistics (`lsq_stats`): a popup,
    /// or an agent ringing (which ends in a popup).
    pub fn is_popup(&self) -> bool {
        self.class() == Class::Popup
    }
}
