//! TLS for real: the emulator serves HTTPS with certificates made in the
//! test, and the client (built-in webpki roots by default) must refuse what
//! it cannot verify, trust what `ca_file` names, and refuse an unusable
//! `ca_file` at creation. Through the C ABI, called in-process.

#[path = "support/ffi.rs"]
mod ffi;
mod support;

use std::time::{Duration, Instant};

use ffi::*;
use lsq_emulator::{TestCa, TlsIdentity};
use support::*;

fn tls_emulator(id: TlsIdentity) -> Emulator {
    emulator(Config {
        tls: Some(id),
        ..Config::default()
    })
}

/// Options every TLS test uses: no env proxy, no retries, short timeouts.
fn opts(extra: &[(&str, &str)]) -> Opts {
    Opts::new()
        .with(&[
            ("proxy", "none"),
            ("max_retries", "0"),
            ("timeout_ms", "3000"),
            ("connect_timeout_ms", "3000"),
            ("rate_limit", "0"),
        ])
        .with(extra)
}

fn client(host: &str, opts: &Opts) -> Client {
    Client::new(host, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, opts).expect("client")
}

/// One popup; asserts the status, that the reason holds no key, and returns the result.
fn expect(host: &str, o: &Opts, want: lsq_status) -> lsq_result {
    let c = client(host, o);
    let (s, r) = c.show(&PopupData::documented("tls"));
    let msg = message(&r);
    assert_eq!(s, want, "{host}: {} ({msg})", status_str(s));
    assert_eq!(r.status, s);
    assert_no_key("result.message", &msg);
    assert_no_key("lsq_last_error", &last_error());
    r
}

#[test]
fn self_signed_server_is_refused_by_default_and_nothing_is_sent() {
    let (id, _trust) = TlsIdentity::self_signed(&["localhost", "127.0.0.1"]);
    let emu = tls_emulator(id);
    assert!(emu.url().starts_with("https://localhost:"));
    let r = expect(emu.url(), &opts(&[]), LSQ_ERR_TLS);
    assert_eq!((r.http_status, r.attempts), (0, 1));
    let msg = message(&r);
    assert!(msg.contains("TLS") || msg.contains("certificate"), "{msg}");
    // The handshake failed, so the request (and the keys in its query) never went out.
    assert_eq!(emu.request_count(), 0);
}

#[test]
fn ca_file_makes_a_self_signed_server_trusted() {
    let (id, trust) = TlsIdentity::self_signed(&["localhost", "127.0.0.1"]);
    let emu = tls_emulator(id);
    let ca = TempFile::with("self-signed.pem", trust.as_bytes());
    let o = opts(&[("ca_file", ca.path_str())]);
    let r = expect(emu.url(), &o, LSQ_OK);
    assert_eq!((r.http_status, r.attempts), (200, 1));
    assert_eq!(message_id(&r).len(), 36);
    // The certificate carries the IP too: https://127.0.0.1:PORT works as well.
    expect(&format!("https://127.0.0.1:{}", emu.port()), &o, LSQ_OK);
    assert_eq!(emu.count_with_status(200), 2);
}

#[test]
fn ca_file_with_a_private_ca_trusts_its_leaves_only() {
    let ca = TestCa::new();
    let emu = tls_emulator(ca.issue(&["localhost"]));
    let trusted = TempFile::with("ca.pem", ca.ca_pem().as_bytes());
    expect(emu.url(), &opts(&[("ca_file", trusted.path_str())]), LSQ_OK);

    // Another CA, even with a leaf of the right name, is an unknown issuer.
    let other = TestCa::new();
    let other_file = TempFile::with("other-ca.pem", other.ca_pem().as_bytes());
    expect(
        emu.url(),
        &opts(&[("ca_file", other_file.path_str())]),
        LSQ_ERR_TLS,
    );
    // The built-in roots do not know a private CA.
    expect(emu.url(), &opts(&[]), LSQ_ERR_TLS);
    assert_eq!(emu.count_with_status(200), 1);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let ca = TestCa::new();
    let trusted = TempFile::with("ca.pem", ca.ca_pem().as_bytes());
    let o = opts(&[("ca_file", trusted.path_str())]);

    let emu = tls_emulator(ca.issue(&["api.leadsquared.com"]));
    let r = expect(emu.url(), &o, LSQ_ERR_TLS);
    assert!(message(&r).contains("TLS"), "{}", message(&r));

    // A name-only certificate does not cover the IP literal, and vice versa.
    let by_name = tls_emulator(ca.issue(&["localhost"]));
    expect(
        &format!("https://127.0.0.1:{}", by_name.port()),
        &o,
        LSQ_ERR_TLS,
    );
    let by_ip = tls_emulator(ca.issue(&["127.0.0.1"]));
    expect(by_ip.url(), &o, LSQ_ERR_TLS);
    expect(&format!("https://127.0.0.1:{}", by_ip.port()), &o, LSQ_OK);

    assert_eq!(emu.request_count() + by_name.request_count(), 0);
}

