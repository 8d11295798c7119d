//! Request latency by endpoint: a fixed-bucket histogram per API path,
//! recorded where every request's outcome is counted (`WireCounters::add_request`).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds: LeadSquared answers in 50 ms to
/// a few seconds; `timeout_ms` is 5 s by default and at most 600 s.
pub(crate) const BUCKETS: [f64; 12] = [
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0,
];

/// One endpoint's histogram: counts per bucket (not cumulative), and the sum.
#[derive(Clone, Debug, Default)]
pub(crate) struct Histogram {
    /// `counts[i]`: observations in (BUCKETS[i-1], BUCKETS[i]]; the last is over every bound.
    pub counts: [u64; BUCKETS.len() + 1],
    pub sum_seconds: f64,
}

impl Histogram {
    fn observe(&mut self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.counts[bucket] += 1;
        self.sum_seconds += seconds;
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Histograms by API path.
#[derive(Debug, Default)]
pub(crate) struct Latency {
    by_path: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Latency {
    pub fn observe(&self, path: &'static str, took: Duration) {
        self.by_path
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(path)
            .or_default()
            .observe(took);
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, Histogram> {
        self.by_path
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let latency = Latency::default();
        latency.observe("/p", Duration::from_millis(10));
        latency.observe("/p", Duration::from_millis(50));
        latency.observe("/p", Duration::from_millis(51));
        latency.observe("/p", Duration::from_secs(120));
        let h = &latency.snapshot()["/p"];
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[1], 1);
        assert_eq!(h.counts[2], 1);
        assert_eq!(h.counts[BUCKETS.len()], 1);
        assert_eq!(h.count(), 4);
        assert!((h.sum_seconds - 120.111).abs() < 1e-6);
    }
}
