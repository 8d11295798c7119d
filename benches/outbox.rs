//! `cargo bench --bench outbox`: what a durable call log costs the caller.
//!
//! `log_call_async` with the option `outbox` returns only once the log is
//! committed to SQLite and synced (WAL, `synchronous=FULL`); concurrent calls
//! share a commit (group commit). This measures, on the disk the target
//! directory is on (`target/bench/outbox-*.db`):
//!
//! - the **accept latency** of each `log_call_async` (p50, p99, max) and the
//!   **throughput** in logs per second, from 1 thread and from 16 threads;
//!   each run with the client's default options (`rate_limit` 25/5, so the
//!   workers deliver about 5 logs a second and the outbox fills up, as when
//!   LeadSquared falls behind) and with `rate_limit=0` (the workers deliver
//!   as fast as the in-process emulator answers, marking each log delivered
//!   in the same file while new ones are accepted);
//! - for comparison, the raw cost of a sync on the same file system: a loop
//!   of a 256-byte append and `fdatasync` (`File::sync_data`), which is the
//!   least one durable commit can cost.
//!
//! Goal (issue 11): p99 under 5 ms and at least 2,000 logs/s.
//! `LSQ_BENCH_QUICK=1` makes every run small (a smoke run). Also printed as
//! Markdown to target/bench/outbox.md.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lsq::{CallLog, CallStatus, Client, Direction, Options};
use lsq_emulator::{Config, Emulator, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

const LEAD: &str = "e6293922-cabc-4f87-a045-86f60b4ebdaf";
const AGENT: &str = "a484b8fc-0425-48f6-abf8-15af4cb65137";

fn main() {
    let quick = std::env::var("LSQ_BENCH_QUICK").is_ok_and(|v| v == "1");
    let per_thread_1 = if quick { 200 } else { 2000 };
    let per_thread_16 = if quick { 25 } else { 250 };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let emu = Emulator::start(Config {
        log_limit: Some(1000),
        ..Config::default()
    })
    .expect("start the emulator");

    let mut md = String::new();
    let _ = writeln!(
        md,
        "| run | accepts | p50 | p99 | max | logs/s |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    );
    println!("outbox benchmark: files in {}\n", dir.display());
    for (label, rate) in [
        ("default options (`rate_limit` 25/5)", "25/5"),
        ("`rate_limit=0`", "0"),
    ] {
        for (threads, per) in [(1, per_thread_1), (16, per_thread_16)] {
            let r = accept_run(emu.url(), &dir, rate, threads, per);
            let row = format!(
                "| {threads} thread{}, {label} | {} | {} | {} | {} | {:.0} |",
                if threads == 1 { "" } else { "s" },
                r.samples.len(),
                ms(r.quantile(0.50)),
                ms(r.quantile(0.99)),
                ms(r.quantile(1.0)),
                r.samples.len() as f64 / r.wall.as_secs_f64()
            );
            println!("{row}");
            let _ = writeln!(md, "{row}");
        }
    }

    let n = if quick { 100 } else { 1000 };
    let sync = fsync_loop(&dir.join("outbox-fsync.bin"), n);
    let row = format!(
        "| raw: 256-byte append + `fdatasync`, 1 thread, same file system | {} | {} | {} | {} | {:.0} |",
        sync.samples.len(),
        ms(sync.quantile(0.50)),
        ms(sync.quantile(0.99)),
        ms(sync.quantile(1.0)),
        sync.samples.len() as f64 / sync.wall.as_secs_f64()
    );
    println!("{row}");
    let _ = writeln!(md, "{row}");
    println!("\n{md}");
    std::fs::write(dir.join("outbox.md"), &md).unwrap();
}

struct Run {
    samples: Vec<Duration>,
    wall: Duration,
}

impl Run {
    fn quantile(&self, q: f64) -> Duration {
        let i = ((self.samples.len() as f64 * q).ceil() as usize).clamp(1, self.samples.len());
        self.samples[i - 1]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `threads` threads each accept `per` logs as fast as they can, on a fresh
/// outbox file; every accept is timed.
fn accept_run(url: &str, dir: &Path, rate: &str, threads: usize, per: usize) -> Run {
    let path: PathBuf = dir.join(format!("outbox-{threads}-{}.db", rate.replace('/', "_")));
    remove_db(&path);
    let mut o = Options::default();
    for (k, v) in [
        ("proxy", "none"),
        ("rate_limit", rate),
        ("outbox", path.to_str().unwrap()),
    ] {
        o.set(k, v).unwrap();
    }
    let client = Arc::new(Client::new(url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, o).unwrap());
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                let now = unix_now();
                let mut samples = Vec::with_capacity(per);
                barrier.wait();
                for i in 0..per {
                    let call = format!("bench-{t}-{i}");
                    let log = CallLog {
                        source_number: "+91-8611795988",
                        destination_number: "+91-8971373363",
                        display_number: "+91-8611795989",
                        direction: Direction::Inbound,
                        call_session_id: &call,
                        status: CallStatus::Answered,
                        start_time: now - 60,
                        end_time: now - 5,
                        duration_s: 40,
                        user: Some(AGENT),
                        lead_id: Some(LEAD),
                        resource_url: None,
                        caller_source: None,
                        tag: None,
                    };
                    let t0 = Instant::now();
                    client.log_call_async(&log, |_| {}).expect("accepted");
                    samples.push(t0.elapsed());
                }
                samples
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut samples: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let wall = start.elapsed();
    samples.sort();
    // What the workers did not deliver stays pending in the file: shutdown
    // waits `shutdown_timeout_ms` at most, and the file is removed.
    drop(client);
    remove_db(&path);
    Run { samples, wall }
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// `n` appends of 256 bytes, each followed by `fdatasync`.
fn fsync_loop(path: &Path, n: usize) -> Run {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let record = [b'x'; 256];
    let mut samples = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        f.write_all(&record).unwrap();
        f.sync_data().unwrap();
        samples.push(t0.elapsed());
    }
    let wall = start.elapsed();
    drop(f);
    let _ = std::fs::remove_file(path);
    samples.sort();
    Run { samples, wall }
}
