//! Client options: what they are and their defaults (here), how they are
//! set from strings as the C API and config files give them ([`parse`]),
//! and the one check of every value ([`validate`]), which a client runs
//! when it is made, whatever built the options.

use std::path::PathBuf;
use std::time::Duration;

use crate::log::Logger;
use crate::sched::ratelimit::RateLimit;
use crate::sched::shared_budget::RedisUrl;

mod parse;
mod validate;

/// The library's version, as `lsq_version()` returns it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the keys travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// `?accessKey=..&secretKey=..` (LeadSquared's documented form).
    Query,
    /// `x-LSQ-AccessKey` / `x-LSQ-SecretKey` headers (keeps them out of proxy and server URL logs).
    Header,
}

/// Which proxy to use. `Debug` hides credentials in the proxy URL.
#[derive(Clone, PartialEq, Eq)]
pub enum ProxySetting {
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` (and `NO_PROXY`) from the environment.
    FromEnvironment,
    /// No proxy, whatever the environment says.
    None,
    /// This proxy URL (`http://host:port`, `socks5://host:port`, ...).
    Url(String),
}

impl std::fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxySetting::FromEnvironment => f.write_str("FromEnvironment"),
            ProxySetting::None => f.write_str("None"),
            // http://user:password@proxy:3128 -> http://***@proxy:3128
            ProxySetting::Url(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    write!(f, "Url({}://***{})", &url[..scheme_end], &url[at..])
                }
                _ => write!(f, "Url({url})"),
            },
        }
    }
}

/// Everything configurable about a client. `Options::default()` gives the
/// contract's defaults.
#[derive(Clone, Debug)]
pub struct Options {
    /// One HTTP attempt, connect to last byte.
    pub timeout: Duration,
    /// TCP + TLS connect.
    pub connect_timeout: Duration,
    /// A popup not sent within this time of its call is dropped (expired).
    pub max_age: Duration,
    /// Extra attempts after a connect failure or a 502/503/504.
    pub max_retries: u32,
    /// At most N requests per W seconds from this client; `None` turns it off.
    pub rate_limit: Option<RateLimit>,
    /// Share the `rate_limit` budget with every client using this Redis and key; `None`: this client's own.
    pub rate_limit_redis: Option<RedisUrl>,
    /// The budget's name in Redis; `None`: derived from a one-way hash of the access key.
    pub rate_limit_key: Option<String>,
    /// A Redis answer slower than this makes that request use the local limiter.
    pub rate_limit_redis_timeout: Duration,
    /// Threads that send async popups.
    pub workers: usize,
    /// Async popups waiting at most.
    pub queue_capacity: usize,
    /// How long shutdown lets queued popups finish.
    pub shutdown_timeout: Duration,
    /// Where the keys travel.
    pub auth: AuthMode,
    /// PEM file of trusted roots; `None` means the built-in (Mozilla) roots.
    pub ca_file: Option<PathBuf>,
    /// Which proxy.
    pub proxy: ProxySetting,
    /// Allow plain http to a non-loopback host.
    pub allow_http: bool,
    /// The User-Agent header.
    pub user_agent: String,
    /// Refuse a popup with the CallSessionId and UserId of one accepted within this window; zero is off.
    pub dedup_window: Duration,
    /// Where log lines go.
    pub logger: Logger,
    /// Test-only: panic inside the library at the named place.
    #[cfg(feature = "test-hooks")]
    pub test_panic: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_millis(5000),
            connect_timeout: Duration::from_millis(2000),
            max_age: Duration::from_millis(10_000),
            max_retries: 2,
            rate_limit: Some(RateLimit::LEADSQUARED_DEFAULT),
            rate_limit_redis: None,
            rate_limit_key: None,
            rate_limit_redis_timeout: Duration::from_millis(50),
            workers: 2,
            queue_capacity: 1024,
            shutdown_timeout: Duration::from_millis(2000),
            auth: AuthMode::Query,
            ca_file: None,
            proxy: ProxySetting::FromEnvironment,
            allow_http: false,
            user_agent: format!("liblsq/{VERSION}"),
            dedup_window: Duration::ZERO,
            logger: Logger::default(),
            #[cfg(feature = "test-hooks")]
            test_panic: None,
        }
    }
}

impl Options {
    /// How many requests may be in flight at once: the size of the
    /// connection pool.
    pub(crate) fn max_in_flight(&self) -> usize {
        self.workers
    }
}

/// The keys `Options::set` understands.
pub const KEYS: &[&str] = &[
    "timeout_ms",
    "connect_timeout_ms",
    "max_age_ms",
    "max_retries",
    "rate_limit",
    "rate_limit_redis",
    "rate_limit_key",
    "rate_limit_redis_timeout_ms",
    "workers",
    "queue_capacity",
    "shutdown_timeout_ms",
    "auth",
    "ca_file",
    "proxy",
    "allow_http",
    "user_agent",
    "dedup_window_ms",
];
