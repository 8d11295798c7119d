//! The final results of a popup, a lead lookup and an agent ringing.

use std::time::Duration;

use crate::api::popup::Delivered;
use crate::error::{Error, ErrorKind};
use crate::lookup::Found;

/// How a popup ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Shown, or why not. Messages never contain the keys.
    pub outcome: Result<Delivered, Error>,
    /// The last HTTP status received, 0 when none.
    pub http_status: u16,
    /// HTTP requests made for this popup, 0 when none was sent.
    pub attempts: u16,
    /// From the call (async: from queuing) to this report.
    pub elapsed: Duration,
}

impl Report {
    /// A popup that ended before any request: refused, expired or cancelled.
    pub fn unsent(error: Error, elapsed: Duration) -> Report {
        Report {
            outcome: Err(error),
            http_status: 0,
            attempts: 0,
            elapsed,
        }
    }

    /// The contract's status: 0 for success, else the error's number.
    pub fn status_code(&self) -> i32 {
        match &self.outcome {
            Ok(_) => 0,
            Err(e) => e.kind().code(),
        }
    }

    /// The error kind, if it failed.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.outcome.as_ref().err().map(Error::kind)
    }
}

/// How a lead lookup ended (`lsq_find_lead*`, and the lead of an agent
/// ringing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadReport {
    /// The lead found (or created), or why not: `NoMatch` when no lead has
    /// the number (nothing failed). Messages never contain the keys.
    pub outcome: Result<Found, Error>,
    /// The last HTTP status received, 0 when none (cache hit, invalid input).
    pub http_status: u16,
    /// HTTP requests made, 0 when answered from the cache.
    pub attempts: u16,
    /// From the call (async: from queuing) to this report.
    pub elapsed: Duration,
    /// Answered from the cache.
    pub cached: bool,
}

impl LeadReport {
    /// A lookup that ended before any request.
    pub fn unsent(error: Error, elapsed: Duration) -> LeadReport {
        LeadReport {
            outcome: Err(error),
            http_status: 0,
            attempts: 0,
            elapsed,
            cached: false,
        }
    }

    /// The error kind, if it failed (`NoMatch` included).
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.outcome.as_ref().err().map(Error::kind)
    }
}

/// How an agent ringing ended: the popup, and the lead it was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingingReport {
    /// The popup: `NoMatch` (and no popup sent) when no lead was found.
    pub popup: Report,
    /// The lead: the lookup's result, or the `lead_id` given.
    pub lead: LeadReport,
}
