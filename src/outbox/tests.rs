//! Tests of the outbox over real SQLite files in a fresh temporary directory
//! each, and over child processes for locking and crash durability.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};

use super::*;

/// A directory of its own under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lsq-outbox-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            name
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn payload(n: usize) -> String {
    format!(
        r#"{{"SourceNumber":"+91-8611795988","CallSessionId":"s{n}","Status":"Answered","CallDuration":{n}}}"#
    )
}

fn ids(records: &[Record]) -> Vec<u64> {
    records.iter().map(|r| r.id).collect()
}

#[test]
fn create_then_reopen_finds_pending_records_in_order() {
    let dir = TempDir::new("reopen");
    let path = dir.file("outbox.db");
    let accepted: Vec<u64> = {
        let outbox = Outbox::open(&path).unwrap();
        (0..5)
            .map(|i| {
                outbox
                    .accept(&format!("s{i}"), &payload(i), 1_000 + i as i64)
                    .unwrap()
            })
            .collect()
    };
    assert!(accepted.windows(2).all(|w| w[0] < w[1]), "{accepted:?}");
    let outbox = Outbox::open(&path).unwrap();
    let due = outbox.due(10_000, 100).unwrap();
    assert_eq!(ids(&due), accepted);
    for (i, r) in due.iter().enumerate() {
        assert_eq!(r.call_session_id, format!("s{i}"));
        assert_eq!(r.payload, payload(i));
        assert_eq!(r.accepted_at, 1_000 + i as i64);
        assert_eq!(r.next_try_at, r.accepted_at);
        assert_eq!((r.attempts, r.state, r.last_status), (0, State::Pending, 0));
        assert_eq!(r.last_reason, "");
    }
    assert_eq!(outbox.counts().unwrap(), (5, 0));
    assert_eq!(ids(&outbox.due(10_000, 2).unwrap()), accepted[..2]);
    // Not yet due: accepted at 1000..1004.
    assert_eq!(ids(&outbox.due(1_001, 100).unwrap()), accepted[..2]);
    assert_eq!(outbox.next_due_at().unwrap(), Some(1_000));
}

#[test]
fn retry_later_moves_a_record_out_of_due_without_holding_back_later_ones() {
    let dir = TempDir::new("retry");
    let outbox = Outbox::open(dir.file("o.db")).unwrap();
    let a = outbox.accept("a", "{}", 1_000).unwrap();
    let b = outbox.accept("b", "{}", 1_001).unwrap();
    let c = outbox.accept("c", "{}", 1_002).unwrap();
    assert!(outbox
        .retry_later(a, 5_000, 503, "Service Unavailable")
        .unwrap());
    assert_eq!(ids(&outbox.due(2_000, 10).unwrap()), [b, c]);
    assert_eq!(outbox.next_due_at().unwrap(), Some(1_001));
    assert_eq!(ids(&outbox.due(4_999, 10).unwrap()), [b, c]);
    // Due again at its time, and first again: acceptance order.
    let due = outbox.due(5_000, 10).unwrap();
    assert_eq!(ids(&due), [a, b, c]);
    assert_eq!(
        (
            due[0].attempts,
            due[0].last_status,
            due[0].last_reason.as_str()
        ),
        (1, 503, "Service Unavailable")
    );
    assert!(outbox.retry_later(a, 9_000, 0, "timed out").unwrap());
    let a_rec = outbox.list(Which::All, 10).unwrap().remove(0);
    assert_eq!((a_rec.attempts, a_rec.last_status), (2, 0));
    assert_eq!(a_rec.next_try_at, 9_000);
    // Not a pending record: nothing changes.
    assert!(!outbox.retry_later(999, 1, 1, "x").unwrap());
}

