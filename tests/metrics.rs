//! `Client::metrics` (the text of `lsq_client_metrics`) read by a real,
//! independent parser: Python's `prometheus_client` (Debian's
//! `python3-prometheus-client`), after popups, lookups, call logs (delivered
//! and dead), a retried popup and a rate-limit answer. Every family must
//! come out with its type and its samples: none untyped, none empty.
//! Also: `lsq_stats.retries` counts popup requests only.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lsq::{CallLog, CallStatus, Client, Direction, ErrorKind, Options, Report};
use lsq_emulator::{Data, Endpoint, Fault};
use support::*;

const PRIYA: &str = "a484b8fc-0425-48f6-abf8-15af4cb65137";

/// Families as the parser names them (a counter without `_total`), with their type.
fn parse(text: &str) -> Vec<(String, String, usize)> {
    const SCRIPT: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    print(f.name, f.type, len(f.samples))
"#;
    // Debian's own Python, where python3-prometheus-client installs.
    let mut child = Command::new(if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    })
    .args(["-c", SCRIPT])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "the metrics test needs a real Prometheus parser: apt-get install python3-prometheus-client"
    );
    assert!(
        out.status.success(),
        "the parser refused the text: {stderr}\n{text}"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut parts = line.split(' ');
            let name = parts.next().unwrap().to_owned();
            let kind = parts.next().unwrap().to_owned();
            let samples = parts.next().unwrap().parse().unwrap();
            (name, kind, samples)
        })
        .collect()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn call_log(call: &str) -> CallLog<'_> {
    let end = now() - 5;
    CallLog {
        source_number: "+91-8611795988",
        destination_number: "1001",
        display_number: "+91-8611795989",
        direction: Direction::Inbound,
        call_session_id: call,
        status: CallStatus::Answered,
        start_time: end - 95,
        end_time: end,
        duration_s: 80,
        user: Some(PRIYA),
        lead_id: None,
        resource_url: None,
        caller_source: None,
        tag: None,
    }
}

#[test]
fn a_real_parser_reads_every_family_with_its_type() {
    let emu = emulator(Config {
        data: Data::sample(),
        ..Config::default()
    });
    let dir = std::env::temp_dir().join(format!("lsq-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let outbox = dir.join("outbox.db");
    let mut options = Options::default();
    for (k, v) in [
        ("outbox", outbox.to_str().unwrap()),
        ("default_country_code", "91"),
        ("rate_limit", "0"),
    ] {
        options.set(k, v).unwrap();
    }
    let c = Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();

    // A popup retried once after a 503, and one after a rate-limit answer.
    emu.push_faults_for(Endpoint::Popup, [Fault::status(503), Fault::status(429)]);
    assert!(c.show_agent_popup(&documented_popup("m-1")).outcome.is_ok());
    assert!(c.show_agent_popup(&documented_popup("m-2")).outcome.is_ok());
    // Lookups: found, then from the cache.
    assert!(c.find_lead("+91 86117 95988").outcome.is_ok());
    assert!(c.find_lead("08611795988").cached);
    // A call log delivered and one dead (400).
    let (tx, rx) = mpsc::channel::<Report>();
    let t = tx.clone();
    c.log_call_async(&call_log("m-log-1"), move |r| t.send(r).unwrap())
        .unwrap();
    assert!(rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap()
        .outcome
        .is_ok());
    emu.push_fault_for(
        Endpoint::LogCall,
        Fault::json_error(400, "MXInvalidInputException", "Invalid StartTime"),
    );
    c.log_call_async(&call_log("m-log-2"), move |r| tx.send(r).unwrap())
        .unwrap();
    let dead = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(dead.error_kind(), Some(ErrorKind::BadRequest));

    let text = c.metrics();
    let families = parse(&text);
    let family = |name: &str| {
        families
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no family {name} in:\n{text}"))
    };
    for (name, kind) in [
        ("lsq_popups", "counter"),
        ("lsq_lookups", "counter"),
        ("lsq_lookup_cache_hits", "counter"),
        ("lsq_lookup_requests", "counter"),
        ("lsq_call_logs_accepted", "counter"),
        ("lsq_call_logs_delivered", "counter"),
        ("lsq_call_logs_dead", "counter"),
        ("lsq_call_logs_pending", "gauge"),
        ("lsq_call_logs_dead_stored", "gauge"),
        ("lsq_requests", "counter"),
        ("lsq_request_duration_seconds", "histogram"),
        ("lsq_rate_limited", "counter"),
        ("lsq_retries", "counter"),
        ("lsq_rate_limit_requests", "gauge"),
        ("lsq_queued", "gauge"),
        ("lsq_in_flight", "gauge"),
        ("lsq_waiting_for_slot", "gauge"),
    ] {
        let (_, got, samples) = family(name);
        assert_eq!(got, kind, "{name}'s type in:\n{text}");
        assert!(*samples > 0, "{name} has no samples in:\n{text}");
    }
    for (name, kind, samples) in &families {
        assert_ne!(kind, "unknown", "{name} is untyped in:\n{text}");
        assert!(*samples > 0, "{name} has no samples in:\n{text}");
    }
    // The histogram: one series per endpoint used, its count the requests made.
    assert!(
        text.contains("lsq_request_duration_seconds_count{endpoint=\"ShowAgentPopup\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("lsq_request_duration_seconds_bucket{endpoint=\"LogCall\",le=\"+Inf\"} 2"),
        "{text}"
    );
    // lsq_stats.retries: the popups' retries (2), not the other endpoints'.
    assert_eq!(c.stats().retries, 2);
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A lookup retried does not count in `lsq_stats.retries`
/// ("requests beyond the first, over all popups"); the metrics count them.
#[test]
fn stats_retries_count_popups_only() {
    let emu = emulator(Config {
        data: Data::sample(),
        ..Config::default()
    });
    let mut options = Options::default();
    options.set("default_country_code", "91").unwrap();
    options.set("rate_limit", "0").unwrap();
    let c = Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
    emu.push_faults_for(Endpoint::LeadByPhone, [Fault::status(503)]);
    assert!(c.find_lead("+91 86117 95988").outcome.is_ok());
    assert_eq!(c.stats().retries, 0, "{}", c.metrics());
    assert!(
        c.metrics().contains("lsq_retries_total 1"),
        "{}",
        c.metrics()
    );
}
