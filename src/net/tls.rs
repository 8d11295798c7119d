//! The roots a TLS connection trusts: Mozilla's, built in, or the PEM file
//! given as `ca_file` (read once, at client creation, so a bad one fails it).

use std::io::{self, Read};
use std::sync::Arc;

use ureq::tls::{Certificate, PemItem, RootCerts};

use crate::error::Error;
use crate::options::Options;

pub(super) fn root_certs(options: &Options) -> Result<RootCerts, Error> {
    let Some(path) = &options.ca_file else {
        // Mozilla's roots, built in: the same trust on every PBX, however old its OS bundle.
        return Ok(RootCerts::WebPki);
    };
    let shown = path.display();
    let pem = read_ca_file(path)
        .map_err(|e| Error::invalid(format!("ca_file: cannot read {shown}: {e}")))?;
    let mut certs: Vec<Certificate<'static>> = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(_) => return Err(Error::invalid(format!("ca_file: {shown} is not valid PEM"))),
        }
    }
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "ca_file: {shown} holds no PEM certificate"
        )));
    }
    Ok(RootCerts::Specific(Arc::new(certs)))
}

/// A CA bundle is a few hundred KiB; anything past this is not one.
const MAX_CA_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads `path` only if it is a regular file, and at most
/// [`MAX_CA_FILE_BYTES`]: a device (`/dev/zero`) would exhaust memory and a
/// FIFO would block client creation forever.
fn read_ca_file(path: &std::path::Path) -> io::Result<Vec<u8>> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut pem = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut pem)?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "larger than 16 MiB",
        ));
    }
    Ok(pem)
}
