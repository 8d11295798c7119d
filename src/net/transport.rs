//! One HTTP attempt over a shared keep-alive pool (ureq): the request's URL
//! with the keys where `auth` puts them, the wire's headers, and the answer
//! read within its size limit. Failures become the contract's statuses in
//! [`errors`](super::errors), with reasons that never carry the URL.

use std::io::Read;
use std::sync::Arc;

use ureq::http::header::{HeaderValue, CONTENT_TYPE};
use ureq::http::Uri;
use ureq::tls::TlsConfig;
use ureq::{Agent, Proxy};
use zeroize::Zeroizing;

use super::errors::{map_error, Target};
use super::tls::root_certs;
use super::warm::Warmer;
use super::WarmConnections;
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind};
use crate::options::{AuthMode, Options, ProxySetting};
use crate::threads::Threads;
use crate::url::url_encode;

/// Bodies past this size are refused: a popup or call-log answer is a few
/// hundred bytes.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// Each connection's output buffer, to start with (it grows when needed).
const OUTPUT_BUFFER_BYTES: usize = 16 * 1024;
/// Each connection's input buffer: one byte more than ureq's largest
/// response header (64 KiB), so that a server that never ends its header
/// (or sends `100 Continue` forever) fills it and is refused at once, as
/// ureq does with its default buffer. Allocated zeroed, so pages never
/// written are never resident; only what held data is wiped.
const INPUT_BUFFER_BYTES: usize = 64 * 1024 + 1;

/// The HTTP method of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    #[allow(dead_code)] // the lookup endpoints (issue 10) are its users
    Get,
    Post,
}

/// One request, as an endpoint of `api/` describes it: the
/// transport adds the base URL, the keys and the headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request<'a> {
    pub method: Method,
    /// The API path, e.g. `/v2/Telephony.svc/ShowAgentPopup`.
    pub path: &'static str,
    /// Query parameters after the keys, URL-encoded here.
    pub query: &'a [(&'static str, &'a str)],
    /// A JSON body (POST).
    pub body: Option<&'a [u8]>,
    /// The largest answer body accepted.
    pub max_body: u64,
}

/// What the server answered.
#[derive(Debug)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, or why it could not be read (too large, cut off, too slow).
    pub body: Result<Vec<u8>, Error>,
    /// The raw Retry-After header, if any.
    pub retry_after: Option<String>,
    /// `host:port` that answered, for messages that must name it (a 401
    /// says which host refused the keys, as connect failures do).
    pub host: Arc<str>,
}

/// A configured agent, the base URL, and the keys in the form `auth` sends them.
pub struct Transport {
    agent: Agent,
    /// Keeps `warm_connections` open; stopped at shutdown (or when dropped).
    warmer: Option<Warmer>,
    base: String,
    /// `accessKey=..&secretKey=..`, URL-encoded, with `auth=query`; wiped when dropped.
    key_query: Option<Zeroizing<String>>,
    /// The two header values, with `auth=header`: each request shares
    /// these bytes (no copy), which are wiped when the last share is dropped.
    header_keys: Option<(HeaderValue, HeaderValue)>,
    /// Who failure messages name, and the connect budget they quote.
    target: Target,
    /// `target.host_port`, shared with every answer.
    host: Arc<str>,
}

impl Transport {
    /// Builds the agent. Reads `ca_file` now, so a bad one fails client creation.
    pub fn new(
        endpoint: &Endpoint,
        credentials: &Credentials,
        options: &Options,
        threads: &Threads,
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
        // Warming is skipped through a proxy: the tunnel's set-up is the
        // proxy's business, and a warm tunnel would hold a proxy slot.
        let warm = (proxy.is_none() && options.warm_connections > 0)
            .then(|| format!("{}/", endpoint.base()).parse().ok())
            .flatten()
            .map(|target| WarmConnections {
                count: options.warm_connections,
                target,
                logger: options.logger.clone(),
                threads: threads.clone(),
            });
        let pool = options.max_in_flight() + options.warm_connections + 4;
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
            // ureq's default is 128 KiB each, per connection: with a grown
            // pool of 32 connections, megabytes that a popup (a request and
            // an answer under 2 KiB) never needs, spread over the malloc
            // arenas of the worker threads. They grow when needed.
            .input_buffer_size(INPUT_BUFFER_BYTES)
            .output_buffer_size(OUTPUT_BUFFER_BYTES)
            .max_idle_connections(pool)
            .max_idle_connections_per_host(pool)
            .build();
        let (key_query, header_keys) = match options.auth {
            AuthMode::Query => {
                let mut query = Zeroizing::new(String::with_capacity(128));
                query.push_str("accessKey=");
                query.push_str(&Zeroizing::new(url_encode(credentials.access_key())));
                query.push_str("&secretKey=");
                query.push_str(&Zeroizing::new(url_encode(credentials.secret_key())));
                (Some(query), None)
            }
            AuthMode::Header => (
                None,
                Some((
                    wiped_header(credentials.access_key())?,
                    wiped_header(credentials.secret_key())?,
                )),
            ),
        };
        let target = Target {
            host_port: endpoint.host_port().to_string(),
            connect_timeout: options.connect_timeout,
        };
        let (agent, warmer) = super::agent(config, warm, &target);
        Ok(Transport {
            agent,
            warmer,
            base: endpoint.base().to_string(),
            key_query,
            header_keys,
            host: Arc::from(target.host_port.as_str()),
            target,
        })
    }

