//! The answer parser: any status, body and Retry-After gives a verdict,
//! never a panic. src/response.rs is private to lsq, so it is compiled here
//! from source with the two modules it uses, and a stand-in for the
//! transport's `HttpAnswer` (the same fields).
#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/error.rs"]
mod error;
#[path = "../../src/ratelimit.rs"]
mod ratelimit;
#[path = "../../src/response.rs"]
mod response;

mod transport {
    /// As in src/transport.rs.
    #[derive(Debug)]
    pub struct HttpAnswer {
        pub status: u16,
        pub body: Result<Vec<u8>, crate::error::Error>,
        pub retry_after: Option<String>,
    }
}

fuzz_target!(|data: &[u8]| {
    // [status: 2 bytes][retry-after length: 1 byte][retry-after][body]
    if data.len() < 3 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]) % 1000;
    let ra_len = usize::from(data[2]).min(data.len() - 3);
    let retry_after =
        (ra_len > 0).then(|| String::from_utf8_lossy(&data[3..3 + ra_len]).into_owned());
    let body = data[3 + ra_len..].to_vec();
    if let Some(ra) = &retry_after {
        let _ = response::parse_retry_after(ra);
    }
    let text = String::from_utf8_lossy(&body);
    let _ = ratelimit::RateLimit::from_server_message(&text);
    let verdict = response::classify(transport::HttpAnswer {
        status,
        body: Ok(body),
        retry_after,
    });
    // A success is only ever a 2xx.
    if let response::Verdict::Delivered(_) = verdict {
        assert!((200..300).contains(&status));
    }
});
