//! `POST /v2/LeadManagement.svc/Lead.Create`: a new lead from
//! `[{"Attribute":"Phone","Value":"+91-8611795988"},...]` (`connector.md`, "Unknown callers").

use serde_json::{Map, Value};

use crate::answer::{error_body, new_message_id, Answer};
use crate::check::{invalid, is_guid, json_body, Rejection};
use crate::data::Data;
use crate::http::Request;
use crate::phone;
use crate::time::now_utc;

/// The ExceptionType LeadSquared answers (with a 500) when the lead already exists.
pub const DUPLICATE_EXCEPTION: &str = "MXDuplicateEntryException";

/// Standard lead attributes Lead.Create accepts; custom fields start with `mx_`. Inferred:
/// LeadSquared refuses attributes its lead schema does not have; this is the part of the
/// standard schema a telephony connector would set.
const KNOWN: [&str; 15] = [
    "FirstName",
    "LastName",
    "EmailAddress",
    "Phone",
    "Mobile",
    "Company",
    "ProspectStage",
    "OwnerId",
    "Source",
    "SourceCampaign",
    "SourceMedium",
    "Notes",
    "JobTitle",
    "Website",
    "Score",
];

/// Phone-type attributes: their value must be `+{cc}-{national}`.
const PHONE_FIELDS: [&str; 2] = ["Phone", "Mobile"];

/// An accepted create: the attributes in the order given.
pub(crate) struct NewLead {
    attributes: Vec<(String, String)>,
}

impl NewLead {
    fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn summary(&self) -> String {
        let phone = self.get("Phone").or(self.get("Mobile")).unwrap_or("-");
        format!(
            " {} attribute(s), phone {}",
            self.attributes.len(),
            crate::server::clean(phone, 64)
        )
    }
}

/// 400 unless the body is a non-empty JSON array of `{"Attribute":..,"Value":..}` objects
/// (exactly those two names, both strings), each attribute known and given once, phone
/// attributes as `+{cc}-{national}`, `OwnerId` a GUID.
pub(crate) fn parse(req: &Request) -> Result<NewLead, Rejection> {
    let Value::Array(items) = json_body(req)? else {
        return Err(invalid(
            "The request body must be a JSON array of {\"Attribute\":..,\"Value\":..} objects.",
        ));
    };
    if items.is_empty() {
        return Err(invalid("No lead attributes were given."));
    }
    let mut attributes: Vec<(String, String)> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(invalid(format!("Item {i} must be a JSON object.")));
        };
        let (name, value) = attribute_pair(i, &obj)?;
        if !KNOWN.contains(&name.as_str()) && !name.starts_with("mx_") {
            return Err(invalid(format!(
                "Attribute '{name}' does not exist in the lead schema."
            )));
        }
        if attributes.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!(
                "Attribute '{name}' is given more than once."
            )));
        }
        if PHONE_FIELDS.contains(&name.as_str()) && !phone::is_create_form(&value) {
            return Err(invalid(format!(
                "Attribute '{name}' must be a phone number in the form +<country code>-<number>, e.g. +91-8611795988; got '{}'.",
                crate::server::clean(&value, 64)
            )));
        }
        if name == "OwnerId" && !is_guid(&value) {
            return Err(invalid("Attribute 'OwnerId' must be a GUID."));
        }
        attributes.push((name, value));
    }
    Ok(NewLead { attributes })
}

fn attribute_pair(i: usize, obj: &Map<String, Value>) -> Result<(String, String), Rejection> {
    if let Some(other) = obj.keys().find(|k| *k != "Attribute" && *k != "Value") {
        return Err(invalid(format!(
            "Item {i}: unknown name '{other}' (only Attribute and Value)."
        )));
    }
    let name = match obj.get("Attribute") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            return Err(invalid(format!(
                "Item {i}: 'Attribute' must be a non-empty string."
            )))
        }
        None => return Err(invalid(format!("Item {i}: 'Attribute' is missing."))),
    };
    let value = match obj.get("Value") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(invalid(format!(
                "Item {i}: 'Value' of '{name}' must be a string."
            )))
        }
        None => {
            return Err(invalid(format!(
                "Item {i}: 'Value' of '{name}' is missing."
            )))
        }
    };
    Ok((name, value))
}

/// 500 `MXDuplicateEntryException` when a lead with a matching phone (the lookup's rule) or the
/// same e-mail address exists; else the lead is added and 200
/// `{"Status":"Success","Message":{"Id":"<ProspectID>","AffectedRows":1}}`.
pub(crate) fn perform(new: NewLead, data: &mut Data) -> Answer {
    for field in PHONE_FIELDS {
        let Some(p) = new.get(field) else { continue };
        if let Some(existing) = data.any_lead_by_phone(&phone::digits(p)) {
            let id = existing["ProspectID"].as_str().unwrap_or("").to_owned();
            return duplicate("A Lead with the same Phone Number already exists.", &id);
        }
    }
    if let Some(email) = new.get("EmailAddress").filter(|e| !e.is_empty()) {
        if let Some(existing) = data.lead_by_email(email) {
            let id = existing["ProspectID"].as_str().unwrap_or("").to_owned();
            return duplicate("A Lead with the same Email Address already exists.", &id);
        }
    }
    let id = new_message_id();
    let now = now_utc();
    let mut lead = Map::new();
    lead.insert("ProspectID".into(), Value::from(id.as_str()));
    lead.insert("ProspectStage".into(), Value::from("Prospect"));
    for (n, v) in new.attributes {
        lead.insert(n, Value::from(v));
    }
    lead.insert("CreatedOn".into(), Value::from(now.as_str()));
    lead.insert("ModifiedOn".into(), Value::from(now));
    if let Err(e) = data.add_lead(Value::Object(lead)) {
        // Only a GUID clash could get here; answer like a server fault rather than panic.
        let body = error_body("MXUnknownException", &e);
        return Answer::new(500, body);
    }
    let body = serde_json::json!({
        "Status": "Success",
        "Message": { "Id": id, "AffectedRows": 1 },
    });
    Answer::ok_json(&body).with_note(format!(" -> created {id}"))
}

/// Inferred message text; the ExceptionType and the 500 are what LeadSquared documents.
fn duplicate(message: &str, existing: &str) -> Answer {
    Answer::new(500, error_body(DUPLICATE_EXCEPTION, message))
        .with_note(format!(" -> duplicate of {existing}"))
}