#[test]
fn dead_records_are_kept_with_status_and_reason_until_retried_or_purged() {
    let dir = TempDir::new("dead");
    let path = dir.file("o.db");
    let (a, b, c) = {
        let outbox = Outbox::open(&path).unwrap();
        let a = outbox.accept("a", "{}", 1_000).unwrap();
        let b = outbox.accept("b", "{}", 1_001).unwrap();
        let c = outbox.accept("c", "{}", 1_002).unwrap();
        assert!(outbox
            .dead(b, 400, "MXInvalidInputException: bad CallDuration")
            .unwrap());
        assert!(!outbox.dead(b, 400, "again").unwrap(), "already dead");
        assert!(
            !outbox.retry_later(b, 1, 1, "x").unwrap(),
            "dead is not pending"
        );
        (a, b, c)
    };
    let outbox = Outbox::open(&path).unwrap();
    assert_eq!(outbox.counts().unwrap(), (2, 1));
    assert_eq!(ids(&outbox.due(i64::MAX, 10).unwrap()), [a, c]);
    let dead = outbox.list(Which::Dead, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].id,
            dead[0].state,
            dead[0].attempts,
            dead[0].last_status
        ),
        (b, State::Dead, 1, 400)
    );
    assert_eq!(
        dead[0].last_reason,
        "MXInvalidInputException: bad CallDuration"
    );
    assert_eq!(ids(&outbox.list(Which::Pending, 10).unwrap()), [a, c]);
    assert_eq!(ids(&outbox.list(Which::All, 10).unwrap()), [a, b, c]);

    // An admin puts it back: due now, fresh attempts, history kept.
    assert_eq!(
        outbox.retry_dead(Some(a), 50_000).unwrap(),
        0,
        "a is not dead"
    );
    assert_eq!(outbox.retry_dead(Some(b), 50_000).unwrap(), 1);
    let back = outbox.due(50_000, 10).unwrap();
    assert_eq!(ids(&back), [a, b, c]);
    assert_eq!((back[1].attempts, back[1].next_try_at), (0, 50_000));
    assert_eq!(back[1].last_status, 400);

    outbox.dead(a, 400, "x").unwrap();
    outbox.dead(b, 400, "y").unwrap();
    assert_eq!(outbox.retry_dead(None, 60_000).unwrap(), 2);
    outbox.dead(a, 400, "x").unwrap();
    outbox.dead(c, 400, "z").unwrap();
    assert_eq!(outbox.purge_dead().unwrap(), 2);
    assert_eq!(outbox.counts().unwrap(), (1, 0));
    assert_eq!(ids(&outbox.list(Which::All, 10).unwrap()), [b]);
}

#[test]
fn delivered_records_are_removed_and_ids_are_never_reused() {
    let dir = TempDir::new("delivered");
    let path = dir.file("o.db");
    let outbox = Outbox::open(&path).unwrap();
    let a = outbox.accept("a", "{}", 1).unwrap();
    let b = outbox.accept("b", "{}", 2).unwrap();
    assert!(outbox.delivered(b).unwrap());
    assert!(!outbox.delivered(b).unwrap(), "already gone");
    assert_eq!(ids(&outbox.list(Which::All, 10).unwrap()), [a]);
    drop(outbox);
    let outbox = Outbox::open(&path).unwrap();
    let c = outbox.accept("c", "{}", 3).unwrap();
    assert!(
        c > b,
        "the newest id {b} was deleted, yet {c} must not reuse it"
    );
    assert!(outbox.delivered(a).unwrap());
    assert!(outbox.delivered(c).unwrap());
    assert_eq!(outbox.counts().unwrap(), (0, 0));
    assert_eq!(outbox.next_due_at().unwrap(), None);
}

#[test]
fn sixteen_threads_accept_at_once_and_share_commits() {
    let dir = TempDir::new("threads");
    let path = dir.file("o.db");
    let outbox = Arc::new(Outbox::open(&path).unwrap());
    let threads = 16;
    let per_thread = 25;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let outbox = outbox.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut got = Vec::new();
                for i in 0..per_thread {
                    let sid = format!("t{t}-{i}");
                    got.push((outbox.accept(&sid, &payload(i), 1).unwrap(), sid));
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        let got = h.join().unwrap();
        // One thread's accepts are sequential, so its ids increase.
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
        all.extend(got);
    }
    let accepts = (threads * per_thread) as u64;
    let unique: HashSet<u64> = all.iter().map(|(id, _)| *id).collect();
    assert_eq!(unique.len() as u64, accepts, "ids are unique");
    let commits = outbox.accept_commits();
    assert!(
        commits < accepts,
        "group commit: {commits} commits for {accepts} accepts"
    );
    drop(outbox);
    let outbox = Outbox::open(&path).unwrap();
    let stored = outbox.list(Which::All, usize::MAX).unwrap();
    assert_eq!(stored.len() as u64, accepts);
    for (id, sid) in &all {
        let r = stored.iter().find(|r| r.id == *id).unwrap();
        assert_eq!(
            &r.call_session_id, sid,
            "each caller got its own record's id"
        );
    }
    eprintln!("16 threads: {accepts} accepts in {commits} commits");
}

