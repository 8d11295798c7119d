//! The C API exercised by C programs (tests/c/*.c), compiled with
//! -std=c99 -Wall -Wextra -Wpedantic -Werror and run against the emulator
//! over loopback.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn blocking_statuses() {
    let emu = default_emulator();
    // The order tests/c/blocking.c expects, one per request that reaches a fault.
    emu.push_faults([
        Fault::json_error(400, "MXInvalidInputException", "Invalid LeadId"),
        Fault::status(404),
        Fault::json_error(
            500,
            "NullReferenceException",
            "Object reference not set to an instance of an object.",
        ),
        Fault::status(503),
        Fault::status(418),
        Fault::Redirect {
            code: 302,
            location: "http://127.0.0.1:1/elsewhere".into(),
        },
        Fault::Status {
            code: 200,
            body: b"<html>ok</html>".to_vec(),
            headers: vec![],
        },
        Fault::json_error(200, "MXLeadNotFoundException", "Lead not found"),
        Fault::Drop,
        Fault::Trickle {
            interval: Duration::from_millis(50),
            total_bytes: 400,
        },
        Fault::Huge {
            bytes: 10 * 1024 * 1024,
        },
        Fault::ForbiddenLimit,
        Fault::status(502),
        Fault::RateLimited {
            retry_after: Some("1".into()),
        },
    ]);
    let exe = compile_c("blocking", Link::Static);
    let out = run_c(&exe, &emu, &[], Duration::from_secs(60));
    assert_passed("blocking", &out);
    assert_eq!(emu.pending_faults(), 0, "every fault was reached");
    assert_no_key("stdout", &String::from_utf8_lossy(&out.stdout));
    assert_no_key("stderr", &String::from_utf8_lossy(&out.stderr));
}

#[test]
fn async_exactly_once_queue_full_dedup_and_misuse() {
    let emu = default_emulator();
    let exe = compile_c("async", Link::Static);
    let out = run_c(&exe, &emu, &[], Duration::from_secs(120));
    assert_passed("async", &out);
    // 800 from the threads, 3 in the queue test, 2 in the dedup test.
    assert_eq!(emu.count_with_status(200), 800 + 3 + 2);
}

/// Runs tests/c/rate_limit.c in `mode` against a server limiting to `n` per second.
fn run_rate_limit(n: u32, mode: &str) -> (Emulator, std::process::Output) {
    let emu = emulator(Config {
        rate_limit: Some((n, Duration::from_secs(1))),
        ..Config::default()
    });
    let exe = compile_c("rate_limit", Link::Static);
    let out = run_c(
        &exe,
        &emu,
        &[("LSQ_TEST_MODE", mode)],
        Duration::from_secs(60),
    );
    (emu, out)
}

#[test]
fn rate_limit_steady_never_trips_the_server() {
    let (emu, out) = run_rate_limit(5, "steady");
    let requests = emu.requests();
    let t0 = requests.first().map(|r| r.arrived);
    let arrivals: Vec<String> = requests
        .iter()
        .map(|r| format!("{}ms:{}", (r.arrived - t0.unwrap()).as_millis(), r.status))
        .collect();
    assert_passed("rate_limit steady", &out);
    assert_eq!(
        emu.count_with_status(429),
        0,
        "the server answered 429: {arrivals:?}"
    );
    assert_eq!(emu.count_with_status(200), 15);
}

#[test]
fn rate_limit_is_learned_from_the_server() {
    let (emu, out) = run_rate_limit(3, "learn");
    assert_passed("rate_limit learn", &out);
    let limited = emu.count_with_status(429);
    assert!(limited <= 3, "{limited} rate-limit answers");
    assert_eq!(emu.count_with_status(200), 24);
}

#[test]
fn free_over_pending_popups_on_a_slow_server() {
    let emu = emulator(Config {
        delay: Duration::from_millis(1000),
        ..Config::default()
    });
    let exe = compile_c("shutdown", Link::Dynamic);
    let out = run_c(&exe, &emu, &[], Duration::from_secs(60));
    assert_passed("shutdown", &out);
}

/// The header compiles warning-free as C99 and as C++11 (inside extern "C").
#[test]
fn header_compiles_as_c99_and_cpp11() {
    let header = root().join("include/lsq.h");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let c99 = std::process::Command::new(&cc)
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-fsyntax-only",
            "-x",
            "c",
        ])
        .arg(&header)
        .output()
        .expect("run the C compiler");
    assert!(
        c99.status.success(),
        "C99: {}",
        String::from_utf8_lossy(&c99.stderr)
    );
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let cpp11 = std::process::Command::new(&cxx)
        .args([
            "-std=c++11",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-fsyntax-only",
            "-x",
            "c++",
        ])
        .arg(&header)
        .output();
    match cpp11 {
        Ok(out) => assert!(
            out.status.success(),
            "C++11: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        // CI installs g++ (.ci/run); a machine without a C++ compiler cannot check this part.
        Err(e) => eprintln!("C++11 check not run: {cxx}: {e}"),
    }
}

