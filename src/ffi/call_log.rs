//! `lsq_call_log`, `lsq_log_call`, `lsq_log_call_async`, `lsq_outbox_count`:
//! call logs after hangup, durable and sent at least once.

use std::ffi::{c_char, c_void};

use super::boundary::fallible;
use super::calls::{blocking, queued};
use super::pointers::{read_direction, try_mut, try_opt_str, try_ref, try_str};
use super::status::lsq_status;
use super::types::{lsq_client, lsq_result};
use crate::{CallLog, CallStatus, Client, Error};

/// `lsq_call_log.status`: the call was answered ("Answered").
pub const LSQ_CALL_ANSWERED: u32 = 0;
/// `lsq_call_log.status`: the call was missed ("Missed").
pub const LSQ_CALL_MISSED: u32 = 1;

/// A call log, filled by the caller after hangup. Strings are
/// NUL-terminated UTF-8 with no control characters; they are copied.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct lsq_call_log {
    /// SourceNumber (inbound: the lead; outbound: the agent). Digits, '+',
    /// '-', ' ', '(', ')', '.'.
    pub source_number: *const c_char,
    /// DestinationNumber. Same rules.
    pub destination_number: *const c_char,
    /// DisplayNumber. Same rules.
    pub display_number: *const c_char,
    /// LSQ_INBOUND or LSQ_OUTBOUND.
    pub direction: u32,
    /// CallSessionId: the popup's.
    pub call_session_id: *const c_char,
    /// LSQ_CALL_ANSWERED or LSQ_CALL_MISSED.
    pub status: u32,
    /// Unix seconds: StartTime (after 2000-01-01, at most a day ahead).
    pub start_time: i64,
    /// Unix seconds: EndTime (not before start_time).
    pub end_time: i64,
    /// CallDuration: seconds of conversation (at most end_time - start_time).
    pub duration_s: u32,
    /// Optional (NULL or ""): the agent, a UserId GUID or an e-mail address
    /// (resolved when the log is sent; left out if no active user has it).
    pub user: *const c_char,
    /// Optional: LeadId (a GUID); LeadSquared matches or creates by number.
    pub lead_id: *const c_char,
    /// Optional: ResourceURL, the recording (absolute http(s) URL, at most
    /// 2048 bytes).
    pub resource_url: *const c_char,
    /// Optional: CallerSource, at most 50 characters.
    pub caller_source: *const c_char,
    /// Optional: Tag.
    pub tag: *const c_char,
}

/// Called once with the final result of an async call log, on a library
/// thread; `result` is valid only during the call.
pub type lsq_result_callback =
    Option<unsafe extern "C" fn(result: *const lsq_result, user_data: *mut c_void)>;

/// Reads a C call log, checking every pointer and enum value.
///
/// # Safety
/// Every string field is NULL or NUL-terminated and outlives `'a`.
unsafe fn read_call_log<'a>(l: &'a lsq_call_log) -> Result<CallLog<'a>, Error> {
    // SAFETY (all fields): forwarded from this function's contract.
    Ok(CallLog {
        source_number: unsafe { try_str(l.source_number, "source_number") }?,
        destination_number: unsafe { try_str(l.destination_number, "destination_number") }?,
        display_number: unsafe { try_str(l.display_number, "display_number") }?,
        direction: read_direction(l.direction)?,
        call_session_id: unsafe { try_str(l.call_session_id, "call_session_id") }?,
        status: CallStatus::from_code(l.status).ok_or_else(|| {
            Error::invalid(format!(
                "status: {} is not LSQ_CALL_ANSWERED (0) or LSQ_CALL_MISSED (1)",
                l.status
            ))
        })?,
        start_time: l.start_time,
        end_time: l.end_time,
        duration_s: l.duration_s,
        user: unsafe { try_opt_str(l.user, "user") }?,
        lead_id: unsafe { try_opt_str(l.lead_id, "lead_id") }?,
        resource_url: unsafe { try_opt_str(l.resource_url, "resource_url") }?,
        caller_source: unsafe { try_opt_str(l.caller_source, "caller_source") }?,
        tag: unsafe { try_opt_str(l.tag, "tag") }?,
    })
}

/// Logs a call and blocks for one delivery attempt cycle: validates it
/// (nothing stored if a field is bad), stores it in the outbox (committed
/// and synced when the option `outbox` is set), sends it, and returns the
/// cycle's status in `result` (may be NULL). A failure worth retrying
/// (connect, timeout, rate limit, 5xx, 401, 404) leaves the log pending:
/// the library's workers send it later. LSQ_ERR_STORAGE: it could not be
/// stored (nothing accepted before is lost).
///
/// # Safety
/// `client` is NULL or live; `log` is NULL or valid with NULL or
/// NUL-terminated strings; `result` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lsq_log_call(
    client: *mut lsq_client,
    log: *const lsq_call_log,
    result: *mut lsq_result,
) -> lsq_status {
    // SAFETY (both): forwarded from this function's contract.
    let read = || unsafe { read_call_log(try_ref(log, "log")?) };
    unsafe { blocking(client, read, |c, l| c.log_call(&l), result) }
}

/// Logs a call and returns once it is stored: with the option `outbox`,
/// LSQ_OK means committed and synced to disk, and the log is then sent at
/// least once, whatever happens to the process (a log still pending when
/// the process dies is sent by the next client opened on the same outbox).
/// `callback` (may be NULL) is called exactly once, on a library thread,
/// when the log is delivered or dead, or with LSQ_ERR_CANCELLED when the
/// client is freed first (the log stays pending in an outbox file). Any
/// other return (LSQ_ERR_INVALID_ARGUMENT, LSQ_ERR_STORAGE) means not
/// stored, and no callback.
///
/// # Safety
/// As `lsq_log_call`; `callback` stays callable and `user_data` valid
/// until the callback has run.
#[no_mangle]
pub unsafe extern "C" fn lsq_log_call_async(
    client: *mut lsq_client,
    log: *const lsq_call_log,
    callback: lsq_result_callback,
    user_data: *mut c_void,
) -> lsq_status {
    // SAFETY (both): forwarded from this function's contract.
    let read = || unsafe { read_call_log(try_ref(log, "log")?) };
    let submit = |c: &Client, l: CallLog, done| c.log_call_async(&l, done);
    unsafe { queued(client, read, submit, callback, user_data) }
}

/// Counts the call logs in the outbox: `pending` (not yet delivered) and
/// `dead` (kept with their last status and reason, never sent again unless
/// an admin runs `lsq-outbox PATH retry`). Either pointer may be NULL.
///
/// # Safety
/// `client` is NULL or live; `pending` and `dead` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lsq_outbox_count(
    client: *const lsq_client,
    pending: *mut u64,
    dead: *mut u64,
) -> lsq_status {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let client = unsafe { try_ref(client, "client") }?;
        let (p, d) = client.client.outbox_count()?;
        if !pending.is_null() {
            // SAFETY: non-NULL and writable, as this function's contract says.
            *unsafe { try_mut(pending, "pending") }? = p;
        }
        if !dead.is_null() {
            // SAFETY: as above.
            *unsafe { try_mut(dead, "dead") }? = d;
        }
        Ok(())
    })
}
