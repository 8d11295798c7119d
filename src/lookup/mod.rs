//! Finding what LeadSquared needs from what a PBX knows: the lead for a
//! caller's number ([`leads`]) and the UserId for an agent's e-mail
//! ([`users`]), each cached ([`cache`]) and shared between concurrent
//! callers ([`single_flight`]). The [`Directory`] holds that state for a
//! client.

pub mod cache;
pub(crate) mod single_flight;

use crate::error::{Error, ErrorKind};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::api::lead_by_phone::Lead;
use cache::TtlCache;
use single_flight::SingleFlight;

/// A lead found or created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The lead.
    pub lead: Lead,
    /// liblsq created it (`unknown_caller=create`).
    pub created: bool,
}

/// What the lead cache keeps for a number.
#[derive(Clone, Debug)]
pub(crate) enum CachedLead {
    Found(Found),
    Missing,
}

/// TTLs and capacity, from the options.
#[derive(Clone, Debug)]
pub(crate) struct CachePolicy {
    pub lead_ttl: Duration,
    pub miss_ttl: Duration,
    pub capacity: usize,
    pub user_ttl: Duration,
}

/// A client's lookup state: the caches and the lookups in flight.
pub(crate) struct Directory {
    policy: CachePolicy,
    leads: Mutex<TtlCache<String, CachedLead>>,
    users: Mutex<TtlCache<String, String>>,
    pub lead_flights: SingleFlight<LeadLookup>,
    pub user_flights: SingleFlight<UserLookup>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// E-mails kept at most: agents of one call centre, with room to spare.
const USER_CACHE_CAPACITY: usize = 10_000;

impl Directory {
    pub fn new(policy: CachePolicy) -> Directory {
        Directory {
            leads: Mutex::new(TtlCache::new(policy.capacity)),
            users: Mutex::new(TtlCache::new(USER_CACHE_CAPACITY)),
            policy,
            lead_flights: SingleFlight::new(),
            user_flights: SingleFlight::new(),
        }
    }

    pub fn cached_lead(&self, digits: &str, now: Instant) -> Option<CachedLead> {
        lock(&self.leads).get(digits, now)
    }

    pub fn remember_lead(&self, digits: &str, entry: CachedLead, now: Instant) {
        let ttl = match entry {
            CachedLead::Found(_) => self.policy.lead_ttl,
            CachedLead::Missing => self.policy.miss_ttl,
        };
        lock(&self.leads).insert(digits.to_string(), entry, ttl, now);
    }

    pub fn cached_user(&self, email: &str, now: Instant) -> Option<String> {
        lock(&self.users).get(email, now)
    }

    pub fn remember_user(&self, email: &str, user_id: String, now: Instant) {
        lock(&self.users).insert(email.to_string(), user_id, self.policy.user_ttl, now);
    }
}

/// How a lookup ended, before the caller adds its elapsed time.
#[derive(Clone, Debug)]
pub(crate) struct LeadLookup {
    pub outcome: Result<Found, Error>,
    pub http_status: u16,
    pub attempts: u16,
    pub cached: bool,
}

impl LeadLookup {
    /// A cached answer: never `created`, which only the result of the
    /// request that created the lead reports (connector.md), so a dialplan
    /// counting new leads counts each caller once.
    pub(crate) fn from_cache(entry: CachedLead, digits: &str) -> LeadLookup {
        LeadLookup {
            outcome: match entry {
                CachedLead::Found(found) => Ok(Found {
                    created: false,
                    ..found
                }),
                CachedLead::Missing => Err(no_lead(digits)),
            },
            http_status: 0,
            attempts: 0,
            cached: true,
        }
    }
}

pub(crate) fn no_lead(digits: &str) -> Error {
    Error::new(
        ErrorKind::NoMatch,
        format!("no lead has the number {digits}"),
    )
}

/// A resolved agent, or why not, with the HTTP requests it took.
#[derive(Clone, Debug)]
pub(crate) struct UserLookup {
    pub outcome: Result<String, Error>,
    pub http_status: u16,
}
