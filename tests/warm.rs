//! Warm connections (`warm_connections`), over real loopback TCP and TLS
//! against the emulator: the warm-up sends no request, the first popup uses
//! it, an idle close is followed by a new warm connection, TLS sessions
//! resume, free stops the warmer in time, nothing leaks over many idle
//! closes, a server refusing warm-ups makes no busy loop, and 0 opens
//! nothing. Every wait is on a condition; the only fixed spans are
//! observation windows (a count that must stay bounded during them).
//!
//! The tests run one at a time (they count the process's threads and
//! descriptors).

#[path = "support/ffi.rs"]
mod ffi;
#[allow(unused_imports)] // Fault: not needed here
mod support;

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lsq::{Client, Level, Logger, Options};
use lsq_emulator::TlsIdentity;
use support::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Log lines, collected.
#[derive(Default)]
struct Lines(Mutex<Vec<(Level, String)>>);

impl Lines {
    fn matching(&self, needle: &str) -> Vec<(Level, String)> {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .filter(|(_, l)| l.contains(needle))
            .cloned()
            .collect()
    }
}

fn options(settings: &[(&str, &str)], lines: &Arc<Lines>) -> Options {
    let mut o = Options::default();
    for (k, v) in [("proxy", "none"), ("rate_limit", "0"), ("max_retries", "0")] {
        o.set(k, v).unwrap();
    }
    for (k, v) in settings {
        o.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    let sink = Arc::clone(lines);
    o.logger = Logger::new(Arc::new(move |level, line: &str| {
        sink.0.lock().unwrap().push((level, line.to_string()))
    }));
    o
}

fn client(url: &str, settings: &[(&str, &str)], lines: &Arc<Lines>) -> Client {
    Client::new(
        url,
        DEFAULT_ACCESS_KEY,
        DEFAULT_SECRET_KEY,
        options(settings, lines),
    )
    .unwrap()
}

/// A TLS emulator and the `ca_file` that trusts it (kept alive by the caller).
fn tls_emulator(idle: Option<Duration>) -> (Emulator, std::path::PathBuf) {
    let (id, trust) = TlsIdentity::self_signed(&["localhost", "127.0.0.1"]);
    let ca = std::env::temp_dir().join(format!(
        "lsq-warm-ca-{}-{}.pem",
        std::process::id(),
        fastrand_id()
    ));
    std::fs::write(&ca, trust).unwrap();
    let emu = emulator(Config {
        tls: Some(id),
        idle_timeout: idle,
        ..Config::default()
    });
    (emu, ca)
}

fn fastrand_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

fn show(c: &Client, id: &str) {
    let r = c.show_agent_popup(&documented_popup(id));
    assert!(r.outcome.is_ok(), "{id}: {:?}", r.outcome);
}

/// The library's threads (workers, the warmer, its lookups) in this
/// process: the test harness starts a thread per test, so not all of them.
fn threads() -> usize {
    thread_names()
        .iter()
        .filter(|n| n.starts_with("lsq-") && !n.starts_with("lsq-emu"))
        .count()
}

fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn warm_threads() -> usize {
    thread_names().iter().filter(|n| *n == "lsq-warm").count()
}

#[test]
fn the_warm_up_sends_no_request_and_the_first_popup_uses_it() {
    let _serial = serial();
    for tls in [true, false] {
        let lines = Arc::new(Lines::default());
        let (emu, ca) = if tls {
            let (emu, ca) = tls_emulator(None);
            (emu, Some(ca))
        } else {
            (default_emulator(), None)
        };
        let mut settings = vec![];
        let ca_str = ca.as_ref().map(|p| p.to_str().unwrap().to_string());
        if let Some(ca) = &ca_str {
            settings.push(("ca_file", ca.as_str()));
        }
        let c = client(emu.url(), &settings, &lines);
        wait_until("a warm connection", Duration::from_secs(5), || {
            !lines.matching("warm connections: one ready").is_empty()
        });
        assert_eq!((emu.connections_accepted(), emu.connections_open()), (1, 1));
        if tls {
            wait_until("the warm TLS handshake", Duration::from_secs(5), || {
                emu.tls_handshakes().0 == 1
            });
        }
        assert_eq!(
            emu.request_count(),
            0,
            "tls={tls}: the warm-up sent a request"
        );
        show(&c, "first");
        let first = &emu.requests()[0];
        assert_eq!(
            first.connection, 1,
            "tls={tls}: the first popup opened a connection of its own"
        );
        // The one taken is replaced, again without a request.
        assert!(emu.wait_for_connections(Duration::from_secs(5), |accepted, _| accepted == 2));
        assert_eq!(emu.request_count(), 1);
        drop(c);
        if let Some(ca) = ca {
            let _ = std::fs::remove_file(ca);
        }
    }
}

#[test]
fn after_an_idle_close_a_new_connection_is_warmed_and_used() {
    let _serial = serial();
    let lines = Arc::new(Lines::default());
    let (emu, ca) = tls_emulator(Some(Duration::from_millis(400)));
    let c = client(emu.url(), &[("ca_file", ca.to_str().unwrap())], &lines);
    // The server closes the warm connection when idle; a new one replaces it
    // (then the warmer replaces each shortly before the server would close it).
    assert!(
        emu.wait_for_connections(Duration::from_secs(10), |accepted, open| {
            accepted >= 3 && open >= 1
        })
    );
    assert_eq!(emu.request_count(), 0);
    let before = emu.connections_accepted();
    show(&c, "after-idle");
    let used = emu.requests()[0].connection;
    assert!(
        used <= before,
        "the popup dialled connection {used}; {before} were warmed before it"
    );
    let (handshakes, resumed) = emu.tls_handshakes();
    assert!(
        resumed >= 1 && resumed + 1 >= handshakes,
        "warm connections after the first resume the TLS session: {resumed} of {handshakes}"
    );
    // Idle closes are not failures: nothing logged above debug.
    assert!(lines
        .matching("warm connections: ")
        .iter()
        .all(|(l, _)| *l == Level::Debug));
    drop(c);
    let _ = std::fs::remove_file(ca);
}

/// ureq's RustlsConnector builds one rustls ClientConfig per agent, whose
/// session cache makes every later connection of the agent resume: shown
/// here with warming off, and a connection closed by the server in between.
#[test]
fn tls_sessions_resume_across_connections_of_one_client_without_warming_too() {
    let _serial = serial();
    let lines = Arc::new(Lines::default());
    let (emu, ca) = tls_emulator(Some(Duration::from_millis(300)));
    let c = client(
        emu.url(),
        &[("ca_file", ca.to_str().unwrap()), ("warm_connections", "0")],
        &lines,
    );
    show(&c, "one");
    assert!(emu.wait_for_connections(Duration::from_secs(5), |_, open| open == 0));
    show(&c, "two");
    assert_eq!(emu.connections_accepted(), 2);
    assert_eq!(emu.tls_handshakes(), (2, 1), "(handshakes, resumed)");
    drop(c);
    let _ = std::fs::remove_file(ca);
}

#[test]
fn warm_connections_0_opens_nothing() {
    let _serial = serial();
    let lines = Arc::new(Lines::default());
    let off = default_emulator();
    let on = default_emulator();
    let c_off = client(off.url(), &[("warm_connections", "0")], &lines);
    let c_on = client(
        on.url(),
        &[("workers", "2"), ("warm_connections", "2")],
        &lines,
    );
    // By the time the other client has warmed two, and for 300 ms more,
    // the one with warming off has opened nothing.
    assert!(
        on.wait_for_connections(Duration::from_secs(5), |accepted, open| {
            accepted == 2 && open == 2
        })
    );
    let window = Instant::now() + Duration::from_millis(300);
    while Instant::now() < window {
        assert_eq!(off.connections_accepted(), 0);
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(on.request_count(), 0);
    show(&c_off, "off");
    assert_eq!(off.connections_accepted(), 1);
    drop((c_off, c_on));
}

/// A TCP server that accepts and never answers: a TLS handshake to it hangs.
struct Silent {
    listener: Option<TcpListener>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    accepts: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    port: u16,
}

impl Silent {
    /// `hold`: keep accepted connections open (silent); else close each at once.
    fn start(hold: bool) -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (held, stop, accepts) = (
            Arc::default(),
            Arc::new(AtomicBool::new(false)),
            Arc::default(),
        );
        let thread = {
            let listener = listener.try_clone().unwrap();
            let (held, stop, accepts): (
                Arc<Mutex<Vec<TcpStream>>>,
                Arc<AtomicBool>,
                Arc<AtomicU64>,
            ) = (Arc::clone(&held), Arc::clone(&stop), Arc::clone(&accepts));
            thread::spawn(move || {
                for s in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(s) = s else { continue };
                    accepts.fetch_add(1, Ordering::SeqCst);
                    if hold {
                        held.lock().unwrap().push(s);
                    } else {
                        drop(s);
                    }
                }
            })
        };
        Silent {
            listener: Some(listener),
            held,
            stop,
            accepts,
            thread: Some(thread),
            port,
        }
    }

    fn accepts(&self) -> u64 {
        self.accepts.load(Ordering::SeqCst)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for s in self.held.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        drop(self.listener.take());
    }
}

