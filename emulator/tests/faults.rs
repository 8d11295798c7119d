//! Each fault of the script, observed from a raw client.

mod common;

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use common::*;
use lsq_emulator::{Config, Emulator, Fault, POPUP_PATH};

fn emu_with(faults: impl IntoIterator<Item = Fault>) -> Emulator {
    let emu = Emulator::start(Config::default()).unwrap();
    emu.push_faults(faults);
    emu
}

/// Reads until EOF or an error; returns the bytes and the error kind (None for EOF).
fn read_to_end(c: &mut Client) -> (Vec<u8>, Option<ErrorKind>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.reader.read(&mut buf) {
            Ok(0) => return (got, None),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Some(e.kind())),
        }
    }
}

#[test]
fn faults_are_taken_in_order_by_requests_that_would_succeed() {
    let emu = emu_with([Fault::status(500), Fault::status(503)]);
    let mut c = Client::connect(emu.addr());
    // Rejected requests do not take a fault.
    let no_keys = raw("POST", POPUP_PATH, &[], b"");
    assert_eq!(c.roundtrip(&no_keys).status, 401);
    assert_eq!(c.roundtrip(&raw("POST", &target(), &[], b"x")).status, 400);
    assert_eq!(emu.pending_faults(), 2);
    let r500 = c.roundtrip(&popup_request());
    assert_eq!(r500.status, 500);
    assert_eq!(r500.json()["Status"], "Error");
    assert_eq!(r500.json()["ExceptionType"], "MXUnknownException");
    let r503 = c.roundtrip(&popup_request());
    assert_eq!(r503.status, 503);
    assert_eq!(r503.header("content-type"), Some("text/html"));
    assert!(String::from_utf8_lossy(&r503.body).contains("503 Service Unavailable"));
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    assert_eq!(emu.pending_faults(), 0);
    let log = emu.requests();
    assert_eq!(log[2].fault, Some("Status"));
    assert_eq!(log[2].status, 500);
    assert_eq!(log[4].fault, None);
}

#[test]
fn status_fault_writes_headers_and_body_as_given() {
    let emu = emu_with([
        Fault::Status {
            code: 302,
            body: b"moved".to_vec(),
            headers: vec![("Location".into(), "https://elsewhere.example/".into())],
        },
        Fault::json_error(500, "MXDuplicateEntryException", "boom"),
    ]);
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&popup_request());
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://elsewhere.example/"));
    assert_eq!(r.body, b"moved");
    let r = c.roundtrip(&popup_request());
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["ExceptionType"], "MXDuplicateEntryException");
    assert_eq!(r.json()["ExceptionMessage"], "boom");
}

#[test]
fn rate_limited_and_forbidden_limit_quote_the_limit() {
    let emu = emu_with([
        Fault::RateLimited {
            retry_after: Some("2".into()),
        },
        Fault::RateLimited { retry_after: None },
        Fault::ForbiddenLimit,
    ]);
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&popup_request());
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("2"));
    // No limit configured: the documented one.
    assert_eq!(
        r.json()["ExceptionMessage"],
        "API calls exceeded the limit of 25 in 5 second(s)"
    );
    emu.set_rate_limit(Some((100, Duration::from_secs(10))));
    let r = c.roundtrip(&popup_request());
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), None);
    assert_eq!(
        r.json()["ExceptionMessage"],
        "API calls exceeded the limit of 100 in 10 second(s)"
    );
    let r = c.roundtrip(&popup_request());
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["ExceptionMessage"],
        "API calls exceeded the limit of 100 in 10 second(s)"
    );
}

#[test]
fn garbage_is_written_raw_then_the_connection_closes() {
    let emu = emu_with([Fault::Garbage(b"HTTP/1.1 2OO OK\r\n\x00\xff".to_vec())]);
    let mut c = Client::connect(emu.addr());
    c.send(&popup_request());
    let (got, err) = read_to_end(&mut c);
    assert_eq!(got, b"HTTP/1.1 2OO OK\r\n\x00\xff");
    assert_eq!(err, None);
    assert_eq!(emu.requests()[0].status, 0);
    assert_eq!(emu.requests()[0].fault, Some("Garbage"));
}

#[test]
fn drop_closes_without_answering() {
    let emu = emu_with([Fault::Drop]);
    let mut c = Client::connect(emu.addr());
    c.send(&popup_request());
    let (got, _) = read_to_end(&mut c);
    assert!(got.is_empty());
    assert_eq!(emu.count_with_status(0), 1);
    // The next connection is served normally.
    assert_eq!(once(emu.addr(), &popup_request()).status, 200);
}

#[test]
fn reset_mid_body_sends_half_a_body_then_a_reset() {
    let emu = emu_with([Fault::ResetMidBody]);
    let mut c = Client::connect(emu.addr());
    c.send(&popup_request());
    let (status, headers) = c.read_head().unwrap();
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("content-length") && v == "1000"));
    let (body, err) = read_to_end(&mut c);
    assert!(body.len() <= 500, "{}", body.len());
    assert_eq!(err, Some(ErrorKind::ConnectionReset));
}

#[test]
fn trickle_sends_the_head_then_one_byte_per_interval() {
    let emu = emu_with([Fault::Trickle {
        interval: Duration::from_millis(1),
        total_bytes: 150,
    }]);
    let mut c = Client::connect(emu.addr());
    c.send(&popup_request());
    let (status, _) = c.read_head().unwrap();
    assert_eq!(status, 200);
    let t = Instant::now();
    let mut body = vec![0; 150];
    c.reader.read_exact(&mut body).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(140),
        "{:?}",
        t.elapsed()
    );
    // The success body padded with spaces: still valid JSON.
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["Status"], "Success");
    // The connection stays usable.
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
}

#[test]
fn huge_sends_a_body_of_the_given_size() {
    let bytes = 10 * 1024 * 1024;
    let emu = emu_with([Fault::Huge { bytes }]);
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&popup_request());
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), bytes);
    assert_eq!(r.json()["Status"], "Success");
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
}

#[test]
fn huge_stops_quietly_when_the_client_hangs_up() {
    let emu = emu_with([Fault::Huge {
        bytes: 1024 * 1024 * 1024,
    }]);
    let mut c = Client::connect(emu.addr());
    c.send(&popup_request());
    assert_eq!(c.read_head().unwrap().0, 200);
    drop(c);
    assert_eq!(once(emu.addr(), &popup_request()).status, 200);
    // Dropping the emulator returns: the writer thread ended.
    drop(emu);
}

#[test]
fn delay_waits_then_succeeds() {
    let emu = emu_with([Fault::Delay(Duration::from_millis(150))]);
    let mut c = Client::connect(emu.addr());
    let t = Instant::now();
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[test]
fn redirect_sends_location() {
    let emu = emu_with([Fault::Redirect {
        code: 307,
        location: "https://api-in21.leadsquared.com/v2/Telephony.svc/ShowAgentPopup".into(),
    }]);
    let r = once(emu.addr(), &popup_request());
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("location"),
        Some("https://api-in21.leadsquared.com/v2/Telephony.svc/ShowAgentPopup")
    );
    assert!(r.body.is_empty());
}

#[test]
fn close_after_answer_succeeds_then_closes() {
    let emu = emu_with([Fault::CloseAfterAnswer]);
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&popup_request());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn clear_faults_empties_the_script() {
    let emu = emu_with([Fault::Drop, Fault::Drop]);
    emu.clear_faults();
    assert_eq!(once(emu.addr(), &popup_request()).status, 200);
}
