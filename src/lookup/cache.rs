//! A bounded cache whose entries each expire after their own time to live.
//!
//! The lead cache keeps a found lead for `lead_cache_ttl_ms` and "no such
//! lead" for `lead_miss_ttl_ms` (so a caller who has just been made a lead
//! elsewhere is found again soon), at most `lead_cache_capacity` numbers,
//! dropping the least recently used. The user cache keeps an e-mail's UserId
//! for `user_cache_ttl_ms`. One type serves both: the time to live is given
//! with each insert, and `0` (for either TTL) stores nothing. Failures are
//! never handed to it: that is the caller's rule, not the cache's.
//!
//! The client keeps it behind its mutex, so it is not thread-safe itself.
//! Time is passed in (`now`) rather than read, so the rules are tested
//! without sleeping, and one clock reading serves one request.
//!
//! The LRU order is the `lru` crate's (a hash map threaded with a linked
//! list: O(1) get, insert and eviction), not hand-written: it is small,
//! well used and keeps its `unsafe` to itself.

use std::borrow::Borrow;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use lru::LruCache;

struct Entry<V> {
    value: V,
    /// `None`: the TTL is so long that `now + ttl` is past what an
    /// [`Instant`] holds, i.e. never in the life of the process.
    expires: Option<Instant>,
}

impl<V> Entry<V> {
    /// Live for `[inserted, inserted + ttl)`: at exactly the TTL it is gone.
    fn live(&self, now: Instant) -> bool {
        // (`map_or`, not `is_none_or`: the crate's MSRV is 1.80.)
        self.expires.is_none_or(|at| now < at)
    }
}

/// A least-recently-used cache of at most `capacity` entries, each kept for
/// the time to live it was inserted with.
pub struct TtlCache<K: Hash + Eq, V> {
    /// `None` when the capacity is 0: the cache stores nothing.
    entries: Option<LruCache<K, Entry<V>>>,
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// A cache of at most `capacity` entries; `0` stores nothing.
    ///
    /// Memory is taken as entries come, not reserved up front: the default
    /// capacity (10000 numbers) would otherwise cost every client, even
    /// one that never looks a lead up.
    pub fn new(capacity: usize) -> TtlCache<K, V> {
        let entries = NonZeroUsize::new(capacity).map(|cap| {
            let mut cache = LruCache::unbounded();
            cache.resize(cap);
            cache
        });
        TtlCache { entries }
    }

