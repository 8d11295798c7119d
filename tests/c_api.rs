//! The C API exercised by C programs (tests/c/*.c), compiled with
//! -std=c99 -Wall -Wextra -Wpedantic -Werror and run against the emulator
//! over loopback.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn blocking_statuses() {
    let emu = default_emulator();
    // The order tests/c/blocking.c expects, one per request that reaches a fault.
    emu.push_faults([
        Fault::json_error(400, "MXInvalidInputException", "Invalid LeadId"),
        Fault::status(404),
        Fault::json_error(500, "NullReferenceException", "Object reference not set to an instance of an object."),
        Fault::status(503),
        Fault::status(418),
        Fault::Redirect { code: 302, location: "http://127.0.0.1:1/elsewhere".into() },
        Fault::Status { code: 200, body: b"<html>ok</html>".to_vec(), headers: vec![] },
        Fault::json_error(200, "MXLeadNotFoundException", "Lead not found"),
        Fault::Drop,
        Fault::Trickle { interval: Duration::from_millis(50), total_bytes: 400 },
        Fault::Huge { bytes: 10 * 1024 * 1024 },
        Fault::ForbiddenLimit,
        Fault::status(502),
        Fault::RateLimited { retry_after: Some("1".into()) },
    ]);
    let exe = compile_c("blocking", Link::Static);
    let out = run_c(&exe, &emu, &[], Duration::from_secs(60));
    assert_passed("blocking", &out);
    assert_eq!(emu.pending_faults(), 0, "every fault was reached");
    assert_no_key("stdout", &String::from_utf8_lossy(&out.stdout));
    assert_no_key("stderr", &String::from_utf8_lossy(&out.stderr));
}
