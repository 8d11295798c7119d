//! Call logs through the Rust API over loopback against the emulator: the
//! exact LogCall body, retries and dead letters, the outbox across clients,
//! one client per outbox, refused files, popups before logs under a tight
//! budget, and durability under SIGKILL (a child process killed at random
//! moments; a new client on its outbox delivers everything).

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lsq::{CallLog, CallStatus, Client, Direction, ErrorKind, Options, Report};
use lsq_emulator::{Data, Endpoint};
use support::*;

const PRIYA: &str = "a484b8fc-0425-48f6-abf8-15af4cb65137";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn log(call: &str) -> CallLog<'_> {
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
        user: None,
        lead_id: None,
        resource_url: None,
        caller_source: None,
        tag: None,
    }
}

fn temp_outbox(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lsq-call-log-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("outbox.db")
}

fn client(url: &str, settings: &[(&str, &str)]) -> Result<Client, lsq::Error> {
    let mut options = Options::default();
    for (k, v) in settings {
        options.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    Client::new(url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options)
}

fn sample_emulator() -> Emulator {
    emulator(Config {
        data: Data::sample(),
        ..Config::default()
    })
}

#[test]
fn the_log_call_body_is_exact_and_the_agent_e_mail_is_resolved() {
    let emu = sample_emulator();
    let c = client(emu.url(), &[]).unwrap();
    let start = now() - 100;
    let full = CallLog {
        start_time: start,
        end_time: start + 90,
        duration_s: 75,
        status: CallStatus::Missed,
        user: Some("priya.sharma@example.com"),
        lead_id: Some("e6293922-cabc-4f87-a045-86f60b4ebdaf"),
        resource_url: Some("https://pbx.example.com/recordings/1700000000.42.wav"),
        caller_source: Some("IVR"),
        tag: Some("support"),
        ..log("exact-1")
    };
    let r = c.log_call(&full);
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    let r = c.log_call(&log("exact-2"));
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    let logs = emu.call_logs();
    assert_eq!(logs.len(), 2);
    let body: serde_json::Value =
        serde_json::from_slice(&emu.requests_for(Endpoint::LogCall)[0].body).unwrap();
    let utc = |t: i64| {
        // The emulator checks the format; here the values are computed independently.
        let out = Command::new("date")
            .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%d %H:%M:%S"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(
        body,
        serde_json::json!({
            "SourceNumber": "+91-8611795988",
            "DestinationNumber": "1001",
            "DisplayNumber": "+91-8611795989",
            "Direction": "Inbound",
            "CallSessionId": "exact-1",
            "Status": "Missed",
            "StartTime": utc(start),
            "EndTime": utc(start + 90),
            "CallDuration": 75,
            "UserId": PRIYA,
            "LeadId": "e6293922-cabc-4f87-a045-86f60b4ebdaf",
            "ResourceURL": "https://pbx.example.com/recordings/1700000000.42.wav",
            "CallerSource": "IVR",
            "Tag": "support"
        })
    );
    let minimal: serde_json::Value =
        serde_json::from_slice(&emu.requests_for(Endpoint::LogCall)[1].body).unwrap();
    assert_eq!(minimal.as_object().unwrap().len(), 9, "{minimal}");
    assert_eq!(c.outbox_count().unwrap(), (0, 0));
}

#[test]
fn invalid_logs_are_refused_before_anything_is_stored() {
    let emu = sample_emulator();
    let c = client(emu.url(), &[]).unwrap();
    for (bad, field) in [
        (
            CallLog {
                call_session_id: "",
                ..log("x")
            },
            "call_session_id",
        ),
        (
            CallLog {
                end_time: 0,
                ..log("x")
            },
            "end_time",
        ),
        (
            CallLog {
                duration_s: 10_000,
                ..log("x")
            },
            "duration_s",
        ),
        (
            CallLog {
                resource_url: Some("recording.wav"),
                ..log("x")
            },
            "resource_url",
        ),
        (
            CallLog {
                user: Some("nobody"),
                ..log("x")
            },
            "user",
        ),
    ] {
        let e = c
            .log_call_async(&bad, |_| panic!("never called"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().starts_with(field), "{}", e.message());
        assert_eq!(
            c.log_call(&bad).error_kind(),
            Some(ErrorKind::InvalidArgument)
        );
    }
    assert_eq!(c.outbox_count().unwrap(), (0, 0));
    assert_eq!(emu.count_for(Endpoint::LogCall), 0);
}

/// A 400 is a dead letter (kept with its status and reason); a 503, a 401
/// and a dropped connection are retried until delivered.
#[test]
fn retries_and_dead_letters() {
    let emu = sample_emulator();
    let path = temp_outbox("retries");
    let c = client(
        emu.url(),
        &[
            ("outbox", path.to_str().unwrap()),
            ("log_retry_max_ms", "1000"),
        ],
    )
    .unwrap();
    emu.push_fault_for(
        Endpoint::LogCall,
        Fault::json_error(400, "MXInvalidInputException", "Invalid StartTime"),
    );
    let (tx, rx) = mpsc::channel::<Report>();
    let t = tx.clone();
    c.log_call_async(&log("dead-1"), move |r| t.send(r).unwrap())
        .unwrap();
    let dead = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(dead.error_kind(), Some(ErrorKind::BadRequest));
    assert_eq!(c.outbox_count().unwrap(), (0, 1));
    let listed = lsq::outbox::Outbox::open_for_ops(&path)
        .unwrap()
        .list(lsq::outbox::Which::Dead, 10)
        .unwrap();
    assert_eq!(listed[0].last_status, 400);
    assert!(listed[0].last_reason.contains("Invalid StartTime"));

    emu.push_faults_for(
        Endpoint::LogCall,
        [
            Fault::status(503),
            Fault::json_error(401, "MXUnAuthorizedAccessException", "Invalid keys"),
            Fault::Drop,
        ],
    );
    let t = tx.clone();
    c.log_call_async(&log("retried-1"), move |r| t.send(r).unwrap())
        .unwrap();
    let delivered = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(delivered.outcome.is_ok(), "{:?}", delivered.outcome);
    assert_eq!(emu.call_logs_for("retried-1").len(), 1);
    assert_eq!(emu.count_for(Endpoint::LogCall), 5);
    assert_eq!(c.outbox_count().unwrap(), (0, 1));
    let metrics = c.metrics();
    assert!(
        metrics.contains("lsq_call_logs_delivered_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("lsq_call_logs_dead_stored 1"), "{metrics}");
    assert!(
        metrics.contains("lsq_call_log_retries_total 3"),
        "{metrics}"
    );
}

/// 40 logs accepted while the server fails; the client is freed; a new
/// client on the same outbox delivers all 40. One client per outbox.
#[test]
fn pending_logs_are_sent_by_the_next_client_on_the_outbox() {
    let emu = sample_emulator();
    let path = temp_outbox("next-client");
    let outbox = ("outbox", path.to_str().unwrap());
    {
        let failing = client(
            "http://127.0.0.1:1",
            &[outbox, ("shutdown_timeout_ms", "200")],
        )
        .unwrap();
        for i in 0..40 {
            failing
                .log_call_async(&log(&format!("later-{i}")), |_| {})
                .unwrap();
        }
        let second = client(emu.url(), &[outbox]).expect_err("one client per outbox");
        assert_eq!(second.kind(), ErrorKind::Storage);
        assert!(second.message().contains("locked"), "{}", second.message());
    }
    let c = client(emu.url(), &[outbox]).unwrap();
    assert!(
        emu.wait_for_call_logs(40, Duration::from_secs(60)),
        "{} delivered",
        emu.call_log_count()
    );
    for i in 0..40 {
        assert_eq!(
            emu.call_logs_for(&format!("later-{i}")).len(),
            1,
            "later-{i}"
        );
    }
    let stop = Instant::now() + Duration::from_secs(10);
    while c.outbox_count().unwrap() != (0, 0) {
        assert!(
            Instant::now() < stop,
            "still pending: {:?}",
            c.outbox_count()
        );
        c.flush(Duration::from_secs(5)).unwrap();
    }
}

#[test]
fn a_foreign_or_corrupt_outbox_is_refused_at_creation() {
    let dir = temp_outbox("foreign").parent().unwrap().to_path_buf();
    let garbage = dir.join("garbage.db");
    std::fs::write(&garbage, b"this is not a database, just some bytes").unwrap();
    let missing_dir = dir.join("no/such/dir/outbox.db");
    for path in [garbage.as_path(), missing_dir.as_path(), dir.as_path()] {
        let e = client("http://127.0.0.1:1", &[("outbox", path.to_str().unwrap())])
            .expect_err("refused");
        assert_eq!(
            e.kind(),
            ErrorKind::Storage,
            "{}: {}",
            path.display(),
            e.message()
        );
        assert!(
            e.message().contains(path.to_str().unwrap()),
            "{}",
            e.message()
        );
    }
}

/// Under a 2-per-second budget, 4 popups submitted after 12 call logs go
/// before all but the logs already in flight.
#[test]
fn popups_go_before_queued_logs_under_a_tight_budget() {
    let emu = emulator(Config {
        data: Data::sample(),
        rate_limit: Some((2, Duration::from_secs(1))),
        ..Config::default()
    });
    let c = client(emu.url(), &[("rate_limit", "2/1"), ("max_age_ms", "20000")]).unwrap();
    let (tx, rx) = mpsc::channel::<Report>();
    for i in 0..12 {
        let t = tx.clone();
        c.log_call_async(&log(&format!("log-{i}")), move |r| t.send(r).unwrap())
            .unwrap();
    }
    for i in 0..4 {
        let t = tx.clone();
        let call = format!("popup-{i}");
        c.show_agent_popup_async(&documented_popup(&call), move |r| t.send(r).unwrap())
            .unwrap();
    }
    drop(tx);
    let reports: Vec<Report> = rx.iter().collect();
    assert_eq!(reports.len(), 16);
    assert!(reports.iter().all(|r| r.outcome.is_ok()), "{reports:?}");
    assert_eq!(emu.count_with_status(429), 0);
    let order: Vec<Endpoint> = emu.requests().iter().filter_map(|r| r.endpoint).collect();
    let last_popup = order.iter().rposition(|e| *e == Endpoint::Popup).unwrap();
    let logs_before = order[..last_popup]
        .iter()
        .filter(|e| **e == Endpoint::LogCall)
        .count();
    println!("arrival order: {order:?}");
    assert!(
        logs_before <= 2,
        "{logs_before} logs went before the last popup: {order:?}"
    );
}

/// The child side of the crash test: logs calls into the outbox as fast as
/// it can, printing each CallSessionId once `log_call_async` returned LSQ_OK
/// (stored and synced), until it is killed.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var("LSQ_CRASH_OUTBOX") else {
        return;
    };
    let url = std::env::var("LSQ_CRASH_URL").unwrap();
    let run = std::env::var("LSQ_CRASH_RUN").unwrap();
    let c = client(&url, &[("outbox", &path), ("log_retry_max_ms", "1000")]).unwrap();
    let mut out = std::io::stdout();
    for i in 0.. {
        let call = format!("crash-{run}-{i}");
        c.log_call_async(&log(&call), |_| {}).unwrap();
        use std::io::Write;
        writeln!(out, "{call}").unwrap();
        out.flush().unwrap();
    }
}

/// Durability by SIGKILL: a child logging under a failing-then-working
/// server is killed at random moments, 20 times; then a client on the same
/// outbox delivers every log the child was told was stored. 0 lost;
/// duplicates (delivered, then killed before marking it) are counted.
#[test]
fn no_call_log_is_lost_when_the_process_is_killed() {
    let runs: usize = std::env::var("LSQ_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let emu = emulator(Config {
        log_limit: Some(10_000),
        ..Config::default()
    });
    let path = temp_outbox("crash");
    let exe = std::env::current_exe().unwrap();
    let mut accepted = Vec::new();
    for run in 0..runs {
        // Half the answers fail, so logs are pending and in flight when it dies.
        emu.push_faults_for(Endpoint::LogCall, (0..20).map(|_| Fault::status(503)));
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("LSQ_CRASH_OUTBOX", &path)
            .env("LSQ_CRASH_URL", emu.url())
            .env("LSQ_CRASH_RUN", run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let kill_after = 5 + fastrand::usize(..60);
        let mut seen = 0;
        while seen < kill_after {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("crash-") => {
                    accepted.push(line);
                    seen += 1;
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
                               // What it printed before the signal landed was stored too.
        for line in lines.map_while(Result::ok) {
            if line.starts_with("crash-") {
                accepted.push(line);
            }
        }
        child.wait().unwrap();
    }
    emu.clear_faults();
    // No rate limit: this proves durability, and the default 25 per 5 s
    // made draining 2000 logs take minutes.
    let c = client(
        emu.url(),
        &[
            ("outbox", path.to_str().unwrap()),
            ("log_retry_max_ms", "1000"),
            ("rate_limit", "0"),
        ],
    )
    .unwrap();
    let lost: Vec<&String> = accepted
        .iter()
        .filter(|call| !emu.wait_for_call_logs_for(call, 1, Duration::from_secs(120)))
        .collect();
    // Every delivery is marked in the outbox once its worker is done.
    let stop = Instant::now() + Duration::from_secs(60);
    while c.outbox_count().unwrap().0 > 0 {
        assert!(
            Instant::now() < stop,
            "still pending: {:?}",
            c.outbox_count()
        );
        c.flush(Duration::from_secs(5)).unwrap();
    }
    let received = emu.call_log_count();
    let distinct: std::collections::HashSet<String> = emu
        .call_logs()
        .into_iter()
        .map(|l| l.call_session_id)
        .collect();
    println!(
        "crash test: {runs} kills, {} logs accepted, {received} deliveries, {} distinct, {} duplicates, {} lost",
        accepted.len(),
        distinct.len(),
        received - distinct.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert_eq!(c.outbox_count().unwrap().1, 0, "none dead");
}

/// Sixteen threads logging at once: every log stored and delivered once.
#[test]
fn sixteen_threads_log_at_once() {
    let emu = sample_emulator();
    let path = temp_outbox("sixteen");
    let c = std::sync::Arc::new(client(emu.url(), &[("outbox", path.to_str().unwrap())]).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    c.log_call_async(&log(&format!("t{t}-{i}")), |r| {
                        assert!(r.outcome.is_ok(), "{:?}", r.outcome)
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(emu.wait_for_call_logs(160, Duration::from_secs(120)));
    c.flush(Duration::from_secs(30)).unwrap();
    for t in 0..16 {
        for i in 0..10 {
            assert_eq!(emu.call_logs_for(&format!("t{t}-{i}")).len(), 1, "t{t}-{i}");
        }
    }
    assert_eq!(c.outbox_count().unwrap(), (0, 0));
}

/// The child of the full-disk test, inside its own mount namespace with a
/// tiny tmpfs at LSQ_FULL_DIR: logs (the server failing, so nothing leaves
/// the outbox) until a log is refused with Storage; then checks that every
/// log accepted before is still in the outbox, and that the refusal said why.
#[test]
fn full_disk_child() {
    let Ok(dir) = std::env::var("LSQ_FULL_DIR") else {
        return;
    };
    let path = format!("{dir}/outbox.db");
    let c = client(
        "http://127.0.0.1:1",
        &[("outbox", &path), ("shutdown_timeout_ms", "100")],
    )
    .unwrap();
    let tag = "x".repeat(200); // bigger records fill the disk sooner
    let mut accepted = 0u64;
    let refusal = loop {
        let mut l = log("full");
        l.tag = Some(&tag);
        match c.log_call_async(&l, |_| {}) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 1_000_000, "the disk never filled");
    };
    assert_eq!(refusal.kind(), ErrorKind::Storage, "{}", refusal.message());
    assert!(refusal.message().contains(&path), "{}", refusal.message());
    drop(c);
    let (pending, dead) = lsq::outbox::Outbox::open_for_ops(&path)
        .unwrap()
        .counts()
        .unwrap();
    println!(
        "FULL accepted={accepted} pending={pending} dead={dead} refusal={}",
        refusal.message()
    );
    assert_eq!(pending + dead, accepted, "an accepted log was lost");
}

/// A full disk (a 256 KiB tmpfs, in a mount namespace made with
/// `unshare -m`, as root in CI) gives LSQ_ERR_STORAGE and loses nothing
/// accepted before.
#[test]
fn a_full_disk_is_a_storage_error_and_loses_nothing() {
    let permitted = Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !permitted {
        eprintln!("skipped: `unshare -m` is not permitted here (CI runs it as root)");
        return;
    }
    let dir = temp_outbox("full").parent().unwrap().to_path_buf();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs '{}' && exec '{}' --exact full_disk_child --nocapture --test-threads=1",
        dir.display(),
        exe.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("LSQ_FULL_DIR", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.contains("FULL accepted="))
        .unwrap_or("");
    println!("{line}");
    assert!(
        line.contains("FULL accepted="),
        "the child did not run: {text}"
    );
}
