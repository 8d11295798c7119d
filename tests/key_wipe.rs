//! The keys' wipe, proven by looking: a child process creates a client with
//! canary keys, sends popups, lookups and a call log through it (keys in the
//! query, then in the headers), frees it, and then searches every writable
//! page of its own memory for the keys. Before the wipe covered the header
//! values and request URIs handed to ureq, their freed copies were found.
//!
//! The emulator runs in the parent (it keeps what it received); the child
//! gets the keys over a pipe, read with read(2) into wiped buffers, so no
//! copy is made but the library's own.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use lsq_emulator::{Config, Emulator};
use support::*;

/// Random printable canaries, as LeadSquared keys look.
fn canaries() -> (String, String) {
    let hex = |n: usize| -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
            .collect()
    };
    (format!("u$r{}", hex(32)), hex(40))
}

fn run_child(emu: &Emulator, auth: &str, keys: &(String, String)) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "key_wipe_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LSQ_WIPE_URL", emu.url())
        .env("LSQ_WIPE_AUTH", auth)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        write!(stdin, "{}\n{}\n", keys.0, keys.1).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "child failed: {stdout}");
    stdout
}

#[test]
fn no_copy_of_a_key_is_left_in_memory_after_free() {
    for auth in ["query", "header"] {
        let keys = canaries();
        let emu = emulator(Config {
            access_key: keys.0.clone(),
            secret_key: keys.1.clone(),
            data: lsq_emulator::Data::sample(),
            ..Config::default()
        });
        let out = run_child(&emu, auth, &keys);
        assert!(out.contains("SCANNED"), "{out}");
        assert!(
            out.contains("CONTROL seen"),
            "the scan cannot see the heap: {out}"
        );
        assert!(
            emu.request_count() >= 10,
            "the child talked to the emulator"
        );
        assert!(
            !out.contains("FOUND"),
            "auth={auth}: a key is still in memory after free:\n{out}"
        );
    }
}

/// The child's side (does nothing when run by the test harness as a test).
#[test]
fn key_wipe_child() {
    let (Ok(url), Ok(auth)) = (
        std::env::var("LSQ_WIPE_URL"),
        std::env::var("LSQ_WIPE_AUTH"),
    ) else {
        return;
    };
    child::run(&url, &auth);
}

mod child {
    use std::time::Duration;

    use lsq::{Client, Options};
    use zeroize::Zeroizing;

    /// XORed so the needle itself is not a copy of the key.
    const MASK: u8 = 0x5a;

    fn read_keys() -> (Zeroizing<Vec<u8>>, usize) {
        let mut buf = Zeroizing::new(vec![0u8; 256]);
        let mut len = 0;
        loop {
            // SAFETY: writing into our own buffer, within its length.
            let n = unsafe { libc::read(0, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
            if n <= 0 {
                break;
            }
            len += n as usize;
        }
        let newline = buf[..len].iter().position(|&b| b == b'\n').unwrap();
        (buf, newline)
    }

    pub fn run(url: &str, auth: &str) {
        let (buf, newline) = read_keys();
        let end = buf[newline + 1..].iter().position(|&b| b == b'\n').unwrap() + newline + 1;
        let needles: Vec<(&str, Vec<u8>)> = vec![
            (
                "access key",
                buf[..newline].iter().map(|b| b ^ MASK).collect(),
            ),
            (
                "secret key",
                buf[newline + 1..end].iter().map(|b| b ^ MASK).collect(),
            ),
        ];
        {
            let access = std::str::from_utf8(&buf[..newline]).unwrap();
            let secret = std::str::from_utf8(&buf[newline + 1..end]).unwrap();
            let mut options = Options::default();
            options.set("auth", auth).unwrap();
            options.set("rate_limit", "0").unwrap();
            let client = Client::new(url, access, secret, options).unwrap();
            for i in 0..10 {
                let call = format!("wipe-{i}");
                let popup = lsq::Popup {
                    call_session_id: &call,
                    ..super::support::documented_popup("x")
                };
                let report = client.show_agent_popup(&popup);
                assert!(report.outcome.is_ok(), "{:?}", report.outcome);
            }
            let _ = client.find_lead("+91-8611795988");
            let log = super::support::missed_call("wipe-log");
            let _ = client.log_call(&log);
            client.flush(Duration::from_secs(5)).unwrap();
            drop(client);
        }
        // The control: our own copy is still there, and the scan sees it.
        if !scan(&needles[1].1).is_empty() {
            println!("CONTROL seen");
        }
        drop(buf); // our own copy, wiped
        for (name, needle) in &needles {
            for place in scan(needle) {
                println!("FOUND {name} in {place}");
            }
        }
        println!("SCANNED");
    }

    /// Every writable mapping of this process that holds the masked needle.
    fn scan(needle: &[u8]) -> Vec<String> {
        use std::io::{Read, Seek, SeekFrom};
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
        let mut found = Vec::new();
        let mut chunk = vec![0u8; 1 << 20];
        for line in maps.lines() {
            let mut fields = line.split_whitespace();
            let (range, perms) = (fields.next().unwrap(), fields.next().unwrap());
            let name = fields.nth(3).unwrap_or("[anonymous]").to_string();
            if !perms.starts_with("rw") || name == "[vvar]" || name == "[vsyscall]" {
                continue;
            }
            let (start, end) = range.split_once('-').unwrap();
            let (start, end) = (
                u64::from_str_radix(start, 16).unwrap(),
                u64::from_str_radix(end, 16).unwrap(),
            );
            let mut at = start;
            while at < end {
                let len = ((end - at) as usize).min(chunk.len());
                if mem.seek(SeekFrom::Start(at)).is_err()
                    || mem.read_exact(&mut chunk[..len]).is_err()
                {
                    break;
                }
                let hit = chunk[..len]
                    .windows(needle.len())
                    .any(|w| w.iter().zip(needle).all(|(b, n)| *b == n ^ MASK));
                if hit {
                    found.push(format!("{name} ({range})"));
                    break;
                }
                // Overlap so a key split across chunks is still seen.
                at += (len - len.min(needle.len())).max(1) as u64;
                if len < chunk.len() {
                    break;
                }
            }
        }
        chunk.iter_mut().for_each(|b| *b = 0);
        found
    }
}
