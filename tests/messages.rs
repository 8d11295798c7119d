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
