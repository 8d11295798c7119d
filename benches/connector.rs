//! `cargo bench --bench connector`: what the connector's calls cost beside
//! a plain popup, against the in-process emulator with its sample data.
//!
//! - a lead lookup answered from the cache vs a popup (µs per call, and
//!   instructions per call counted by callgrind when valgrind is present:
//!   the difference between runs of N and 2N calls, so set-up cancels);
//! - `agent_ringing` with a cached lead vs a plain popup (the goal: within 5%);
//! - the requests a ring-all of 10 agents for one caller spends (the goal:
//!   1 lookup + 10 popups, and 0 lookups once the lead is cached).
//!
//! `LSQ_BENCH_QUICK=1` makes every step small (a smoke run).

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use lsq::{Client, Direction, Options, Popup, Ringing};
use lsq_emulator::{Config, Data, Emulator, Endpoint, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

const LEAD: &str = "e6293922-cabc-4f87-a045-86f60b4ebdaf";
const AGENT: &str = "a484b8fc-0425-48f6-abf8-15af4cb65137";
const CALLER: &str = "+91 86117 95988";

fn main() {
    if let Ok(what) = std::env::var("LSQ_BENCH_CHILD") {
        return child(&what);
    }
    let quick = std::env::var("LSQ_BENCH_QUICK").is_ok_and(|v| v == "1");
    let n = if quick { 200 } else { 5000 };
    let emu = sample_emulator();
    println!("connector benchmark: {n} calls per figure, against the in-process emulator\n");

    let c = client(emu.url());
    warm(&c);
    let popup_us = per_call(n, || {
        assert!(c.show_agent_popup(&popup("p")).outcome.is_ok())
    });
    let lookup_us = per_call(n, || assert!(c.find_lead(CALLER).cached));
    let ringing_us = per_call(n, || {
        let r = c.agent_ringing(&ringing("r"));
        assert!(r.popup.outcome.is_ok() && r.lead.cached);
    });
    println!("median µs per call (blocking, one keep-alive connection):");
    println!("  popup                         {popup_us:>8.1}");
    println!("  lookup answered from cache    {lookup_us:>8.1}");
    println!(
        "  agent_ringing, lead cached    {ringing_us:>8.1}   ({:+.1}% vs the popup)",
        (ringing_us / popup_us - 1.0) * 100.0
    );

    instructions(emu.url(), if quick { 100 } else { 1000 });
    ring_all(&emu);
}

fn sample_emulator() -> Emulator {
    Emulator::start(Config {
        data: Data::sample(),
        log_limit: Some(1000),
        ..Config::default()
    })
    .expect("start the emulator")
}

fn client(url: &str) -> Client {
    let mut o = Options::default();
    for (k, v) in [("rate_limit", "0"), ("default_country_code", "91")] {
        o.set(k, v).unwrap();
    }
    Client::new(url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, o).expect("client")
}

fn popup(call: &str) -> Popup<'_> {
    Popup {
        source_number: CALLER,
        destination_number: "1001",
        display_number: "+91-8611795989",
        direction: Direction::Inbound,
        call_session_id: call,
        lead_id: LEAD,
        user_id: AGENT,
        tag: None,
    }
}

fn ringing(call: &str) -> Ringing<'_> {
    Ringing {
        caller_number: CALLER,
        agent_number: "1001",
        display_number: "+91-8611795989",
        direction: Direction::Inbound,
        call_session_id: call,
        user: AGENT,
        lead_id: None,
        tag: None,
    }
}

/// Opens the connection and fills the cache.
fn warm(c: &Client) {
    assert!(c.find_lead(CALLER).outcome.is_ok());
    assert!(c.show_agent_popup(&popup("warm")).outcome.is_ok());
}

/// The median of `n` timed calls, in µs.
fn per_call(n: usize, mut call: impl FnMut()) -> f64 {
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            call();
            t.elapsed()
        })
        .collect();
    samples.sort();
    samples[n / 2].as_secs_f64() * 1e6
}

/// The child process callgrind runs: warms up, then makes `LSQ_BENCH_N` calls.
fn child(what: &str) {
    let url = std::env::var("LSQ_BENCH_URL").expect("LSQ_BENCH_URL");
    let n: usize = std::env::var("LSQ_BENCH_N").unwrap().parse().unwrap();
    let c = client(&url);
    warm(&c);
    for _ in 0..n {
        match what {
            "popup" => assert!(c.show_agent_popup(&popup("p")).outcome.is_ok()),
            "lookup" => assert!(c.find_lead(CALLER).cached),
            "ringing" => assert!(c.agent_ringing(&ringing("r")).popup.outcome.is_ok()),
            other => panic!("unknown child {other}"),
        }
    }
}

/// Instructions per call (client side only: the emulator runs in this
/// process, the client in a child under callgrind).
fn instructions(url: &str, n: usize) {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("\nvalgrind not found: instructions skipped");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let count = |what: &str, calls: usize| -> f64 {
        let out = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(&exe)
            .env("LSQ_BENCH_CHILD", what)
            .env("LSQ_BENCH_URL", url)
            .env("LSQ_BENCH_N", calls.to_string())
            .output()
            .expect("run valgrind");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        err.lines()
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, v)| v.trim().to_string())
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no callgrind total in:\n{err}"))
    };
    println!(
        "\ninstructions per call (callgrind, client process, {n} vs {} calls):",
        2 * n
    );
    let mut popup = 0.0;
    for what in ["popup", "lookup", "ringing"] {
        let per = (count(what, 2 * n) - count(what, n)) / n as f64;
        if what == "popup" {
            popup = per;
        }
        println!("  {what:<28}  {per:>8.0}   ({:.2}x the popup)", per / popup);
    }
}

/// A ring-all: 10 agents rung at once for one caller, then again with the
/// lead cached. Counts what reached the server.
fn ring_all(emu: &Emulator) {
    let c = Arc::new(client(emu.url()));
    let count = |e: Endpoint| emu.count_for(e);
    let mut rounds = Vec::new();
    for round in 0..2 {
        let before = (count(Endpoint::LeadByPhone), count(Endpoint::Popup));
        let barrier = Arc::new(Barrier::new(10));
        let legs: Vec<_> = (0..10)
            .map(|leg| {
                let (c, barrier) = (c.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let call = format!("ring-all-{round}-{leg}");
                    let mut r = ringing(&call);
                    r.caller_number = "+91 98450 12345";
                    assert!(c.agent_ringing(&r).popup.outcome.is_ok());
                })
            })
            .collect();
        for leg in legs {
            leg.join().unwrap();
        }
        rounds.push((
            count(Endpoint::LeadByPhone) - before.0,
            count(Endpoint::Popup) - before.1,
        ));
    }
    println!("\nrequests for a ring-all of 10 agents for one caller:");
    println!(
        "  first call:  {} lookup(s) + {} popups",
        rounds[0].0, rounds[0].1
    );
    println!(
        "  lead cached: {} lookup(s) + {} popups",
        rounds[1].0, rounds[1].1
    );
}
