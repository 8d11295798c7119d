//! The scheduler on its own, with tasks that only record what happened:
//! the order of classes, the queue's capacity, dedup, the pool's growth,
//! shutdown's cancelling, and the gate's order and deadlines.

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::error::ErrorKind;
use crate::log::Logger;
use crate::sched::dedup::Dedup;
use crate::sched::gate::Denied;
use crate::sched::job::{Class, PopupOutcome, Task};
use crate::sched::ratelimit::{Limiter, RateLimit};
use crate::sched::scheduler::{Capacity, Scheduler};
use crate::threads::Threads;

fn scheduler(queue: usize, max_workers: usize, limit: Option<RateLimit>) -> Arc<Scheduler> {
    Arc::new(Scheduler::new(
        Limiter::new(limit),
        None,
        Capacity {
            queue,
            max_workers,
            max_log_workers: max_workers.div_ceil(4),
        },
        Dedup::new(Duration::from_secs(60)),
        Logger::default(),
        Threads::default(),
    ))
}

/// Records its name when run (or "cancelled:name"), after waiting on `hold`.
struct Probe {
    class: Class,
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
    hold: Option<Arc<Barrier>>,
}

impl Task for Probe {
    fn class(&self) -> Class {
        self.class
    }

    fn run(self: Box<Self>, cancelling: bool) -> PopupOutcome {
        if let Some(hold) = &self.hold {
            hold.wait();
        }
        let entry = match cancelling {
            true => format!("cancelled:{}", self.name),
            false => self.name.to_string(),
        };
        self.log.lock().unwrap().push(entry);
        (self.class == Class::Popup).then_some(None)
    }
}

fn probe(class: Class, name: &'static str, log: &Arc<Mutex<Vec<String>>>) -> Job {
    Box::new(Probe {
        class,
        name,
        log: Arc::clone(log),
        hold: None,
    })
}

/// Occupies the only worker until the barrier is passed.
fn blocker(log: &Arc<Mutex<Vec<String>>>, hold: &Arc<Barrier>) -> Job {
    Box::new(Probe {
        class: Class::Popup,
        name: "blocker",
        log: Arc::clone(log),
        hold: Some(Arc::clone(hold)),
    })
}

/// Starts one worker and keeps it busy until `hold` is passed.
fn occupy_the_only_worker(sched: &Arc<Scheduler>) -> (Arc<Mutex<Vec<String>>>, Arc<Barrier>) {
    spawn_workers(sched, 1).unwrap();
    let log = Arc::default();
    let hold = Arc::new(Barrier::new(2));
    submit(sched, blocker(&log, &hold), Instant::now(), None).unwrap();
    wait_until("the worker is busy", || sched.state().active == 1);
    (log, hold)
}

/// Closes the scheduler and joins its workers.
fn stop(sched: &Scheduler) {
    sched.close();
    sched.work_ready.notify_all();
    join_all(sched);
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

#[test]
fn a_free_worker_takes_the_most_urgent_class_first() {
    let sched = scheduler(100, 1, None);
    let (log, hold) = occupy_the_only_worker(&sched);
    enqueue(&sched, probe(Class::Log, "log", &log)).unwrap();
    submit(
        &sched,
        probe(Class::Lookup, "lookup", &log),
        Instant::now(),
        None,
    )
    .unwrap();
    submit(
        &sched,
        probe(Class::Popup, "popup-1", &log),
        Instant::now(),
        None,
    )
    .unwrap();
    submit(
        &sched,
        probe(Class::Popup, "popup-2", &log),
        Instant::now(),
        None,
    )
    .unwrap();
    hold.wait();
    assert!(sched.wait_idle(Instant::now() + Duration::from_secs(10)));
    assert_eq!(
        *log.lock().unwrap(),
        ["blocker", "popup-1", "popup-2", "lookup", "log"]
    );
    stop(&sched);
}

#[test]
fn a_full_queue_and_a_duplicate_are_refused_but_call_logs_never_for_room() {
    let sched = scheduler(2, 1, None);
    let (log, hold) = occupy_the_only_worker(&sched);
    let now = Instant::now();
    submit(
        &sched,
        probe(Class::Popup, "a", &log),
        now,
        Some(("call-1", "agent")),
    )
    .unwrap();
    let dup = submit(
        &sched,
        probe(Class::Popup, "b", &log),
        now,
        Some(("call-1", "agent")),
    );
    assert_eq!(dup.unwrap_err().kind(), ErrorKind::Duplicate);
    submit(&sched, probe(Class::Lookup, "c", &log), now, None).unwrap();
    let full = submit(&sched, probe(Class::Lookup, "d", &log), now, None);
    assert_eq!(full.unwrap_err().kind(), ErrorKind::QueueFull);
    enqueue(&sched, probe(Class::Log, "log", &log)).unwrap();
    hold.wait();
    assert!(sched.wait_idle(Instant::now() + Duration::from_secs(10)));
    assert_eq!(*log.lock().unwrap(), ["blocker", "a", "c", "log"]);
    let state = sched.state();
    assert_eq!((state.counters.duplicates, state.counters.dropped), (1, 0));
    drop(state);
    stop(&sched);
}

#[test]
fn the_pool_grows_with_the_work_up_to_its_size() {
    let sched = scheduler(100, 3, None);
    spawn_workers(&sched, 1).unwrap();
    let log = Arc::default();
    let (first, then) = (Arc::new(Barrier::new(4)), Arc::new(Barrier::new(3)));
    for hold in [&first, &first, &first, &then, &then] {
        submit(&sched, blocker(&log, hold), Instant::now(), None).unwrap();
    }
    wait_until("three workers busy", || sched.state().active == 3);
    assert_eq!(sched.state().live_workers, 3, "never more than max_workers");
    assert_eq!(sched.state().queued(), 2);
    first.wait();
    then.wait();
    assert!(sched.wait_idle(Instant::now() + Duration::from_secs(10)));
    assert_eq!(log.lock().unwrap().len(), 5);
    stop(&sched);
}

#[test]
fn after_the_grace_period_what_is_left_is_cancelled_and_closing_refuses_new_work() {
    let sched = scheduler(100, 1, None);
    let (log, hold) = occupy_the_only_worker(&sched);
    submit(
        &sched,
        probe(Class::Popup, "late", &log),
        Instant::now(),
        None,
    )
    .unwrap();
    sched.close();
    let refused = submit(&sched, probe(Class::Popup, "x", &log), Instant::now(), None);
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Cancelled);
    assert!(enqueue(&sched, probe(Class::Log, "y", &log)).is_err());
    assert_eq!(sched.cancel_rest(), 2, "one in flight, one queued");
    hold.wait();
    join_all(&sched);
    assert_eq!(*log.lock().unwrap(), ["blocker", "cancelled:late"]);
    assert_eq!(sched.state().counters.in_flight, 0);
}

