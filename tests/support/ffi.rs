//! In-process helpers for the hardening tests: the C ABI (`lsq::ffi::*`,
//! plain `extern "C"` functions) called from Rust, with owned C strings,
//! RAII handles, a log collector and an async result collector.
//! Included with `#[path = "support/ffi.rs"] mod ffi;`.
#![allow(dead_code)]

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub use lsq::ffi::*;

/// A documented popup's fields (defined once, in the shared support module).
pub use super::support::{DESTINATION, DISPLAY, LEAD, SOURCE, USER};

/// A NUL-terminated copy of `s` (which must not hold a NUL).
pub fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL inside")
}

/// A C string as Rust text (lossy), "" for NULL.
///
/// # Safety
/// `p` is NULL or NUL-terminated.
pub unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: as the caller promises.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `lsq_last_error()` of this thread, copied.
pub fn last_error() -> String {
    // SAFETY: lsq_last_error never returns NULL; the string lives until our next call.
    unsafe { text(lsq_last_error()) }
}

/// A zeroed result.
pub fn empty_result() -> lsq_result {
    lsq_result {
        status: -1,
        http_status: 0,
        attempts: 0,
        elapsed_ms: 0,
        message_id: [0; LSQ_MESSAGE_ID_SIZE],
        message: [0; LSQ_MESSAGE_SIZE],
    }
}

/// `result.message` as text.
pub fn message(r: &lsq_result) -> String {
    // SAFETY: the library always NUL-terminates the buffer.
    unsafe { text(r.message.as_ptr()) }
}

/// `result.message_id` as text.
pub fn message_id(r: &lsq_result) -> String {
    // SAFETY: as above.
    unsafe { text(r.message_id.as_ptr()) }
}

/// `lsq_status_str(status)` as text.
pub fn status_str(status: lsq_status) -> String {
    // SAFETY: static, never NULL.
    unsafe { text(lsq_status_str(status)) }
}

/// Owned `lsq_options`, freed on drop.
pub struct Opts(pub *mut lsq_options);

impl Opts {
    pub fn new() -> Opts {
        let p = lsq_options_new();
        assert!(!p.is_null());
        Opts(p)
    }

    /// `lsq_options_set` with Rust strings.
    pub fn set(&self, key: &str, value: &str) -> lsq_status {
        let (k, v) = (c(key), c(value));
        // SAFETY: live options, NUL-terminated strings.
        unsafe { lsq_options_set(self.0, k.as_ptr(), v.as_ptr()) }
    }

    /// Sets every pair, panicking with the reason when one is refused.
    pub fn with(self, pairs: &[(&str, &str)]) -> Opts {
        for (k, v) in pairs {
            assert_eq!(self.set(k, v), LSQ_OK, "{k}={v}: {}", last_error());
        }
        self
    }

    /// Routes log lines to `log` (which must outlive every client made from these options).
    pub fn log_to(self, log: &Arc<LogLines>) -> Opts {
        // SAFETY: the pointer stays valid while `log` (held by the test) lives.
        let s = unsafe {
            lsq_options_set_log_callback(self.0, Some(collect_log), Arc::as_ptr(log) as *mut c_void)
        };
        assert_eq!(s, LSQ_OK);
        self
    }
}

impl Default for Opts {
    fn default() -> Opts {
        Opts::new()
    }
}

impl Drop for Opts {
    fn drop(&mut self) {
        // SAFETY: from lsq_options_new, freed once.
        unsafe { lsq_options_free(self.0) }
    }
}

/// Owned `lsq_client`, freed on drop.
pub struct Client(pub *mut lsq_client);

// SAFETY: the contract makes a client shareable between threads.
unsafe impl Send for Client {}
// SAFETY: as above.
unsafe impl Sync for Client {}

impl Client {
    /// `lsq_client_new_with_options`; the reason from `lsq_last_error()` on failure.
    pub fn new(
        host: &str,
        access_key: &str,
        secret_key: &str,
        opts: &Opts,
    ) -> Result<Client, String> {
        let (h, a, s) = (c(host), c(access_key), c(secret_key));
        // SAFETY: NUL-terminated strings, live options.
        let p = unsafe { lsq_client_new_with_options(h.as_ptr(), a.as_ptr(), s.as_ptr(), opts.0) };
        if p.is_null() {
            Err(last_error())
        } else {
            Ok(Client(p))
        }
    }

    /// The blocking call; the status and the filled result.
    pub fn show(&self, popup: &PopupData) -> (lsq_status, lsq_result) {
        let mut r = empty_result();
        let p = popup.raw();
        // SAFETY: live client, popup strings owned by `popup`, writable result.
        let s = unsafe { lsq_show_agent_popup(self.0, &p, &mut r) };
        (s, r)
    }

    /// The async call, reporting to `sink`.
    pub fn show_async(&self, popup: &PopupData, sink: &Arc<Results>) -> lsq_status {
        let p = popup.raw();
        // SAFETY: live client and popup; `sink` outlives the callback (the test
        // holds it until after lsq_free, which waits for every callback).
        unsafe {
            lsq_show_agent_popup_async(
                self.0,
                &p,
                Some(collect_result),
                Arc::as_ptr(sink) as *mut c_void,
            )
        }
    }

