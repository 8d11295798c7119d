//! Hostile input over every C entry point, with proptest: random bytes,
//! invalid UTF-8, 100 KB strings, NULLs, out-of-range integers, CR/LF where
//! a header is built, and the entry points called in any order. The only
//! outcomes are a status and a reason: never a crash, a panic, a hang, or a
//! request on the wire for a popup that was refused.
//!
//! Case counts keep this file well under 30 s in a debug build.

#[path = "support/ffi.rs"]
mod ffi;
#[allow(unused_imports)] // support re-exports more than this file needs
mod support;

use std::ffi::{c_char, c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ffi::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use support::*;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    })
}

/// Bytes without NUL (they become a C string).
fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> + Clone {
    prop::collection::vec(1u8..=255, 0..max)
}

/// Text a host could pass anywhere: random bytes, random Unicode (controls
/// included), invalid UTF-8, CR/LF, and 100 KB strings.
fn hostile() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => bytes(40),
        3 => any::<String>().prop_map(|s| s.replace('\0', "\u{1}").into_bytes()),
        2 => "[0-9+() .-]{0,24}".prop_map(String::into_bytes),
        1 => Just(vec![b'1'; 100_000]),
        1 => Just("é".repeat(50_000).into_bytes()),
        1 => Just(vec![b'1', b'2', 0xC3, 0x28]),
        1 => Just(b"12\r\n34".to_vec()),
        1 => Just(b"\xef\xbb\xbf+91 861".to_vec()),
        1 => Just(Vec::new()),
    ]
    .boxed()
}

/// A field: mostly its valid value, else hostile, sometimes NULL.
fn field(valid: &'static str) -> BoxedStrategy<Option<Vec<u8>>> {
    prop_oneof![
        5 => Just(Some(valid.as_bytes().to_vec())),
        4 => hostile().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

fn direction() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..=1, 1 => any::<u32>(), 1 => Just(u32::MAX), 1 => Just(2u32)]
}

type Fields = [Option<Vec<u8>>; 7];

fn popup_fields() -> impl Strategy<Value = (Fields, u32)> {
    (
        (
            field(SOURCE),
            field(DESTINATION),
            field(DISPLAY),
            field("1700000000.42"),
        ),
        (field(LEAD), field(USER), field("Tag - Lead")),
        direction(),
    )
        .prop_map(|((a, b, c, d), (e, f, g), dir)| ([a, b, c, d, e, f, g], dir))
}

fn cstring(bytes: &[u8]) -> CString {
    CString::new(bytes.to_vec()).expect("strategies make no NUL")
}

fn to_popup(fields: &Fields, direction: u32) -> PopupData {
    let mut p = PopupData::documented("x");
    for (name, value) in POPUP_FIELDS.iter().zip(fields) {
        *p.field_mut(name) = value.as_deref().map(cstring);
    }
    p.direction = direction;
    p
}

/// What the contract says of these fields: valid or not (the Rust core's
/// own rules, after the C layer's NULL, UTF-8 and direction checks).
fn is_valid(fields: &Fields, direction: u32) -> bool {
    fn text(f: &Option<Vec<u8>>) -> Option<Result<&str, std::str::Utf8Error>> {
        f.as_deref().map(std::str::from_utf8)
    }
    let mut strs = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        match text(f) {
            Some(Ok(s)) => strs.push(Some(s)),
            Some(Err(_)) => return false,
            None if POPUP_FIELDS[i] == "tag" => strs.push(None),
            None => return false,
        }
    }
    let Some(direction) = lsq::Direction::from_code(direction) else {
        return false;
    };
    lsq::Popup {
        source_number: strs[0].unwrap(),
        destination_number: strs[1].unwrap(),
        display_number: strs[2].unwrap(),
        direction,
        call_session_id: strs[3].unwrap(),
        lead_id: strs[4].unwrap(),
        user_id: strs[5].unwrap(),
        tag: strs[6],
    }
    .validate()
    .is_ok()
}

fn fields_named(reason: &str) -> bool {
    POPUP_FIELDS
        .iter()
        .chain(&["direction", "popup"])
        .any(|f| reason.contains(f))
}

