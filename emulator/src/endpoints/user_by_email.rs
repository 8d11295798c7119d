//! `GET /v2/UserManagement.svc/User/Retrieve/ByEmailAddress?emailAddress={email}`: the active
//! users with that address (`connector.md`, "An agent is ringing").

use serde_json::Value;

use crate::answer::Answer;
use crate::check::{invalid, query_param, Rejection};
use crate::data::Data;
use crate::http::Request;

/// The longest e-mail address (RFC 5321 path limit), as liblsq validates it.
const MAX_EMAIL: usize = 254;

/// An accepted lookup: the address asked for.
pub(crate) struct Query {
    email: String,
}

impl Query {
    pub(crate) fn summary(&self) -> String {
        format!(" emailAddress {}", crate::server::clean(&self.email, 64))
    }
}

/// 400 unless `emailAddress` is given and looks like an e-mail address: `local@domain`, both
/// parts non-empty, one `@`, no spaces or control characters, at most 254 bytes. Inferred:
/// LeadSquared answers a malformed address with an MXInvalidInputException.
pub(crate) fn parse(req: &Request) -> Result<Query, Rejection> {
    let email = match query_param(req, "emailAddress") {
        None => return Err(invalid("Parameter 'emailAddress' is required.")),
        Some(Err(())) => {
            return Err(invalid(
                "Parameter 'emailAddress' is not correctly encoded.",
            ))
        }
        Some(Ok(e)) => e,
    };
    if email.is_empty() {
        return Err(invalid("Parameter 'emailAddress' is required."));
    }
    if !is_email(&email) {
        return Err(invalid(
            "Parameter 'emailAddress' is not a valid e-mail address.",
        ));
    }
    Ok(Query { email })
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= MAX_EMAIL
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// 200 with the JSON array of active users with this address (case-insensitive); `[]` when none.
pub(crate) fn perform(q: &Query, data: &Data) -> Answer {
    let users = data.active_users_by_email(&q.email);
    let note = format!(" -> {} user(s)", users.len());
    Answer::ok_json(&Value::Array(users)).with_note(note)
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails() {
        assert!(super::is_email("a@b"));
        assert!(super::is_email("Priya.Sharma@Example.com"));
        for bad in ["", "a", "@b", "a@", "a b@c", "a@b@c", "a@b\u{7}"] {
            assert!(!super::is_email(bad), "{bad}");
        }
        assert!(!super::is_email(&format!("{}@b", "a".repeat(253))));
    }
}
