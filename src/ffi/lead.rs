//! `lsq_lead`, `lsq_find_lead`, `lsq_find_lead_async`: the lead for a
//! caller's number.

use std::ffi::{c_char, c_void};

use super::boundary::fallible;
use super::calls::{blocking, queued};
use super::pointers::{copy_to_buffer, try_str};
use super::status::lsq_status;
use super::types::lsq_client;
use crate::report::LeadReport;
use crate::{Client, Error};

/// Size of `lsq_lead.lead_id`, NUL included.
pub const LSQ_LEAD_ID_SIZE: usize = 64;
/// Size of `lsq_lead.owner_id`, NUL included.
pub const LSQ_LEAD_OWNER_ID_SIZE: usize = 64;
/// Size of `lsq_lead.first_name` and `lsq_lead.last_name`, NUL included.
pub const LSQ_LEAD_NAME_SIZE: usize = 128;
/// Size of `lsq_lead.email`, NUL included.
pub const LSQ_LEAD_EMAIL_SIZE: usize = 256;
/// Size of `lsq_lead.phone`, NUL included.
pub const LSQ_LEAD_PHONE_SIZE: usize = 64;
/// Size of `lsq_lead.company`, NUL included.
pub const LSQ_LEAD_COMPANY_SIZE: usize = 128;
/// Size of `lsq_lead.stage`, NUL included.
pub const LSQ_LEAD_STAGE_SIZE: usize = 64;
/// Size of `lsq_lead.message`, NUL included.
pub const LSQ_LEAD_MESSAGE_SIZE: usize = 256;

/// A lead lookup's result, filled by the library. Strings are
/// NUL-terminated and cut on a UTF-8 boundary when too long; a field
/// LeadSquared left empty or null is "". Nothing in it needs freeing.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct lsq_lead {
    /// LSQ_OK: found (or created); LSQ_NO_MATCH: no lead has the number
    /// (nothing failed); else why the lookup failed.
    pub status: lsq_status,
    /// The last HTTP status received, 0 when none (cache hit, invalid input).
    pub http_status: u16,
    /// HTTP requests made, 0 when answered from the cache.
    pub attempts: u16,
    /// From the call (async: from queuing) to this result, in milliseconds.
    pub elapsed_ms: u32,
    /// 1 when answered from the cache.
    pub cached: u8,
    /// 1 when liblsq created this lead (`unknown_caller=create`).
    pub created: u8,
    /// ProspectID: the LeadId.
    pub lead_id: [c_char; LSQ_LEAD_ID_SIZE],
    /// OwnerId: the lead owner's UserId ("" when absent).
    pub owner_id: [c_char; LSQ_LEAD_OWNER_ID_SIZE],
    /// FirstName.
    pub first_name: [c_char; LSQ_LEAD_NAME_SIZE],
    /// LastName.
    pub last_name: [c_char; LSQ_LEAD_NAME_SIZE],
    /// EmailAddress.
    pub email: [c_char; LSQ_LEAD_EMAIL_SIZE],
    /// Phone, else Mobile.
    pub phone: [c_char; LSQ_LEAD_PHONE_SIZE],
    /// Company.
    pub company: [c_char; LSQ_LEAD_COMPANY_SIZE],
    /// ProspectStage.
    pub stage: [c_char; LSQ_LEAD_STAGE_SIZE],
    /// "" on success; else the reason.
    pub message: [c_char; LSQ_LEAD_MESSAGE_SIZE],
}

/// Called once with the result of `lsq_find_lead_async`, on a library
/// thread; `lead` is valid only during the call.
pub type lsq_lead_callback =
    Option<unsafe extern "C" fn(lead: *const lsq_lead, user_data: *mut c_void)>;

