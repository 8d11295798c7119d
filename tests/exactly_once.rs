//! Every accepted async call's callback runs exactly once by the time the
//! client is freed, whatever was left: call logs whose agent is an e-mail
//! (resolved first) against a host refusing connections, with and without
//! an outbox, over many repetitions.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lsq::{CallLog, Client, Direction, Options};
use support::*;

/// A loopback port nothing listens on: bound, then closed.
fn refusing_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn call_log<'a>(call: &'a str, user: &'a str) -> CallLog<'a> {
    CallLog {
        user: Some(user),
        ..missed_call(call)
    }
}

fn run(user: &str, outbox: Option<&std::path::Path>, rounds: usize) {
    let url = refusing_url();
    for round in 0..rounds {
        let mut options = Options::default();
        options.set("shutdown_timeout_ms", "200").unwrap();
        if let Some(path) = outbox {
            options.set("outbox", path.to_str().unwrap()).unwrap();
        }
        let c = Client::new(&url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        for i in 0..4 {
            let calls = calls.clone();
            let id = format!("once-{round}-{i}");
            c.log_call_async(&call_log(&id, user), move |_| {
                calls.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        drop(c);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "round {round}: callbacks of 4 accepted call logs (user {user}, outbox {outbox:?})"
        );
    }
}

const EMAIL: &str = "priya.sharma@example.com";
const USER_ID: &str = "a484b8fc-0425-48f6-abf8-15af4cb65137";

#[test]
fn call_logs_with_an_e_mail_agent_call_back_once_at_free_without_an_outbox() {
    run(EMAIL, None, 30);
}

#[test]
fn call_logs_with_a_user_id_call_back_once_at_free_without_an_outbox() {
    run(USER_ID, None, 30);
}

#[test]
fn call_logs_with_an_e_mail_agent_call_back_once_at_free_with_an_outbox() {
    let dir = std::env::temp_dir().join(format!("lsq-once-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    run(EMAIL, Some(&dir.join("outbox.db")), 30);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every kind of accepted async call at once (popups, lookups, agents
/// ringing with an e-mail agent and a lookup, call logs), the host refusing
/// connections, then free: each callback ran exactly once when free returns.
fn run_every_kind(rounds: usize, slow: bool) {
    let url = refusing_url();
    let emu = slow.then(|| {
        let emu = default_emulator();
        emu.set_delay(std::time::Duration::from_millis(300));
        emu
    });
    for round in 0..rounds {
        let mut options = Options::default();
        options.set("shutdown_timeout_ms", "200").unwrap();
        options.set("rate_limit", "0").unwrap();
        let target = emu.as_ref().map_or(url.as_str(), |e| e.url());
        let c = Client::new(target, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
        let calls: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
        let count = |kind: usize| {
            let calls = calls.clone();
            move || {
                calls[kind].fetch_add(1, Ordering::SeqCst);
            }
        };
        for i in 0..3 {
            let id = format!("every-{round}-{i}");
            let mut popup = documented_popup(&id);
            popup.call_session_id = &id;
            let done = count(0);
            c.show_agent_popup_async(&popup, move |_| done()).unwrap();
            let done = count(1);
            c.find_lead_async(&format!("+91-86117959{i:02}"), move |_| done())
                .unwrap();
            let ringing = lsq::Ringing {
                caller_number: "+91-8611795988",
                agent_number: "1001",
                display_number: "+91-8611795989",
                direction: Direction::Inbound,
                call_session_id: &id,
                user: EMAIL,
                lead_id: None,
                tag: None,
            };
            let done = count(2);
            c.agent_ringing_async(&ringing, move |_| done()).unwrap();
            let done = count(3);
            c.log_call_async(&call_log(&id, EMAIL), move |_| done())
                .unwrap();
        }
        drop(c);
        let got: Vec<usize> = calls.iter().map(|n| n.load(Ordering::SeqCst)).collect();
        assert_eq!(
            got,
            [3, 3, 3, 3],
            "round {round}: callbacks of (popups, lookups, ringing, call logs), 3 accepted each"
        );
    }
}

#[test]
fn every_kind_of_async_call_calls_back_once_at_free() {
    run_every_kind(30, false);
}

/// The same with a slow server: requests are in flight when free cancels them.
#[test]
fn every_kind_of_async_call_calls_back_once_at_free_while_in_flight() {
    run_every_kind(10, true);
}
