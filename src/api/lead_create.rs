//! LeadSquared's "Create a Lead" (`POST /v2/LeadManagement.svc/Lead.Create`),
//! used for an unknown caller with `unknown_caller=create`: the body (the
//! phone as `+{cc}-{national}` and the Source) and the new LeadId read from
//! the answer.

use serde::Deserialize;

use super::answer::not_success_shape;
use super::json::field;
use crate::error::Error;
use crate::net::transport::{Method, Request, MAX_BODY_BYTES};

/// The API path.
pub const PATH: &str = "/v2/LeadManagement.svc/Lead.Create";

/// The ExceptionType of LeadSquared's refusal to create a lead that exists
/// (another PBX created it first): the caller looks it up once more.
pub const DUPLICATE_EXCEPTION: &str = "MXDuplicateEntryException";

/// The body: `[{"Attribute":"Phone","Value":phone},{"Attribute":"Source","Value":source}]`.
pub(crate) fn body(phone: &str, source: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + phone.len() + source.len());
    field(&mut out, "[{\"Attribute\":\"Phone\",\"Value\":", phone);
    field(&mut out, "},{\"Attribute\":\"Source\",\"Value\":", source);
    out.extend_from_slice(b"}]");
    out
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
struct Created {
    status: String,
    message: CreatedMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreatedMessage {
    id: String,
}

/// Reads `{"Status":"Success","Message":{"Id":"<LeadId>",..}}`.
pub(crate) fn parse(status: u16, body: &[u8]) -> Result<String, Error> {
    match serde_json::from_slice::<Created>(body) {
        Ok(c) if c.status == "Success" && !c.message.id.is_empty() => Ok(c.message.id),
        _ => Err(not_success_shape(status, body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn body_is_the_documented_attribute_list() {
        let text = String::from_utf8(body("+91-8611795988", "Phone Call")).unwrap();
        assert_eq!(
            text,
            r#"[{"Attribute":"Phone","Value":"+91-8611795988"},{"Attribute":"Source","Value":"Phone Call"}]"#
        );
        let parsed: serde_json::Value =
            serde_json::from_slice(&body("+1-4155550134", "Say \"hi\"")).unwrap();
        assert_eq!(parsed[1]["Value"], "Say \"hi\"");
    }

    #[test]
    fn reads_the_new_lead_id() {
        assert_eq!(
            parse(
                200,
                br#"{"Status":"Success","Message":{"Id":"3f9c","AffectedRows":1}}"#
            )
            .unwrap(),
            "3f9c"
        );
        for bad in [
            "",
            "[]",
            r#"{"Status":"Success","Message":{"Id":""}}"#,
            r#"{"Status":"Error"}"#,
        ] {
            assert_eq!(
                parse(200, bad.as_bytes()).unwrap_err().kind(),
                ErrorKind::Response,
                "{bad}"
            );
        }
    }
}
