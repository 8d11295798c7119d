//! Soak: pushes many popups through one client (through the C ABI, async
//! with callbacks, and some blocking calls), against an in-process emulator
//! that now and then misbehaves, and samples the process's resident memory
//! to show it stays flat.
//!
//!     cargo run --release --example soak -- [POPUPS] [--max-growth-kb N] [--max-heap-growth-kb N]
//!
//! The client has the default options but for the rate limit (off) and the
//! queue (4096): its worker pool grows under the bursts as a PBX's would.
//!
//! POPUPS defaults to 100000. After every batch of 2000 it samples the
//! process's RSS and the heap in use (glibc's `mallinfo2`: bytes handed out
//! and not freed, the measure a leak moves). The first fifth is warm-up
//! (pools, buffers, per-thread allocator arenas fill up). The growth reported
//! is the trend: the mean of the last quarter of the samples minus the mean
//! of the first quarter after warm-up (a leak of even 10 bytes per popup
//! shows as about 600 KiB per 100000 in the heap in use).
//!
//! Why two figures: glibc gives each thread that allocates under contention
//! an arena of its own (up to 8 per core) and an arena keeps freed memory for
//! reuse, so with a pool of 32 workers RSS rises for a while as each arena
//! reaches its own high-water mark, then stays flat; the heap in use does
//! not. (With `MALLOC_ARENA_MAX=1` the RSS growth nearly vanishes.) The
//! `--max-*-kb` options make it exit 1 when a growth is larger.

