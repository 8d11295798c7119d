//! `cargo bench --bench wan`: popup latency over a slow link, in round trips.
//!
//! The link is a delay proxy on loopback (`benches/support/delay.rs`:
//! 25 ms each way, a 50 ms round trip, bytes untouched) in front of the
//! emulator serving TLS (a certificate made here, trusted through
//! `ca_file` / `CURLOPT_CAINFO`) and closing connections idle for 1 s, as a
//! load balancer does. Each client, in each round, as a fresh process state:
//!
//! 1. **start-up**: a client is made, and its first popup comes 1 s later
//!    (a PBX that loaded the module before the first call);
//! 2. **warm**: a popup right after it;
//! 3. **after idle**: 4 quiet seconds (the server closed the connection
//!    after 1), then a popup.
//!
//! Clients: liblsq (`warm_connections` 1, the default), liblsq with
//! `warm_connections=0` (what it did before), libcurl with a new easy handle
//! per popup (what Asterisk's `CURL()` does) and libcurl with one reused
//! handle (`benches/c/curl_wan.c`). Medians over the rounds, in ms and in
//! round trips. Also printed as Markdown to target/bench/wan.md.
//!
//! Then the same three moments for `agent_ringing` (`lsq_agent_ringing`)
//! with a lead lookup on a cold cache: each of the three rings comes from a
//! different sample caller, so each needs a lookup (`GET
//! RetrieveLeadByPhoneNumber`) and then the popup, two requests one after
//! the other; with `warm_connections` 1 and 0, and libcurl doing the same
//! two requests (the ProspectID taken from the lookup's answer) with a new
//! handle per request and with one reused handle. The emulator serves its
//! sample data (`Config::data`).
//!
//! Environment: `LSQ_BENCH_ROUNDS` (default 5; 1 with `LSQ_BENCH_QUICK=1`,
//! a smoke run of about a minute), `LSQ_BENCH_RTT_MS` (default 50), `CC`. Needs libcurl's headers (`apt-get install libcurl4-openssl-dev`).

#[path = "support/delay.rs"]
mod delay;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use lsq::{Client, Options};
use lsq_emulator::{Config, Data, Emulator, TlsIdentity, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

const WAIT: Duration = Duration::from_secs(1);
const GAP: Duration = Duration::from_secs(4);
const IDLE: Duration = Duration::from_secs(1);

fn main() {
    let quick = std::env::var("LSQ_BENCH_QUICK").is_ok_and(|v| v == "1");
    let rounds: usize = env_or("LSQ_BENCH_ROUNDS", if quick { 1 } else { 5 });
    let rtt: u64 = env_or("LSQ_BENCH_RTT_MS", 50);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).unwrap();

    let (id, trust) = TlsIdentity::self_signed(&["localhost", "127.0.0.1"]);
    let ca = out.join("wan-ca.pem");
    std::fs::write(&ca, trust).unwrap();
    let emu = Emulator::start(Config {
        tls: Some(id),
        idle_timeout: Some(IDLE),
        log_limit: Some(100),
        data: Data::sample(),
        ..Config::default()
    })
    .expect("emulator");
    let link = delay::DelayProxy::start(emu.addr(), Duration::from_millis(rtt / 2));
    let url = format!("https://localhost:{}", link.addr.port());
    println!(
        "emulator {} behind a {rtt} ms RTT delay proxy at {url}, idle close after {} s",
        emu.url(),
        IDLE.as_secs()
    );

    let curl = compile_curl(root, &out);
    let clients: [(&str, &dyn Fn() -> [f64; 3]); 4] = [
        ("liblsq (`warm_connections=1`, default)", &|| {
            liblsq(&url, &ca, 1)
        }),
        ("liblsq, `warm_connections=0`", &|| liblsq(&url, &ca, 0)),
        ("libcurl, new handle per popup (`CURL()`)", &|| {
            libcurl(&curl, "new", &url, &ca)
        }),
        ("libcurl, one reused handle", &|| {
            libcurl(&curl, "reuse", &url, &ca)
        }),
    ];
    let ringing: [(&str, &dyn Fn() -> [f64; 3]); 4] = [
        (
            "liblsq `agent_ringing`, lead looked up (`warm_connections=1`, default)",
            &|| liblsq_ringing(&url, &ca, 1),
        ),
        (
            "liblsq `agent_ringing`, lead looked up, `warm_connections=0`",
            &|| liblsq_ringing(&url, &ca, 0),
        ),
        (
            "libcurl, new handle per request (two `CURL()` calls)",
            &|| libcurl(&curl, "ring-new", &url, &ca),
        ),
        ("libcurl, one reused handle", &|| {
            libcurl(&curl, "ring-reuse", &url, &ca)
        }),
    ];
    let mut md = String::new();
    let _ = writeln!(md, "Over a {rtt} ms RTT delay proxy with TLS, the server closing connections idle for {} s; median of {rounds} rounds (min-max), in ms and round trips:\n", IDLE.as_secs());
    let _ = writeln!(
        md,
        "| client | first popup, 1 s after start-up | warm | after 4 quiet seconds |"
    );
    table(&mut md, &clients, rounds, rtt);
    let _ = writeln!(md, "\n`agent_ringing` with a lead lookup, cold cache (a new caller each time: lookup, then popup):\n");
    let _ = writeln!(
        md,
        "| client | first ringing, 1 s after start-up | warm connection | after 4 quiet seconds |"
    );
    table(&mut md, &ringing, rounds, rtt);
    println!("\n{md}");
    std::fs::write(out.join("wan.md"), &md).unwrap();
}