    /// The most entries kept.
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.entries.as_ref().map_or(0, |c| c.cap().get())
    }

    /// The value for `key` if it is there and live at `now`, which makes it
    /// the most recently used. An expired entry is a miss and is removed.
    pub fn get<Q>(&mut self, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let cache = self.entries.as_mut()?;
        if !cache.peek(key)?.live(now) {
            cache.pop(key);
            return None;
        }
        cache.get(key).map(|e| e.value.clone())
    }

    /// Keeps `value` for `key` for `ttl` from `now`, as the most recently
    /// used entry, dropping the least recently used one if the cache is
    /// full. It replaces what `key` had, so a zero `ttl` (that TTL is
    /// off), which stores nothing, also removes the old entry: a fresher
    /// answer was had, and the old one must not outlive it.
    pub fn insert(&mut self, key: K, value: V, ttl: Duration, now: Instant) {
        let Some(cache) = self.entries.as_mut() else {
            return;
        };
        if ttl.is_zero() {
            cache.pop(&key);
            return;
        }
        let expires = now.checked_add(ttl);
        cache.put(key, Entry { value, expires });
    }

    /// Removes `key`, giving its value if it was there and live at `now`.
    #[cfg(test)]
    pub fn remove<Q>(&mut self, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entry = self.entries.as_mut()?.pop(key)?;
        entry.live(now).then_some(entry.value)
    }

    /// Entries held, expired ones not yet removed included.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |c| c.len())
    }

    /// Whether nothing is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry.
    #[cfg(test)]
    pub fn clear(&mut self) {
        if let Some(cache) = self.entries.as_mut() {
            cache.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn hit_and_miss() {
        let now = t0();
        let mut c: TtlCache<String, u32> = TtlCache::new(4);
        assert!(c.is_empty());
        assert_eq!(c.get("918611795988", now), None);
        c.insert("918611795988".into(), 7, 10 * S, now);
        assert_eq!(c.get("918611795988", now), Some(7));
        assert_eq!(c.get("918611795988", now + 9 * S), Some(7));
        assert_eq!(c.get("14155550134", now), None);
        assert_eq!(c.len(), 1);
        assert_eq!(c.capacity(), 4);
    }

    #[test]
    fn expires_at_exactly_the_ttl() {
        let now = t0();
        let ttl = Duration::from_millis(600_000);
        let mut c = TtlCache::new(4);
        c.insert("k", "lead", ttl, now);
        let just_before = now + ttl - Duration::from_nanos(1);
        assert_eq!(c.get(&"k", just_before), Some("lead"));
        assert_eq!(c.get(&"k", now + ttl), None);
        // The expired entry was removed, not just hidden.
        assert_eq!(c.len(), 0);
        assert_eq!(c.get(&"k", now), None);
    }

    #[test]
    fn each_entry_has_its_own_ttl() {
        // A found lead for lead_cache_ttl_ms, "no such lead" for lead_miss_ttl_ms.
        let hit_ttl = Duration::from_millis(600_000);
        let miss_ttl = Duration::from_millis(60_000);
        let now = t0();
        let mut c: TtlCache<&str, Option<&str>> = TtlCache::new(10);
        c.insert("found", Some("lead-1"), hit_ttl, now);
        c.insert("none", None, miss_ttl, now);
        let later = now + miss_ttl;
        assert_eq!(c.get(&"none", later), None, "the miss expired");
        assert_eq!(
            c.get(&"found", later),
            Some(Some("lead-1")),
            "the hit lives on"
        );
        assert_eq!(c.get(&"found", now + hit_ttl), None);
        // Within its TTL, a miss is a cached "no such lead", not a cache miss.
        c.insert("none", None, miss_ttl, later);
        assert_eq!(c.get(&"none", later + S), Some(None));
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let now = t0();
        let mut c = TtlCache::new(3);
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            c.insert(k, v, 60 * S, now);
        }
        // A get makes "a" the most recently used, so "b" is the oldest.
        assert_eq!(c.get(&"a", now), Some(1));
        c.insert("d", 4, 60 * S, now);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&"b", now), None);
        assert_eq!(c.get(&"a", now), Some(1));
        assert_eq!(c.get(&"c", now), Some(3));
        assert_eq!(c.get(&"d", now), Some(4));
        // Replacing a key refreshes it too: "a" is now the oldest after c, d
        // were read, so re-inserting "a" makes "c" the next to go.
        c.insert("a", 10, 60 * S, now);
        c.insert("e", 5, 60 * S, now);
        assert_eq!(c.get(&"c", now), None);
        assert_eq!(c.get(&"a", now), Some(10));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn a_miss_on_an_expired_entry_does_not_evict_a_live_one() {
        let now = t0();
        let mut c = TtlCache::new(2);
        c.insert("short", 1, S, now);
        c.insert("long", 2, 60 * S, now);
        assert_eq!(c.get(&"short", now + S), None);
        // "short" was removed, so there is room: nothing live is dropped.
        c.insert("new", 3, 60 * S, now + S);
        assert_eq!(c.get(&"long", now + S), Some(2));
        assert_eq!(c.get(&"new", now + S), Some(3));
    }

    #[test]
    fn capacity_zero_stores_nothing() {
        let now = t0();
        let mut c = TtlCache::new(0);
        c.insert("k", 1, 60 * S, now);
        assert_eq!(c.get(&"k", now), None);
        assert_eq!(c.len(), 0);
        assert_eq!(c.capacity(), 0);
        assert_eq!(c.remove(&"k", now), None);
        c.clear();
    }

    #[test]
    fn ttl_zero_stores_nothing_and_drops_the_old_answer() {
        let now = t0();
        let mut c = TtlCache::new(4);
        c.insert("k", 1, Duration::ZERO, now);
        assert_eq!(c.get(&"k", now), None);
        assert!(c.is_empty());
        // lead_miss_ttl_ms = 0: a fresh "no such lead" must not leave an
        // older "found" answer for the same number behind.
        c.insert("k", 1, 60 * S, now);
        c.insert("k", 2, Duration::ZERO, now + S);
        assert_eq!(c.get(&"k", now + S), None);
        assert!(c.is_empty());
    }

    #[test]
    fn a_ttl_too_long_for_the_clock_never_expires() {
        let now = t0();
        let mut c = TtlCache::new(1);
        c.insert("k", 1, Duration::MAX, now);
        assert_eq!(c.get(&"k", now + 3600 * 24 * 365 * S), Some(1));
    }

    #[test]
    fn remove_and_clear() {
        let now = t0();
        let mut c = TtlCache::new(4);
        c.insert("a", 1, S, now);
        c.insert("b", 2, 60 * S, now);
        assert_eq!(c.remove(&"a", now + S), None, "expired: removed, no value");
        assert_eq!(c.len(), 1);
        assert_eq!(c.remove(&"b", now), Some(2));
        assert_eq!(c.remove(&"b", now), None);
        c.insert("c", 3, S, now);
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn string_keys_are_looked_up_by_str() {
        // The lead cache is keyed by normalised digits, the user cache by e-mail.
        let now = t0();
        let mut users: TtlCache<String, String> = TtlCache::new(8);
        users.insert(
            "agent@example.com".to_owned(),
            "dd908e91-c5c9-11e5-8de3-22000aa5088d".to_owned(),
            Duration::from_millis(3_600_000),
            now,
        );
        assert_eq!(
            users.get("agent@example.com", now).as_deref(),
            Some("dd908e91-c5c9-11e5-8de3-22000aa5088d")
        );
    }

    #[test]
    fn does_not_reserve_its_capacity_up_front() {
        let c: TtlCache<String, String> = TtlCache::new(10_000);
        let map = c.entries.as_ref().unwrap();
        assert_eq!(map.cap().get(), 10_000);
        assert_eq!(map.len(), 0);
    }
}
