//! `GET /v2/LeadManagement.svc/RetrieveLeadByPhoneNumber?phone={digits}`: the leads whose
//! Phone or Mobile matches (`connector.md`, "Finding a lead").

use serde_json::Value;

use crate::answer::Answer;
use crate::check::{invalid, query_param, Rejection};
use crate::data::Data;
use crate::http::Request;

/// Longest query accepted. Inferred: E.164 numbers have at most 15 digits; with an
/// international prefix (`00`) and slack, 20 is already generous.
const MAX_DIGITS: usize = 20;

/// An accepted lookup: the digits asked for.
pub(crate) struct Query {
    digits: String,
}

impl Query {
    pub(crate) fn summary(&self) -> String {
        format!(" phone {}", self.digits)
    }
}

/// 400 unless `phone` is given once with digits only: LeadSquared wants the number "with or
/// without the country code, without spaces, hyphens or any other character".
pub(crate) fn parse(req: &Request) -> Result<Query, Rejection> {
    let digits = match query_param(req, "phone") {
        None => return Err(invalid("Parameter 'phone' is required.")),
        Some(Err(())) => return Err(invalid("Parameter 'phone' is not correctly encoded.")),
        Some(Ok(p)) => p,
    };
    if digits.is_empty() {
        return Err(invalid("Parameter 'phone' is required."));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "Parameter 'phone' must contain digits only: no '+', spaces, hyphens or any other character.",
        ));
    }
    if digits.len() > MAX_DIGITS {
        return Err(invalid(format!(
            "Parameter 'phone' is too long (at most {MAX_DIGITS} digits)."
        )));
    }
    Ok(Query { digits })
}

/// 200 with the JSON array of matching leads, most recent first; `[]` when none.
pub(crate) fn perform(q: &Query, data: &Data) -> Answer {
    let leads = data.leads_by_phone(&q.digits);
    let note = format!(" -> {} lead(s)", leads.len());
    Answer::ok_json(&Value::Array(leads)).with_note(note)
}
