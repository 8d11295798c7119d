//! The keys never show: one matrix drives every failure the hardening tests
//! know (and success, validation, creation failures, a server that echoes
//! the keys back raw or re-encoded, in the query or the headers) with
//! recognisable canary keys, and greps every channel a host can read:
//! `result.message` (blocking and async), `lsq_last_error()`, every log
//! line, the Rust API's reports, errors and `Debug` output, and everything a
//! C program printed (tests/c/hardening.c).

#[path = "support/ffi.rs"]
mod ffi;
#[path = "support/hardening_c.rs"]
mod hardening_c;
#[path = "support/proxy.rs"]
mod proxy;
#[allow(unused_imports)] // support re-exports more than this file needs
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ffi::*;
use hardening_c::*;
use lsq_emulator::TlsIdentity;
use support::*;

/// What a host saw: (channel, text).
#[derive(Default)]
struct Seen(Mutex<Vec<(String, String)>>);

impl Seen {
    fn add(&self, channel: impl Into<String>, text: impl Into<String>) {
        self.0.lock().unwrap().push((channel.into(), text.into()));
    }
}

/// Where the client is pointed.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The canary emulator.
    Emulator,
    /// The canary emulator in TLS mode, self-signed: not trusted.
    UntrustedTls,
    /// A port nothing listens on.
    Closed,
    /// Through a proxy that refuses the tunnel.
    RefusingProxy,
    /// An emulator that knows other keys: a real 401.
    OtherKeys,
    /// An emulator answering after 30 s, freed with popups pending.
    Slow,
}

struct Case {
    name: &'static str,
    target: Target,
    faults: fn() -> Vec<Fault>,
    options: &'static [(&'static str, &'static str)],
    want: lsq_status,
}

fn json(code: u16, message: String) -> Fault {
    Fault::json_error(code, "MXInvalidInputException", &message)
}

fn echoes() -> String {
    format!(
        "{} / {} / {}",
        echo_raw(),
        echo_encoded(false),
        echo_encoded(true)
    )
}

fn limit_echo() -> String {
    format!(
        "API calls exceeded the limit of 25 in 5 second(s): {}",
        echoes()
    )
}

