//! The documented answers, built into the connection's output buffer: an endpoint's JSON
//! answer, the pop-up's success body with a fresh Message.Id, and the JSON error body.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::check::Rejection;
use crate::http::write_head;

/// The Message.Message of a success answer.
pub const SUCCESS_MESSAGE: &str = "Message broadcasted successfully";

const SUCCESS_PREFIX: &[u8] = br#"{"Status":"Success","Message":{"Id":""#;
const SUCCESS_SUFFIX: &[u8] = br#"","Message":"Message broadcasted successfully"}}"#;
/// Length of a GUID in its 8-4-4-4-12 text form.
const ID_LEN: usize = 36;
/// Length of the success body.
pub(crate) const SUCCESS_LEN: usize = SUCCESS_PREFIX.len() + ID_LEN + SUCCESS_SUFFIX.len();

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// An endpoint's answer to an accepted request: status and JSON body, plus a few words for
/// the console line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) note: String,
}

impl Answer {
    pub(crate) fn new(status: u16, body: Vec<u8>) -> Answer {
        Answer {
            status,
            body,
            note: String::new(),
        }
    }

    pub(crate) fn ok(body: Vec<u8>) -> Answer {
        Answer::new(200, body)
    }

    pub(crate) fn ok_json(value: &serde_json::Value) -> Answer {
        Answer::ok(serde_json::to_vec(value).unwrap_or_default())
    }

    pub(crate) fn with_note(mut self, note: String) -> Answer {
        self.note = note;
        self
    }

    /// Appends the complete answer (`Content-Type: application/json`).
    pub(crate) fn write(&self, out: &mut Vec<u8>, close: bool) {
        write_head(out, self.status, &[JSON], Some(self.body.len()), close);
        out.extend_from_slice(&self.body);
    }
}

/// Appends the success body only.
pub(crate) fn success_body(out: &mut Vec<u8>) {
    out.extend_from_slice(SUCCESS_PREFIX);
    push_id(out);
    out.extend_from_slice(SUCCESS_SUFFIX);
}

/// Appends the head of a 200 success answer whose body is `len` bytes (written by the caller).
pub(crate) fn success_head(out: &mut Vec<u8>, len: usize, close: bool) {
    write_head(out, 200, &[JSON], Some(len), close);
}

/// The start of a success body (up to and including the opening quote of Message.Message),
/// for bodies padded to a given size.
pub(crate) fn success_prefix_until_message(out: &mut Vec<u8>) {
    out.extend_from_slice(SUCCESS_PREFIX);
    push_id(out);
    out.extend_from_slice(br#"","Message":""#);
}

/// The error body: `{"Status":"Error","ExceptionType":..,"ExceptionMessage":..}`.
pub(crate) fn error_body(exception_type: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "Status": "Error",
        "ExceptionType": exception_type,
        "ExceptionMessage": message,
    }))
    .unwrap_or_default()
}

/// Appends a complete JSON error answer; `head_only` for HEAD requests.
pub(crate) fn error(out: &mut Vec<u8>, r: &Rejection, close: bool, head_only: bool) {
    let body = error_body(r.exception_type, &r.message);
    let mut headers = vec![JSON];
    if let Some(ra) = &r.retry_after {
        headers.push(("Retry-After", ra.as_str()));
    }
    write_head(out, r.status, &headers, Some(body.len()), close);
    if !head_only {
        out.extend_from_slice(&body);
    }
}

/// A fresh GUID-like id (random version 4 layout), e.g. `b8c4d74f-17ed-4bae-9f05-c183496680f1`.
pub fn new_message_id() -> String {
    let mut v = Vec::with_capacity(ID_LEN);
    push_id(&mut v);
    String::from_utf8(v).unwrap_or_default()
}

static SEQ: AtomicU64 = AtomicU64::new(0);
static SEED: OnceLock<u64> = OnceLock::new();

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn push_id(out: &mut Vec<u8>) {
    // Seeded from the clock once, so two runs do not repeat ids; unique within a run.
    let seed = *SEED.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5EED)
    });
    let seq = seed.wrapping_add(SEQ.fetch_add(1, Ordering::Relaxed));
    let hi = splitmix(seq);
    let lo = splitmix(seq ^ 0xA5A5_A5A5_A5A5_A5A5);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_body_shape() {
        let mut out = Vec::new();
        success_body(&mut out);
        assert_eq!(out.len(), SUCCESS_LEN);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["Status"], "Success");
        assert_eq!(v["Message"]["Message"], SUCCESS_MESSAGE);
        assert_eq!(v["Message"]["Id"].as_str().unwrap().len(), 36);
    }

    #[test]
    fn ids_are_fresh_and_guid_shaped() {
        let a = new_message_id();
        let b = new_message_id();
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
