//! One account, many PBXs: clients in three processes share one
//! 10-per-2-s budget through a real `redis-server` (started here on a
//! loopback port) against the emulator's own 10/2 limit: every popup
//! delivered, no rate-limit answer, in no less time than the budget
//! allows. With Redis down, popups still go (the local limiter decides).
//!
//! The child processes are this test binary, running `shared_budget_child`.

mod support;
#[path = "support/redis.rs"]
mod support_redis;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lsq::{Client, Options};
use support::*;
use support_redis::RedisServer;

fn client(url: &str, settings: &[(&str, &str)]) -> Client {
    let mut options = Options::default();
    for (k, v) in settings {
        options.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    Client::new(url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap()
}

/// A PBX: 20 popups through a budget shared in Redis; prints how they ended.
#[test]
fn shared_budget_child() {
    let Ok(redis) = std::env::var("LSQ_BUDGET_REDIS") else {
        return;
    };
    let url = std::env::var("LSQ_BUDGET_URL").unwrap();
    let name = std::env::var("LSQ_BUDGET_NAME").unwrap();
    let c = client(
        &url,
        &[
            ("rate_limit", "10/2"),
            ("rate_limit_redis", &redis),
            // A loaded 2-core machine runs four processes here: give Redis time.
            ("rate_limit_redis_timeout_ms", "1000"),
            ("max_age_ms", "60000"),
        ],
    );
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..20 {
        let tx = tx.clone();
        let call = format!("{name}-{i}");
        c.show_agent_popup_async(&documented_popup(&call), move |r| tx.send(r).unwrap())
            .unwrap();
    }
    drop(tx);
    let ok = rx.iter().filter(|r| r.outcome.is_ok()).count();
    let metrics = c.metrics();
    let fallbacks = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lsq_shared_budget_fallbacks_total "))
        .unwrap_or("?")
        .to_string();
    println!("RESULT {name} ok={ok} fallbacks={fallbacks}");
}

#[test]
fn three_processes_share_one_budget() {
    if !support_redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let emu = emulator(Config {
        rate_limit: Some((10, Duration::from_secs(2))),
        ..Config::default()
    });
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let children: Vec<_> = ["pbx-a", "pbx-b", "pbx-c"]
        .iter()
        .map(|name| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "shared_budget_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("LSQ_BUDGET_REDIS", redis.url())
                .env("LSQ_BUDGET_URL", emu.url())
                .env("LSQ_BUDGET_NAME", name)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut results = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let line = text
            .lines()
            .find_map(|l| l.find("RESULT ").map(|at| l[at..].to_string()))
            .unwrap_or_else(|| panic!("no result from a child:\n{text}"));
        results.push(line);
    }
    let took = started.elapsed();
    println!(
        "{results:?}: 60 popups in {took:?}, {} rate-limit answers",
        emu.count_with_status(429)
    );
    assert!(results.iter().all(|r| r.contains("ok=20")), "{results:?}");
    assert_eq!(emu.count_with_status(200), 60);
    assert!(
        emu.count_with_status(429) <= 1,
        "{} rate-limit answers",
        emu.count_with_status(429)
    );
    // 60 requests at 10 per 2 s (plus the margin): the sixth ten leaves no
    // sooner than five windows after the first.
    assert!(
        took >= Duration::from_secs(10),
        "took {took:?}: faster than the budget allows"
    );
}

/// Redis down from the start: the local limiter decides, popups still go.
#[test]
fn with_redis_down_popups_still_go() {
    if !support_redis::available() {
        return;
    }
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.kill();
    let emu = default_emulator();
    let c = client(emu.url(), &[("rate_limit_redis", &url)]);
    for i in 0..3 {
        let r = c.show_agent_popup(&documented_popup(&format!("no-redis-{i}")));
        assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    }
    let metrics = c.metrics();
    assert!(
        metrics.contains("lsq_shared_budget_fallbacks_total 3"),
        "{metrics}"
    );
}
