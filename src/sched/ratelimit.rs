//! The client-side rate limiter, shared by the blocking and async paths.
//!
//! LeadSquared counts the requests of a whole account in a window of W
//! seconds and refuses the (N+1)th. The server counts *arrivals*, which we
//! cannot see: a request arrives after it leaves, and before its answer
//! comes back. So the limiter remembers, for this client's last N requests,
//! the latest instant known for each: its answer's arrival once it has one,
//! else its departure. A new request goes no earlier than W (plus a small
//! margin for clock jitter) after the earliest of those N. Any W-long window
//! of the server then holds at most N of our requests, whether its windows
//! slide or are fixed, and however slow the network or the first connection.
//!
//! Slots are *reserved*: a caller learns its instant at once and sleeps
//! outside the lock, so many threads can wait without holding anything, and
//! a caller whose slot falls past its deadline knows at once it would be late.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::Error;

/// At most `requests` per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    requests: u32,
    window: Duration,
}

impl RateLimit {
    /// LeadSquared's highest plan: 25 calls per 5 seconds.
    pub const LEADSQUARED_DEFAULT: RateLimit = RateLimit {
        requests: 25,
        window: Duration::from_secs(5),
    };

    /// A limit of `requests` (1..=10000) per `window` (1 s to 1 hour).
    pub fn new(requests: u32, window: Duration) -> Option<RateLimit> {
        let ok = (1..=10_000).contains(&requests)
            && window >= Duration::from_secs(1)
            && window <= Duration::from_secs(3600);
        ok.then_some(RateLimit { requests, window })
    }

    /// Parses the option form: `N/W` (W in seconds) or `0` for no limit.
    pub fn parse(value: &str) -> Result<Option<RateLimit>, Error> {
        if value == "0" {
            return Ok(None);
        }
        let parsed = value.split_once('/').and_then(|(n, w)| {
            let digits =
                |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(n) || !digits(w) {
                return None;
            }
            RateLimit::new(n.parse().ok()?, Duration::from_secs(w.parse().ok()?))
        });
        match parsed {
            Some(limit) => Ok(Some(limit)),
            None => Err(Error::invalid(format!(
                "rate_limit: {value:?} is not N/W (N requests per W seconds, N 1-10000, W 1-3600) or 0"
            ))),
        }
    }

    /// Reads "exceeded the limit of N in W second(s)" from a server message.
    pub fn from_server_message(message: &str) -> Option<RateLimit> {
        let rest = &message[message.find("limit of ")? + "limit of ".len()..];
        let (n, rest) = leading_number(rest)?;
        let rest = rest.trim_start().strip_prefix("in")?.trim_start();
        let (w, rest) = leading_number(rest)?;
        if !rest.trim_start().starts_with("second") {
            return None;
        }
        RateLimit::new(u32::try_from(n).ok()?, Duration::from_secs(w))
    }

    /// Requests per window.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Whether `self` allows fewer requests per second than `other`.
    pub fn is_stricter_than(&self, other: &RateLimit) -> bool {
        // n1/w1 < n2/w2  <=>  n1*w2 < n2*w1, in exact integer arithmetic.
        (self.requests as u128) * other.window.as_millis()
            < (other.requests as u128) * self.window.as_millis()
    }

    /// The margin added to every window: network and clock jitter between
    /// our departures and the server's arrivals.
    pub fn margin(&self) -> Duration {
        self.window / 20 + Duration::from_millis(10)
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}s", self.requests, self.window.as_secs())
    }
}

fn leading_number(s: &str) -> Option<(u64, &str)> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 || end > 9 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// The limiter's state. Not thread-safe by itself: the client keeps it
/// behind a mutex and holds the lock only to reserve or record.
#[derive(Debug)]
pub struct Limiter {
    limit: Option<RateLimit>,
    /// This client's last requests, oldest first, at most `limit.requests`:
    /// their ticket and the latest instant known for them.
    recent: VecDeque<(u64, Instant)>,
    next_ticket: u64,
    /// Nothing is sent before this (the server told us to wait).
    paused_until: Option<Instant>,
}

/// A reserved slot: send at `at`, then report the answer with [`Limiter::answered`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// When the request may leave.
    pub at: Instant,
    ticket: u64,
}

/// Why no slot was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLate {
    /// The first instant at which a request could go.
    pub earliest: Instant,
}

