//! Every accepted async call's callback runs exactly once by the time the
//! client is freed, whatever was left: call logs whose agent is an e-mail
//! (resolved first) against a host refusing connections, with and without
//! an outbox, over many repetitions.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lsq::{CallLog, CallStatus, Client, Direction, Options};
use support::*;

/// A loopback port nothing listens on: bound, then closed.
fn refusing_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn call_log<'a>(call: &'a str, user: &'a str) -> CallLog<'a> {
    let end = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 5;
    CallLog {
        source_number: "+91-8611795988",
        destination_number: "1001",
        display_number: "+91-8611795989",
        direction: Direction::Inbound,
        call_session_id: call,
        status: CallStatus::Missed,
        start_time: end - 30,
        end_time: end,
        duration_s: 0,
        user: Some(user),
        lead_id: None,
        resource_url: None,
        caller_source: None,
        tag: None,
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
