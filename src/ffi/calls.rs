//! The two shapes of a request through the C API, written once: blocking
//! (read the input, call the core, write the C result, return its status)
//! and queued (read the input, hand the host's callback to the core as the
//! completion; a refusal is the returned status, and then no callback).
//! Popups, lead lookups, agents ringing and call logs differ only in their
//! input, their core call and their report, which [`CReport`] ties to its
//! C struct.

use std::ffi::c_void;
use std::time::{Duration, Instant};

use super::boundary::fallible;
use super::callbacks::completion;
use super::lead::lsq_lead;
use super::pointers::try_ref;
use super::ringing::lsq_ringing_result;
use super::status::lsq_status;
use super::types::{lsq_client, lsq_result};
use crate::report::{LeadReport, Report, RingingReport};
use crate::{Client, Error};

/// A core report and the C struct the host reads it from.
pub(crate) trait CReport: Sized + Send + 'static {
    /// The C struct: `lsq_result`, `lsq_lead`, `lsq_ringing_result`.
    type C;
    /// The report of a request refused before the core saw it (a NULL or
    /// malformed argument): nothing was sent.
    fn unsent(error: Error, elapsed: Duration) -> Self;
    /// The C struct for this report.
    fn to_c(&self) -> Self::C;
    /// Writes this report into the host's struct.
    fn write(&self, out: &mut Self::C) {
        *out = self.to_c();
    }
    /// What the call returns: `Ok` for LSQ_OK, else the error whose code
    /// is the status and whose message is the last error.
    fn outcome(self) -> Result<(), Error>;
}

impl CReport for Report {
    type C = lsq_result;
    fn unsent(error: Error, elapsed: Duration) -> Report {
        Report::unsent(error, elapsed)
    }
    fn to_c(&self) -> lsq_result {
        lsq_result::from_report(self)
    }
    /// Field by field, as the blocking popup and call log always wrote it.
    fn write(&self, out: &mut lsq_result) {
        out.fill(self);
    }
    fn outcome(self) -> Result<(), Error> {
        self.outcome.map(|_| ())
    }
}

impl CReport for LeadReport {
    type C = lsq_lead;
    fn unsent(error: Error, elapsed: Duration) -> LeadReport {
        LeadReport::unsent(error, elapsed)
    }
    fn to_c(&self) -> lsq_lead {
        lsq_lead::from_report(self)
    }
    fn outcome(self) -> Result<(), Error> {
        self.outcome.map(|_| ())
    }
}

impl CReport for RingingReport {
    type C = lsq_ringing_result;
    /// Both halves carry the reason: the status is the popup's.
    fn unsent(error: Error, elapsed: Duration) -> RingingReport {
        RingingReport {
            popup: Report::unsent(error.clone(), elapsed),
            lead: LeadReport::unsent(error, elapsed),
        }
    }
    fn to_c(&self) -> lsq_ringing_result {
        lsq_ringing_result::from_report(self)
    }
    fn outcome(self) -> Result<(), Error> {
        self.popup.outcome.map(|_| ())
    }
}

/// A host's completion callback for reports of type `R`.
pub(crate) type Callback<R> = Option<unsafe extern "C" fn(*const <R as CReport>::C, *mut c_void)>;

/// The host's callback as the core's completion (boxed: the core's async
/// calls take any closure, and this one's type cannot be named).
pub(crate) type Done<R> = Box<dyn FnOnce(R) + Send>;

/// A blocking request: `client` and the input (`read`) checked, the core
/// called, the report written to `out` (may be NULL) and its status
/// returned, the reason also in `lsq_last_error()`. An argument refused
/// here is reported as the core reports an invalid field: unsent.
///
/// # Safety
/// `client` is NULL or live; `out` is NULL or writable; `read` upholds the
/// contract of the pointers it reads.
pub(crate) unsafe fn blocking<I, R: CReport>(
    client: *const lsq_client,
    read: impl FnOnce() -> Result<I, Error>,
    call: impl FnOnce(&Client, I) -> R,
    out: *mut R::C,
) -> lsq_status {
    fallible(|| {
        let started = Instant::now();
        let report = (|| {
            // SAFETY: forwarded from this function's contract.
            let client = unsafe { try_ref(client, "client") }?;
            Ok(call(&client.client, read()?))
        })()
        .unwrap_or_else(|e| R::unsent(e, started.elapsed()));
        // SAFETY: forwarded from this function's contract.
        if let Some(out) = unsafe { out.as_mut() } {
            report.write(out);
        }
        report.outcome()
    })
}

/// A queued request: `client` and the input (`read`) checked, then
/// `submit`ted with the host's `callback` (may be NULL) and `user_data` as
/// its completion. LSQ_OK: the core took it and calls the completion
/// exactly once. Any other status: refused, and the completion is dropped
/// uncalled.
///
/// # Safety
/// `client` is NULL or live; `read` upholds the contract of the pointers
/// it reads; `callback` stays callable and `user_data` valid until the
/// callback has run.
pub(crate) unsafe fn queued<I, R: CReport>(
    client: *const lsq_client,
    read: impl FnOnce() -> Result<I, Error>,
    submit: impl FnOnce(&Client, I, Done<R>) -> Result<(), Error>,
    callback: Callback<R>,
    user_data: *mut c_void,
) -> lsq_status {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let client = unsafe { try_ref(client, "client") }?;
        let input = read()?;
        submit(
            &client.client,
            input,
            Box::new(completion(callback, user_data)),
        )
    })
}
