//! Call logs stored by another liblsq, over real outbox files and the
//! emulator: a payload in the format liblsq wrote before payloads had a
//! version (tests/fixtures/outbox_payload_v1.jsonl, captured from that
//! code at ea36a50) is delivered by this one; a payload of a newer format,
//! or one that does not parse, is kept pending and untouched (never dead,
//! never sent), with an error line and the `lsq_call_logs_unreadable_stored`
//! gauge, for a liblsq that reads it. The rows are written with plain SQL,
//! as an earlier or later liblsq would have left them.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lsq::outbox::{Outbox, Record, State, Which};
use lsq::{Client, Level, Logger, Options};
use lsq_emulator::{Data, Endpoint};
use rusqlite::params;
use support::*;

/// The LogCall payloads liblsq wrote before payloads had a version: one
/// minimal log, one with every optional field (the agent as an e-mail).
const UNVERSIONED: &str = include_str!("fixtures/outbox_payload_v1.jsonl");

const PRIYA: &str = "a484b8fc-0425-48f6-abf8-15af4cb65137";

/// A payload of a format this liblsq does not know: a later version that
/// keeps times in milliseconds and has a status this one has no name for.
const NEWER: &str = r#"{"v":2,"source_number":"+91-8611795988","destination_number":"1001","display_number":"+91-8611795989","direction":"Inbound","call_session_id":"newer-1","status":"Voicemail","start_ms":1764000000000,"end_ms":1764000095000,"duration_ms":80000}"#;

/// A damaged payload: cut short.
const GARBAGE: &str = r#"{"source_number":"+91-8611795988","destination_numb"#;