#[test]
fn free_stops_the_warmer_within_shutdown_timeout_even_mid_handshake() {
    let _serial = serial();
    let threads_before = threads();
    let silent = Silent::start(true);
    let url = format!("https://127.0.0.1:{}", silent.port);
    let o = ffi::Opts::new().with(&[
        ("proxy", "none"),
        ("connect_timeout_ms", "30000"),
        ("shutdown_timeout_ms", "300"),
    ]);
    let made = Instant::now();
    let c = ffi::Client::new(&url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &o).unwrap();
    assert!(
        made.elapsed() < Duration::from_millis(200),
        "creating a client waited on the network: {:?}",
        made.elapsed()
    );
    // The warmer's TCP connect went through; its TLS handshake now waits on
    // a server that never answers (for up to connect_timeout_ms, 30 s).
    wait_until("the warm-up connect", Duration::from_secs(5), || {
        silent.accepts() == 1
    });
    assert_eq!(warm_threads(), 1);
    let took = c.free();
    assert!(
        took < Duration::from_millis(300),
        "lsq_free took {took:?} with shutdown_timeout_ms=300"
    );
    assert_eq!(warm_threads(), 0, "the warmer thread outlived lsq_free");
    drop(silent);
    wait_until("the threads to end", Duration::from_secs(5), || {
        threads() == threads_before
    });

    // And with connections parked, idle.
    let emu = default_emulator();
    let o = ffi::Opts::new().with(&[("proxy", "none"), ("shutdown_timeout_ms", "300")]);
    let c = ffi::Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &o).unwrap();
    assert!(emu.wait_for_connections(Duration::from_secs(5), |_, open| open == 1));
    let took = c.free();
    assert!(took < Duration::from_millis(300), "lsq_free took {took:?}");
    assert_eq!(warm_threads(), 0);
    // The client closed the parked connection: the emulator sees it go.
    assert!(emu.wait_for_connections(Duration::from_secs(5), |_, open| open == 0));
}

