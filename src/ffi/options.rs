//! `lsq_options_*`: building the options of a client.

use std::ffi::{c_char, c_void};

use super::boundary::{fallible, infallible};
use super::callbacks::log_sink;
use super::pointers::{try_mut, try_str};
use super::status::lsq_status;
use super::types::{lsq_log_callback, lsq_options};
use crate::log::Logger;

/// New options holding the contract's defaults. Free with
/// `lsq_options_free`. NULL only if memory ran out.
#[no_mangle]
pub extern "C" fn lsq_options_new() -> *mut lsq_options {
    fallible(|| {
        Ok(Box::into_raw(Box::new(lsq_options {
            options: crate::Options::default(),
        })))
    })
}

/// Sets one option from its string form (see the options table in the
/// README). An unknown key or a bad value returns LSQ_ERR_INVALID_ARGUMENT,
/// leaves the options unchanged, and `lsq_last_error()` says why.
///
/// # Safety
/// `options` is NULL or from `lsq_options_new`; `key` and `value` are NULL
/// or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn lsq_options_set(
    options: *mut lsq_options,
    key: *const c_char,
    value: *const c_char,
) -> lsq_status {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let options = unsafe { try_mut(options, "options") }?;
        let key = unsafe { try_str(key, "key") }?;
        let value = unsafe { try_str(value, "value") }?;
        options.options.set(key, value)
    })
}

/// Sets (or, with a NULL `callback`, removes) the log callback of clients
/// created from these options. It is called from library threads with an
/// LSQ_LOG_* level and a line that never contains the keys; `user_data` is
/// passed through. Without a callback the library is silent.
///
/// # Safety
/// `options` is NULL or from `lsq_options_new`; `callback` stays callable
/// and `user_data` valid until every client made from these options is freed.
#[no_mangle]
pub unsafe extern "C" fn lsq_options_set_log_callback(
    options: *mut lsq_options,
    callback: lsq_log_callback,
    user_data: *mut c_void,
) -> lsq_status {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let options = unsafe { try_mut(options, "options") }?;
        options.options.logger = match callback {
            Some(callback) => Logger::new(log_sink(callback, user_data)),
            None => Logger::default(),
        };
        Ok(())
    })
}

/// Frees options. NULL does nothing.
///
/// # Safety
/// `options` is NULL or from `lsq_options_new`, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lsq_options_free(options: *mut lsq_options) {
    infallible((), || {
        if !options.is_null() {
            // SAFETY: created by Box::into_raw in lsq_options_new, freed once.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}
