//! Concurrent lookups of one key share one request: ten agents rung at once
//! for one caller cost one lookup. The first caller for a key (the leader)
//! does the work; the others wait on its result, each no longer than its
//! own deadline.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// What a waiter gets.
pub(crate) enum Outcome<V> {
    /// This caller did the work.
    Led(V),
    /// Another caller's work, shared.
    Joined(V),
    /// The leader gave up (panicked) or this caller's deadline came first.
    Gone,
}

struct Flight<V> {
    /// `None` while the leader works; `Some(None)` if it gave up.
    result: Mutex<Option<Option<V>>>,
    done: Condvar,
    /// Callers waiting on it (for tests and metrics).
    waiting: std::sync::atomic::AtomicUsize,
}

/// The flights in progress, by key.
pub(crate) struct SingleFlight<V> {
    flights: Mutex<HashMap<String, Arc<Flight<V>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Ends the leader's flight even if its work panics, so waiters wake.
struct Landing<'a, V> {
    flights: &'a SingleFlight<V>,
    key: &'a str,
    flight: Arc<Flight<V>>,
    result: Option<V>,
}

impl<V> Drop for Landing<'_, V> {
    fn drop(&mut self) {
        lock(&self.flights.flights).remove(self.key);
        *lock(&self.flight.result) = Some(self.result.take());
        self.flight.done.notify_all();
    }
}

impl<V: Clone> SingleFlight<V> {
    pub fn new() -> SingleFlight<V> {
        SingleFlight {
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `work` for `key`, or waits (until `deadline`) for the caller
    /// already running it.
    pub fn run(&self, key: &str, deadline: Instant, work: impl FnOnce() -> V) -> Outcome<V> {
        let (flight, leader) = {
            let mut flights = lock(&self.flights);
            match flights.get(key) {
                Some(flight) => (Arc::clone(flight), false),
                None => {
                    let flight = Arc::new(Flight {
                        result: Mutex::new(None),
                        done: Condvar::new(),
                        waiting: std::sync::atomic::AtomicUsize::new(0),
                    });
                    flights.insert(key.to_string(), Arc::clone(&flight));
                    (flight, true)
                }
            }
        };
        if leader {
            let mut landing = Landing {
                flights: self,
                key,
                flight,
                result: None,
            };
            let value = work();
            landing.result = Some(value.clone());
            return Outcome::Led(value);
        }
        let mut result = lock(&flight.result);
        flight
            .waiting
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        loop {
            match &*result {
                Some(Some(value)) => return Outcome::Joined(value.clone()),
                Some(None) => return Outcome::Gone,
                None => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Outcome::Gone;
            }
            result = flight
                .done
                .wait_timeout(result, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Flights in progress (for tests and metrics).
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        lock(&self.flights).len()
    }

    /// Callers waiting on the flight for `key` (for tests).
    #[cfg(test)]
    pub fn waiting(&self, key: &str) -> usize {
        lock(&self.flights)
            .get(key)
            .map_or(0, |f| f.waiting.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;
    use std::time::Duration;

    #[test]
    fn sixteen_callers_share_one_run() {
        let flights = Arc::new(SingleFlight::<u32>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let barrier = Arc::new(Barrier::new(16));
        let deadline = Instant::now() + Duration::from_secs(30);
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (flights, runs, gate, barrier) =
                    (flights.clone(), runs.clone(), gate.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    flights.run("918611795988", deadline, || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        // Hold the flight open until the test lets it land.
                        let (open, cv) = &*gate;
                        let mut open = lock(open);
                        while !*open {
                            open = cv.wait(open).unwrap();
                        }
                        7
                    })
                })
            })
            .collect();
        // Land the flight once the other fifteen wait on it.
        while flights.waiting("918611795988") < 15 {
            std::thread::yield_now();
        }
        *lock(&gate.0) = true;
        gate.1.notify_all();
        let mut led = 0;
        for t in threads {
            match t.join().unwrap() {
                Outcome::Led(v) => {
                    led += 1;
                    assert_eq!(v, 7);
                }
                Outcome::Joined(v) => assert_eq!(v, 7),
                Outcome::Gone => panic!("a waiter lost the result"),
            }
        }
        assert_eq!((led, runs.load(Ordering::SeqCst)), (1, 1));
        assert_eq!(flights.in_flight(), 0);
    }

    #[test]
    fn a_panicking_leader_releases_its_waiters() {
        let flights = Arc::new(SingleFlight::<u32>::new());
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let f = flights.clone();
        let leader = std::thread::spawn(move || {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                f.run("k", Instant::now() + Duration::from_secs(30), || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    panic!("leader fails");
                })
            }));
        });
        started_rx.recv().unwrap();
        let f = flights.clone();
        let waiter = std::thread::spawn(move || {
            matches!(
                f.run("k", Instant::now() + Duration::from_secs(30), || 1),
                Outcome::Gone | Outcome::Led(1)
            )
        });
        release_tx.send(()).unwrap();
        leader.join().unwrap();
        assert!(waiter.join().unwrap());
        assert_eq!(flights.in_flight(), 0);
    }
}