    /// The full URL of `request`; with query auth it carries the keys, so it
    /// is wiped when dropped.
    pub(crate) fn url(&self, request: &Request<'_>) -> Zeroizing<String> {
        let mut url = Zeroizing::new(String::with_capacity(256));
        url.push_str(&self.base);
        url.push_str(request.path);
        let mut separator = '?';
        if let Some(keys) = &self.key_query {
            url.push(separator);
            url.push_str(keys);
            separator = '&';
        }
        for (name, value) in request.query {
            url.push(separator);
            url.push_str(name);
            url.push('=');
            url.push_str(&url_encode(value));
            separator = '&';
        }
        url
    }

    /// Sends one request and reads the answer.
    pub(crate) fn send(&self, request: &Request<'_>) -> Result<HttpAnswer, Error> {
        let url = wiped_uri(self.url(request))?;
        let fail = |e: ureq::Error| map_error(e, &self.target);
        let sent = match (request.method, request.body) {
            (Method::Post, body) => {
                let mut builder = self
                    .agent
                    .post(url)
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                if let Some((access, secret)) = &self.header_keys {
                    builder = builder
                        .header("x-LSQ-AccessKey", access.clone())
                        .header("x-LSQ-SecretKey", secret.clone());
                }
                builder.send(body.unwrap_or_default())
            }
            (Method::Get, _) => {
                let mut builder = self.agent.get(url);
                if let Some((access, secret)) = &self.header_keys {
                    builder = builder
                        .header("x-LSQ-AccessKey", access.clone())
                        .header("x-LSQ-SecretKey", secret.clone());
                }
                builder.call()
            }
        };
        let mut response = sent.map_err(fail)?;
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
            .limit(request.max_body)
            .reader()
            .read_to_end(&mut body)
            .map(|_| body)
            .map_err(|e| fail(e.into()));
        Ok(HttpAnswer {
            status,
            body,
            retry_after,
            host: Arc::clone(&self.host),
        })
    }

    /// Stops keeping connections warm and joins the warmer thread (fast: it
    /// waits on nothing it cannot be woken from). Idempotent.
    pub fn stop_warming(&self) {
        if let Some(warmer) = &self.warmer {
            warmer.stop();
        }
    }

    /// Interrupts every request in flight and closes the pool: they fail at
    /// once instead of waiting for their timeouts. Used at shutdown.
    pub fn interrupt(&self) {
        self.agent.clone().shutdown();
    }
}

/// Bytes that are wiped when the last reference to them is dropped: the
/// header values and URIs ureq is given share them instead of copying.
fn wiped_bytes(bytes: Vec<u8>) -> bytes::Bytes {
    bytes::Bytes::from_owner(Zeroizing::new(bytes))
}

/// A key as a header value in wiped bytes.
fn wiped_header(key: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_maybe_shared(wiped_bytes(key.as_bytes().to_vec()))
        .map_err(|_| Error::invalid("the keys must be printable ASCII"))
}

/// The request URI (with `auth=query` it carries the keys) in wiped bytes.
fn wiped_uri(mut url: Zeroizing<String>) -> Result<Uri, Error> {
    // Moved, not copied: the buffer goes on to be wiped by the Bytes' owner.
    let bytes = wiped_bytes(std::mem::take(&mut *url).into_bytes());
    Uri::from_maybe_shared(bytes).map_err(|_| {
        Error::new(
            ErrorKind::Internal,
            "internal error: the request URL does not parse",
        )
    })
}
