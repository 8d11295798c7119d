//! The wire checks every endpoint shares: keys (401), the JSON content type and body, query
//! parameters, and the error answer they produce. The route (404) is in [`crate::endpoint`],
//! the rate limit (between 401 and 400) in [`crate::ratelimit`], each endpoint's own body
//! rules in [`crate::endpoints`]; the order is applied by the server.

use serde_json::Value;

use crate::http::Request;

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

/// A 400 `MXInvalidInputException` with this message.
pub(crate) fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::new(400, exception_type(400), message)
}

/// 400 unless the Content-Type is `application/json` (parameters allowed) and the body is JSON.
pub(crate) fn json_body(req: &Request) -> Result<Value, Rejection> {
    let media_type = req
        .header("content-type")
        .map(|v| v.split(';').next().unwrap_or("").trim());
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        return Err(invalid(
            "The request Content-Type must be application/json.",
        ));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| invalid(format!("The request body is not valid JSON: {e}")))
}

/// The first query parameter with this name (case-insensitive), percent-decoded: `None` when
/// absent, `Some(Err(()))` when its value cannot be decoded.
pub(crate) fn query_param(req: &Request, name: &str) -> Option<Result<String, ()>> {
    if req.query.is_empty() {
        return None;
    }
    req.query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        n.eq_ignore_ascii_case(name)
            .then(|| percent_decode(v).ok_or(()))
    })
}

/// A GUID in its 8-4-4-4-12 hexadecimal form (either case).
pub(crate) fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn req(query: &str, headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: crate::endpoint::POPUP_PATH.into(),
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
    fn query_params_and_guids() {
        let r = req("accessKey=a&Phone=91%2086&x", &[], "");
        assert_eq!(query_param(&r, "phone"), Some(Ok("91 86".into())));
        assert_eq!(query_param(&r, "x"), Some(Ok(String::new())));
        assert_eq!(query_param(&r, "nope"), None);
        assert_eq!(
            query_param(&req("phone=%zz", &[], ""), "phone"),
            Some(Err(()))
        );
        assert!(is_guid("f5c7e023-653c-11e7-B25C-023cca4497b9"));
        assert!(!is_guid("f5c7e023-653c-11e7-b25c-023cca4497b"));
        assert!(!is_guid("f5c7e023653c11e7b25c023cca4497b9"));
    }
}
