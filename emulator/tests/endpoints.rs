//! What every endpoint shares: keys, method, content type, one rate limit for the account,
//! the 200-with-exception limit, per-endpoint faults, and the request log per endpoint.

mod common;

use std::time::Duration;

use common::*;
use lsq_emulator::{
    Config, Data, Emulator, Endpoint, Fault, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
    LEAD_BY_PHONE_PATH, LEAD_CREATE_PATH, LOG_CALL_PATH, USER_BY_ACCESS_KEY_PATH,
    USER_BY_EMAIL_PATH,
};

const HOUR: Duration = Duration::from_secs(3600);

const LOG: &str = r#"{"SourceNumber":"+91-8611795988","DestinationNumber":"+91-8971373363","DisplayNumber":"+91-8611795989","Direction":"Inbound","CallSessionId":"c1","Status":"Missed","StartTime":"2024-06-20 10:00:00","EndTime":"2024-06-20 10:00:20","CallDuration":0}"#;
const CREATE: &str = r#"[{"Attribute":"Phone","Value":"+65-91234567"}]"#;

/// (endpoint, path, query after the keys, JSON body) of a request that succeeds.
fn good(e: Endpoint) -> (&'static str, &'static str, &'static str) {
    match e {
        Endpoint::Popup => (e.path(), "", POPUP),
        Endpoint::LeadByPhone => (LEAD_BY_PHONE_PATH, "phone=918611795988", ""),
        Endpoint::LeadCreate => (LEAD_CREATE_PATH, "", CREATE),
        Endpoint::UserByEmail => (USER_BY_EMAIL_PATH, "emailAddress=a%40example.com", ""),
        Endpoint::UserByAccessKey => (USER_BY_ACCESS_KEY_PATH, "", ""),
        Endpoint::LogCall => (LOG_CALL_PATH, "", LOG),
    }
}

/// A request that succeeds, with the keys in the query.
fn request(e: Endpoint) -> Vec<u8> {
    let (path, extra, body) = good(e);
    match e.method() {
        "GET" => get(path, extra),
        _ => post(path, body),
    }
}

fn emu() -> Emulator {
    Emulator::start(Config::default()).unwrap()
}

#[test]
fn every_endpoint_answers_a_good_request() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    for e in Endpoint::ALL {
        let r = c.roundtrip(&request(e));
        assert_eq!(r.status, 200, "{e}: {r:?}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        r.json();
    }
    for e in Endpoint::ALL {
        assert_eq!(emu.count_for(e), 1, "{e}");
        assert_eq!(emu.requests_for(e)[0].endpoint, Some(e));
    }
}

#[test]
fn keys_are_checked_the_same_way_everywhere() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    for e in Endpoint::ALL {
        let (path, extra, body) = good(e);
        let ct = [("Content-Type", "application/json")];
        let bare = if extra.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{extra}")
        };
        let wrong = format!("{path}?accessKey=nope&secretKey=nope&{extra}");
        let only_access = format!("{path}?accessKey={}&{extra}", encode(DEFAULT_ACCESS_KEY));
        for target in [&bare, &wrong, &only_access] {
            let r = c.roundtrip(&raw(e.method(), target, &ct, body.as_bytes()));
            assert_error(&r, 401, "MXUnAuthorizedAccessException");
        }
        // The headers work for every endpoint, with any name case.
        let h = [
            ("Content-Type", "application/json"),
            ("X-LSQ-ACCESSKEY", DEFAULT_ACCESS_KEY),
            ("x-lsq-secretkey", DEFAULT_SECRET_KEY),
        ];
        let r = c.roundtrip(&raw(e.method(), &bare, &h, body.as_bytes()));
        assert_eq!(r.status, 200, "{e}: {r:?}");
        // Keys are never echoed back.
        assert!(!String::from_utf8_lossy(&r.body).contains(DEFAULT_SECRET_KEY));
    }
    assert_eq!(emu.count_with_status(401), 18);
}

