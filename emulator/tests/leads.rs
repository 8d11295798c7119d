//! Lead lookup by phone number and Lead.Create: answers, refusals, the matching rule, order.

mod common;

use common::*;
use lsq_emulator::{
    Config, Data, Emulator, Endpoint, DUPLICATE_EXCEPTION, LEAD_BY_PHONE_PATH, LEAD_CREATE_PATH,
    LEAD_FIELDS,
};
use serde_json::{json, Value};

/// Leads 1..: (phone, mobile, modified).
fn data(leads: &[(Option<&str>, Option<&str>, Option<&str>)]) -> Data {
    let mut d = Data::new();
    d.add_user(json!({"UserId": guid(900), "EmailAddress": "owner@example.com"}))
        .unwrap();
    for (i, (phone, mobile, modified)) in leads.iter().enumerate() {
        d.add_lead(json!({
            "ProspectID": guid(i as u64 + 1),
            "FirstName": format!("Lead{}", i + 1),
            "Phone": phone,
            "Mobile": mobile,
            "ModifiedOn": modified,
            "OwnerId": guid(900),
        }))
        .unwrap();
    }
    d
}

fn emu_with(d: Data) -> Emulator {
    Emulator::start(Config {
        data: d,
        ..Config::default()
    })
    .unwrap()
}

fn lookup(emu: &Emulator, phone: &str) -> Resp {
    once(
        emu.addr(),
        &get(LEAD_BY_PHONE_PATH, &format!("phone={phone}")),
    )
}

