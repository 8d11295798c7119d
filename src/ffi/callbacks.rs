//! Turns C callbacks and their `user_data` into the core's Rust closures.

use std::ffi::{c_void, CString};
use std::sync::Arc;

use super::calls::{CReport, Callback};
use crate::log::{Level, LogSink};

/// The host's `user_data` pointer, carried to a library thread.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);

// SAFETY: the library never dereferences user_data; it only hands it back to
// the host's callback, and the contract tells the host that callbacks run on
// library threads. Thread-safety of what it points to is the host's promise.
unsafe impl Send for UserData {}
// SAFETY: as above; the log callback may run on several threads at once, as documented.
unsafe impl Sync for UserData {}

/// The completion for an async call: turns the core's report into its C
/// struct and calls the host's callback, if any, with it.
pub(crate) fn completion<R: CReport>(
    callback: Callback<R>,
    user_data: *mut c_void,
) -> impl FnOnce(R) + Send {
    let user_data = UserData(user_data);
    move |report: R| {
        let user_data = user_data;
        if let Some(callback) = callback {
            let result = report.to_c();
            // SAFETY: a function pointer the host gave us for this purpose,
            // called with a result valid for the duration of the call.
            unsafe { callback(&result, user_data.0) };
        }
    }
}

/// A log sink that forwards lines to the host's callback.
pub(crate) fn log_sink(
    callback: unsafe extern "C" fn(u32, *const std::ffi::c_char, *mut c_void),
    user_data: *mut c_void,
) -> LogSink {
    let user_data = UserData(user_data);
    Arc::new(move |level: Level, line: &str| {
        let user_data = user_data;
        let line = CString::new(line.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the host's log callback, called with a NUL-terminated line
        // valid for the duration of the call.
        unsafe { callback(level as u32, line.as_ptr(), user_data.0) };
    })
}
