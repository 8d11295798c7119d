//! The one check of every option value. [`Options::set`] parses a string
//! and checks it here; [`Options::validate`] checks options however they
//! were built (the Rust API lets a program fill the struct itself), and a
//! client runs it when it is made. Each rule is written once, below.

use std::path::Path;
use std::time::Duration;

use super::{Options, ProxySetting};
use crate::error::Error;

/// A whole-number option's name and its range.
pub(super) struct Bound {
    key: &'static str,
    min: u64,
    max: u64,
}

pub(super) const TIMEOUT_MS: Bound = Bound::new("timeout_ms", 1, 600_000);
pub(super) const CONNECT_TIMEOUT_MS: Bound = Bound::new("connect_timeout_ms", 1, 600_000);
pub(super) const MAX_AGE_MS: Bound = Bound::new("max_age_ms", 1, 86_400_000);
pub(super) const MAX_RETRIES: Bound = Bound::new("max_retries", 0, 10);
pub(super) const WORKERS: Bound = Bound::new("workers", 1, 64);
pub(super) const QUEUE_CAPACITY: Bound = Bound::new("queue_capacity", 1, 1_000_000);
pub(super) const MAX_IN_FLIGHT: Bound = Bound::new("max_in_flight", 0, 256);
pub(super) const SHUTDOWN_TIMEOUT_MS: Bound = Bound::new("shutdown_timeout_ms", 0, 600_000);
pub(super) const DEDUP_WINDOW_MS: Bound = Bound::new("dedup_window_ms", 0, 86_400_000);
pub(super) const LEAD_CACHE_TTL_MS: Bound = Bound::new("lead_cache_ttl_ms", 0, 604_800_000);
pub(super) const LEAD_MISS_TTL_MS: Bound = Bound::new("lead_miss_ttl_ms", 0, 604_800_000);
pub(super) const LEAD_CACHE_CAPACITY: Bound = Bound::new("lead_cache_capacity", 1, 10_000_000);
pub(super) const LOG_MAX_AGE_MS: Bound = Bound::new("log_max_age_ms", 1000, 31_536_000_000);
pub(super) const LOG_RETRY_MAX_MS: Bound = Bound::new("log_retry_max_ms", 1000, 86_400_000);
pub(super) const USER_CACHE_TTL_MS: Bound = Bound::new("user_cache_ttl_ms", 0, 604_800_000);
/// At most `workers` too, checked in [`Options::validate`] (the keys may be set in any order).
pub(super) const WARM_CONNECTIONS: Bound = Bound::new("warm_connections", 0, 64);
pub(super) const RATE_LIMIT_REDIS_TIMEOUT_MS: Bound =
    Bound::new("rate_limit_redis_timeout_ms", 1, 60_000);

impl Bound {
    const fn new(key: &'static str, min: u64, max: u64) -> Bound {
        Bound { key, min, max }
    }

    fn refuse(&self, shown: &dyn std::fmt::Debug) -> Error {
        Error::invalid(format!(
            "{}: {shown:?} is not a whole number from {} to {}",
            self.key, self.min, self.max
        ))
    }

    /// Checks a value already in the options.
    pub(super) fn check(&self, value: u64) -> Result<u64, Error> {
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(self.refuse(&value))
        }
    }

    /// Parses and checks a string: digits only (no sign, no spaces).
    pub(super) fn parse(&self, value: &str) -> Result<u64, Error> {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.refuse(&value));
        }
        let n = value.parse::<u64>().map_err(|_| self.refuse(&value))?;
        self.check(n).map_err(|_| self.refuse(&value))
    }

    pub(super) fn parse_millis(&self, value: &str) -> Result<Duration, Error> {
        self.parse(value).map(Duration::from_millis)
    }

    fn check_millis(&self, value: Duration) -> Result<(), Error> {
        let ms = u64::try_from(value.as_millis()).unwrap_or(u64::MAX);
        if !value.subsec_nanos().is_multiple_of(1_000_000) {
            return Err(Error::invalid(format!(
                "{}: {value:?} is not a whole number of milliseconds",
                self.key
            )));
        }
        self.check(ms).map(|_| ())
    }
}

/// `user_agent`: 1 to 256 bytes, no control characters.
pub(super) fn check_user_agent(value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > 256 || value.bytes().any(|b| b.is_ascii_control()) {
        return Err(Error::invalid(
            "user_agent: must be 1 to 256 bytes with no control characters (CR/LF would inject headers)",
        ));
    }
    Ok(())
}

/// `lead_source`: what LeadSquared records as the created lead's Source:
/// 1 to 100 bytes, no control characters.
pub(super) fn check_lead_source(value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > 100 || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            "lead_source: must be 1 to 100 bytes with no control characters",
        ));
    }
    Ok(())
}

/// `discovery_host`: a host as the client's `host` is given (never `auto`);
/// plain http only where `allow_http` or loopback allows it.
pub(super) fn check_discovery_host(value: &str, allow_http: bool) -> Result<(), Error> {
    if value.trim().eq_ignore_ascii_case("auto") {
        return Err(Error::invalid(
            "discovery_host: must be a host (e.g. api.leadsquared.com), not \"auto\"",
        ));
    }
    crate::endpoint::Endpoint::parse(value, allow_http)
        .map(|_| ())
        .map_err(|e| {
            let why = e.message().trim_start_matches("host: ");
            Error::invalid(format!("discovery_host: {why}"))
        })
}

