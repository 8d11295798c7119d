//! The `lsq-emulator` binary, as a PBX admin or a script runs it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;

use common::*;
use lsq_emulator::{TlsIdentity, POPUP_PATH};

const AK: &str = "AK-cli-access-7d1e";
const SK: &str = "SK-cli-secret-93fa";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lsq-emulator"));
    c.env_remove("LSQ_ACCESS_KEY").env_remove("LSQ_SECRET_KEY");
    c
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(format!("{name}-{}", std::process::id()))
}

/// A running emulator process with its stdout lines arriving on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Running {
    fn start(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    fn line(&self) -> String {
        self.lines.recv_timeout(TIMEOUT).expect("a line on stdout")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn help_and_bad_arguments() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--port-file") && text.contains("--rate-limit"));

    let out = bin().arg("--nope").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--nope"));

    let out = bin()
        .args([
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            "/nonexistent.key",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serves_logs_requests_and_never_prints_the_keys() {
    let port_file = tmp("port");
    let _ = std::fs::remove_file(&port_file);
    let emu = Running::start(bin().args([
        "--port",
        "0",
        "--port-file",
        port_file.to_str().unwrap(),
        "--access-key",
        AK,
        "--secret-key",
        SK,
        "--rate-limit",
        "2/3600",
        "--retry-after",
        "3",
    ]));
    let first = emu.line();
    let url = first
        .strip_prefix("lsq-emulator listening on ")
        .unwrap_or_else(|| panic!("{first:?}"));
    let port: u16 = std::fs::read_to_string(&port_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    let mut c = Client::connect(addr);
    let query = raw(
        "POST",
        &target_with(AK, SK),
        &[("Content-Type", "application/json")],
        POPUP.as_bytes(),
    );
    let header = raw(
        "POST",
        POPUP_PATH,
        &[
            ("Content-Type", "application/json"),
            ("x-LSQ-AccessKey", AK),
            ("x-LSQ-SecretKey", SK),
        ],
        POPUP.as_bytes(),
    );
    assert_eq!(c.roundtrip(&query).status, 200);
    assert_eq!(c.roundtrip(&header).status, 200);
    let limited = c.roundtrip(&query);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("3"));
    // Default test keys are not accepted when others were given.
    assert_eq!(c.roundtrip(&popup_request()).status, 401);

    let lines: Vec<String> = (0..4).map(|_| emu.line()).collect();
    assert_eq!(
        lines[0],
        "POST /v2/Telephony.svc/ShowAgentPopup?accessKey=***&secretKey=*** 200 \
         +91-8611795988 -> +91-8971373363 Inbound LeadId f5c7e023-653c-11e7-b25c-023cca4497b9"
    );
    assert!(lines[1].starts_with("POST /v2/Telephony.svc/ShowAgentPopup 200 +91-8611795988"));
    assert!(lines[2].contains(" 429 ") && lines[2].contains("limit of 2 in 3600 second(s)"));
    assert!(lines[3].contains(" 401 "));
    for l in &lines {
        assert!(!l.contains(AK) && !l.contains(SK), "{l}");
    }
    let _ = std::fs::remove_file(&port_file);
}

#[test]
fn keys_from_the_environment() {
    let emu = Running::start(
        bin()
            .args(["--port", "0", "--quiet"])
            .env("LSQ_ACCESS_KEY", AK)
            .env("LSQ_SECRET_KEY", SK),
    );
    let first = emu.line();
    let port: u16 = first.rsplit(':').next().unwrap().parse().unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let r = once(
        addr,
        &raw(
            "POST",
            &target_with(AK, SK),
            &[("Content-Type", "application/json")],
            POPUP.as_bytes(),
        ),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn tls_from_pem_files() {
    let (id, _) = TlsIdentity::self_signed(&["localhost"]);
    let cert = tmp("cert.pem");
    let key = tmp("key.pem");
    std::fs::write(&cert, &id.cert_chain_pem).unwrap();
    std::fs::write(&key, &id.key_pem).unwrap();
    let emu = Running::start(bin().args([
        "--port",
        "0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]));
    let first = emu.line();
    assert!(
        first.starts_with("lsq-emulator listening on https://localhost:"),
        "{first}"
    );
    let _ = std::fs::remove_file(&cert);
    let _ = std::fs::remove_file(&key);
}