#[test]
fn a_task_that_panics_outside_its_guard_still_ends_and_the_worker_goes_on() {
    struct Bad;
    impl Task for Bad {
        fn class(&self) -> Class {
            Class::Popup
        }
        fn run(self: Box<Self>, _: bool) -> PopupOutcome {
            panic!("a bug")
        }
    }
    let sched = scheduler(100, 1, None);
    spawn_workers(&sched, 1).unwrap();
    let log = Arc::default();
    submit(&sched, Box::new(Bad), Instant::now(), None).unwrap();
    submit(
        &sched,
        probe(Class::Popup, "after", &log),
        Instant::now(),
        None,
    )
    .unwrap();
    assert!(sched.wait_idle(Instant::now() + Duration::from_secs(10)));
    assert_eq!(*log.lock().unwrap(), ["after"]);
    stop(&sched);
}

#[test]
fn the_gate_gives_each_free_slot_to_the_most_urgent_waiter() {
    // One request a second: the first takes the slot, three wait in line.
    let limit = RateLimit::new(1, Duration::from_secs(1));
    let sched = scheduler(100, 1, limit);
    let far = Instant::now() + Duration::from_secs(30);
    sched.gate.acquire(&sched, Class::Log, far).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for (n, class) in [Class::Log, Class::Lookup, Class::Popup]
        .into_iter()
        .enumerate()
    {
        let (waiter_sched, order) = (Arc::clone(&sched), Arc::clone(&order));
        waiters.push(std::thread::spawn(move || {
            let got = waiter_sched.gate.acquire(&waiter_sched, class, far);
            order.lock().unwrap().push((class, got.is_ok()));
        }));
        wait_until("the waiter is in line", || {
            sched.gate.waiting().iter().sum::<usize>() == n + 1
        });
    }
    for w in waiters {
        w.join().unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        [
            (Class::Popup, true),
            (Class::Lookup, true),
            (Class::Log, true)
        ],
        "arrived log, lookup, popup; served by urgency"
    );
}

#[test]
fn the_gate_refuses_past_the_deadline_and_when_cancelling() {
    let limit = RateLimit::new(1, Duration::from_secs(10));
    let sched = scheduler(100, 1, limit);
    let soon = Instant::now() + Duration::from_millis(50);
    sched.gate.acquire(&sched, Class::Popup, soon).unwrap();
    assert_eq!(
        sched.gate.acquire(&sched, Class::Popup, soon).unwrap_err(),
        Denied::TooLate,
        "the next slot is past the deadline"
    );
    let far = Instant::now() + Duration::from_secs(30);
    let waiter = {
        let sched = Arc::clone(&sched);
        std::thread::spawn(move || sched.gate.acquire(&sched, Class::Popup, far).map(|_| ()))
    };
    wait_until("the waiter is in line", || sched.gate.waiting()[0] == 1);
    sched.cancel_rest();
    assert_eq!(waiter.join().unwrap().unwrap_err(), Denied::Cancelled);
}
