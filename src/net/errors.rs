//! Transport failures in the contract's statuses, with reasons an admin can
//! act on: each connect failure names the host and port and says what
//! happened (could not resolve, refused, unreachable, timed out after N ms,
//! the proxy refused). Never formats a ureq error itself: some variants
//! carry the URI, and the URI may carry the keys.

use std::fmt;
use std::io;
use std::time::Duration;

use ureq::Timeout;

use crate::error::{Error, ErrorKind};

/// Who a failure message names, and the connect budget it quotes.
#[derive(Clone, Debug)]
pub(super) struct Target {
    /// `host:port`, as connected to (never the URL: it may carry the keys).
    pub host_port: String,
    pub connect_timeout: Duration,
}

/// A name resolution failure, carried inside ureq's `Error::Io` from the
/// resolver to [`map_error`], with the resolver's own words ("Name or
/// service not known"), which name neither the URL nor the keys.
#[derive(Debug)]
pub(super) struct DnsFailure(pub String);

impl fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DnsFailure {}

/// Wraps a resolver failure so that [`map_error`] can tell it from any other
/// I/O error (std reports a failed lookup as an uncategorized error).
pub(super) fn dns_failure(e: ureq::Error) -> ureq::Error {
    match e {
        ureq::Error::Io(io) => {
            let text = io.to_string();
            let words = text
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&text)
                .to_string();
            ureq::Error::Io(io::Error::other(DnsFailure(words)))
        }
        other => other,
    }
}

/// Maps a ureq failure to the contract's status and a reason.
pub(super) fn map_error(e: ureq::Error, target: &Target) -> Error {
    use ureq::Error as U;
    let at = &target.host_port;
    let connect_ms = target.connect_timeout.as_millis();
    let (kind, reason): (ErrorKind, String) = match e {
        U::Timeout(Timeout::Resolve) => (
            ErrorKind::Connect,
            format!("could not resolve {at}: no DNS answer within {connect_ms} ms (connect_timeout_ms)"),
        ),
        U::Timeout(Timeout::Connect) => (
            ErrorKind::Connect,
            format!("connecting to {at} timed out after {connect_ms} ms (connect_timeout_ms): check the network, firewall and host"),
        ),
        U::Timeout(_) => (
            ErrorKind::Timeout,
            format!("no complete answer from {at} within timeout_ms"),
        ),
        U::HostNotFound => (
            ErrorKind::Connect,
            format!("could not resolve {at}: the name has no address (DNS)"),
        ),
        U::ConnectionFailed => (
            ErrorKind::Connect,
            format!("could not connect to {at}: refused or unreachable"),
        ),
        U::ConnectProxyFailed(_) | U::InvalidProxyUrl => (
            ErrorKind::Connect,
            format!("the proxy refused or failed the connection to {at}"),
        ),
        U::Io(io) => map_io(&io, at),
        U::Tls(what) => (ErrorKind::Tls, format!("TLS failure with {at}: {what}")),
        U::Rustls(tls) => (ErrorKind::Tls, format!("TLS failure with {at}: {tls}")),
        U::Pem(_) => (ErrorKind::Tls, "TLS failure: bad PEM".into()),
        U::BodyExceedsLimit(limit) => (
            ErrorKind::Response,
            format!("answer body larger than {limit} bytes: refused"),
        ),
        U::LargeResponseHeader(_, _) => (ErrorKind::Response, "answer headers too large".into()),
        U::Protocol(_) | U::BadUri(_) | U::Http(_) => {
            (ErrorKind::Response, format!("the answer from {at} is not valid HTTP"))
        }
        U::BodyStalled => (ErrorKind::Timeout, format!("the answer body from {at} stalled")),
        U::TooManyRedirects | U::RedirectFailed => (
            ErrorKind::Http,
            "redirect refused: redirects are never followed".into(),
        ),
        _ => (
            ErrorKind::Connect,
            format!("the request to {at} failed in transport"),
        ),
    };
    Error::new(kind, reason)
}

fn map_io(io: &io::Error, at: &str) -> (ErrorKind, String) {
    use io::ErrorKind as K;
    if let Some(dns) = io.get_ref().and_then(|e| e.downcast_ref::<DnsFailure>()) {
        return (
            ErrorKind::Connect,
            format!("could not resolve {at} (DNS: {dns}): check the host name and the PBX's DNS"),
        );
    }
    match io.kind() {
        K::TimedOut | K::WouldBlock => (
            ErrorKind::Timeout,
            format!("no complete answer from {at} within timeout_ms"),
        ),
        K::ConnectionRefused => (
            ErrorKind::Connect,
            format!("{at} refused the connection: check the host and port"),
        ),
        K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown => (
            ErrorKind::Connect,
            format!("{at} is unreachable (no route): check the network and firewall"),
        ),
        K::AddrNotAvailable => (
            ErrorKind::Connect,
            format!("cannot connect to {at}: no usable local address"),
        ),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => (
            ErrorKind::Connect,
            format!("{at} closed or reset the connection before a complete answer"),
        ),
        K::NotConnected => (ErrorKind::Cancelled, "the client is shutting down".into()),
        K::InvalidData => {
            // rustls reports certificate and handshake problems as InvalidData.
            let detail = io
                .get_ref()
                .map(|inner| inner.to_string())
                .unwrap_or_default();
            if detail.is_empty() {
                (
                    ErrorKind::Response,
                    format!("the answer from {at} is not valid HTTP"),
                )
            } else {
                (ErrorKind::Tls, format!("TLS failure with {at}: {detail}"))
            }
        }
        kind => (
            ErrorKind::Connect,
            format!("network error talking to {at}: {kind}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            host_port: "no-such-host.invalid:443".into(),
            connect_timeout: Duration::from_millis(2000),
        }
    }

    #[test]
    fn every_connect_failure_names_the_host_and_the_cause() {
        let dns = dns_failure(ureq::Error::Io(io::Error::other(
            "failed to lookup address information: Name or service not known",
        )));
        let e = map_error(dns, &target());
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert_eq!(
            e.message(),
            "could not resolve no-such-host.invalid:443 (DNS: Name or service not known): check the host name and the PBX's DNS"
        );
        for (error, words) in [
            (
                ureq::Error::Timeout(Timeout::Connect),
                "timed out after 2000 ms",
            ),
            (ureq::Error::Timeout(Timeout::Resolve), "could not resolve"),
            (ureq::Error::HostNotFound, "could not resolve"),
            (
                ureq::Error::Io(io::ErrorKind::ConnectionRefused.into()),
                "refused the connection",
            ),
            (
                ureq::Error::Io(io::ErrorKind::HostUnreachable.into()),
                "unreachable",
            ),
            (
                ureq::Error::Io(io::ErrorKind::NetworkUnreachable.into()),
                "unreachable",
            ),
            (ureq::Error::ConnectProxyFailed("x".into()), "proxy refused"),
        ] {
            let e = map_error(error, &target());
            assert_eq!(e.kind(), ErrorKind::Connect, "{}", e.message());
            assert!(
                e.message().contains("no-such-host.invalid:443"),
                "{}",
                e.message()
            );
            assert!(e.message().contains(words), "{}", e.message());
        }
    }
}
