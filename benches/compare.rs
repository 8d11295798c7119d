//! `cargo bench --bench compare`: liblsq against libcurl and the wire's floor,
//! side by side in one run, against one fast loopback server.
//!
//! What it does, in order (each step prints what it measured):
//! 1. builds liblsq (release) and the C programs of `benches/c` with `cc -O2`;
//! 2. starts `bench-server` (benches/c/server.c) and measures its capacity;
//! 3. checks that liblsq, libcurl and the raw socket put the same request on
//!    the wire, and that the popup passes the strict `lsq-emulator`;
//! 4. blocking latency over one keep-alive connection each: liblsq from C,
//!    libcurl (one reused easy handle), and a raw socket (the floor), in
//!    interleaved rounds so machine drift hits all three alike; first where
//!    the scheduler puts the processes, then (with `taskset` and 2+ CPUs)
//!    pinned to one CPU and to two different CPUs;
//! 5. first popup on a fresh client against a warm one (on one CPU);
//! 6. async submit latency from 1 and 16 threads, popups/s through 2 workers;
//! 7. memory (RSS) and library sizes;
//! 8. instructions per popup under callgrind (client process only).
//!
//! It ends with a Markdown summary (also written to target/bench/compare.md).
//!
//! Environment:
//! - `LSQ_BENCH_ROUNDS` (default 40) and `LSQ_BENCH_BATCH` (default 2000)
//!   size step 4;
//! - `LSQ_BENCH_QUICK=1` makes every step small (a smoke run);
//! - `LSQ_BENCH_SKIP=placement,cold,async,memory,callgrind` skips steps;
//! - `LSQ_BENCH_LIB_DIR=dir` uses dir/liblsq.so instead of building one
//!   (to compare two builds);
//! - `CC` picks the C compiler.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENTS: [&str; 3] = ["liblsq", "libcurl", "floor"];

fn main() {
    let cfg = Settings::from_env();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir).expect("target/bench");
    let mut report = Report::default();

    step("build");
    let lib_dir = build_liblsq(root);
    let exe = compile_programs(root, &lib_dir, &out_dir);

    step("server");
    let server = BenchServer::start(&exe.server, Some(&out_dir.join("capture")), None);
    let url = server.url.clone();
    println!("bench-server at {url}");
    let capacity = capacity(
        &exe.raw,
        &url,
        if cfg.quick { 1 } else { 3 },
        "bench-server",
    );
    let emulator_capacity = emulator_capacity(&exe, &cfg);
    report.capacity = Some((capacity, emulator_capacity));

    step("same request, valid popup");
    check_same_request(&exe, &url, &server.capture);
    check_with_emulator(&exe);

    step("blocking latency, one keep-alive connection each, interleaved");
    println!("(the scheduler places the processes)");
    report.latency = Some(blocking_latency(&exe, &url, &cfg, Placement::Free));
    if cpus() >= 2 && has_taskset() && !cfg.skip("placement") {
        for placement in [Placement::SameCpu, Placement::CrossCpu] {
            println!("({})", placement.describe());
            let pinned_server = BenchServer::start(&exe.server, None, placement.server_cpu());
            report
                .placements
                .push(blocking_latency(&exe, &pinned_server.url, &cfg, placement));
        }
    }

    if !cfg.skip("cold") {
        step("first popup on a fresh client vs a warm one");
        // Pinned to one CPU when possible: otherwise each figure depends on
        // where the scheduler happened to put a short-lived process.
        let pin = (has_taskset() && !cfg.skip("placement")).then_some(0);
        let cold_server = BenchServer::start(&exe.server, None, pin);
        report.cold = Some(cold(&exe, &cold_server.url, &cfg, pin));
    }
    if !cfg.skip("async") {
        step("async submit latency and throughput");
        report.asynchronous = Some(asynchronous(&exe, &url, &cfg));
    }
    if !cfg.skip("memory") {
        step("memory and sizes");
        report.memory = Some(memory(&exe, &url, &cfg));
    }
    report.sizes = Some(sizes(&lib_dir, &out_dir));
    if !cfg.skip("callgrind") {
        step("instructions per popup (callgrind)");
        report.instructions = instructions(&exe, &url, &cfg);
    }
    drop(server);

    let text = report.markdown(&cfg);
    println!("\n{text}");
    let path = out_dir.join("compare.md");
    std::fs::write(&path, &text).expect("write compare.md");
    println!("(written to {})", path.display());
}

