//! The server-side rate limit: 429 (or 403) after N requests in W, with the documented message.

mod common;

use std::time::Duration;

use common::*;
use lsq_emulator::{Config, Emulator, POPUP_PATH};

const HOUR: Duration = Duration::from_secs(3600);

fn limited(n: u32, status: u16, retry_after: Option<&str>) -> Emulator {
    Emulator::start(Config {
        rate_limit: Some((n, HOUR)),
        limit_status: status,
        retry_after: retry_after.map(str::to_owned),
        ..Config::default()
    })
    .unwrap()
}

fn assert_limit(r: &Resp, status: u16, message: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["Status"], "Error");
    assert_eq!(v["ExceptionMessage"], message);
    assert!(v["ExceptionType"].as_str().is_some());
}

#[test]
fn after_n_in_w_comes_429_with_the_documented_message() {
    let emu = limited(3, 429, None);
    let mut c = Client::connect(emu.addr());
    for _ in 0..3 {
        assert_eq!(c.roundtrip(&popup_request()).status, 200);
    }
    let r = c.roundtrip(&popup_request());
    assert_limit(
        &r,
        429,
        "API calls exceeded the limit of 3 in 3600 second(s)",
    );
    assert_eq!(r.header("retry-after"), None);
    // Still limited: rejected arrivals count too.
    assert_eq!(c.roundtrip(&popup_request()).status, 429);
    assert_eq!(emu.count_with_status(200), 3);
    assert_eq!(emu.count_with_status(429), 2);
}

#[test]
fn forbidden_mode_and_retry_after() {
    let emu = limited(1, 403, Some("7"));
    let mut c = Client::connect(emu.addr());
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    let r = c.roundtrip(&popup_request());
    assert_limit(
        &r,
        403,
        "API calls exceeded the limit of 1 in 3600 second(s)",
    );
    assert_eq!(r.header("retry-after"), Some("7"));
}

#[test]
fn retry_after_is_sent_as_is() {
    let emu = limited(0, 429, Some("Wed, 21 Oct 2015 07:28:00 GMT"));
    let r = once(emu.addr(), &popup_request());
    assert_eq!(r.status, 429);
    assert_eq!(
        r.header("retry-after"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
}

#[test]
fn unauthenticated_requests_do_not_count() {
    let emu = limited(1, 429, None);
    let mut c = Client::connect(emu.addr());
    let no_keys = raw(
        "POST",
        POPUP_PATH,
        &[("Content-Type", "application/json")],
        POPUP.as_bytes(),
    );
    for _ in 0..5 {
        assert_eq!(c.roundtrip(&no_keys).status, 401);
    }
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    assert_eq!(c.roundtrip(&popup_request()).status, 429);
}

#[test]
fn limit_changes_while_running() {
    let emu = Emulator::start(Config::default()).unwrap();
    let mut c = Client::connect(emu.addr());
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    emu.set_rate_limit(Some((1, Duration::from_millis(2500))));
    emu.set_retry_after(Some("1".into()));
    emu.set_limit_status(403);
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    let r = c.roundtrip(&popup_request());
    assert_limit(
        &r,
        403,
        "API calls exceeded the limit of 1 in 2.5 second(s)",
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    emu.set_rate_limit(None);
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
}

#[test]
fn a_window_slides() {
    // The server's own delay spaces the arrivals: no sleeping in the test.
    let emu = limited(1, 429, None);
    emu.set_rate_limit(Some((1, Duration::from_millis(200))));
    let mut c = Client::connect(emu.addr());
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    emu.set_delay(Duration::from_millis(250));
    // Within 200 ms of the first: limited; its answer comes 250 ms later.
    assert_eq!(c.roundtrip(&popup_request()).status, 429);
    // More than 200 ms after the second arrival: free again.
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    let r = emu.requests();
    assert!(r[2].arrived - r[1].arrived >= Duration::from_millis(250));
}
