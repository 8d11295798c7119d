//! `POST /v2/Telephony.svc/LogCall`: a call log after hangup (`connector.md`, "Call logs").
//! Every accepted log is kept ([`crate::CallLog`]) so tests can count deliveries.

use serde_json::{Map, Value};

use super::{is_phone_text, Origin};
use crate::answer::{new_message_id, Answer};
use crate::calllog::{CallLog, CallLogs};
use crate::check::{invalid, is_guid, json_body, Rejection};
use crate::http::Request;
use crate::time::parse_utc;

/// Required names: all strings but CallDuration.
const REQUIRED: [&str; 9] = [
    "SourceNumber",
    "DestinationNumber",
    "DisplayNumber",
    "Direction",
    "CallSessionId",
    "Status",
    "StartTime",
    "EndTime",
    "CallDuration",
];
/// Optional names, strings, sent only when given.
const OPTIONAL: [&str; 5] = ["UserId", "LeadId", "ResourceURL", "CallerSource", "Tag"];

/// CallerSource's documented limit, in characters.
const MAX_CALLER_SOURCE: usize = 50;
/// ResourceURL's limit, in bytes (as liblsq validates it; inferred for LeadSquared).
const MAX_URL: usize = 2048;

/// An accepted call log.
pub(crate) struct Call {
    fields: Map<String, Value>,
}

impl Call {
    fn text(&self, name: &str) -> &str {
        self.fields.get(name).and_then(Value::as_str).unwrap_or("")
    }

    pub(crate) fn summary(&self) -> String {
        let c = crate::server::clean;
        format!(
            " {} -> {} {} {} {}s CallSessionId {}",
            c(self.text("SourceNumber"), 64),
            c(self.text("DestinationNumber"), 64),
            c(self.text("Direction"), 16),
            c(self.text("Status"), 16),
            self.fields["CallDuration"],
            c(self.text("CallSessionId"), 64)
        )
    }
}

/// 400 unless the body is a JSON object with exactly the documented names and types:
/// numbers as phone text, Direction `Inbound`/`Outbound`, Status `Answered`/`Missed`
/// (inferred: the documentation's list is cut after "Answered"), StartTime and EndTime real
/// UTC `YYYY-MM-DD HH:MM:SS` with EndTime not before StartTime, CallDuration a non-negative
/// integer JSON number no longer than the call, UserId and LeadId GUIDs, ResourceURL an
/// http(s) URL, CallerSource at most 50 characters.
pub(crate) fn parse(req: &Request) -> Result<Call, Rejection> {
    let Value::Object(fields) = json_body(req)? else {
        return Err(invalid("The request body must be a JSON object."));
    };
    for name in fields.keys() {
        if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
            return Err(invalid(format!("Unknown parameter '{name}'.")));
        }
    }
    for name in REQUIRED {
        let Some(v) = fields.get(name) else {
            return Err(invalid(format!("Missing required parameter '{name}'.")));
        };
        if name != "CallDuration" && !v.is_string() {
            return Err(invalid(format!("Parameter '{name}' must be a string.")));
        }
    }
    for name in OPTIONAL {
        if fields.get(name).is_some_and(|v| !v.is_string()) {
            return Err(invalid(format!("Parameter '{name}' must be a string.")));
        }
    }
    let call = Call { fields };
    check_values(&call)?;
    Ok(call)
}

fn check_values(call: &Call) -> Result<(), Rejection> {
    for name in ["SourceNumber", "DestinationNumber", "DisplayNumber"] {
        if !is_phone_text(call.text(name)) {
            return Err(invalid(format!(
                "Parameter '{name}' is not a phone number."
            )));
        }
    }
    if call.text("CallSessionId").is_empty() {
        return Err(invalid("Parameter 'CallSessionId' must not be empty."));
    }
    if !matches!(call.text("Direction"), "Inbound" | "Outbound") {
        return Err(invalid(
            "Parameter 'Direction' must be 'Inbound' or 'Outbound'.",
        ));
    }
    if !matches!(call.text("Status"), "Answered" | "Missed") {
        return Err(invalid(
            "Parameter 'Status' must be 'Answered' or 'Missed'.",
        ));
    }
    let time = |name: &str| {
        parse_utc(call.text(name)).ok_or_else(|| {
            invalid(format!(
                "Parameter '{name}' must be a UTC date and time as YYYY-MM-DD HH:MM:SS."
            ))
        })
    };
    let (start, end) = (time("StartTime")?, time("EndTime")?);
    if end < start {
        return Err(invalid("EndTime must not be before StartTime."));
    }
    let Some(duration) = call.fields["CallDuration"].as_u64() else {
        return Err(invalid(
            "Parameter 'CallDuration' must be a non-negative whole number of seconds.",
        ));
    };
    // Inferred: a call cannot talk longer than it lasted; liblsq validates the same.
    if duration > (end - start) as u64 {
        return Err(invalid(
            "CallDuration must not be longer than EndTime - StartTime.",
        ));
    }
    for name in ["UserId", "LeadId"] {
        if call.fields.contains_key(name) && !is_guid(call.text(name)) {
            return Err(invalid(format!("Parameter '{name}' must be a GUID.")));
        }
    }
    if call.fields.contains_key("ResourceURL") && !is_http_url(call.text("ResourceURL")) {
        return Err(invalid(
            "Parameter 'ResourceURL' must be an http or https URL.",
        ));
    }
    if call.text("CallerSource").chars().count() > MAX_CALLER_SOURCE {
        return Err(invalid(format!(
            "Parameter 'CallerSource' must be at most {MAX_CALLER_SOURCE} characters."
        )));
    }
    Ok(())
}

fn is_http_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    s.len() <= MAX_URL
        && host.is_some_and(|h| !h.is_empty())
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Keeps the log and answers 200 `{"Status":"Success","Message":{"Id":"<guid>"}}`.
pub(crate) fn perform(call: Call, calls: &CallLogs, origin: Origin) -> Answer {
    let id = new_message_id();
    let session = call.text("CallSessionId").to_owned();
    calls.push(CallLog {
        id: id.clone(),
        call_session_id: session,
        fields: call.fields,
        connection: origin.connection,
        arrived: origin.arrived,
    });
    let body = serde_json::json!({ "Status": "Success", "Message": { "Id": id } });
    Answer::ok_json(&body).with_note(format!(" -> kept {id}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls() {
        assert!(super::is_http_url("https://rec.example.com/a.mp3"));
        assert!(super::is_http_url("HTTP://h"));
        for bad in [
            "ftp://h/x",
            "https://",
            "https:///x",
            "rec.mp3",
            "https://h/a b",
        ] {
            assert!(!super::is_http_url(bad), "{bad}");
        }
    }
}
