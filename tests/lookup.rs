//! Lead lookup and agent ringing through the Rust API, over loopback
//! against the emulator and its sample data: number forms, the cache, one
//! request for concurrent callers, unknown callers created once, the
//! duplicate race, outbound numbers, rate limits inside a 200, hostile
//! answers, and the keys never shown. Waits are on conditions, never sleeps.

mod support;

use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lsq::{Client, Direction, ErrorKind, Level, Logger, Options, Ringing};
use lsq_emulator::{Data, Endpoint};
use support::*;

const PRIYA: &str = "a484b8fc-0425-48f6-abf8-15af4cb65137";
const PRIYA_EMAIL: &str = "priya.sharma@example.com";
const ANANYA: &str = "e6293922-cabc-4f87-a045-86f60b4ebdaf";

fn sample_emulator() -> Emulator {
    emulator(Config {
        data: Data::sample(),
        ..Config::default()
    })
}

fn client(emu: &Emulator, settings: &[(&str, &str)]) -> Client {
    let mut options = Options::default();
    for (k, v) in settings {
        options.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap()
}

fn ringing<'a>(call: &'a str, user: &'a str) -> Ringing<'a> {
    Ringing {
        caller_number: "+91 86117 95988",
        agent_number: "1001",
        display_number: "+91-8611795989",
        direction: Direction::Inbound,
        call_session_id: call,
        user,
        lead_id: None,
        tag: None,
    }
}

/// Every form a PBX gives a number in finds the lead LeadSquared stores.
#[test]
fn every_number_form_finds_its_lead() {
    let emu = sample_emulator();
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("lead_cache_ttl_ms", "0")],
    );
    for form in [
        "+918611795988",
        "+91 86117 95988",
        "+91-8611795988",
        "(+91) 86117-95988",
        "08611795988",
        "8611795988",
        "00918611795988",
        "0091 8611795988",
        "tel:+918611795988",
        "+91.861.179.5988",
    ] {
        let r = c.find_lead(form);
        let found = r.outcome.unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(found.lead.lead_id, ANANYA, "{form}");
        assert_eq!(found.lead.owner_id, PRIYA, "{form}");
        assert_eq!(found.lead.first_name, "Ananya", "{form}");
        assert!(
            !r.cached && r.attempts == 1 && r.http_status == 200,
            "{form}"
        );
    }
    let queries: Vec<String> = emu
        .requests_for(Endpoint::LeadByPhone)
        .iter()
        .map(|r| r.query.clone())
        .collect();
    assert!(
        queries.iter().all(|q| q.ends_with("phone=918611795988")),
        "{queries:?}"
    );
    // The keys come before phone in the query, as the contract says.
    assert!(queries[0].starts_with("accessKey="));
}

#[test]
fn cache_hit_miss_expiry_and_eviction() {
    let emu = sample_emulator();
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("lead_cache_capacity", "2")],
    );
    let first = c.find_lead("+91-8611795988");
    assert!(first.outcome.is_ok() && !first.cached);
    let again = c.find_lead("08611795988");
    assert!(again.cached && again.attempts == 0 && again.http_status == 0);
    assert_eq!(again.outcome.unwrap().lead.lead_id, ANANYA);
    // A miss is cached too (lead_miss_ttl_ms).
    let miss = c.find_lead("+91 70000 00001");
    assert_eq!(miss.error_kind(), Some(ErrorKind::NoMatch));
    assert!(!miss.cached);
    let miss_again = c.find_lead("+917000000001");
    assert_eq!(miss_again.error_kind(), Some(ErrorKind::NoMatch));
    assert!(miss_again.cached);
    assert_eq!(emu.count_for(Endpoint::LeadByPhone), 2);
    // Capacity 2: a third number evicts the least recently used (Ananya,
    // last used before the miss).
    assert!(c.find_lead("+91-9876543210").outcome.is_ok());
    assert!(!c.find_lead("+91-8611795988").cached);
    assert_eq!(emu.count_for(Endpoint::LeadByPhone), 4);

    // Expiry: a 50 ms TTL; wait (on the condition, not a guess) until a
    // lookup is no longer answered from the cache.
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("lead_cache_ttl_ms", "50")],
    );
    assert!(!c.find_lead("+918611795988").cached);
    let stop = Instant::now() + Duration::from_secs(10);
    while c.find_lead("+918611795988").cached {
        assert!(Instant::now() < stop, "the entry never expired");
    }
}

