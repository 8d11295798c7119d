//! LeadSquared's "Call Log API for the Generic Telephony Connector"
//! (`POST /v2/Telephony.svc/LogCall`), sent after hangup with the popup's
//! CallSessionId: the log a PBX gives, its rules, and the body on the wire.
//! (What the outbox keeps until the log is delivered is `outbox/payload.rs`'s.)

use serde::{Deserialize, Serialize};

use super::answer::not_success_shape;
use super::direction::Direction;
use super::fields;
use crate::error::Error;
use crate::net::transport::{Method, Request, MAX_BODY_BYTES};

/// The API path.
pub const PATH: &str = "/v2/Telephony.svc/LogCall";

/// 2000-01-01 00:00:00 UTC: no call log starts before it.
const EARLIEST_START: i64 = 946_684_800;
/// A start this far in the future is a clock or unit mistake.
const MAX_FUTURE_SECONDS: i64 = 86_400;
/// The longest ResourceURL.
const MAX_URL_BYTES: usize = 2048;
/// The longest CallerSource, in characters (LeadSquared's documented limit).
const MAX_CALLER_SOURCE_CHARS: usize = 50;

/// How the call went: `Status` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallStatus {
    /// "Answered".
    Answered,
    /// "Missed" (inferred: LeadSquared's documented list is cut after
    /// "Answered"; this one place maps the C value to the wire, so it can
    /// be corrected without an ABI change).
    Missed,
}

impl CallStatus {
    /// The contract's numeric value: `LSQ_CALL_ANSWERED` = 0, `LSQ_CALL_MISSED` = 1.
    pub fn from_code(code: u32) -> Option<CallStatus> {
        match code {
            0 => Some(CallStatus::Answered),
            1 => Some(CallStatus::Missed),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Answered => "Answered",
            CallStatus::Missed => "Missed",
        }
    }
}

/// A call log, borrowing its fields, as the PBX gives it after hangup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallLog<'a> {
    /// SourceNumber (inbound: the lead; outbound: the agent).
    pub source_number: &'a str,
    /// DestinationNumber.
    pub destination_number: &'a str,
    /// DisplayNumber.
    pub display_number: &'a str,
    /// Direction.
    pub direction: Direction,
    /// CallSessionId: the popup's.
    pub call_session_id: &'a str,
    /// Answered or missed.
    pub status: CallStatus,
    /// Unix seconds: StartTime.
    pub start_time: i64,
    /// Unix seconds: EndTime.
    pub end_time: i64,
    /// CallDuration: seconds of conversation.
    pub duration_s: u32,
    /// Optional: the agent, a UserId GUID or an e-mail (resolved when sent).
    pub user: Option<&'a str>,
    /// Optional: LeadId.
    pub lead_id: Option<&'a str>,
    /// Optional: ResourceURL, the recording (an absolute http(s) URL).
    pub resource_url: Option<&'a str>,
    /// Optional: CallerSource, at most 50 characters.
    pub caller_source: Option<&'a str>,
    /// Optional: Tag.
    pub tag: Option<&'a str>,
}

fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

impl<'a> CallLog<'a> {
    /// Checks every field against the contract's rules (`now`: Unix seconds
    /// of the PBX's clock); the error names the field.
    pub fn validate(&self, now: i64) -> Result<(), Error> {
        fields::phone_number("source_number", self.source_number)?;
        fields::phone_number("destination_number", self.destination_number)?;
        fields::phone_number("display_number", self.display_number)?;
        fields::required_text("call_session_id", self.call_session_id)?;
        if self.start_time < EARLIEST_START {
            return Err(Error::invalid(format!(
                "start_time: {} is before 2000-01-01 (Unix seconds expected)",
                self.start_time
            )));
        }
        if self.start_time > now.saturating_add(MAX_FUTURE_SECONDS) {
            return Err(Error::invalid(format!(
                "start_time: {} is more than a day in the future (Unix seconds expected; check the clock)",
                self.start_time
            )));
        }
        if self.end_time < self.start_time {
            return Err(Error::invalid(format!(
                "end_time: {} is before start_time {}",
                self.end_time, self.start_time
            )));
        }
        if i64::from(self.duration_s) > self.end_time - self.start_time {
            return Err(Error::invalid(format!(
                "duration_s: {} s is longer than end_time - start_time ({} s)",
                self.duration_s,
                self.end_time - self.start_time
            )));
        }
        if let Some(user) = given(self.user) {
            fields::user("user", user)?;
        }
        fields::optional_guid("lead_id", self.lead_id)?;
        if let Some(url) = given(self.resource_url) {
            check_url(url)?;
        }
        if let Some(source) = given(self.caller_source) {
            fields::text("caller_source", source)?;
            if source.chars().count() > MAX_CALLER_SOURCE_CHARS {
                return Err(Error::invalid(format!(
                    "caller_source: at most {MAX_CALLER_SOURCE_CHARS} characters"
                )));
            }
        }
        if let Some(tag) = self.tag {
            fields::text("tag", tag)?;
        }
        Ok(())
    }
}