#[test]
fn the_wrong_method_or_an_unknown_path_is_404() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    for e in Endpoint::ALL {
        let (path, extra, body) = good(e);
        let other = if e.method() == "GET" { "POST" } else { "GET" };
        let ct = [("Content-Type", "application/json")];
        for method in [other, "PUT", "DELETE"] {
            let r = c.roundtrip(&raw(method, &keyed(path, extra), &ct, body.as_bytes()));
            assert_error(&r, 404, "MXAPINotFoundException");
            assert!(message(&r).contains(e.method()), "{}", message(&r));
        }
        // Paths are exact and case-sensitive.
        let lower = keyed(&path.to_lowercase(), extra);
        let r = c.roundtrip(&raw(e.method(), &lower, &ct, body.as_bytes()));
        assert_error(&r, 404, "MXAPINotFoundException");
    }
    let r = c.roundtrip(&get("/v2/LeadManagement.svc/Leads.GetByPhone", "phone=1"));
    assert_error(&r, 404, "MXAPINotFoundException");
    // A 404 is no endpoint's.
    assert!(emu.requests().iter().all(|r| r.endpoint.is_none()));
    assert!(Endpoint::ALL.iter().all(|e| emu.count_for(*e) == 0));
}

#[test]
fn post_bodies_must_be_declared_json() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    for e in [Endpoint::Popup, Endpoint::LeadCreate, Endpoint::LogCall] {
        let (path, _, body) = good(e);
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let headers: Vec<(&str, &str)> = ct.map(|v| ("Content-Type", v)).into_iter().collect();
            let r = c.roundtrip(&raw("POST", &keyed(path, ""), &headers, body.as_bytes()));
            assert_error(&r, 400, "MXInvalidInputException");
            assert!(message(&r).contains("Content-Type"), "{e}");
        }
        let ct = [("Content-Type", "application/json; charset=utf-8")];
        let r = c.roundtrip(&raw("POST", &keyed(path, ""), &ct, body.as_bytes()));
        assert_eq!(r.status, 200, "{e}: {r:?}");
    }
}

#[test]
fn one_rate_limit_counts_every_endpoint() {
    let emu = Emulator::start(Config {
        rate_limit: Some((6, HOUR)),
        retry_after: Some("2".into()),
        ..Config::default()
    })
    .unwrap();
    let mut c = Client::connect(emu.addr());
    for e in Endpoint::ALL {
        assert_eq!(c.roundtrip(&request(e)).status, 200, "{e}");
    }
    for e in Endpoint::ALL {
        let r = c.roundtrip(&request(e));
        assert_error(&r, 429, "MXAPIRateLimitExceededException");
        assert_eq!(
            message(&r),
            "API calls exceeded the limit of 6 in 3600 second(s)"
        );
        assert_eq!(r.header("retry-after"), Some("2"));
        assert_eq!(emu.count_for_with_status(e, 429), 1);
    }
    // Over the limit, nothing is done: no lead created, no call log kept.
    assert_eq!(emu.data().leads().len(), 1);
    assert_eq!(emu.call_log_count(), 1);
}

#[test]
fn a_limit_can_be_answered_as_200_with_the_exception() {
    let emu = Emulator::start(Config {
        rate_limit: Some((1, HOUR)),
        limit_status: 200,
        retry_after: Some("2".into()),
        ..Config::default()
    })
    .unwrap();
    let mut c = Client::connect(emu.addr());
    assert_eq!(c.roundtrip(&request(Endpoint::LeadByPhone)).status, 200);
    for e in Endpoint::ALL {
        let r = c.roundtrip(&request(e));
        assert_error(&r, 200, "MXAPIRateLimitExceededException");
        assert_eq!(
            message(&r),
            "API calls exceeded the limit of 1 in 3600 second(s)"
        );
        assert_eq!(r.header("retry-after"), None);
    }
    assert_eq!(emu.call_log_count(), 0);
    // And switched while running.
    emu.set_limit_status(403);
    assert_error(
        &c.roundtrip(&request(Endpoint::Popup)),
        403,
        "MXAPIRateLimitExceededException",
    );
    emu.set_limit_status(200);
    assert_eq!(c.roundtrip(&request(Endpoint::Popup)).status, 200);
    assert!(Emulator::start(Config {
        limit_status: 201,
        ..Config::default()
    })
    .is_err());
}

#[test]
fn the_200_limit_fault_plays_once() {
    let emu = emu();
    emu.push_fault(Fault::RateLimited200);
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&request(Endpoint::LogCall));
    assert_error(&r, 200, "MXAPIRateLimitExceededException");
    assert_eq!(
        message(&r),
        "API calls exceeded the limit of 25 in 5 second(s)"
    );
    assert_eq!(emu.call_log_count(), 0);
    assert_eq!(c.roundtrip(&request(Endpoint::LogCall)).status, 200);
    assert_eq!(emu.call_log_count(), 1);
    assert_eq!(emu.requests()[0].fault, Some("RateLimited200"));
}

