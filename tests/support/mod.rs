//! Shared by the integration tests: the emulator, and C test programs
//! compiled against include/lsq.h and linked with the liblsq just built.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

#[allow(unused_imports)] // each test binary uses its own share of these
pub use lsq_emulator::{Config, Emulator, Fault, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

/// A documented popup's fields, as LeadSquared's documentation shows them.
pub const SOURCE: &str = "+91-8611795988";
pub const DESTINATION: &str = "+91-8971373363";
pub const DISPLAY: &str = "+91-8611795989";
pub const LEAD: &str = "f5c7e023-653c-11e7-b25c-023cca4497b9";
pub const USER: &str = "dd908e91-c5c9-11e5-8de3-22000aa5088d";

/// The documented popup (inbound, no tag) for the Rust API.
pub fn documented_popup(call_session_id: &str) -> lsq::Popup<'_> {
    lsq::Popup {
        source_number: SOURCE,
        destination_number: DESTINATION,
        display_number: DISPLAY,
        direction: lsq::Direction::Inbound,
        call_session_id,
        lead_id: LEAD,
        user_id: USER,
        tag: None,
    }
}

/// A missed inbound call that ended 5 s ago after 20 s of ringing, from
/// the sample lead's number to extension 1001, with no agent: a valid call
/// log for the Rust API (override fields with `..missed_call(id)`).
pub fn missed_call(call_session_id: &str) -> lsq::CallLog<'_> {
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 5;
    lsq::CallLog {
        source_number: "+91-8611795988",
        destination_number: "1001",
        display_number: "+91-8611795989",
        direction: lsq::Direction::Inbound,
        call_session_id,
        status: lsq::CallStatus::Missed,
        start_time: end - 20,
        end_time: end,
        duration_s: 0,
        user: None,
        lead_id: None,
        resource_url: None,
        caller_source: None,
        tag: None,
    }
}

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where cargo put liblsq.a and liblsq.so for this build (target/<profile>).
pub fn artifacts_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// Starts an emulator with `config` (quiet, loopback, free port).
pub fn emulator(config: Config) -> Emulator {
    Emulator::start(config).expect("emulator starts")
}

/// An emulator with the default keys and no limit.
pub fn default_emulator() -> Emulator {
    emulator(Config::default())
}

/// How a C test program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// liblsq.a, with the system libraries Rust's std needs.
    Static,
    /// liblsq.so, found through an rpath.
    Dynamic,
}

/// Compiles tests/c/NAME.c with -std=c99 -Wall -Wextra -Wpedantic -Werror.
/// `LSQ_TEST_CFLAGS` adds flags (for example -fsanitize=address,undefined).
/// Each program is compiled once per test process, even when several tests
/// run it at once (rewriting a running executable fails with ETXTBSY).
pub fn compile_c(name: &str, link: Link) -> PathBuf {
    compile_source(&root().join("tests/c").join(format!("{name}.c")), link)
}

/// [`compile_c`] for any C (`.c`, -std=c99) or C++ (`.cpp`, $CXX, -std=c++17)
/// source, such as the programs in examples-c/, with the same warnings,
/// include path and link.
pub fn compile_source(source: &Path, link: Link) -> PathBuf {
    static COMPILED: Mutex<Vec<(PathBuf, Link, PathBuf)>> = Mutex::new(Vec::new());
    let mut compiled = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, exe)) = compiled.iter().find(|(s, l, _)| s == source && *l == link) {
        return exe.clone();
    }
    let exe = compile_c_now(source, link);
    compiled.push((source.to_path_buf(), link, exe.clone()));
    exe
}

/// The warnings every C and C++ program of the project compiles with.
pub const WARNINGS: [&str; 4] = ["-Wall", "-Wextra", "-Wpedantic", "-Werror"];

/// Compiles (-c, no link) the C99 translation unit `source` with
/// [`WARNINGS`] against include/lsq.h; returns the compiler's diagnostics
/// on failure.
pub fn check_c_compiles(source: &Path) -> Result<(), String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .arg("-std=c99")
        .args(WARNINGS)
        .arg("-I")
        .arg(root().join("include"))
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(source.with_extension("o"))
        .output()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    let _ = std::fs::remove_file(source.with_extension("o"));
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// `cargo test` builds the library only as an rlib for the Rust tests; the C
/// programs need liblsq.a and liblsq.so of the same sources and profile, so
/// build them once per test process (incremental, usually instant).
fn build_c_libraries() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile = artifacts_dir()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_string();
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "lsq", "--lib"])
            .current_dir(root());
        if profile != "debug" {
            cmd.args(["--profile", &profile]);
        }
        let status = cmd
            .status()
            .expect("run cargo build for liblsq.a/liblsq.so");
        assert!(status.success(), "cargo build of liblsq failed");
    });
}