fn unversioned(call: &str) -> &'static str {
    let key = format!(r#""call_session_id":"{call}""#);
    UNVERSIONED
        .lines()
        .find(|line| line.contains(&key))
        .unwrap_or_else(|| panic!("no {call} in the fixture"))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("lsq-outbox-payload-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn outbox(&self) -> PathBuf {
        self.0.join("outbox.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new outbox file holding `rows` (CallSessionId, payload), pending since
/// a minute ago, written with plain SQL; their ids.
fn outbox_with(path: &Path, rows: &[(&str, &str)]) -> Vec<u64> {
    drop(Outbox::open(path).unwrap());
    let conn = rusqlite::Connection::open(path).unwrap();
    let accepted = now_ms() - 60_000;
    rows.iter()
        .map(|(call, payload)| {
            conn.execute(
                "INSERT INTO call_log (accepted_at, call_session_id, payload, next_try_at) \
                 VALUES (?1, ?2, ?3, ?1)",
                params![accepted, call, payload],
            )
            .unwrap();
            conn.last_insert_rowid() as u64
        })
        .collect()
}

/// A client's log lines ("Error: ..."), and a wait for one.
#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<String>>,
    added: Condvar,
}

impl Lines {
    fn all(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a line contains `text`, at most `timeout`.
    fn wait_for(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut lines = self.lines.lock().unwrap();
        while !lines.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            lines = self.added.wait_timeout(lines, left).unwrap().0;
        }
        true
    }
}

/// A client on the outbox at `path`, its log lines kept in `lines`.
fn client(url: &str, path: &Path, lines: &Arc<Lines>) -> Client {
    client_with(url, path, lines, &[])
}

fn client_with(url: &str, path: &Path, lines: &Arc<Lines>, settings: &[(&str, &str)]) -> Client {
    let sink = lines.clone();
    let mut options = Options {
        logger: Logger::new(Arc::new(move |level: Level, line: &str| {
            sink.lines
                .lock()
                .unwrap()
                .push(format!("{level:?}: {line}"));
            sink.added.notify_all();
        })),
        ..Options::default()
    };
    options.set("outbox", path.to_str().unwrap()).unwrap();
    for (k, v) in settings {
        options.set(k, v).unwrap();
    }
    Client::new(url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap()
}

fn sample_emulator() -> Emulator {
    emulator(Config {
        data: Data::sample(),
        ..Config::default()
    })
}

fn records(path: &Path) -> Vec<Record> {
    Outbox::open_for_ops(path)
        .unwrap()
        .list(Which::All, 100)
        .unwrap()
}

#[test]
fn a_log_stored_in_the_unversioned_format_is_delivered() {
    let dir = TempDir::new("unversioned");
    let path = dir.outbox();
    outbox_with(
        &path,
        &[
            ("today-minimal", unversioned("today-minimal")),
            ("today-full", unversioned("today-full")),
        ],
    );
    let emu = sample_emulator();
    let lines = Arc::new(Lines::default());
    let c = client(emu.url(), &path, &lines);
    assert!(
        emu.wait_for_call_logs(2, Duration::from_secs(60)),
        "{} delivered; log: {:#?}",
        emu.call_log_count(),
        lines.all()
    );
    let minimal = &emu.call_logs_for("today-minimal")[0].fields;
    assert_eq!(
        serde_json::Value::Object(minimal.clone()),
        serde_json::json!({
            "SourceNumber": "+91-8611795988",
            "DestinationNumber": "1001",
            "DisplayNumber": "+91-8611795989",
            "Direction": "Inbound",
            "CallSessionId": "today-minimal",
            "Status": "Answered",
            "StartTime": "2025-11-24 16:00:00",
            "EndTime": "2025-11-24 16:01:35",
            "CallDuration": 80
        })
    );
    let full = &emu.call_logs_for("today-full")[0].fields;
    assert_eq!(
        serde_json::Value::Object(full.clone()),
        serde_json::json!({
            "SourceNumber": "+91-8611795988",
            "DestinationNumber": "1001",
            "DisplayNumber": "+91-8611795989",
            "Direction": "Outbound",
            "CallSessionId": "today-full",
            "Status": "Missed",
            "StartTime": "2025-11-24 16:00:00",
            "EndTime": "2025-11-24 16:01:35",
            "CallDuration": 0,
            "UserId": PRIYA,
            "LeadId": "e6293922-cabc-4f87-a045-86f60b4ebdaf",
            "ResourceURL": "https://pbx.example.com/recordings/1700000000.42.wav",
            "CallerSource": "IVR",
            "Tag": "support"
        })
    );
    // Each outcome is written once its worker is done: flush, then look.
    c.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(c.outbox_count().unwrap(), (0, 0));
    drop(c);
    assert_eq!(records(&path), []);
    let lines = lines.all();
    assert!(!lines.iter().any(|l| l.starts_with("Error")), "{lines:#?}");
}

/// Stores `unreadable` before a readable log, runs a client until the
/// readable one is delivered (the same pass met the unreadable one first),
/// frees it, and checks that the unreadable row is exactly as stored, the
/// client said so once, and counted it.
fn is_kept(name: &str, unreadable: &str, why: &str) {
    let dir = TempDir::new(name);
    let path = dir.outbox();
    let ids = outbox_with(
        &path,
        &[
            ("kept-1", unreadable),
            ("today-minimal", unversioned("today-minimal")),
        ],
    );
    let before = records(&path);
    let emu = sample_emulator();
    let lines = Arc::new(Lines::default());
    let c = client(emu.url(), &path, &lines);
    assert!(
        emu.wait_for_call_logs_for("today-minimal", 1, Duration::from_secs(60)),
        "the readable log behind it was not delivered; log: {:#?}",
        lines.all()
    );
    c.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(c.outbox_count().unwrap(), (1, 0), "kept pending, not dead");
    let metrics = c.metrics();
    assert!(
        metrics.contains("\nlsq_call_logs_unreadable_stored 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nlsq_call_logs_dead_stored 0\n"),
        "{metrics}"
    );
    drop(c);

    let after = records(&path);
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0], before[0], "the row is untouched");
    assert_eq!(after[0].id, ids[0]);
    assert_eq!(after[0].state, State::Pending);
    assert_eq!(after[0].attempts, 0);
    assert_eq!(after[0].payload, unreadable);
    assert_eq!(
        emu.requests_for(Endpoint::LogCall).len(),
        1,
        "only the readable log was sent"
    );

    let lines = lines.all();
    let reported: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(&format!("call log {} (call kept-1)", ids[0])))
        .collect();
    assert_eq!(reported.len(), 1, "reported once: {lines:#?}");
    let line = reported[0];
    assert!(line.starts_with("Error: "), "{line}");
    assert!(line.contains(why), "{line}");
    assert!(
        line.contains("kept pending in the outbox") && line.contains("not dead"),
        "{line}"
    );
    for secret in [DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, "+91-8611795988"] {
        assert!(!line.contains(secret), "{line}");
    }
}