/// Failures are never cached.
#[test]
fn failures_are_not_cached() {
    let emu = sample_emulator();
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("max_retries", "0")],
    );
    emu.push_fault_for(Endpoint::LeadByPhone, Fault::status(500));
    assert_eq!(
        c.find_lead("+918611795988").error_kind(),
        Some(ErrorKind::Server)
    );
    let next = c.find_lead("+918611795988");
    assert!(next.outcome.is_ok() && !next.cached);
}

/// Sixteen threads reporting one caller ringing (the same agent, by
/// e-mail) make one lookup and one e-mail lookup.
#[test]
fn sixteen_threads_one_caller_make_one_lookup() {
    let emu = emulator(Config {
        data: Data::sample(),
        delay: Duration::from_millis(200),
        ..Config::default()
    });
    let c = Arc::new(client(&emu, &[("default_country_code", "91")]));
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (c, barrier) = (c.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let call = format!("ring-all-{i}");
                c.agent_ringing(&ringing(&call, PRIYA_EMAIL))
            })
        })
        .collect();
    for t in threads {
        let r = t.join().unwrap();
        assert!(r.popup.outcome.is_ok(), "{:?}", r.popup.outcome);
        assert_eq!(r.lead.outcome.unwrap().lead.lead_id, ANANYA);
    }
    assert_eq!(emu.count_for(Endpoint::LeadByPhone), 1);
    assert_eq!(emu.count_for(Endpoint::UserByEmail), 1);
    assert_eq!(emu.count_for(Endpoint::Popup), 16);
    // The popups carry the resolved UserId and the lead found.
    for r in emu.requests_for(Endpoint::Popup) {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["LeadId"], ANANYA);
        assert_eq!(body["UserId"], PRIYA);
        assert_eq!(body["SourceNumber"], "+91 86117 95988");
        assert_eq!(body["DestinationNumber"], "1001");
    }
}

