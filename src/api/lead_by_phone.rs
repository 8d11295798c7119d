//! LeadSquared's "Get Lead by Phone Number"
//! (`GET /v2/LeadManagement.svc/RetrieveLeadByPhoneNumber?phone={digits}`):
//! the query, and the lead read from the answer, a JSON array of lead
//! objects (`[]`: no such lead).

use serde_json::Value;

use super::answer::not_success_shape;
use crate::error::{Error, ErrorKind};
use crate::net::transport::{Method, Request};

/// The API path.
pub const PATH: &str = "/v2/LeadManagement.svc/RetrieveLeadByPhoneNumber";

/// The largest answer accepted: a lead carries dozens of fields, and a
/// number may match several leads; a megabyte is far past any real answer.
pub const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// The leads read from one answer at most: with several, the first is taken
/// (LeadSquared puts the one with the most recent activity first), so a huge
/// array is refused rather than walked.
const MAX_LEADS: usize = 1000;

/// A lead, as the C API's `lsq_lead` carries it. A field LeadSquared left
/// out or sent as `null` is "".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lead {
    /// `ProspectID`: the LeadId.
    pub lead_id: String,
    /// `OwnerId`: the lead owner's UserId.
    pub owner_id: String,
    /// `FirstName`.
    pub first_name: String,
    /// `LastName`.
    pub last_name: String,
    /// `EmailAddress`.
    pub email: String,
    /// `Phone`, else `Mobile`.
    pub phone: String,
    /// `Company`.
    pub company: String,
    /// `ProspectStage`.
    pub stage: String,
}

/// The request for `digits` (normalised: digits only).
pub(crate) fn request<'a>(query: &'a [(&'static str, &'a str); 1]) -> Request<'a> {
    Request {
        method: Method::Get,
        path: PATH,
        query,
        body: None,
        max_body: MAX_ANSWER_BYTES,
    }
}

/// Reads the answer: `Some(lead)` for the first lead, `None` for `[]`.
/// Any other shape (not an array, an element that is not an object, a
/// field of the wrong type, no `ProspectID`) is a Response error.
pub(crate) fn parse(status: u16, body: &[u8]) -> Result<Option<Lead>, Error> {
    let value: Value = serde_json::from_slice(body).map_err(|_| not_success_shape(status, body))?;
    let Value::Array(leads) = value else {
        return Err(not_success_shape(status, body));
    };
    if leads.len() > MAX_LEADS {
        return Err(Error::new(
            ErrorKind::Response,
            format!(
                "HTTP {status}: {} leads for one number (at most {MAX_LEADS} are read): refused",
                leads.len()
            ),
        ));
    }
    let Some(first) = leads.first() else {
        return Ok(None);
    };
    let text = |name: &str| -> Result<String, Error> {
        match first.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Error::new(
                ErrorKind::Response,
                format!("HTTP {status}: the lead's {name} is not a string"),
            )),
        }
    };
    if !first.is_object() {
        return Err(Error::new(
            ErrorKind::Response,
            format!("HTTP {status}: the answer's first element is not a lead object"),
        ));
    }
    let lead_id = text("ProspectID")?;
    if lead_id.is_empty() {
        return Err(Error::new(
            ErrorKind::Response,
            format!("HTTP {status}: the lead has no ProspectID"),
        ));
    }
    let phone = match text("Phone")? {
        phone if phone.is_empty() => text("Mobile")?,
        phone => phone,
    };
    Ok(Some(Lead {
        lead_id,
        owner_id: text("OwnerId")?,
        first_name: text("FirstName")?,
        last_name: text("LastName")?,
        email: text("EmailAddress")?,
        phone,
        company: text("Company")?,
        stage: text("ProspectStage")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(body: &str) -> ErrorKind {
        parse(200, body.as_bytes()).unwrap_err().kind()
    }

    #[test]
    fn reads_the_first_lead_with_nulls_as_empty_and_mobile_for_a_missing_phone() {
        let body = r#"[{"ProspectID":"f5c7e023-653c-11e7-b25c-023cca4497b9","FirstName":"Asha","LastName":null,
            "EmailAddress":"asha@example.com","Phone":null,"Mobile":"+91-8611795988","Company":"Acme",
            "ProspectStage":"Prospect","OwnerId":"dd908e91-c5c9-11e5-8de3-22000aa5088d","Score":12,"mx_City":null},
            {"ProspectID":"second"}]"#;
        let lead = parse(200, body.as_bytes()).unwrap().unwrap();
        assert_eq!(lead.lead_id, "f5c7e023-653c-11e7-b25c-023cca4497b9");
        assert_eq!(
            (lead.first_name.as_str(), lead.last_name.as_str()),
            ("Asha", "")
        );
        assert_eq!(lead.phone, "+91-8611795988");
        assert_eq!(lead.owner_id, "dd908e91-c5c9-11e5-8de3-22000aa5088d");
        assert_eq!(
            (lead.company.as_str(), lead.stage.as_str()),
            ("Acme", "Prospect")
        );
        assert_eq!(parse(200, b"[]").unwrap(), None);
        assert_eq!(parse(200, b" [ ] ").unwrap(), None);
    }

    #[test]
    fn hostile_answers_are_response_errors() {
        for body in [
            "",
            "<html><body>Service Unavailable</body></html>",
            "{}",
            r#"{"Status":"Success"}"#,
            "null",
            "42",
            r#""text""#,
            "[1]",
            "[null]",
            r#"[{"FirstName":"no id"}]"#,
            r#"[{"ProspectID":""}]"#,
            r#"[{"ProspectID":7}]"#,
            r#"[{"ProspectID":"x","FirstName":["a"]}]"#,
            r#"[{"ProspectID":"x","Phone":{"n":1}}]"#,
            "[{",
        ] {
            assert_eq!(kind(body), ErrorKind::Response, "{body}");
        }
        let huge = format!(
            "[{}]",
            vec![r#"{"ProspectID":"x"}"#; MAX_LEADS + 1].join(",")
        );
        assert!(parse(200, huge.as_bytes())
            .unwrap_err()
            .message()
            .contains("1001 leads"));
    }
}
