//! LogCall: the strict body, the answer, and the call logs kept (countable, waitable).

mod common;

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use lsq_emulator::{Config, Emulator, Endpoint, Fault, LOG_CALL_PATH};
use serde_json::{json, Value};

fn emu() -> Emulator {
    Emulator::start(Config::default()).unwrap()
}

/// A complete call log with every optional name.
fn full(session: &str) -> Value {
    json!({
        "SourceNumber": "+91-8611795988",
        "DestinationNumber": "+91-8971373363",
        "DisplayNumber": "+91-8611795989",
        "Direction": "Inbound",
        "CallSessionId": session,
        "Status": "Answered",
        "StartTime": "2024-06-20 10:00:00",
        "EndTime": "2024-06-20 10:05:30",
        "CallDuration": 300,
        "UserId": "dd908e91-c5c9-11e5-8de3-22000aa5088d",
        "LeadId": "f5c7e023-653c-11e7-b25c-023cca4497b9",
        "ResourceURL": "https://recordings.example.com/call/12345.mp3",
        "CallerSource": "IVR Sales",
        "Tag": "Tag - Lead",
    })
}

fn required(session: &str) -> Value {
    let mut v = full(session);
    for n in ["UserId", "LeadId", "ResourceURL", "CallerSource", "Tag"] {
        v.as_object_mut().unwrap().remove(n);
    }
    v
}

fn send(c: &mut Client, body: &Value) -> Resp {
    c.roundtrip(&post(LOG_CALL_PATH, &body.to_string()))
}

#[test]
fn a_call_log_is_answered_and_kept() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    let r = send(&mut c, &full("s-1"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["Status"], "Success");
    assert_eq!(v.as_object().unwrap().len(), 2);
    assert_eq!(v["Message"].as_object().unwrap().len(), 1);
    let id = v["Message"]["Id"].as_str().unwrap();
    assert_eq!(send(&mut c, &required("s-2")).status, 200);

    let logs = emu.call_logs();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].id, id);
    assert_eq!(logs[0].call_session_id, "s-1");
    assert_eq!(
        logs[0].field("ResourceURL"),
        Some("https://recordings.example.com/call/12345.mp3")
    );
    assert_eq!(logs[0].duration(), 300);
    assert_eq!(logs[0].json(), full("s-1"));
    assert_eq!(logs[1].call_session_id, "s-2");
    assert_eq!(logs[1].field("Tag"), None);
    assert_eq!(logs[0].connection, logs[1].connection);
    assert_eq!(emu.call_log_count(), 2);
    assert_eq!(emu.count_for_with_status(Endpoint::LogCall, 200), 2);
    emu.clear_call_logs();
    assert_eq!(emu.call_log_count(), 0);
}

#[test]
fn duplicates_are_kept_and_counted_by_call_session_id() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    for s in ["a", "b", "a", "a"] {
        assert_eq!(send(&mut c, &required(s)).status, 200);
    }
    assert_eq!(emu.call_logs_for("a").len(), 3);
    assert_eq!(emu.call_logs_for("b").len(), 1);
    assert!(emu.call_logs_for("c").is_empty());
    let ids: std::collections::HashSet<_> = emu.call_logs().into_iter().map(|l| l.id).collect();
    assert_eq!(ids.len(), 4, "each delivery gets its own Id");
}

#[test]
fn waiting_for_call_logs_from_other_threads() {
    let emu = Arc::new(emu());
    let senders: Vec<_> = (0..4)
        .map(|i| {
            let addr = emu.addr();
            thread::spawn(move || {
                let mut c = Client::connect(addr);
                for j in 0..5 {
                    let s = format!("t{i}-{j}");
                    assert_eq!(send(&mut c, &required(&s)).status, 200);
                }
            })
        })
        .collect();
    assert!(emu.wait_for_call_logs(20, TIMEOUT));
    assert!(emu.wait_for_call_logs_for("t3-4", 1, TIMEOUT));
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(emu.call_log_count(), 20);
    // A wait that cannot be met returns false after its timeout.
    assert!(!emu.wait_for_call_logs(21, Duration::from_millis(50)));
}

#[test]
fn a_fault_that_loses_the_answer_still_keeps_the_log() {
    // The server did the work but the answer never arrived complete: a client retrying
    // this delivers the log twice, which is what at-least-once tests need to see.
    let emu = emu();
    emu.push_fault_for(Endpoint::LogCall, Fault::ResetMidBody);
    emu.push_fault_for(Endpoint::LogCall, Fault::status(503));
    let mut c = Client::connect(emu.addr());
    c.send(&post(LOG_CALL_PATH, &required("x").to_string()));
    assert!(emu.wait_for_call_logs_for("x", 1, TIMEOUT));
    // The log is kept while the request is decided, the request recorded just after.
    assert!(emu.wait_for_endpoint(Endpoint::LogCall, 1, TIMEOUT));
    let mut c = Client::connect(emu.addr());
    assert_eq!(send(&mut c, &required("x")).status, 503);
    assert_eq!(send(&mut c, &required("x")).status, 200);
    assert_eq!(emu.call_logs_for("x").len(), 2, "the 503 kept nothing");
    let faults: Vec<_> = emu
        .requests_for(Endpoint::LogCall)
        .iter()
        .map(|r| r.fault)
        .collect();
    assert_eq!(faults, [Some("ResetMidBody"), Some("Status"), None]);
}

