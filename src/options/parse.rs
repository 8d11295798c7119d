//! Setting an option from its string form (`key`, `value`), as the C API
//! and config files give them. Ranges come from [`super::validate`].

use std::path::PathBuf;

use super::validate::*;
use super::{AuthMode, Options, ProxySetting, UnknownCaller, KEYS};
use crate::error::Error;
use crate::sched::ratelimit::RateLimit;
use crate::sched::shared_budget::{KeyName, RedisUrl};

impl Options {
    /// Sets one option from its string form. An unknown key or a bad value
    /// is an `InvalidArgument` error that names the key and what it accepts;
    /// the options are then unchanged.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        match key {
            "timeout_ms" => self.timeout = TIMEOUT_MS.parse_millis(value)?,
            "connect_timeout_ms" => {
                self.connect_timeout = CONNECT_TIMEOUT_MS.parse_millis(value)?
            }
            "max_age_ms" => self.max_age = MAX_AGE_MS.parse_millis(value)?,
            "max_retries" => self.max_retries = MAX_RETRIES.parse(value)? as u32,
            "rate_limit" => self.rate_limit = RateLimit::parse(value)?,
            "rate_limit_redis" => {
                self.rate_limit_redis = match value {
                    "none" => None,
                    _ => Some(RedisUrl::parse(value)?),
                }
            }
            "rate_limit_key" => {
                KeyName::parse(value)?;
                self.rate_limit_key = Some(value.to_string());
            }
            "rate_limit_redis_timeout_ms" => {
                self.rate_limit_redis_timeout = RATE_LIMIT_REDIS_TIMEOUT_MS.parse_millis(value)?
            }
            "workers" => self.workers = WORKERS.parse(value)? as usize,
            "queue_capacity" => self.queue_capacity = QUEUE_CAPACITY.parse(value)? as usize,
            "max_in_flight" => self.max_in_flight = MAX_IN_FLIGHT.parse(value)? as usize,
            "shutdown_timeout_ms" => {
                self.shutdown_timeout = SHUTDOWN_TIMEOUT_MS.parse_millis(value)?
            }
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
                let path = PathBuf::from(value);
                check_ca_file(&path)?;
                self.ca_file = Some(path);
            }
            "proxy" => self.proxy = parse_proxy(value)?,
            "allow_http" => self.allow_http = boolean(key, value)?,
            "user_agent" => {
                check_user_agent(value)?;
                self.user_agent = value.to_string();
            }
            "dedup_window_ms" => self.dedup_window = DEDUP_WINDOW_MS.parse_millis(value)?,
            "default_country_code" | "trunk_prefix" | "international_prefix" => {
                let mut plan = self.number_plan.clone();
                match key {
                    "default_country_code" => plan.default_country_code = value.to_string(),
                    "trunk_prefix" => plan.trunk_prefix = value.to_string(),
                    _ => plan.international_prefix = value.to_string(),
                }
                // Each key on its own here; the rule between the two prefixes
                // is checked when a client is made (keys come in any order).
                plan.check_fields()?;
                self.number_plan = plan;
            }
            "lead_cache_ttl_ms" => self.lead_cache_ttl = LEAD_CACHE_TTL_MS.parse_millis(value)?,
            "lead_miss_ttl_ms" => self.lead_miss_ttl = LEAD_MISS_TTL_MS.parse_millis(value)?,
            "lead_cache_capacity" => {
                self.lead_cache_capacity = LEAD_CACHE_CAPACITY.parse(value)? as usize
            }
            "user_cache_ttl_ms" => self.user_cache_ttl = USER_CACHE_TTL_MS.parse_millis(value)?,
            "unknown_caller" => {
                self.unknown_caller = match value {
                    "skip" => UnknownCaller::Skip,
                    "create" => UnknownCaller::Create,
                    _ => {
                        return Err(Error::invalid(format!(
                            "unknown_caller: {value:?} is not \"skip\" or \"create\""
                        )))
                    }
                }
            }
            "outbox" => {
                let path = PathBuf::from(value);
                check_outbox(&path)?;
                self.outbox = Some(path);
            }
            "log_max_age_ms" => self.log_max_age = LOG_MAX_AGE_MS.parse_millis(value)?,
            "log_retry_max_ms" => self.log_retry_max = LOG_RETRY_MAX_MS.parse_millis(value)?,
            "lead_source" => {
                check_lead_source(value)?;
                self.lead_source = value.to_string();
            }
            "warm_connections" => self.warm_connections = WARM_CONNECTIONS.parse(value)? as usize,
            "discovery_host" => {
                check_discovery_host(value, true)?;
                self.discovery_host = value.to_string();
            }
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

