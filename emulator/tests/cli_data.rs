//! `lsq-emulator --data FILE`: an admin runs the sample offline and queries it.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use common::*;
use lsq_emulator::{Data, LEAD_BY_PHONE_PATH, LEAD_CREATE_PATH, LOG_CALL_PATH, USER_BY_EMAIL_PATH};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.json");

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lsq-emulator"));
    c.env_remove("LSQ_ACCESS_KEY").env_remove("LSQ_SECRET_KEY");
    c
}

/// The child is killed when dropped, even when an assertion fails.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on a free loopback port; returns it and its address.
fn start(args: &[&str]) -> (Killed, SocketAddr) {
    let mut child = bin()
        .args(["--port", "0", "--quiet"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().rsplit(':').next().unwrap().parse().unwrap();
    (Killed(child), SocketAddr::from(([127, 0, 0, 1], port)))
}

fn ids(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ProspectID"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_sample_file_is_served_over_http() {
    let sample = Data::load(SAMPLE).unwrap();
    let id_of = |first: &str, last: &str| -> String {
        sample
            .leads()
            .iter()
            .find(|l| l["FirstName"] == first && l["LastName"] == last)
            .map(|l| l["ProspectID"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let (_child, addr) = start(&["--data", SAMPLE]);
    let mut c = Client::connect(addr);
    let lookup = |c: &mut Client, phone: &str| {
        c.roundtrip(&get(LEAD_BY_PHONE_PATH, &format!("phone={phone}")))
    };

    // +91-8611795988 (Phone), found with and without the country code.
    let ananya = id_of("Ananya", "Iyer");
    assert_eq!(
        ids(&lookup(&mut c, "918611795988")),
        std::slice::from_ref(&ananya)
    );
    assert_eq!(ids(&lookup(&mut c, "8611795988")), [ananya]);
    // A Mobile-only lead with a Devanagari name.
    let r = lookup(&mut c, "918971373363");
    assert_eq!(r.json()[0]["FirstName"], "अनन्या");
    assert_eq!(r.json()[0]["Phone"], serde_json::Value::Null);
    // Two leads share 9876543210: the most recently modified first.
    assert_eq!(
        ids(&lookup(&mut c, "919876543210")),
        [id_of("Rohan", "Mehta (personal)"), id_of("Rohan", "Mehta")]
    );
    // US, UK, UAE, Singapore in their stored forms.
    assert_eq!(
        ids(&lookup(&mut c, "14155550134")),
        [id_of("Emily", "Johnson")]
    );
    assert_eq!(
        ids(&lookup(&mut c, "7700900123")),
        [id_of("Oliver", "Smith")]
    );
    assert_eq!(
        ids(&lookup(&mut c, "447700900456")),
        [id_of("Siobhán", "Murphy")]
    );
    assert_eq!(
        ids(&lookup(&mut c, "971501234567")),
        [id_of("فاطمة", "الزهراء")]
    );
    assert_eq!(
        ids(&lookup(&mut c, "6591234567")),
        [id_of("Wei Ling", "Chen")]
    );
    assert!(ids(&lookup(&mut c, "15550000000")).is_empty());

    // Owners are users of the file; the inactive one is not found by e-mail.
    let r = c.roundtrip(&get(
        USER_BY_EMAIL_PATH,
        "emailAddress=Priya.Sharma%40example.com",
    ));
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = c.roundtrip(&get(
        USER_BY_EMAIL_PATH,
        "emailAddress=suresh.kumar%40example.com",
    ));
    assert_eq!(r.body, b"[]");

    // Create an unknown caller, then find it; a call log is accepted.
    let create = r#"[{"Attribute":"Phone","Value":"+44-7700900999"},{"Attribute":"Source","Value":"Phone Call"}]"#;
    let r = c.roundtrip(&post(LEAD_CREATE_PATH, create));
    let id = r.json()["Message"]["Id"].as_str().unwrap().to_owned();
    assert_eq!(ids(&lookup(&mut c, "447700900999")), [id]);
    let log = r#"{"SourceNumber":"+44 7700 900999","DestinationNumber":"201","DisplayNumber":"+44 20 7946 0000","Direction":"Inbound","CallSessionId":"cli-1","Status":"Answered","StartTime":"2024-06-20 10:00:00","EndTime":"2024-06-20 10:01:00","CallDuration":45}"#;
    assert_eq!(c.roundtrip(&post(LOG_CALL_PATH, log)).status, 200);
}

#[test]
fn a_bad_data_file_is_refused_with_the_reason() {
    let out = bin()
        .args(["--data", "/nonexistent/leads.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data"));

    let bad = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bad-data-{}.json", std::process::id()));
    std::fs::write(&bad, r#"{"leads":[{"ProspectID":"not-a-guid"}]}"#).unwrap();
    let out = bin().arg("--data").arg(&bad).output().unwrap();
    let _ = std::fs::remove_file(&bad);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("leads[0]") && err.contains("ProspectID"),
        "{err}"
    );
}

#[test]
fn help_lists_the_endpoints_and_the_new_flags() {
    let out = bin().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--data",
        "429|403|200",
        "RetrieveLeadByPhoneNumber",
        "Lead.Create",
        "ByEmailAddress",
        "LogCall",
    ] {
        assert!(text.contains(word), "{word}");
    }
}
