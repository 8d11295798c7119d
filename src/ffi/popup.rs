//! `lsq_show_agent_popup`, `lsq_show_agent_popup_async`, `lsq_flush`.

use std::ffi::c_void;
use std::time::Duration;

use super::boundary::fallible;
use super::calls::{blocking, queued};
use super::pointers::{read_direction, try_opt_str, try_ref, try_str};
use super::status::lsq_status;
use super::types::{lsq_client, lsq_popup, lsq_popup_callback, lsq_result};
use crate::{Client, Error, Popup};

/// Reads a C popup, checking every pointer and the direction; the core
/// then applies the contract's field rules.
///
/// # Safety
/// Every string field is NULL or NUL-terminated and outlives `'a`.
unsafe fn read_popup<'a>(p: &'a lsq_popup) -> Result<Popup<'a>, Error> {
    // SAFETY (all fields): forwarded from this function's contract.
    Ok(Popup {
        source_number: unsafe { try_str(p.source_number, "source_number") }?,
        destination_number: unsafe { try_str(p.destination_number, "destination_number") }?,
        display_number: unsafe { try_str(p.display_number, "display_number") }?,
        direction: read_direction(p.direction)?,
        call_session_id: unsafe { try_str(p.call_session_id, "call_session_id") }?,
        lead_id: unsafe { try_str(p.lead_id, "lead_id") }?,
        user_id: unsafe { try_str(p.user_id, "user_id") }?,
        tag: unsafe { try_opt_str(p.tag, "tag") }?,
    })
}

/// Shows a popup and blocks until it ends: validation (nothing is sent if a
/// field is bad), the rate limiter, the request and its retries, within
/// `max_age_ms` plus the last attempt's `timeout_ms`. Fills `result` (may be
/// NULL) and returns `result->status`; on failure `lsq_last_error()` holds
/// the same reason as `result->message`. Do not call it from a PBX's call
/// thread unless blocking there is acceptable: use the async call.
///
/// # Safety
/// `client` is NULL or live; `popup` is NULL or valid with NULL or
/// NUL-terminated strings; `result` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lsq_show_agent_popup(
    client: *mut lsq_client,
    popup: *const lsq_popup,
    result: *mut lsq_result,
) -> lsq_status {
    // SAFETY (both): forwarded from this function's contract.
    let read = || unsafe { read_popup(try_ref(popup, "popup")?) };
    unsafe { blocking(client, read, |c, p| c.show_agent_popup(&p), result) }
}

/// Validates and copies the popup, queues it and returns at once: never
/// waits on the network, the rate limiter or a full queue. LSQ_OK means
/// queued: `callback` (may be NULL) is then called exactly once, on a
/// library thread, with the final result and `user_data`. Any other return
/// (LSQ_ERR_INVALID_ARGUMENT, LSQ_ERR_QUEUE_FULL, LSQ_DUPLICATE) means not
/// queued, and no callback.
///
/// # Safety
/// As `lsq_show_agent_popup`; `callback` stays callable and `user_data`
/// valid until the callback has run.
#[no_mangle]
pub unsafe extern "C" fn lsq_show_agent_popup_async(
    client: *mut lsq_client,
    popup: *const lsq_popup,
    callback: lsq_popup_callback,
    user_data: *mut c_void,
) -> lsq_status {
    // SAFETY (both): forwarded from this function's contract.
    let read = || unsafe { read_popup(try_ref(popup, "popup")?) };
    let submit = |c: &Client, p: Popup, done| c.show_agent_popup_async(&p, done);
    unsafe { queued(client, read, submit, callback, user_data) }
}

/// Waits until nothing is queued or in flight (every callback has
/// returned), or returns LSQ_ERR_TIMEOUT after `timeout_ms`. From one of the
/// client's own callbacks it returns LSQ_ERR_INVALID_ARGUMENT at once.
///
/// # Safety
/// `client` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lsq_flush(client: *mut lsq_client, timeout_ms: u32) -> lsq_status {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let client = unsafe { try_ref(client, "client") }?;
        client
            .client
            .flush(Duration::from_millis(timeout_ms.into()))
    })
}
