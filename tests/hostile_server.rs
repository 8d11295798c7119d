//! Hostile servers: whatever the server (or the network) does, a popup ends
//! in a status with a reason, within its time bounds, and the host lives on.
//! Through the C ABI (`lsq::ffi::*`, called in-process); the emulator's faults
//! and, for what it cannot do, a raw TCP server written here.
//!
//! Times are only asserted as generous functional bounds ("returned in < 3 s
//! with a 500 ms timeout"); synchronisation waits on conditions, never sleeps.

#[path = "support/ffi.rs"]
mod ffi;
mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use ffi::*;
use support::*;

/// Options for a strict client: no env proxy, no limiter, no retries.
fn strict(extra: &[(&str, &str)]) -> Opts {
    Opts::new()
        .with(&[
            ("proxy", "none"),
            ("rate_limit", "0"),
            ("max_retries", "0"),
            ("timeout_ms", "1000"),
            ("max_age_ms", "5000"),
        ])
        .with(extra)
}

fn client(host: &str, o: &Opts) -> Client {
    Client::new(host, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, o).expect("client")
}

/// Shows one popup; returns status, result and how long the call took.
fn show(c: &Client, session: &str) -> (lsq_status, lsq_result, Duration) {
    let started = Instant::now();
    let (s, r) = c.show(&PopupData::documented(session));
    let took = started.elapsed();
    assert_eq!(r.status, s, "result.status is the returned status");
    assert_no_key("result.message", &message(&r));
    if s != LSQ_OK {
        assert!(
            !message(&r).is_empty(),
            "{session}: a failure without a reason"
        );
        assert!(!last_error().is_empty());
    }
    (s, r, took)
}

fn expect(c: &Client, session: &str, want: lsq_status) -> (lsq_result, Duration) {
    let (s, r, took) = show(c, session);
    assert_eq!(
        s,
        want,
        "{session}: got {} ({}), http {}",
        status_str(s),
        message(&r),
        r.http_status
    );
    (r, took)
}

#[test]
fn connection_closed_before_the_answer_is_connect() {
    let emu = default_emulator();
    let c = client(emu.url(), &strict(&[]));
    emu.push_fault(Fault::Drop);
    let (r, took) = expect(&c, "drop", LSQ_ERR_CONNECT);
    assert_eq!((r.http_status, r.attempts), (0, 1));
    assert!(took < Duration::from_secs(3));
    // Retried as a connect failure when retries are allowed, until they run out.
    let retrying = client(emu.url(), &strict(&[("max_retries", "2")]));
    emu.push_faults([Fault::Drop, Fault::Drop, Fault::Drop]);
    let (r, _) = expect(&retrying, "drop-3", LSQ_ERR_CONNECT);
    assert_eq!(r.attempts, 3);
    emu.push_fault(Fault::Drop);
    let (r, _) = expect(&retrying, "drop-then-ok", LSQ_OK);
    assert_eq!(r.attempts, 2);
    expect(&c, "after", LSQ_OK);
}

#[test]
fn reset_in_the_middle_of_the_body_is_connect() {
    let emu = default_emulator();
    let c = client(emu.url(), &strict(&[]));
    emu.push_fault(Fault::ResetMidBody);
    let (r, took) = expect(&c, "reset", LSQ_ERR_CONNECT);
    assert_eq!(r.http_status, 200, "the head had arrived");
    assert!(took < Duration::from_secs(3));
    expect(&c, "after", LSQ_OK);
}

