//! Counters. The ones that must add up (submitted = succeeded + failed +
//! queued + in flight) change together under the client's state lock, so a
//! snapshot is always consistent; the others are plain atomics.

pub(crate) mod latency;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ErrorKind;

/// A snapshot of a client's counters, as `lsq_client_stats` gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Popups accepted by a show call (valid, and for async, queued).
    pub submitted: u64,
    /// Ended in success.
    pub succeeded: u64,
    /// Ended in any other status after being accepted.
    pub failed: u64,
    /// Of `failed`: expired.
    pub expired: u64,
    /// Of `failed`: cancelled.
    pub cancelled: u64,
    /// Refused because the queue was full.
    pub dropped: u64,
    /// HTTP requests beyond the first, over all popups (lookups, creates and
    /// call logs are not counted here: the metrics count every endpoint).
    pub retries: u64,
    /// Rate-limit answers received from the server.
    pub rate_limited: u64,
    /// Refused as duplicates.
    pub duplicates: u64,
    /// Waiting now.
    pub queued: u32,
    /// Being sent now.
    pub in_flight: u32,
}

/// The lock-protected part.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub submitted: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub expired: u64,
    pub cancelled: u64,
    pub dropped: u64,
    pub duplicates: u64,
    pub in_flight: u32,
    /// Popups ended, by final status (index: the status number; 0 success).
    pub by_status: [u64; STATUSES],
}

/// Status numbers 0 (success) to 18.
pub(crate) const STATUSES: usize = ErrorKind::ALL.len() + 1;

/// The index of an outcome in a by-status array.
pub(crate) fn status_index(outcome: Option<ErrorKind>) -> usize {
    outcome.map_or(0, |k| k.code() as usize)
}

impl Counters {
    /// Records the end of an accepted popup.
    pub fn finished(&mut self, outcome: Option<ErrorKind>) {
        self.in_flight -= 1;
        self.by_status[status_index(outcome)] += 1;
        match outcome {
            None => self.succeeded += 1,
            Some(kind) => {
                self.failed += 1;
                match kind {
                    ErrorKind::Expired => self.expired += 1,
                    ErrorKind::Cancelled => self.cancelled += 1,
                    _ => {}
                }
            }
        }
    }
}

/// The lock-free part.
#[derive(Debug, Default)]
pub(crate) struct WireCounters {
    /// Requests beyond the first of a request, every endpoint (`lsq_retries_total`).
    pub retries: AtomicU64,
    /// Of those, the popups' (`lsq_stats.retries`).
    pub popup_retries: AtomicU64,
    /// Request time by endpoint (`lsq_request_duration_seconds`).
    pub latency: latency::Latency,
    pub rate_limited: AtomicU64,
    /// Requests by API path and HTTP status (0: no answer).
    pub requests: std::sync::Mutex<std::collections::BTreeMap<(&'static str, u16), u64>>,
}

impl WireCounters {
    /// Counts one HTTP request's outcome and how long it took: the one
    /// place every request of every endpoint is accounted for.
    pub fn add_request(&self, path: &'static str, http_status: u16, took: std::time::Duration) {
        self.latency.observe(path, took);
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry((path, http_status)).or_insert(0) += 1;
    }

    /// A request beyond the first; `popup` when it is a popup's (the only
    /// ones `lsq_stats.retries` counts).
    pub fn add_retry(&self, popup: bool) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        if popup {
            self.popup_retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn add_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds a snapshot.
pub(crate) fn snapshot(c: &Counters, queued: usize, wire: &WireCounters) -> Stats {
    Stats {
        submitted: c.submitted,
        succeeded: c.succeeded,
        failed: c.failed,
        expired: c.expired,
        cancelled: c.cancelled,
        dropped: c.dropped,
        retries: wire.popup_retries.load(Ordering::Relaxed),
        rate_limited: wire.rate_limited.load(Ordering::Relaxed),
        duplicates: c.duplicates,
        queued: u32::try_from(queued).unwrap_or(u32::MAX),
        in_flight: c.in_flight,
    }
}

/// Lookup counters, for the metrics: lock-free, each counted where it happens.
#[derive(Debug, Default)]
pub(crate) struct LookupCounters {
    /// Lookups ended, by status (index: the status number; 0 found).
    pub by_status: [AtomicU64; STATUSES],
    pub cache_hits: AtomicU64,
    pub shared: AtomicU64,
    pub requests: AtomicU64,
    pub created: AtomicU64,
}

impl LookupCounters {
    pub fn finished(&self, outcome: Option<ErrorKind>) {
        self.by_status[status_index(outcome)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn shared_flight(&self) {
        self.shared.fetch_add(1, Ordering::Relaxed);
    }

    pub fn requests(&self, n: u16) {
        self.requests.fetch_add(u64::from(n), Ordering::Relaxed);
    }

    pub fn lead_created(&self) {
        self.created.fetch_add(1, Ordering::Relaxed);
    }
}
