//! `UserByAccessKey.Get`: the account's regional host and default country code, for
//! liblsq's `host = "auto"`.

mod common;

use common::*;
use lsq_emulator::{Account, Config, Emulator, USER_BY_ACCESS_KEY_PATH};

#[test]
fn announces_itself_by_default() {
    let emu = Emulator::start(Config::default()).unwrap();
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&get(USER_BY_ACCESS_KEY_PATH, ""));
    assert_eq!(r.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    // The Host header the question came with (these tests send `Host: localhost`).
    assert_eq!(body["LSQCommonServiceURLs"]["api"], "localhost");
    assert_eq!(body["DefaultCountryCode"], "91");
}

#[test]
fn announces_the_configured_account() {
    let emu = Emulator::start(Config {
        account: Account {
            api_host: Some("api-us11.leadsquared.com".into()),
            default_country_code: "1".into(),
            organisation: "Acme".into(),
        },
        ..Config::default()
    })
    .unwrap();
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(&get(USER_BY_ACCESS_KEY_PATH, ""));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body["LSQCommonServiceURLs"]["api"],
        "api-us11.leadsquared.com"
    );
    assert_eq!(body["DefaultCountryCode"], "1");
    assert_eq!(body["OrgDisplayName"], "Acme");
}

#[test]
fn wrong_keys_are_a_401() {
    let emu = Emulator::start(Config::default()).unwrap();
    let mut c = Client::connect(emu.addr());
    let r = c.roundtrip(
        format!(
            "GET {USER_BY_ACCESS_KEY_PATH}?accessKey=x&secretKey=y HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 401);
}
