//! Start, stop, slowness, waiting, and many clients at once.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use lsq_emulator::{Config, Emulator, Fault};

#[test]
fn url_port_and_addr_agree() {
    let emu = Emulator::start(Config::default()).unwrap();
    assert_eq!(emu.url(), format!("http://127.0.0.1:{}", emu.port()));
    assert_eq!(emu.addr().port(), emu.port());
    assert!(emu.addr().ip().is_loopback());
    assert_ne!(emu.port(), 0);
}

#[test]
fn dropping_closes_open_connections_and_returns_promptly() {
    let emu = Emulator::start(Config::default()).unwrap();
    let mut idle = Client::connect(emu.addr());
    assert_eq!(idle.roundtrip(&popup_request()).status, 200);
    // One connection waiting mid-answer in a long delay, one in a long trickle.
    emu.push_faults([
        Fault::Delay(Duration::from_secs(60)),
        Fault::Trickle {
            interval: Duration::from_secs(60),
            total_bytes: 10,
        },
    ]);
    let mut delayed = Client::connect(emu.addr());
    delayed.send(&popup_request());
    assert!(emu.wait_for_requests(2, TIMEOUT));
    let mut trickled = Client::connect(emu.addr());
    trickled.send(&popup_request());
    assert_eq!(trickled.read_head().unwrap().0, 200);
    let t = Instant::now();
    drop(emu);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(idle.closed());
    assert!(delayed.closed());
    assert!(trickled.closed());
}

#[test]
fn the_global_delay_slows_every_answer() {
    let emu = Emulator::start(Config {
        delay: Duration::from_millis(100),
        ..Config::default()
    })
    .unwrap();
    let mut c = Client::connect(emu.addr());
    let t = Instant::now();
    assert_eq!(c.roundtrip(&raw("GET", "/", &[], b"")).status, 404);
    assert!(t.elapsed() >= Duration::from_millis(100));
    emu.set_delay(Duration::ZERO);
    let t = Instant::now();
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    assert!(t.elapsed() < Duration::from_millis(100));
}

#[test]
fn many_clients_at_once_and_waiting_for_them() {
    let emu = Arc::new(Emulator::start(Config::default()).unwrap());
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let addr = emu.addr();
            thread::spawn(move || {
                let mut c = Client::connect(addr);
                for _ in 0..25 {
                    assert_eq!(c.roundtrip(&popup_request()).status, 200);
                }
            })
        })
        .collect();
    assert!(emu.wait_for_requests(200, TIMEOUT));
    assert!(emu.wait_for_status(200, 200, TIMEOUT));
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(emu.connections_accepted(), 8);
    assert_eq!(emu.request_count(), 200);
    // Waiting for more than will come times out.
    assert!(!emu.wait_for_requests(201, Duration::from_millis(10)));
    emu.clear_log();
    assert_eq!(emu.request_count(), 0);
    assert!(emu.requests().is_empty());
}

#[test]
fn idle_connections_are_closed_after_idle_timeout() {
    let emu = Emulator::start(Config {
        idle_timeout: Some(Duration::from_millis(100)),
        ..Config::default()
    })
    .unwrap();
    let mut c = Client::connect(emu.addr());
    assert_eq!(c.roundtrip(&popup_request()).status, 200);
    let t = Instant::now();
    assert!(c.closed());
    assert!(t.elapsed() >= Duration::from_millis(90));
}

#[test]
fn a_bad_configuration_is_refused() {
    let e = Emulator::start(Config {
        limit_status: 500,
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let taken = Emulator::start(Config::default()).unwrap();
    let e = Emulator::start(Config {
        bind: taken.addr(),
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn config_debug_hides_the_keys() {
    let cfg = Config::default();
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains(&cfg.access_key));
    assert!(!dbg.contains(&cfg.secret_key));
}
