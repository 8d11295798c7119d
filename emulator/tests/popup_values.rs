//! ShowAgentPopup checks values as LogCall does (and as c-api.md says LeadSquared does): a
//! well-typed body with a bad value is a 400 MXInvalidInputException naming the field, and
//! nothing is popped up.

mod common;

use common::*;
use lsq_emulator::{Config, Emulator, Endpoint, POPUP_PATH};
use serde_json::{json, Value};

fn documented() -> Value {
    json!({
        "SourceNumber": "+91-8611795988",
        "DestinationNumber": "+91-8971373363",
        "DisplayNumber": "+91-8611795989",
        "Direction": "Inbound",
        "CallSessionId": "1700000000.42",
        "LeadId": "f5c7e023-653c-11e7-b25c-023cca4497b9",
        "UserId": "dd908e91-c5c9-11e5-8de3-22000aa5088d",
        "Tag": "Tag - Lead",
    })
}

#[test]
fn bad_values_are_400_like_log_call() {
    let emu = Emulator::start(Config::default()).unwrap();
    let mut c = Client::connect(emu.addr());
    let ok = c.roundtrip(&post(POPUP_PATH, &documented().to_string()));
    assert_eq!(ok.status, 200, "{ok:?}");
    for (name, value) in [
        ("LeadId", "not-a-guid"),
        ("LeadId", ""),
        ("UserId", "dd908e91-c5c9-11e5-8de3-22000aa5088"),
        ("CallSessionId", ""),
        ("SourceNumber", "abc"),
        ("SourceNumber", ""),
        ("DestinationNumber", "1001; DROP"),
        ("DisplayNumber", "+91-86117x95989"),
        ("Direction", "inbound"),
    ] {
        let mut body = documented();
        body[name] = json!(value);
        let r = c.roundtrip(&post(POPUP_PATH, &body.to_string()));
        assert_error(&r, 400, "MXInvalidInputException");
        let message = r.json()["ExceptionMessage"].as_str().unwrap().to_string();
        assert!(message.contains(name), "{name}={value:?}: {message}");
    }
    assert_eq!(emu.count_for_with_status(Endpoint::Popup, 200), 1);
    assert_eq!(emu.count_for_with_status(Endpoint::Popup, 400), 9);
}