#[test]
fn async_ringing_and_lookups_call_back_exactly_once() {
    let emu = sample_emulator();
    let c = client(&emu, &[("default_country_code", "91")]);
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..8 {
        let tx = tx.clone();
        let call = format!("async-{i}");
        c.agent_ringing_async(&ringing(&call, PRIYA), move |r| tx.send(r).unwrap())
            .unwrap();
    }
    let (ltx, lrx) = std::sync::mpsc::channel();
    c.find_lead_async("+91 98450 12345", move |r| ltx.send(r).unwrap())
        .unwrap();
    drop(tx);
    let reports: Vec<_> = rx.iter().collect();
    assert_eq!(reports.len(), 8);
    assert!(reports.iter().all(|r| r.popup.outcome.is_ok()));
    let lead = lrx.recv().unwrap();
    assert_eq!(lead.outcome.unwrap().lead.first_name, "Karthik");
    assert!(lrx.recv().is_err(), "called once");
    // Invalid input: not queued.
    let e = c
        .find_lead_async("12", |_| panic!("never called"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

/// Outbound: SourceNumber is the agent, DestinationNumber the lead.
#[test]
fn outbound_calls_swap_the_numbers() {
    let emu = sample_emulator();
    let c = client(&emu, &[("default_country_code", "91")]);
    let r = c.agent_ringing(&Ringing {
        direction: Direction::Outbound,
        ..ringing("outbound-1", PRIYA)
    });
    assert!(r.popup.outcome.is_ok(), "{:?}", r.popup.outcome);
    let sent = &emu.requests_for(Endpoint::Popup)[0];
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["SourceNumber"], "1001");
    assert_eq!(body["DestinationNumber"], "+91 86117 95988");
    assert_eq!(body["Direction"], "Outbound");
}

/// No lead, no popup; an unknown e-mail, no popup; a lead_id given, no lookup.
#[test]
fn no_popup_without_a_lead_or_an_agent() {
    let emu = sample_emulator();
    let c = client(&emu, &[("default_country_code", "91")]);
    let r = c.agent_ringing(&Ringing {
        caller_number: "+91 70000 00002",
        ..ringing("nolead", PRIYA)
    });
    assert_eq!(r.popup.error_kind(), Some(ErrorKind::NoMatch));
    assert_eq!(r.lead.error_kind(), Some(ErrorKind::NoMatch));
    let r = c.agent_ringing(&ringing("nouser", "nobody@example.com"));
    assert_eq!(r.popup.error_kind(), Some(ErrorKind::NoMatch));
    let message = r.popup.outcome.unwrap_err().message().to_string();
    assert!(message.contains("nobody@example.com"), "{message}");
    // An inactive user is no user.
    let r = c.agent_ringing(&ringing("inactive", "suresh.kumar@example.com"));
    assert_eq!(r.popup.error_kind(), Some(ErrorKind::NoMatch));
    assert_eq!(emu.count_for(Endpoint::Popup), 0);
    let lookups = emu.count_for(Endpoint::LeadByPhone);
    let r = c.agent_ringing(&Ringing {
        lead_id: Some(ANANYA),
        ..ringing("given", PRIYA)
    });
    assert!(r.popup.outcome.is_ok());
    assert_eq!(emu.count_for(Endpoint::LeadByPhone), lookups);
}

/// A duplicate (same call, same agent) costs no lookup either.
#[test]
fn a_duplicate_ringing_costs_no_lookup() {
    let emu = sample_emulator();
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("dedup_window_ms", "10000")],
    );
    assert!(c
        .agent_ringing(&ringing("dup", PRIYA_EMAIL))
        .popup
        .outcome
        .is_ok());
    let r = c.agent_ringing(&ringing("dup", "Priya.Sharma@example.com"));
    assert_eq!(r.popup.error_kind(), Some(ErrorKind::Duplicate));
    let e = c
        .agent_ringing_async(&ringing("dup", PRIYA_EMAIL), |_| panic!("never called"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Duplicate);
    assert_eq!(emu.count_for(Endpoint::LeadByPhone), 1);
    assert_eq!(emu.count_for(Endpoint::UserByEmail), 1);
}

/// Unknown callers are created once, as +{cc}-{national}; a national number
/// without a country code is not created, and says why.
#[test]
fn unknown_callers_are_created_once() {
    let emu = sample_emulator();
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("unknown_caller", "create")],
    );
    let r = c.find_lead("07000 000003");
    let found = r.outcome.unwrap();
    assert!(found.created);
    assert_eq!(found.lead.phone, "+91-7000000003");
    let created = emu.requests_for(Endpoint::LeadCreate);
    assert_eq!(created.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&created[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!([{"Attribute":"Phone","Value":"+91-7000000003"},{"Attribute":"Source","Value":"Phone Call"}])
    );
    // Cached like a found lead.
    // Cached like a found lead, and `created` only in the result of the
    // request that created it: a cached answer reports cached, not created.
    let again = c.find_lead("+91 70000 00003");
    assert!(again.cached);
    let again = again.outcome.unwrap();
    assert_eq!(again.lead.lead_id, found.lead.lead_id);
    assert!(!again.created, "a cached lead reported created");
    assert_eq!(emu.count_for(Endpoint::LeadCreate), 1);
    // The same through an agent ringing of that caller.
    let rung = c.agent_ringing(&lsq::Ringing {
        caller_number: "07000 000003",
        agent_number: "1001",
        display_number: "+91-8611795989",
        direction: lsq::Direction::Inbound,
        call_session_id: "created-once-ring",
        user: "a484b8fc-0425-48f6-abf8-15af4cb65137",
        lead_id: None,
        tag: None,
    });
    assert!(rung.lead.cached);
    assert!(
        !rung.lead.outcome.unwrap().created,
        "a cached lead reported created"
    );

    let no_cc = client(&emu, &[("unknown_caller", "create")]);
    let r = no_cc.find_lead("07000 000004");
    let e = r.outcome.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoMatch);
    assert!(
        e.message().contains("default_country_code"),
        "{}",
        e.message()
    );
    assert_eq!(emu.count_for(Endpoint::LeadCreate), 1);
}

/// Another PBX created the lead between our lookup and our create: the
/// create is refused as a duplicate and the lead is looked up again.
#[test]
fn the_duplicate_race_looks_the_lead_up_again() {
    let emu = sample_emulator();
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("unknown_caller", "create")],
    );
    // The first lookup answers "no lead" (as before the other PBX's create).
    emu.push_fault_for(
        Endpoint::LeadByPhone,
        Fault::Status {
            code: 200,
            body: b"[]".to_vec(),
            headers: vec![("Content-Type".into(), "application/json".into())],
        },
    );
    let r = c.find_lead("+91 86117 95988");
    let found = r.outcome.unwrap();
    assert_eq!(found.lead.lead_id, ANANYA);
    assert!(!found.created);
    assert_eq!(emu.count_for(Endpoint::LeadCreate), 1);
    assert_eq!(emu.count_for(Endpoint::LeadByPhone), 2);
}

/// LeadSquared also answers a rate limit with HTTP 200: retried like a 429.
#[test]
fn a_rate_limit_inside_a_200_is_retried() {
    let emu = sample_emulator();
    // Without Retry-After each limit waits a window (5 s) plus margin: room for two.
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("max_age_ms", "20000")],
    );
    emu.push_fault_for(Endpoint::LeadByPhone, Fault::RateLimited200);
    emu.push_fault_for(Endpoint::Popup, Fault::RateLimited200);
    let r = c.agent_ringing(&ringing("limited", PRIYA));
    assert!(r.popup.outcome.is_ok(), "{:?}", r.popup.outcome);
    assert_eq!((r.lead.attempts, r.popup.attempts), (2, 2));
    assert_eq!(c.stats().rate_limited, 2);
}