#[test]
fn any_popup_gives_a_status_and_a_refused_one_sends_nothing() {
    let emu = default_emulator();
    let o = Opts::new().with(&[("proxy", "none"), ("rate_limit", "0"), ("max_retries", "0")]);
    let client = Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &o).unwrap();
    let sink = Results::new();
    let queued = AtomicUsize::new(0);
    let mut runner = runner(1000);
    runner
        .run(
            &(popup_fields(), any::<bool>()),
            |((fields, dir), asynchronous)| {
                let valid = is_valid(&fields, dir);
                let popup = to_popup(&fields, dir);
                let before = emu.request_count();
                let status = if asynchronous {
                    let s = client.show_async(&popup, &sink);
                    if s == LSQ_OK {
                        queued.fetch_add(1, Ordering::SeqCst);
                        prop_assert_eq!(client.flush(10_000), LSQ_OK);
                    }
                    s
                } else {
                    let (s, r) = client.show(&popup);
                    prop_assert_eq!(r.status, s);
                    if s != LSQ_OK {
                        prop_assert_eq!((r.attempts, r.http_status), (0, 0));
                        prop_assert_eq!(message(&r), last_error());
                    }
                    s
                };
                if valid {
                    prop_assert_eq!(status, LSQ_OK, "valid popup refused: {}", last_error());
                    prop_assert_eq!(emu.request_count(), before + 1);
                } else {
                    prop_assert_eq!(status, LSQ_ERR_INVALID_ARGUMENT);
                    let reason = last_error();
                    prop_assert!(fields_named(&reason), "reason names no field: {}", reason);
                    prop_assert!(reason.len() < 1024, "reason of {} bytes", reason.len());
                    prop_assert_eq!(emu.request_count(), before, "a refused popup was sent");
                }
                Ok(())
            },
        )
        .unwrap();
    // Every queued popup called back exactly once, and only those.
    assert_eq!(client.flush(10_000), LSQ_OK);
    let n = queued.load(Ordering::SeqCst);
    assert_eq!(sink.wait_for(n, Duration::from_secs(5)).len(), n);
    client.free();
    assert_eq!(sink.count(), n);
    assert!(sink.got.lock().unwrap().iter().all(|r| r.status == LSQ_OK));
}