#[test]
fn no_descriptor_or_thread_leaks_over_a_long_run_of_idle_closes() {
    let _serial = serial();
    let lines = Arc::new(Lines::default());
    let (emu, ca) = tls_emulator(Some(Duration::from_millis(300)));
    let (fds_before, threads_before) = (fds(), threads());
    {
        let c = client(emu.url(), &[("ca_file", ca.to_str().unwrap())], &lines);
        // 20 warm connections opened and closed (by the server when idle,
        // then by the warmer just before the server would), a popup every 5.
        let mut popups = 0;
        for n in 1..=20u64 {
            assert!(
                emu.wait_for_connections(Duration::from_secs(10), |accepted, _| accepted >= n),
                "{n}"
            );
            if n % 5 == 0 {
                popups += 1;
                show(&c, &format!("leak-{n}"));
            }
        }
        assert_eq!(emu.request_count(), popups);
        // At any time: the warm one, the one the popups used, and one being replaced.
        assert!(emu.connections_open() <= 3, "{}", emu.connections_open());
        // The client's own descriptors: the wake socket pair and its
        // connections (the emulator's are in this process too: 2 per connection).
        let now = fds();
        assert!(now <= fds_before + 2 + 2 * 3, "{fds_before} -> {now}");
    }
    assert!(emu.wait_for_connections(Duration::from_secs(5), |_, open| open == 0));
    // The emulator's connection threads end just after they leave its table.
    wait_until(
        "no leaked descriptor or thread",
        Duration::from_secs(5),
        || fds() == fds_before && threads() == threads_before,
    );
    let _ = std::fs::remove_file(ca);
}