#[test]
fn a_full_disk_refuses_new_logs_and_loses_nothing_accepted_before() {
    let dir = TempDir::new("full");
    let path = dir.file("o.db");
    let outbox = Arc::new(Outbox::open(&path).unwrap());
    let big = "x".repeat(64 * 1024);
    let before: Vec<u64> = (0..4)
        .map(|i| outbox.accept(&format!("s{i}"), &big, i).unwrap())
        .collect();
    let snapshot = outbox.list(Which::All, 100).unwrap();
    let cap = outbox.set_max_pages_for_tests(1).unwrap();
    assert!(cap > 1, "SQLite keeps the cap at the current size ({cap})");

    let err = outbox.accept("full", &big, 10).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Full, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("disk full (SQLITE_FULL)"), "{msg}");
    assert!(msg.ends_with("the log was not accepted"), "{msg}");

    // A whole batch of concurrent callers fails together; none is stored.
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (outbox, barrier, big) = (outbox.clone(), barrier.clone(), big.clone());
            std::thread::spawn(move || {
                barrier.wait();
                outbox
                    .accept(&format!("f{t}"), &big, 11)
                    .unwrap_err()
                    .kind()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), OutboxErrorKind::Full);
    }
    assert_eq!(outbox.list(Which::All, 100).unwrap(), snapshot);

    // Space freed by delivered logs is used again.
    assert!(outbox.delivered(before[0]).unwrap());
    assert!(outbox.delivered(before[1]).unwrap());
    let after_free = outbox.accept("freed", &big, 12).unwrap();
    // A bigger limit (the admin freed the disk) works too.
    assert_eq!(
        outbox
            .accept("still-full", &"y".repeat(1024 * 1024), 13)
            .unwrap_err()
            .kind(),
        OutboxErrorKind::Full
    );
    outbox.set_max_pages_for_tests(1 << 30).unwrap();
    let after_raise = outbox
        .accept("raised", &"y".repeat(1024 * 1024), 13)
        .unwrap();
    drop(outbox);

    let outbox = Outbox::open(&path).unwrap();
    assert_eq!(
        ids(&outbox.list(Which::All, 100).unwrap()),
        [before[2], before[3], after_free, after_raise]
    );
    assert_eq!(outbox.list(Which::All, 100).unwrap()[0].payload, big);
}

#[test]
fn a_foreign_sqlite_database_is_refused_and_left_unchanged() {
    let dir = TempDir::new("foreign");
    let path = dir.file("crm.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');")
            .unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    for err in [
        Outbox::open(&path).unwrap_err(),
        Outbox::open_for_ops(&path).unwrap_err(),
    ] {
        assert_eq!(err.kind(), OutboxErrorKind::Foreign, "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&format!("outbox {}", path.display())), "{msg}");
        assert!(msg.contains("is not a liblsq outbox"), "{msg}");
        assert!(
            msg.contains("another application's SQLite database"),
            "{msg}"
        );
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file was not changed"
    );
    assert!(!dir.file("crm.db-wal").exists());
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_unchanged() {
    let dir = TempDir::new("garbage");
    let path = dir.file("notes.txt");
    let text = "not a database, just an admin's notes\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let err = Outbox::open(&path).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Foreign, "{err}");
    assert!(
        err.to_string()
            .contains("is not a liblsq outbox (not a database"),
        "{err}"
    );
    assert_eq!(
        Outbox::open_for_ops(&path).unwrap_err().kind(),
        OutboxErrorKind::Foreign
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn an_outbox_of_a_newer_schema_is_refused() {
    let dir = TempDir::new("newer");
    let path = dir.file("o.db");
    drop(Outbox::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = Outbox::open(&path).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Foreign);
    assert!(err.to_string().contains("newer liblsq"), "{err}");
}

#[test]
fn a_missing_directory_or_a_directory_path_is_an_open_error() {
    let dir = TempDir::new("nodir");
    let err = Outbox::open(dir.file("missing/o.db")).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Open);
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = Outbox::open(&dir.0).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Open);
    assert!(err.to_string().contains("is a directory"), "{err}");
    // The ops tool never creates a file.
    let err = Outbox::open_for_ops(dir.file("o.db")).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Open);
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!dir.file("o.db").exists());
}

