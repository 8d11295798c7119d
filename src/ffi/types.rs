//! The C structs, callback types and constants of the contract.

use std::ffi::{c_char, c_void};

use super::pointers::copy_to_buffer;
use super::status::lsq_status;
use crate::report::Report;
use crate::stats::Stats;

/// A client: create it with `lsq_client_new` or `lsq_client_new_with_options`,
/// share it between threads, free it with `lsq_free` as the last call on it.
pub struct lsq_client {
    pub(crate) client: crate::Client,
}

/// Options for `lsq_client_new_with_options`: create with `lsq_options_new`,
/// set with `lsq_options_set`, free with `lsq_options_free` (the client
/// keeps its own copy, so the options may be freed right after).
pub struct lsq_options {
    pub(crate) options: crate::Options,
}

/// `lsq_popup.direction`: the lead called in.
pub const LSQ_INBOUND: u32 = 0;
/// `lsq_popup.direction`: the agent called out.
pub const LSQ_OUTBOUND: u32 = 1;

/// Log level: a popup failed, or the library is misused.
pub const LSQ_LOG_ERROR: u32 = 0;
/// Log level: something degraded (retries, rate-limit answers, expiry).
pub const LSQ_LOG_WARN: u32 = 1;
/// Log level: notable events (a learned limit, start, shutdown).
pub const LSQ_LOG_INFO: u32 = 2;
/// Log level: per-popup detail (queued, sent, waits on the limiter).
pub const LSQ_LOG_DEBUG: u32 = 3;

/// Size of `lsq_result.message_id`, NUL included.
pub const LSQ_MESSAGE_ID_SIZE: usize = 64;
/// Size of `lsq_result.message`, NUL included.
pub const LSQ_MESSAGE_SIZE: usize = 256;

/// A popup to show, filled by the caller. Every string is NUL-terminated
/// UTF-8 of at most 256 bytes with no control characters; the library
/// copies what it needs, so the strings may be freed when the call returns.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct lsq_popup {
    /// SourceNumber: the lead's number on an inbound call, the agent's on an
    /// outbound one. Digits, '+', '-', ' ', '(', ')', '.'; at least one digit.
    pub source_number: *const c_char,
    /// DestinationNumber: the agent's number inbound, the lead's outbound. Same rules.
    pub destination_number: *const c_char,
    /// DisplayNumber: the IVR (virtual) number. Same rules.
    pub display_number: *const c_char,
    /// LSQ_INBOUND or LSQ_OUTBOUND; any other value is refused.
    pub direction: u32,
    /// CallSessionId: the PBX's unique id of the call (e.g. Asterisk's UNIQUEID).
    pub call_session_id: *const c_char,
    /// LeadId: the lead's GUID (8-4-4-4-12 hexadecimal digits).
    pub lead_id: *const c_char,
    /// UserId: the agent's LeadSquared user GUID.
    pub user_id: *const c_char,
    /// Tag: optional; NULL or "" leaves it out of the request.
    pub tag: *const c_char,
}

/// How a popup ended, filled by the library. Nothing in it needs freeing.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct lsq_result {
    /// LSQ_OK, or why not.
    pub status: lsq_status,
    /// The last HTTP status received, 0 when none.
    pub http_status: u16,
    /// HTTP requests made for this popup, 0 when none was sent.
    pub attempts: u16,
    /// From the call (async: from queuing) to this result, in milliseconds.
    pub elapsed_ms: u32,
    /// Message.Id on success, "" otherwise.
    pub message_id: [c_char; LSQ_MESSAGE_ID_SIZE],
    /// Message.Message on success; otherwise the reason (the server's
    /// ExceptionMessage when it gave one). Truncated on a UTF-8 boundary.
    pub message: [c_char; LSQ_MESSAGE_SIZE],
}

impl lsq_result {
    /// Fills the struct from a core report.
    pub(crate) fn fill(&mut self, report: &Report) {
        self.status = report.status_code();
        self.http_status = report.http_status;
        self.attempts = report.attempts;
        self.elapsed_ms = u32::try_from(report.elapsed.as_millis()).unwrap_or(u32::MAX);
        match &report.outcome {
            Ok(delivered) => {
                copy_to_buffer(&mut self.message_id, &delivered.message_id);
                copy_to_buffer(&mut self.message, &delivered.message);
            }
            Err(error) => {
                copy_to_buffer(&mut self.message_id, "");
                copy_to_buffer(&mut self.message, error.message());
            }
        }
    }

    /// A result made from a report.
    pub(crate) fn from_report(report: &Report) -> lsq_result {
        let mut result = lsq_result {
            status: 0,
            http_status: 0,
            attempts: 0,
            elapsed_ms: 0,
            message_id: [0; LSQ_MESSAGE_ID_SIZE],
            message: [0; LSQ_MESSAGE_SIZE],
        };
        result.fill(report);
        result
    }
}

/// A client's counters (`lsq_client_stats`). At rest,
/// submitted = succeeded + failed + queued + in_flight.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct lsq_stats {
    /// Popups accepted by a show call: valid and (async) queued. A refusal at
    /// the call (invalid argument, queue full, duplicate) is not counted here.
    pub submitted: u64,
    /// Ended LSQ_OK.
    pub succeeded: u64,
    /// Ended in any other status after being accepted.
    pub failed: u64,
    /// Of failed: LSQ_ERR_EXPIRED.
    pub expired: u64,
    /// Of failed: LSQ_ERR_CANCELLED.
    pub cancelled: u64,
    /// Refused with LSQ_ERR_QUEUE_FULL.
    pub dropped: u64,
    /// HTTP requests beyond the first, over all popups.
    pub retries: u64,
    /// Rate-limit answers received from the server.
    pub rate_limited: u64,
    /// Refused with LSQ_DUPLICATE.
    pub duplicates: u64,
    /// Waiting now.
    pub queued: u32,
    /// Being sent now (or their callback running).
    pub in_flight: u32,
}

impl From<Stats> for lsq_stats {
    fn from(s: Stats) -> lsq_stats {
        lsq_stats {
            submitted: s.submitted,
            succeeded: s.succeeded,
            failed: s.failed,
            expired: s.expired,
            cancelled: s.cancelled,
            dropped: s.dropped,
            retries: s.retries,
            rate_limited: s.rate_limited,
            duplicates: s.duplicates,
            queued: s.queued,
            in_flight: s.in_flight,
        }
    }
}

/// Called exactly once per queued async popup, on a library thread, with
/// its final result. `result` is valid only during the call. Keep it short
/// and never block in it for long: it holds up a worker. It must not call
/// `lsq_free` or `lsq_flush` on its own client, and must not throw (C++).
pub type lsq_popup_callback =
    Option<unsafe extern "C" fn(result: *const lsq_result, user_data: *mut c_void)>;

/// Receives log lines (`level` is an LSQ_LOG_* value) from any library
/// thread, so it must be thread-safe. `message` is valid only during the
/// call. Lines never contain the keys.
pub type lsq_log_callback =
    Option<unsafe extern "C" fn(level: u32, message: *const c_char, user_data: *mut c_void)>;