fn status_with(code: u16, body: String) -> Fault {
    Fault::Status {
        code,
        body: body.into_bytes(),
        headers: vec![("Content-Type".into(), "application/json".into())],
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "success",
            target: Target::Emulator,
            faults: Vec::new,
            options: &[],
            want: LSQ_OK,
        },
        Case {
            name: "success echoing the keys",
            target: Target::Emulator,
            faults: || {
                vec![status_with(
                    200,
                    serde_json::json!({"Status": "Success", "Message": {
                        "Id": CANARY_SECRET, "Message": echoes()}})
                    .to_string(),
                )]
            },
            options: &[],
            want: LSQ_OK,
        },
        Case {
            name: "400 echoing the keys",
            target: Target::Emulator,
            faults: || vec![json(400, echoes())],
            options: &[],
            want: LSQ_ERR_BAD_REQUEST,
        },
        Case {
            name: "401 echoing the keys",
            target: Target::Emulator,
            faults: || vec![json(401, echoes())],
            options: &[],
            want: LSQ_ERR_UNAUTHORIZED,
        },
        Case {
            name: "401 for other keys",
            target: Target::OtherKeys,
            faults: Vec::new,
            options: &[],
            want: LSQ_ERR_UNAUTHORIZED,
        },
        Case {
            name: "404 echoing the keys",
            target: Target::Emulator,
            faults: || vec![json(404, echoes())],
            options: &[],
            want: LSQ_ERR_NOT_FOUND,
        },
        Case {
            name: "500 echoing the keys",
            target: Target::Emulator,
            faults: || vec![json(500, echoes())],
            options: &[],
            want: LSQ_ERR_SERVER,
        },
        Case {
            name: "502 echoing the keys, retried",
            target: Target::Emulator,
            faults: || {
                vec![
                    json(502, echoes()),
                    json(503, echoes()),
                    json(504, echoes()),
                ]
            },
            options: &[("max_retries", "2")],
            want: LSQ_ERR_SERVER,
        },
        Case {
            name: "418 echoing the keys",
            target: Target::Emulator,
            faults: || vec![json(418, echoes())],
            options: &[],
            want: LSQ_ERR_HTTP,
        },
        Case {
            name: "429 echoing the keys",
            target: Target::Emulator,
            faults: || vec![json(429, limit_echo())],
            options: &[],
            want: LSQ_ERR_RATE_LIMITED,
        },
        Case {
            name: "429 echoing the keys, waited out",
            target: Target::Emulator,
            faults: || {
                vec![Fault::Status {
                    code: 429,
                    body: serde_json::to_vec(&serde_json::json!({
                        "Status": "Error", "ExceptionMessage": echoes()}))
                    .unwrap(),
                    headers: vec![("Retry-After".into(), "0".into())],
                }]
            },
            options: &[],
            want: LSQ_OK,
        },
        Case {
            name: "403 limit echoing the keys",
            target: Target::Emulator,
            faults: || vec![json(403, limit_echo())],
            options: &[],
            want: LSQ_ERR_RATE_LIMITED,
        },
        Case {
            name: "200 Status Error echoing the keys",
            target: Target::Emulator,
            faults: || vec![json(200, echoes())],
            options: &[],
            want: LSQ_ERR_RESPONSE,
        },
        Case {
            name: "200 not JSON, with the keys",
            target: Target::Emulator,
            faults: || vec![status_with(200, format!("<html>{}</html>", echoes()))],
            options: &[],
            want: LSQ_ERR_RESPONSE,
        },
        Case {
            name: "10 MB body",
            target: Target::Emulator,
            faults: || {
                vec![Fault::Huge {
                    bytes: 10 * 1024 * 1024,
                }]
            },
            options: &[],
            want: LSQ_ERR_RESPONSE,
        },
        Case {
            name: "dropped",
            target: Target::Emulator,
            faults: || vec![Fault::Drop],
            options: &[],
            want: LSQ_ERR_CONNECT,
        },
        Case {
            name: "reset mid-body",
            target: Target::Emulator,
            faults: || vec![Fault::ResetMidBody],
            options: &[],
            want: LSQ_ERR_CONNECT,
        },
        Case {
            name: "trickle",
            target: Target::Emulator,
            faults: || {
                vec![Fault::Trickle {
                    interval: Duration::from_millis(100),
                    total_bytes: 400,
                }]
            },
            options: &[("timeout_ms", "500")],
            want: LSQ_ERR_TIMEOUT,
        },
        Case {
            name: "garbage with the keys",
            target: Target::Emulator,
            faults: || {
                vec![Fault::Garbage(
                    format!("\x01\x02{}\r\n\r\n", echoes()).into_bytes(),
                )]
            },
            options: &[],
            want: LSQ_ERR_RESPONSE,
        },
        Case {
            name: "redirect carrying the keys",
            target: Target::Emulator,
            faults: || {
                vec![Fault::Redirect {
                    code: 307,
                    location: format!(
                        "http://127.0.0.1:1/?accessKey={}&secretKey={}",
                        percent_encode(CANARY_ACCESS, false),
                        percent_encode(CANARY_SECRET, false)
                    ),
                }]
            },
            options: &[],
            want: LSQ_ERR_HTTP,
        },
        Case {
            name: "untrusted TLS",
            target: Target::UntrustedTls,
            faults: Vec::new,
            options: &[],
            want: LSQ_ERR_TLS,
        },
        Case {
            name: "connection refused",
            target: Target::Closed,
            faults: Vec::new,
            options: &[("max_retries", "1")],
            want: LSQ_ERR_CONNECT,
        },
        Case {
            name: "proxy refuses",
            target: Target::RefusingProxy,
            faults: Vec::new,
            options: &[],
            want: LSQ_ERR_CONNECT,
        },
        Case {
            name: "expired behind the limiter",
            target: Target::Emulator,
            faults: Vec::new,
            // The first popup takes the only slot of the minute; the second expires.
            options: &[("rate_limit", "1/60"), ("max_age_ms", "300")],
            want: LSQ_ERR_EXPIRED,
        },
        Case {
            name: "cancelled by free",
            target: Target::Slow,
            faults: Vec::new,
            options: &[("shutdown_timeout_ms", "200"), ("timeout_ms", "60000")],
            want: LSQ_ERR_CANCELLED,
        },
    ]
}

/// The emulators (and proxy) a case needs, alive while it runs.
struct Setup {
    host: String,
    emu: Option<Emulator>,
    _others: Vec<Emulator>,
    _proxy: Option<proxy::Proxy>,
    proxy: String,
}

