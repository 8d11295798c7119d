//! The shipped example programs (examples-c/) compiled as the C tests are
//! (-Wall -Wextra -Wpedantic -Werror, through tests/support) and run against
//! the emulator with its sample data over loopback, as the demo runs them.

mod support;

use std::time::Duration;

use lsq_emulator::{Data, Endpoint};
use support::*;

fn sample_emulator() -> Emulator {
    emulator(Config {
        data: Data::sample(),
        ..Config::default()
    })
}

fn env_for(emu: &Emulator) -> [(&str, &str); 3] {
    [
        ("LSQ_HOST", emu.url()),
        ("LSQ_ACCESS_KEY", DEFAULT_ACCESS_KEY),
        ("LSQ_SECRET_KEY", DEFAULT_SECRET_KEY),
    ]
}

#[test]
fn connector_c_runs_a_whole_call() {
    let emu = sample_emulator();
    let exe = compile_source(&root().join("examples-c/connector.c"), Link::Dynamic);
    let outbox = std::env::temp_dir().join(format!("lsq-connector-{}.db", std::process::id()));
    let outbox_str = outbox.to_str().expect("utf-8 temp path");
    let out = run_c(
        &exe,
        &emu,
        &[
            env_for(&emu).as_slice(),
            &[
                ("LSQ_CALLER", "+91 86117 95988"),
                ("LSQ_OUTBOX", outbox_str),
            ],
        ]
        .concat(),
        Duration::from_secs(60),
    );
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let _ = std::fs::remove_file(format!("{outbox_str}{suffix}"));
    }
    assert_passed("connector", &out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Ananya Iyer"), "{stdout}");
    assert!(
        stdout.contains("outbox drained: 0 pending, 0 dead"),
        "{stdout}"
    );
    assert!(stdout.contains("lsq_"), "metrics printed: {stdout}");
    // One lookup for the whole call, a popup per agent, one call log.
    assert_eq!(emu.count_for_with_status(Endpoint::LeadByPhone, 200), 1);
    assert_eq!(emu.count_for_with_status(Endpoint::Popup, 200), 2);
    assert_eq!(emu.call_log_count(), 1);
    assert_no_key("stdout", &stdout);
}

#[test]
fn connector_c_fails_when_the_call_fails() {
    // A caller no lead has: no popup, so the exit status is not 0.
    let emu = sample_emulator();
    let exe = compile_source(&root().join("examples-c/connector.c"), Link::Dynamic);
    let env = env_for(&emu);
    let outbox = std::env::temp_dir().join(format!("lsq-connector-miss-{}.db", std::process::id()));
    let outbox_str = outbox.to_str().expect("utf-8 temp path");
    let out = run_c(
        &exe,
        &emu,
        &[
            env.as_slice(),
            &[
                ("LSQ_CALLER", "+1 202 555 0100"),
                ("LSQ_OUTBOX", outbox_str),
            ],
        ]
        .concat(),
        Duration::from_secs(60),
    );
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let _ = std::fs::remove_file(format!("{outbox_str}{suffix}"));
    }
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));
}

#[test]
fn show_popup_c_looks_up_rings_and_pops_up() {
    let emu = sample_emulator();
    let exe = compile_source(&root().join("examples-c/show_popup.c"), Link::Dynamic);
    let env = env_for(&emu);
    for args in [
        &[
            "--option",
            "default_country_code=91",
            "--lookup",
            "+91 86117 95988",
        ][..],
        &[
            "--option",
            "default_country_code=91",
            "--ring",
            "+91 86117 95988",
            "--user",
            "priya.sharma@example.com",
            "--destination",
            "1001",
        ][..],
        &[][..],
    ] {
        let out = run_c_args(&exe, &emu, args, &env);
        assert_passed("show_popup", &out);
    }
}

#[test]
fn show_popup_cpp_shows_a_popup() {
    let emu = sample_emulator();
    let exe = compile_source(&root().join("examples-c/show_popup_cpp.cpp"), Link::Dynamic);
    let out = run_c(&exe, &emu, &env_for(&emu), Duration::from_secs(60));
    assert_passed("show_popup_cpp", &out);
    assert_eq!(emu.count_for_with_status(Endpoint::Popup, 200), 1);
}

/// Runs `exe ARGS` with `env` (run_c takes no arguments).
fn run_c_args(
    exe: &std::path::Path,
    emu: &Emulator,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let _ = emu;
    std::process::Command::new(exe)
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run show_popup")
}