fn boolean(key: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::invalid(format!(
            "{key}: {value:?} is not true or false"
        ))),
    }
}

pub(super) fn parse_proxy(value: &str) -> Result<ProxySetting, Error> {
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
    use super::super::*;
    use std::time::Duration;

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
        assert_eq!(o.warm_connections, 1);
        assert_eq!((&o.rate_limit_redis, &o.rate_limit_key), (&None, &None));
        assert_eq!(o.rate_limit_redis_timeout, Duration::from_millis(50));
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
            ("default_country_code", "91"),
            ("trunk_prefix", ""),
            ("international_prefix", "011"),
            ("lead_cache_ttl_ms", "0"),
            ("lead_miss_ttl_ms", "1000"),
            ("lead_cache_capacity", "5"),
            ("user_cache_ttl_ms", "60000"),
            ("unknown_caller", "create"),
            ("lead_source", "Inbound Call"),
            ("outbox", "/var/spool/asterisk/lsq-outbox.db"),
            ("log_max_age_ms", "86400000"),
            ("log_retry_max_ms", "60000"),
            ("warm_connections", "0"),
            ("rate_limit_redis", "redis://pbx:pw@127.0.0.1:6379/0"),
            ("rate_limit_key", "acme-prod"),
            ("rate_limit_redis_timeout_ms", "20"),
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
        assert_eq!(o.rate_limit_key.as_deref(), Some("acme-prod"));
        assert_eq!(o.rate_limit_redis_timeout, Duration::from_millis(20));
        assert!(o.rate_limit_redis.is_some());
        o.set("rate_limit_redis", "none").unwrap();
        assert!(o.rate_limit_redis.is_none());
    }

    #[test]
    fn debug_hides_proxy_credentials() {
        let mut o = Options::default();
        o.set("proxy", "http://pbx:s3cret@proxy.example:3128")
            .unwrap();
        o.set(
            "rate_limit_redis",
            "rediss://pbx:s3cret@redis.example:6380/1",
        )
        .unwrap();
        let debug = format!("{o:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("http://***@proxy.example:3128"),
            "{debug}"
        );
        assert!(
            debug.contains("rediss://pbx:***@redis.example:6380/1"),
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
            ("default_country_code", "091", "default_country_code"),
            ("default_country_code", "+91", "default_country_code"),
            ("trunk_prefix", "x", "trunk_prefix"),
            ("lead_cache_capacity", "0", "lead_cache_capacity"),
            ("lead_cache_ttl_ms", "-1", "lead_cache_ttl_ms"),
            ("unknown_caller", "ignore", "unknown_caller"),
            ("lead_source", "", "lead_source"),
            ("lead_source", "a\nb", "lead_source"),
            ("outbox", "", "outbox"),
            ("outbox", ":memory:", "outbox"),
            ("outbox", "file:x.db?mode=memory", "outbox"),
            ("discovery_host", "auto", "discovery_host"),
            ("discovery_host", "ftp://h", "discovery_host"),
            ("log_max_age_ms", "0", "log_max_age_ms"),
            ("log_retry_max_ms", "0", "log_retry_max_ms"),
            ("warm_connections", "65", "warm_connections"),
            ("warm_connections", "-1", "warm_connections"),
            (
                "rate_limit_redis",
                "redis://:s3cret@h:99999/0",
                "rate_limit_redis",
            ),
            ("rate_limit_redis", "http://h:1", "rate_limit_redis"),
            ("rate_limit_key", "a{b}", "rate_limit_key"),
            ("rate_limit_key", "", "rate_limit_key"),
            (
                "rate_limit_redis_timeout_ms",
                "0",
                "rate_limit_redis_timeout_ms",
            ),
            (
                "rate_limit_redis_timeout_ms",
                "60001",
                "rate_limit_redis_timeout_ms",
            ),
        ] {
            let before = format!("{o:?}");
            let e = o.set(k, v).unwrap_err();
            assert!(e.message().contains(needle), "{k}={v:?}: {}", e.message());
            assert!(!e.message().contains("s3cret"), "{k}: {}", e.message());
            assert_eq!(before, format!("{o:?}"), "{k} changed options on error");
        }
    }
}
