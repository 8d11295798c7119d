//! Typed helpers that turn C pointers into Rust references and strings,
//! with a reason naming the argument when they cannot.

use std::ffi::{c_char, CStr};

use crate::error::Error;

/// A required reference. NULL is an invalid argument named `what`.
///
/// # Safety
/// `ptr` is NULL or points to a valid `T` for `'a`.
pub(crate) unsafe fn try_ref<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: the caller guarantees `ptr` is NULL or valid; NULL is handled.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::invalid(format!("{what}: must not be NULL")))
}

/// A required mutable reference.
///
/// # Safety
/// `ptr` is NULL or points to a valid, unaliased `T` for `'a`.
pub(crate) unsafe fn try_mut<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Error> {
    // SAFETY: the caller guarantees `ptr` is NULL or valid and unaliased.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::invalid(format!("{what}: must not be NULL")))
}

/// A required NUL-terminated UTF-8 string.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn try_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what}: is required (NULL)")));
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller guarantees.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|e| {
        Error::invalid(format!(
            "{what}: not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

/// An optional string: NULL is `None`.
///
/// # Safety
/// As [`try_str`].
pub(crate) unsafe fn try_opt_str<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { try_str(ptr, what) }.map(Some)
    }
}

/// Copies `text` into a fixed C buffer, truncated on a UTF-8 boundary, and
/// always NUL-terminated.
pub(crate) fn copy_to_buffer<const N: usize>(buffer: &mut [c_char; N], text: &str) {
    let mut end = text.len().min(N - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for (slot, &byte) in buffer.iter_mut().zip(&text.as_bytes()[..end]) {
        *slot = byte as c_char;
    }
    buffer[end] = 0;
}

/// A C `direction` (any integer may arrive): `LSQ_INBOUND` or
/// `LSQ_OUTBOUND`, else refused naming the field and the value.
pub(crate) fn read_direction(code: u32) -> Result<crate::Direction, Error> {
    crate::Direction::from_code(code).ok_or_else(|| {
        Error::invalid(format!(
            "direction: {code} is not LSQ_INBOUND (0) or LSQ_OUTBOUND (1)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_truncates_on_a_char_boundary() {
        let mut buf = [1 as c_char; 6];
        copy_to_buffer(&mut buf, "abcdé"); // é is 2 bytes: 6 bytes do not fit in 5
        assert_eq!(
            &buf[..5],
            &[
                b'a' as c_char,
                b'b' as c_char,
                b'c' as c_char,
                b'd' as c_char,
                0
            ]
        );
        copy_to_buffer(&mut buf, "");
        assert_eq!(buf[0], 0);
    }
}
