//! Proxies: the `proxy` option, the proxy environment variables (honoured
//! by default, `NO_PROXY` too, bypassed by `proxy=none`), and proxies that
//! refuse or hang up. ureq reaches every target through a CONNECT tunnel,
//! http included, so the proxy never sees the request line (nor the keys in
//! its query).
//!
//! The environment is process-global: every test in this binary holds
//! `ENV_LOCK`, so none reads the environment while another changes it.

#[path = "support/ffi.rs"]
mod ffi;
#[path = "support/proxy.rs"]
mod proxy;
#[allow(unused_imports)] // support re-exports more than this file needs
mod support;

use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ffi::*;
use lsq_emulator::TlsIdentity;
use proxy::{Mode, Proxy};
use support::*;

static ENV_LOCK: Mutex<()> = Mutex::new(());

const PROXY_VARS: [&str; 8] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Holds the lock with no proxy variable set; restores none on drop.
struct CleanEnv(#[allow(dead_code)] MutexGuard<'static, ()>);

impl CleanEnv {
    fn new() -> CleanEnv {
        let guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        for v in PROXY_VARS {
            std::env::remove_var(v);
        }
        CleanEnv(guard)
    }

    fn set(&self, var: &str, value: &str) {
        std::env::set_var(var, value);
    }
}

impl Drop for CleanEnv {
    fn drop(&mut self) {
        for v in PROXY_VARS {
            std::env::remove_var(v);
        }
    }
}

fn opts(extra: &[(&str, &str)]) -> Opts {
    Opts::new()
        .with(&[
            ("rate_limit", "0"),
            ("max_retries", "0"),
            ("timeout_ms", "3000"),
            ("connect_timeout_ms", "3000"),
        ])
        .with(extra)
}

fn show(host: &str, o: &Opts) -> (lsq_status, lsq_result) {
    let c = Client::new(host, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, o).expect("client");
    let (s, r) = c.show(&PopupData::documented("proxied"));
    assert_no_key("result.message", &message(&r));
    (s, r)
}

fn connect_line(emu: &Emulator, host: &str) -> String {
    format!("CONNECT {host}:{}", emu.port())
}

#[test]
fn the_proxy_option_routes_through_the_proxy() {
    let _env = CleanEnv::new();
    let emu = default_emulator();
    let p = Proxy::start(Mode::Forward);
    let (s, r) = show(emu.url(), &opts(&[("proxy", &p.url())]));
    assert_eq!(s, LSQ_OK, "{}", message(&r));
    assert_eq!(p.requests(), vec![connect_line(&emu, "127.0.0.1")]);
    assert_eq!(emu.count_with_status(200), 1);
    // The keys travelled inside the tunnel, never in a line the proxy read.
    assert!(p.requests().iter().all(|r| !r.contains("accessKey")));
}

#[test]
fn https_goes_through_a_connect_tunnel() {
    let _env = CleanEnv::new();
    let (id, trust) = TlsIdentity::self_signed(&["localhost"]);
    let emu = emulator(Config {
        tls: Some(id),
        ..Config::default()
    });
    let ca = TempFile::with("proxy-ca.pem", trust.as_bytes());
    let p = Proxy::start(Mode::Forward);
    let (s, r) = show(
        emu.url(),
        &opts(&[("proxy", &p.url()), ("ca_file", ca.path_str())]),
    );
    assert_eq!(s, LSQ_OK, "{}", message(&r));
    assert_eq!(p.requests(), vec![connect_line(&emu, "localhost")]);
    assert_eq!(emu.count_with_status(200), 1);
}

#[test]
fn the_proxy_variables_are_honoured_by_default() {
    let env = CleanEnv::new();
    let emu = default_emulator();
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        let p = Proxy::start(Mode::Forward);
        for v in PROXY_VARS {
            std::env::remove_var(v);
        }
        env.set(var, &p.url());
        let (s, r) = show(emu.url(), &opts(&[]));
        assert_eq!(s, LSQ_OK, "{var}: {}", message(&r));
        assert_eq!(p.requests(), vec![connect_line(&emu, "127.0.0.1")], "{var}");
    }
    assert_eq!(emu.count_with_status(200), 6);
}

#[test]
fn no_proxy_and_proxy_none_bypass_an_environment_proxy() {
    let env = CleanEnv::new();
    let emu = default_emulator();
    let p = Proxy::start(Mode::Forward);
    env.set("HTTPS_PROXY", &p.url());
    env.set("HTTP_PROXY", &p.url());
    for no_proxy in ["127.0.0.1", "localhost,127.0.0.1", "*"] {
        env.set("NO_PROXY", no_proxy);
        let (s, r) = show(emu.url(), &opts(&[]));
        assert_eq!(s, LSQ_OK, "NO_PROXY={no_proxy}: {}", message(&r));
    }
    std::env::remove_var("NO_PROXY");
    env.set("no_proxy", "127.0.0.1");
    assert_eq!(show(emu.url(), &opts(&[])).0, LSQ_OK);
    std::env::remove_var("no_proxy");
    // NO_PROXY for another host leaves the proxy in use.
    env.set("NO_PROXY", "example.com");
    assert_eq!(show(emu.url(), &opts(&[])).0, LSQ_OK);
    assert_eq!(p.requests().len(), 1, "{:?}", p.requests());
    // proxy=none ignores the environment.
    std::env::remove_var("NO_PROXY");
    let (s, _) = show(emu.url(), &opts(&[("proxy", "none")]));
    assert_eq!(s, LSQ_OK);
    assert_eq!(p.requests().len(), 1, "proxy=none went through the proxy");
    // An explicit proxy wins over the environment's.
    let other = Proxy::start(Mode::Forward);
    assert_eq!(show(emu.url(), &opts(&[("proxy", &other.url())])).0, LSQ_OK);
    assert_eq!(other.requests().len(), 1);
    assert_eq!(p.requests().len(), 1);
    assert_eq!(emu.count_with_status(200), 7);
}