#[test]
fn a_body_slower_than_timeout_ms_times_out_in_about_timeout_ms() {
    let emu = default_emulator();
    let c = client(emu.url(), &strict(&[("timeout_ms", "500")]));
    // Each byte comes well within 500 ms: a per-read timeout would never fire
    // (400 bytes x 300 ms = 2 minutes). The timeout is for the whole answer.
    for interval in [50, 300] {
        emu.push_fault(Fault::Trickle {
            interval: Duration::from_millis(interval),
            total_bytes: 400,
        });
        let (r, took) = expect(&c, "trickle", LSQ_ERR_TIMEOUT);
        assert_eq!(r.http_status, 200);
        assert!(took >= Duration::from_millis(450), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
    // A head that never comes, and a server that answers nothing at all.
    emu.push_fault(Fault::Delay(Duration::from_secs(30)));
    let (r, took) = expect(&c, "delay", LSQ_ERR_TIMEOUT);
    assert_eq!(r.http_status, 0);
    assert!(took < Duration::from_secs(3), "{took:?}");
    emu.clear_faults();
    // A listener whose backlog takes the connection but never accepts it.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("http://{}", mute.local_addr().unwrap());
    let (_, took) = expect(
        &client(&host, &strict(&[("timeout_ms", "500")])),
        "mute",
        LSQ_ERR_TIMEOUT,
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_ten_megabyte_body_is_refused_after_the_cap_quickly() {
    let emu = default_emulator();
    let c = client(emu.url(), &strict(&[("timeout_ms", "10000")]));
    emu.push_fault(Fault::Huge {
        bytes: 10 * 1024 * 1024,
    });
    let (r, took) = expect(&c, "huge", LSQ_ERR_RESPONSE);
    assert_eq!(r.http_status, 200);
    assert!(message(&r).contains("larger than"), "{}", message(&r));
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Just over the cap too; just under it is a (long) success.
    emu.push_fault(Fault::Huge {
        bytes: lsq::MAX_BODY_BYTES as usize + 1,
    });
    expect(&c, "cap+1", LSQ_ERR_RESPONSE);
    emu.push_fault(Fault::Huge {
        bytes: lsq::MAX_BODY_BYTES as usize,
    });
    let (r, _) = expect(&c, "cap", LSQ_OK);
    // The long Message.Message is cut to the buffer, NUL-terminated.
    assert_eq!(message(&r).len(), LSQ_MESSAGE_SIZE - 1);
    expect(&c, "after", LSQ_OK);
}

fn status_fault(code: u16, body: &[u8], headers: &[(&str, &str)]) -> Fault {
    Fault::Status {
        code,
        body: body.to_vec(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn a_200_that_is_not_the_documented_json_is_a_response_error() {
    let emu = default_emulator();
    let c = client(emu.url(), &strict(&[]));
    // Nested far deeper than any parser's recursion should go, under the 64 KiB cap.
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let deep_object = format!(
        "{}{}",
        r#"{"Status":"Success","Message":"#.repeat(1500),
        "}".repeat(1500)
    );
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"<html><body>OK</body></html>".to_vec(),
        b"null".to_vec(),
        b"true".to_vec(),
        b"[]".to_vec(),
        b"\"Success\"".to_vec(),
        b"{".to_vec(),
        b"\xff\xfe\x00garbage\x00".to_vec(),
        "\u{feff}{\"Status\":\"Success\",\"Message\":{\"Id\":\"a\",\"Message\":\"b\"}}".into(),
        br#"{"Status":"Success"}"#.to_vec(),
        br#"{"Status":"Success","Message":null}"#.to_vec(),
        br#"{"Status":"Success","Message":"shown"}"#.to_vec(),
        br#"{"Status":"Success","Message":{"Id":5,"Message":"x"}}"#.to_vec(),
        br#"{"Status":"Success","Message":{"Id":"x","Message":["y"]}}"#.to_vec(),
        br#"{"Status":"Success","Message":{"Id":"x"}}"#.to_vec(),
        br#"{"Status":true,"Message":{"Id":"x","Message":"y"}}"#.to_vec(),
        br#"{"Status":"success","Message":{"Id":"x","Message":"y"}}"#.to_vec(),
        br#"{"Status":"Success","Message":{"Id":"x","Message":"y"}} trailing"#.to_vec(),
        br#"{"Status":"Success","Message":{"Id":"x","Message":"\ud800"}}"#.to_vec(),
        b"{\"Status\":\"Success\",\"Message\":{\"Id\":\"x\",\"Message\":\"\xc3\x28\"}}".to_vec(),
        deep.into_bytes(),
        deep_object.into_bytes(),
    ];
    for (i, body) in bodies.iter().enumerate() {
        emu.push_fault(status_fault(
            200,
            body,
            &[("Content-Type", "application/json")],
        ));
        let (s, r, took) = show(&c, &format!("body-{i}"));
        assert_eq!(
            s,
            LSQ_ERR_RESPONSE,
            "body {i} ({:?}): {} {}",
            String::from_utf8_lossy(&body[..body.len().min(80)]),
            status_str(s),
            message(&r)
        );
        assert_eq!(r.http_status, 200);
        assert!(
            message(&r).contains("not the documented success shape"),
            "body {i}: {}",
            message(&r)
        );
        assert!(took < Duration::from_secs(3));
    }
    // Other 2xx statuses are judged by the same rule.
    emu.push_fault(status_fault(204, b"", &[]));
    expect(&c, "204", LSQ_ERR_RESPONSE);
    emu.push_fault(status_fault(
        201,
        br#"{"Status":"Success","Message":{"Id":"x","Message":"y"}}"#,
        &[],
    ));
    expect(&c, "201", LSQ_OK);
    expect(&c, "after", LSQ_OK);
}

#[test]
fn odd_but_valid_success_bodies_are_cut_safely() {
    let emu = default_emulator();
    let c = client(emu.url(), &strict(&[]));
    // Multi-byte text longer than the buffers: cut on a UTF-8 boundary.
    let long = "é".repeat(2000);
    let body = format!(r#"{{"Status":"Success","Message":{{"Id":"{long}","Message":"{long}"}}}}"#);
    emu.push_fault(status_fault(200, body.as_bytes(), &[]));
    let (r, _) = expect(&c, "long", LSQ_OK);
    assert_eq!(message(&r), "é".repeat((LSQ_MESSAGE_SIZE - 1) / 2));
    assert_eq!(message_id(&r), "é".repeat((LSQ_MESSAGE_ID_SIZE - 1) / 2));
    // A NUL inside the JSON string: the C string simply ends there.
    emu.push_fault(status_fault(
        200,
        br#"{"Status":"Success","Message":{"Id":"a\u0000b","Message":"shown\u0000hidden"}}"#,
        &[],
    ));
    let (r, _) = expect(&c, "nul", LSQ_OK);
    assert_eq!(
        (message_id(&r).as_str(), message(&r).as_str()),
        ("a", "shown")
    );
}

#[test]
fn a_200_with_status_error_is_a_response_error_carrying_the_exception_message() {
    let emu = default_emulator();
    let c = client(emu.url(), &strict(&[]));
    emu.push_fault(Fault::json_error(
        200,
        "MXLeadNotFoundException",
        "Lead not found",
    ));
    let (r, _) = expect(&c, "status-error", LSQ_ERR_RESPONSE);
    assert!(message(&r).ends_with(": Lead not found"), "{}", message(&r));
    // An ExceptionMessage longer than the buffer, and one with control characters.
    let long = "x".repeat(5000);
    emu.push_fault(Fault::json_error(200, "E", &long));
    let (r, _) = expect(&c, "long-exception", LSQ_ERR_RESPONSE);
    assert_eq!(message(&r).len(), LSQ_MESSAGE_SIZE - 1);
    emu.push_fault(Fault::json_error(400, "E", "line1\r\nline2\u{0}tail"));
    let (r, _) = expect(&c, "control-exception", LSQ_ERR_BAD_REQUEST);
    assert!(message(&r).starts_with("line1"));
}

#[test]
fn redirects_are_never_followed() {
    let emu = default_emulator();
    let target = default_emulator();
    let c = client(emu.url(), &strict(&[]));
    let absolute = format!(
        "{}/v2/Telephony.svc/ShowAgentPopup?accessKey=steal&secretKey=steal",
        target.url()
    );
    for code in [301, 302, 303, 307, 308] {
        for location in [absolute.as_str(), "/v2/Telephony.svc/ShowAgentPopup"] {
            emu.push_fault(Fault::Redirect {
                code,
                location: location.to_string(),
            });
            let (r, _) = expect(&c, &format!("redirect-{code}"), LSQ_ERR_HTTP);
            assert_eq!((r.http_status, r.attempts), (code, 1));
            assert!(message(&r).contains("redirect"), "{}", message(&r));
        }
    }
    // Neither the target nor the origin saw a second request.
    assert_eq!(
        target.connections_accepted(),
        0,
        "the redirect target was contacted"
    );
    assert_eq!(target.request_count(), 0);
    assert_eq!(emu.request_count(), 10);
}

#[test]
fn a_403_with_the_limit_message_is_a_rate_limit() {
    let emu = default_emulator();
    // The limit quoted (25 in 5 s) means a wait past max_age: give up at once.
    let c = client(
        emu.url(),
        &strict(&[("max_age_ms", "1000"), ("max_retries", "2")]),
    );
    emu.push_fault(Fault::ForbiddenLimit);
    let (r, took) = expect(&c, "403-limit", LSQ_ERR_RATE_LIMITED);
    assert_eq!((r.http_status, r.attempts), (403, 1));
    assert!(
        message(&r).contains("exceeded the limit"),
        "{}",
        message(&r)
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(c.stats().rate_limited, 1);
    // A 403 without the limit message is just a refusal: not retried.
    emu.push_fault(Fault::status(403));
    let (r, _) = expect(&c, "403", LSQ_ERR_HTTP);
    assert_eq!((r.http_status, r.attempts), (403, 1));
    assert_eq!(c.stats().rate_limited, 1);
}

/// A 429 with this Retry-After, then (if asked again) success. The emulator
/// quotes a limit of 1000 in 1 s, so a Retry-After that makes no sense falls
/// back to one window (about 1 s): a sane wait.
fn retry_after_case(value: &str) -> (lsq_status, lsq_result, Duration) {
    let emu = emulator(Config {
        rate_limit: Some((1000, Duration::from_secs(1))),
        ..Config::default()
    });
    let c = client(
        emu.url(),
        &strict(&[("max_age_ms", "2500"), ("timeout_ms", "1000")]),
    );
    emu.push_fault(Fault::RateLimited {
        retry_after: Some(value.to_string()),
    });
    let out = show(&c, "retry-after");
    assert!(
        out.2 < Duration::from_millis(2500 + 1000),
        "Retry-After {value:?}: returned after {:?}, past max_age + timeout",
        out.2
    );
    assert!(emu.request_count() <= 2);
    out
}

#[test]
fn an_absurd_retry_after_is_bounded_by_max_age() {
    let future = |secs| httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs));
    let soon = future(1);
    let cases: Vec<(String, Option<lsq_status>)> = vec![
        // Beyond max_age: give up at once with the server's reason.
        ("999999999".into(), Some(LSQ_ERR_RATE_LIMITED)),
        ("999999999999".into(), Some(LSQ_ERR_RATE_LIMITED)),
        (
            "Fri, 31 Dec 9999 23:59:59 GMT".into(),
            Some(LSQ_ERR_RATE_LIMITED),
        ),
        (future(3600), Some(LSQ_ERR_RATE_LIMITED)),
        // Sane, or meaningless (then about one window): wait, then succeed.
        ("0".into(), Some(LSQ_OK)),
        ("1".into(), Some(LSQ_OK)),
        (soon, Some(LSQ_OK)),
        ("Thu, 01 Jan 1970 00:00:00 GMT".into(), Some(LSQ_OK)),
        ("-5".into(), Some(LSQ_OK)),
        ("1.5".into(), Some(LSQ_OK)),
        ("soon".into(), Some(LSQ_OK)),
        ("".into(), Some(LSQ_OK)),
        ("99999999999999999999999999".into(), Some(LSQ_OK)),
        ("Mon, 32 Foo 2024 99:99:99 GMT".into(), Some(LSQ_OK)),
    ];
    thread::scope(|s| {
        let runs: Vec<_> = cases
            .iter()
            .map(|(value, want)| (value, want, s.spawn(move || retry_after_case(value))))
            .collect();
        for (value, want, run) in runs {
            let (status, r, took) = run.join().expect("no panic");
            if let Some(want) = want {
                assert_eq!(
                    status,
                    *want,
                    "Retry-After {value:?}: {} ({}) after {took:?}",
                    status_str(status),
                    message(&r)
                );
            }
            if status == LSQ_ERR_RATE_LIMITED {
                assert_eq!(r.attempts, 1, "Retry-After {value:?}");
                assert!(took < Duration::from_secs(1), "{value:?}: {took:?}");
            }
        }
    });
}

#[test]
fn a_server_that_keeps_saying_retry_now_is_not_hammered() {
    let emu = default_emulator();
    let c = client(
        emu.url(),
        &strict(&[("max_age_ms", "2000"), ("max_retries", "2")]),
    );
    // 429 with Retry-After: 0 and no limit to learn, over and over.
    emu.push_faults((0..10_000).map(|_| status_fault(429, b"{}", &[("Retry-After", "0")])));
    let (r, took) = expect(&c, "429-forever", LSQ_ERR_RATE_LIMITED);
    assert!(took < Duration::from_secs(4), "{took:?}");
    let sent = emu.request_count();
    assert_eq!(u64::from(r.attempts), sent);
    assert!(
        sent <= 40,
        "{sent} requests in {took:?}: the server is hammered"
    );
}

/// A TCP server that reads one request per connection and then runs
/// `answer` on the socket, closing it when `answer` returns: for answers the
/// emulator cannot give.
struct RawServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Option<JoinHandle<()>>,
}

impl RawServer {
    fn start(answer: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let answer = Arc::new(answer);
        let accept = {
            let (stop, requests, conns) = (stop.clone(), requests.clone(), conns.clone());
            thread::spawn(move || {
                for tcp in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut tcp) = tcp else { continue };
                    let (answer, requests) = (answer.clone(), requests.clone());
                    let h = thread::spawn(move || {
                        if read_request(&mut tcp) {
                            requests.fetch_add(1, Ordering::SeqCst);
                            answer(&mut tcp);
                        }
                    });
                    conns.lock().unwrap().push(h);
                }
            })
        };
        RawServer {
            addr,
            stop,
            requests,
            conns,
            accept: Some(accept),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        // Each answer ends by itself: it returns (closing the socket), or
        // its writes fail once the client has gone.
        for h in self.conns.lock().unwrap().drain(..) {
            let _ = h.join();
        }
    }
}

/// Reads a request head and its Content-Length body; false if the peer went away.
fn read_request(s: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    s.read_exact(&mut body).is_ok()
}

/// Writes until the client goes away (or a write would wait too long).
fn write_forever(s: &mut TcpStream, chunk: &[u8]) {
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    while s.write_all(chunk).is_ok() {}
}

#[test]
fn raw_protocol_abuse_ends_in_a_status() {
    type Answer = fn(&mut TcpStream);
    let cases: Vec<(&str, Answer, &[lsq_status])> = vec![
        // An endless chunked body: refused at the cap.
        (
            "endless chunked",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                write_forever(
                    s,
                    b"4000\r\n"
                        .iter()
                        .chain([b'x'; 0x4000].iter())
                        .chain(b"\r\n".iter())
                        .copied()
                        .collect::<Vec<u8>>()
                        .as_slice(),
                );
            },
            &[LSQ_ERR_RESPONSE],
        ),
        // A body with no length that never ends.
        (
            "endless until close",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                write_forever(s, &[b'y'; 16384]);
            },
            &[LSQ_ERR_RESPONSE],
        ),
        // Headers that never end.
        (
            "endless headers",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
                write_forever(s, b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
            },
            &[LSQ_ERR_RESPONSE],
        ),
        // One enormous header line.
        (
            "endless header line",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Long: ");
                write_forever(s, &[b'z'; 16384]);
            },
            &[LSQ_ERR_RESPONSE],
        ),
        // 1xx answers forever: never a final answer.
        (
            "endless 100 continue",
            |s| {
                write_forever(s, b"HTTP/1.1 100 Continue\r\n\r\n");
            },
            &[LSQ_ERR_RESPONSE],
        ),
        // Not HTTP at all.
        (
            "binary",
            |s| {
                let _ = s.write_all(&[0u8, 159, 146, 150, 255, 0, 13, 10, 13, 10]);
            },
            &[LSQ_ERR_RESPONSE],
        ),
        (
            "HTTP/0.9 style",
            |s| {
                let _ = s.write_all(br#"{"Status":"Success"}"#);
            },
            &[LSQ_ERR_RESPONSE],
        ),
        (
            "bad status code",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 999999 Whatever\r\nContent-Length: 0\r\n\r\n");
            },
            &[LSQ_ERR_RESPONSE],
        ),
        (
            "negative length",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}");
            },
            &[LSQ_ERR_RESPONSE],
        ),
        (
            "two lengths",
            |s| {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 900\r\n\r\n{}",
                );
            },
            &[LSQ_ERR_RESPONSE],
        ),
        (
            "huge length, short body",
            |s| {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n{}",
                );
            },
            &[LSQ_ERR_CONNECT],
        ),
        (
            "length longer than body",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}");
                let _ = s.shutdown(Shutdown::Write);
            },
            &[LSQ_ERR_CONNECT],
        ),
        (
            "bad chunk size",
            |s| {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
                );
            },
            &[LSQ_ERR_RESPONSE],
        ),
        (
            "gzip body we never asked for",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00");
            },
            &[LSQ_ERR_RESPONSE],
        ),
        (
            "head only, then close",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
            },
            &[LSQ_ERR_CONNECT],
        ),
        ("close at once", |_s| {}, &[LSQ_ERR_CONNECT]),
        (
            "reset at once",
            |s| {
                set_linger_zero(s);
            },
            &[LSQ_ERR_CONNECT],
        ),
    ];
    for (name, answer, allowed) in cases {
        let server = RawServer::start(answer);
        let c = client(&server.url(), &strict(&[("timeout_ms", "1500")]));
        let (s, r, took) = show(&c, name);
        assert!(
            allowed.contains(&s),
            "{name}: got {} ({}), want one of {allowed:?}",
            status_str(s),
            message(&r)
        );
        assert!(took < Duration::from_secs(5), "{name}: took {took:?}");
        assert_eq!(server.requests.load(Ordering::SeqCst), 1, "{name}");
        drop(c);
    }
}

