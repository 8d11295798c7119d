//! The Rust core's async engine, rate limiter, expiry and logging, over
//! loopback against the emulator. Waits are on conditions (flush, channels,
//! the emulator's request log), never on sleeps.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lsq::{Client, ErrorKind, Level, Logger, Options, Popup, Report};
use support::*;

fn popup(call_session_id: &str) -> Popup<'_> {
    documented_popup(call_session_id)
}

fn client(emu: &Emulator, settings: &[(&str, &str)]) -> Client {
    client_with(emu, settings, Options::default())
}

fn client_with(emu: &Emulator, settings: &[(&str, &str)], mut options: Options) -> Client {
    for (k, v) in settings {
        options.set(k, v).unwrap();
    }
    Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap()
}

/// Submits `count` popups and returns their reports, in completion order.
fn submit_all(client: &Client, count: usize) -> Vec<Report> {
    let (tx, rx) = mpsc::channel();
    for i in 0..count {
        let tx = tx.clone();
        client
            .show_agent_popup_async(&popup(&format!("call-{i}")), move |r| tx.send(r).unwrap())
            .unwrap();
    }
    drop(tx);
    rx.iter().collect()
}

fn kinds(reports: &[Report]) -> (usize, usize, Vec<Option<ErrorKind>>) {
    let ok = reports.iter().filter(|r| r.outcome.is_ok()).count();
    let expired = reports
        .iter()
        .filter(|r| r.error_kind() == Some(ErrorKind::Expired))
        .count();
    (
        ok,
        expired,
        reports.iter().map(Report::error_kind).collect(),
    )
}

#[test]
fn popups_that_cannot_be_sent_in_time_expire_and_are_never_sent_late() {
    let emu = default_emulator();
    let c = client(&emu, &[("rate_limit", "1/1"), ("max_age_ms", "1500")]);
    let reports = submit_all(&c, 5);
    let (ok, expired, all) = kinds(&reports);
    assert_eq!((ok, expired), (2, 3), "{all:?}");
    assert!(reports
        .iter()
        .filter(|r| r.outcome.is_err())
        .all(|r| r.attempts == 0 && r.http_status == 0));
    assert_eq!(
        emu.request_count(),
        2,
        "an expired popup reached the server"
    );
    // Counters change once a callback has returned: flush waits for that.
    c.flush(Duration::from_secs(10)).unwrap();
    let stats = c.stats();
    assert_eq!(
        (
            stats.submitted,
            stats.succeeded,
            stats.failed,
            stats.expired
        ),
        (5, 2, 3, 3)
    );

    // The blocking call expires too, at once, when no slot comes in time.
    let c = client(&emu, &[("rate_limit", "1/5"), ("max_age_ms", "500")]);
    assert!(c.show_agent_popup(&popup("b1")).outcome.is_ok());
    let started = Instant::now();
    let late = c.show_agent_popup(&popup("b2"));
    assert_eq!(late.error_kind(), Some(ErrorKind::Expired));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(emu.request_count(), 3);
}

#[test]
fn retry_after_is_honoured() {
    let emu = default_emulator();
    emu.push_fault(Fault::RateLimited {
        retry_after: Some("1".into()),
    });
    let c = client(&emu, &[]);
    let report = c.show_agent_popup(&popup("retry-after"));
    assert!(report.outcome.is_ok(), "{report:?}");
    assert_eq!(report.attempts, 2);
    let arrivals: Vec<Instant> = emu.requests().iter().map(|r| r.arrived).collect();
    assert_eq!(arrivals.len(), 2);
    assert!(
        arrivals[1] - arrivals[0] >= Duration::from_secs(1),
        "retried before Retry-After"
    );
    assert_eq!(c.stats().rate_limited, 1);
}

#[test]
fn a_403_with_the_limit_message_is_a_rate_limit_and_the_limit_is_learned() {
    let emu = emulator(Config {
        rate_limit: Some((2, Duration::from_secs(1))),
        limit_status: 403,
        ..Config::default()
    });
    let lines = Arc::new(Mutex::new(Vec::<(Level, String)>::new()));
    let sink = Arc::clone(&lines);
    let options = Options {
        logger: Logger::new(Arc::new(move |level, line: &str| {
            sink.lock().unwrap().push((level, line.to_string()))
        })),
        ..Options::default()
    };
    // Two in flight at most: the first answer teaches the limit.
    let c = client_with(&emu, &[("max_in_flight", "2")], options);
    let reports = submit_all(&c, 6);
    assert!(
        reports.iter().all(|r| r.outcome.is_ok()),
        "{:?}",
        kinds(&reports).2
    );
    let limited = emu.count_with_status(403);
    assert!((1..=2).contains(&limited), "{limited} limit answers");
    assert_eq!(c.stats().rate_limited, limited);
    let lines = lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|(l, s)| *l == Level::Info && s.contains("learned") && s.contains("2/1s")),
        "{lines:?}"
    );
    assert!(lines
        .iter()
        .any(|(l, s)| *l == Level::Warn && s.contains("rate limited")));
    for (_, line) in lines.iter() {
        assert_no_key("log line", line);
    }
}