#[test]
fn a_malformed_environment_proxy_is_ignored_not_fatal() {
    let env = CleanEnv::new();
    let emu = default_emulator();
    env.set("HTTPS_PROXY", "::not a url::");
    let started = Instant::now();
    let (s, r) = show(emu.url(), &opts(&[]));
    assert!(started.elapsed() < Duration::from_secs(5));
    // ureq skips a variable it cannot parse, as if it were unset.
    assert_eq!(s, LSQ_OK, "{}: {}", status_str(s), message(&r));
}

#[test]
fn a_proxy_that_refuses_or_hangs_up_is_a_connect_error() {
    let _env = CleanEnv::new();
    let emu = default_emulator();
    // Nothing listens on the port.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (s, r) = show(emu.url(), &opts(&[("proxy", &closed)]));
    assert_eq!(s, LSQ_ERR_CONNECT, "{}", message(&r));
    assert_eq!(r.http_status, 0);
    for mode in [
        Mode::Refuse(403),
        Mode::Refuse(407),
        Mode::Refuse(502),
        Mode::HangUp,
    ] {
        let p = Proxy::start(mode);
        let started = Instant::now();
        let (s, r) = show(emu.url(), &opts(&[("proxy", &p.url())]));
        assert_eq!(
            s,
            LSQ_ERR_CONNECT,
            "{mode:?}: {} ({})",
            status_str(s),
            message(&r)
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{mode:?}");
        assert_eq!(p.requests().len(), 1, "{mode:?}");
    }
    assert_eq!(
        emu.request_count(),
        0,
        "a refusing proxy let the popup through"
    );
}

#[test]
fn proxy_credentials_never_appear_in_a_reason_or_a_log_line() {
    let _env = CleanEnv::new();
    let emu = default_emulator();
    let p = Proxy::start(Mode::Refuse(407));
    let log = LogLines::new();
    let url = format!("http://pbx:Pr0xy-S3cret@{}", p.addr());
    let o = opts(&[("proxy", &url)]).log_to(&log);
    let c = Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &o).unwrap();
    let (s, r) = c.show(&PopupData::documented("creds"));
    assert_eq!(s, LSQ_ERR_CONNECT);
    drop(c);
    for text in [message(&r), last_error(), log.all()] {
        assert!(!text.contains("Pr0xy-S3cret"), "{text}");
    }
    // A refused proxy URL is not echoed either.
    let o = Opts::new();
    assert_eq!(
        o.set(
            "proxy",
            "http://pbx:Pr0xy-S3cret@proxy:3128\r\nX-Injected: 1"
        ),
        LSQ_ERR_INVALID_ARGUMENT
    );
    assert!(!last_error().contains("Pr0xy-S3cret"), "{}", last_error());
}

#[test]
fn a_proxy_url_with_cr_or_lf_is_refused_at_set() {
    let _env = CleanEnv::new();
    let o = Opts::new();
    for bad in [
        "http://127.0.0.1:3128\r\nX-Injected: 1",
        "http://127.0.0.1:3128\nX-Injected: 1",
        "http://127.0.0.1:3128\r",
        "http://127.0.0.1\t:3128",
        "http://127.0.0.1:3128 ",
        "",
    ] {
        assert_eq!(o.set("proxy", bad), LSQ_ERR_INVALID_ARGUMENT, "{bad:?}");
        assert!(last_error().starts_with("proxy: "), "{}", last_error());
    }
    // The options were left as they were: a client made from them works directly.
    let emu = default_emulator();
    let o = o.with(&[("rate_limit", "0"), ("proxy", "none")]);
    assert_eq!(show(emu.url(), &o).0, LSQ_OK);
}

#[test]
fn a_silent_proxy_gives_up_within_the_timeouts() {
    let _env = CleanEnv::new();
    let emu = default_emulator();
    let p = Proxy::start(Mode::Silent);
    let started = Instant::now();
    let (s, r) = show(
        emu.url(),
        &opts(&[
            ("proxy", &p.url()),
            ("connect_timeout_ms", "500"),
            ("timeout_ms", "1000"),
        ]),
    );
    let took = started.elapsed();
    assert!(
        s == LSQ_ERR_CONNECT || s == LSQ_ERR_TIMEOUT,
        "{}: {}",
        status_str(s),
        message(&r)
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert_eq!(emu.request_count(), 0);
}

#[test]
fn the_test_proxy_also_forwards_absolute_form() {
    use std::io::{Read, Write};
    let _env = CleanEnv::new();
    let emu = default_emulator();
    let p = Proxy::start(Mode::Forward);
    let body = format!(
        r#"{{"SourceNumber":"{SOURCE}","DestinationNumber":"{DESTINATION}","DisplayNumber":"{DISPLAY}","Direction":"Inbound","CallSessionId":"abs","LeadId":"{LEAD}","UserId":"{USER}"}}"#
    );
    let mut s = std::net::TcpStream::connect(p.addr()).unwrap();
    write!(
        s,
        "POST {}/v2/Telephony.svc/ShowAgentPopup HTTP/1.1\r\nHost: x\r\nx-LSQ-AccessKey: {DEFAULT_ACCESS_KEY}\r\nx-LSQ-SecretKey: {DEFAULT_SECRET_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        emu.url(),
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        p.requests(),
        vec![format!(
            "POST {}/v2/Telephony.svc/ShowAgentPopup",
            emu.url()
        )]
    );
}
