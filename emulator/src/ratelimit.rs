//! The server-side rate limit: N authenticated arrivals per sliding window of W.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::check::Rejection;
use crate::config::limit_message;

/// The ExceptionType of every rate-limit answer, whatever its status.
pub(crate) const LIMIT_EXCEPTION: &str = "MXAPIRateLimitExceededException";

/// A rate-limit answer: `status` 429 or 403 with `Retry-After` when given, or 200 (the
/// LeadSquared variant that reports the limit in a 200 body; inferred: without Retry-After).
pub(crate) fn limit_rejection(
    status: u16,
    limit: (u32, Duration),
    retry_after: Option<String>,
) -> Rejection {
    let mut r = Rejection::new(status, LIMIT_EXCEPTION, limit_message(limit.0, limit.1));
    if status != 200 {
        r.retry_after = retry_after;
    }
    r
}

/// Whether `status` is a way to answer a rate limit: 429, 403 or 200.
pub(crate) fn is_limit_status(status: u16) -> bool {
    matches!(status, 429 | 403 | 200)
}

/// A sliding window over arrival times.
///
/// Every authenticated arrival is counted, the rejected ones included (a client that keeps
/// hammering stays limited). An arrival at `t` is over the limit when more than N arrivals
/// (itself included) fall in `(t - W, t]`. Only the latest N + 1 arrival times matter for that,
/// so memory stays bounded by N + 1 whatever the request rate.
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    limit: u32,
    window: Duration,
    arrivals: VecDeque<Instant>,
}

impl SlidingWindow {
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        SlidingWindow {
            limit,
            window,
            arrivals: VecDeque::with_capacity((limit as usize + 1).min(4096)),
        }
    }

    /// The configured N and W.
    pub(crate) fn limit(&self) -> (u32, Duration) {
        (self.limit, self.window)
    }

    /// Counts an arrival at `now`; true when it is over the limit.
    pub(crate) fn arrive(&mut self, now: Instant) -> bool {
        let keep = self.limit as usize + 1;
        self.arrivals.push_back(now);
        while self.arrivals.len() > keep {
            self.arrivals.pop_front();
        }
        if self.arrivals.len() < keep {
            return false;
        }
        // The (N+1)-th latest arrival, itself included, is still inside the window.
        let oldest = self.arrivals[0];
        now.saturating_duration_since(oldest) < self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_in_w_then_limited_then_free_again() {
        let t0 = Instant::now();
        let w = Duration::from_secs(5);
        let mut sw = SlidingWindow::new(3, w);
        assert!(!sw.arrive(t0));
        assert!(!sw.arrive(t0 + Duration::from_secs(1)));
        assert!(!sw.arrive(t0 + Duration::from_secs(2)));
        assert!(sw.arrive(t0 + Duration::from_secs(3)));
        // Rejected arrivals count: at 5.5 s, (0.5, 5.5] holds 1, 2, 3 and 5.5.
        assert!(sw.arrive(t0 + Duration::from_millis(5500)));
        // At 8.6 s, (3.6, 8.6] holds 5.5 and 8.6 only.
        assert!(!sw.arrive(t0 + Duration::from_millis(8600)));
    }

    #[test]
    fn exactly_w_apart_is_outside() {
        let t0 = Instant::now();
        let mut sw = SlidingWindow::new(1, Duration::from_secs(1));
        assert!(!sw.arrive(t0));
        assert!(!sw.arrive(t0 + Duration::from_secs(1)));
        assert!(sw.arrive(t0 + Duration::from_millis(1500)));
    }

    #[test]
    fn zero_limits_everything() {
        let mut sw = SlidingWindow::new(0, Duration::from_secs(1));
        assert!(sw.arrive(Instant::now()));
    }
}
