//! The answer parser: any status, body and Retry-After gives a verdict,
//! never a panic, and only a 2xx is ever a success.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // [status: 2 bytes][retry-after length: 1 byte][retry-after][body]
    if data.len() < 3 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]) % 1000;
    let ra_len = usize::from(data[2]).min(data.len() - 3);
    let retry_after =
        (ra_len > 0).then(|| String::from_utf8_lossy(&data[3..3 + ra_len]).into_owned());
    let body = &data[3 + ra_len..];
    if lsq::fuzz_judge(status, body, retry_after.as_deref()) {
        assert!((200..300).contains(&status));
    }
});