// ---------------------------------------------------------------- settings

struct Settings {
    quick: bool,
    rounds: usize,
    batch: usize,
    skip: Vec<String>,
}

impl Settings {
    fn from_env() -> Settings {
        let quick = std::env::var("LSQ_BENCH_QUICK").is_ok_and(|v| v == "1");
        let num = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Settings {
            quick,
            rounds: num("LSQ_BENCH_ROUNDS", if quick { 4 } else { 40 }).max(2),
            batch: num("LSQ_BENCH_BATCH", if quick { 200 } else { 2000 }).max(10),
            skip: std::env::var("LSQ_BENCH_SKIP")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    fn skip(&self, step: &str) -> bool {
        self.skip.iter().any(|s| s == step)
    }

    /// `full` normally, a tenth (at least `min`) in a quick run.
    fn size(&self, full: usize, min: usize) -> usize {
        if self.quick {
            (full / 10).max(min)
        } else {
            full
        }
    }
}

fn step(name: &str) {
    println!("\n== {name}");
}

// ---------------------------------------------------------------- building

struct Programs {
    server: PathBuf,
    lsq: PathBuf,
    curl: PathBuf,
    raw: PathBuf,
}

/// Builds liblsq.so/.a in release (a no-op when up to date) and returns their directory.
fn build_liblsq(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("LSQ_BENCH_LIB_DIR") {
        let dir = PathBuf::from(dir);
        println!("liblsq from LSQ_BENCH_LIB_DIR={}", dir.display());
        return dir;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "lsq", "--lib"])
        .current_dir(root)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --release -p lsq failed");
    let dir = root.join("target/release");
    assert!(
        dir.join("liblsq.so").exists(),
        "no target/release/liblsq.so"
    );
    dir
}

fn compile_programs(root: &Path, lib_dir: &Path, out: &Path) -> Programs {
    let src = root.join("benches/c");
    // The programs ask the loader for the soname, as an installed program would.
    let soname = out.join("liblsq.so.0");
    let _ = std::fs::remove_file(&soname);
    std::os::unix::fs::symlink(lib_dir.join("liblsq.so"), &soname).expect("soname link");
    let compile = |name: &str, source: &str, extra: &[String]| -> PathBuf {
        let exe = out.join(name);
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let output = Command::new(&cc)
            .args(["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror"])
            .arg("-I")
            .arg(root.join("include"))
            .arg(src.join(source))
            .arg("-o")
            .arg(&exe)
            .args(extra)
            .arg("-lpthread")
            .output()
            .unwrap_or_else(|e| panic!("running {cc}: {e}"));
        assert!(
            output.status.success(),
            "compiling {source} failed (bench-curl needs libcurl's headers: \
             apt-get install libcurl4-openssl-dev):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        exe
    };
    let lsq_link = vec![
        format!("-L{}", lib_dir.display()),
        "-llsq".to_string(),
        format!("-Wl,-rpath,{}", out.display()),
    ];
    Programs {
        server: compile("bench-server", "server.c", &[]),
        lsq: compile("bench-lsq", "lsq_client.c", &lsq_link),
        curl: compile("bench-curl", "curl_client.c", &["-lcurl".to_string()]),
        raw: compile("bench-raw", "raw_client.c", &[]),
    }
}

// ---------------------------------------------------------------- the server

struct BenchServer {
    child: Child,
    url: String,
    capture: PathBuf,
}

impl BenchServer {
    fn start(exe: &Path, capture: Option<&Path>, cpu: Option<usize>) -> BenchServer {
        let mut cmd = pinned(exe, cpu);
        if let Some(capture) = capture {
            let _ = std::fs::remove_dir_all(capture);
            std::fs::create_dir_all(capture).expect("capture dir");
            cmd.env("BENCH_CAPTURE_DIR", capture);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("start bench-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("server stdout"))
            .read_line(&mut line)
            .expect("server port");
        let port: u16 = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("bench-server said {line:?}"));
        BenchServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            capture: capture.map(Path::to_path_buf).unwrap_or_default(),
        }
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests/s the server answers over one connection, 64 pipelined per write.
fn capacity(raw: &Path, url: &str, seconds: u32, server: &str) -> f64 {
    let out = run(
        Command::new(raw).args(["capacity", url, &seconds.to_string(), "64"]),
        "bench-raw capacity",
    );
    let value = out
        .lines()
        .find_map(|l| l.strip_prefix("capacity "))
        .and_then(|v| v.trim().parse().ok())
        .expect("capacity line");
    println!("{server}: {value:.0} requests/s over one connection (64 pipelined per write)");
    value
}

/// The same for the in-process lsq-emulator, for comparison.
fn emulator_capacity(exe: &Programs, cfg: &Settings) -> Option<f64> {
    let emu = lsq_emulator::Emulator::start(lsq_emulator::Config {
        log_limit: Some(1000),
        ..Default::default()
    })
    .ok()?;
    Some(capacity(
        &exe.raw,
        emu.url(),
        if cfg.quick { 1 } else { 2 },
        "lsq-emulator (in-process, for comparison)",
    ))
}

// ---------------------------------------------------------------- same request

/// Every client sends its first request on its own connection; the server
/// captured each. They must be identical but for header order and the case
/// of "Host" (libcurl always writes its own Host line first).
fn check_same_request(exe: &Programs, url: &str, capture: &Path) {
    let clients: [&Path; 3] = [&exe.lsq, &exe.curl, &exe.raw];
    let mut seen = Vec::new();
    for (name, path) in CLIENTS.iter().zip(clients) {
        let before = captures(capture);
        run(Command::new(path).args(["count", url, "1"]), name);
        let after = captures(capture);
        let new: Vec<_> = after.into_iter().filter(|p| !before.contains(p)).collect();
        assert_eq!(new.len(), 1, "{name}: expected one new connection");
        let bytes = std::fs::read(&new[0]).expect("captured request");
        seen.push((name, canonical(&bytes), bytes.len()));
    }
    for (name, canon, len) in &seen[1..] {
        assert_eq!(
            canon, &seen[0].1,
            "{name} does not send liblsq's request:\n{canon}\n--- liblsq:\n{}",
            seen[0].1
        );
        assert_eq!(*len, seen[0].2, "{name}: request size differs");
    }
    println!(
        "same request from all three ({} bytes): request line, headers, body",
        seen[0].2
    );
    println!("{}", seen[0].1);
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("capture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    v
}

/// Request line, then header lines with lower-case names, sorted, then the body.
fn canonical(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(request);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete request");
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default().to_string();
    let mut headers: Vec<String> = lines
        .map(|l| match l.split_once(':') {
            Some((n, v)) => format!("{}:{}", n.to_ascii_lowercase(), v),
            None => l.to_string(),
        })
        .collect();
    headers.sort();
    format!("{first}\n{}\n\n{body}", headers.join("\n"))
}

/// The popup is a valid ShowAgentPopup for the strict emulator, from both libraries.
fn check_with_emulator(exe: &Programs) {
    let emu =
        lsq_emulator::Emulator::start(lsq_emulator::Config::default()).expect("start lsq-emulator");
    run(
        Command::new(&exe.lsq).args(["count", emu.url(), "3"]),
        "liblsq",
    );
    run(
        Command::new(&exe.curl).args(["count", emu.url(), "3"]),
        "libcurl",
    );
    assert_eq!(
        emu.count_with_status(200),
        6,
        "lsq-emulator refused a popup"
    );
    println!("lsq-emulator accepted the popup from liblsq and libcurl (HTTP 200)");
}

// ---------------------------------------------------------------- blocking latency

/// A client in mode `serve`, driven over its stdin and stdout.
struct Served {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Served {
    fn start(exe: &Path, url: &str, cpu: Option<usize>) -> Served {
        let mut child = pinned(exe, cpu)
            .args(["serve", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
        Served {
            stdin: child.stdin.take().expect("stdin"),
            stdout: BufReader::new(child.stdout.take().expect("stdout")),
            child,
        }
    }

    fn run(&mut self, n: usize) -> Vec<u64> {
        writeln!(self.stdin, "run {n}").expect("command");
        self.stdin.flush().expect("flush");
        read_samples(&mut self.stdout)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

fn read_samples(r: &mut impl BufRead) -> Vec<u64> {
    let mut line = String::new();
    r.read_line(&mut line).expect("samples");
    let rest = line
        .trim()
        .strip_prefix("ok")
        .unwrap_or_else(|| panic!("client said {line:?}"));
    rest.split_whitespace()
        .map(|v| v.parse().expect("a number"))
        .collect()
}

/// Where the client and server processes run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Wherever the scheduler puts them.
    Free,
    /// Server and client pinned to CPU 0.
    SameCpu,
    /// Server on CPU 0, client on CPU 1.
    CrossCpu,
}

impl Placement {
    fn server_cpu(self) -> Option<usize> {
        match self {
            Placement::Free => None,
            Placement::SameCpu | Placement::CrossCpu => Some(0),
        }
    }

    fn client_cpu(self) -> Option<usize> {
        match self {
            Placement::Free => None,
            Placement::SameCpu => Some(0),
            Placement::CrossCpu => Some(1),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Placement::Free => "placed by the scheduler",
            Placement::SameCpu => "server and client pinned to the same CPU",
            Placement::CrossCpu => "server and client pinned to different CPUs",
        }
    }
}

struct Latency {
    placement: Placement,
    rounds: usize,
    batch: usize,
    /// Per client: every sample, nanoseconds.
    samples: [Vec<u64>; 3],
    /// Per round: each client's median.
    round_medians: Vec<[u64; 3]>,
}

fn blocking_latency(exe: &Programs, url: &str, cfg: &Settings, placement: Placement) -> Latency {
    let cpu = placement.client_cpu();
    let mut served = [
        Served::start(&exe.lsq, url, cpu),
        Served::start(&exe.curl, url, cpu),
        Served::start(&exe.raw, url, cpu),
    ];
    // Warm-up round: connections open, code and data paged in. Not counted.
    for s in &mut served {
        s.run(cfg.batch.min(500));
    }
    let mut samples: [Vec<u64>; 3] = Default::default();
    let mut round_medians = Vec::with_capacity(cfg.rounds);
    for round in 0..cfg.rounds {
        let mut medians = [0u64; 3];
        // Rotate who goes first, so no client always follows the same one.
        for k in 0..3 {
            let i = (round + k) % 3;
            let mut v = served[i].run(cfg.batch);
            samples[i].extend_from_slice(&v);
            v.sort_unstable();
            medians[i] = v[v.len() / 2];
        }
        round_medians.push(medians);
        if round % 10 == 9 || round + 1 == cfg.rounds {
            println!(
                "round {:>3}: liblsq {:>6.1} µs  libcurl {:>6.1} µs  floor {:>6.1} µs",
                round + 1,
                us(medians[0]),
                us(medians[1]),
                us(medians[2])
            );
        }
    }
    for v in &mut samples {
        v.sort_unstable();
    }
    Latency {
        placement,
        rounds: cfg.rounds,
        batch: cfg.batch,
        samples,
        round_medians,
    }
}

// ---------------------------------------------------------------- cold

struct Cold {
    count: usize,
    pinned: bool,
    /// first popup, warm popup (median ns) per client.
    first: [u64; 3],
    warm: [u64; 3],
}

fn cold(exe: &Programs, url: &str, cfg: &Settings, cpu: Option<usize>) -> Cold {
    let count = cfg.size(300, 20);
    let mut first = [0; 3];
    let mut warm = [0; 3];
    for (i, path) in [&exe.lsq, &exe.curl, &exe.raw].into_iter().enumerate() {
        let out = run(
            pinned(path, cpu).args(["cold", url, &count.to_string()]),
            CLIENTS[i],
        );
        let mut lines = out.lines();
        let mut a = read_samples(&mut lines.next().unwrap_or_default().as_bytes());
        let mut b = read_samples(&mut lines.next().unwrap_or_default().as_bytes());
        first[i] = median(&mut a);
        warm[i] = median(&mut b);
        println!(
            "{:>8}: first popup {:>7.1} µs, second {:>6.1} µs (medians of {count} fresh clients)",
            CLIENTS[i],
            us(first[i]),
            us(warm[i])
        );
    }
    Cold {
        count,
        pinned: cpu.is_some(),
        first,
        warm,
    }
}

// ---------------------------------------------------------------- async

struct Async {
    /// (threads, submits, median ns, p99 ns)
    submit: Vec<(usize, usize, u64, u64)>,
    /// popups/s through 2 workers, and how many
    rate: (f64, usize),
}

fn asynchronous(exe: &Programs, url: &str, cfg: &Settings) -> Async {
    let mut submit = Vec::new();
    let mut rate = (0.0, 0);
    for (threads, total) in [
        (1usize, cfg.size(100_000, 5000)),
        (16, cfg.size(160_000, 16_000)),
    ] {
        let per_thread = total / threads;
        let out = run(
            Command::new(&exe.lsq).args([
                "async",
                url,
                &threads.to_string(),
                &per_thread.to_string(),
            ]),
            "bench-lsq async",
        );
        let mut lines = out.lines();
        let mut v = read_samples(&mut lines.next().unwrap_or_default().as_bytes());
        v.sort_unstable();
        let (med, p99) = (v[v.len() / 2], percentile(&v, 99.0));
        let r: f64 = lines
            .find_map(|l| l.strip_prefix("rate "))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .expect("rate line");
        println!(
            "{threads:>2} thread(s), {} submits: median {:.2} µs, p99 {:.2} µs; {r:.0} popups/s through 2 workers",
            v.len(),
            us(med),
            us(p99)
        );
        if threads == 1 {
            rate = (r, v.len());
        }
        submit.push((threads, v.len(), med, p99));
    }
    Async { submit, rate }
}

// ---------------------------------------------------------------- memory, sizes

struct Memory {
    popups: usize,
    /// rss KiB: before the client, idle client, after 1, after N; per library.
    lsq: [i64; 4],
    curl: [i64; 4],
}

fn memory(exe: &Programs, url: &str, cfg: &Settings) -> Memory {
    let popups = cfg.size(100_000, 5000);
    let rss = |path: &Path, name: &str| -> [i64; 4] {
        let out = run(
            Command::new(path).args(["mem", url, &popups.to_string()]),
            name,
        );
        let v: Vec<i64> = out
            .lines()
            .find_map(|l| l.strip_prefix("rss "))
            .expect("rss line")
            .split_whitespace()
            .map(|x| x.parse().expect("number"))
            .collect();
        let v = [v[0], v[1], v[2], v[3]];
        println!(
            "{name:>8}: RSS {} KiB before, {} KiB with an idle client, {} KiB after 1 popup, {} KiB after {popups}",
            v[0], v[1], v[2], v[3]
        );
        v
    };
    Memory {
        popups,
        lsq: rss(&exe.lsq, "liblsq"),
        curl: rss(&exe.curl, "libcurl"),
    }
}

struct Sizes {
    so: u64,
    so_stripped: u64,
    a: u64,
    a_stripped: u64,
}

fn sizes(lib_dir: &Path, out: &Path) -> Sizes {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let stripped = |name: &str, flag: &str| -> u64 {
        let copy = out.join(format!("stripped-{name}"));
        if std::fs::copy(lib_dir.join(name), &copy).is_err() {
            return 0;
        }
        let ok = Command::new("strip")
            .arg(flag)
            .arg(&copy)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            size(&copy)
        } else {
            0
        }
    };
    let s = Sizes {
        so: size(&lib_dir.join("liblsq.so")),
        so_stripped: stripped("liblsq.so", "--strip-unneeded"),
        a: size(&lib_dir.join("liblsq.a")),
        a_stripped: stripped("liblsq.a", "--strip-debug"),
    };
    println!(
        "liblsq.so {} ({} stripped), liblsq.a {} ({} stripped)",
        mib(s.so),
        mib(s.so_stripped),
        mib(s.a),
        mib(s.a_stripped)
    );
    s
}

// ---------------------------------------------------------------- instructions

struct Instructions {
    popups: usize,
    /// instructions per popup: liblsq, libcurl, floor
    per_popup: [f64; 3],
}

fn instructions(exe: &Programs, url: &str, cfg: &Settings) -> Option<Instructions> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("valgrind not found: skipped");
        return None;
    }
    let n = cfg.size(2000, 200);
    let count = |path: &Path, popups: usize| -> f64 {
        let out = Command::new("valgrind")
            .args([
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                "--trace-children=no",
            ])
            .arg(path)
            .args(["count", url, &popups.to_string()])
            .output()
            .expect("run valgrind");
        assert!(out.status.success(), "valgrind {}", path.display());
        let err = String::from_utf8_lossy(&out.stderr);
        err.lines()
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, v)| v.trim().to_string())
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no callgrind total in:\n{err}"))
    };
    let mut per_popup = [0.0; 3];
    for (i, path) in [&exe.lsq, &exe.curl, &exe.raw].into_iter().enumerate() {
        let once = count(path, n);
        let twice = count(path, 2 * n);
        per_popup[i] = (twice - once) / n as f64;
        println!(
            "{:>8}: {:.0} instructions per popup ({n} vs {} popups: {once:.0} and {twice:.0})",
            CLIENTS[i],
            per_popup[i],
            2 * n
        );
    }
    Some(Instructions {
        popups: n,
        per_popup,
    })
}

// ---------------------------------------------------------------- report

#[derive(Default)]
struct Report {
    capacity: Option<(f64, Option<f64>)>,
    latency: Option<Latency>,
    placements: Vec<Latency>,
    cold: Option<Cold>,
    asynchronous: Option<Async>,
    memory: Option<Memory>,
    sizes: Option<Sizes>,
    instructions: Option<Instructions>,
}

impl Report {
    fn markdown(&self, cfg: &Settings) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "## liblsq benchmark (`cargo bench --bench compare`)\n");
        let _ = writeln!(s, "Machine: {}\n", machine());
        if let Some(l) = &self.latency {
            let med = |i: usize| l.samples[i][l.samples[i].len() / 2];
            let p99 = |i: usize| percentile(&l.samples[i], 99.0);
            let ratio_rounds = |a: usize, b: usize| {
                let mut r: Vec<f64> = l
                    .round_medians
                    .iter()
                    .map(|m| m[a] as f64 / m[b] as f64)
                    .collect();
                r.sort_by(f64::total_cmp);
                (r[0], r[r.len() / 2], r[r.len() - 1])
            };
            let _ = writeln!(
                s,
                "Blocking popup, one keep-alive connection, {} interleaved rounds × {} popups per client:\n",
                l.rounds, l.batch
            );
            let _ = writeln!(
                s,
                "| client | median | p99 | median ÷ libcurl | median ÷ floor |"
            );
            let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: |");
            let names = [
                "liblsq from C (`lsq_show_agent_popup`)",
                "libcurl, one reused easy handle",
                "floor: raw socket, prebuilt request",
            ];
            for (i, name) in names.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "| {name} | {:.1} µs | {:.1} µs | {:.2} | {:.2} |",
                    us(med(i)),
                    us(p99(i)),
                    med(i) as f64 / med(1) as f64,
                    med(i) as f64 / med(2) as f64
                );
            }
            let (lo, mid, hi) = ratio_rounds(0, 1);
            let (flo, fmid, fhi) = ratio_rounds(0, 2);
            let _ = writeln!(
                s,
                "\nPer round, liblsq ÷ libcurl: median {mid:.2} (min {lo:.2}, max {hi:.2}); liblsq ÷ floor: median {fmid:.2} (min {flo:.2}, max {fhi:.2}).\n"
            );
        }
        if !self.placements.is_empty() {
            let _ = writeln!(
                s,
                "The same, by CPU placement (medians; a wake-up across CPUs costs tens of µs on this VM):\n"
            );
            let _ = writeln!(
                s,
                "| placement | liblsq | libcurl | floor | liblsq ÷ libcurl | liblsq ÷ floor |"
            );
            let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for l in self.latency.iter().chain(&self.placements) {
                let med = |i: usize| l.samples[i][l.samples[i].len() / 2];
                let _ = writeln!(
                    s,
                    "| {} | {:.1} µs | {:.1} µs | {:.1} µs | {:.2} | {:.2} |",
                    l.placement.describe(),
                    us(med(0)),
                    us(med(1)),
                    us(med(2)),
                    med(0) as f64 / med(1) as f64,
                    med(0) as f64 / med(2) as f64
                );
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "| measure | liblsq | libcurl | floor |");
        let _ = writeln!(s, "| --- | ---: | ---: | ---: |");
        if let Some(i) = &self.instructions {
            let _ = writeln!(
                s,
                "| instructions per popup (callgrind, client process, ({}−{})÷{} popups) | {:.0} | {:.0} | {:.0} |",
                2 * i.popups,
                i.popups,
                i.popups,
                i.per_popup[0],
                i.per_popup[1],
                i.per_popup[2]
            );
        }
        if let Some(c) = &self.cold {
            let _ = writeln!(
                s,
                "| first popup on a fresh client (connect included), median of {}{} | {:.1} µs | {:.1} µs | {:.1} µs |",
                c.count,
                if c.pinned { ", server and client on one CPU" } else { "" },
                us(c.first[0]),
                us(c.first[1]),
                us(c.first[2])
            );
            let _ = writeln!(
                s,
                "| its second popup (warm) | {:.1} µs | {:.1} µs | {:.1} µs |",
                us(c.warm[0]),
                us(c.warm[1]),
                us(c.warm[2])
            );
        }
        if let Some(m) = &self.memory {
            let _ = writeln!(
                s,
                "| RSS, process with one idle client | {} KiB | {} KiB | |",
                m.lsq[1], m.curl[1]
            );
            let _ = writeln!(
                s,
                "| RSS after {} popups | {} KiB | {} KiB | |",
                m.popups, m.lsq[3], m.curl[3]
            );
        }
        if let Some(a) = &self.asynchronous {
            let _ = writeln!(
                s,
                "\nAsync (`lsq_show_agent_popup_async`, 2 workers, rate limiter off):\n"
            );
            let _ = writeln!(s, "| measure | value |");
            let _ = writeln!(s, "| --- | ---: |");
            for (threads, n, med, p99) in &a.submit {
                let _ = writeln!(
                    s,
                    "| submit latency, {threads} thread(s), {n} calls: median / p99 | {:.2} µs / {:.2} µs |",
                    us(*med),
                    us(*p99)
                );
            }
            let _ = writeln!(
                s,
                "| popups per second through 2 workers ({} popups) | {:.0} |",
                a.rate.1, a.rate.0
            );
        }
        if let Some(z) = &self.sizes {
            let _ = writeln!(
                s,
                "\nSizes: liblsq.so {} ({} after `strip --strip-unneeded`), liblsq.a {} ({} after `strip --strip-debug`).",
                mib(z.so),
                mib(z.so_stripped),
                mib(z.a),
                mib(z.a_stripped)
            );
        }
        if let Some((cap, emu)) = &self.capacity {
            let mut line = format!(
                "\nServer: bench-server answers {cap:.0} requests/s over one connection (64 pipelined per write)"
            );
            if let Some(e) = emu {
                let _ = write!(line, "; lsq-emulator {e:.0}/s");
            }
            line.push_str(
                ", so it spends well under the per-popup latencies above on each request.",
            );
            let _ = writeln!(s, "{line}");
        }
        if cfg.quick {
            let _ = writeln!(
                s,
                "\n(quick run: LSQ_BENCH_QUICK=1; figures are indicative only)"
            );
        }
        s
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let curl = Command::new("curl-config")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cpus} CPUs, {cpu}, Linux {kernel}, {curl}")
}

// ---------------------------------------------------------------- helpers

fn run(cmd: &mut Command, what: &str) -> String {
    let started = Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    if started.elapsed() > Duration::from_secs(120) {
        println!("({what} took {:?})", started.elapsed());
    }
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// `exe`, run under `taskset -c cpu` when a CPU is given.
fn pinned(exe: &Path, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(exe);
            c
        }
        None => Command::new(exe),
    }
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// The p-th percentile of sorted samples (nearest rank).
fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}
