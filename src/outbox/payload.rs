//! The call log as the outbox keeps it (the `payload` column), its format
//! version, and the rule that lets a log outlive the liblsq that wrote it.
//!
//! A stored log is read by whatever liblsq opens the file next: the same
//! one after a restart, a newer one after an upgrade, an older one after a
//! rollback. So the format is owned here, with the store, not by the API
//! code that builds the request, and it follows one rule:
//!
//! - JSON, with `"v"` its format version. Version 1 is the format liblsq
//!   wrote before `v` existed: a payload without `v` is version 1.
//! - This liblsq reads every version up to [`PAYLOAD_VERSION`]. Optional
//!   fields default to absent, and fields it does not know are ignored.
//! - A change an older reader may safely ignore (a new optional field whose
//!   absence means what it meant before) keeps the version; any other change
//!   (a new required field, a field whose meaning changes) takes the next one.
//! - A payload of a newer version, or one that does not parse, is
//!   [`Unreadable`]: the client keeps it pending and untouched (never dead,
//!   never sent, no attempt counted), reports it once and counts it
//!   (`lsq_call_logs_unreadable_stored`; `lsq-outbox list` and `stats` show
//!   it), and a liblsq that reads it sends it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CallLog, CallStatus, Direction};

/// The newest payload format this liblsq reads, and the one it writes.
// Not `pub`: cbindgen would put a public const into the C header.
pub(crate) const PAYLOAD_VERSION: u64 = 1;

/// The version of a payload without `v`: liblsq's format before `v` existed.
const UNVERSIONED: u64 = 1;

/// A call log as the outbox keeps it, the agent as given: an e-mail is
/// resolved when the log is sent, not when it is accepted. The field names
/// are the stored format: renaming one is a new version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogRecord {
    pub source_number: String,
    pub destination_number: String,
    pub display_number: String,
    /// Stored by name ("Inbound", "Outbound").
    #[serde(with = "stored_direction")]
    pub direction: Direction,
    pub call_session_id: String,
    /// Stored by name ("Answered", "Missed"), mapped here rather than by
    /// `CallStatus`'s own serde form, so the API type can change freely.
    #[serde(with = "stored_status")]
    pub status: CallStatus,
    pub start_time: i64,
    pub end_time: i64,
    pub duration_s: u32,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub lead_id: Option<String>,
    #[serde(default)]
    pub resource_url: Option<String>,
    #[serde(default)]
    pub caller_source: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

/// The stored names of the two enums: one table each, both ways.
macro_rules! stored_names {
    ($module:ident, $type:ty, $($variant:path => $name:literal),+) => {
        mod $module {
            use serde::{Deserializer, Serializer};

            use super::*;

            pub fn serialize<S: Serializer>(value: &$type, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(match value {
                    $($variant => $name,)+
                })
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<$type, D::Error> {
                match String::deserialize(d)?.as_str() {
                    $($name => Ok($variant),)+
                    _ => Err(serde::de::Error::custom(concat!("an unknown ", stringify!($module)))),
                }
            }
        }
    };
}

stored_names!(stored_status, CallStatus,
    CallStatus::Answered => "Answered", CallStatus::Missed => "Missed");
stored_names!(stored_direction, Direction,
    Direction::Inbound => "Inbound", Direction::Outbound => "Outbound");

impl LogRecord {
    /// The record kept for a validated log: empty optional fields are left
    /// out.
    pub(crate) fn of(log: &CallLog<'_>) -> LogRecord {
        let own = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_string);
        LogRecord {
            source_number: log.source_number.to_string(),
            destination_number: log.destination_number.to_string(),
            display_number: log.display_number.to_string(),
            direction: log.direction,
            call_session_id: log.call_session_id.to_string(),
            status: log.status,
            start_time: log.start_time,
            end_time: log.end_time,
            duration_s: log.duration_s,
            user: own(log.user),
            lead_id: own(log.lead_id),
            resource_url: own(log.resource_url),
            caller_source: own(log.caller_source),
            tag: own(log.tag),
        }
    }

    /// The log again, borrowing from the record, for the request.
    pub(crate) fn call_log(&self) -> CallLog<'_> {
        CallLog {
            source_number: &self.source_number,
            destination_number: &self.destination_number,
            display_number: &self.display_number,
            direction: self.direction,
            call_session_id: &self.call_session_id,
            status: self.status,
            start_time: self.start_time,
            end_time: self.end_time,
            duration_s: self.duration_s,
            user: self.user.as_deref(),
            lead_id: self.lead_id.as_deref(),
            resource_url: self.resource_url.as_deref(),
            caller_source: self.caller_source.as_deref(),
            tag: self.tag.as_deref(),
        }
    }
}

/// What this liblsq writes: the record with its version first.
#[derive(Serialize)]
struct Written<'a> {
    v: u64,
    #[serde(flatten)]
    record: &'a LogRecord,
}

/// Only the version, read before the rest: a newer payload is recognised
/// as newer even when its other fields would not parse here.
#[derive(Deserialize)]
struct Version {
    #[serde(default = "unversioned")]
    v: u64,
}

fn unversioned() -> u64 {
    UNVERSIONED
}

/// Why this liblsq cannot read a stored payload. Neither says what the
/// payload holds (phone numbers): only its version, or where it breaks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Unreadable {
    /// Written by a newer liblsq, in format `version`.
    Newer {
        /// The payload's `v`.
        version: u64,
    },
    /// Not a call log in any format this liblsq knows: damaged, edited by
    /// hand, or from a newer liblsq that did not mark it as newer.
    Malformed {
        /// Where it breaks ("not JSON at line 1 column 5"), without content.
        reason: String,
    },
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::Newer { version } => write!(
                f,
                "its payload is format {version}, newer than this liblsq reads \
                 (up to {PAYLOAD_VERSION})"
            ),
            Unreadable::Malformed { reason } => {
                write!(
                    f,
                    "its payload is not a call log this liblsq reads ({reason})"
                )
            }
        }
    }
}

