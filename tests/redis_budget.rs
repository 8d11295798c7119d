//! The rate-limit budget shared through Redis (issue 13), against a real
//! `redis-server` on a loopback port: many threads and three processes on
//! one key, two keys, a learned limit and a pause seen by others, Redis
//! killed and restarted, Redis frozen, a wrong password.
//!
//! The child processes are this test binary again, running the ignored
//! test `child_process` with its orders in LSQ_REDIS_CHILD.
//!
//! `cargo test --release --test redis_budget -- --ignored bench --nocapture`
//! prints the cost of a grant beside the local limiter's.

#[path = "support/redis.rs"]
mod support_redis;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lsq::sched::ratelimit::Limiter;
use lsq::sched::shared_budget::{Grant, KeyName, SharedBudget, Unavailable};
use lsq::{Level, Logger, RateLimit, RedisUrl};
use support_redis::RedisServer;

const TIMEOUT: Duration = Duration::from_millis(50);
/// What a loaded 2-core CI machine may add to a bounded call.
const SLACK: Duration = Duration::from_millis(150);

fn limit(n: u32, w: u64) -> RateLimit {
    RateLimit::new(n, Duration::from_secs(w)).unwrap()
}

type Lines = Arc<Mutex<Vec<(Level, String)>>>;

fn capture() -> (Logger, Lines) {
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    let logger = Logger::new(Arc::new(move |level, line: &str| {
        sink.lock().unwrap().push((level, line.to_string()))
    }));
    (logger, lines)
}

fn budget(url: &str, key: &str, logger: Logger) -> SharedBudget {
    budget_with(url, key, TIMEOUT, logger)
}

fn budget_with(url: &str, key: &str, timeout: Duration, logger: Logger) -> SharedBudget {
    SharedBudget::new(
        RedisUrl::parse(url).unwrap(),
        KeyName::parse(key).unwrap(),
        timeout,
        logger,
    )
}

/// The sharing tests check the budget's rule, not timeouts (tested below):
/// on a loaded 2-core machine a thread can wait 50 ms for its turn on the
/// connection, and would then rightly fall back to its local limiter.
const SHARING_TIMEOUT: Duration = Duration::from_secs(1);

/// Connects and loads the script without taking a slot (no limit: only a
/// pause or a learned limit would apply).
fn warm_up(budget: &SharedBudget) {
    budget.acquire(None, Duration::ZERO).unwrap();
}

fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// Waits (polling) until `f` gives `Some`, at most `within`.
fn wait_for<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The most slots in any half-open window `[t, t + w)`.
fn most_in_any_window(sorted: &[i64], w: i64) -> usize {
    let mut most = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] >= w {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    most
}

