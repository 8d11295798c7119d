//! The harness of tests/c/hardening.c, shared by tests/c_hardening.rs (also
//! run under valgrind and the sanitizers) and tests/secrets.rs: emulators
//! with canary keys and the faults the program expects, and the leak check.
//! Included with `#[path = "support/hardening_c.rs"] mod hardening_c;`,
//! next to `mod support;`.
#![allow(dead_code)]

use std::process::Output;
use std::time::Duration;

use lsq_emulator::TlsIdentity;

use super::support::{assert_passed, compile_c, emulator, run_c, Config, Emulator, Fault, Link};

/// Keys that are easy to find anywhere they should not be. The secret
/// needs URL-encoding ('/', '+', '=').
pub const CANARY_ACCESS: &str = "AKIA-CANARY-7f3a";
pub const CANARY_SECRET: &str = "SK-CANARY-91b2/+=";

/// Every form a key could take in a leak: raw, and percent-encoded with
/// upper- or lower-case hex (as .NET's UrlEncode writes it). Any of them
/// holds "CANARY", which nothing else the library prints contains.
pub fn assert_no_canary(channel: &str, text: &str) {
    for key in [CANARY_ACCESS, CANARY_SECRET] {
        assert!(!text.contains(key), "{channel} leaks a key: {text}");
    }
    assert!(
        !text.contains("CANARY"),
        "{channel} leaks (part of) a key: {text}"
    );
}

/// `value` percent-encoded like the library's query (upper-case hex) or
/// like .NET's UrlEncode (lower-case hex).
pub fn percent_encode(value: &str, lower: bool) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A server message that echoes both keys, raw.
pub fn echo_raw() -> String {
    format!("Invalid request for accessKey {CANARY_ACCESS} and secretKey {CANARY_SECRET}")
}

/// A server message that echoes the query it got, re-encoded .NET style.
pub fn echo_encoded(lower: bool) -> String {
    format!(
        "Bad query: accessKey={}&secretKey={}",
        percent_encode(CANARY_ACCESS, lower),
        percent_encode(CANARY_SECRET, lower)
    )
}

/// An emulator that accepts the canary keys.
pub fn canary_emulator(tls: Option<TlsIdentity>, delay: Duration) -> Emulator {
    emulator(Config {
        access_key: CANARY_ACCESS.into(),
        secret_key: CANARY_SECRET.into(),
        tls,
        delay,
        ..Config::default()
    })
}

/// Runs tests/c/hardening.c against emulators set up as it expects, asserts
/// it passed, that every fault was reached, that the redirect target heard
/// nothing, and that its output holds no key; returns its output.
pub fn run_hardening_c() -> Output {
    let plain = canary_emulator(None, Duration::ZERO);
    let target = canary_emulator(None, Duration::ZERO);
    let slow = canary_emulator(None, Duration::from_secs(30));
    let (id, trust) = TlsIdentity::self_signed(&["localhost", "127.0.0.1"]);
    let tls = canary_emulator(Some(id), Duration::ZERO);
    let dir = std::env::temp_dir();
    let ca = dir.join(format!("lsq-hardening-ca-{}.pem", std::process::id()));
    let bad_ca = dir.join(format!("lsq-hardening-bad-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, trust).unwrap();
    std::fs::write(&bad_ca, b"-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();

    let stolen = format!(
        "{}/v2/Telephony.svc/ShowAgentPopup?accessKey={}&secretKey={}",
        target.url(),
        percent_encode(CANARY_ACCESS, false),
        percent_encode(CANARY_SECRET, false)
    );
    let json = |code, message: String| Fault::json_error(code, "MXInvalidInputException", &message);
    // The order of faults() in hardening.c.
    plain.push_faults([
        Fault::Huge {
            bytes: 10 * 1024 * 1024,
        },
        Fault::Drop,
        Fault::ResetMidBody,
        Fault::Redirect {
            code: 302,
            location: stolen.clone(),
        },
        Fault::Redirect {
            code: 307,
            location: stolen,
        },
        Fault::Garbage(format!("\x00\x01 {CANARY_ACCESS} {CANARY_SECRET}\r\n\r\n").into_bytes()),
        Fault::Trickle {
            interval: Duration::from_millis(100),
            total_bytes: 400,
        },
        json(400, echo_raw()),
        json(400, echo_encoded(true)),
        json(200, echo_raw()),
        Fault::Status {
            code: 429,
            body: serde_json::to_vec(&serde_json::json!({
                "Status": "Error",
                "ExceptionType": "MXAPIRateLimitExceededException",
                "ExceptionMessage": format!(
                    "API calls exceeded the limit of 25 in 5 second(s) for {}",
                    echo_encoded(false)
                ),
            }))
            .unwrap(),
            headers: vec![("Content-Type".into(), "application/json".into())],
        },
    ]);

    let exe = compile_c("hardening", Link::Static);
    let out = run_c(
        &exe,
        &plain,
        &[
            ("LSQ_TEST_ACCESS_KEY", CANARY_ACCESS),
            ("LSQ_TEST_SECRET_KEY", CANARY_SECRET),
            ("LSQ_TEST_TLS_HOST", tls.url()),
            ("LSQ_TEST_SLOW_HOST", slow.url()),
            ("LSQ_TEST_CA_FILE", ca.to_str().unwrap()),
            ("LSQ_TEST_BAD_CA_FILE", bad_ca.to_str().unwrap()),
        ],
        Duration::from_secs(120),
    );
    let _ = std::fs::remove_file(&ca);
    let _ = std::fs::remove_file(&bad_ca);
    assert_passed("hardening", &out);
    assert_eq!(plain.pending_faults(), 0, "every fault was reached");
    assert_eq!(target.connections_accepted(), 0, "a redirect was followed");
    assert_eq!(
        tls.count_with_status(200),
        1,
        "only the trusting client got through"
    );
    assert_no_canary("hardening stdout", &String::from_utf8_lossy(&out.stdout));
    assert_no_canary("hardening stderr", &String::from_utf8_lossy(&out.stderr));
    out
}