/// Closes with a TCP reset when dropped.
fn set_linger_zero(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

#[test]
fn the_server_going_away_mid_request_ends_the_call() {
    let emu = default_emulator();
    let c = client(
        emu.url(),
        &strict(&[("timeout_ms", "20000"), ("max_age_ms", "20000")]),
    );
    emu.push_fault(Fault::Delay(Duration::from_secs(60)));
    thread::scope(|s| {
        let call = s.spawn(|| show(&c, "server-stops"));
        assert!(emu.wait_for_requests(1, Duration::from_secs(10)));
        drop(emu); // stops the emulator: its connections are shut down
        let (status, r, took) = call.join().unwrap();
        assert_eq!(status, LSQ_ERR_CONNECT, "{}", message(&r));
        assert!(took < Duration::from_secs(10), "{took:?}");
    });
}

#[test]
fn free_over_popups_stuck_on_a_hostile_server_returns_within_the_grace() {
    let emu = default_emulator();
    let o = strict(&[
        ("timeout_ms", "30000"),
        ("max_age_ms", "60000"),
        ("shutdown_timeout_ms", "300"),
        ("workers", "2"),
    ]);
    let c = client(emu.url(), &o);
    let sink = Results::new();
    // Two popups stuck in a trickle, two in a silent server, the rest queued.
    emu.push_faults([
        Fault::Trickle {
            interval: Duration::from_millis(200),
            total_bytes: 1000,
        },
        Fault::Delay(Duration::from_secs(60)),
    ]);
    for i in 0..6 {
        let s = c.show_async(&PopupData::documented(&format!("stuck-{i}")), &sink);
        assert_eq!(s, LSQ_OK);
    }
    assert!(emu.wait_for_requests(2, Duration::from_secs(10)));
    let took = c.free();
    assert!(took < Duration::from_secs(3), "lsq_free took {took:?}");
    // Every callback ran exactly once, before lsq_free returned.
    let got = sink.wait_for(6, Duration::ZERO);
    assert_eq!(got.len(), 6);
    for r in &got {
        assert!(
            [LSQ_ERR_CANCELLED, LSQ_OK, LSQ_ERR_TIMEOUT, LSQ_ERR_CONNECT].contains(&r.status),
            "{}: {}",
            status_str(r.status),
            message(r)
        );
    }
    assert!(got.iter().any(|r| r.status == LSQ_ERR_CANCELLED));
    assert_eq!(sink.count(), 6, "a callback ran after lsq_free");
}

#[test]
fn free_after_the_server_is_gone_and_with_nothing_pending_is_prompt() {
    let emu = default_emulator();
    let host = emu.url().to_string();
    let c = client(&host, &strict(&[]));
    expect(&c, "before", LSQ_OK);
    drop(emu);
    // The pooled keep-alive connection is now dead: the next call fails or
    // reconnects to nothing, and free does not wait on it.
    let (s, _, took) = show(&c, "after-stop");
    assert_eq!(s, LSQ_ERR_CONNECT);
    assert!(took < Duration::from_secs(3));
    assert!(c.free() < Duration::from_secs(1));
}