#[test]
fn an_empty_file_becomes_an_outbox_for_a_client_but_not_for_the_ops_tool() {
    let dir = TempDir::new("empty");
    let path = dir.file("o.db");
    std::fs::write(&path, b"").unwrap();
    let err = Outbox::open_for_ops(&path).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Foreign);
    assert!(err.to_string().contains("empty database"), "{err}");
    let outbox = Outbox::open(&path).unwrap();
    outbox.accept("a", "{}", 1).unwrap();
}

#[test]
fn a_second_client_in_the_same_process_is_refused_until_the_first_closes() {
    let dir = TempDir::new("lock");
    let path = dir.file("o.db");
    let first = Outbox::open(&path).unwrap();
    first.accept("a", "{}", 1).unwrap();
    let err = Outbox::open(&path).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Locked);
    let msg = err.to_string();
    assert!(msg.contains("is locked by another liblsq client"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    // The refused open did not disturb the first client.
    first.accept("b", "{}", 2).unwrap();
    drop(first);
    let second = Outbox::open(&path).unwrap();
    assert_eq!(second.counts().unwrap(), (2, 0));
}

#[test]
fn the_ops_view_reads_and_writes_while_a_client_has_the_outbox_open() {
    let dir = TempDir::new("ops");
    let path = dir.file("o.db");
    let client = Outbox::open(&path).unwrap();
    let a = client.accept("a", "{}", 1).unwrap();
    let b = client.accept("b", "{}", 2).unwrap();
    client.dead(a, 400, "bad").unwrap();

    let ops = Outbox::open_for_ops(&path).unwrap();
    assert_eq!(ops.counts().unwrap(), (1, 1));
    assert_eq!(ops.list(Which::Dead, 10).unwrap()[0].last_reason, "bad");
    assert_eq!(ops.retry_dead(None, 5).unwrap(), 1);
    // The client sees the admin's change at once, and the admin the client's.
    assert_eq!(ids(&client.due(5, 10).unwrap()), [a, b]);
    let c = client.accept("c", "{}", 3).unwrap();
    assert_eq!(ids(&ops.list(Which::Pending, 10).unwrap()), [a, b, c]);
    client.dead(c, 400, "bad").unwrap();
    assert_eq!(ops.purge_dead().unwrap(), 1);
    assert_eq!(client.counts().unwrap(), (2, 0));
    let stats = ops.stats().unwrap();
    assert_eq!((stats.pending, stats.dead), (2, 0));
    assert!(stats.file_bytes > 0);
    // The ops view takes no client lock: a client may open beside it.
    drop(client);
    let client = Outbox::open(&path).unwrap();
    assert_eq!(client.counts().unwrap(), (2, 0));
}

#[test]
fn stats_summarise_the_outbox() {
    let outbox = Outbox::in_memory();
    assert_eq!(
        outbox.stats().unwrap(),
        Stats {
            file_bytes: outbox.stats().unwrap().file_bytes,
            ..Stats::default()
        }
    );
    let a = outbox.accept("a", "{}", 100).unwrap();
    let b = outbox.accept("b", "{}", 200).unwrap();
    let c = outbox.accept("c", "{}", 300).unwrap();
    outbox.retry_later(a, 1_000, 503, "x").unwrap();
    outbox.retry_later(a, 2_000, 503, "x").unwrap();
    outbox.retry_later(b, 900, 0, "timeout").unwrap();
    outbox.dead(c, 400, "bad").unwrap();
    let s = outbox.stats().unwrap();
    assert_eq!((s.pending, s.dead), (2, 1));
    assert_eq!(s.oldest_pending_at, Some(100));
    assert_eq!(s.oldest_dead_at, Some(300));
    assert_eq!(s.next_due_at, Some(900));
    assert_eq!(s.pending_attempts, vec![(1, 1), (2, 1)]);
    assert_eq!(s.total_attempts, 4);
    assert!(s.file_bytes > 0);
}

/// The feeder's view of records it keeps but does not send: their due
/// time is left out of `next_due_at_except`, and `unreadable_pending`
/// names them by the payload rule (dead ones are an admin's, not counted).
#[test]
fn records_kept_unsent_neither_wake_the_feeder_nor_hide_from_the_admin() {
    let outbox = Outbox::in_memory();
    let readable = payload::encode(&payload::tests::record());
    let newer = outbox.accept("newer", r#"{"v":9}"#, 100).unwrap();
    let damaged = outbox.accept("damaged", "{", 200).unwrap();
    let later = outbox.accept("later", &readable, 300).unwrap();
    let dead = outbox.accept("dead", "[]", 400).unwrap();
    outbox.dead(dead, 0, "x").unwrap();
    outbox.retry_later(later, 5_000, 503, "busy").unwrap();

    assert_eq!(outbox.next_due_at().unwrap(), Some(100));
    let kept: HashSet<u64> = [newer, damaged].into();
    assert_eq!(outbox.next_due_at_except(&kept).unwrap(), Some(5_000));
    let all: HashSet<u64> = [newer, damaged, later].into();
    assert_eq!(outbox.next_due_at_except(&all).unwrap(), None);

    let found = outbox.unreadable_pending().unwrap();
    assert_eq!(ids_of(&found), [newer, damaged]);
    assert_eq!(found[0].1, Unreadable::Newer { version: 9 });
    assert!(matches!(found[1].1, Unreadable::Malformed { .. }));
}

fn ids_of(found: &[(u64, Unreadable)]) -> Vec<u64> {
    found.iter().map(|(id, _)| *id).collect()
}

#[test]
fn the_in_memory_outbox_follows_the_same_rules() {
    let outbox = Outbox::in_memory();
    assert_eq!(outbox.path(), Path::new(":memory:"));
    let a = outbox.accept("a", "{}", 1).unwrap();
    let b = outbox.accept("b", "{}", 2).unwrap();
    outbox.retry_later(a, 100, 503, "x").unwrap();
    assert_eq!(ids(&outbox.due(50, 10).unwrap()), [b]);
    assert!(outbox.delivered(b).unwrap());
    assert_eq!(outbox.counts().unwrap(), (1, 0));
    // Two in-memory outboxes are independent (no lock, no shared file).
    let other = Outbox::in_memory();
    assert_eq!(other.counts().unwrap(), (0, 0));
}

#[test]
fn an_outbox_error_becomes_a_core_error_with_its_message() {
    let err = OutboxError::new(OutboxErrorKind::Full, Path::new("/x.db"), "disk full");
    let core: crate::error::Error = err.clone().into();
    assert_eq!(core.kind(), crate::error::ErrorKind::Storage);
    assert_eq!(core.message(), "outbox /x.db: disk full");
    assert_eq!(err.message(), core.message());
}

// ---- Child processes: the current test binary, re-run on one test. ----

const CHILD_ROLE: &str = "LSQ_OUTBOX_TEST_CHILD";
const CHILD_PATH: &str = "LSQ_OUTBOX_TEST_PATH";

fn child(role: &str, path: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "outbox::tests::child_process_entry_point",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ROLE, role)
    .env(CHILD_PATH, path)
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd
}

/// Not a test of its own: the body of the child processes the tests below
/// start (it does nothing in a normal run). `hold`: opens the outbox and
/// keeps it until its stdin closes. `crash`: accepts logs from 4 threads and
/// prints `ACK id` after each accept returned, until it is killed.
#[test]
fn child_process_entry_point() {
    let (Ok(role), Ok(path)) = (std::env::var(CHILD_ROLE), std::env::var(CHILD_PATH)) else {
        return;
    };
    let say = |line: String| {
        // Written straight to stdout (not through the test harness's capture),
        // whole lines at a time.
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            std::process::exit(0);
        }
    };
    let outbox = match Outbox::open(&path) {
        Ok(o) => Arc::new(o),
        Err(e) => {
            say(format!("ERR {e}"));
            std::process::exit(3);
        }
    };
    match role.as_str() {
        "hold" => {
            say("HOLDING".to_string());
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        }
        "crash" => {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let outbox = outbox.clone();
                    std::thread::spawn(move || {
                        // Bounded, in case the parent never kills us.
                        for i in 0..20_000 {
                            match outbox.accept(&format!("c{t}-{i}"), &payload(i), i as i64) {
                                Ok(id) => say(format!("ACK {id}")),
                                Err(e) => say(format!("ERR {e}")),
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                let _ = h.join();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

#[test]
fn a_second_client_in_another_process_is_refused_with_its_pid() {
    let dir = TempDir::new("lock-child");
    let path = dir.file("o.db");
    drop(Outbox::open(&path).unwrap());
    let mut holder = child("hold", &path).stdin(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    let first = lines
        .find(|l| {
            l.as_ref().map_or(true, |l| {
                l.ends_with("HOLDING") || after(l, "ERR ").is_some()
            })
        })
        .expect("the child ended before it held the outbox")
        .unwrap();
    assert!(first.ends_with("HOLDING"), "{first}");

    let err = Outbox::open(&path).unwrap_err();
    assert_eq!(err.kind(), OutboxErrorKind::Locked, "{err}");
    assert!(
        err.to_string().contains(&format!("pid {}", holder.id())),
        "{err}"
    );
    // The ops view works beside the other process's client.
    let ops = Outbox::open_for_ops(&path).unwrap();
    ops.accept("from-ops", "{}", 1).unwrap();
    assert_eq!(ops.counts().unwrap(), (1, 0));
    drop(ops);

    drop(holder.stdin.take()); // the child exits
    assert!(holder.wait().unwrap().success());
    let outbox = Outbox::open(&path).unwrap();
    assert_eq!(outbox.counts().unwrap(), (1, 0));
}

/// What follows `tag` in a line of a child. The tag may not start the line:
/// with --nocapture, libtest writes "test NAME ... " before the test's own
/// first line.
fn after<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.find(tag).map(|at| &line[at + tag.len()..])
}

/// Records an `ACK id` line of a crash child; true when it was one.
fn read_ack(line: String, acknowledged: &mut HashSet<u64>) -> bool {
    if let Some(id) = after(&line, "ACK ") {
        assert!(
            acknowledged.insert(id.parse().unwrap()),
            "id {id} given twice"
        );
        return true;
    }
    assert!(after(&line, "ERR ").is_none(), "child failed: {line}");
    false
}

/// A child accepts logs from 4 threads and prints each id it got; it is
/// killed with SIGKILL at a random point; every id it printed must be in
/// the file when it is opened again (with SQLite's recovery of the WAL).
#[test]
fn every_acknowledged_log_survives_a_kill_9() {
    let dir = TempDir::new("crash");
    let path = dir.file("o.db");
    let mut acknowledged: HashSet<u64> = HashSet::new();
    let rounds = 20;
    for round in 0..rounds {
        let mut proc = child("crash", &path).spawn().unwrap();
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        let kill_after = fastrand::usize(1..=60);
        let mut acks = 0;
        for line in lines.by_ref() {
            if read_ack(line.unwrap(), &mut acknowledged) {
                acks += 1;
                if acks == kill_after {
                    break;
                }
            }
        }
        proc.kill().unwrap(); // SIGKILL, mid-accept for the other threads
                              // Acks the child wrote before it died and we had not read yet.
        for line in lines {
            read_ack(line.unwrap(), &mut acknowledged);
        }
        proc.wait().unwrap();

        let outbox = Outbox::open(&path).unwrap();
        let stored: HashSet<u64> = outbox
            .list(Which::All, usize::MAX)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        let lost: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged but lost: {lost:?}"
        );
    }
    assert!(acknowledged.len() >= rounds);
}

/// Accept latency and throughput on this machine's disk (not asserted):
/// `cargo test --release --lib outbox::tests::bench -- --ignored --nocapture`
/// (set TMPDIR to put the file on another disk).
#[test]
#[ignore]
fn bench_accept_latency_and_throughput() {
    let body = payload(1).repeat(5); // about the size of a real call log
    for (threads, per_thread) in [(1usize, 500usize), (16, 200)] {
        let dir = TempDir::new("bench");
        let outbox = Arc::new(Outbox::open(dir.file("o.db")).unwrap());
        let barrier = Arc::new(Barrier::new(threads));
        let start = std::time::Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (outbox, barrier, body) = (outbox.clone(), barrier.clone(), body.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    (0..per_thread)
                        .map(|i| {
                            let t = std::time::Instant::now();
                            outbox.accept("bench", &body, i as i64).unwrap();
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut lat: Vec<_> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let wall = start.elapsed();
        lat.sort();
        let n = lat.len();
        println!(
            "{threads:>2} threads: {n} accepts in {:.2} s = {:.0}/s, {} commits; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            wall.as_secs_f64(),
            n as f64 / wall.as_secs_f64(),
            outbox.accept_commits(),
            lat[n / 2].as_secs_f64() * 1e3,
            lat[n * 99 / 100].as_secs_f64() * 1e3,
            lat[n - 1].as_secs_f64() * 1e3,
        );
    }
}

/// No `.lock` stays beside the outbox once its client closed it.
#[test]
fn the_lock_file_is_removed_when_the_client_closes() {
    let dir = TempDir::new("lock-gone");
    let path = dir.file("o.db");
    let outbox = Outbox::open(&path).unwrap();
    assert!(lock_path(&path).exists());
    drop(outbox);
    assert!(!lock_path(&path).exists(), "the .lock stayed after close");
    // And the next client still gets the outbox (and its own lock).
    let again = Outbox::open(&path).unwrap();
    assert_eq!(
        Outbox::open(&path).unwrap_err().kind(),
        OutboxErrorKind::Locked
    );
    drop(again);
    assert!(!lock_path(&path).exists());
}

/// A failed open (a file that is not a database) leaves no `.lock` either.
#[test]
fn a_failed_open_leaves_no_lock_file() {
    let dir = TempDir::new("lock-foreign");
    let path = dir.file("notes.txt");
    std::fs::write(&path, "not a database\n".repeat(100)).unwrap();
    assert_eq!(
        Outbox::open(&path).unwrap_err().kind(),
        OutboxErrorKind::Foreign
    );
    assert!(
        !lock_path(&path).exists(),
        "the .lock stayed after a failed open"
    );
}

/// A client process that exits leaves no `.lock`; one killed with SIGKILL
/// leaves a stale one (nothing runs at a kill), which the next open takes
/// over, and removes when it closes in turn.
#[test]
fn an_exited_client_leaves_no_lock_and_a_killed_one_a_stale_lock_taken_over() {
    let dir = TempDir::new("lock-exit");
    let path = dir.file("o.db");
    // Returns the child's output, kept open so its last lines can be written.
    let wait_holding = |holder: &mut std::process::Child| {
        let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
        let first = lines
            .find(|l| {
                l.as_ref()
                    .map_or(true, |l| l.ends_with("HOLDING") || l.contains("ERR "))
            })
            .expect("the child ended before it held the outbox")
            .unwrap();
        assert!(first.ends_with("HOLDING"), "{first}");
        lines
    };

    let mut holder = child("hold", &path).stdin(Stdio::piped()).spawn().unwrap();
    let _output = wait_holding(&mut holder);
    assert!(lock_path(&path).exists());
    drop(holder.stdin.take()); // the child closes its outbox and exits
    assert!(holder.wait().unwrap().success());
    assert!(
        !lock_path(&path).exists(),
        "the .lock stayed after the client exited"
    );

    let mut killed = child("hold", &path).stdin(Stdio::piped()).spawn().unwrap();
    let _killed_output = wait_holding(&mut killed);
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let stale = std::fs::read_to_string(lock_path(&path)).unwrap();
    assert_eq!(stale.trim(), killed.id().to_string());
    let outbox = Outbox::open(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(lock_path(&path)).unwrap().trim(),
        std::process::id().to_string()
    );
    assert_eq!(
        Outbox::open(&path).unwrap_err().kind(),
        OutboxErrorKind::Locked
    );
    drop(outbox);
    assert!(!lock_path(&path).exists());
}