#[test]
fn a_log_of_a_newer_format_is_kept_for_a_newer_liblsq() {
    is_kept(
        "newer",
        NEWER,
        "its payload is format 2, newer than this liblsq reads (up to 1)",
    );
}

#[test]
fn a_log_that_does_not_parse_is_kept_not_killed() {
    is_kept(
        "garbage",
        GARBAGE,
        "its payload is not a call log this liblsq reads (cut short at line 1 column",
    );
}

/// A client opening the same outbox again reports its unreadable logs
/// again (once each), and still sends nothing of them.
#[test]
fn the_next_client_reports_the_kept_log_again_and_still_keeps_it() {
    let dir = TempDir::new("again");
    let path = dir.outbox();
    let ids = outbox_with(&path, &[("kept-1", NEWER)]);
    let emu = sample_emulator();
    for _ in 0..2 {
        let lines = Arc::new(Lines::default());
        let c = client(emu.url(), &path, &lines);
        // The feeder's first pass, at start, meets it.
        let line = format!("call log {} (call kept-1) is not sent", ids[0]);
        assert!(
            lines.wait_for(&line, Duration::from_secs(30)),
            "{:#?}",
            lines.all()
        );
        assert!(c
            .metrics()
            .contains("\nlsq_call_logs_unreadable_stored 1\n"));
        drop(c);
        assert_eq!(records(&path)[0].state, State::Pending);
    }
    assert_eq!(emu.requests_for(Endpoint::LogCall).len(), 0);
}

/// More unreadable logs than the feeder takes in one look (2 here: one log
/// worker) do not hold a readable one behind them back until the feeder's
/// next poll (30 s): it looks again at once. 20 are reported with a line
/// each, the rest with one line, and all are counted.
#[test]
fn many_unreadable_logs_neither_hold_back_a_readable_one_nor_flood_the_log() {
    let dir = TempDir::new("many");
    let path = dir.outbox();
    let calls: Vec<String> = (0..25).map(|i| format!("kept-{i}")).collect();
    let mut rows: Vec<(&str, &str)> = calls.iter().map(|c| (c.as_str(), NEWER)).collect();
    rows.push(("today-minimal", unversioned("today-minimal")));
    outbox_with(&path, &rows);
    let emu = sample_emulator();
    let lines = Arc::new(Lines::default());
    let c = client_with(emu.url(), &path, &lines, &[("max_in_flight", "4")]);
    // Less than one poll: with one look per wake it would wait for twelve.
    assert!(
        emu.wait_for_call_logs_for("today-minimal", 1, Duration::from_secs(20)),
        "{:#?}",
        lines.all()
    );
    c.flush(Duration::from_secs(30)).unwrap();
    assert!(c
        .metrics()
        .contains("\nlsq_call_logs_unreadable_stored 25\n"));
    assert_eq!(c.outbox_count().unwrap(), (25, 0));
    drop(c);
    let lines = lines.all();
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("Error")).collect();
    assert_eq!(errors.len(), 21, "{errors:#?}");
    assert!(
        errors[20].contains("more call logs this liblsq cannot read are kept"),
        "{errors:#?}"
    );
    assert_eq!(emu.requests_for(Endpoint::LogCall).len(), 1);
}
