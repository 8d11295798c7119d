//! Duplicate suppression: a ring-all queue, or an agent with two phones,
//! fires the same popup twice. A popup whose CallSessionId and UserId match
//! one accepted within the window is refused.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Recently accepted (CallSessionId, UserId) pairs.
#[derive(Debug)]
pub(crate) struct Dedup {
    window: Duration,
    seen: HashMap<(Box<str>, Box<str>), Instant>,
    next_sweep: usize,
}

impl Dedup {
    pub fn new(window: Duration) -> Dedup {
        Dedup {
            window,
            seen: HashMap::new(),
            next_sweep: 1024,
        }
    }

    pub fn enabled(&self) -> bool {
        !self.window.is_zero()
    }

    /// Whether this pair was accepted within the window before `now`.
    pub fn is_duplicate(&self, now: Instant, call_session_id: &str, user_id: &str) -> bool {
        if !self.enabled() {
            return false;
        }
        // A borrowed lookup would need a custom key type; a popup is small and
        // this runs only with dedup on.
        let key = (Box::from(call_session_id), Box::from(user_id));
        self.seen
            .get(&key)
            .is_some_and(|&at| now.saturating_duration_since(at) < self.window)
    }

    /// Remembers an accepted popup. Old entries are swept when the map has
    /// doubled, so memory stays bounded by the popups of one window.
    pub fn accept(&mut self, now: Instant, call_session_id: &str, user_id: &str) {
        if !self.enabled() {
            return;
        }
        self.seen
            .insert((call_session_id.into(), user_id.into()), now);
        if self.seen.len() >= self.next_sweep {
            let window = self.window;
            self.seen
                .retain(|_, at| now.saturating_duration_since(*at) < window);
            self.next_sweep = (self.seen.len() * 2).max(1024);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(5));
        assert!(!d.is_duplicate(t0, "c1", "u1"));
        d.accept(t0, "c1", "u1");
        assert!(d.is_duplicate(t0 + Duration::from_secs(4), "c1", "u1"));
        assert!(!d.is_duplicate(t0, "c1", "u2"));
        assert!(!d.is_duplicate(t0 + Duration::from_secs(5), "c1", "u1"));
        let off = Dedup::new(Duration::ZERO);
        assert!(!off.is_duplicate(t0, "c1", "u1"));
    }

    /// Memory stays bounded by the popups of one window: once the map has
    /// doubled, every entry older than the window is gone.
    #[test]
    fn old_entries_are_swept_when_the_map_doubles() {
        let window = Duration::from_secs(5);
        let mut d = Dedup::new(window);
        let t1 = Instant::now();
        for i in 0..5000 {
            d.accept(t1, &format!("old{i}"), "u");
        }
        // All 5000 are within the window: nothing could be swept.
        assert_eq!(d.seen.len(), 5000);
        let t2 = t1 + window;
        for i in 0..4000 {
            d.accept(t2, &format!("new{i}"), "u");
        }
        // The sweep at 8192 entries dropped all 5000 old ones.
        assert_eq!(d.seen.len(), 4000);
        assert!(d.seen.keys().all(|(call, _)| call.starts_with("new")));
    }
}
