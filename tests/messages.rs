//! Messages an admin acts on name where the problem is, over loopback
//! against the emulator.

mod support;

use lsq::{Client, ErrorKind, Options};
use support::*;

/// A 401 names the host that refused the keys, as DNS and refused
/// messages do: the fix is as often the regional host as the keys.
#[test]
fn a_401_names_the_host() {
    let emu = default_emulator();
    let client = Client::new(
        emu.url(),
        "u$rwrongwrongwrongwrongwrongwrongwrong",
        DEFAULT_SECRET_KEY,
        Options::default(),
    )
    .unwrap();
    let report = client.show_agent_popup(&documented_popup("call-401"));
    assert_eq!(report.error_kind(), Some(ErrorKind::Unauthorized));
    let message = report.outcome.unwrap_err().message().to_string();
    let host = format!("127.0.0.1:{}", emu.port());
    assert!(message.contains(&host), "{message}");
    assert!(!message.contains("wrongwrong"), "{message}");
}

/// A call log that will be retried, or is dead, says where it is kept: "in
/// the outbox" only when there is one (issue 18: the line said so without).
#[test]
fn call_log_lines_say_whether_an_outbox_keeps_the_log() {
    use lsq::{Level, Logger};
    use lsq_emulator::Endpoint;
    use std::sync::{Arc, Mutex};
    let log = missed_call("call-words");
    let dir = std::env::temp_dir().join(format!("lsq-messages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let outbox = dir.join("outbox.db");
    for with_outbox in [false, true] {
        let emu = default_emulator();
        // A 503 (retried later), then a 400 (dead at once).
        emu.push_faults_for(
            Endpoint::LogCall,
            [Fault::status(503), Fault::status(503), Fault::status(503)],
        );
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&lines);
        let mut options = Options::default();
        options.set("max_retries", "0").unwrap();
        if with_outbox {
            options.set("outbox", outbox.to_str().unwrap()).unwrap();
        }
        options.logger = Logger::new(Arc::new(move |_: Level, line: &str| {
            sink.lock().unwrap().push(line.to_string())
        }));
        let client =
            Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
        let report = client.log_call(&log);
        assert!(report.outcome.is_err());
        emu.clear_faults();
        emu.push_fault_for(
            Endpoint::LogCall,
            Fault::json_error(400, "MXInvalidInputException", "bad"),
        );
        let mut dead = log;
        dead.call_session_id = "call-dead";
        let _ = client.log_call(&dead);
        drop(client);
        let lines = lines.lock().unwrap();
        let retry = lines
            .iter()
            .find(|l| l.contains("trying again"))
            .expect("a retry line");
        let died = lines
            .iter()
            .find(|l| l.contains("is dead"))
            .expect("a dead line");
        if with_outbox {
            assert!(retry.ends_with("(kept in the outbox)"), "{retry}");
            assert!(died.contains("kept in the outbox"), "{died}");
        } else {
            assert!(!retry.contains("kept in the outbox"), "{retry}");
            assert!(retry.contains("no outbox is set"), "{retry}");
            assert!(!died.contains("kept in the outbox"), "{died}");
            assert!(died.contains("not kept: no outbox is set"), "{died}");
        }
    }
}
