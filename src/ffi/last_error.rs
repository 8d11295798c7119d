//! `lsq_last_error()`: the reason for the last failed call, per thread.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `reason` as this thread's last error.
pub(crate) fn set(reason: &str) {
    // Interior NULs cannot come from our messages, but never trust that.
    let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = reason);
}

/// Clears this thread's last error, at the start of a call.
pub(crate) fn clear() {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if !e.as_bytes().is_empty() {
            *e = CString::default();
        }
    });
}

/// A human-readable reason for the last failed lsq call on the calling
/// thread, or "" when it succeeded. Names the argument and the rule broken
/// for LSQ_ERR_INVALID_ARGUMENT. Never contains the keys. Never NULL.
///
/// The string belongs to the library and stays valid until the next lsq
/// call on the same thread: copy it if you need it longer.
#[no_mangle]
pub extern "C" fn lsq_last_error() -> *const c_char {
    // The pointer outlives the borrow: the CString's heap buffer is only
    // replaced by a later lsq call on this same thread, as documented.
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}
