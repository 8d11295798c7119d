//! Runs the built `lsq-outbox` over real outbox files made through the
//! store's API, as an admin would, including while a client has it open.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use lsq::outbox::{Outbox, Which};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lsq-outbox-cli-{}-{}-{name}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lsq-outbox"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// An outbox held open by a client, with two pending logs (one retried
/// after a 503) and one dead one.
fn sample(dir: &TempDir) -> (Outbox, String, [u64; 3]) {
    let path = dir.0.join("outbox.db");
    let client = Outbox::open(&path).unwrap();
    let now = 1_700_000_000_000;
    let a = client
        .accept("1700000000.1", r#"{"CallSessionId":"1700000000.1"}"#, now)
        .unwrap();
    let b = client
        .accept(
            "1700000000.2",
            r#"{"CallSessionId":"1700000000.2"}"#,
            now + 1,
        )
        .unwrap();
    let c = client
        .accept(
            "1700000000.3",
            r#"{"CallSessionId":"1700000000.3"}"#,
            now + 2,
        )
        .unwrap();
    client
        .retry_later(a, now + 60_000, 503, "Service Unavailable")
        .unwrap();
    client
        .dead(b, 400, "MXInvalidInputException: CallDuration")
        .unwrap();
    (client, path.to_str().unwrap().to_string(), [a, b, c])
}

#[test]
fn list_shows_what_waits_and_why_while_a_client_has_it_open() {
    let dir = TempDir::new("list");
    let (_client, path, [a, b, c]) = sample(&dir);
    let out = tool(&[&path, "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("#{a} pending  CallSessionId 1700000000.1")),
        "{text}"
    );
    assert!(
        text.contains("attempts 1, next try 2023-11-14 22:14:20 UTC"),
        "{text}"
    );
    assert!(
        text.contains("last try: HTTP 503: Service Unavailable"),
        "{text}"
    );
    assert!(
        text.contains(&format!("#{b} dead  CallSessionId 1700000000.2")),
        "{text}"
    );
    assert!(
        text.contains("given up; last try: HTTP 400: MXInvalidInputException"),
        "{text}"
    );
    assert!(text.contains(&format!("#{c} pending")), "{text}");
    assert!(text.contains("never tried yet"), "{text}");
    assert!(
        text.contains("accepted 2023-11-14 22:13:20 UTC ("),
        "{text}"
    );
    assert!(text.contains("2 pending, 1 dead; 3 shown"), "{text}");

    let dead = stdout(&tool(&[&path, "list", "dead"]));
    assert!(
        dead.contains(&format!("#{b} dead")) && !dead.contains(&format!("#{a} ")),
        "{dead}"
    );
    let one = stdout(&tool(&[&path, "list", "--limit", "1"]));
    assert!(one.contains("1 shown"), "{one}");
}

#[test]
fn list_and_stats_in_json() {
    let dir = TempDir::new("json");
    let (_client, path, [a, b, _]) = sample(&dir);
    let out = tool(&["--json", &path, "list", "all"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pending"], 2);
    assert_eq!(v["dead"], 1);
    assert_eq!(v["records"][0]["id"], a);
    assert_eq!(v["records"][0]["last_status"], 503);
    assert_eq!(v["records"][1]["id"], b);
    assert_eq!(v["records"][1]["state"], "dead");
    assert_eq!(v["records"][1]["call_session_id"], "1700000000.2");
    // The LogCall body as a JSON object, not a string holding JSON.
    assert_eq!(
        v["records"][0]["payload"]["CallSessionId"], "1700000000.1",
        "{v}"
    );

    let out = tool(&[&path, "stats", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pending"], 2);
    assert_eq!(v["dead"], 1);
    assert_eq!(v["oldest_pending_at_ms"], 1_700_000_000_000i64);
    assert_eq!(v["total_attempts"], 2);
    assert!(v["file_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn stats_for_people() {
    let dir = TempDir::new("stats");
    let (_client, path, _) = sample(&dir);
    let out = tool(&[&path, "stats"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("pending: 2 (oldest accepted 2023-11-14 22:13:20 UTC"),
        "{text}"
    );
    assert!(text.contains("dead: 1"), "{text}");
    assert!(
        text.contains("pending logs: 1 log has not failed yet, 1 log has failed once"),
        "{text}"
    );
    assert!(text.contains("bytes on disk"), "{text}");
}

#[test]
fn retry_puts_dead_logs_back_for_the_running_client() {
    let dir = TempDir::new("retry");
    let (client, path, [a, b, c]) = sample(&dir);
    let out = tool(&[&path, "retry", "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no dead log with id 999"),
        "{}",
        stderr(&out)
    );

    let out = tool(&[&path, "retry", &b.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 dead log put back in the queue"));
    assert_eq!(client.counts().unwrap(), (3, 0));
    // Due now, in acceptance order: the client sends it at its next pass.
    let due: Vec<u64> = client
        .due(i64::MAX, 10)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(due, [a, b, c]);

    client.dead(a, 400, "x").unwrap();
    client.dead(c, 400, "y").unwrap();
    let out = tool(&[&path, "retry"]);
    assert!(
        stdout(&out).contains("2 dead logs put back"),
        "{}",
        stdout(&out)
    );
    assert_eq!(client.counts().unwrap(), (3, 0));
}

#[test]
fn purge_dead_removes_only_dead_logs() {
    let dir = TempDir::new("purge");
    let (client, path, [a, _, c]) = sample(&dir);
    let out = tool(&[&path, "purge-dead"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("1 dead log removed"));
    let left: Vec<u64> = client
        .list(Which::All, 10)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, [a, c]);
    assert!(stdout(&tool(&[&path, "purge-dead"])).contains("0 dead logs removed"));
}

#[test]
fn an_empty_outbox_says_so() {
    let dir = TempDir::new("empty");
    let path = dir.0.join("o.db");
    drop(Outbox::open(&path).unwrap());
    let out = tool(&[path.to_str().unwrap(), "list"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("the outbox is empty"));
}

#[test]
fn failures_exit_1_with_the_reason() {
    let dir = TempDir::new("fail");
    let missing = dir.0.join("missing.db");
    let out = tool(&[missing.to_str().unwrap(), "stats"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("does not exist") && err.contains("missing.db"),
        "{err}"
    );
    assert!(!missing.exists(), "the tool never creates an outbox");

    let garbage = dir.0.join("notes.txt");
    std::fs::write(&garbage, "hello ".repeat(1000)).unwrap();
    let out = tool(&[garbage.to_str().unwrap(), "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a liblsq outbox"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2_with_the_usage() {
    for args in [
        &[][..],
        &["o.db"][..],
        &["o.db", "frobnicate"][..],
        &["o.db", "list", "lost"][..],
        &["o.db", "retry", "abc"][..],
        &["o.db", "stats", "extra"][..],
        &["o.db", "stats", "--limit", "3"][..],
        &["--bogus", "o.db", "stats"][..],
    ] {
        let out = tool(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("usage: lsq-outbox"), "{args:?}");
    }
    let out = tool(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("usage: lsq-outbox"));
}

/// Logs a client of this version keeps without sending (a newer format, a
/// damaged payload) are marked in `list` and counted in `stats`; a log in
/// the format liblsq wrote before payloads had a version is not.
#[test]
fn logs_this_liblsq_cannot_read_are_shown_as_kept_for_a_newer_one() {
    let dir = TempDir::new("unreadable");
    let path = dir.0.join("outbox.db");
    let client = Outbox::open(&path).unwrap();
    let readable = include_str!("../../tests/fixtures/outbox_payload_v1.jsonl")
        .lines()
        .next()
        .unwrap();
    let now = 1_700_000_000_000;
    let ok = client.accept("today-minimal", readable, now).unwrap();
    let newer = client
        .accept("newer-1", r#"{"v":2,"call":{"start_ms":1}}"#, now + 1)
        .unwrap();
    let damaged = client
        .accept("damaged-1", r#"{"source_number":"+91-86"#, now + 2)
        .unwrap();
    let path = path.to_str().unwrap();

    let text = stdout(&tool(&[path, "list"]));
    let block = |id: u64| {
        let start = text.find(&format!("#{id} ")).unwrap();
        let end = text[start + 1..]
            .find("\n#")
            .map_or(text.len(), |e| start + 1 + e);
        text[start..end].to_string()
    };
    assert!(!block(ok).contains("unreadable"), "{text}");
    assert!(
        block(newer).contains(
            "unreadable: its payload is format 2, newer than this liblsq reads (up to 1): \
             kept for a newer liblsq"
        ),
        "{text}"
    );
    assert!(
        block(damaged).contains("unreadable: its payload is not a call log this liblsq reads"),
        "{text}"
    );
    assert!(!text.contains("+91-86\""), "no payload content: {text}");

    let v: serde_json::Value =
        serde_json::from_slice(&tool(&["--json", path, "list"]).stdout).unwrap();
    assert_eq!(v["records"][0]["unreadable"], serde_json::Value::Null);
    assert!(v["records"][1]["unreadable"]
        .as_str()
        .unwrap()
        .contains("format 2"));
    assert!(v["records"][2]["unreadable"].is_string(), "{v}");

    let text = stdout(&tool(&[path, "stats"]));
    assert!(
        text.contains(&format!(
            "unreadable: 2 pending logs kept for a newer liblsq (this one cannot read them; \
             the first is #{newer}"
        )),
        "{text}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&tool(&["--json", path, "stats"]).stdout).unwrap();
    assert_eq!(v["unreadable_pending"], 2);
    assert_eq!(v["pending"], 3);
}
