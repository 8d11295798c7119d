//! Status codes, `lsq_status_str` and `lsq_version`.

use std::ffi::{c_char, CStr, CString};

use once_cell::sync::Lazy;

use super::boundary::infallible;
use crate::error::ErrorKind;

/// The result of a call or a popup. An integer (not a C enum) so that any
/// value a host passes in is defined behaviour; the values are stable
/// (a test checks them against the Rust core's `ErrorKind`).
pub type lsq_status = i32;

/// Success.
pub const LSQ_OK: lsq_status = 0;
/// Bad input: nothing was sent. `lsq_last_error()` names the argument and the rule.
pub const LSQ_ERR_INVALID_ARGUMENT: lsq_status = 1;
/// HTTP 400: the server refused the request body.
pub const LSQ_ERR_BAD_REQUEST: lsq_status = 2;
/// HTTP 401: check the keys and the regional host.
pub const LSQ_ERR_UNAUTHORIZED: lsq_status = 3;
/// HTTP 404.
pub const LSQ_ERR_NOT_FOUND: lsq_status = 4;
/// The server's rate limit, still hit when retries and max_age_ms ran out.
pub const LSQ_ERR_RATE_LIMITED: lsq_status = 5;
/// HTTP 5xx.
pub const LSQ_ERR_SERVER: lsq_status = 6;
/// Any other non-2xx status (redirects included: they are never followed).
pub const LSQ_ERR_HTTP: lsq_status = 7;
/// No complete answer within timeout_ms.
pub const LSQ_ERR_TIMEOUT: lsq_status = 8;
/// DNS, refused, proxy, or the connection reset/closed before an answer.
pub const LSQ_ERR_CONNECT: lsq_status = 9;
/// TLS handshake or certificate failure.
pub const LSQ_ERR_TLS: lsq_status = 10;
/// A 2xx whose body is not the documented success shape, or too large.
pub const LSQ_ERR_RESPONSE: lsq_status = 11;
/// The async queue is at capacity: the popup was not queued.
pub const LSQ_ERR_QUEUE_FULL: lsq_status = 12;
/// Could not be sent within max_age_ms: dropped, never sent late.
pub const LSQ_ERR_EXPIRED: lsq_status = 13;
/// The client was freed before the popup could be sent.
pub const LSQ_ERR_CANCELLED: lsq_status = 14;
/// A bug inside the library, caught at the boundary.
pub const LSQ_ERR_INTERNAL: lsq_status = 15;
/// Not sent: same CallSessionId and UserId within dedup_window_ms.
pub const LSQ_DUPLICATE: lsq_status = 16;
/// A lookup found no lead (or no user for an e-mail): nothing failed. For
/// `lsq_agent_ringing*`, no popup was sent because no lead was found (or
/// created).
pub const LSQ_NO_MATCH: lsq_status = 17;
/// The call-log outbox could not be opened, read or written: the log was
/// not accepted (nothing accepted before is lost).
pub const LSQ_ERR_STORAGE: lsq_status = 18;

/// A static, human-readable description of a status. Takes any integer:
/// one that is not a status gives "unknown status". Never NULL; never free it.
#[no_mangle]
pub extern "C" fn lsq_status_str(status: lsq_status) -> *const c_char {
    infallible(c"internal error".as_ptr(), || status_cstr(status).as_ptr())
}

/// The core's descriptions as C strings, built once: index 0 is success,
/// index n the ErrorKind with code n. One source of text for Rust and C.
static DESCRIPTIONS: Lazy<Vec<CString>> = Lazy::new(|| {
    std::iter::once("ok")
        .chain(ErrorKind::ALL.iter().map(|kind| kind.description()))
        .map(|text| CString::new(text).unwrap_or_default())
        .collect()
});

fn status_cstr(status: lsq_status) -> &'static CStr {
    usize::try_from(status)
        .ok()
        .and_then(|i| DESCRIPTIONS.get(i))
        .map_or(c"unknown status", CString::as_c_str)
}

/// The library's version, "0.1.0". Static; never free it.
#[no_mangle]
pub extern "C" fn lsq_version() -> *const c_char {
    infallible(c"".as_ptr(), || VERSION_CSTR.as_ptr())
}

/// [`crate::VERSION`] (the crate's version) as a C string, built once.
static VERSION_CSTR: Lazy<CString> = Lazy::new(|| CString::new(crate::VERSION).unwrap_or_default());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_the_core_codes() {
        let constants = [
            LSQ_ERR_INVALID_ARGUMENT,
            LSQ_ERR_BAD_REQUEST,
            LSQ_ERR_UNAUTHORIZED,
            LSQ_ERR_NOT_FOUND,
            LSQ_ERR_RATE_LIMITED,
            LSQ_ERR_SERVER,
            LSQ_ERR_HTTP,
            LSQ_ERR_TIMEOUT,
            LSQ_ERR_CONNECT,
            LSQ_ERR_TLS,
            LSQ_ERR_RESPONSE,
            LSQ_ERR_QUEUE_FULL,
            LSQ_ERR_EXPIRED,
            LSQ_ERR_CANCELLED,
            LSQ_ERR_INTERNAL,
            LSQ_DUPLICATE,
            LSQ_NO_MATCH,
            LSQ_ERR_STORAGE,
        ];
        for (constant, kind) in constants.iter().zip(ErrorKind::ALL) {
            assert_eq!(*constant, kind.code(), "{kind:?}");
        }
    }

    #[test]
    fn descriptions_match_the_core_and_version_matches_the_crate() {
        for kind in ErrorKind::ALL {
            assert_eq!(
                status_cstr(kind.code()).to_str().unwrap(),
                kind.description()
            );
        }
        assert_eq!(status_cstr(19).to_str().unwrap(), "unknown status");
        assert_eq!(status_cstr(i32::MIN).to_str().unwrap(), "unknown status");
        // SAFETY: lsq_version returns a static NUL-terminated string.
        let version = unsafe { std::ffi::CStr::from_ptr(lsq_version()) };
        assert_eq!(version.to_str().unwrap(), crate::VERSION);
    }
}
