//! `POST /v2/Telephony.svc/ShowAgentPopup`: the agent pop-up (`c-api.md`, "The request on
//! the wire").

use serde_json::{Map, Value};

use super::is_phone_text;
use crate::answer::{self, Answer};
use crate::check::{invalid, is_guid, json_body, Rejection};
use crate::http::Request;

/// Required body names, all JSON strings.
const REQUIRED: [&str; 7] = [
    "SourceNumber",
    "DestinationNumber",
    "DisplayNumber",
    "Direction",
    "CallSessionId",
    "LeadId",
    "UserId",
];
/// Optional body names, JSON strings.
const OPTIONAL: [&str; 1] = ["Tag"];

/// The fields of an accepted popup that the console line shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Popup {
    pub(crate) source: String,
    pub(crate) destination: String,
    pub(crate) direction: String,
    pub(crate) lead_id: String,
}

impl Popup {
    pub(crate) fn summary(&self) -> String {
        format!(
            " {} -> {} {} LeadId {}",
            crate::server::clean(&self.source, 64),
            crate::server::clean(&self.destination, 64),
            crate::server::clean(&self.direction, 16),
            crate::server::clean(&self.lead_id, 64)
        )
    }
}

/// 400 unless the Content-Type is `application/json` (parameters allowed) and the body is a
/// JSON object with exactly the documented names and types, and values LogCall would accept
/// (the same rules, so the emulator is as strict as `c-api.md` says LeadSquared is): the three
/// numbers phone text, CallSessionId not empty, Direction `Inbound`/`Outbound`, LeadId and
/// UserId GUIDs.
pub(crate) fn parse(req: &Request) -> Result<Popup, Rejection> {
    let Value::Object(obj) = json_body(req)? else {
        return Err(invalid("The request body must be a JSON object."));
    };
    for name in obj.keys() {
        if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
            return Err(invalid(format!("Unknown parameter '{name}'.")));
        }
    }
    for name in REQUIRED {
        match obj.get(name) {
            None => return Err(invalid(format!("Missing required parameter '{name}'."))),
            Some(Value::String(_)) => {}
            Some(_) => return Err(invalid(format!("Parameter '{name}' must be a string."))),
        }
    }
    for name in OPTIONAL {
        if obj.get(name).is_some_and(|v| !v.is_string()) {
            return Err(invalid(format!("Parameter '{name}' must be a string.")));
        }
    }
    for name in ["SourceNumber", "DestinationNumber", "DisplayNumber"] {
        if !is_phone_text(text(&obj, name)) {
            return Err(invalid(format!(
                "Parameter '{name}' is not a phone number."
            )));
        }
    }
    if text(&obj, "CallSessionId").is_empty() {
        return Err(invalid("Parameter 'CallSessionId' must not be empty."));
    }
    for name in ["LeadId", "UserId"] {
        if !is_guid(text(&obj, name)) {
            return Err(invalid(format!("Parameter '{name}' must be a GUID.")));
        }
    }
    let direction = text(&obj, "Direction");
    if direction != "Inbound" && direction != "Outbound" {
        return Err(invalid(
            "Parameter 'Direction' must be 'Inbound' or 'Outbound'.",
        ));
    }
    Ok(Popup {
        source: text(&obj, "SourceNumber").to_owned(),
        destination: text(&obj, "DestinationNumber").to_owned(),
        direction: direction.to_owned(),
        lead_id: text(&obj, "LeadId").to_owned(),
    })
}

/// The documented success: a fresh Message.Id and "Message broadcasted successfully".
pub(crate) fn perform() -> Answer {
    let mut body = Vec::with_capacity(answer::SUCCESS_LEN);
    answer::success_body(&mut body);
    Answer::ok(body)
}

fn text<'a>(obj: &'a Map<String, Value>, name: &str) -> &'a str {
    obj.get(name).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn req(headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: crate::endpoint::POPUP_PATH.into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            keep_alive: true,
            arrived: Instant::now(),
        }
    }

    #[test]
    fn body_rules() {
        let ct = [("Content-Type", "Application/JSON; charset=utf-8")];
        let ok = r#"{"SourceNumber":"+91-8611795988","DestinationNumber":"1001","DisplayNumber":"+91-8611795989","Direction":"Outbound","CallSessionId":"c","LeadId":"f5c7e023-653c-11e7-b25c-023cca4497b9","UserId":"dd908e91-c5c9-11e5-8de3-22000aa5088d"}"#;
        assert_eq!(parse(&req(&ct, ok)).unwrap().direction, "Outbound");
        let with_tag = ok.replace("}", r#","Tag":"t"}"#);
        assert!(parse(&req(&ct, &with_tag)).is_ok());
        let tag_null = ok.replace("}", r#","Tag":null}"#);
        assert!(parse(&req(&ct, &tag_null)).is_err());
        assert!(parse(&req(&[("Content-Type", "text/plain")], ok)).is_err());
        assert!(parse(&req(&[], ok)).is_err());
        assert!(parse(&req(&ct, &ok.replace("Outbound", "outbound"))).is_err());
        assert!(parse(&req(
            &ct,
            &ok.replace("\"f5c7e023-653c-11e7-b25c-023cca4497b9\"", "5")
        ))
        .is_err());
        assert!(parse(&req(&ct, "[]")).is_err());
    }
}
