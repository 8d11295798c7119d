//! Client options: what they are and their defaults (here), how they are
//! set from strings as the C API and config files give them ([`parse`]),
//! and the one check of every value ([`validate`]), which a client runs
//! when it is made, whatever built the options.

use std::path::PathBuf;
use std::time::Duration;

use crate::log::Logger;
use crate::phone::NumberPlan;
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

/// What a lookup does when no lead has the caller's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownCaller {
    /// Nothing: the lookup ends in `NoMatch` (no popup for a ringing agent).
    Skip,
    /// Create a lead with the number (`Lead.Create`), and use it.
    Create,
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
    /// Requests in flight at most (worker threads, pooled connections); 0:
    /// derived from `rate_limit` (its N, at most 64). Never below `workers`.
    pub max_in_flight: usize,
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
    /// How a number given by the PBX becomes the digits looked up:
    /// `default_country_code`, `trunk_prefix`, `international_prefix`.
    pub number_plan: NumberPlan,
    /// How long a found lead is reused; zero is off.
    pub lead_cache_ttl: Duration,
    /// How long "no such lead" is reused; zero is off.
    pub lead_miss_ttl: Duration,
    /// Numbers kept in the lead cache at most (least recently used dropped).
    pub lead_cache_capacity: usize,
    /// How long an agent e-mail's UserId is reused; zero is off.
    pub user_cache_ttl: Duration,
    /// What to do when no lead has the number.
    pub unknown_caller: UnknownCaller,
    /// Source of a lead created for an unknown caller.
    pub lead_source: String,
    /// The SQLite file call logs go through (durable, at least once);
    /// `None`: in memory only.
    pub outbox: Option<PathBuf>,
    /// A call log not delivered within this becomes dead.
    pub log_max_age: Duration,
    /// The longest wait between two tries of a call log.
    pub log_retry_max: Duration,
    /// Connections kept open and ready (TCP and TLS, no request) by a
    /// background thread, re-opened when the server closes an idle one; at
    /// most `workers`; 0 turns warming off. Skipped with a proxy.
    pub warm_connections: usize,
    /// The host asked which regional host the keys belong to when the
    /// client is created with `host = "auto"` (any LeadSquared host answers
    /// that question). Unused otherwise.
    pub discovery_host: String,
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
            max_in_flight: 0,
            shutdown_timeout: Duration::from_millis(2000),
            auth: AuthMode::Query,
            ca_file: None,
            proxy: ProxySetting::FromEnvironment,
            allow_http: false,
            user_agent: format!("liblsq/{VERSION}"),
            dedup_window: Duration::ZERO,
            number_plan: NumberPlan::default(),
            lead_cache_ttl: Duration::from_millis(600_000),
            lead_miss_ttl: Duration::from_millis(60_000),
            lead_cache_capacity: 10_000,
            user_cache_ttl: Duration::from_millis(3_600_000),
            unknown_caller: UnknownCaller::Skip,
            lead_source: "Phone Call".to_string(),
            outbox: None,
            log_max_age: Duration::from_millis(604_800_000),
            log_retry_max: Duration::from_millis(300_000),
            warm_connections: 1,
            discovery_host: DEFAULT_DISCOVERY_HOST.to_string(),
            logger: Logger::default(),
            #[cfg(feature = "test-hooks")]
            test_panic: None,
        }
    }
}

impl Options {
    /// How many requests may be in flight at once (worker threads at most,
    /// and the connection pool's size): enough for the whole budget to be
    /// in flight while LeadSquared answers slowly (`rate_limit`'s N, at
    /// most 64), never fewer than `workers`. With no rate limit, 32.
    pub(crate) fn max_in_flight(&self) -> usize {
        let pool = match self.max_in_flight {
            0 => self
                .rate_limit
                .map_or(32, |l| l.requests() as usize)
                .min(64),
            set => set,
        };
        pool.max(self.workers)
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
    "max_in_flight",
    "shutdown_timeout_ms",
    "auth",
    "ca_file",
    "proxy",
    "allow_http",
    "user_agent",
    "dedup_window_ms",
    "default_country_code",
    "trunk_prefix",
    "international_prefix",
    "lead_cache_ttl_ms",
    "lead_miss_ttl_ms",
    "lead_cache_capacity",
    "user_cache_ttl_ms",
    "unknown_caller",
    "lead_source",
    "outbox",
    "log_max_age_ms",
    "log_retry_max_ms",
    "warm_connections",
    "discovery_host",
];

/// Where `host = "auto"` asks by default: LeadSquared's first (Singapore)
/// host, which answers for accounts of every region.
pub const DEFAULT_DISCOVERY_HOST: &str = "api.leadsquared.com";