/// `outbox`: a path (opened when the client is made).
pub(super) fn check_outbox(path: &Path) -> Result<(), Error> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid(
            "outbox: must be the path of an SQLite file for call logs",
        ));
    }
    // SQLite's name for a database in memory: the outbox must survive the
    // process (and a lock file named ":memory:.lock" appeared in the cwd).
    if path.as_os_str() == ":memory:" || path.to_string_lossy().starts_with("file:") {
        return Err(Error::invalid(
            "outbox: must be a file path; leave outbox unset to keep call logs in memory only",
        ));
    }
    Ok(())
}

/// `ca_file`: a path (the file itself is read when the client is made).
pub(super) fn check_ca_file(path: &Path) -> Result<(), Error> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid("ca_file: must be a path to a PEM file"));
    }
    Ok(())
}

impl Options {
    /// Checks every value against the same rules [`Options::set`] applies;
    /// the error names the first option that breaks one. A client runs this
    /// when it is made, so options built in Rust (`Options { workers: 0,
    /// .. }`) are refused just as `lsq_options_set` refuses them.
    pub fn validate(&self) -> Result<(), Error> {
        TIMEOUT_MS.check_millis(self.timeout)?;
        CONNECT_TIMEOUT_MS.check_millis(self.connect_timeout)?;
        MAX_AGE_MS.check_millis(self.max_age)?;
        MAX_RETRIES.check(u64::from(self.max_retries))?;
        WORKERS.check(self.workers as u64)?;
        QUEUE_CAPACITY.check(self.queue_capacity as u64)?;
        MAX_IN_FLIGHT.check(self.max_in_flight as u64)?;
        SHUTDOWN_TIMEOUT_MS.check_millis(self.shutdown_timeout)?;
        DEDUP_WINDOW_MS.check_millis(self.dedup_window)?;
        WARM_CONNECTIONS.check(self.warm_connections as u64)?;
        if self.warm_connections > self.workers {
            return Err(Error::invalid(format!(
                "warm_connections: {} is more than workers ({}): the workers could not use them",
                self.warm_connections, self.workers
            )));
        }
        RATE_LIMIT_REDIS_TIMEOUT_MS.check_millis(self.rate_limit_redis_timeout)?;
        if let Some(key) = &self.rate_limit_key {
            crate::sched::shared_budget::KeyName::parse(key)?;
        }
        check_user_agent(&self.user_agent)?;
        self.number_plan.validate()?;
        LEAD_CACHE_TTL_MS.check_millis(self.lead_cache_ttl)?;
        LEAD_MISS_TTL_MS.check_millis(self.lead_miss_ttl)?;
        LEAD_CACHE_CAPACITY.check(self.lead_cache_capacity as u64)?;
        USER_CACHE_TTL_MS.check_millis(self.user_cache_ttl)?;
        check_lead_source(&self.lead_source)?;
        if let Some(path) = &self.outbox {
            check_outbox(path)?;
        }
        LOG_MAX_AGE_MS.check_millis(self.log_max_age)?;
        LOG_RETRY_MAX_MS.check_millis(self.log_retry_max)?;
        if let Some(path) = &self.ca_file {
            check_ca_file(path)?;
        }
        if let ProxySetting::Url(url) = &self.proxy {
            super::parse::parse_proxy(url)?;
        }
        check_discovery_host(&self.discovery_host, self.allow_http)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Options::default().validate().unwrap();
    }

    /// Options built in Rust go through the same rules as strings do.
    #[test]
    fn options_built_in_rust_are_checked() {
        let cases: Vec<(Options, &str)> = vec![
            (
                Options {
                    workers: 0,
                    ..Options::default()
                },
                "workers",
            ),
            (
                Options {
                    workers: 65,
                    ..Options::default()
                },
                "workers",
            ),
            (
                Options {
                    queue_capacity: 0,
                    ..Options::default()
                },
                "queue_capacity",
            ),
            (
                Options {
                    timeout: Duration::ZERO,
                    ..Options::default()
                },
                "timeout_ms",
            ),
            (
                Options {
                    connect_timeout: Duration::from_secs(601),
                    ..Options::default()
                },
                "connect_timeout_ms",
            ),
            (
                Options {
                    max_age: Duration::from_micros(1500),
                    ..Options::default()
                },
                "max_age_ms",
            ),
            (
                Options {
                    max_retries: 11,
                    ..Options::default()
                },
                "max_retries",
            ),
            (
                Options {
                    user_agent: "a\r\nX: y".into(),
                    ..Options::default()
                },
                "user_agent",
            ),
            (
                Options {
                    proxy: ProxySetting::Url("not a url".into()),
                    ..Options::default()
                },
                "proxy",
            ),
            (
                Options {
                    ca_file: Some("".into()),
                    ..Options::default()
                },
                "ca_file",
            ),
            (
                Options {
                    number_plan: crate::phone::NumberPlan {
                        international_prefix: "0".into(),
                        ..Default::default()
                    },
                    ..Options::default()
                },
                "international_prefix",
            ),
            (
                Options {
                    warm_connections: 3,
                    ..Options::default()
                },
                "warm_connections",
            ),
            (
                Options {
                    rate_limit_redis_timeout: Duration::ZERO,
                    ..Options::default()
                },
                "rate_limit_redis_timeout_ms",
            ),
            (
                Options {
                    rate_limit_key: Some("a b".into()),
                    ..Options::default()
                },
                "rate_limit_key",
            ),
        ];
        for (options, key) in cases {
            let e = options.validate().unwrap_err();
            assert!(e.message().starts_with(key), "{key}: {}", e.message());
        }
    }
}