/// lsq_flush on one thread returns when another thread's blocking popup
/// ends (the server answers in 400 ms), not at flush's own 5 s timeout.
#[test]
fn flush_returns_when_a_blocking_popup_on_another_thread_ends() {
    let emu = emulator(Config {
        delay: Duration::from_millis(400),
        ..Config::default()
    });
    let exe = compile_c("foundations", Link::Static);
    let out = run_c(
        &exe,
        &emu,
        &[("LSQ_TEST_MODE", "flush")],
        Duration::from_secs(60),
    );
    assert_passed("foundations flush", &out);
    assert_eq!(emu.count_with_status(200), 1);
}

/// Keys of one letter are refused with a reason; short legal keys never
/// mangle a message.
#[test]
fn short_keys_are_refused_and_never_mangle_messages() {
    let emu = default_emulator();
    let exe = compile_c("foundations", Link::Static);
    let out = run_c(
        &exe,
        &emu,
        &[("LSQ_TEST_MODE", "short_keys")],
        Duration::from_secs(60),
    );
    assert_passed("foundations short_keys", &out);
}

/// A host that does not resolve: LSQ_ERR_CONNECT naming the host and the
/// cause. Run in an empty network namespace (`unshare -n`, as root in CI),
/// so the DNS query cannot leave the machine.
#[test]
fn a_dns_failure_names_the_host() {
    let isolated = std::process::Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !isolated {
        eprintln!("skipped: `unshare -n` is not permitted here (CI runs it as root)");
        return;
    }
    let emu = default_emulator();
    let exe = compile_c("foundations", Link::Static);
    let out = run_c_under(
        &["unshare", "-n"],
        &exe,
        &emu,
        &[("LSQ_TEST_MODE", "dns")],
        Duration::from_secs(60),
    );
    assert_passed("foundations dns", &out);
}

/// tests/c/lookup.c: every status of lsq_find_lead and lsq_agent_ringing,
/// the lead's fields, the cache, unknown callers created, async callbacks.
#[test]
fn lookup_and_ringing_statuses() {
    use lsq_emulator::{Data, Endpoint};
    let emu = emulator(Config {
        data: Data::sample(),
        ..Config::default()
    });
    // One per lookup of +91 98765 43210 in find_lead_statuses, in order.
    emu.push_faults_for(
        Endpoint::LeadByPhone,
        [
            Fault::status(404),
            Fault::json_error(500, "MXServerException", "An error occurred"),
            Fault::status(418),
            Fault::Status {
                code: 200,
                body: br#"{"not":"an array"}"#.to_vec(),
                headers: vec![],
            },
            Fault::RateLimited200,
            Fault::Delay(Duration::from_millis(1500)),
            Fault::Drop,
        ],
    );
    let exe = compile_c("lookup", Link::Static);
    let out = run_c(&exe, &emu, &[], Duration::from_secs(120));
    assert_passed("lookup", &out);
    assert_eq!(emu.pending_faults(), 0, "every fault was reached");
    assert_no_key("stdout", &String::from_utf8_lossy(&out.stdout));
    assert_no_key("stderr", &String::from_utf8_lossy(&out.stderr));
    // The ringing test's popups: 1 + the lead_id one + 10 async.
    assert_eq!(emu.count_for_with_status(Endpoint::Popup, 200), 12);
    assert_eq!(emu.count_for(Endpoint::LeadCreate), 1);
}

/// tests/c/call_log.c: call logs from C with an outbox file: delivered,
/// missed, invalid, a dead letter, async callbacks once, outbox counts,
/// metrics, one client per outbox.
#[test]
fn call_logs_from_c() {
    use lsq_emulator::{Data, Endpoint};
    let emu = emulator(Config {
        data: Data::sample(),
        ..Config::default()
    });
    // The first log sent (c-log-dead) is refused: a dead letter.
    emu.push_fault_for(
        Endpoint::LogCall,
        Fault::json_error(400, "MXInvalidInputException", "Invalid CallSessionId"),
    );
    let tmp = std::env::temp_dir().join(format!("lsq-c-call-log-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let exe = compile_c("call_log", Link::Static);
    let out = run_c(
        &exe,
        &emu,
        &[("LSQ_TEST_TMPDIR", tmp.to_str().unwrap())],
        Duration::from_secs(120),
    );
    assert_passed("call_log", &out);
    assert_no_key("stdout", &String::from_utf8_lossy(&out.stdout));
    assert_no_key("stderr", &String::from_utf8_lossy(&out.stderr));
    assert_eq!(emu.call_log_count(), 12);
    let first = &emu.call_logs_for("c-log-1")[0];
    assert_eq!(
        first.field("UserId"),
        Some("a484b8fc-0425-48f6-abf8-15af4cb65137")
    );
    assert_eq!(
        first.field("ResourceURL"),
        Some("https://pbx.example.com/rec/c-log-1.wav")
    );
    assert_eq!(
        emu.call_logs_for("c-log-2")[0].field("Status"),
        Some("Missed")
    );
}
