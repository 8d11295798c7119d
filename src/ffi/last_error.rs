//! `lsq_last_error()`: the reason for the last failed call, per thread.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use super::boundary::infallible;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

// Every access below uses `try_with` and `try_borrow*`: `with` panics when
// the thread's locals are being torn down (a host thread calling us from
// its own TLS destructor), and a panic here may be on the panic boundary's
// own error path, where nothing catches it. Failing to record a reason is
// harmless; aborting the host is not.

/// Records `reason` as this thread's last error.
pub(crate) fn set(reason: &str) {
    // Interior NULs cannot come from our messages, but never trust that.
    let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            *e = reason;
        }
    });
}

/// Clears this thread's last error, at the start of a call.
pub(crate) fn clear() {
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            if !e.as_bytes().is_empty() {
                *e = CString::default();
            }
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
    infallible(c"".as_ptr(), || {
        // The pointer outlives the borrow: the CString's heap buffer is only
        // replaced by a later lsq call on this same thread, as documented.
        // While the thread's locals are torn down there is no reason to give.
        LAST_ERROR
            .try_with(|e| e.try_borrow().map(|e| e.as_ptr()).ok())
            .ok()
            .flatten()
            .unwrap_or(c"".as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static LATE: Late = const { Late };
    }

    /// Calls the library from a thread-local destructor, the way a host's
    /// TLS cleanup might, after LAST_ERROR may already be gone.
    struct Late;

    impl Drop for Late {
        fn drop(&mut self) {
            set("late");
            clear();
            let reason = lsq_last_error();
            assert!(!reason.is_null());
        }
    }

    #[test]
    fn calls_during_thread_local_teardown_never_panic() {
        let ok = std::thread::spawn(|| {
            // Registered after LAST_ERROR is first touched, so destroyed first
            // or later depending on the platform: both orders must be safe.
            set("early");
            LATE.with(|_| {});
        })
        .join();
        assert!(ok.is_ok());
        let ok = std::thread::spawn(|| {
            LATE.with(|_| {});
            set("after");
        })
        .join();
        assert!(ok.is_ok());
    }
}
