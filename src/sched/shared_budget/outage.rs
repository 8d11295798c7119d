//! When Redis is not there: fall back at once, say so once, try again later.
//!
//! The first failure of an outage is logged (a warning naming the Redis host
//! and why) and counted; from then on every call falls back to the local
//! limiter without touching Redis, until [`RETRY_PAUSE`] has passed. Then
//! one call (only one: the pause restarts when it goes) tries Redis again;
//! if that works the outage is over ("Redis budget back", logged once), else
//! the pause starts over, silently. A caller that merely could not get the
//! connection in time ([`Kind::Busy`]) falls back without starting an outage.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::link::{Failure, Kind};
use super::Unavailable;
use crate::log::{Level, Logger};

/// How long an outage keeps Redis untried (the contract: "after a second").
pub(super) const RETRY_PAUSE: Duration = Duration::from_secs(1);

struct Down {
    since: Instant,
    retry_at: Instant,
    reason: Unavailable,
    /// `fallbacks` when it began, to say how many went local.
    fallbacks_before: u64,
}

/// The outage state and the counters it keeps.
#[derive(Default)]
pub(super) struct Outage {
    down: Mutex<Option<Down>>,
    pub outages: AtomicU64,
    pub errors: AtomicU64,
    pub fallbacks: AtomicU64,
}

impl Outage {
    /// Whether this call may use Redis now; during an outage's pause it
    /// may not, and gets the outage's reason.
    pub(super) fn gate(&self, now: Instant) -> Result<(), Unavailable> {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *down {
            None => Ok(()),
            Some(d) if now < d.retry_at => Err(d.reason.clone()),
            Some(d) => {
                // This call probes; the others keep falling back meanwhile.
                d.retry_at = now + RETRY_PAUSE;
                Ok(())
            }
        }
    }

    /// Redis answered.
    pub(super) fn succeeded(&self, host: &str, logger: &Logger) {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = down.take() {
            drop(down);
            let local = self.fallbacks.load(Ordering::Relaxed) - d.fallbacks_before;
            logger.log(Level::Info, || {
                format!(
                    "rate_limit_redis: Redis budget back at {host} after {:.1} s \
                     ({local} request(s) used the local limiter meanwhile)",
                    d.since.elapsed().as_secs_f64()
                )
            });
        }
    }

    /// Redis failed this call: start (or continue) an outage, unless the
    /// caller only could not get the connection in time.
    pub(super) fn failed(&self, failure: Failure, logger: &Logger) -> Unavailable {
        if failure.kind == Kind::Busy {
            return failure.message;
        }
        self.errors.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *down {
            Some(d) => {
                d.reason = failure.message.clone();
                d.retry_at = d.retry_at.max(now + RETRY_PAUSE);
            }
            None => {
                *down = Some(Down {
                    since: now,
                    retry_at: now + RETRY_PAUSE,
                    reason: failure.message.clone(),
                    fallbacks_before: self.fallbacks.load(Ordering::Relaxed),
                });
                drop(down);
                self.outages.fetch_add(1, Ordering::Relaxed);
                logger.log(Level::Warn, || {
                    format!(
                        "rate_limit_redis: {}; using the local limiter, trying Redis again every {} s",
                        failure.message,
                        RETRY_PAUSE.as_secs()
                    )
                });
            }
        }
        failure.message
    }

    pub(super) fn is_down(&self) -> bool {
        self.down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex as StdMutex};

    type Lines = Arc<StdMutex<Vec<(Level, String)>>>;

    fn capture() -> (Logger, Lines) {
        let lines = Arc::new(StdMutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let logger = Logger::new(Arc::new(move |level, line: &str| {
            sink.lock().unwrap().push((level, line.to_string()))
        }));
        (logger, lines)
    }

    #[test]
    fn one_line_per_outage_and_one_probe_per_pause() {
        let (logger, lines) = capture();
        let o = Outage::default();
        let t0 = Instant::now();
        assert!(o.gate(t0).is_ok());
        let refused = || Failure::new(Kind::Connect, "Redis at h:1 refused the connection".into());
        o.failed(refused(), &logger);
        o.failed(refused(), &logger);
        assert_eq!(o.outages.load(Ordering::Relaxed), 1);
        assert_eq!(o.errors.load(Ordering::Relaxed), 2);
        let e = o.gate(Instant::now()).unwrap_err();
        assert!(e.message().contains("refused"));
        // After the pause one call probes, the next does not.
        let later = Instant::now() + RETRY_PAUSE + Duration::from_millis(1);
        assert!(o.gate(later).is_ok());
        assert!(o.gate(later).is_err());
        o.succeeded("h:1", &logger);
        assert!(!o.is_down());
        o.succeeded("h:1", &logger);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].0, Level::Warn);
        assert!(lines[1].1.contains("Redis budget back at h:1"), "{lines:?}");
    }

    #[test]
    fn busy_is_not_an_outage() {
        let (logger, lines) = capture();
        let o = Outage::default();
        o.failed(Failure::new(Kind::Busy, "busy".into()), &logger);
        assert!(!o.is_down());
        assert_eq!(o.outages.load(Ordering::Relaxed), 0);
        assert!(lines.lock().unwrap().is_empty());
    }
}