fn setup(target: Target) -> Setup {
    let mut s = Setup {
        host: String::new(),
        emu: None,
        _others: Vec::new(),
        _proxy: None,
        proxy: "none".into(),
    };
    match target {
        Target::Emulator | Target::RefusingProxy => {
            let emu = canary_emulator(None, Duration::ZERO);
            s.host = emu.url().to_string();
            s.emu = Some(emu);
            if let Target::RefusingProxy = target {
                let p = proxy::Proxy::start(proxy::Mode::Refuse(403));
                s.proxy = p.url();
                s._proxy = Some(p);
            }
        }
        Target::Slow => {
            let emu = canary_emulator(None, Duration::from_secs(30));
            s.host = emu.url().to_string();
            s._others.push(emu);
        }
        Target::UntrustedTls => {
            let (id, _) = TlsIdentity::self_signed(&["localhost"]);
            let emu = canary_emulator(Some(id), Duration::ZERO);
            s.host = emu.url().to_string();
            s._others.push(emu);
        }
        Target::Closed => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            s.host = format!("http://{}", l.local_addr().unwrap());
        }
        Target::OtherKeys => {
            let emu = emulator(Config::default());
            s.host = emu.url().to_string();
            s._others.push(emu);
        }
    }
    s
}

fn push(s: &Setup, faults: fn() -> Vec<Fault>) {
    if let Some(emu) = &s.emu {
        emu.push_faults(faults());
    }
}

fn settings<'a>(case: &'a Case, auth: &'a str, s: &'a Setup) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("rate_limit", "0"),
        ("max_retries", "0"),
        ("timeout_ms", "2000"),
        ("max_age_ms", "3000"),
        ("auth", auth),
        ("proxy", s.proxy.as_str()),
    ];
    v.extend_from_slice(case.options);
    v
}

/// One case, one auth mode: the C ABI blocking and async, and the Rust API.
fn run_case(case: &Case, auth: &str, seen: &Seen) {
    let tag = format!("{} (auth={auth})", case.name);
    let s = setup(case.target);
    let expired = case.want == LSQ_ERR_EXPIRED;
    let cancelled = case.want == LSQ_ERR_CANCELLED;

    // C ABI, with a log callback that keeps every line.
    let log = LogLines::new();
    let o = Opts::new().with(&settings(case, auth, &s)).log_to(&log);
    let c = Client::new(&s.host, CANARY_ACCESS, CANARY_SECRET, &o).expect("client");
    let results = Results::new();
    if cancelled {
        for i in 0..3 {
            let p = PopupData::documented(&format!("pending-{i}"));
            assert_eq!(c.show_async(&p, &results), LSQ_OK);
        }
    } else {
        if expired {
            assert_eq!(c.show(&PopupData::documented("takes-the-slot")).0, LSQ_OK);
        }
        push(&s, case.faults);
        let (status, r) = c.show(&PopupData::documented("blocking"));
        assert_eq!(status, case.want, "{tag}: {}", message(&r));
        seen.add(format!("{tag}: result.message"), message(&r));
        seen.add(format!("{tag}: result.message_id"), message_id(&r));
        seen.add(format!("{tag}: lsq_last_error"), last_error());
        push(&s, case.faults);
        assert_eq!(
            c.show_async(&PopupData::documented("async"), &results),
            LSQ_OK
        );
        assert_eq!(c.flush(10_000), LSQ_OK, "{tag}");
    }
    c.free();
    for r in results.got.lock().unwrap().iter() {
        assert_eq!(r.status, case.want, "{tag} (async): {}", message(r));
        seen.add(format!("{tag}: async result.message"), message(r));
        seen.add(format!("{tag}: async result.message_id"), message_id(r));
    }
    let lines = log.all();
    assert!(!lines.is_empty(), "{tag}: no log line to check");
    seen.add(format!("{tag}: log"), lines);

    // The Rust API.
    let lines = Arc::new(Mutex::new(String::new()));
    let mut options = lsq::Options::default();
    for (k, v) in settings(case, auth, &s) {
        options.set(k, v).unwrap();
    }
    let sink = lines.clone();
    options.logger = lsq::Logger::new(Arc::new(move |level, line: &str| {
        sink.lock()
            .unwrap()
            .push_str(&format!("{level:?} {line}\n"));
    }));
    seen.add(format!("{tag}: Options Debug"), format!("{options:?}"));
    let client = lsq::Client::new(&s.host, CANARY_ACCESS, CANARY_SECRET, options).unwrap();
    let popup = documented_popup;
    if !cancelled {
        if expired {
            assert!(client.show_agent_popup(&popup("rust-slot")).outcome.is_ok());
        }
        push(&s, case.faults);
        let report = client.show_agent_popup(&popup("rust"));
        assert_eq!(report.status_code(), case.want, "{tag} (Rust): {report:?}");
        seen.add(format!("{tag}: Report Debug"), format!("{report:?}"));
        if let Err(e) = &report.outcome {
            seen.add(format!("{tag}: Error Display"), e.to_string());
            seen.add(format!("{tag}: Error Debug"), format!("{e:?}"));
        }
    }
    seen.add(format!("{tag}: Client Debug"), format!("{client:?}"));
    drop(client);
    seen.add(format!("{tag}: Rust log"), lines.lock().unwrap().clone());
}

