//! TLS mode: the server identity (certificate chain and key, PEM) and test certificates made
//! with rcgen.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A server certificate chain and its private key, both PEM.
///
/// `Debug` does not print the key.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    /// The leaf certificate first, then any intermediates (PEM `CERTIFICATE` blocks).
    pub cert_chain_pem: String,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_pem: String,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_chain_pem", &self.cert_chain_pem)
            .field("key_pem", &"***")
            .finish()
    }
}

impl TlsIdentity {
    /// A self-signed certificate for `names` (DNS names or IP addresses, e.g.
    /// `["localhost", "127.0.0.1"]`), and the PEM a client should trust: the certificate itself.
    ///
    /// # Panics
    /// When a name is not a valid DNS name or IP address (a test helper: fail loudly).
    pub fn self_signed(names: &[&str]) -> (TlsIdentity, String) {
        let key = KeyPair::generate().expect("generate key pair");
        let params = params_for(names);
        let cert = params.self_signed(&key).expect("self-sign certificate");
        let pem = cert.pem();
        (
            TlsIdentity {
                cert_chain_pem: pem.clone(),
                key_pem: key.serialize_pem(),
            },
            pem,
        )
    }

    /// A fresh test CA and a leaf for `names` signed by it: the identity serves the leaf, the
    /// string is the CA certificate PEM a client should trust (e.g. as its `ca_file`).
    pub fn test_ca(names: &[&str]) -> (TlsIdentity, String) {
        let ca = TestCa::new();
        (ca.issue(names), ca.ca_pem().to_owned())
    }

    /// Reads a certificate chain and a key from PEM files (the command line's `--tls-cert` and
    /// `--tls-key`), checking that they can be used.
    pub fn from_pem_files(cert: &Path, key: &Path) -> io::Result<TlsIdentity> {
        let id = TlsIdentity {
            cert_chain_pem: std::fs::read_to_string(cert)?,
            key_pem: std::fs::read_to_string(key)?,
        };
        server_config(&id)?;
        Ok(id)
    }
}

/// A certificate authority for tests: issue leaves for any names, trust [`TestCa::ca_pem`].
pub struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
    pem: String,
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa").field("ca_pem", &self.pem).finish()
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    /// A new CA (named `lsq-emulator test CA` plus a random suffix) with a fresh key.
    ///
    /// # Panics
    /// If rcgen fails to generate a key or sign (not expected).
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("generate CA key pair");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        // A distinct name per CA, so a leaf of one CA is "unknown issuer" to another.
        let id = crate::answer::new_message_id();
        params.distinguished_name.push(
            DnType::CommonName,
            format!("lsq-emulator test CA {}", &id[..8]),
        );
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign CA");
        let pem = cert.pem();
        TestCa { cert, key, pem }
    }

    /// The CA certificate, PEM: what a client should trust.
    pub fn ca_pem(&self) -> &str {
        &self.pem
    }

    /// A leaf certificate for `names`, signed by this CA; the chain holds the leaf only.
    ///
    /// # Panics
    /// When a name is not a valid DNS name or IP address.
    pub fn issue(&self, names: &[&str]) -> TlsIdentity {
        let key = KeyPair::generate().expect("generate leaf key pair");
        let cert = params_for(names)
            .signed_by(&key, &self.cert, &self.key)
            .expect("sign leaf");
        TlsIdentity {
            cert_chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

fn params_for(names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).expect("valid certificate names");
    if let Some(first) = names.first() {
        params.distinguished_name.push(DnType::CommonName, first);
    }
    params
}

/// The rustls server configuration for an identity (ring provider, TLS 1.2 and 1.3,
/// ALPN `http/1.1`).
pub(crate) fn server_config(id: &TlsIdentity) -> io::Result<Arc<rustls::ServerConfig>> {
    let invalid = |what: &str, e: &dyn fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let certs = CertificateDer::pem_slice_iter(id.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("TLS certificate PEM", &e))?;
    if certs.is_empty() {
        return Err(invalid("TLS certificate PEM", &"no CERTIFICATE block"));
    }
    let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes())
        .map_err(|e| invalid("TLS key PEM", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS versions", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("TLS certificate and key", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_load() {
        let (id, trust) = TlsIdentity::self_signed(&["localhost", "127.0.0.1"]);
        assert_eq!(id.cert_chain_pem, trust);
        assert!(server_config(&id).is_ok());
        let (leaf, ca) = TlsIdentity::test_ca(&["localhost"]);
        assert_ne!(leaf.cert_chain_pem, ca);
        assert!(server_config(&leaf).is_ok());
        assert!(!format!("{leaf:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn bad_pem_is_an_error() {
        let id = TlsIdentity {
            cert_chain_pem: "nope".into(),
            key_pem: "nope".into(),
        };
        assert!(server_config(&id).is_err());
    }
}
