//! Name resolution for direct connections: the target is resolved once and
//! that answer handed to ureq for pooled connections (which do not use it);
//! a new connection resolves afresh, within ureq's own timeouts.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant as StdInstant;

use ureq::config::Config;
use ureq::http::uri::{Authority, Scheme};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::time::{Duration, Instant};
use ureq::unversioned::transport::{ConnectionDetails, NextTimeout};
use ureq::{Error, Timeout};

use super::errors::dns_failure;

/// connection and never use it.
#[derive(Debug, Default)]
pub(super) struct Dns {
    last: Mutex<Option<Resolved>>,
}

#[derive(Debug)]
struct Resolved {
    scheme: Scheme,
    authority: Authority,
    addrs: ResolvedSocketAddrs,
    /// Resolved for the request now being made: a new connection may use it.
    fresh: bool,
}

impl Dns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Resolved>> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer for a new connection to `uri`: the one resolved for this
    /// very request if there is one, else a fresh resolution.
    pub(super) fn for_new_connection(
        &self,
        details: &ConnectionDetails<'_>,
    ) -> Result<ResolvedSocketAddrs, Error> {
        {
            let mut last = self.lock();
            if let Some(r) = last.as_mut() {
                if r.fresh && matches(r, details.uri) {
                    r.fresh = false;
                    return Ok(r.addrs.clone());
                }
            }
        }
        let timeout = phase_timeout(details.config, details.now, Timeout::Resolve, details.now);
        let addrs = resolve(details.uri, details.config, timeout)?;
        self.remember(details.uri, &addrs, false);
        Ok(addrs)
    }

    fn remember(&self, uri: &Uri, addrs: &ResolvedSocketAddrs, fresh: bool) {
        if let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) {
            *self.lock() = Some(Resolved {
                scheme: scheme.clone(),
                authority: authority.clone(),
                addrs: addrs.clone(),
                fresh,
            });
        }
    }
}

fn matches(r: &Resolved, uri: &Uri) -> bool {
    uri.scheme() == Some(&r.scheme) && uri.authority() == Some(&r.authority)
}

/// The agent's resolver: the remembered answer when it is for this target.
#[derive(Debug)]
pub(super) struct SharedDns(pub(super) Arc<Dns>);

impl Resolver for SharedDns {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        if config.proxy().is_some() {
            return DefaultResolver::default()
                .resolve(uri, config, timeout)
                .map_err(dns_failure);
        }
        if let Some(r) = self.0.lock().as_ref() {
            if matches(r, uri) {
                return Ok(r.addrs.clone());
            }
        }
        let addrs = resolve(uri, config, timeout)?;
        self.0.remember(uri, &addrs, true);
        Ok(addrs)
    }
}

/// ureq's resolution, without its lookup thread for an IP address: an
/// address literal is parsed, never looked up, so it cannot time out.
fn resolve(uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, Error> {
    let literal = uri.host().is_some_and(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
    });
    let timeout = if literal {
        NextTimeout {
            after: Duration::NotHappening,
            ..timeout
        }
    } else {
        timeout
    };
    DefaultResolver::default()
        .resolve(uri, config, timeout)
        .map_err(dns_failure)
}

/// The timeout ureq gives `phase` (Resolve or Connect) when the call
/// started at `call_start` and the previous phase ended at `phase_start`:
/// the earliest of the phase's own budget, the global one and the per-call one.
pub(super) fn phase_timeout(
    config: &Config,
    call_start: Instant,
    phase: Timeout,
    phase_start: Instant,
) -> NextTimeout {
    let t = config.timeouts();
    let own = match phase {
        Timeout::Resolve => t.resolve,
        _ => t.connect,
    };
    let candidates = [
        (phase, own, phase_start),
        (Timeout::Global, t.global, call_start),
        (Timeout::PerCall, t.per_call, call_start),
    ];
    let (reason, at) = candidates
        .into_iter()
        .filter_map(|(reason, limit, from)| Some((reason, from + Duration::from(limit?))))
        .min_by(|a, b| a.1.cmp(&b.1))
        .unwrap_or((Timeout::Global, Instant::NotHappening));
    NextTimeout {
        after: until(at),
        reason,
        per_read: config.timeout_per_read().map(Into::into),
        per_write: config.timeout_per_write().map(Into::into),
    }
}

/// The time left until `at`.
fn until(at: Instant) -> Duration {
    match at {
        Instant::Exact(at) => Duration::Exact(at.saturating_duration_since(StdInstant::now())),
        Instant::NotHappening => Duration::NotHappening,
        Instant::AlreadyHappened => Duration::Exact(std::time::Duration::ZERO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use ureq::Agent;

    fn within(ms: u64) -> NextTimeout {
        NextTimeout {
            after: Duration::from_millis(ms),
            reason: Timeout::Global,
            ..NextTimeout::default()
        }
    }

    #[test]
    fn the_target_is_resolved_once_per_new_connection() {
        let dns = Arc::new(Dns::default());
        let shared = SharedDns(Arc::clone(&dns));
        let config = Config::default();
        let uri: Uri = "http://127.0.0.1:8080/x".parse().unwrap();
        let addrs = shared.resolve(&uri, &config, within(1000)).unwrap();
        assert_eq!(addrs[0], "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        // The request that just resolved may connect with that answer...
        assert!(dns.lock().as_ref().unwrap().fresh);
        // ...and a later request reuses it without resolving (pooled connection).
        let again = shared.resolve(&uri, &config, within(1000)).unwrap();
        assert_eq!((again.len(), again[0]), (addrs.len(), addrs[0]));
        let other: Uri = "http://127.0.0.1:9090/x".parse().unwrap();
        let addrs = shared.resolve(&other, &config, within(1000)).unwrap();
        assert_eq!(
            addrs[0].port(),
            9090,
            "another target is resolved, not reused"
        );
    }

    #[test]
    fn an_address_literal_is_parsed_without_a_lookup_thread() {
        // An already spent budget: the threaded lookup would time out at once.
        let spent = within(0);
        for (uri, port) in [("http://127.0.0.1:81/", 81), ("https://[::1]:82/", 82)] {
            let uri: Uri = uri.parse().unwrap();
            let addrs = resolve(&uri, &Config::default(), spent).unwrap();
            assert_eq!(addrs[0].port(), port);
        }
    }

    #[test]
    fn phase_timeouts_follow_ureqs_budgets() {
        let config = Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(5)))
            .timeout_connect(Some(std::time::Duration::from_secs(2)))
            .build();
        let now = Instant::now();
        let dns = phase_timeout(&config, now, Timeout::Resolve, now);
        assert_eq!(dns.reason, Timeout::Global);
        assert!(*dns.after <= std::time::Duration::from_secs(5));
        assert!(*dns.after > std::time::Duration::from_secs(4));
        let connect = phase_timeout(&config, now, Timeout::Connect, now);
        assert_eq!(connect.reason, Timeout::Connect);
        assert!(*connect.after <= std::time::Duration::from_secs(2));
        let none = phase_timeout(&Config::default(), now, Timeout::Connect, now);
        assert!(none.after.is_not_happening());
    }
}