#[test]
fn null_everywhere_is_an_invalid_argument() {
    let popup = PopupData::documented("null");
    let raw = popup.raw();
    let mut result = empty_result();
    let mut stats = lsq_stats::default();
    // SAFETY: every pointer is NULL or valid; NULL is what is tested.
    unsafe {
        assert_eq!(
            lsq_show_agent_popup(ptr::null_mut(), &raw, &mut result),
            LSQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(result.status, LSQ_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("client"));
        assert_eq!(
            lsq_show_agent_popup(ptr::null_mut(), ptr::null(), ptr::null_mut()),
            LSQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            lsq_show_agent_popup_async(ptr::null_mut(), &raw, None, ptr::null_mut()),
            LSQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(lsq_flush(ptr::null_mut(), 0), LSQ_ERR_INVALID_ARGUMENT);
        assert_eq!(
            lsq_flush(ptr::null_mut(), u32::MAX),
            LSQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            lsq_client_stats(ptr::null(), &mut stats),
            LSQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            lsq_options_set(ptr::null_mut(), ptr::null(), ptr::null()),
            LSQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            lsq_options_set_log_callback(ptr::null_mut(), None, ptr::null_mut()),
            LSQ_ERR_INVALID_ARGUMENT
        );
        assert!(lsq_client_new(ptr::null(), ptr::null(), ptr::null()).is_null());
        assert!(
            lsq_client_new_with_options(ptr::null(), ptr::null(), ptr::null(), ptr::null())
                .is_null()
        );
        lsq_free(ptr::null_mut());
        lsq_options_free(ptr::null_mut());
        assert!(!lsq_version().is_null());
        assert!(!lsq_last_error().is_null());
    }
}

#[test]
fn status_str_takes_any_integer() {
    let known = |s: i32| (0..=18).contains(&s);
    for s in [i32::MIN, -1, 0, 1, 15, 16, 17, 18, 19, 255, 256, i32::MAX] {
        let text = status_str(s);
        assert_eq!(text == "unknown status", !known(s), "{s}: {text}");
    }
    runner(2000)
        .run(&any::<i32>(), |s| {
            // SAFETY: static, NUL-terminated.
            let p = lsq_status_str(s);
            prop_assert!(!p.is_null());
            // SAFETY: non-NULL, static.
            let text = unsafe { std::ffi::CStr::from_ptr(p) }.to_str();
            prop_assert!(text.is_ok());
            prop_assert_eq!(text.unwrap() == "unknown status", !known(s));
            Ok(())
        })
        .unwrap();
}

fn option_key() -> BoxedStrategy<Option<Vec<u8>>> {
    prop_oneof![
        6 => prop::sample::select(lsq::OPTION_KEYS).prop_map(|k| Some(k.as_bytes().to_vec())),
        2 => hostile().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

fn option_value() -> BoxedStrategy<Option<Vec<u8>>> {
    prop_oneof![
        4 => hostile().prop_map(Some),
        2 => "[0-9]{1,25}".prop_map(|s| Some(s.into_bytes())),
        1 => prop::sample::select(vec![
            "true", "no", "none", "query", "header", "25/5", "0", "3/1", "0/5",
            "http://127.0.0.1:3128", "http://p:1\r\nX-Injected: 1", "pbx\r\nX-Injected: 1",
            "pbx\nX: 1", "socks5://h:1", "ftp://h", "-1", "18446744073709551616",
        ])
        .prop_map(|s| Some(s.as_bytes().to_vec())),
        1 => Just(None),
    ]
    .boxed()
}

#[test]
fn any_option_gives_the_same_status_as_the_core_and_never_a_header_injection() {
    let o = Opts::new();
    runner(3000)
        .run(&(option_key(), option_value()), |(key, value)| {
            let (k, v) = (key.as_deref().map(cstring), value.as_deref().map(cstring));
            let p = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
            // SAFETY: live options; NULL or NUL-terminated strings.
            let status = unsafe { lsq_options_set(o.0, p(&k), p(&v)) };
            prop_assert!(status == LSQ_OK || status == LSQ_ERR_INVALID_ARGUMENT);
            let utf8 = |b: &Option<Vec<u8>>| {
                b.as_deref()
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .map(str::to_string)
            };
            let expected = match (utf8(&key), utf8(&value)) {
                (Some(k), Some(v)) => lsq::Options::default().set(&k, &v).is_ok(),
                _ => false,
            };
            prop_assert_eq!(status == LSQ_OK, expected, "{}", last_error());
            if status != LSQ_OK {
                prop_assert!(!last_error().is_empty());
            }
            let k = key.as_deref().unwrap_or_default();
            let has_newline = value
                .as_deref()
                .is_some_and(|v| v.iter().any(|&b| b == b'\r' || b == b'\n'));
            if (k == b"user_agent" || k == b"proxy") && has_newline {
                prop_assert_eq!(status, LSQ_ERR_INVALID_ARGUMENT);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_host_and_keys_give_a_client_or_a_reason_without_io_or_the_keys() {
    let text = || {
        prop_oneof![
            4 => hostile().prop_map(Some),
            2 => "(https?://)?[a-z0-9.-]{1,20}(:[0-9]{1,6})?/?".prop_map(|s| Some(s.into_bytes())),
            1 => Just(None),
        ]
    };
    runner(500)
        .run(&(text(), text(), text()), |(host, ak, sk)| {
            let (h, a, s) = (
                host.as_deref().map(cstring),
                ak.as_deref().map(cstring),
                sk.as_deref().map(cstring),
            );
            let p = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
            let started = Instant::now();
            // SAFETY: NULL or NUL-terminated strings.
            let client = unsafe { lsq_client_new(p(&h), p(&a), p(&s)) };
            prop_assert!(
                started.elapsed() < Duration::from_secs(2),
                "creation blocked"
            );
            if client.is_null() {
                let reason = last_error();
                prop_assert!(!reason.is_empty());
                let contains =
                    |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
                let host = host.as_deref().unwrap_or_default();
                for key in [&ak, &sk].into_iter().flatten() {
                    // A key long enough not to appear by chance (and not a
                    // part of the host, which the reason may quote) is never repeated.
                    if key.len() >= 8 && !contains(host, key) {
                        prop_assert!(
                            !contains(reason.as_bytes(), key),
                            "the reason repeats a key ({} bytes)",
                            key.len()
                        );
                    }
                }
            } else {
                prop_assert!(host.is_some() && ak.is_some() && sk.is_some());
                // SAFETY: just created, freed once.
                unsafe { lsq_free(client) };
            }
            Ok(())
        })
        .unwrap();
}

/// One call of the state machine. Handles are picked by index among the
/// live ones (NULL when there is none, or when `None`): never a dangling
/// pointer, which the contract leaves undefined.
#[derive(Clone, Debug)]
enum Op {
    OptionsNew,
    OptionsSet(Option<usize>, usize, Option<Vec<u8>>),
    OptionsLog(Option<usize>, bool),
    OptionsFree(Option<usize>),
    ClientNew(Option<usize>, usize),
    ClientFree(Option<usize>),
    Show(Option<usize>, u8, bool),
    ShowAsync(Option<usize>, u8, bool),
    Flush(Option<usize>, u32),
    Stats(Option<usize>, bool),
}

/// Keys the machine sets: harmless on a healthy server (no proxy, no limiter
/// waits, no huge thread counts), with hostile values mixed in.
const MACHINE_KEYS: [&str; 8] = [
    "workers",
    "queue_capacity",
    "dedup_window_ms",
    "user_agent",
    "auth",
    "timeout_ms",
    "shutdown_timeout_ms",
    "no_such_key",
];

fn machine_value() -> BoxedStrategy<Option<Vec<u8>>> {
    prop_oneof![
        3 => prop::sample::select(vec!["1", "2", "3", "0", "500", "query", "header", "pbx/1"])
            .prop_map(|s| Some(s.as_bytes().to_vec())),
        2 => hostile().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

fn op() -> impl Strategy<Value = Op> {
    let slot = || prop_oneof![1 => Just(None), 6 => (0usize..4).prop_map(Some)];
    prop_oneof![
        2 => Just(Op::OptionsNew),
        3 => (slot(), 0..MACHINE_KEYS.len(), machine_value())
            .prop_map(|(s, k, v)| Op::OptionsSet(s, k, v)),
        1 => (slot(), any::<bool>()).prop_map(|(s, b)| Op::OptionsLog(s, b)),
        1 => slot().prop_map(Op::OptionsFree),
        3 => (slot(), 0usize..4).prop_map(|(s, h)| Op::ClientNew(s, h)),
        1 => slot().prop_map(Op::ClientFree),
        3 => (slot(), 0u8..3, any::<bool>()).prop_map(|(s, p, r)| Op::Show(s, p, r)),
        4 => (slot(), 0u8..3, any::<bool>()).prop_map(|(s, p, c)| Op::ShowAsync(s, p, c)),
        1 => (slot(), prop_oneof![Just(0u32), 0u32..2000]).prop_map(|(s, t)| Op::Flush(s, t)),
        2 => (slot(), any::<bool>()).prop_map(|(s, n)| Op::Stats(s, n)),
    ]
}

fn pick<T: Copy>(live: &[T], slot: Option<usize>, null: T) -> (T, Option<usize>) {
    match slot {
        Some(i) if !live.is_empty() => {
            let i = i % live.len();
            (live[i], Some(i))
        }
        _ => (null, None),
    }
}

const VALID_STATUSES: std::ops::RangeInclusive<i32> = 0..=18;

#[test]
fn entry_points_in_any_order_never_crash_and_keep_their_promises() {
    let emu = default_emulator();
    let log = LogLines::new();
    let sink = Results::new();
    let session = AtomicUsize::new(0);
    runner(128)
        .run(&prop::collection::vec(op(), 1..40), |ops| {
            let mut options: Vec<*mut lsq_options> = Vec::new();
            let mut clients: Vec<*mut lsq_client> = Vec::new();
            let mut queued = 0usize;
            let callbacks_before = sink.count();
            for op in ops {
                let status = match op {
                    Op::OptionsNew => {
                        let o = lsq_options_new();
                        prop_assert!(!o.is_null());
                        let set = |k: &str, v: &str| {
                            let (k, v) = (c(k), c(v));
                            // SAFETY: fresh options, NUL-terminated strings.
                            unsafe { lsq_options_set(o, k.as_ptr(), v.as_ptr()) }
                        };
                        for (k, v) in [
                            ("proxy", "none"),
                            ("rate_limit", "0"),
                            ("max_retries", "0"),
                            ("shutdown_timeout_ms", "200"),
                        ] {
                            prop_assert_eq!(set(k, v), LSQ_OK);
                        }
                        options.push(o);
                        LSQ_OK
                    }
                    Op::OptionsSet(slot, key, value) => {
                        let (o, _) = pick(&options, slot, ptr::null_mut());
                        let k = c(MACHINE_KEYS[key]);
                        let v = value.as_deref().map(cstring);
                        let vp = v.as_ref().map_or(ptr::null(), |v| v.as_ptr());
                        // SAFETY: live or NULL options; NULL or NUL-terminated strings.
                        let s = unsafe { lsq_options_set(o, k.as_ptr(), vp) };
                        if o.is_null() || v.is_none() {
                            prop_assert_eq!(s, LSQ_ERR_INVALID_ARGUMENT);
                        }
                        s
                    }
                    Op::OptionsLog(slot, on) => {
                        let (o, _) = pick(&options, slot, ptr::null_mut());
                        let cb: lsq_log_callback = if on { Some(count_log) } else { None };
                        // SAFETY: `log` outlives every client (they are all freed below).
                        let s = unsafe {
                            lsq_options_set_log_callback(o, cb, Arc::as_ptr(&log) as *mut c_void)
                        };
                        prop_assert_eq!(s == LSQ_OK, !o.is_null());
                        s
                    }
                    Op::OptionsFree(slot) => {
                        let (o, i) = pick(&options, slot, ptr::null_mut());
                        // SAFETY: live or NULL, and forgotten once freed.
                        unsafe { lsq_options_free(o) };
                        if let Some(i) = i {
                            options.swap_remove(i);
                        }
                        LSQ_OK
                    }
                    Op::ClientNew(slot, host) => {
                        let (o, _) = pick(&options, slot, ptr::null_mut());
                        let host = match host {
                            0 | 1 => emu.url().to_string(),
                            2 => "http://127.0.0.1:1".to_string(),
                            _ => "http://not a host".to_string(),
                        };
                        let (h, a, s) = (c(&host), c(DEFAULT_ACCESS_KEY), c(DEFAULT_SECRET_KEY));
                        // SAFETY: NUL-terminated strings, live or NULL options.
                        let client = unsafe {
                            lsq_client_new_with_options(h.as_ptr(), a.as_ptr(), s.as_ptr(), o)
                        };
                        if client.is_null() {
                            prop_assert!(!last_error().is_empty());
                            LSQ_ERR_INVALID_ARGUMENT
                        } else {
                            clients.push(client);
                            LSQ_OK
                        }
                    }
                    Op::ClientFree(slot) => {
                        let (client, i) = pick(&clients, slot, ptr::null_mut());
                        // SAFETY: live or NULL, and forgotten once freed.
                        unsafe { lsq_free(client) };
                        if let Some(i) = i {
                            clients.swap_remove(i);
                        }
                        LSQ_OK
                    }
                    Op::Show(slot, kind, with_result) => {
                        let (client, _) = pick(&clients, slot, ptr::null_mut());
                        let n = session.fetch_add(1, Ordering::SeqCst);
                        let popup = machine_popup(kind, n);
                        let raw = popup.as_ref().map(PopupData::raw);
                        let rp = raw.as_ref().map_or(ptr::null(), |r| r as *const lsq_popup);
                        let mut result = empty_result();
                        let res = if with_result {
                            &mut result as *mut _
                        } else {
                            ptr::null_mut()
                        };
                        // SAFETY: live or NULL pointers.
                        let s = unsafe { lsq_show_agent_popup(client, rp, res) };
                        if with_result {
                            prop_assert_eq!(result.status, s);
                        }
                        if client.is_null() || kind != 0 {
                            prop_assert_eq!(s, LSQ_ERR_INVALID_ARGUMENT);
                        }
                        s
                    }
                    Op::ShowAsync(slot, kind, with_callback) => {
                        let (client, _) = pick(&clients, slot, ptr::null_mut());
                        let n = session.fetch_add(1, Ordering::SeqCst);
                        let popup = machine_popup(kind, n);
                        let raw = popup.as_ref().map(PopupData::raw);
                        let rp = raw.as_ref().map_or(ptr::null(), |r| r as *const lsq_popup);
                        let cb: lsq_popup_callback =
                            if with_callback { Some(collect) } else { None };
                        // SAFETY: live or NULL pointers; `sink` outlives every client.
                        let s = unsafe {
                            lsq_show_agent_popup_async(
                                client,
                                rp,
                                cb,
                                Arc::as_ptr(&sink) as *mut c_void,
                            )
                        };
                        if client.is_null() || kind != 0 {
                            prop_assert_eq!(s, LSQ_ERR_INVALID_ARGUMENT);
                        }
                        if s == LSQ_OK && with_callback {
                            queued += 1;
                        }
                        s
                    }
                    Op::Flush(slot, timeout) => {
                        let (client, _) = pick(&clients, slot, ptr::null_mut());
                        let started = Instant::now();
                        // SAFETY: live or NULL.
                        let s = unsafe { lsq_flush(client, timeout) };
                        prop_assert!(
                            started.elapsed() < Duration::from_millis(u64::from(timeout) + 2000)
                        );
                        if client.is_null() {
                            prop_assert_eq!(s, LSQ_ERR_INVALID_ARGUMENT);
                        }
                        s
                    }
                    Op::Stats(slot, null_stats) => {
                        let (client, _) = pick(&clients, slot, ptr::null_mut());
                        let mut st = lsq_stats::default();
                        let sp = if null_stats {
                            ptr::null_mut()
                        } else {
                            &mut st as *mut _
                        };
                        // SAFETY: live or NULL pointers.
                        let s = unsafe { lsq_client_stats(client, sp) };
                        prop_assert_eq!(s == LSQ_OK, !client.is_null() && !null_stats);
                        if s == LSQ_OK {
                            prop_assert_eq!(
                                st.submitted,
                                st.succeeded
                                    + st.failed
                                    + u64::from(st.queued)
                                    + u64::from(st.in_flight),
                                "{:?}",
                                st
                            );
                        }
                        s
                    }
                };
                prop_assert!(VALID_STATUSES.contains(&status), "status {}", status);
                if status != LSQ_OK {
                    prop_assert!(!last_error().is_empty(), "a failure without a reason");
                }
            }
            for client in clients {
                // SAFETY: live, freed once.
                unsafe { lsq_free(client) };
            }
            for o in options {
                // SAFETY: live, freed once.
                unsafe { lsq_options_free(o) };
            }
            // lsq_free returned only after every callback: exactly one per queued popup.
            prop_assert_eq!(sink.count() - callbacks_before, queued);
            Ok(())
        })
        .unwrap();
}

/// 0: valid; 1: invalid field; 2: NULL popup.
fn machine_popup(kind: u8, n: usize) -> Option<PopupData> {
    let mut p = PopupData::documented(&format!("machine-{n}"));
    match kind {
        0 => Some(p),
        1 => {
            p.lead_id = Some(c("not-a-guid"));
            Some(p)
        }
        _ => None,
    }
}

unsafe extern "C" fn count_log(_level: u32, line: *const c_char, user_data: *mut c_void) {
    // SAFETY: user_data is the test's Arc<LogLines>; line is NUL-terminated.
    let log = unsafe { &*(user_data as *const LogLines) };
    let line = unsafe { text(line) };
    log.lines.lock().unwrap().push((0, line));
}

unsafe extern "C" fn collect(result: *const lsq_result, user_data: *mut c_void) {
    // SAFETY: user_data is the test's Arc<Results>; result is valid for the call.
    let sink = unsafe { &*(user_data as *const Results) };
    sink.got.lock().unwrap().push(unsafe { *result });
    sink.changed.notify_all();
}

/// The client a re-entrant log callback calls back into.
static REENTRANT_CLIENT: AtomicPtr<lsq_client> = AtomicPtr::new(ptr::null_mut());
static REENTRANT_LINES: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn reentrant_log(_level: u32, _line: *const c_char, _user: *mut c_void) {
    REENTRANT_LINES.fetch_add(1, Ordering::SeqCst);
    let client = REENTRANT_CLIENT.load(Ordering::SeqCst);
    let mut st = lsq_stats::default();
    // SAFETY: NULL or the live client (cleared before it is freed).
    unsafe {
        lsq_client_stats(client, &mut st);
        let o = lsq_options_new();
        lsq_options_set(o, c"timeout_ms".as_ptr(), c"bad".as_ptr());
        lsq_options_free(o);
        lsq_status_str(-7);
        lsq_last_error();
    }
}

#[test]
fn a_log_callback_that_calls_back_into_the_library_does_not_deadlock() {
    let emu = Arc::new(emulator(Config {
        rate_limit: Some((1000, Duration::from_secs(1))),
        ..Config::default()
    }));
    let o = Opts::new().with(&[
        ("proxy", "none"),
        ("rate_limit", "0"),
        ("max_retries", "1"),
        ("max_age_ms", "3000"),
        ("queue_capacity", "2"),
        ("workers", "1"),
        // One worker at most: the slow answer holds it and the queue fills.
        ("max_in_flight", "1"),
        ("dedup_window_ms", "60000"),
        ("shutdown_timeout_ms", "100"),
    ]);
    // SAFETY: a static callback; no user_data.
    assert_eq!(
        unsafe { lsq_options_set_log_callback(o.0, Some(reentrant_log), ptr::null_mut()) },
        LSQ_OK
    );
    // The sink outlives the client: lsq_free runs the last callbacks.
    let sink = Results::new();
    let client =
        Arc::new(Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &o).unwrap());
    REENTRANT_CLIENT.store(client.0, Ordering::SeqCst);
    // A rate-limit answer (a limit learned, a wait), a retried 502, a refused
    // popup, a duplicate, a slow answer holding the only worker and a full
    // queue: each logs, and each log line calls back into the library.
    emu.push_faults([Fault::RateLimited { retry_after: None }, Fault::status(502)]);
    let (tx, rx) = std::sync::mpsc::channel();
    let calls = {
        let (client, sink, emu) = (client.clone(), sink.clone(), emu.clone());
        std::thread::spawn(move || {
            let (s1, _) = client.show(&PopupData::documented("limited"));
            emu.push_fault(Fault::Delay(Duration::from_secs(30)));
            let (s2, _) = client.show(&PopupData::documented("limited"));
            let mut bad = PopupData::documented("bad");
            bad.user_id = None;
            let (s3, _) = client.show(&bad);
            let a: Vec<_> = (0..4)
                .map(|i| client.show_async(&PopupData::documented(&format!("q{i}")), &sink))
                .collect();
            let _ = tx.send((s1, s2, s3, a));
        })
    };
    let Ok(done) = rx.recv_timeout(Duration::from_secs(30)) else {
        // Deadlocked: leave the stuck client alone rather than free it under a thread.
        std::mem::forget(client);
        std::mem::forget(sink);
        panic!("deadlock: a log callback calling back into liblsq never returned");
    };
    calls.join().unwrap();
    REENTRANT_CLIENT.store(ptr::null_mut(), Ordering::SeqCst);
    let took = Arc::into_inner(client).expect("one owner left").free();
    assert_eq!(done.0, LSQ_OK, "rate limited, then retried after a 502");
    assert_eq!(done.1, LSQ_DUPLICATE);
    assert_eq!(done.2, LSQ_ERR_INVALID_ARGUMENT);
    assert!(done.3.contains(&LSQ_ERR_QUEUE_FULL), "{:?}", done.3);
    assert!(took < Duration::from_secs(3), "{took:?}");
    let queued = done.3.iter().filter(|&&s| s == LSQ_OK).count();
    assert_eq!(sink.count(), queued, "one callback per queued popup");
    assert!(REENTRANT_LINES.load(Ordering::SeqCst) >= 5);
}

#[test]
fn a_rust_completion_that_panics_does_not_kill_the_worker() {
    let emu = default_emulator();
    let mut options = lsq::Options::default();
    for (k, v) in [("proxy", "none"), ("rate_limit", "0"), ("workers", "1")] {
        options.set(k, v).unwrap();
    }
    let client =
        lsq::Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
    for i in 0..3 {
        let session = format!("panics-{i}");
        client
            .show_agent_popup_async(&documented_popup(&session), |_| {
                panic!("a host completion panicked")
            })
            .unwrap();
    }
    let (tx, rx) = std::sync::mpsc::channel();
    client
        .show_agent_popup_async(&documented_popup("after"), move |r| tx.send(r).unwrap())
        .unwrap();
    let report = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(report.outcome.is_ok(), "{report:?}");
    client.flush(Duration::from_secs(5)).unwrap();
    let st = client.stats();
    assert_eq!((st.submitted, st.succeeded, st.in_flight), (4, 4, 0));
}