/// Failures before anything is sent: validation and client creation.
fn run_refusals(seen: &Seen) {
    let emu = canary_emulator(None, Duration::ZERO);
    let log = LogLines::new();
    let o = Opts::new().with(&[("proxy", "none")]).log_to(&log);
    let c = Client::new(emu.url(), CANARY_ACCESS, CANARY_SECRET, &o).unwrap();
    let mut bad = PopupData::documented("bad");
    bad.lead_id = Some(ffi::c(CANARY_SECRET));
    let (s, r) = c.show(&bad);
    assert_eq!(s, LSQ_ERR_INVALID_ARGUMENT);
    seen.add("validation: result.message", message(&r));
    seen.add("validation: lsq_last_error", last_error());
    assert_eq!(emu.request_count(), 0);
    c.free();
    seen.add("validation: log", log.all());

    let long = CANARY_SECRET.repeat(40);
    let with_newline = format!("{CANARY_ACCESS}\r\n");
    let o = Opts::new();
    for (host, ak, sk) in [
        (
            "https://api.leadsquared.com",
            with_newline.as_str(),
            CANARY_SECRET,
        ),
        ("https://api.leadsquared.com", CANARY_ACCESS, long.as_str()),
        ("https://api.leadsquared.com", "", CANARY_SECRET),
        ("http://api.leadsquared.com", CANARY_ACCESS, CANARY_SECRET),
        ("https://h/v2?x", CANARY_ACCESS, CANARY_SECRET),
    ] {
        let reason = Client::new(host, ak, sk, &o).err().expect("refused");
        seen.add(format!("creation on {host}: lsq_last_error"), reason);
        let e = lsq::Client::new(host, ak, sk, lsq::Options::default()).unwrap_err();
        seen.add(format!("creation on {host}: Error Display"), e.to_string());
        seen.add(format!("creation on {host}: Error Debug"), format!("{e:?}"));
    }
    let o = Opts::new().with(&[("ca_file", "/nonexistent/ca.pem")]);
    let reason = Client::new("https://h", CANARY_ACCESS, CANARY_SECRET, &o)
        .err()
        .unwrap();
    seen.add("creation with a bad ca_file", reason);
}

#[test]
fn no_channel_ever_shows_a_key() {
    let seen = Seen::default();
    let cases = cases();
    std::thread::scope(|scope| {
        // At most a few emulators at a time: this machine may have 2 cores.
        for chunk in cases.chunks(6) {
            let runs: Vec<_> = chunk
                .iter()
                .flat_map(|case| ["query", "header"].map(|auth| (case, auth)))
                .map(|(case, auth)| {
                    let seen = &seen;
                    scope.spawn(move || run_case(case, auth, seen))
                })
                .collect();
            for run in runs {
                run.join().expect("a case failed");
            }
        }
        scope.spawn(|| run_refusals(&seen)).join().unwrap();
    });
    let seen = seen.0.into_inner().unwrap();
    assert!(seen.len() > 300, "only {} texts checked", seen.len());
    for (channel, text) in &seen {
        assert_no_canary(channel, text);
    }
}

#[test]
fn a_c_program_prints_no_key() {
    // Runs tests/c/hardening.c with the canary keys and greps its stdout and stderr.
    let out = run_hardening_c();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fault-400-echo-encoded"),
        "the program printed what it saw"
    );
}