/// Runs every client `rounds` times (rotating who goes first, so drift hits
/// every client alike) and appends a row of medians per client to `md`.
fn table(md: &mut String, clients: &[(&str, &dyn Fn() -> [f64; 3])], rounds: usize, rtt: u64) {
    let mut runs: Vec<Vec<[f64; 3]>> = vec![Vec::new(); clients.len()];
    for round in 0..rounds {
        for k in 0..clients.len() {
            let i = (k + round) % clients.len();
            let r = clients[i].1();
            println!(
                "round {round} {:<45} start-up {:>7.1} ms  warm {:>7.1} ms  after idle {:>7.1} ms",
                clients[i].0, r[0], r[1], r[2]
            );
            runs[i].push(r);
        }
    }
    let _ = writeln!(md, "| --- | ---: | ---: | ---: |");
    for (i, (name, _)) in clients.iter().enumerate() {
        let cell = |k: usize| {
            let mut v: Vec<f64> = runs[i].iter().map(|r| r[k]).collect();
            v.sort_by(f64::total_cmp);
            let med = v[v.len() / 2];
            format!(
                "{med:.0} ms ({:.1} RTT; {:.0}-{:.0})",
                med / rtt as f64,
                v[0],
                v[v.len() - 1]
            )
        };
        let _ = writeln!(md, "| {name} | {} | {} | {} |", cell(0), cell(1), cell(2));
    }
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn liblsq(url: &str, ca: &Path, warm: usize) -> [f64; 3] {
    let mut o = Options::default();
    for (k, v) in [
        ("proxy", "none"),
        ("rate_limit", "0"),
        ("ca_file", ca.to_str().unwrap()),
        ("warm_connections", &warm.to_string()),
    ] {
        o.set(k, v).unwrap();
    }
    let client = Client::new(url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, o).unwrap();
    thread::sleep(WAIT);
    let popup = |id: &str| {
        let p = lsq::Popup {
            source_number: "+91-8611795988",
            destination_number: "+91-8971373363",
            display_number: "+91-8611795989",
            direction: lsq::Direction::Inbound,
            call_session_id: id,
            lead_id: "f5c7e023-653c-11e7-b25c-023cca4497b9",
            user_id: "dd908e91-c5c9-11e5-8de3-22000aa5088d",
            tag: None,
        };
        let t = Instant::now();
        let r = client.show_agent_popup(&p);
        assert!(r.outcome.is_ok(), "{:?}", r.outcome);
        t.elapsed().as_secs_f64() * 1000.0
    };
    let first = popup("start");
    let warm = popup("warm");
    thread::sleep(GAP);
    let idle = popup("idle");
    [first, warm, idle]
}

/// Three sample callers (numbers of different sample leads), one per
/// moment, so every ringing looks its lead up.
const CALLERS: [&str; 3] = ["+91-8611795988", "+91 98450 12345", "+91-7003012345"];

/// As [`liblsq`], with `agent_ringing` from a new caller each time: a
/// lookup (cold cache), then the popup.
fn liblsq_ringing(url: &str, ca: &Path, warm: usize) -> [f64; 3] {
    let mut o = Options::default();
    for (k, v) in [
        ("proxy", "none"),
        ("rate_limit", "0"),
        ("default_country_code", "91"),
        ("ca_file", ca.to_str().unwrap()),
        ("warm_connections", &warm.to_string()),
    ] {
        o.set(k, v).unwrap();
    }
    let client = Client::new(url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, o).unwrap();
    thread::sleep(WAIT);
    let ring = |i: usize| {
        let r = lsq::Ringing {
            caller_number: CALLERS[i],
            agent_number: "+91-8971373363",
            display_number: "+91-8611795989",
            direction: lsq::Direction::Inbound,
            call_session_id: ["start", "warm", "idle"][i],
            user: "a484b8fc-0425-48f6-abf8-15af4cb65137",
            lead_id: None,
            tag: None,
        };
        let t = Instant::now();
        let r = client.agent_ringing(&r);
        assert!(r.popup.outcome.is_ok(), "{:?}", r.popup.outcome);
        assert!(!r.lead.cached && r.lead.attempts == 1, "{:?}", r.lead);
        t.elapsed().as_secs_f64() * 1000.0
    };
    let first = ring(0);
    let warm = ring(1);
    thread::sleep(GAP);
    let idle = ring(2);
    [first, warm, idle]
}

fn libcurl(exe: &Path, mode: &str, url: &str, ca: &Path) -> [f64; 3] {
    let out = Command::new(exe)
        .args([mode, url, ca.to_str().unwrap()])
        .arg(WAIT.as_millis().to_string())
        .arg(GAP.as_millis().to_string())
        .output()
        .expect("run bench-curl-wan");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench-curl-wan: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<f64> = text
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    [v[0], v[1], v[2]]
}

fn compile_curl(root: &Path, out: &Path) -> PathBuf {
    let exe = out.join("bench-curl-wan");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"])
        .arg(root.join("benches/c/curl_wan.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-lcurl")
        .output()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(
        output.status.success(),
        "compiling curl_wan.c failed (needs apt-get install libcurl4-openssl-dev):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}