#[test]
fn unknown_names_and_wrong_types_are_400() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    let with = |name: &str, value: Value| {
        let mut v = full("s");
        v[name] = value;
        v
    };
    let without = |name: &str| {
        let mut v = full("s");
        v.as_object_mut().unwrap().remove(name);
        v
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("Duration", json!(5)), "Unknown parameter 'Duration'"),
        (
            with("callSessionId", json!("s")),
            "Unknown parameter 'callSessionId'",
        ),
        (with("Notes", json!("x")), "Unknown parameter 'Notes'"),
        (
            without("SourceNumber"),
            "Missing required parameter 'SourceNumber'",
        ),
        (
            without("CallSessionId"),
            "Missing required parameter 'CallSessionId'",
        ),
        (
            without("CallDuration"),
            "Missing required parameter 'CallDuration'",
        ),
        (without("EndTime"), "Missing required parameter 'EndTime'"),
        (
            with("SourceNumber", json!(918611795988u64)),
            "'SourceNumber' must be a string",
        ),
        (with("Tag", Value::Null), "'Tag' must be a string"),
        (with("UserId", json!(1)), "'UserId' must be a string"),
        (with("CallDuration", json!("300")), "CallDuration"),
        (with("CallDuration", json!(-1)), "CallDuration"),
        (with("CallDuration", json!(1.5)), "CallDuration"),
        (with("CallDuration", json!(331)), "longer than"),
        (with("Direction", json!("inbound")), "'Direction'"),
        (with("Status", json!("Busy")), "'Status'"),
        (
            with("SourceNumber", json!("caller")),
            "'SourceNumber' is not a phone number",
        ),
        (with("CallSessionId", json!("")), "'CallSessionId'"),
        (
            with("UserId", json!("agent@example.com")),
            "'UserId' must be a GUID",
        ),
        (with("LeadId", json!("123")), "'LeadId' must be a GUID"),
        (with("ResourceURL", json!("ftp://x/y.mp3")), "'ResourceURL'"),
        (with("ResourceURL", json!("recording.mp3")), "'ResourceURL'"),
        (with("CallerSource", json!("x".repeat(51))), "at most 50"),
    ];
    for (body, word) in cases {
        let r = send(&mut c, &body);
        assert_error(&r, 400, "MXInvalidInputException");
        assert!(message(&r).contains(word), "{body}: {}", message(&r));
    }
    // 50 characters (not bytes) are fine.
    assert_eq!(
        send(&mut c, &with("CallerSource", json!("é".repeat(50)))).status,
        200
    );
    for body in ["[]", "\"x\"", "{", ""] {
        let r = c.roundtrip(&post(LOG_CALL_PATH, body));
        assert_error(&r, 400, "MXInvalidInputException");
    }
    assert_eq!(emu.call_log_count(), 1);
}

#[test]
fn times_must_be_real_utc_and_in_order() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    let at = |start: &str, end: &str, duration: u64| {
        let mut v = required("t");
        v["StartTime"] = json!(start);
        v["EndTime"] = json!(end);
        v["CallDuration"] = json!(duration);
        v
    };
    for (start, end, word) in [
        ("2024-06-20T10:00:00", "2024-06-20 10:05:00", "'StartTime'"),
        ("2024-06-20 10:00:00Z", "2024-06-20 10:05:00", "'StartTime'"),
        ("2024-06-20 10:00", "2024-06-20 10:05:00", "'StartTime'"),
        ("20/06/2024 10:00:00", "2024-06-20 10:05:00", "'StartTime'"),
        ("2024-02-30 10:00:00", "2024-03-01 10:05:00", "'StartTime'"),
        ("2023-02-29 10:00:00", "2023-03-01 10:05:00", "'StartTime'"),
        ("2024-06-20 24:00:00", "2024-06-21 10:05:00", "'StartTime'"),
        ("2024-06-20 10:00:00", "2024-06-20 10:60:00", "'EndTime'"),
        ("2024-06-20 10:00:00", "1718877900", "'EndTime'"),
        (
            "2024-06-20 10:05:00",
            "2024-06-20 10:04:59",
            "EndTime must not be before StartTime",
        ),
    ] {
        let r = send(&mut c, &at(start, end, 0));
        assert_error(&r, 400, "MXInvalidInputException");
        assert!(message(&r).contains(word), "{start} {end}: {}", message(&r));
    }
    // A leap day, a zero-length missed call, a call over midnight.
    assert_eq!(
        send(&mut c, &at("2024-02-29 23:59:59", "2024-02-29 23:59:59", 0)).status,
        200
    );
    assert_eq!(
        send(
            &mut c,
            &at("2024-12-31 23:59:00", "2025-01-01 00:01:00", 120)
        )
        .status,
        200
    );
}
