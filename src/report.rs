//! The final result of one popup.

use std::time::Duration;

use crate::api::popup::Delivered;
use crate::error::{Error, ErrorKind};

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
