//! LeadSquared's "Get User by Email Id"
//! (`GET /v2/UserManagement.svc/User/Retrieve/ByEmailAddress?emailAddress=..`):
//! an agent given by e-mail becomes the UserId a popup or call log needs.

use serde_json::Value;

use super::answer::not_success_shape;
use crate::error::{Error, ErrorKind};
use crate::net::transport::{Method, Request, MAX_BODY_BYTES};

/// The API path.
pub const PATH: &str = "/v2/UserManagement.svc/User/Retrieve/ByEmailAddress";

/// The request for `query` (`[("emailAddress", email)]`).
pub(crate) fn request<'a>(query: &'a [(&'static str, &'a str); 1]) -> Request<'a> {
    Request {
        method: Method::Get,
        path: PATH,
        query,
        body: None,
        max_body: MAX_BODY_BYTES,
    }
}

/// Reads the answer, a JSON array of users: the first one's `UserId`, or
/// `None` for `[]` (no such active user). Any other shape is a Response error.
pub(crate) fn parse(status: u16, body: &[u8]) -> Result<Option<String>, Error> {
    let value: Value = serde_json::from_slice(body).map_err(|_| not_success_shape(status, body))?;
    let Value::Array(users) = value else {
        return Err(not_success_shape(status, body));
    };
    let Some(first) = users.first() else {
        return Ok(None);
    };
    match first.get("UserId") {
        Some(Value::String(id)) if super::fields::guid("UserId", id).is_ok() => {
            Ok(Some(id.clone()))
        }
        _ => Err(Error::new(
            ErrorKind::Response,
            format!("HTTP {status}: the user has no UserId GUID"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_user_id() {
        let body = br#"[{"UserId":"dd908e91-c5c9-11e5-8de3-22000aa5088d","EmailAddress":"a@b.co","StatusCode":0}]"#;
        assert_eq!(
            parse(200, body).unwrap().as_deref(),
            Some("dd908e91-c5c9-11e5-8de3-22000aa5088d")
        );
        assert_eq!(parse(200, b"[]").unwrap(), None);
        for bad in [
            "",
            "{}",
            "[1]",
            r#"[{"UserId":5}]"#,
            r#"[{"UserId":"not-a-guid"}]"#,
            "<html>",
        ] {
            assert_eq!(
                parse(200, bad.as_bytes()).unwrap_err().kind(),
                ErrorKind::Response,
                "{bad}"
            );
        }
    }
}
