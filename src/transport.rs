//! One HTTP attempt over a shared keep-alive pool (ureq). Knows the wire's
//! headers and how to turn every transport failure into the contract's
//! statuses, with reasons that never carry the URL (it may hold the keys).

use std::io::{self, Read};
use std::sync::Arc;

use ureq::http::header::{HeaderValue, CONTENT_TYPE};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, Proxy, Timeout};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind};
use crate::options::{AuthMode, Options, ProxySetting};
use crate::wire;

/// Bodies past this size are refused: a popup answer is a few hundred bytes.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// What the server answered.
#[derive(Debug)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, or why it could not be read (too large, cut off, too slow).
    pub body: Result<Vec<u8>, Error>,
    /// The raw Retry-After header, if any.
    pub retry_after: Option<String>,
}

/// A configured agent and the request's fixed parts.
pub struct Transport {
    agent: Agent,
    url: Zeroizing<String>,
    header_keys: Option<(Zeroizing<String>, Zeroizing<String>)>,
}

impl Transport {
    /// Builds the agent. Reads `ca_file` now, so a bad one fails client creation.
    pub fn new(
        endpoint: &Endpoint,
        credentials: &Credentials,
        options: &Options,
    ) -> Result<Transport, Error> {
        let tls = TlsConfig::builder()
            .root_certs(root_certs(options)?)
            .build();
        let proxy = match &options.proxy {
            ProxySetting::FromEnvironment => Proxy::try_from_env(),
            ProxySetting::None => None,
            ProxySetting::Url(url) => {
                Some(Proxy::new(url).map_err(|_| Error::invalid("proxy: not a valid proxy URL"))?)
            }
        };
        let config = Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are never followed: they would carry the keys elsewhere.
            .max_redirects(0)
            .timeout_global(Some(options.timeout))
            .timeout_connect(Some(options.connect_timeout))
            .user_agent(options.user_agent.as_str())
            .accept("application/json")
            .no_delay(true)
            .proxy(proxy)
            .tls_config(tls)
            .max_idle_connections(options.workers + 4)
            .max_idle_connections_per_host(options.workers + 4)
            .build();
        let header_keys = (options.auth == AuthMode::Header).then(|| {
            (
                Zeroizing::new(credentials.access_key().to_string()),
                Zeroizing::new(credentials.secret_key().to_string()),
            )
        });
        Ok(Transport {
            agent: crate::net::agent(config),
            url: wire::url(endpoint, credentials, options.auth),
            header_keys,
        })
    }

    /// Sends one request with `body` and reads the answer.
    pub fn send(&self, body: &[u8]) -> Result<HttpAnswer, Error> {
        let mut request = self
            .agent
            .post(self.url.as_str())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some((access, secret)) = &self.header_keys {
            request = request
                .header("x-LSQ-AccessKey", access.as_str())
                .header("x-LSQ-SecretKey", secret.as_str());
        }
        let mut response = request.send(body).map_err(map_error)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // Room for a popup answer up front: no small probing reads, one
        // read for the body and one for its end (read_to_vec starts empty).
        let mut body = Vec::with_capacity(1024);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .reader()
            .read_to_end(&mut body)
            .map(|_| body)
            .map_err(|e| map_error(e.into()));
        Ok(HttpAnswer {
            status,
            body,
            retry_after,
        })
    }

    /// Interrupts every request in flight and closes the pool: they fail at
    /// once instead of waiting for their timeouts. Used at shutdown.
    pub fn interrupt(&self) {
        self.agent.clone().shutdown();
    }
}

fn root_certs(options: &Options) -> Result<RootCerts, Error> {
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
    use std::io::Read;
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

/// Maps a ureq failure. Never formats the ureq error itself: some variants
/// carry the URI, and the URI may carry the keys.
fn map_error(e: ureq::Error) -> Error {
    use ureq::Error as U;
    let (kind, reason): (ErrorKind, String) = match e {
        U::Timeout(Timeout::Connect | Timeout::Resolve) => (
            ErrorKind::Connect,
            "connecting timed out (connect_timeout_ms)".into(),
        ),
        U::Timeout(_) => (
            ErrorKind::Timeout,
            "no complete answer within timeout_ms".into(),
        ),
        U::HostNotFound => (ErrorKind::Connect, "host not found (DNS)".into()),
        U::ConnectionFailed => (
            ErrorKind::Connect,
            "connection failed (refused or unreachable)".into(),
        ),
        U::ConnectProxyFailed(_) | U::InvalidProxyUrl => (
            ErrorKind::Connect,
            "the proxy refused or failed the connection".into(),
        ),
        U::Io(io) => map_io(&io),
        U::Tls(what) => (ErrorKind::Tls, format!("TLS failure: {what}")),
        U::Rustls(tls) => (ErrorKind::Tls, format!("TLS failure: {tls}")),
        U::Pem(_) => (ErrorKind::Tls, "TLS failure: bad PEM".into()),
        U::BodyExceedsLimit(_) => (
            ErrorKind::Response,
            format!("answer body larger than {MAX_BODY_BYTES} bytes: refused"),
        ),
        U::LargeResponseHeader(_, _) => (ErrorKind::Response, "answer headers too large".into()),
        U::Protocol(_) | U::BadUri(_) | U::Http(_) => {
            (ErrorKind::Response, "the answer is not valid HTTP".into())
        }
        U::BodyStalled => (ErrorKind::Timeout, "the answer body stalled".into()),
        U::TooManyRedirects | U::RedirectFailed => (
            ErrorKind::Http,
            "redirect refused: redirects are never followed".into(),
        ),
        _ => (ErrorKind::Connect, "the request failed in transport".into()),
    };
    Error::new(kind, reason)
}

fn map_io(io: &io::Error) -> (ErrorKind, String) {
    use io::ErrorKind as K;
    match io.kind() {
        K::TimedOut | K::WouldBlock => (
            ErrorKind::Timeout,
            "no complete answer within timeout_ms".into(),
        ),
        K::ConnectionRefused => (ErrorKind::Connect, "connection refused".into()),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => (
            ErrorKind::Connect,
            "the connection was closed or reset before a complete answer".into(),
        ),
        K::NotConnected => (ErrorKind::Cancelled, "the client is shutting down".into()),
        K::InvalidData => {
            // rustls reports certificate and handshake problems as InvalidData.
            let detail = io
                .get_ref()
                .map(|inner| inner.to_string())
                .unwrap_or_default();
            if detail.is_empty() {
                (ErrorKind::Response, "the answer is not valid HTTP".into())
            } else {
                (ErrorKind::Tls, format!("TLS failure: {detail}"))
            }
        }
        _ => (ErrorKind::Connect, format!("network error: {}", io.kind())),
    }
}