fn check_url(url: &str) -> Result<(), Error> {
    if url.len() > MAX_URL_BYTES {
        return Err(Error::invalid(format!(
            "resource_url: {} bytes is longer than {MAX_URL_BYTES}",
            url.len()
        )));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "resource_url: spaces and control characters are not allowed (percent-encode them)",
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            Error::invalid("resource_url: must be an absolute http:// or https:// URL")
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(Error::invalid(
            "resource_url: must name a host (http://host/path), without user information",
        ));
    }
    Ok(())
}

/// The LogCall body: exactly the documented names, the optional ones only
/// when given (the API refuses unknown attributes).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Body<'a> {
    source_number: &'a str,
    destination_number: &'a str,
    display_number: &'a str,
    direction: &'a str,
    call_session_id: &'a str,
    status: &'a str,
    start_time: String,
    end_time: String,
    call_duration: u32,
    #[serde(rename = "UserId", skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(rename = "LeadId", skip_serializing_if = "Option::is_none")]
    lead_id: Option<&'a str>,
    #[serde(rename = "ResourceURL", skip_serializing_if = "Option::is_none")]
    resource_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller_source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
}

/// The body for `log`, with the agent's UserId as resolved (`None`: left
/// out); empty optional fields are left out too.
pub(crate) fn body(log: &CallLog<'_>, user_id: Option<&str>) -> Vec<u8> {
    let body = Body {
        source_number: log.source_number,
        destination_number: log.destination_number,
        display_number: log.display_number,
        direction: log.direction.as_str(),
        call_session_id: log.call_session_id,
        status: log.status.as_str(),
        start_time: utc(log.start_time),
        end_time: utc(log.end_time),
        call_duration: log.duration_s,
        user_id,
        lead_id: given(log.lead_id),
        resource_url: given(log.resource_url),
        caller_source: given(log.caller_source),
        tag: given(log.tag),
    };
    // Serializing these plain fields cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The request for `body`.
pub(crate) fn request(body: &[u8]) -> Request<'_> {
    Request {
        method: Method::Post,
        path: PATH,
        query: &[],
        body: Some(body),
        max_body: MAX_BODY_BYTES,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Success {
    status: String,
    message: Option<SuccessMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SuccessMessage {
    id: Option<String>,
}

/// Reads `{"Status":"Success","Message":{"Id":..}}`: the Message.Id, or "".
pub(crate) fn parse(status: u16, body: &[u8]) -> Result<String, Error> {
    match serde_json::from_slice::<Success>(body) {
        Ok(s) if s.status == "Success" => Ok(s.message.and_then(|m| m.id).unwrap_or_default()),
        _ => Err(not_success_shape(status, body)),
    }
}

/// Unix seconds as UTC `YYYY-MM-DD HH:MM:SS`, the format LogCall documents.
/// (Days to a civil date by Howard Hinnant's public-domain algorithm: ten
/// lines, where a date crate would add a dependency for one format.)
pub(crate) fn utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const NOW: i64 = 1_764_000_000; // 2025-11-24

    fn log() -> CallLog<'static> {
        CallLog {
            source_number: "+91-8611795988",
            destination_number: "1001",
            display_number: "+91-8611795989",
            direction: Direction::Inbound,
            call_session_id: "1700000000.42",
            status: CallStatus::Answered,
            start_time: NOW - 120,
            end_time: NOW - 20,
            duration_s: 90,
            user: None,
            lead_id: None,
            resource_url: None,
            caller_source: None,
            tag: None,
        }
    }

    #[test]
    fn utc_times_are_the_documented_format() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(946_684_800), "2000-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59");
    }

    #[test]
    fn the_body_has_exactly_the_documented_names() {
        let text = String::from_utf8(body(&log(), None)).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"SourceNumber":"+91-8611795988","DestinationNumber":"1001","DisplayNumber":"+91-8611795989","Direction":"Inbound","CallSessionId":"1700000000.42","Status":"Answered","StartTime":"{}","EndTime":"{}","CallDuration":90}}"#,
                utc(NOW - 120),
                utc(NOW - 20)
            )
        );
        let full = CallLog {
            status: CallStatus::Missed,
            duration_s: 0,
            user: Some("agent@example.com"),
            lead_id: Some("e6293922-cabc-4f87-a045-86f60b4ebdaf"),
            resource_url: Some("https://rec.example.com/2025/call.mp3"),
            caller_source: Some("IVR"),
            tag: Some(""),
            ..log()
        };
        full.validate(NOW).unwrap();
        let value: serde_json::Value =
            serde_json::from_slice(&body(&full, Some("a484b8fc-0425-48f6-abf8-15af4cb65137")))
                .unwrap();
        let names: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names.len(), 13, "{names:?}");
        assert_eq!(value["Status"], "Missed");
        assert_eq!(value["CallDuration"], 0);
        assert_eq!(value["UserId"], "a484b8fc-0425-48f6-abf8-15af4cb65137");
        assert_eq!(
            value["ResourceURL"],
            "https://rec.example.com/2025/call.mp3"
        );
        assert!(value.get("Tag").is_none(), "an empty tag is left out");
    }

    #[test]
    fn each_rule_names_its_field() {
        let refused = |l: CallLog<'_>, field: &str| {
            let e = l.validate(NOW).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().starts_with(field), "{field}: {}", e.message());
        };
        refused(
            CallLog {
                source_number: "",
                ..log()
            },
            "source_number",
        );
        refused(
            CallLog {
                destination_number: "x",
                ..log()
            },
            "destination_number",
        );
        refused(
            CallLog {
                call_session_id: "",
                ..log()
            },
            "call_session_id",
        );
        refused(
            CallLog {
                start_time: 900_000_000,
                ..log()
            },
            "start_time",
        );
        refused(
            CallLog {
                start_time: NOW + 90_000,
                end_time: NOW + 90_001,
                ..log()
            },
            "start_time",
        );
        refused(
            CallLog {
                start_time: NOW * 1000,
                end_time: NOW * 1000,
                ..log()
            },
            "start_time",
        );
        refused(
            CallLog {
                end_time: NOW - 121,
                ..log()
            },
            "end_time",
        );
        refused(
            CallLog {
                duration_s: 101,
                ..log()
            },
            "duration_s",
        );
        refused(
            CallLog {
                user: Some("agent"),
                ..log()
            },
            "user",
        );
        refused(
            CallLog {
                lead_id: Some("x"),
                ..log()
            },
            "lead_id",
        );
        refused(
            CallLog {
                resource_url: Some("ftp://x/y"),
                ..log()
            },
            "resource_url",
        );
        refused(
            CallLog {
                resource_url: Some("recording.wav"),
                ..log()
            },
            "resource_url",
        );
        refused(
            CallLog {
                resource_url: Some("https://"),
                ..log()
            },
            "resource_url",
        );
        refused(
            CallLog {
                resource_url: Some("https://h/a b"),
                ..log()
            },
            "resource_url",
        );
        let long_url = format!("https://h/{}", "a".repeat(2048));
        refused(
            CallLog {
                resource_url: Some(&long_url),
                ..log()
            },
            "resource_url",
        );
        let long_source = "s".repeat(51);
        refused(
            CallLog {
                caller_source: Some(&long_source),
                ..log()
            },
            "caller_source",
        );
        refused(
            CallLog {
                tag: Some("a\nb"),
                ..log()
            },
            "tag",
        );
        log().validate(NOW).unwrap();
        CallLog {
            duration_s: 100,
            ..log()
        }
        .validate(NOW)
        .unwrap();
    }

    #[test]
    fn reads_the_success_answer() {
        assert_eq!(
            parse(200, br#"{"Status":"Success","Message":{"Id":"abc"}}"#).unwrap(),
            "abc"
        );
        assert_eq!(parse(200, br#"{"Status":"Success"}"#).unwrap(), "");
        assert_eq!(parse(200, b"[]").unwrap_err().kind(), ErrorKind::Response);
    }
}
