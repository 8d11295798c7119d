//! `host = "auto"`: the keys are all an admin gives; the client asks
//! `UserByAccessKey.Get` (at `discovery_host`) once, at creation, for the
//! account's regional host and default country code. Over loopback against
//! the emulator, which answers for an account like LeadSquared does.

mod support;

use std::sync::{Arc, Mutex};

use lsq::{Client, ErrorKind, Level, Logger, Options};
use lsq_emulator::{Account, Config, Emulator, Endpoint, Fault};
use support::*;

type Lines = Arc<Mutex<Vec<(Level, String)>>>;

fn options_asking(asked: &Emulator) -> (Options, Lines) {
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    let mut options = Options::default();
    options.set("discovery_host", asked.url()).unwrap();
    options.rate_limit = None;
    options.logger = Logger::new(Arc::new(move |level, line: &str| {
        sink.lock().unwrap().push((level, line.to_string()))
    }));
    (options, lines)
}

/// The question goes to `discovery_host`; every later request to the host
/// it named, with the account's default country code in front of a national
/// caller id.
#[test]
fn the_client_talks_to_the_host_the_account_names() {
    let regional = emulator(Config {
        data: lsq_emulator::Data::sample(),
        ..Config::default()
    });
    let asked = emulator(Config {
        account: Account {
            api_host: Some(format!("127.0.0.1:{}", regional.port())),
            default_country_code: "91".into(),
            organisation: "Acme Calls".into(),
        },
        ..Config::default()
    });
    let (options, lines) = options_asking(&asked);
    let client = Client::new("auto", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
    assert_eq!(asked.count_for(Endpoint::UserByAccessKey), 1);
    assert_eq!(
        regional.request_count(),
        0,
        "creation asks only the question"
    );

    let lead = client.find_lead("8611795988");
    assert!(lead.outcome.is_ok(), "{:?}", lead.outcome);
    let lookups = regional.requests_for(Endpoint::LeadByPhone);
    assert_eq!(lookups.len(), 1);
    assert!(
        lookups[0].query.contains("phone=918611795988"),
        "the account's country code is put in front: {}",
        lookups[0].redacted_query()
    );
    let report = client.show_agent_popup(&documented_popup("call-auto"));
    assert!(report.outcome.is_ok(), "{:?}", report.outcome);
    assert_eq!(regional.count_for(Endpoint::Popup), 1);
    assert_eq!(asked.request_count(), 1, "asked once, never again");

    let lines = lines.lock().unwrap();
    let said = lines
        .iter()
        .find(|(_, l)| l.starts_with("host=auto:"))
        .expect("a log line says what was found");
    assert_eq!(said.0, Level::Info);
    let regional_url = format!("http://127.0.0.1:{}", regional.port());
    assert!(said.1.contains(&regional_url), "{}", said.1);
    assert!(said.1.contains("Acme Calls"), "{}", said.1);
    assert!(said.1.contains("default country code 91"), "{}", said.1);
    for (_, line) in lines.iter() {
        assert_no_key("log line", line);
    }
}

/// A country code set in the options wins over the account's.
#[test]
fn a_country_code_set_by_the_admin_wins() {
    let data = lsq_emulator::Data::sample();
    let emu = emulator(Config {
        data,
        ..Config::default()
    });
    let (mut options, lines) = options_asking(&emu);
    options.set("default_country_code", "44").unwrap();
    let client = Client::new("AUTO", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
    let _ = client.find_lead("7700900123");
    let lookups = emu.requests_for(Endpoint::LeadByPhone);
    assert!(
        lookups[0].query.contains("phone=447700900123"),
        "{}",
        lookups[0].redacted_query()
    );
    let lines = lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|(_, l)| l.contains("default country code 91 is not used")),
        "{lines:?}"
    );
}

/// Wrong keys: creation fails with UNAUTHORIZED and a message an admin acts
/// on, naming the host that refused them and never the keys.
#[test]
fn wrong_keys_fail_creation_clearly() {
    let emu = default_emulator();
    let (options, _) = options_asking(&emu);
    let wrong = "u$rwrongwrongwrongwrongwrongwrongwrong";
    let error = Client::new("auto", wrong, DEFAULT_SECRET_KEY, options).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    let message = error.message();
    assert!(
        message.starts_with("host=auto: LeadSquared did not accept the keys"),
        "{message}"
    );
    assert!(
        message.contains(&format!("127.0.0.1:{}", emu.port())),
        "{message}"
    );
    assert_no_key("error", message);
    assert!(!message.contains("wrongwrong"), "{message}");
}

/// A 503 is asked again (as a popup would be); an answer without a host is
/// a Response error that says what was missing.
#[test]
fn a_passing_failure_is_retried_and_a_bad_answer_explained() {
    let emu = default_emulator();
    emu.push_fault_for(Endpoint::UserByAccessKey, Fault::status(503));
    let (options, _) = options_asking(&emu);
    Client::new("auto", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
    assert_eq!(emu.count_for(Endpoint::UserByAccessKey), 2);

    let empty = emulator(Config {
        account: Account {
            api_host: Some(String::new()),
            ..Account::default()
        },
        ..Config::default()
    });
    let (options, _) = options_asking(&empty);
    let error =
        Client::new("auto", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Response);
    assert!(
        error.message().contains("LSQCommonServiceURLs.api"),
        "{}",
        error.message()
    );
}

/// `discovery_host` takes what `host` takes, never `auto`, and plain http
/// only to loopback or with allow_http.
#[test]
fn discovery_host_is_checked_like_host() {
    let mut options = Options::default();
    for bad in ["auto", "", "ftp://x.example", "https://x.example/v2/x"] {
        let e = options.set("discovery_host", bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        assert!(e.message().starts_with("discovery_host: "), "{bad}: {e}");
    }
    options.set("discovery_host", "http://x.example").unwrap();
    let e =
        Client::new("auto", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).expect_err("refused");
    assert!(e.message().starts_with("discovery_host: plain http"), "{e}");
}
