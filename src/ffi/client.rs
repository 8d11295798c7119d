//! `lsq_client_new*`, `lsq_free`, `lsq_client_stats`.

use std::ffi::c_char;

use super::boundary::fallible;
use super::pointers::{try_mut, try_ref, try_str};
use super::status::lsq_status;
use super::types::{lsq_client, lsq_options, lsq_stats};
use crate::{Client, Error, Options};

/// Creates a client with the default options. See
/// `lsq_client_new_with_options`.
///
/// # Safety
/// Each argument is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lsq_client_new(
    host: *const c_char,
    access_key: *const c_char,
    secret_key: *const c_char,
) -> *mut lsq_client {
    // SAFETY: forwarded from this function's contract; NULL options mean defaults.
    unsafe { lsq_client_new_with_options(host, access_key, secret_key, std::ptr::null()) }
}

/// Creates a client. `host` is a bare host (`api-in21.leadsquared.com`:
/// https implied) or a base URL with a scheme and optional port
/// (`https://api.leadsquared.com`, `http://127.0.0.1:8080`); a path, query
/// or fragment is refused, and plain http unless the host is loopback or
/// `allow_http` is set. `"auto"` (any case) asks LeadSquared once, here,
/// which regional host the keys belong to (`Authentication.svc/
/// UserByAccessKey.Get` at the `discovery_host` option, by default
/// `api.leadsquared.com`), logs what it found, uses it, and takes the
/// account's default country code unless `default_country_code` is set; wrong
/// keys fail here with LSQ_ERR_UNAUTHORIZED. `options` may be NULL
/// (defaults); the client copies them. Apart from `"auto"`'s one request
/// (bounded by `max_age_ms`), does no network I/O on the calling thread and
/// never blocks (warm connections, `warm_connections`, are opened by a
/// library thread).
/// Returns NULL on failure, with the reason in `lsq_last_error()` (never
/// the keys). Free with `lsq_free`.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `options` is NULL or from `lsq_options_new`.
#[no_mangle]
pub unsafe extern "C" fn lsq_client_new_with_options(
    host: *const c_char,
    access_key: *const c_char,
    secret_key: *const c_char,
    options: *const lsq_options,
) -> *mut lsq_client {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let host = unsafe { try_str(host, "host") }?;
        let access_key = unsafe { try_str(access_key, "access_key") }?;
        let secret_key = unsafe { try_str(secret_key, "secret_key") }?;
        let options = match options.is_null() {
            true => Options::default(),
            // SAFETY: non-NULL, from lsq_options_new.
            false => unsafe { try_ref(options, "options") }?.options.clone(),
        };
        let client = Client::new(host, access_key, secret_key, options)?;
        Ok(Box::into_raw(Box::new(lsq_client { client })))
    })
}

/// Frees a client: stops taking popups, lets queued ones finish for up to
/// `shutdown_timeout_ms`, ends the rest with LSQ_ERR_CANCELLED, and returns
/// when every callback has returned and every library thread has ended.
/// The keys are wiped. NULL does nothing. Must be the last call on the
/// client. Called from one of the client's own callbacks it does nothing
/// (it would wait on itself) and `lsq_last_error()` says so.
///
/// # Safety
/// `client` is NULL or from `lsq_client_new*`, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lsq_free(client: *mut lsq_client) {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let Ok(handle) = (unsafe { try_mut(client, "client") }) else {
            return Ok(()); // NULL does nothing, and is no error
        };
        // Refused (from one of its own callbacks): the client stays alive.
        handle.client.shutdown()?;
        // SAFETY: created by Box::into_raw in lsq_client_new_with_options;
        // shut down above, so no library thread uses it; freed once.
        drop(unsafe { Box::from_raw(client) });
        Ok(())
    })
}

/// Copies a consistent snapshot of the client's counters into `stats`.
///
/// # Safety
/// `client` is NULL or a live client; `stats` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lsq_client_stats(
    client: *const lsq_client,
    stats: *mut lsq_stats,
) -> lsq_status {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let client = unsafe { try_ref(client, "client") }?;
        let stats = unsafe { try_mut(stats, "stats") }?;
        *stats = client.client.stats().into();
        Ok(())
    })
}

/// Writes the client's counters in the Prometheus text exposition format
/// into `buf` (NUL-terminated, at most `len` bytes): popups by final status,
/// lookups (by status, cache hits, shared in flight), leads created, call
/// logs (accepted, delivered, pending, dead, retries), requests by endpoint
/// and HTTP status, rate-limit answers, the limiter's current N/W, and queue
/// depth by class; every name starts with `lsq_`. Returns LSQ_OK, or
/// LSQ_ERR_INVALID_ARGUMENT when `len` is too small (then `buf` holds ""
/// when `len` > 0; 8 KiB is ample).
///
/// # Safety
/// `client` is NULL or live; `buf` is NULL or writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lsq_client_metrics(
    client: *const lsq_client,
    buf: *mut c_char,
    len: usize,
) -> lsq_status {
    fallible(|| {
        // SAFETY: forwarded from this function's contract.
        let client = unsafe { try_ref(client, "client") }?;
        if buf.is_null() {
            return Err(Error::invalid("buf: must not be NULL"));
        }
        // SAFETY: non-NULL and writable for len bytes, per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
        if let Some(first) = out.first_mut() {
            *first = 0;
        }
        let text = client.client.metrics();
        if text.len() + 1 > len {
            return Err(Error::invalid(format!(
                "len: {len} bytes is too small for the metrics ({} bytes and the NUL)",
                text.len()
            )));
        }
        out[..text.len()].copy_from_slice(text.as_bytes());
        out[text.len()] = 0;
        Ok(())
    })
}
