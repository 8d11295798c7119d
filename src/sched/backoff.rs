//! Exponential backoff with equal jitter, for retries after a failure.

use std::time::Duration;

/// The first backoff; it doubles per retry up to [`BACKOFF_CAP`].
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// The wait before the retry that follows `failures` failures (1 or more):
/// half fixed, half random, so retries from many clients do not march in
/// step; 100 ms doubled per failure, at most 2 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1 << failures.min(16).saturating_sub(1))
        .min(BACKOFF_CAP);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The documented bounds, written out: 50-100 ms after the first
    /// failure, doubling, and 1-2 s from the sixth on.
    #[test]
    fn backoff_doubles_within_its_jitter_and_is_capped_at_two_seconds() {
        let bounds = [
            (1, ms(50), ms(100)),
            (2, ms(100), ms(200)),
            (3, ms(200), ms(400)),
            (4, ms(400), ms(800)),
            (5, ms(800), ms(1600)),
            (6, ms(1000), ms(2000)),
            (40, ms(1000), ms(2000)),
            (u32::MAX, ms(1000), ms(2000)),
        ];
        for (failures, low, high) in bounds {
            for _ in 0..200 {
                let d = backoff(failures);
                assert!(d >= low && d <= high, "{failures}: {d:?}");
            }
        }
    }

    #[test]
    fn backoff_is_jittered() {
        let waits: std::collections::HashSet<Duration> = (0..50).map(|_| backoff(3)).collect();
        assert!(waits.len() > 10, "50 waits, only {} distinct", waits.len());
    }
}