#[test]
fn a_server_that_resets_warm_ups_gets_backoff_and_popups_work_once_it_is_back() {
    let _serial = serial();
    for tls in [false, true] {
        let lines = Arc::new(Lines::default());
        // Accepts and closes every connection at once: plain, the warm
        // connection dies right after it opened; TLS, the handshake fails.
        let resetting = Silent::start(false);
        let port = resetting.port;
        let scheme = if tls { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{port}");
        let c = client(&url, &[("connect_timeout_ms", "1000")], &lines);
        let observed = Instant::now();
        wait_until("a first warm-up attempt", Duration::from_secs(5), || {
            resetting.accepts() >= 1
        });
        let window = Duration::from_secs(3);
        while observed.elapsed() < window {
            thread::sleep(Duration::from_millis(20));
        }
        // Backoff 125-250 ms doubling: at most 5 attempts in 3 s (0, 0.25,
        // 0.75, 1.75, then 3.75 at the earliest with full waits; fewer
        // with jitter). A busy loop would make thousands.
        let attempts = resetting.accepts();
        assert!(
            (2..=7).contains(&attempts),
            "tls={tls}: {attempts} warm-up attempts in 3 s"
        );
        let warned: Vec<_> = lines
            .matching("warm connections: ")
            .into_iter()
            .filter(|(level, _)| *level <= Level::Info)
            .collect();
        assert_eq!(
            warned.len(),
            1,
            "tls={tls}: one line per outage: {warned:?}"
        );
        assert_eq!(warned[0].0, Level::Warn);

        // The server comes back on the same port: popups work at once (a
        // dial of their own), and the warmer resumes without waiting out
        // its backoff.
        drop(resetting);
        let (emu, ca) = if tls {
            let (id, trust) = TlsIdentity::self_signed(&["localhost", "127.0.0.1"]);
            let ca =
                std::env::temp_dir().join(format!("lsq-warm-reset-{}.pem", std::process::id()));
            std::fs::write(&ca, trust).unwrap();
            let emu = emulator(Config {
                tls: Some(id),
                bind: ([127, 0, 0, 1], port).into(),
                ..Config::default()
            });
            (emu, Some(ca))
        } else {
            let emu = emulator(Config {
                bind: ([127, 0, 0, 1], port).into(),
                ..Config::default()
            });
            (emu, None)
        };
        // The TLS client trusts nothing here; a new one with the CA.
        let c = if let Some(ca) = &ca {
            drop(c);
            client(&url, &[("ca_file", ca.to_str().unwrap())], &lines)
        } else {
            c
        };
        show(&c, "back");
        assert!(
            emu.wait_for_connections(Duration::from_secs(5), |accepted, open| {
                accepted >= 2 && open >= 2
            })
        );
        assert_eq!(emu.request_count(), 1);
        if !tls {
            let back = lines.matching("reachable again");
            assert_eq!(back.len(), 1, "{back:?}");
        }
        drop(c);
        if let Some(ca) = ca {
            let _ = std::fs::remove_file(ca);
        }
    }
}