/// Names a parse failure by its kind and place: serde's own message can
/// quote the payload's values.
fn malformed(e: &serde_json::Error) -> Unreadable {
    let what = match e.classify() {
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Eof => "cut short",
        serde_json::error::Category::Data => "a field missing or of another type",
        serde_json::error::Category::Io => "unreadable",
    };
    Unreadable::Malformed {
        reason: format!("{what} at line {} column {}", e.line(), e.column()),
    }
}

/// The payload this liblsq stores for `record`.
pub(crate) fn encode(record: &LogRecord) -> String {
    // Strings and numbers only: serializing cannot fail.
    serde_json::to_string(&Written {
        v: PAYLOAD_VERSION,
        record,
    })
    .unwrap_or_default()
}

/// Reads a stored payload, of any version up to [`PAYLOAD_VERSION`].
pub(crate) fn decode(payload: &str) -> Result<LogRecord, Unreadable> {
    let version = serde_json::from_str::<Version>(payload)
        .map_err(|e| malformed(&e))?
        .v;
    if version > PAYLOAD_VERSION {
        return Err(Unreadable::Newer { version });
    }
    serde_json::from_str(payload).map_err(|e| malformed(&e))
}

/// Whether this liblsq can read (and so send) a stored payload: `None`
/// when it can, else why not. For the ops tool; the client reads payloads
/// by the same rule.
pub fn unreadable(payload: &str) -> Option<Unreadable> {
    decode(payload).err()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Exactly what liblsq wrote before payloads had a version (captured
    /// from that code; tests/fixtures/outbox_payload_v1.jsonl has the same).
    const UNVERSIONED_MINIMAL: &str = r#"{"source_number":"+91-8611795988","destination_number":"1001","display_number":"+91-8611795989","direction":"Inbound","call_session_id":"today-minimal","status":"Answered","start_time":1764000000,"end_time":1764000095,"duration_s":80,"user":null,"lead_id":null,"resource_url":null,"caller_source":null,"tag":null}"#;

    pub(in crate::outbox) fn record() -> LogRecord {
        LogRecord {
            source_number: "+91-8611795988".into(),
            destination_number: "1001".into(),
            display_number: "+91-8611795989".into(),
            direction: Direction::Inbound,
            call_session_id: "today-minimal".into(),
            status: CallStatus::Answered,
            start_time: 1_764_000_000,
            end_time: 1_764_000_095,
            duration_s: 80,
            user: None,
            lead_id: None,
            resource_url: None,
            caller_source: None,
            tag: None,
        }
    }

    #[test]
    fn the_unversioned_format_reads_as_version_1() {
        assert_eq!(decode(UNVERSIONED_MINIMAL).unwrap(), record());
    }

    #[test]
    fn this_liblsq_writes_its_version_and_reads_it_back() {
        let full = LogRecord {
            status: CallStatus::Missed,
            user: Some("agent@example.com".into()),
            tag: Some("support".into()),
            ..record()
        };
        let text = encode(&full);
        assert!(text.starts_with(r#"{"v":1,"source_number":"#), "{text}");
        assert!(text.contains(r#""status":"Missed""#), "{text}");
        assert_eq!(decode(&text).unwrap(), full);
    }

    #[test]
    fn optional_fields_may_be_absent_and_unknown_ones_are_ignored() {
        let short = r#"{"v":1,"source_number":"+91-8611795988","destination_number":"1001","display_number":"+91-8611795989","direction":"Inbound","call_session_id":"today-minimal","status":"Answered","start_time":1764000000,"end_time":1764000095,"duration_s":80,"added_later":{"x":1}}"#;
        assert_eq!(decode(short).unwrap(), record());
    }

    #[test]
    fn a_newer_version_is_not_read_even_when_its_fields_would_parse() {
        let newer = UNVERSIONED_MINIMAL.replacen('{', r#"{"v":2,"#, 1);
        assert_eq!(decode(&newer), Err(Unreadable::Newer { version: 2 }));
        assert_eq!(
            unreadable(r#"{"v":7,"call":{}}"#),
            Some(Unreadable::Newer { version: 7 })
        );
        assert_eq!(unreadable(UNVERSIONED_MINIMAL), None);
    }

    #[test]
    fn what_does_not_parse_is_malformed_and_the_reason_quotes_nothing() {
        for payload in [
            "",
            "not json",
            r#"{"source_number":"+91-86117"#,
            r#"{"v":"one"}"#,
            r#"{"v":-1}"#,
            r#"{"source_number":"+91-8611795988"}"#,
            &UNVERSIONED_MINIMAL.replace("Answered", "Busy"),
            &UNVERSIONED_MINIMAL.replace("Inbound", "Sideways"),
            &UNVERSIONED_MINIMAL.replace("80", "\"80 s\""),
        ] {
            match unreadable(payload) {
                Some(Unreadable::Malformed { reason }) => {
                    assert!(reason.contains(" at line 1 column "), "{payload}: {reason}");
                    for secret in ["8611", "Busy", "Sideways", "80 s", "one"] {
                        assert!(!reason.contains(secret), "{payload}: {reason}");
                    }
                }
                other => panic!("{payload}: {other:?}"),
            }
        }
    }
}
