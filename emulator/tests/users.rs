//! User lookup by e-mail address.

mod common;

use common::*;
use lsq_emulator::{Config, Data, Emulator, Endpoint, USER_BY_EMAIL_PATH, USER_FIELDS};
use serde_json::json;

fn emu() -> Emulator {
    let mut d = Data::new();
    for (n, email, status) in [
        (1, "Priya.Sharma@example.com", 0),
        (2, "gone@example.com", 1),
        (3, "omar@example.com", 0),
    ] {
        d.add_user(json!({
            "UserId": guid(n),
            "FirstName": "F",
            "LastName": "L",
            "EmailAddress": email,
            "Role": "Sales User",
            "StatusCode": status,
        }))
        .unwrap();
    }
    Emulator::start(Config {
        data: d,
        ..Config::default()
    })
    .unwrap()
}

fn lookup(c: &mut Client, email: &str) -> Resp {
    c.roundtrip(&get(
        USER_BY_EMAIL_PATH,
        &format!("emailAddress={}", encode(email)),
    ))
}

#[test]
fn active_users_are_found_case_insensitively() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    let r = lookup(&mut c, "priya.sharma@EXAMPLE.com");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    let users = v.as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["UserId"], guid(1));
    for f in USER_FIELDS {
        assert!(users[0].get(f).is_some(), "{f}");
    }
    assert_eq!(
        lookup(&mut c, "omar@example.com").json()[0]["UserId"],
        guid(3)
    );
    assert_eq!(emu.count_for_with_status(Endpoint::UserByEmail, 200), 2);
}

#[test]
fn inactive_or_unknown_users_are_an_empty_array() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    for email in ["gone@example.com", "nobody@example.com"] {
        let r = lookup(&mut c, email);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"[]");
    }
}

#[test]
fn a_missing_or_malformed_address_is_400() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    for (extra, word) in [
        ("", "required"),
        ("emailAddress=", "required"),
        ("email=a%40b.example", "required"),
        ("emailAddress=priya.sharma", "not a valid"),
        ("emailAddress=%40example.com", "not a valid"),
        ("emailAddress=a%40", "not a valid"),
        ("emailAddress=a+b%40example.com", "not a valid"),
        ("emailAddress=a%40b%40c", "not a valid"),
        ("emailAddress=%zz", "encoded"),
    ] {
        let r = c.roundtrip(&get(USER_BY_EMAIL_PATH, extra));
        assert_error(&r, 400, "MXInvalidInputException");
        assert!(message(&r).contains(word), "{extra}: {}", message(&r));
    }
    let long = format!("emailAddress={}%40b", "a".repeat(260));
    assert_error(
        &c.roundtrip(&get(USER_BY_EMAIL_PATH, &long)),
        400,
        "MXInvalidInputException",
    );
}