use std::ffi::{c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lsq::ffi::*;
use lsq_emulator::{Config, Emulator, Fault, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

static DONE: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn on_done(result: *const lsq_result, _user: *mut c_void) {
    // SAFETY: the library passes a valid result for the duration of the call.
    if unsafe { (*result).status } != LSQ_OK {
        FAILED.fetch_add(1, Ordering::Relaxed);
    }
    DONE.fetch_add(1, Ordering::Relaxed);
}

unsafe extern "C" fn on_log(_level: u32, _line: *const std::ffi::c_char, _user: *mut c_void) {}

/// VmRSS of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Heap bytes in use (small and mmapped blocks), KiB.
fn heap_kib() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    ((info.uordblks + info.hblkhd) / 1024) as u64
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn main() {
    let mut popups: u64 = 100_000;
    let mut max_growth: Option<u64> = None;
    let mut max_heap_growth: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--max-growth-kb" => max_growth = args.next().and_then(|v| v.parse().ok()),
            "--max-heap-growth-kb" => max_heap_growth = args.next().and_then(|v| v.parse().ok()),
            n => popups = n.parse().expect("POPUPS is a number"),
        }
    }

    let emu = Emulator::start(Config {
        log_limit: Some(1000),
        ..Config::default()
    })
    .expect("emulator");

    let options = lsq_options_new();
    for (k, v) in [
        ("rate_limit", "0"),
        ("proxy", "none"),
        ("queue_capacity", "4096"),
        ("max_retries", "1"),
        ("timeout_ms", "2000"),
    ] {
        let (k, v) = (c(k), c(v));
        // SAFETY: live options, NUL-terminated strings.
        assert_eq!(
            unsafe { lsq_options_set(options, k.as_ptr(), v.as_ptr()) },
            LSQ_OK
        );
    }
    // A log callback, so every log line is formatted and delivered.
    // SAFETY: a static function, no user data.
    unsafe { lsq_options_set_log_callback(options, Some(on_log), ptr::null_mut()) };
    let (host, ak, sk) = (c(emu.url()), c(DEFAULT_ACCESS_KEY), c(DEFAULT_SECRET_KEY));
    // SAFETY: NUL-terminated strings, live options.
    let client =
        unsafe { lsq_client_new_with_options(host.as_ptr(), ak.as_ptr(), sk.as_ptr(), options) };
    assert!(!client.is_null());
    // SAFETY: from lsq_options_new, freed once.
    unsafe { lsq_options_free(options) };

    let strings: Vec<CString> = [
        "+91-8611795988",
        "+91-8971373363",
        "+91-8611795989",
        "f5c7e023-653c-11e7-b25c-023cca4497b9",
        "dd908e91-c5c9-11e5-8de3-22000aa5088d",
        "Tag - Lead",
    ]
    .iter()
    .map(|s| c(s))
    .collect();

    let batch: u64 = 2000;
    let warm_up = (popups / 5).max(batch);
    let started = Instant::now();
    let mut samples: Vec<u64> = Vec::new();
    let mut heap_samples: Vec<u64> = Vec::new();
    let mut sent = 0u64;
    println!("{:>10} {:>10} {:>12}", "popups", "RSS KiB", "elapsed s");
    while sent < popups {
        // Now and then the server misbehaves: the failure paths must not leak either.
        emu.push_faults([
            Fault::status(500),
            Fault::Drop,
            Fault::Huge { bytes: 100 * 1024 },
            Fault::json_error(400, "MXInvalidInputException", "Invalid LeadId"),
            // A 429 that names no limit (one that did would be learned, and
            // the client would then pace itself to it for the rest of the run).
            Fault::Status {
                code: 429,
                body: br#"{"Status":"Error","ExceptionMessage":"slow down"}"#.to_vec(),
                headers: vec![("Retry-After".into(), "0".into())],
            },
        ]);
        let n = batch.min(popups - sent);
        for i in 0..n {
            let session = c(&format!("soak-{}", sent + i));
            let popup = lsq_popup {
                source_number: strings[0].as_ptr(),
                destination_number: strings[1].as_ptr(),
                display_number: strings[2].as_ptr(),
                direction: LSQ_INBOUND,
                call_session_id: session.as_ptr(),
                lead_id: strings[3].as_ptr(),
                user_id: strings[4].as_ptr(),
                tag: strings[5].as_ptr(),
            };
            if i % 50 == 0 {
                let mut r = std::mem::MaybeUninit::<lsq_result>::uninit();
                // SAFETY: live client, valid popup, writable result.
                unsafe { lsq_show_agent_popup(client, &popup, r.as_mut_ptr()) };
                DONE.fetch_add(1, Ordering::Relaxed);
            } else {
                loop {
                    // SAFETY: live client, valid popup; the callback is static.
                    let s = unsafe {
                        lsq_show_agent_popup_async(client, &popup, Some(on_done), ptr::null_mut())
                    };
                    if s != LSQ_ERR_QUEUE_FULL {
                        assert_eq!(s, LSQ_OK);
                        break;
                    }
                    // SAFETY: live client.
                    unsafe { lsq_flush(client, 10_000) };
                }
            }
        }
        // SAFETY: live client.
        assert_eq!(unsafe { lsq_flush(client, 60_000) }, LSQ_OK);
        sent += n;
        let rss = rss_kib();
        if sent > warm_up {
            samples.push(rss);
            heap_samples.push(heap_kib());
        }
        if sent.is_multiple_of((popups / 20).max(batch)) || sent == popups {
            println!(
                "{sent:>10} {rss:>10} {:>12.1}",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let mut stats = lsq_stats::default();
    // SAFETY: live client, writable stats.
    unsafe { lsq_client_stats(client, &mut stats) };
    // SAFETY: from lsq_client_new_with_options, freed once, last call on it.
    unsafe { lsq_free(client) };
    let end = rss_kib();
    let trend = |samples: &[u64]| {
        let quarter = (samples.len() / 4).max(1);
        let mean = |s: &[u64]| s.iter().sum::<u64>() / s.len().max(1) as u64;
        let first = mean(&samples[..quarter.min(samples.len())]);
        let last = mean(&samples[samples.len().saturating_sub(quarter)..]);
        (first, last, last.saturating_sub(first))
    };
    let (first, last, growth) = trend(&samples);
    let (heap_first, heap_last, heap_growth) = trend(&heap_samples);
    let (low, high) = (
        samples.iter().min().copied().unwrap_or(0),
        samples.iter().max().copied().unwrap_or(0),
    );
    println!(
        "{popups} popups in {:.1} s ({:.0}/s): {} ok, {} failed, {} retries, {} server requests",
        started.elapsed().as_secs_f64(),
        popups as f64 / started.elapsed().as_secs_f64(),
        stats.succeeded,
        stats.failed,
        stats.retries,
        emu.request_count()
    );
    println!(
        "RSS after warm-up ({warm_up} popups): {low}..{high} KiB; first-quarter mean {first} KiB, \
         last-quarter mean {last} KiB: growth {growth} KiB; after lsq_free: {end} KiB"
    );
    println!(
        "heap in use after warm-up: first-quarter mean {heap_first} KiB, last-quarter mean \
         {heap_last} KiB: growth {heap_growth} KiB"
    );
    assert_eq!(DONE.load(Ordering::Relaxed), popups, "every popup ended");
    assert_eq!(stats.submitted, popups);
    drop(emu);
    if let Some(max) = max_growth {
        if growth > max {
            eprintln!("RSS grew {growth} KiB after warm-up: more than {max} KiB");
            std::process::exit(1);
        }
    }
    if let Some(max) = max_heap_growth {
        if heap_growth > max {
            eprintln!("the heap in use grew {heap_growth} KiB after warm-up: more than {max} KiB");
            std::process::exit(1);
        }
    }
}