#[test]
fn stats_add_up_in_every_snapshot_under_concurrency() {
    let emu = default_emulator();
    let c = Arc::new(client(
        &emu,
        &[
            ("rate_limit", "0"),
            ("queue_capacity", "100000"),
            ("workers", "3"),
        ],
    ));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (c, done) = (Arc::clone(&c), Arc::clone(&done));
        thread::spawn(move || {
            let mut snapshots = 0u64;
            while !done.load(Ordering::Relaxed) {
                let s = c.stats();
                assert_eq!(
                    s.submitted,
                    s.succeeded + s.failed + s.queued as u64 + s.in_flight as u64,
                    "{s:?}"
                );
                snapshots += 1;
            }
            snapshots
        })
    };
    let submitters: Vec<_> = (0..4)
        .map(|t| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                for i in 0..200 {
                    let id = format!("{t}-{i}");
                    c.show_agent_popup_async(&popup(&id), |_| {}).unwrap();
                    if i % 50 == 0 {
                        assert!(c.show_agent_popup(&popup(&id)).outcome.is_ok());
                    }
                }
            })
        })
        .collect();
    for s in submitters {
        s.join().unwrap();
    }
    c.flush(Duration::from_secs(60)).unwrap();
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let s = c.stats();
    assert_eq!(
        (s.submitted, s.succeeded, s.failed, s.queued, s.in_flight),
        (816, 816, 0, 0, 0)
    );
    assert_eq!(emu.count_with_status(200), 816);
}

#[test]
fn shutdown_returns_within_its_timeout_and_calls_every_callback_once() {
    let emu = emulator(Config {
        delay: Duration::from_millis(800),
        ..Config::default()
    });
    // Two in flight at most, so the queue outlasts the grace period.
    let c = client(
        &emu,
        &[
            ("shutdown_timeout_ms", "1000"),
            ("rate_limit", "0"),
            ("max_in_flight", "2"),
        ],
    );
    let (tx, rx) = mpsc::channel();
    for i in 0..20 {
        let tx = tx.clone();
        c.show_agent_popup_async(&popup(&format!("s{i}")), move |r| {
            tx.send((i, r.error_kind())).unwrap()
        })
        .unwrap();
    }
    drop(tx);
    let started = Instant::now();
    c.shutdown().unwrap();
    let took = started.elapsed();
    let mut seen: Vec<(i32, Option<ErrorKind>)> = rx.iter().collect();
    seen.sort_by_key(|(i, _)| *i);
    assert_eq!(
        seen.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    let shown = seen.iter().filter(|(_, k)| k.is_none()).count();
    let cancelled = seen
        .iter()
        .filter(|(_, k)| *k == Some(ErrorKind::Cancelled))
        .count();
    assert_eq!(shown + cancelled, 20, "{seen:?}");
    assert!(shown >= 1 && cancelled >= 1, "{seen:?}");
    assert!(
        took < Duration::from_millis(1000) + Duration::from_millis(500),
        "shutdown took {took:?}"
    );
    // After shutdown nothing is taken.
    let refused = c.show_agent_popup_async(&popup("late"), |_| panic!("never called"));
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Cancelled);
}

#[test]
fn debug_output_never_shows_the_keys() {
    let emu = default_emulator();
    let c = client(&emu, &[]);
    assert_no_key("Client Debug", &format!("{c:?}"));
    assert_no_key("Options Debug", &format!("{:?}", Options::default()));
}

/// Options built in Rust go through the same checks as `lsq_options_set`:
/// `workers: 0` used to be accepted, and async popups then never ran.
#[test]
fn options_built_in_rust_are_validated_when_the_client_is_made() {
    let emu = default_emulator();
    for (options, key) in [
        (
            Options {
                workers: 0,
                ..Options::default()
            },
            "workers",
        ),
        (
            Options {
                queue_capacity: 0,
                ..Options::default()
            },
            "queue_capacity",
        ),
        (
            Options {
                timeout: Duration::ZERO,
                ..Options::default()
            },
            "timeout_ms",
        ),
    ] {
        let e = Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options)
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().starts_with(key), "{}", e.message());
    }
}

/// `shutdown` takes `&self`: a client shared between threads can be shut
/// down from any of them, more than once.
#[test]
fn shutdown_through_a_shared_reference_is_idempotent() {
    let emu = default_emulator();
    let c = Arc::new(client(&emu, &[]));
    let others: Vec<_> = (0..3)
        .map(|_| {
            let c = Arc::clone(&c);
            thread::spawn(move || c.shutdown())
        })
        .collect();
    c.shutdown().unwrap();
    for t in others {
        t.join().unwrap().unwrap();
    }
    let refused = c
        .show_agent_popup_async(&popup("after-shutdown"), |_| {})
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Cancelled);
}