/// `threads` threads take `each` slots from `budget`; returns (server slot
/// µs, local slot µs) for each, the local one being when its holder may send.
fn take_slots(
    budget: &Arc<SharedBudget>,
    l: RateLimit,
    threads: usize,
    each: usize,
) -> Vec<(i64, i64)> {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let budget = Arc::clone(budget);
            std::thread::spawn(move || {
                (0..each)
                    .map(|_| {
                        let grant = budget.acquire(Some(l), Duration::from_secs(120)).unwrap();
                        let local = unix_micros() + grant.wait().as_micros() as i64;
                        let ticket = grant.ticket().expect("reserved");
                        (ticket.server_slot_micros(), local)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

/// Orders for a child process: `url|key|mode|threads|each`.
#[test]
#[ignore = "run by the other tests as a child process"]
fn child_process() {
    let Ok(orders) = std::env::var("LSQ_REDIS_CHILD") else {
        return;
    };
    let parts: Vec<&str> = orders.split('|').collect();
    let [url, key, mode, threads, each] = parts[..] else {
        panic!("bad orders {orders}")
    };
    let budget = Arc::new(budget_with(url, key, SHARING_TIMEOUT, Logger::default()));
    if mode == "tls" {
        // Trusts what SSL_CERT_FILE names (rustls-native-certs), set by the parent.
        match budget.acquire(Some(limit(10, 2)), Duration::ZERO) {
            Ok(grant) => println!("TLS OK {}", grant.wait().as_millis()),
            Err(e) => println!("TLS ERR {e}"),
        }
        return;
    }
    warm_up(&budget);
    // Start together: tell the parent we are ready, wait for its go.
    let server = redis::Client::open(url).unwrap();
    let mut conn = server
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    redis::cmd("INCR")
        .arg(format!("test:{key}:ready"))
        .query::<i64>(&mut conn)
        .unwrap();
    let _: Vec<String> = redis::cmd("BLPOP")
        .arg(format!("test:{key}:go"))
        .arg(30)
        .query(&mut conn)
        .unwrap();
    match mode {
        "slots" => {
            let slots = take_slots(
                &budget,
                limit(10, 2),
                threads.parse().unwrap(),
                each.parse().unwrap(),
            );
            for (server, local) in slots {
                println!("SLOT {server} {local}");
            }
        }
        "learned" => {
            budget
                .acquire(Some(limit(10, 2)), Duration::from_secs(120))
                .unwrap();
            println!("LEARNED {:?}", budget.learned().map(|l| l.to_string()));
        }
        _ => panic!("mode {mode}"),
    }
}

/// Runs `n` child processes with `mode`, releases them together, returns their stdout.
fn children(
    server: &RedisServer,
    key: &str,
    mode: &str,
    n: usize,
    threads: usize,
    each: usize,
) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let kids: Vec<_> = (0..n)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "child_process",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(
                    "LSQ_REDIS_CHILD",
                    format!("{}|{key}|{mode}|{threads}|{each}", server.url()),
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut conn = server.connection();
    wait_for(Duration::from_secs(30), || {
        let ready: Option<i64> = redis::cmd("GET")
            .arg(format!("test:{key}:ready"))
            .query(&mut conn)
            .unwrap();
        (ready == Some(n as i64)).then_some(())
    });
    let go = vec![1; n];
    redis::cmd("RPUSH")
        .arg(format!("test:{key}:go"))
        .arg(go)
        .query::<i64>(&mut conn)
        .unwrap();
    kids.into_iter()
        .map(|kid| {
            let out = kid.wait_with_output().unwrap();
            assert!(out.status.success(), "child failed");
            String::from_utf8(out.stdout).unwrap()
        })
        .collect()
}

#[test]
fn many_threads_and_three_processes_share_one_budget() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start();
    let l = limit(10, 2);
    let parent = Arc::new(budget_with(
        &server.url(),
        "shared",
        SHARING_TIMEOUT,
        Logger::default(),
    ));
    warm_up(&parent);
    let outputs = std::thread::scope(|s| {
        let kids = s.spawn(|| children(&server, "shared", "slots", 3, 4, 5));
        let mine = take_slots(&parent, l, 4, 5);
        (kids.join().unwrap(), mine)
    });
    let (kid_out, mine) = outputs;
    let mut slots = mine;
    for out in &kid_out {
        let before = slots.len();
        // libtest may print "test child_process ... " before the first line.
        for line in out
            .lines()
            .filter_map(|l| l.find("SLOT ").map(|i| &l[i + 5..]))
        {
            let (server, local) = line.split_once(' ').unwrap();
            slots.push((server.parse().unwrap(), local.parse().unwrap()));
        }
        assert_eq!(slots.len() - before, 20, "each child takes 20 slots");
    }
    assert_eq!(slots.len(), 80);
    // In Redis's clock the rule holds exactly: the (i+N)th slot is at least
    // W + margin after the ith, so no W-long window holds more than N.
    let mut server_slots: Vec<i64> = slots.iter().map(|s| s.0).collect();
    server_slots.sort_unstable();
    let w_m = (l.window() + l.margin()).as_micros() as i64;
    let closest = server_slots
        .windows(11)
        .map(|w| w[10] - w[0])
        .min()
        .unwrap();
    assert!(
        closest >= w_m,
        "slots {closest} µs apart, W + margin is {w_m} µs"
    );
    assert_eq!(most_in_any_window(&server_slots, w_m), 10);
    // And in each process's own clock (when its holders may send).
    let mut local: Vec<i64> = slots.iter().map(|s| s.1).collect();
    local.sort_unstable();
    assert!(most_in_any_window(&local, l.window().as_micros() as i64) <= 10);
    // 80 slots need 7 more windows after the first: the time the budget dictates.
    let span = server_slots[79] - server_slots[0];
    assert!(span >= 7 * w_m, "{span}");
    assert!(span < 7 * w_m + 1_000_000, "{span}: slots left unused");
    assert_eq!(parent.counters().fallbacks, 0);
    eprintln!(
        "80 slots from 4 threads in each of 4 processes: closest 11th slot {:.3} s apart (W + margin {:.3} s), span {:.3} s",
        closest as f64 / 1e6,
        w_m as f64 / 1e6,
        span as f64 / 1e6
    );
}

#[test]
fn the_learned_limit_is_seen_by_every_process() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start();
    let parent = budget(&server.url(), "learned-procs", Logger::default());
    assert!(parent.learn(limit(4, 1)).unwrap());
    for out in children(&server, "learned-procs", "learned", 3, 1, 1) {
        assert!(out.contains("LEARNED Some(\"4/1s\")"), "{out}");
    }
}

/// `rediss://`: a TLS-only redis-server with a certificate from a test CA;
/// the client trusts the system roots, here the CA named by SSL_CERT_FILE.
#[test]
fn rediss_verifies_the_server() {
    if !support_redis::available() {
        return;
    }
    let ca = lsq_emulator::TestCa::new();
    let id = ca.issue(&["127.0.0.1"]);
    let server = RedisServer::start_tls(&id.cert_chain_pem, &id.key_pem);
    let dir = std::env::temp_dir().join(format!("lsq-rediss-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (trusted, other) = (dir.join("ca.pem"), dir.join("other-ca.pem"));
    std::fs::write(&trusted, ca.ca_pem()).unwrap();
    std::fs::write(&other, lsq_emulator::TestCa::new().ca_pem()).unwrap();
    let run = |ca_file: &std::path::Path| {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("LSQ_REDIS_CHILD", format!("{}|tls|tls|1|1", server.url()))
            .env("SSL_CERT_FILE", ca_file)
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let ok = run(&trusted);
    assert!(ok.contains("TLS OK 0"), "{ok}");
    let refused = run(&other);
    assert!(refused.contains("TLS ERR Redis at 127.0.0.1:"), "{refused}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_keys_do_not_share() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start();
    let l = limit(10, 2);
    let a = budget(&server.url(), "acct-a", Logger::default());
    let b = budget(&server.url(), "acct-b", Logger::default());
    for _ in 0..10 {
        assert!(matches!(
            a.acquire(Some(l), Duration::ZERO),
            Ok(Grant::Now(_))
        ));
        assert!(matches!(
            b.acquire(Some(l), Duration::ZERO),
            Ok(Grant::Now(_))
        ));
    }
    for x in [&a, &b] {
        match x.acquire(Some(l), Duration::ZERO).unwrap() {
            Grant::TooLate(wait) => assert!(wait > Duration::from_millis(1900), "{wait:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(x.counters().too_late, 1);
    }
    // Keys derived from two access keys are two budgets too.
    let ka = KeyName::derived("AK-account-one-0123456789");
    let kb = KeyName::derived("AK-account-two-0123456789");
    assert_ne!(ka, kb);
}

#[test]
fn the_access_key_never_reaches_redis() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start();
    let access_key = "u$rAccessKey0123456789abcdef";
    let key = KeyName::for_client(None, access_key).unwrap();
    let b = SharedBudget::new(
        RedisUrl::parse(&server.url()).unwrap(),
        key.clone(),
        TIMEOUT,
        Logger::default(),
    );
    b.acquire(Some(limit(10, 2)), Duration::ZERO).unwrap();
    b.learn(limit(3, 1)).unwrap();
    b.pause_for(Duration::from_millis(10)).unwrap();
    let mut conn = server.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert!(keys.iter().any(|k| k.contains(key.as_str())), "{keys:?}");
    let mut everything = keys.join(" ");
    for k in &keys {
        let dump: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut conn).unwrap();
        everything.push_str(&String::from_utf8_lossy(&dump));
    }
    assert!(!everything.contains(access_key) && !everything.contains("AccessKey0123"));
    assert!(!format!("{b:?}").contains("AccessKey"));
}

#[test]
fn a_learned_limit_and_a_pause_apply_to_other_clients() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start();
    let (logger, lines) = capture();
    let a = budget(&server.url(), "learn", Logger::default());
    let b = budget(&server.url(), "learn", logger);
    assert!(a.learn(limit(3, 1)).unwrap());
    assert!(
        !a.learn(limit(5, 1)).unwrap(),
        "a looser limit does not replace a stricter one"
    );
    for _ in 0..3 {
        assert!(matches!(
            b.acquire(Some(limit(10, 2)), Duration::ZERO),
            Ok(Grant::Now(_))
        ));
    }
    assert_eq!(b.learned(), Some(limit(3, 1)));
    match b
        .acquire(Some(limit(10, 2)), Duration::from_secs(5))
        .unwrap()
    {
        Grant::WaitFor(wait, _) => {
            assert!(
                wait > Duration::from_millis(950)
                    && wait <= limit(3, 1).window() + limit(3, 1).margin(),
                "{wait:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(lines
        .lock()
        .unwrap()
        .iter()
        .any(|(_, l)| l.contains("3/1s")));

    let c = budget(&server.url(), "pause", Logger::default());
    let d = budget(&server.url(), "pause", Logger::default());
    c.pause_for(Duration::from_millis(700)).unwrap();
    c.pause_for(Duration::from_millis(100)).unwrap(); // a shorter pause does not shorten it
    match d
        .acquire(Some(limit(10, 2)), Duration::from_secs(5))
        .unwrap()
    {
        Grant::WaitFor(wait, _) => {
            assert!(
                wait > Duration::from_millis(500) && wait <= Duration::from_millis(700),
                "{wait:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_answer_moves_its_slot_as_the_local_limiter_does() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start();
    let l = limit(1, 1);
    let a = budget(&server.url(), "answered", Logger::default());
    let Grant::Now(ticket) = a.acquire(Some(l), Duration::ZERO).unwrap() else {
        panic!("first slot is now")
    };
    // The request takes 300 ms to answer: time passing is what is tested.
    std::thread::sleep(Duration::from_millis(300));
    a.answered(&ticket).unwrap();
    let wait = a.acquire(Some(l), Duration::from_secs(5)).unwrap().wait();
    // From the answer: W + margin (1.06 s), not from the slot (0.76 s left).
    assert!(wait > Duration::from_millis(1000), "{wait:?}");
}

fn assert_prompt(started: Instant) {
    let took = started.elapsed();
    assert!(took < TIMEOUT + SLACK, "took {took:?}");
}

#[test]
fn redis_killed_then_back_without_a_new_client() {
    if !support_redis::available() {
        return;
    }
    let mut server = RedisServer::start();
    let (logger, lines) = capture();
    let b = budget(&server.url(), "outage", logger);
    let l = limit(10, 2);
    b.acquire(Some(l), Duration::ZERO).unwrap();
    server.kill();
    for _ in 0..5 {
        let started = Instant::now();
        let e: Unavailable = b.acquire(Some(l), Duration::ZERO).unwrap_err();
        assert_prompt(started);
        assert!(
            e.message()
                .contains(&format!("127.0.0.1:{}", server.port())),
            "{e}"
        );
    }
    let warns: Vec<_> = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|(lv, _)| *lv == Level::Warn)
        .cloned()
        .collect();
    assert_eq!(warns.len(), 1, "{warns:?}");
    assert!(warns[0].1.contains("local limiter"), "{warns:?}");
    let c = b.counters();
    assert_eq!((c.outages, c.fallbacks), (1, 5));
    server.restart();
    // The same client finds it again after the pause (the script is sent again: EVAL).
    let grant = wait_for(Duration::from_secs(5), || {
        b.acquire(Some(l), Duration::ZERO).ok()
    });
    assert!(matches!(grant, Grant::Now(_)));
    let lines = lines.lock().unwrap();
    assert_eq!(
        lines.iter().filter(|(lv, _)| *lv == Level::Warn).count(),
        1,
        "{lines:?}"
    );
    let back: Vec<_> = lines
        .iter()
        .filter(|(_, l)| l.contains("Redis budget back"))
        .collect();
    assert_eq!(back.len(), 1, "{lines:?}");
    assert_eq!(b.counters().outages, 1);
}

#[test]
fn a_frozen_redis_falls_back_within_the_timeout() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start();
    let (logger, lines) = capture();
    let b = budget(&server.url(), "frozen", logger);
    let l = limit(10, 2);
    b.acquire(Some(l), Duration::ZERO).unwrap();
    server.pause();
    let started = Instant::now();
    let e = b.acquire(Some(l), Duration::ZERO).unwrap_err();
    assert!(started.elapsed() >= TIMEOUT - Duration::from_millis(5));
    assert_prompt(started);
    assert!(e.message().contains("did not answer within 50 ms"), "{e}");
    // During the pause: at once, without touching Redis.
    let started = Instant::now();
    b.acquire(Some(l), Duration::ZERO).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(5));
    // A client connecting to the frozen server waits no longer either.
    let fresh = budget(&server.url(), "frozen", Logger::default());
    let started = Instant::now();
    fresh.acquire(Some(l), Duration::ZERO).unwrap_err();
    assert_prompt(started);
    server.resume();
    wait_for(Duration::from_secs(5), || {
        b.acquire(Some(l), Duration::ZERO).ok()
    });
    wait_for(Duration::from_secs(5), || {
        fresh.acquire(Some(l), Duration::ZERO).ok()
    });
    let lines = lines.lock().unwrap();
    assert_eq!(
        lines.iter().filter(|(lv, _)| *lv == Level::Warn).count(),
        1,
        "{lines:?}"
    );
}

#[test]
fn a_wrong_password_is_named_without_the_password() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start_with(Some("right-pass-8x"));
    let host = format!("127.0.0.1:{}", server.port());
    for url in [
        format!("redis://:wrong-pass-9y@{host}/0"),
        format!("redis://default:wrong-pass-9y@{host}/0"),
        format!("redis://{host}/0"),
    ] {
        let (logger, lines) = capture();
        let b = budget(&url, "auth", logger);
        let e = b.acquire(Some(limit(10, 2)), Duration::ZERO).unwrap_err();
        assert!(
            e.message().contains(&host) && e.message().contains("password"),
            "{e}"
        );
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let shown = format!("{e} {e:?} {b:?} {lines:?}");
        assert!(!shown.contains("wrong-pass-9y"), "{shown}");
        assert!(!shown.contains("right-pass-8x"), "{shown}");
    }
    let good = budget(
        &format!("redis://default:right-pass-8x@{host}/0"),
        "auth",
        Logger::default(),
    );
    assert!(good.acquire(Some(limit(10, 2)), Duration::ZERO).is_ok());
    assert!(!format!("{good:?}").contains("right-pass-8x"));
}

/// The cost of a grant: `cargo test --release --test redis_budget -- --ignored bench --nocapture`.
#[test]
#[ignore = "a benchmark: prints figures"]
fn bench_grant_cost() {
    if !support_redis::available() {
        return;
    }
    let server = RedisServer::start();
    let n = 20_000u32;
    let far = Duration::from_secs(10_000_000);
    println!("{n} grants, one thread; redis-server on loopback, one connection");
    for l in [limit(25, 5), limit(10_000, 1)] {
        let b = budget(
            &server.url(),
            &format!("bench-{}", l.requests()),
            Logger::default(),
        );
        warm_up(&b); // connect and load the script
        let before = b.counters().round_trips;
        let started = Instant::now();
        for _ in 0..n {
            b.acquire(Some(l), far).unwrap();
        }
        let acquire = started.elapsed() / n;
        let trips = (b.counters().round_trips - before) as f64 / f64::from(n);
        let ticket = b.acquire(Some(l), far).unwrap().ticket().cloned().unwrap();
        let started = Instant::now();
        for _ in 0..n {
            b.answered(&ticket).unwrap();
        }
        let answered = started.elapsed() / n;

        let limiter = Mutex::new(Limiter::new(Some(l)));
        let until = Instant::now() + far;
        let started = Instant::now();
        for _ in 0..n {
            let now = Instant::now();
            let slot = limiter.lock().unwrap().reserve(now, until).unwrap();
            limiter.lock().unwrap().answered(slot, now);
        }
        let local = started.elapsed() / n;
        let us = |d: Duration| d.as_nanos() as f64 / 1e3;
        println!("rate_limit {l}:");
        println!(
            "  shared acquire  {:8.1} µs per grant, {trips:.2} round trips per grant",
            us(acquire)
        );
        println!(
            "  shared answered {:8.1} µs per request, 1 round trip",
            us(answered)
        );
        println!(
            "  local reserve + answered (Mutex<Limiter>) {:.3} µs per grant",
            us(local)
        );
    }
}
