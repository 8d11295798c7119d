//! Client options, settable from strings (`key`, `value`) as the C API and
//! config files give them. Every key and value is checked when set.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::log::Logger;
use crate::ratelimit::RateLimit;

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

/// The keys `Options::set` understands.
pub const KEYS: &[&str] = &[
    "timeout_ms",
    "connect_timeout_ms",
    "max_age_ms",
    "max_retries",
    "rate_limit",
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

impl Options {
    /// Sets one option from its string form. An unknown key or a bad value
    /// is an `InvalidArgument` error that names the key and what it accepts;
    /// the options are then unchanged.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        match key {
            "timeout_ms" => self.timeout = millis(key, value, 1, 600_000)?,
            "connect_timeout_ms" => self.connect_timeout = millis(key, value, 1, 600_000)?,
            "max_age_ms" => self.max_age = millis(key, value, 1, 86_400_000)?,
            "max_retries" => self.max_retries = number(key, value, 0, 10)? as u32,
            "rate_limit" => self.rate_limit = RateLimit::parse(value)?,
            "workers" => self.workers = number(key, value, 1, 64)? as usize,
            "queue_capacity" => self.queue_capacity = number(key, value, 1, 1_000_000)? as usize,
            "shutdown_timeout_ms" => self.shutdown_timeout = millis(key, value, 0, 600_000)?,
            "auth" => {
                self.auth = match value {
                    "query" => AuthMode::Query,
                    "header" => AuthMode::Header,
                    _ => {
                        return Err(Error::invalid(format!(
                            "auth: {value:?} is not \"query\" or \"header\""
                        )))
                    }
                }
            }
            "ca_file" => {
                if value.is_empty() {
                    return Err(Error::invalid("ca_file: must be a path to a PEM file"));
                }
                self.ca_file = Some(PathBuf::from(value));
            }
            "proxy" => self.proxy = parse_proxy(value)?,
            "allow_http" => self.allow_http = boolean(key, value)?,
            "user_agent" => {
                if value.is_empty()
                    || value.len() > 256
                    || value.bytes().any(|b| b.is_ascii_control())
                {
                    return Err(Error::invalid(
                        "user_agent: must be 1 to 256 bytes with no control characters (CR/LF would inject headers)",
                    ));
                }
                self.user_agent = value.to_string();
            }
            "dedup_window_ms" => self.dedup_window = millis(key, value, 0, 86_400_000)?,
            #[cfg(feature = "test-hooks")]
            "test_panic" => self.test_panic = Some(value.to_string()),
            _ => {
                return Err(Error::invalid(format!(
                    "unknown option {key:?}; known options: {}",
                    KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }
}

fn number(key: &str, value: &str, min: u64, max: u64) -> Result<u64, Error> {
    let bad = || {
        Error::invalid(format!(
            "{key}: {value:?} is not a whole number from {min} to {max}"
        ))
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

fn millis(key: &str, value: &str, min: u64, max: u64) -> Result<Duration, Error> {
    number(key, value, min, max).map(Duration::from_millis)
}

fn boolean(key: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::invalid(format!(
            "{key}: {value:?} is not true or false"
        ))),
    }
}

fn parse_proxy(value: &str) -> Result<ProxySetting, Error> {
    if value == "none" {
        return Ok(ProxySetting::None);
    }
    if value.is_empty()
        || value.len() > 2048
        || value.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::invalid(
            "proxy: must be a proxy URL such as http://proxy:3128, or \"none\" (no spaces or control characters)",
        ));
    }
    match ureq::Proxy::new(value) {
        Ok(_) => Ok(ProxySetting::Url(value.to_string())),
        // The value may carry proxy credentials: do not echo it.
        Err(_) => Err(Error::invalid(
            "proxy: not a valid proxy URL (http://, https://, socks4://, socks5:// host:port)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_contract() {
        let o = Options::default();
        assert_eq!(o.timeout, Duration::from_millis(5000));
        assert_eq!(o.connect_timeout, Duration::from_millis(2000));
        assert_eq!(o.max_age, Duration::from_millis(10000));
        assert_eq!(o.max_retries, 2);
        assert_eq!(
            o.rate_limit,
            Some(RateLimit::new(25, Duration::from_secs(5)).unwrap())
        );
        assert_eq!((o.workers, o.queue_capacity), (2, 1024));
        assert_eq!(o.shutdown_timeout, Duration::from_millis(2000));
        assert_eq!(o.auth, AuthMode::Query);
        assert_eq!(o.proxy, ProxySetting::FromEnvironment);
        assert!(!o.allow_http);
        assert_eq!(o.user_agent, "liblsq/0.1.0");
        assert_eq!(o.dedup_window, Duration::ZERO);
    }

    #[test]
    fn every_key_accepts_a_good_value() {
        let mut o = Options::default();
        for (k, v) in [
            ("timeout_ms", "100"),
            ("connect_timeout_ms", "50"),
            ("max_age_ms", "3000"),
            ("max_retries", "0"),
            ("rate_limit", "3/1"),
            ("workers", "4"),
            ("queue_capacity", "10"),
            ("shutdown_timeout_ms", "0"),
            ("auth", "header"),
            ("ca_file", "/etc/ssl/certs/ca-certificates.crt"),
            ("proxy", "http://127.0.0.1:3128"),
            ("allow_http", "true"),
            ("user_agent", "pbx/1"),
            ("dedup_window_ms", "5000"),
        ] {
            o.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
        assert_eq!(o.timeout, Duration::from_millis(100));
        assert_eq!(
            o.rate_limit,
            Some(RateLimit::new(3, Duration::from_secs(1)).unwrap())
        );
        assert_eq!(o.proxy, ProxySetting::Url("http://127.0.0.1:3128".into()));
        o.set("proxy", "none").unwrap();
        assert_eq!(o.proxy, ProxySetting::None);
        o.set("rate_limit", "0").unwrap();
        assert_eq!(o.rate_limit, None);
    }

    #[test]
    fn debug_hides_proxy_credentials() {
        let mut o = Options::default();
        o.set("proxy", "http://pbx:s3cret@proxy.example:3128")
            .unwrap();
        let debug = format!("{o:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("http://***@proxy.example:3128"),
            "{debug}"
        );
    }

    #[test]
    fn bad_keys_and_values_are_refused_with_the_key_named() {
        let mut o = Options::default();
        for (k, v, needle) in [
            ("nope", "1", "unknown option"),
            ("queue", "1", "unknown option"),
            ("timeout_ms", "", "timeout_ms"),
            ("timeout_ms", "-1", "timeout_ms"),
            ("timeout_ms", "0", "timeout_ms"),
            ("timeout_ms", "12x", "timeout_ms"),
            ("timeout_ms", "99999999999999999999999", "timeout_ms"),
            ("max_retries", "11", "max_retries"),
            ("workers", "0", "workers"),
            ("queue_capacity", "0", "queue_capacity"),
            ("rate_limit", "25", "rate_limit"),
            ("rate_limit", "0/5", "rate_limit"),
            ("rate_limit", "5/0", "rate_limit"),
            ("auth", "basic", "auth"),
            ("allow_http", "maybe", "allow_http"),
            ("user_agent", "a\r\nX-Injected: 1", "user_agent"),
            ("user_agent", "", "user_agent"),
            ("proxy", "http://p:1\r\nX: y", "proxy"),
            ("proxy", "", "proxy"),
            ("ca_file", "", "ca_file"),
        ] {
            let before = format!("{o:?}");
            let e = o.set(k, v).unwrap_err();
            assert!(e.message().contains(needle), "{k}={v:?}: {}", e.message());
            assert_eq!(before, format!("{o:?}"), "{k} changed options on error");
        }
    }
}