#[test]
fn faults_for_one_endpoint_are_taken_by_it_only_and_first() {
    let emu = emu();
    emu.push_fault_for(Endpoint::LeadByPhone, Fault::status(503));
    emu.push_fault_for(
        Endpoint::LeadByPhone,
        Fault::RateLimited { retry_after: None },
    );
    emu.push_fault(Fault::status(502));
    assert_eq!(emu.pending_faults(), 3);
    assert_eq!(emu.pending_faults_for(Endpoint::LeadByPhone), 2);
    assert_eq!(emu.pending_faults_for(Endpoint::Popup), 0);
    let mut c = Client::connect(emu.addr());
    // The lookup takes its own faults first, in order...
    assert_eq!(c.roundtrip(&request(Endpoint::LeadByPhone)).status, 503);
    // ...the pop-up takes the shared one...
    assert_eq!(c.roundtrip(&request(Endpoint::Popup)).status, 502);
    assert_eq!(c.roundtrip(&request(Endpoint::Popup)).status, 200);
    assert_eq!(c.roundtrip(&request(Endpoint::LeadByPhone)).status, 429);
    assert_eq!(c.roundtrip(&request(Endpoint::LeadByPhone)).status, 200);
    assert_eq!(emu.pending_faults(), 0);
    // A refused request takes no fault.
    emu.push_fault_for(Endpoint::LogCall, Fault::status(500));
    let r = c.roundtrip(&post(LOG_CALL_PATH, "{}"));
    assert_eq!(r.status, 400);
    assert_eq!(emu.pending_faults_for(Endpoint::LogCall), 1);
    emu.clear_faults();
    assert_eq!(emu.pending_faults(), 0);
    assert_eq!(emu.count_for_with_status(Endpoint::LeadByPhone, 503), 1);
    assert_eq!(emu.count_for_with_status(Endpoint::Popup, 502), 1);
}

#[test]
fn delayed_and_closing_faults_answer_the_endpoints_own_answer() {
    let mut data = Data::new();
    data.add_lead(serde_json::json!({"ProspectID": guid(1), "Phone": "+91-8611795988"}))
        .unwrap();
    let emu = Emulator::start(Config {
        data,
        ..Config::default()
    })
    .unwrap();
    emu.push_faults_for(
        Endpoint::LeadByPhone,
        [
            Fault::Delay(Duration::from_millis(1)),
            Fault::CloseAfterAnswer,
        ],
    );
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&request(Endpoint::LeadByPhone));
    assert_eq!(r.json()[0]["ProspectID"], guid(1));
    let r = c.roundtrip(&request(Endpoint::LeadByPhone));
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.json()[0]["ProspectID"], guid(1));
    assert!(c.closed());
    // A delayed duplicate create still answers its 500.
    emu.push_fault_for(Endpoint::LeadCreate, Fault::Delay(Duration::from_millis(1)));
    let dup = post(
        LEAD_CREATE_PATH,
        r#"[{"Attribute":"Phone","Value":"+91-8611795988"}]"#,
    );
    let r = once(emu.addr(), &dup);
    assert_error(&r, 500, "MXDuplicateEntryException");
    assert_eq!(emu.requests_for(Endpoint::LeadCreate)[0].status, 500);
}

#[test]
fn waiting_for_requests_of_one_endpoint() {
    let emu = std::sync::Arc::new(emu());
    let sender = {
        let addr = emu.addr();
        std::thread::spawn(move || {
            let mut c = Client::connect(addr);
            for e in [
                Endpoint::UserByEmail,
                Endpoint::LeadByPhone,
                Endpoint::LeadByPhone,
            ] {
                c.roundtrip(&request(e));
            }
        })
    };
    assert!(emu.wait_for_endpoint(Endpoint::LeadByPhone, 2, TIMEOUT));
    assert!(emu.wait_for_endpoint_status(Endpoint::UserByEmail, 200, 1, TIMEOUT));
    assert!(!emu.wait_for_endpoint(Endpoint::LogCall, 1, Duration::from_millis(20)));
    sender.join().unwrap();
    assert_eq!(emu.request_count(), 3);
}