    pub fn flush(&self, timeout_ms: u32) -> lsq_status {
        // SAFETY: live client.
        unsafe { lsq_flush(self.0, timeout_ms) }
    }

    pub fn stats(&self) -> lsq_stats {
        let mut st = lsq_stats::default();
        // SAFETY: live client, writable stats.
        assert_eq!(unsafe { lsq_client_stats(self.0, &mut st) }, LSQ_OK);
        st
    }

    /// Frees now and reports how long `lsq_free` took.
    pub fn free(mut self) -> Duration {
        let t = Instant::now();
        // SAFETY: from lsq_client_new*, freed once (the pointer is cleared).
        unsafe { lsq_free(self.0) };
        self.0 = ptr::null_mut();
        t.elapsed()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: as in `free`; NULL does nothing.
        unsafe { lsq_free(self.0) }
    }
}

/// A popup's strings, owned, with NULL where a field is `None`.
#[derive(Clone, Debug)]
pub struct PopupData {
    pub source_number: Option<CString>,
    pub destination_number: Option<CString>,
    pub display_number: Option<CString>,
    pub direction: u32,
    pub call_session_id: Option<CString>,
    pub lead_id: Option<CString>,
    pub user_id: Option<CString>,
    pub tag: Option<CString>,
}

impl PopupData {
    /// The documented popup with this CallSessionId.
    pub fn documented(session: &str) -> PopupData {
        PopupData {
            source_number: Some(c(SOURCE)),
            destination_number: Some(c(DESTINATION)),
            display_number: Some(c(DISPLAY)),
            direction: LSQ_INBOUND,
            call_session_id: Some(c(session)),
            lead_id: Some(c(LEAD)),
            user_id: Some(c(USER)),
            tag: Some(c("Tag - Lead")),
        }
    }

    /// The C struct, borrowing these strings.
    pub fn raw(&self) -> lsq_popup {
        let p = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        lsq_popup {
            source_number: p(&self.source_number),
            destination_number: p(&self.destination_number),
            display_number: p(&self.display_number),
            direction: self.direction,
            call_session_id: p(&self.call_session_id),
            lead_id: p(&self.lead_id),
            user_id: p(&self.user_id),
            tag: p(&self.tag),
        }
    }

    /// The field named as the C struct names it.
    pub fn field_mut(&mut self, name: &str) -> &mut Option<CString> {
        match name {
            "source_number" => &mut self.source_number,
            "destination_number" => &mut self.destination_number,
            "display_number" => &mut self.display_number,
            "call_session_id" => &mut self.call_session_id,
            "lead_id" => &mut self.lead_id,
            "user_id" => &mut self.user_id,
            "tag" => &mut self.tag,
            other => panic!("no popup field {other}"),
        }
    }
}

/// Every string field of `lsq_popup`.
pub const POPUP_FIELDS: [&str; 7] = [
    "source_number",
    "destination_number",
    "display_number",
    "call_session_id",
    "lead_id",
    "user_id",
    "tag",
];

/// Collected log lines (level, text).
#[derive(Default)]
pub struct LogLines {
    pub lines: Mutex<Vec<(u32, String)>>,
}

impl LogLines {
    pub fn new() -> Arc<LogLines> {
        Arc::new(LogLines::default())
    }

    pub fn all(&self) -> String {
        let lines = self.lines.lock().unwrap();
        lines.iter().map(|(l, t)| format!("[{l}] {t}\n")).collect()
    }
}

unsafe extern "C" fn collect_log(level: u32, line: *const c_char, user_data: *mut c_void) {
    // SAFETY: user_data is the Arc<LogLines> the test keeps alive; line is NUL-terminated.
    let log = unsafe { &*(user_data as *const LogLines) };
    let line = unsafe { text(line) };
    log.lines.lock().unwrap().push((level, line));
}

/// Results delivered to async callbacks, waitable.
#[derive(Default)]
pub struct Results {
    pub got: Mutex<Vec<lsq_result>>,
    pub changed: Condvar,
}

impl Results {
    pub fn new() -> Arc<Results> {
        Arc::new(Results::default())
    }

    /// Waits until `n` results arrived or `timeout` passed; returns a copy of them.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<lsq_result> {
        let got = self.got.lock().unwrap();
        let (got, _) = self
            .changed
            .wait_timeout_while(got, timeout, |g| g.len() < n)
            .unwrap();
        got.clone()
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

unsafe extern "C" fn collect_result(result: *const lsq_result, user_data: *mut c_void) {
    // SAFETY: user_data is the Arc<Results> the test keeps alive; result is valid for the call.
    let sink = unsafe { &*(user_data as *const Results) };
    let r = unsafe { *result };
    sink.got.lock().unwrap().push(r);
    sink.changed.notify_all();
}

/// A unique path under the system's temp directory (not created).
pub fn temp_path(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "lsq-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

/// Writes `contents` to a fresh temp file, removed when the guard drops.
pub struct TempFile(pub std::path::PathBuf);

impl TempFile {
    pub fn with(name: &str, contents: &[u8]) -> TempFile {
        let path = temp_path(name);
        std::fs::write(&path, contents).expect("write temp file");
        TempFile(path)
    }

    pub fn path_str(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
