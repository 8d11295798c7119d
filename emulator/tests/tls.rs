//! TLS mode, against a rustls client (ring provider).

mod common;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use common::*;
use lsq_emulator::{Config, Emulator, TestCa, TlsIdentity};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

fn tls_emu(id: TlsIdentity) -> Emulator {
    Emulator::start(Config {
        tls: Some(id),
        ..Config::default()
    })
    .unwrap()
}

fn client_config(
    trust_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(trust_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

type Tls = BufReader<StreamOwned<ClientConnection, TcpStream>>;

fn connect(emu: &Emulator, name: &str, cfg: Arc<ClientConfig>) -> Tls {
    let tcp = TcpStream::connect(emu.addr()).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let conn = ClientConnection::new(cfg, ServerName::try_from(name.to_owned()).unwrap()).unwrap();
    BufReader::new(StreamOwned::new(conn, tcp))
}

fn roundtrip(s: &mut Tls) -> std::io::Result<(u16, Vec<u8>)> {
    s.get_mut().write_all(&popup_request())?;
    s.get_mut().flush()?;
    let (status, headers) = read_head(s)?;
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap();
    let mut body = vec![0; len];
    s.read_exact(&mut body)?;
    Ok((status, body))
}

const ALL: &[&rustls::SupportedProtocolVersion] = rustls::ALL_VERSIONS;

#[test]
fn self_signed_identity_serves_https() {
    let (id, trust) = TlsIdentity::self_signed(&["localhost", "127.0.0.1"]);
    let emu = tls_emu(id);
    assert_eq!(emu.url(), format!("https://localhost:{}", emu.port()));
    let mut s = connect(&emu, "localhost", client_config(&trust, ALL));
    let (status, body) = roundtrip(&mut s).unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["Status"], "Success");
    // Keep-alive over TLS.
    assert_eq!(roundtrip(&mut s).unwrap().0, 200);
    assert_eq!(emu.connections_accepted(), 1);
    // By IP address too.
    let mut s = connect(&emu, "127.0.0.1", client_config(&trust, ALL));
    assert_eq!(roundtrip(&mut s).unwrap().0, 200);
}

#[test]
fn tls_1_2_works() {
    let (id, trust) = TlsIdentity::self_signed(&["localhost"]);
    let emu = tls_emu(id);
    let cfg = client_config(&trust, &[&rustls::version::TLS12]);
    let mut s = connect(&emu, "localhost", cfg);
    assert_eq!(roundtrip(&mut s).unwrap().0, 200);
    assert_eq!(
        s.get_ref().conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
}

#[test]
fn a_leaf_from_a_test_ca_is_trusted_through_the_ca() {
    let (id, ca) = TlsIdentity::test_ca(&["localhost"]);
    assert_ne!(id.cert_chain_pem, ca);
    let emu = tls_emu(id);
    let mut s = connect(&emu, "localhost", client_config(&ca, ALL));
    assert_eq!(roundtrip(&mut s).unwrap().0, 200);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let ca = TestCa::new();
    let emu = tls_emu(ca.issue(&["api.leadsquared.example"]));
    let mut s = connect(&emu, "localhost", client_config(ca.ca_pem(), ALL));
    let err = roundtrip(&mut s).unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert_eq!(emu.request_count(), 0);
}

#[test]
fn an_untrusted_issuer_is_refused() {
    let (id, _) = TlsIdentity::test_ca(&["localhost"]);
    let other = TestCa::new();
    let emu = tls_emu(id);
    let mut s = connect(&emu, "localhost", client_config(other.ca_pem(), ALL));
    let err = roundtrip(&mut s).unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
}

#[test]
fn plain_http_to_the_tls_port_gets_no_answer() {
    let (id, _) = TlsIdentity::self_signed(&["localhost"]);
    let emu = tls_emu(id);
    let mut c = Client::connect(emu.addr());
    c.send(&popup_request());
    // A TLS alert record (content type 21), never an HTTP answer, then the close.
    let mut got = Vec::new();
    let _ = c.reader.read_to_end(&mut got);
    assert!(got.is_empty() || got[0] == 0x15, "{got:?}");
    assert_eq!(emu.request_count(), 0);
}

#[test]
fn an_unusable_identity_is_refused_at_start() {
    let (mut id, _) = TlsIdentity::self_signed(&["localhost"]);
    id.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into();
    let e = Emulator::start(Config {
        tls: Some(id),
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}