impl Limiter {
    /// A limiter enforcing `limit` (`None`: only the server's pauses).
    pub fn new(limit: Option<RateLimit>) -> Limiter {
        let capacity = limit.map_or(0, |l| l.requests as usize);
        Limiter {
            limit,
            recent: VecDeque::with_capacity(capacity),
            next_ticket: 0,
            paused_until: None,
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> Option<RateLimit> {
        self.limit
    }

    /// The first instant at or after `now` at which a request may leave.
    pub fn earliest(&self, now: Instant) -> Instant {
        let mut at = now;
        if let Some(paused) = self.paused_until {
            at = at.max(paused);
        }
        if let Some(limit) = self.limit {
            if self.recent.len() >= limit.requests as usize {
                // `recent` holds exactly the last N requests: the earliest of them bounds the window.
                let earliest = self.recent.iter().map(|&(_, t)| t).min().unwrap_or(now);
                at = at.max(earliest + limit.window + limit.margin());
            }
        }
        at
    }

    /// Reserves the first slot at or after `now`, if it is not after `deadline`.
    pub fn reserve(&mut self, now: Instant, deadline: Instant) -> Result<Slot, TooLate> {
        let at = self.earliest(now);
        if at > deadline {
            return Err(TooLate { earliest: at });
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        if let Some(limit) = self.limit {
            self.recent.push_back((ticket, at));
            while self.recent.len() > limit.requests as usize {
                self.recent.pop_front();
            }
        }
        Ok(Slot { at, ticket })
    }

    /// Records a request leaving at `at` whatever the window says: its slot
    /// was granted by the budget shared with other PBXs (which holds the
    /// account's window), and this limiter keeps count for when that budget
    /// is out of reach.
    pub fn record(&mut self, at: Instant) -> Slot {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        if let Some(limit) = self.limit {
            self.recent.push_back((ticket, at));
            while self.recent.len() > limit.requests as usize {
                self.recent.pop_front();
            }
        }
        Slot { at, ticket }
    }

    /// Records that the request of `slot` got its answer (or failed) at
    /// `at`: it reached the server no later than that.
    pub fn answered(&mut self, slot: Slot, at: Instant) {
        if let Some(entry) = self
            .recent
            .iter_mut()
            .rev()
            .find(|(t, _)| *t == slot.ticket)
        {
            entry.1 = entry.1.max(at);
        }
    }

    /// The server refused with a rate limit: send nothing before `until`.
    pub fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Adopts the server's limit when it is stricter than ours (or we had
    /// none). Returns whether it was adopted.
    pub fn learn(&mut self, server: RateLimit) -> bool {
        let adopt = match self.limit {
            None => true,
            Some(ours) => server.is_stricter_than(&ours),
        };
        if adopt {
            self.limit = Some(server);
            while self.recent.len() > server.requests as usize {
                self.recent.pop_front();
            }
        }
        adopt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(n: u32, w: u64) -> RateLimit {
        RateLimit::new(n, Duration::from_secs(w)).unwrap()
    }

    #[test]
    fn parses_option_and_server_forms() {
        assert_eq!(RateLimit::parse("25/5").unwrap(), Some(limit(25, 5)));
        assert_eq!(RateLimit::parse("0").unwrap(), None);
        for bad in [
            "",
            "5",
            "/5",
            "5/",
            "0/5",
            "5/0",
            "-1/5",
            "5/5/5",
            "1e3/5",
            "99999999/1",
            "5/4000",
        ] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RateLimit::from_server_message("API calls exceeded the limit of 3 in 1 second(s)"),
            Some(limit(3, 1))
        );
        assert_eq!(
            RateLimit::from_server_message("exceeded the limit of 25 in 5 seconds"),
            Some(limit(25, 5))
        );
        assert_eq!(RateLimit::from_server_message("Forbidden"), None);
        assert_eq!(
            RateLimit::from_server_message("exceeded the limit of 0 in 5 second(s)"),
            None
        );
        assert_eq!(
            RateLimit::from_server_message("the limit of 3 in 1 minute"),
            None
        );
    }

    #[test]
    fn stricter_compares_rates_exactly() {
        assert!(limit(3, 1).is_stricter_than(&limit(25, 5)));
        assert!(!limit(5, 1).is_stricter_than(&limit(25, 5)));
        assert!(limit(2, 5).is_stricter_than(&limit(25, 5)));
    }

    #[test]
    fn any_window_holds_at_most_n_reservations() {
        let l = limit(5, 1);
        let mut limiter = Limiter::new(Some(l));
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(3600);
        let slots: Vec<Instant> = (0..15)
            .map(|_| limiter.reserve(t0, far).unwrap().at)
            .collect();
        for (i, s) in slots.iter().enumerate().skip(5) {
            assert!(*s >= slots[i - 5] + l.window() + l.margin());
        }
        assert_eq!(slots[4], t0);
        assert!(slots[14] - t0 >= Duration::from_secs(2));
    }

    #[test]
    fn a_slot_past_the_deadline_is_refused_and_not_reserved() {
        let mut limiter = Limiter::new(Some(limit(1, 5)));
        let t0 = Instant::now();
        limiter.reserve(t0, t0).unwrap();
        let late = limiter
            .reserve(t0, t0 + Duration::from_secs(1))
            .unwrap_err();
        assert!(late.earliest >= t0 + Duration::from_secs(5));
        assert_eq!(limiter.recent.len(), 1);
    }

    #[test]
    fn pauses_and_learning() {
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(3600);
        let mut limiter = Limiter::new(None);
        limiter.pause_until(t0 + Duration::from_secs(2));
        assert_eq!(
            limiter.reserve(t0, far).unwrap().at,
            t0 + Duration::from_secs(2)
        );
        let mut limiter = Limiter::new(Some(limit(25, 5)));
        for _ in 0..10 {
            limiter.reserve(t0, far).unwrap();
        }
        assert!(limiter.learn(limit(3, 1)));
        assert!(!limiter.learn(limit(25, 5)));
        assert_eq!(limiter.limit(), Some(limit(3, 1)));
        let next = limiter.reserve(t0, far).unwrap().at;
        assert!(next >= t0 + Duration::from_secs(1));
    }

    #[test]
    fn a_slow_answer_pushes_the_window_back() {
        let l = limit(1, 1);
        let mut limiter = Limiter::new(Some(l));
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(3600);
        let first = limiter.reserve(t0, far).unwrap();
        assert_eq!(first.at, t0);
        // Its answer came 700 ms later: it may have reached the server just then.
        limiter.answered(first, t0 + Duration::from_millis(700));
        let second = limiter.reserve(t0, far).unwrap().at;
        assert_eq!(
            second,
            t0 + Duration::from_millis(700) + l.window() + l.margin()
        );
    }
}