fn compile_c_now(source: &Path, link: Link) -> PathBuf {
    let name = source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cpp = source.extension().is_some_and(|e| e == "cpp");
    build_c_libraries();
    let out_dir = artifacts_dir().join("c-tests");
    std::fs::create_dir_all(&out_dir).expect("c-tests dir");
    // Per test binary: runners that start test binaries in parallel
    // (nextest) must not rewrite each other's executables.
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let exe = out_dir.join(format!("{name}-{link:?}-{binary}").to_lowercase());
    let cc = if cpp {
        std::env::var("CXX").unwrap_or_else(|_| "c++".into())
    } else {
        std::env::var("CC").unwrap_or_else(|_| "cc".into())
    };
    let mut cmd = Command::new(&cc);
    cmd.arg(if cpp { "-std=c++17" } else { "-std=c99" });
    cmd.args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g", "-O1"])
        .arg("-D_POSIX_C_SOURCE=200809L")
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(root().join("tests/c"));
    if let Ok(extra) = std::env::var("LSQ_TEST_CFLAGS") {
        cmd.args(extra.split_whitespace());
    }
    cmd.arg(source).arg("-o").arg(&exe);
    match link {
        Link::Static => {
            cmd.arg(artifacts_dir().join("liblsq.a"));
            cmd.args([
                "-lgcc_s",
                "-lutil",
                "-lrt",
                "-lpthread",
                "-lm",
                "-ldl",
                "-lc",
            ]);
        }
        Link::Dynamic => {
            // The loader looks for the soname, liblsq.so.0, as an installed library would have it.
            let soname = out_dir.join("liblsq.so.0");
            let _ = std::fs::remove_file(&soname);
            std::os::unix::fs::symlink(artifacts_dir().join("liblsq.so"), &soname)
                .expect("soname link");
            cmd.arg("-L").arg(artifacts_dir()).arg("-llsq");
            cmd.arg(format!("-Wl,-rpath,{}", out_dir.display()));
            cmd.arg("-lpthread");
        }
    }
    let output = cmd.output().unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Runs a compiled C test against `emu`, killing it after `limit`.
/// `LSQ_TEST_WRAPPER` (for example "valgrind --error-exitcode=99 ...") runs it under a tool.
pub fn run_c(exe: &Path, emu: &Emulator, extra_env: &[(&str, &str)], limit: Duration) -> Output {
    run_c_under(&[], exe, emu, extra_env, limit)
}

/// [`run_c`] under `prefix` (a command and its arguments, such as
/// `unshare -n`), outside any `LSQ_TEST_WRAPPER`.
pub fn run_c_under(
    prefix: &[&str],
    exe: &Path,
    emu: &Emulator,
    extra_env: &[(&str, &str)],
    limit: Duration,
) -> Output {
    let wrapper = std::env::var("LSQ_TEST_WRAPPER").unwrap_or_default();
    let mut words = prefix
        .iter()
        .map(|w| w.to_string())
        .chain(wrapper.split_whitespace().map(str::to_string))
        .collect::<Vec<_>>()
        .into_iter();
    let mut cmd = match words.next() {
        Some(tool) => {
            let mut c = Command::new(tool);
            c.args(words).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.env("LSQ_TEST_HOST", emu.url())
        .env("LSQ_TEST_ACCESS_KEY", DEFAULT_ACCESS_KEY)
        .env("LSQ_TEST_SECRET_KEY", DEFAULT_SECRET_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn C test");
    let pid = child.id();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    // A watchdog, not synchronisation: a hung program is killed so the test fails instead of hanging.
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    let output = child.wait_with_output().expect("wait for C test");
    let _ = done_tx.send(());
    let _ = watchdog.join();
    output
}

/// Asserts the program passed, showing its output if not.
pub fn assert_passed(name: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{name} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // What the program measured (shown with `cargo test -- --nocapture`).
    print!("{name}: {}", String::from_utf8_lossy(&output.stdout));
}

/// Asserts neither key appears in `text`, raw or URL-encoded.
pub fn assert_no_key(what: &str, text: &str) {
    for key in [DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY] {
        assert!(!text.contains(key), "{what} contains a key");
        let encoded = key.replace('$', "%24");
        assert!(!text.contains(&encoded), "{what} contains an encoded key");
    }
}
