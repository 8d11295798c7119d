//! The panic boundary: the only place a Rust panic is caught on its way to C.

/// Runs `$body` and returns its value; if it panics, records a reason for
/// `lsq_last_error()` and returns `$on_panic` instead (LSQ_ERR_INTERNAL,
/// NULL, or nothing). Unwinding into C would be undefined behaviour, and
/// aborting would take the PBX down with us.
macro_rules! ffi_boundary {
    ($on_panic:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => {
                $crate::ffi::last_error::set(
                    "internal error: a panic inside liblsq was caught; please report it",
                );
                $on_panic
            }
        }
    }};
}
