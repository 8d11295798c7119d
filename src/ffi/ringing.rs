//! `lsq_ringing`, `lsq_agent_ringing`, `lsq_agent_ringing_async`: an agent's
//! phone rings; liblsq finds the lead and the agent, then shows the popup.

use std::ffi::{c_char, c_void};

use super::calls::{blocking, queued};
use super::lead::lsq_lead;
use super::pointers::{read_direction, try_opt_str, try_ref, try_str};
use super::status::lsq_status;
use super::types::{lsq_client, lsq_result};
use crate::report::RingingReport;
use crate::{Client, Error, Ringing};

/// An agent's phone ringing for a call, filled by the caller. Strings are
/// NUL-terminated UTF-8 with no control characters, at most 256 bytes;
/// they are copied, so they may be freed when the call returns.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct lsq_ringing {
    /// The lead's number, as the PBX has it: looked up (normalised with the
    /// number plan options) and sent in the popup as given. Digits, '+',
    /// '-', ' ', '(', ')', '.'.
    pub caller_number: *const c_char,
    /// The agent's phone or extension. Same rules.
    pub agent_number: *const c_char,
    /// DisplayNumber: the IVR / virtual number. Same rules.
    pub display_number: *const c_char,
    /// LSQ_INBOUND (SourceNumber = caller, DestinationNumber = agent) or
    /// LSQ_OUTBOUND (the reverse).
    pub direction: u32,
    /// CallSessionId: the same for every leg, and for the call log.
    pub call_session_id: *const c_char,
    /// The agent: a UserId GUID, or the agent's e-mail address (looked up,
    /// and cached for `user_cache_ttl_ms`).
    pub user: *const c_char,
    /// Optional (NULL or ""): a known LeadId GUID; then nothing is looked up.
    pub lead_id: *const c_char,
    /// Optional (NULL or ""): Tag.
    pub tag: *const c_char,
}

/// How an agent ringing ended, filled by the library.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct lsq_ringing_result {
    /// The popup's result, as for `lsq_show_agent_popup`; LSQ_NO_MATCH (and
    /// no popup sent) when no lead was found or created.
    pub popup: lsq_result,
    /// The lead it was shown for: the lookup's result, or the lead_id given.
    pub lead: lsq_lead,
}

/// Called once with the result of `lsq_agent_ringing_async`, on a library
/// thread; `result` is valid only during the call.
pub type lsq_ringing_callback =
    Option<unsafe extern "C" fn(result: *const lsq_ringing_result, user_data: *mut c_void)>;

impl lsq_ringing_result {
    pub(crate) fn from_report(report: &RingingReport) -> lsq_ringing_result {
        lsq_ringing_result {
            popup: lsq_result::from_report(&report.popup),
            lead: lsq_lead::from_report(&report.lead),
        }
    }
}

/// Reads a C ringing, checking every pointer and the direction; the core
/// then applies the contract's field rules.
///
/// # Safety
/// Every string field is NULL or NUL-terminated and outlives `'a`.
unsafe fn read_ringing<'a>(r: &'a lsq_ringing) -> Result<Ringing<'a>, Error> {
    // SAFETY (all fields): forwarded from this function's contract.
    Ok(Ringing {
        caller_number: unsafe { try_str(r.caller_number, "caller_number") }?,
        agent_number: unsafe { try_str(r.agent_number, "agent_number") }?,
        display_number: unsafe { try_str(r.display_number, "display_number") }?,
        direction: read_direction(r.direction)?,
        call_session_id: unsafe { try_str(r.call_session_id, "call_session_id") }?,
        user: unsafe { try_str(r.user, "user") }?,
        lead_id: unsafe { try_opt_str(r.lead_id, "lead_id") }?,
        tag: unsafe { try_opt_str(r.tag, "tag") }?,
    })
}

/// An agent's phone rings: finds the lead by `caller_number` (unless
/// `lead_id` is given) and the agent's UserId (when `user` is an e-mail),
/// then shows the popup, all within `max_age_ms` of this call, and blocks
/// until it ends. No popup is sent without a lead (LSQ_NO_MATCH).
/// `dedup_window_ms` applies to (call_session_id, user) before any lookup.
/// Fills `result` (may be NULL) and returns `result->popup.status`. Do not
/// call it from a PBX's call thread: use the async call.
///
/// # Safety
/// `client` is NULL or live; `ringing` is NULL or valid with NULL or
/// NUL-terminated strings; `result` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lsq_agent_ringing(
    client: *mut lsq_client,
    ringing: *const lsq_ringing,
    result: *mut lsq_ringing_result,
) -> lsq_status {
    // SAFETY (both): forwarded from this function's contract.
    let read = || unsafe { read_ringing(try_ref(ringing, "ringing")?) };
    unsafe { blocking(client, read, |c, r| c.agent_ringing(&r), result) }
}

/// Validates and copies the ringing, queues it and returns at once: never
/// waits on the network, a lookup or the rate limiter. LSQ_OK means queued:
/// `callback` (may be NULL) is then called exactly once, on a library
/// thread, with the result and `user_data`. Any other return
/// (LSQ_ERR_INVALID_ARGUMENT, LSQ_ERR_QUEUE_FULL, LSQ_DUPLICATE) means not
/// queued, and no callback.
///
/// # Safety
/// As `lsq_agent_ringing`; `callback` stays callable and `user_data` valid
/// until the callback has run.
#[no_mangle]
pub unsafe extern "C" fn lsq_agent_ringing_async(
    client: *mut lsq_client,
    ringing: *const lsq_ringing,
    callback: lsq_ringing_callback,
    user_data: *mut c_void,
) -> lsq_status {
    // SAFETY (both): forwarded from this function's contract.
    let read = || unsafe { read_ringing(try_ref(ringing, "ringing")?) };
    let submit = |c: &Client, r: Ringing, done| c.agent_ringing_async(&r, done);
    unsafe { queued(client, read, submit, callback, user_data) }
}
