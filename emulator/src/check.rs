//! The wire checks of a ShowAgentPopup request: route (404), keys (401), content type and body
//! (400). The rate limit (between 401 and 400) lives in [`crate::ratelimit`]; the order is
//! applied by the server.

use serde_json::{Map, Value};

use crate::http::Request;

/// The only route that exists.
pub const POPUP_PATH: &str = "/v2/Telephony.svc/ShowAgentPopup";

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

/// An error answer: status, ExceptionType, ExceptionMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: u16,
    pub(crate) exception_type: &'static str,
    pub(crate) message: String,
    pub(crate) retry_after: Option<String>,
}

impl Rejection {
    pub(crate) fn new(
        status: u16,
        exception_type: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Rejection {
            status,
            exception_type,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The ExceptionType the emulator uses for a status it answers on its own.
pub(crate) fn exception_type(status: u16) -> &'static str {
    match status {
        400 => "MXInvalidInputException",
        401 => "MXUnAuthorizedAccessException",
        403 | 429 => "MXAPIRateLimitExceededException",
        404 => "MXAPINotFoundException",
        413 => "MXRequestTooLargeException",
        431 => "MXRequestTooLargeException",
        501 => "MXNotImplementedException",
        _ => "MXUnknownException",
    }
}

/// The fields of an accepted popup that the console line shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub(crate) source: String,
    pub(crate) destination: String,
    pub(crate) direction: String,
    pub(crate) lead_id: String,
}

/// 404 unless the request is `POST` to [`POPUP_PATH`] (exact, case-sensitive).
pub(crate) fn route(req: &Request) -> Result<(), Rejection> {
    if req.method == "POST" && req.path == POPUP_PATH {
        Ok(())
    } else {
        Err(Rejection::new(
            404,
            exception_type(404),
            "The API could not be found. Please check the API signature.",
        ))
    }
}

/// 401 unless the access key and the secret key both match.
///
/// Each key is looked for in the query (`accessKey` / `secretKey`, names case-insensitive,
/// values percent-decoded with `+` as space) and in the headers `x-LSQ-AccessKey` /
/// `x-LSQ-SecretKey` (names case-insensitive); a key matches when either place carries it.
pub(crate) fn authenticate(
    req: &Request,
    access_key: &str,
    secret_key: &str,
) -> Result<(), Rejection> {
    let mut q_access = None;
    let mut q_secret = None;
    if !req.query.is_empty() {
        for pair in req.query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if q_access.is_none() && name.eq_ignore_ascii_case("accessKey") {
                q_access = Some(percent_decode(value));
            } else if q_secret.is_none() && name.eq_ignore_ascii_case("secretKey") {
                q_secret = Some(percent_decode(value));
            }
        }
    }
    let h_access = req.header("x-LSQ-AccessKey");
    let h_secret = req.header("x-LSQ-SecretKey");
    let given = |q: &Option<Option<String>>, h: Option<&str>| q.is_some() || h.is_some();
    if !given(&q_access, h_access) || !given(&q_secret, h_secret) {
        return Err(Rejection::new(
            401,
            exception_type(401),
            "AccessKey and SecretKey are required. Pass them as the accessKey and secretKey query parameters.",
        ));
    }
    let matches = |q: &Option<Option<String>>, h: Option<&str>, want: &str| {
        q.as_ref().is_some_and(|v| v.as_deref() == Some(want)) || h == Some(want)
    };
    if matches(&q_access, h_access, access_key) && matches(&q_secret, h_secret, secret_key) {
        Ok(())
    } else {
        Err(Rejection::new(
            401,
            exception_type(401),
            "Invalid AccessKey or SecretKey. Check your AccessKey and SecretKey.",
        ))
    }
}

/// Percent-decodes a query value, `+` as space; `None` for a bad escape or bad UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// 400 unless the Content-Type is `application/json` (parameters allowed) and the body is a
/// JSON object with exactly the documented names and types.
pub(crate) fn body(req: &Request) -> Result<Summary, Rejection> {
    let invalid = |m: String| Rejection::new(400, exception_type(400), m);
    let media_type = req
        .header("content-type")
        .map(|v| v.split(';').next().unwrap_or("").trim());
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        return Err(invalid(
            "The request Content-Type must be application/json.".into(),
        ));
    }
    let value: Value = serde_json::from_slice(&req.body)
        .map_err(|e| invalid(format!("The request body is not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(invalid("The request body must be a JSON object.".into()));
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
    let direction = text(&obj, "Direction");
    if direction != "Inbound" && direction != "Outbound" {
        return Err(invalid(
            "Parameter 'Direction' must be 'Inbound' or 'Outbound'.".into(),
        ));
    }
    Ok(Summary {
        source: text(&obj, "SourceNumber").to_owned(),
        destination: text(&obj, "DestinationNumber").to_owned(),
        direction: direction.to_owned(),
        lead_id: text(&obj, "LeadId").to_owned(),
    })
}

fn text<'a>(obj: &'a Map<String, Value>, name: &str) -> &'a str {
    obj.get(name).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn req(query: &str, headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: POPUP_PATH.into(),
            query: query.into(),
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
    fn decodes() {
        assert_eq!(percent_decode("u%24r+a%2Bb").as_deref(), Some("u$r a+b"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn auth_sources() {
        assert!(authenticate(&req("accessKey=a&secretKey=s", &[], ""), "a", "s").is_ok());
        assert!(authenticate(&req("AccessKey=a&SECRETKEY=s", &[], ""), "a", "s").is_ok());
        let h = [("X-Lsq-AccessKey", "a"), ("x-lsq-secretkey", "s")];
        assert!(authenticate(&req("", &h, ""), "a", "s").is_ok());
        assert!(authenticate(&req("accessKey=a", &[], ""), "a", "s").is_err());
        assert!(authenticate(&req("accessKey=a&secretKey=x", &[], ""), "a", "s").is_err());
    }

    #[test]
    fn body_rules() {
        let ct = [("Content-Type", "Application/JSON; charset=utf-8")];
        let ok = r#"{"SourceNumber":"1","DestinationNumber":"2","DisplayNumber":"3","Direction":"Outbound","CallSessionId":"c","LeadId":"l","UserId":"u"}"#;
        assert_eq!(body(&req("", &ct, ok)).unwrap().direction, "Outbound");
        let with_tag = ok.replace("}", r#","Tag":"t"}"#);
        assert!(body(&req("", &ct, &with_tag)).is_ok());
        let tag_null = ok.replace("}", r#","Tag":null}"#);
        assert!(body(&req("", &ct, &tag_null)).is_err());
        assert!(body(&req("", &[("Content-Type", "text/plain")], ok)).is_err());
        assert!(body(&req("", &[], ok)).is_err());
        assert!(body(&req("", &ct, &ok.replace("Outbound", "outbound"))).is_err());
        assert!(body(&req("", &ct, &ok.replace("\"l\"", "5"))).is_err());
        assert!(body(&req("", &ct, "[]")).is_err());
    }
}