/// The ProspectIDs found, in answer order.
fn found(emu: &Emulator, phone: &str) -> Vec<String> {
    let r = lookup(emu, phone);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|l| l["ProspectID"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_lead_is_found_with_every_documented_field() {
    let emu = emu_with(data(&[(Some("+91-8611795988"), None, None)]));
    let r = lookup(&emu, "918611795988");
    assert_eq!(r.status, 200);
    let v = r.json();
    let lead = &v.as_array().unwrap()[0];
    for f in LEAD_FIELDS {
        assert!(lead.get(f).is_some(), "{f} missing in {lead}");
    }
    assert_eq!(lead["ProspectID"], guid(1));
    assert_eq!(lead["Phone"], "+91-8611795988");
    assert_eq!(lead["Mobile"], Value::Null);
    assert_eq!(lead["OwnerId"], guid(900));
    assert_eq!(emu.count_for_with_status(Endpoint::LeadByPhone, 200), 1);
}

#[test]
fn no_match_is_an_empty_array() {
    let emu = emu_with(data(&[(Some("+91-8611795988"), None, None)]));
    let r = lookup(&emu, "14155550134");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"[]");
}

#[test]
fn the_matching_rule() {
    let emu = emu_with(data(&[
        (Some("+91-8611795988"), None, None), // 1: Phone with country code
        (None, Some("8971373363"), None),     // 2: Mobile only, national
        (Some("555-0134"), None, None),       // 3: seven digits
        (Some("+1 (555) 013"), None, None),   // 4: six digits
        (Some("07700 900123"), None, None),   // 5: trunk 0 kept
    ]));
    // Equal.
    assert_eq!(found(&emu, "918611795988"), [guid(1)]);
    // The query ends with the stored number, or the other way round.
    assert_eq!(found(&emu, "8611795988"), [guid(1)]);
    assert_eq!(found(&emu, "00918611795988"), [guid(1)]);
    // Mobile counts like Phone.
    assert_eq!(found(&emu, "918971373363"), [guid(2)]);
    assert_eq!(found(&emu, "8971373363"), [guid(2)]);
    // A seven-digit tail matches; a shorter one never does.
    assert_eq!(found(&emu, "14155550134"), [guid(3)]);
    assert_eq!(found(&emu, "5550134"), [guid(3)]);
    assert!(found(&emu, "795988").is_empty());
    assert!(found(&emu, "99555013").is_empty());
    assert_eq!(found(&emu, "1555013"), [guid(4)]);
    // Stored with a trunk 0: the national digits match, and so does the international form
    // (the trunk 0 dropped, the rest is a tail of 447700900123; see phone.rs, inferred).
    assert_eq!(found(&emu, "7700900123"), [guid(5)]);
    assert_eq!(found(&emu, "07700900123"), [guid(5)]);
    assert_eq!(found(&emu, "447700900123"), [guid(5)]);
    // One digit off: nothing.
    assert!(found(&emu, "918611795989").is_empty());
}

#[test]
fn several_matches_come_most_recent_first() {
    let emu = emu_with(data(&[
        (Some("+91-9876543210"), None, Some("2024-04-01 09:00:00")),
        (None, Some("9876543210"), Some("2024-06-20 16:30:00")),
        (Some("09876543210"), None, None),
        (Some("919876543210"), None, Some("2024-05-01 00:00:00")),
    ]));
    assert_eq!(
        found(&emu, "919876543210"),
        [guid(2), guid(4), guid(1), guid(3)],
        "the trunk form matches by its national digits; no ModifiedOn sorts last"
    );
    assert_eq!(
        found(&emu, "9876543210"),
        [guid(2), guid(4), guid(1), guid(3)],
        "no ModifiedOn sorts last"
    );
}

#[test]
fn bad_phone_queries_are_400() {
    let emu = emu_with(Data::new());
    let mut c = Client::connect(emu.addr());
    for (extra, word) in [
        ("", "required"),
        ("phone=", "required"),
        ("phone=%2B918611795988", "digits only"),
        ("phone=+918611795988", "digits only"),
        ("phone=91-8611795988", "digits only"),
        ("phone=91%208611795988", "digits only"),
        ("phone=tel%3A918611795988", "digits only"),
        ("phone=%zz", "encoded"),
        ("phone=123456789012345678901", "too long"),
        ("mobile=918611795988", "required"),
    ] {
        let r = c.roundtrip(&get(LEAD_BY_PHONE_PATH, extra));
        assert_error(&r, 400, "MXInvalidInputException");
        assert!(message(&r).contains(word), "{extra}: {}", message(&r));
    }
    // The parameter name is matched case-insensitively, like the keys.
    assert_eq!(
        c.roundtrip(&get(LEAD_BY_PHONE_PATH, "Phone=123")).status,
        200
    );
}

const CREATE: &str = r#"[{"Attribute":"Phone","Value":"+91-8611795988"},{"Attribute":"Source","Value":"Phone Call"}]"#;

#[test]
fn create_then_lookup_finds_it() {
    let emu = emu_with(Data::new());
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&post(LEAD_CREATE_PATH, CREATE));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["Status"], "Success");
    assert_eq!(v["Message"]["AffectedRows"], 1);
    assert_eq!(v.as_object().unwrap().len(), 2);
    assert_eq!(v["Message"].as_object().unwrap().len(), 2);
    let id = v["Message"]["Id"].as_str().unwrap().to_owned();
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);

    let r = c.roundtrip(&get(LEAD_BY_PHONE_PATH, "phone=8611795988"));
    let leads = r.json();
    assert_eq!(leads.as_array().unwrap().len(), 1);
    let lead = &leads[0];
    assert_eq!(lead["ProspectID"], id.as_str());
    assert_eq!(lead["Phone"], "+91-8611795988");
    assert_eq!(lead["Source"], "Phone Call");
    assert_eq!(lead["ProspectStage"], "Prospect");
    assert_eq!(lead["ModifiedOn"].as_str().unwrap().len(), 19);
    assert_eq!(emu.data().leads().len(), 1);
}

#[test]
fn a_create_matching_an_existing_mobile_is_a_duplicate_and_others_are_not() {
    let emu = emu_with(data(&[(
        None,
        Some("8611795988"),
        Some("2020-01-01 00:00:00"),
    )]));
    // The existing lead has the number as Mobile, national: still the same lead.
    let dup = post(
        LEAD_CREATE_PATH,
        r#"[{"Attribute":"Mobile","Value":"+91-8611795988"}]"#,
    );
    assert_error(&once(emu.addr(), &dup), 500, DUPLICATE_EXCEPTION);
    let other = post(
        LEAD_CREATE_PATH,
        r#"[{"Attribute":"Phone","Value":"+44-7700900123"}]"#,
    );
    assert_eq!(once(emu.addr(), &other).status, 200);
    assert_eq!(found(&emu, "7700900123").len(), 1);
}