#[test]
fn https_to_a_plain_server_and_http_to_a_tls_server_fail_cleanly() {
    let plain = emulator(Config::default());
    let host = format!("https://127.0.0.1:{}", plain.port());
    let started = Instant::now();
    let r = expect(&host, &opts(&[]), LSQ_ERR_TLS);
    assert_eq!(r.http_status, 0);
    assert!(started.elapsed() < Duration::from_secs(3));

    let (id, _) = TlsIdentity::self_signed(&["localhost"]);
    let tls = tls_emulator(id);
    let host = format!("http://127.0.0.1:{}", tls.port());
    let c = client(&host, &opts(&[]));
    let started = Instant::now();
    let (s, r) = c.show(&PopupData::documented("plain-to-tls"));
    // The TLS server cannot read a plain request: it closes (CONNECT) or
    // answers bytes that are not HTTP (RESPONSE); never OK, never a hang.
    assert!(
        s == LSQ_ERR_CONNECT || s == LSQ_ERR_RESPONSE,
        "{} ({})",
        status_str(s),
        message(&r)
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(tls.request_count(), 0);
}

/// Client creation through the C ABI with this ca_file: NULL and a reason naming ca_file.
fn refused_ca_file(path: &str) -> String {
    let o = Opts::new();
    assert_eq!(o.set("ca_file", path), LSQ_OK, "{}", last_error());
    let started = Instant::now();
    let made = Client::new(
        "https://localhost:1",
        DEFAULT_ACCESS_KEY,
        DEFAULT_SECRET_KEY,
        &o,
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "creation blocked"
    );
    let reason = match made {
        Ok(_) => panic!("ca_file {path:?} was accepted"),
        Err(reason) => reason,
    };
    assert!(reason.starts_with("ca_file: "), "{path}: {reason}");
    assert_no_key("lsq_last_error", &reason);
    // The Rust API refuses it the same way, as an invalid argument.
    let mut options = lsq::Options::default();
    options.set("ca_file", path).unwrap();
    let e = lsq::Client::new(
        "https://localhost:1",
        DEFAULT_ACCESS_KEY,
        DEFAULT_SECRET_KEY,
        options,
    )
    .unwrap_err();
    assert_eq!(e.kind(), lsq::ErrorKind::InvalidArgument);
    assert!(e.message().starts_with("ca_file: "), "{}", e.message());
    reason
}

#[test]
fn an_unreadable_or_malformed_ca_file_fails_client_creation() {
    let (id, _) = TlsIdentity::self_signed(&["localhost"]);
    let missing = temp_path("missing.pem");
    let reason = refused_ca_file(missing.to_str().unwrap());
    assert!(reason.contains("cannot read"), "{reason}");
    assert!(reason.contains(missing.to_str().unwrap()), "{reason}");

    let reason = refused_ca_file(&std::env::temp_dir().display().to_string());
    assert!(
        reason.contains("cannot read") || reason.contains("not a regular file"),
        "{reason}"
    );

    for (name, contents) in [
        (
            "garbage.pem",
            b"this is not a certificate\n\x00\xff\xfe".to_vec(),
        ),
        ("empty.pem", Vec::new()),
        // A PEM file, but with a key only: no certificate to trust.
        ("key-only.pem", id.key_pem.clone().into_bytes()),
        (
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n"
                .to_vec(),
        ),
        (
            "truncated.pem",
            id.cert_chain_pem.as_bytes()[..id.cert_chain_pem.len() / 2].to_vec(),
        ),
    ] {
        let file = TempFile::with(name, &contents);
        let reason = refused_ca_file(file.path_str());
        assert!(
            reason.contains("no PEM certificate") || reason.contains("not valid PEM"),
            "{name}: {reason}"
        );
    }
}

#[test]
fn a_ca_file_that_is_a_device_or_a_fifo_is_refused_without_blocking() {
    // /dev/zero never ends and a FIFO blocks its reader: reading either as a
    // PEM file would exhaust memory or hang client creation.
    refused_ca_file("/dev/zero");
    refused_ca_file("/dev/null");
    // A regular file far larger than any CA bundle (sparse: costs no disk).
    let big = TempFile::with("big.pem", b"");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big.0)
        .and_then(|f| f.set_len(17 * 1024 * 1024))
        .expect("grow temp file");
    let reason = refused_ca_file(big.path_str());
    assert!(reason.contains("larger than"), "{reason}");
    let fifo = temp_path("ca.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if matches!(made, Ok(s) if s.success()) {
        let reason = refused_ca_file(fifo.to_str().unwrap());
        assert!(reason.contains("not a regular file"), "{reason}");
        let _ = std::fs::remove_file(&fifo);
    }
}

#[test]
fn a_hostile_server_behind_trusted_tls_still_ends_in_a_status() {
    let (id, trust) = TlsIdentity::self_signed(&["localhost"]);
    let emu = tls_emulator(id);
    let ca = TempFile::with("self-signed.pem", trust.as_bytes());
    let o = opts(&[("ca_file", ca.path_str()), ("timeout_ms", "800")]);
    let c = client(emu.url(), &o);
    for (fault, want) in [
        (Fault::Drop, LSQ_ERR_CONNECT),
        (Fault::ResetMidBody, LSQ_ERR_CONNECT),
        (
            Fault::Trickle {
                interval: Duration::from_millis(100),
                total_bytes: 400,
            },
            LSQ_ERR_TIMEOUT,
        ),
        (
            Fault::Huge {
                bytes: 10 * 1024 * 1024,
            },
            LSQ_ERR_RESPONSE,
        ),
        (
            Fault::Garbage(b"\x16\x03\x01garbage".to_vec()),
            LSQ_ERR_RESPONSE,
        ),
    ] {
        let name = fault.name();
        emu.push_fault(fault);
        let started = Instant::now();
        let (s, r) = c.show(&PopupData::documented(name));
        assert_eq!(s, want, "{name}: {} ({})", status_str(s), message(&r));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} took too long"
        );
        assert_no_key(name, &message(&r));
    }
    let (s, _) = c.show(&PopupData::documented("after"));
    assert_eq!(s, LSQ_OK, "{}", last_error());
}