/// Hostile lookup answers end in LSQ_ERR_RESPONSE, never a crash, and are
/// never cached.
#[test]
fn hostile_lookup_answers_are_response_errors() {
    let emu = sample_emulator();
    let c = client(
        &emu,
        &[
            ("default_country_code", "91"),
            ("max_retries", "0"),
            ("timeout_ms", "3000"),
        ],
    );
    let json = |body: &str| Fault::Status {
        code: 200,
        body: body.as_bytes().to_vec(),
        headers: vec![("Content-Type".into(), "application/json".into())],
    };
    let huge_array = format!("[{}]", vec![r#"{"ProspectID":"x"}"#; 5000].join(","));
    let faults = vec![
        json(r#"{"ProspectID":"not an array"}"#),
        json(r#"[{"ProspectID":12345}]"#),
        json(r#"[{"ProspectID":"x","FirstName":{"a":1}}]"#),
        json("[1,2,3]"),
        json(&huge_array),
        Fault::Status {
            code: 200,
            body: b"<html><body>Maintenance</body></html>".to_vec(),
            headers: vec![("Content-Type".into(), "text/html".into())],
        },
        Fault::Huge {
            bytes: 10 * 1024 * 1024,
        },
    ];
    for fault in faults {
        let name = format!("{fault:?}").chars().take(60).collect::<String>();
        emu.push_fault_for(Endpoint::LeadByPhone, fault);
        let r = c.find_lead("+918611795988");
        assert_eq!(
            r.error_kind(),
            Some(ErrorKind::Response),
            "{name}: {:?}",
            r.outcome
        );
    }
    let r = c.find_lead("+918611795988");
    assert!(r.outcome.is_ok() && !r.cached);
}

/// The keys never appear in a lookup's messages or log lines, whatever fails.
#[test]
fn keys_never_appear_in_lookup_messages_or_logs() {
    let emu = sample_emulator();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let mut options = Options {
        logger: Logger::new(Arc::new(move |_: Level, line: &str| {
            sink.lock().unwrap().push(line.to_string())
        })),
        ..Options::default()
    };
    options.set("default_country_code", "91").unwrap();
    options.set("max_retries", "0").unwrap();
    let c = Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
    let echo = format!("bad keys {DEFAULT_ACCESS_KEY} {DEFAULT_SECRET_KEY}");
    let mut messages = Vec::new();
    for endpoint in [
        Endpoint::LeadByPhone,
        Endpoint::UserByEmail,
        Endpoint::LeadCreate,
    ] {
        emu.push_fault_for(
            endpoint,
            Fault::json_error(400, "MXInvalidInputException", &echo),
        );
    }
    messages.push(format!("{:?}", c.find_lead("+918611795988")));
    messages.push(format!(
        "{:?}",
        c.agent_ringing(&ringing("keys", PRIYA_EMAIL))
    ));
    let wrong = Client::new(
        emu.url(),
        DEFAULT_ACCESS_KEY,
        "a-wrong-secret-key",
        Options::default(),
    )
    .unwrap();
    messages.push(format!("{:?}", wrong.find_lead("+918611795988")));
    let all = messages.join("\n") + &lines.lock().unwrap().join("\n");
    assert!(
        all.contains("***"),
        "the echo was scrubbed, not lost: {all}"
    );
    assert_no_key("lookup messages and logs", &all);
}

/// A lookup whose answer comes after the call's max_age: the popup is not
/// sent late (it ends Expired). The budget benchmark found popups sent up
/// to one server latency late before the gate checked every waiter's deadline.
#[test]
fn a_popup_is_never_sent_after_a_slow_lookup_passed_max_age() {
    let emu = emulator(Config {
        data: Data::sample(),
        delay: Duration::from_millis(1500),
        ..Config::default()
    });
    let c = client(
        &emu,
        &[("default_country_code", "91"), ("max_age_ms", "1000")],
    );
    let r = c.agent_ringing(&ringing("too-slow", PRIYA));
    assert_eq!(
        r.lead.outcome.as_ref().map(|f| f.lead.lead_id.as_str()),
        Ok(ANANYA)
    );
    assert_eq!(
        r.popup.error_kind(),
        Some(ErrorKind::Expired),
        "{:?}",
        r.popup.outcome
    );
    assert_eq!(emu.count_for(Endpoint::Popup), 0, "a popup was sent late");
}