impl lsq_lead {
    /// A result made from a core report.
    pub(crate) fn from_report(report: &LeadReport) -> lsq_lead {
        let mut lead = lsq_lead {
            status: 0,
            http_status: report.http_status,
            attempts: report.attempts,
            elapsed_ms: u32::try_from(report.elapsed.as_millis()).unwrap_or(u32::MAX),
            cached: u8::from(report.cached),
            created: 0,
            lead_id: [0; LSQ_LEAD_ID_SIZE],
            owner_id: [0; LSQ_LEAD_OWNER_ID_SIZE],
            first_name: [0; LSQ_LEAD_NAME_SIZE],
            last_name: [0; LSQ_LEAD_NAME_SIZE],
            email: [0; LSQ_LEAD_EMAIL_SIZE],
            phone: [0; LSQ_LEAD_PHONE_SIZE],
            company: [0; LSQ_LEAD_COMPANY_SIZE],
            stage: [0; LSQ_LEAD_STAGE_SIZE],
            message: [0; LSQ_LEAD_MESSAGE_SIZE],
        };
        match &report.outcome {
            Ok(found) => {
                let l = &found.lead;
                lead.created = u8::from(found.created);
                copy_to_buffer(&mut lead.lead_id, &l.lead_id);
                copy_to_buffer(&mut lead.owner_id, &l.owner_id);
                copy_to_buffer(&mut lead.first_name, &l.first_name);
                copy_to_buffer(&mut lead.last_name, &l.last_name);
                copy_to_buffer(&mut lead.email, &l.email);
                copy_to_buffer(&mut lead.phone, &l.phone);
                copy_to_buffer(&mut lead.company, &l.company);
                copy_to_buffer(&mut lead.stage, &l.stage);
            }
            Err(e) => {
                lead.status = e.kind().code();
                copy_to_buffer(&mut lead.message, e.message());
            }
        }
        lead
    }
}

/// Finds the lead for `phone`, a number as the PBX gives it (`+91 86117
/// 95988`, `08611795988`, `0091...`, `tel:+91...`), normalised with the
/// options `default_country_code`, `trunk_prefix` and `international_prefix`,
/// and blocks until it ends: from the cache, else one request shared with
/// concurrent lookups of the same number, else (with `unknown_caller=create`)
/// a lead created for it. Fills `lead` (which may not be NULL) and returns
/// `lead->status`: LSQ_OK, LSQ_NO_MATCH (no lead; nothing failed), or why it
/// failed (the reason also in `lsq_last_error()`).
///
/// # Safety
/// `client` is NULL or live; `phone` is NULL or NUL-terminated; `lead` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lsq_find_lead(
    client: *mut lsq_client,
    phone: *const c_char,
    lead: *mut lsq_lead,
) -> lsq_status {
    // Unlike the popup's result, the lead is the answer: checked first.
    if lead.is_null() {
        return fallible(|| Err(Error::invalid("lead: must not be NULL")));
    }
    // SAFETY (both): forwarded from this function's contract.
    let read = || unsafe { try_str(phone, "phone") };
    unsafe { blocking(client, read, |c, phone| c.find_lead(phone), lead) }
}

/// Normalises and copies `phone`, queues the lookup and returns at once.
/// LSQ_OK means queued: `callback` (may be NULL) is then called exactly
/// once, on a library thread, with the result and `user_data`. Any other
/// return (LSQ_ERR_INVALID_ARGUMENT, LSQ_ERR_QUEUE_FULL) means not queued,
/// and no callback.
///
/// # Safety
/// As `lsq_find_lead`; `callback` stays callable and `user_data` valid
/// until the callback has run.
#[no_mangle]
pub unsafe extern "C" fn lsq_find_lead_async(
    client: *mut lsq_client,
    phone: *const c_char,
    callback: lsq_lead_callback,
    user_data: *mut c_void,
) -> lsq_status {
    // SAFETY (both): forwarded from this function's contract.
    let read = || unsafe { try_str(phone, "phone") };
    let submit = |c: &Client, phone: &str, done| c.find_lead_async(phone, done);
    unsafe { queued(client, read, submit, callback, user_data) }
}
