//! Options, hosts and the C ABI's string handling: any key, value or host
//! gives a status and a reason, never a panic, and a refused option leaves
//! the options unchanged.
#![no_main]

use std::ffi::CString;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // key NUL value NUL host
    let mut parts = data.splitn(3, |&b| b == 0);
    let (Some(key), Some(value), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let host_nul_free: Vec<u8> = host.iter().copied().filter(|&b| b != 0).collect();

    // The C ABI, with raw bytes (invalid UTF-8 included).
    let (k, v) = (CString::new(key).unwrap(), CString::new(value).unwrap());
    let options = lsq::ffi::lsq_options_new();
    // SAFETY: live options and NUL-terminated strings.
    let status = unsafe { lsq::ffi::lsq_options_set(options, k.as_ptr(), v.as_ptr()) };
    assert!(status == lsq::ffi::LSQ_OK || status == lsq::ffi::LSQ_ERR_INVALID_ARGUMENT);
    // SAFETY: from lsq_options_new, freed once.
    unsafe { lsq::ffi::lsq_options_free(options) };

    // The Rust core agrees, and leaves the options unchanged on refusal.
    if let (Ok(k), Ok(v)) = (std::str::from_utf8(key), std::str::from_utf8(value)) {
        if k == "test_panic" {
            return;
        }
        let mut o = lsq::Options::default();
        let before = format!("{o:?}");
        let result = o.set(k, v);
        assert_eq!(result.is_ok(), status == lsq::ffi::LSQ_OK);
        if result.is_err() {
            assert_eq!(before, format!("{o:?}"));
        }
    }
    if let Ok(h) = std::str::from_utf8(&host_nul_free) {
        for allow_http in [false, true] {
            if let Ok(e) = lsq::Endpoint::parse(h, allow_http) {
                assert!(e.base().starts_with("http"));
                assert!(!e.base().contains(char::is_whitespace));
            }
        }
    }
    let code = i32::from_le_bytes([
        *data.first().unwrap_or(&0),
        *data.get(1).unwrap_or(&0),
        *data.get(2).unwrap_or(&0),
        *data.get(3).unwrap_or(&0),
    ]);
    assert!(!lsq::ffi::lsq_status_str(code).is_null());
});
