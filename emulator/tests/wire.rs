//! The documented behaviour: success, 401, 400, 404, their order, keep-alive, the log.

mod common;

use common::*;
use lsq_emulator::{Config, Emulator, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, POPUP_PATH};

fn emu() -> Emulator {
    Emulator::start(Config::default()).unwrap()
}

fn json_ct() -> [(&'static str, &'static str); 1] {
    [("Content-Type", "application/json")]
}

fn assert_error(r: &Resp, status: u16, exception_type: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["Status"], "Error");
    assert_eq!(v["ExceptionType"], exception_type);
    assert!(v["ExceptionMessage"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(v.as_object().unwrap().len(), 3);
}

#[test]
fn success_has_the_documented_shape_and_fresh_ids() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    let a = c.roundtrip(&popup_request());
    let b = c.roundtrip(&popup_request());
    for r in [&a, &b] {
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v = r.json();
        assert_eq!(v["Status"], "Success");
        assert_eq!(v["Message"]["Message"], "Message broadcasted successfully");
        let id = v["Message"]["Id"].as_str().unwrap();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert_eq!(v.as_object().unwrap().len(), 2);
        assert_eq!(v["Message"].as_object().unwrap().len(), 2);
    }
    assert_ne!(a.json()["Message"]["Id"], b.json()["Message"]["Id"]);
    // Keep-alive: both on one connection.
    assert_eq!(emu.connections_accepted(), 1);
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].connection, reqs[1].connection);
}