#[test]
fn a_duplicate_phone_or_email_is_a_500_duplicate_entry() {
    let emu = emu_with(Data::new());
    let mut c = Client::connect(emu.addr());
    assert_eq!(c.roundtrip(&post(LEAD_CREATE_PATH, CREATE)).status, 200);
    // The same number, or one whose digits match it by the lookup's rule.
    for phone in ["+91-8611795988", "+1-8611795988"] {
        let body = format!(r#"[{{"Attribute":"Phone","Value":"{phone}"}}]"#);
        let r = c.roundtrip(&post(LEAD_CREATE_PATH, &body));
        assert_error(&r, 500, DUPLICATE_EXCEPTION);
    }
    let with_mail = r#"[{"Attribute":"EmailAddress","Value":"a@example.com"}]"#;
    assert_eq!(c.roundtrip(&post(LEAD_CREATE_PATH, with_mail)).status, 200);
    let r = c.roundtrip(&post(
        LEAD_CREATE_PATH,
        r#"[{"Attribute":"EmailAddress","Value":"A@Example.com"}]"#,
    ));
    assert_error(&r, 500, DUPLICATE_EXCEPTION);
    assert_eq!(emu.data().leads().len(), 2);
    assert_eq!(emu.count_for_with_status(Endpoint::LeadCreate, 500), 3);
}

#[test]
fn bad_create_bodies_are_400() {
    let emu = emu_with(Data::new());
    let mut c = Client::connect(emu.addr());
    for (body, word) in [
        (r#"{"Attribute":"Phone","Value":"+91-8611795988"}"#, "array"),
        ("[]", "No lead attributes"),
        (r#"["Phone"]"#, "object"),
        (r#"[{"Attribute":"Phone"}]"#, "missing"),
        (r#"[{"Value":"x"}]"#, "missing"),
        (
            r#"[{"Attribute":"Phone","Value":"+91-8611795988","Extra":1}]"#,
            "unknown name 'Extra'",
        ),
        (
            r#"[{"attribute":"Phone","value":"+91-8611795988"}]"#,
            "unknown name",
        ),
        (
            r#"[{"Attribute":"Phone","Value":918611795988}]"#,
            "must be a string",
        ),
        (
            r#"[{"Attribute":"Phone","Value":null}]"#,
            "must be a string",
        ),
        (r#"[{"Attribute":"","Value":"x"}]"#, "non-empty"),
        (
            r#"[{"Attribute":"Phone","Value":"8611795988"}]"#,
            "+<country code>-<number>",
        ),
        (
            r#"[{"Attribute":"Phone","Value":"+918611795988"}]"#,
            "+<country code>-<number>",
        ),
        (
            r#"[{"Attribute":"Phone","Value":"+91 8611795988"}]"#,
            "+<country code>-<number>",
        ),
        (
            r#"[{"Attribute":"Phone","Value":"+9111-8611795988"}]"#,
            "+<country code>-<number>",
        ),
        (
            r#"[{"Attribute":"Mobile","Value":"08611795988"}]"#,
            "+<country code>-<number>",
        ),
        (
            r#"[{"Attribute":"Nickname","Value":"x"}]"#,
            "does not exist",
        ),
        (
            r#"[{"Attribute":"ProspectID","Value":"x"}]"#,
            "does not exist",
        ),
        (r#"[{"Attribute":"OwnerId","Value":"nope"}]"#, "GUID"),
        (
            r#"[{"Attribute":"Source","Value":"a"},{"Attribute":"Source","Value":"b"}]"#,
            "more than once",
        ),
        ("not json", "not valid JSON"),
    ] {
        let r = c.roundtrip(&post(LEAD_CREATE_PATH, body));
        assert_error(&r, 400, "MXInvalidInputException");
        assert!(message(&r).contains(word), "{body}: {}", message(&r));
    }
    // Custom fields (mx_) are accepted.
    let custom =
        r#"[{"Attribute":"mx_City","Value":"Pune"},{"Attribute":"FirstName","Value":"अनन्या"}]"#;
    assert_eq!(c.roundtrip(&post(LEAD_CREATE_PATH, custom)).status, 200);
    assert_eq!(emu.data().leads()[0]["FirstName"], "अनन्या");
    // The content type is checked.
    let text = raw(
        "POST",
        &keyed(LEAD_CREATE_PATH, ""),
        &[("Content-Type", "text/plain")],
        CREATE.as_bytes(),
    );
    let r = c.roundtrip(&text);
    assert_error(&r, 400, "MXInvalidInputException");
    assert!(message(&r).contains("Content-Type"));
    assert_eq!(emu.data().leads().len(), 1);
}