#[test]
fn the_log_records_the_request_as_sent() {
    let emu = emu();
    let r = once(emu.addr(), &popup_request());
    assert_eq!(r.status, 200);
    assert!(emu.wait_for_requests(1, TIMEOUT));
    let got = &emu.requests()[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, POPUP_PATH);
    assert_eq!(got.query, target().split_once('?').unwrap().1);
    assert!(got.query.contains("accessKey=u%24r"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.body, POPUP.as_bytes());
    assert_eq!(
        got.json().unwrap()["LeadId"],
        "f5c7e023-653c-11e7-b25c-023cca4497b9"
    );
    assert_eq!(got.status, 200);
    assert_eq!(got.fault, None);
    assert_eq!(emu.request_count(), 1);
    assert_eq!(emu.count_with_status(200), 1);
    // Debug output never shows the keys.
    let dbg = format!("{got:?}");
    assert!(!dbg.contains(DEFAULT_ACCESS_KEY) && !dbg.contains(DEFAULT_SECRET_KEY));
    assert!(!dbg.contains("u%24r"));
    assert!(dbg.contains("accessKey=***"));
}

#[test]
fn tag_is_optional() {
    let emu = emu();
    let body = POPUP.replace(r#""Tag":"Tag - Lead","#, "");
    let r = once(
        emu.addr(),
        &raw("POST", &target(), &json_ct(), body.as_bytes()),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn keys_in_headers_are_accepted_with_any_name_case() {
    let emu = emu();
    let r = once(
        emu.addr(),
        &raw(
            "POST",
            POPUP_PATH,
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("X-LSQ-ACCESSKEY", DEFAULT_ACCESS_KEY),
                ("x-lsq-secretkey", DEFAULT_SECRET_KEY),
            ],
            POPUP.as_bytes(),
        ),
    );
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn query_keys_are_percent_decoded_with_plus_as_space() {
    let cfg = Config {
        access_key: "a b+c&d=e".into(),
        secret_key: "é/ü?#%".into(),
        ..Config::default()
    };
    let emu = Emulator::start(cfg).unwrap();
    let t = format!(
        "{POPUP_PATH}?x=1&accessKey=a+b%2Bc%26d%3De&secretKey={}",
        encode("é/ü?#%")
    );
    let r = once(emu.addr(), &raw("POST", &t, &json_ct(), POPUP.as_bytes()));
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn missing_or_wrong_keys_are_401() {
    let emu = emu();
    let cases = [
        raw("POST", POPUP_PATH, &json_ct(), POPUP.as_bytes()),
        raw(
            "POST",
            &format!("{POPUP_PATH}?accessKey={}", encode(DEFAULT_ACCESS_KEY)),
            &json_ct(),
            POPUP.as_bytes(),
        ),
        raw(
            "POST",
            &target_with(DEFAULT_ACCESS_KEY, "wrong"),
            &json_ct(),
            POPUP.as_bytes(),
        ),
        raw(
            "POST",
            &target_with("wrong", DEFAULT_SECRET_KEY),
            &json_ct(),
            POPUP.as_bytes(),
        ),
        raw(
            "POST",
            POPUP_PATH,
            &[
                ("Content-Type", "application/json"),
                ("x-LSQ-AccessKey", DEFAULT_ACCESS_KEY),
                ("x-LSQ-SecretKey", "nope"),
            ],
            POPUP.as_bytes(),
        ),
        // Keys not decoded: `$` sent as `%2524`.
        raw(
            "POST",
            &target().replace("%24", "%2524"),
            &json_ct(),
            POPUP.as_bytes(),
        ),
    ];
    let mut c = Client::connect(emu.addr());
    for req in &cases {
        assert_error(&c.roundtrip(req), 401, "MXUnAuthorizedAccessException");
    }
    assert_eq!(emu.count_with_status(401), cases.len() as u64);
}

#[test]
fn bad_content_type_or_body_is_400() {
    let emu = emu();
    let cases: Vec<(Vec<(&str, &str)>, String)> = vec![
        (vec![], POPUP.into()),
        (vec![("Content-Type", "text/plain")], POPUP.into()),
        (vec![("Content-Type", "application/jsonx")], POPUP.into()),
        (json_ct().to_vec(), "not json".into()),
        (json_ct().to_vec(), String::new()),
        (json_ct().to_vec(), "[]".into()),
        (json_ct().to_vec(), POPUP.replace("}", r#","Extra":"x"}"#)),
        (
            json_ct().to_vec(),
            POPUP.replace("SourceNumber", "sourceNumber"),
        ),
        (
            json_ct().to_vec(),
            POPUP.replace(
                r#""UserId":"dd908e91-c5c9-11e5-8de3-22000aa5088d""#,
                r#""UserId":7"#,
            ),
        ),
        (
            json_ct().to_vec(),
            POPUP.replace(r#","UserId":"dd908e91-c5c9-11e5-8de3-22000aa5088d""#, ""),
        ),
        (
            json_ct().to_vec(),
            POPUP.replace("\"Inbound\"", "\"inbound\""),
        ),
        (json_ct().to_vec(), POPUP.replace("\"Inbound\"", "0")),
        (json_ct().to_vec(), POPUP.replace("\"Tag - Lead\"", "null")),
        (json_ct().to_vec(), POPUP.replace("\"12345\"", "12345")),
    ];
    let mut c = Client::connect(emu.addr());
    for (headers, body) in &cases {
        let r = c.roundtrip(&raw("POST", &target(), headers, body.as_bytes()));
        assert_error(&r, 400, "MXInvalidInputException");
    }
    // Still serving on the same connection.
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    assert_eq!(emu.connections_accepted(), 1);
}

#[test]
fn anything_but_the_popup_route_is_404() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    let other_path = target().replace("ShowAgentPopup", "ShowAgentPopUp");
    for req in [
        raw("POST", &other_path, &json_ct(), POPUP.as_bytes()),
        raw("GET", &target(), &[], b""),
        raw("PUT", &target(), &json_ct(), POPUP.as_bytes()),
        raw("POST", "/", &json_ct(), POPUP.as_bytes()),
        // 404 comes before 401.
        raw("POST", "/v2/Nope", &[], b""),
    ] {
        assert_error(&c.roundtrip(&req), 404, "MXAPINotFoundException");
    }
}

#[test]
fn checks_come_in_the_documented_order() {
    let emu = emu();
    emu.set_rate_limit(Some((1, std::time::Duration::from_secs(3600))));
    let mut c = Client::connect(emu.addr());
    let bad_body = raw("POST", &target(), &[], b"nope");
    let no_keys_bad_body = raw("POST", POPUP_PATH, &[], b"nope");
    // 401 before 400, and unauthenticated arrivals do not count towards the limit.
    assert_eq!(c.roundtrip(&no_keys_bad_body).status, 401);
    // 400 within the limit: counts as an arrival.
    assert_eq!(c.roundtrip(&bad_body).status, 400);
    // Over the limit: 429 before 400.
    assert_eq!(c.roundtrip(&bad_body).status, 429);
    // 401 still before 429.
    assert_eq!(c.roundtrip(&no_keys_bad_body).status, 401);
}

#[test]
fn chunked_request_bodies_are_accepted() {
    let emu = emu();
    let (a, b) = POPUP.split_at(40);
    let body = format!(
        "{:x};ext=1\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\nTrailer: x\r\n\r\n",
        a.len(),
        b.len()
    );
    let req = raw(
        "POST",
        &target(),
        &[
            ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"),
        ],
        body.as_bytes(),
    );
    let mut c = Client::connect(emu.addr());
    assert_eq!(c.roundtrip(&req).status, 200);
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    assert_eq!(emu.requests()[0].body, POPUP.as_bytes());
}

#[test]
fn connection_close_is_honoured() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    let req = raw(
        "POST",
        &target(),
        &[
            ("Content-Type", "application/json"),
            ("Connection", "close"),
        ],
        POPUP.as_bytes(),
    );
    let r = c.roundtrip(&req);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn http_1_0_closes_unless_keep_alive() {
    let emu = emu();
    let mut req = popup_request();
    let line_end = req.iter().position(|&b| b == b'\r').unwrap();
    req.splice(line_end - 3..line_end, b"1.0".iter().copied());
    let mut c = Client::connect(emu.addr());
    assert_eq!(c.roundtrip(&req).status, 200);
    assert!(c.closed());
}

#[test]
fn expect_100_continue_gets_an_interim_answer() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    let req = raw(
        "POST",
        &target(),
        &[
            ("Content-Type", "application/json"),
            ("Expect", "100-continue"),
            ("Content-Length", &POPUP.len().to_string()),
        ],
        b"",
    );
    c.send(&req);
    assert_eq!(c.read_head().unwrap().0, 100);
    c.send(POPUP.as_bytes());
    assert_eq!(c.read_response().unwrap().status, 200);
}

#[test]
fn malformed_http_gets_400_and_a_close() {
    let emu = emu();
    let mut c = Client::connect(emu.addr());
    c.send(b"POST /v2 HTTP/1.1\r\nContent-Length: nope\r\n\r\n");
    assert_eq!(c.read_response().unwrap().status, 400);
    assert!(c.closed());
    let mut c = Client::connect(emu.addr());
    c.send(b"\x16\x03\x01 this is not http\r\n\r\n");
    assert_eq!(c.read_response().unwrap().status, 400);
    assert!(c.closed());
}

#[test]
fn many_requests_on_one_connection_are_fast() {
    let emu = Emulator::start(Config {
        log_limit: Some(10),
        ..Config::default()
    })
    .unwrap();
    let mut c = Client::connect(emu.addr());
    let req = popup_request();
    let n = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        assert_eq!(c.roundtrip(&req).status, 200);
    }
    let per_sec = n as f64 / t.elapsed().as_secs_f64();
    assert_eq!(emu.request_count(), n);
    assert_eq!(emu.requests().len(), 10);
    eprintln!("{per_sec:.0} requests/s on one keep-alive connection");
}
