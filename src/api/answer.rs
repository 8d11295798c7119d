//! Reads any endpoint's answer: its HTTP status, LeadSquared's error body
//! (and a rate limit inside a 200), whether the attempt may be repeated;
//! the endpoint reads its own success shape.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::net::transport::HttpAnswer;
use crate::sched::ratelimit::RateLimit;

/// What to do after an answer.
#[derive(Debug)]
pub(crate) enum Verdict<T> {
    /// The request succeeded, with what the endpoint read from the answer.
    Done(T),
    /// The server's rate limit: wait, maybe learn, try again.
    RateLimited {
        /// The reason, for when no retry is possible.
        error: Error,
        /// How long the server asked us to wait, if it said and it made sense.
        retry_after: Option<Duration>,
        /// The limit the server named in its message, if it named one.
        server_limit: Option<RateLimit>,
    },
    /// A failure worth another attempt (502/503/504).
    Retryable(Error),
    /// A failure that another attempt would repeat.
    Final(Error),
}

/// LeadSquared's error body.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody {
    exception_type: Option<String>,
    exception_message: Option<String>,
}

/// The ExceptionType LeadSquared puts in a rate-limit answer, which may come
/// with HTTP 200 as well as 429.
const RATE_LIMIT_EXCEPTION: &str = "MXAPIRateLimitExceededException";

/// Judges one answer: HTTP status first, then a rate limit inside a 200
/// answer, then the endpoint's own reading of a success body (`parse`).
pub(crate) fn classify<T>(
    answer: HttpAnswer,
    parse: impl FnOnce(u16, &[u8]) -> Result<T, Error>,
) -> Verdict<T> {
    let status = answer.status;
    let answer_host = std::sync::Arc::clone(&answer.host);
    if (200..300).contains(&status) {
        let body = match answer.body {
            Ok(body) => body,
            Err(e) => return Verdict::Final(e),
        };
        let error = error_body(&body);
        let is_limit = error
            .as_ref()
            .is_some_and(|e| e.exception_type.as_deref() == Some(RATE_LIMIT_EXCEPTION));
        if is_limit {
            let says = error.and_then(|e| e.exception_message);
            return rate_limited(status, says, answer.retry_after.as_deref());
        }
        return match parse(status, &body) {
            Ok(done) => Verdict::Done(done),
            Err(e) => Verdict::Final(e),
        };
    }
    let server_says = answer
        .body
        .ok()
        .as_deref()
        .and_then(error_body)
        .and_then(|e| e.exception_message)
        .filter(|m| !m.trim().is_empty());
    let limit_named = server_says
        .as_deref()
        .and_then(RateLimit::from_server_message);
    if status == 429 || (status == 403 && limit_named.is_some()) {
        return rate_limited(status, server_says, answer.retry_after.as_deref());
    }
    let reason = |default: String| server_says.clone().unwrap_or(default);
    let (kind, default) = match status {
        400 => (
            ErrorKind::BadRequest,
            "HTTP 400 Bad Request: the server refused the request".to_string(),
        ),
        // The host is named (as connect failures name it): a 401 is as
        // often the wrong regional host as wrong keys.
        401 => {
            let host = &answer_host;
            return Verdict::Final(Error::new(
                ErrorKind::Unauthorized,
                match &server_says {
                    Some(says) => format!("HTTP 401 Unauthorized from {host}: {says}"),
                    None => format!("HTTP 401 Unauthorized from {host}: check the access key, the secret key and the regional host"),
                },
            ));
        }
        404 => (
            ErrorKind::NotFound,
            "HTTP 404 Not Found: check the host (the API path is fixed)".to_string(),
        ),
        300..=399 => (
            ErrorKind::Http,
            format!(
                "HTTP {status}: a redirect, never followed (it would carry the keys elsewhere)"
            ),
        ),
        500..=599 => (ErrorKind::Server, format!("HTTP {status}: server error")),
        _ => (ErrorKind::Http, format!("HTTP {status}: unexpected status")),
    };
    let error = Error::new(kind, reason(default));
    if crate::retry::within_request(kind, status) {
        Verdict::Retryable(error)
    } else {
        Verdict::Final(error)
    }
}

fn rate_limited<T>(status: u16, says: Option<String>, retry_after: Option<&str>) -> Verdict<T> {
    let server_limit = says.as_deref().and_then(RateLimit::from_server_message);
    let reason = says
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| format!("HTTP {status}: API calls exceeded the server's rate limit"));
    Verdict::RateLimited {
        error: Error::new(ErrorKind::RateLimited, reason),
        retry_after: retry_after.and_then(parse_retry_after),
        server_limit,
    }
}

/// The ExceptionType of an error body, if it names one.
pub(crate) fn exception_type(body: &[u8]) -> Option<String> {
    error_body(body)?.exception_type.filter(|t| !t.is_empty())
}

fn error_body(body: &[u8]) -> Option<ErrorBody> {
    serde_json::from_slice(body).ok()
}

/// The error for a 2xx answer whose body is not the endpoint's success
/// shape, with the server's ExceptionMessage when it gave one.
pub(crate) fn not_success_shape(status: u16, body: &[u8]) -> Error {
    let detail = error_body(body)
        .and_then(|e| e.exception_message)
        .filter(|m| !m.trim().is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    Error::new(
        ErrorKind::Response,
        format!("HTTP {status} but the body is not the documented success shape{detail}"),
    )
}

/// Retry-After as seconds or an HTTP date; `None` when absent or absurd
/// (negative, unparsable). A huge value is returned as is: the caller
/// bounds it by the popup's deadline.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.len() <= 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// For the fuzz targets (`fuzz/`), which cannot reach this crate-private
/// module: judges an answer as a popup's attempt does, checks Retry-After
/// and the limit parser, and says whether it counted as a success.
#[doc(hidden)]
pub fn fuzz_judge(status: u16, body: &[u8], retry_after: Option<&str>) -> bool {
    if let Some(value) = retry_after {
        let _ = parse_retry_after(value);
    }
    let _ = RateLimit::from_server_message(&String::from_utf8_lossy(body));
    let answer = HttpAnswer {
        status,
        body: Ok(body.to_vec()),
        retry_after: retry_after.map(str::to_string),
        host: "fuzz.invalid:443".into(),
    };
    matches!(
        classify(answer, crate::api::popup::parse_success),
        Verdict::Done(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str, retry_after: Option<&str>) -> HttpAnswer {
        HttpAnswer {
            status,
            body: Ok(body.as_bytes().to_vec()),
            retry_after: retry_after.map(str::to_string),
            host: "api.example:443".into(),
        }
    }

    fn judge(a: HttpAnswer) -> Verdict<crate::api::popup::Delivered> {
        classify(a, crate::api::popup::parse_success)
    }

    fn final_kind(v: Verdict<crate::api::popup::Delivered>) -> (ErrorKind, String) {
        match v {
            Verdict::Final(e) => (e.kind(), e.message().to_string()),
            other => panic!("not final: {other:?}"),
        }
    }

    #[test]
    fn success_shape() {
        let v = judge(answer(
            200,
            r#"{"Status":"Success","Message":{"Id":"b8c4","Message":"Message broadcasted successfully"}}"#,
            None,
        ));
        match v {
            Verdict::Done(d) => assert_eq!(
                (d.message_id.as_str(), d.message.as_str()),
                ("b8c4", "Message broadcasted successfully")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_shapes_are_response_errors() {
        for body in [
            "",
            "<html>",
            "[]",
            r#"{"Status":"Success"}"#,
            r#"{"Status":"Success","Message":{"Id":5,"Message":"x"}}"#,
            r#"{"Status":"Error","ExceptionMessage":"Lead not found"}"#,
        ] {
            let (kind, msg) = final_kind(judge(answer(200, body, None)));
            assert_eq!(kind, ErrorKind::Response, "{body}");
            if body.contains("Lead not found") {
                assert!(msg.ends_with(": Lead not found"));
            }
        }
    }

    #[test]
    fn a_401_names_the_host_that_refused_the_keys() {
        let (kind, msg) = final_kind(judge(answer(401, "", None)));
        assert_eq!(kind, ErrorKind::Unauthorized);
        assert!(msg.contains("from api.example:443"), "{msg}");
        let says = r#"{"Status":"Error","ExceptionMessage":"Invalid access key"}"#;
        let (_, msg) = final_kind(judge(answer(401, says, None)));
        assert_eq!(
            msg,
            "HTTP 401 Unauthorized from api.example:443: Invalid access key"
        );
    }

    #[test]
    fn statuses_map_to_the_contract_and_carry_the_exception_message() {
        let err = r#"{"Status":"Error","ExceptionType":"MXInvalidInputException","ExceptionMessage":"Invalid LeadId"}"#;
        assert_eq!(
            final_kind(judge(answer(400, err, None))),
            (ErrorKind::BadRequest, "Invalid LeadId".into())
        );
        assert_eq!(
            final_kind(judge(answer(401, "", None))).0,
            ErrorKind::Unauthorized
        );
        assert_eq!(
            final_kind(judge(answer(404, "nope", None))).0,
            ErrorKind::NotFound
        );
        assert_eq!(
            final_kind(judge(answer(500, err, None))).0,
            ErrorKind::Server
        );
        assert_eq!(final_kind(judge(answer(302, "", None))).0, ErrorKind::Http);
        assert_eq!(
            final_kind(judge(answer(
                403,
                r#"{"ExceptionMessage":"Forbidden"}"#,
                None
            )))
            .0,
            ErrorKind::Http
        );
        assert_eq!(final_kind(judge(answer(418, "", None))).0, ErrorKind::Http);
        assert!(
            matches!(judge(answer(503, "", None)), Verdict::Retryable(e) if e.kind() == ErrorKind::Server)
        );
    }

    #[test]
    fn rate_limits_429_and_403() {
        let msg = r#"{"Status":"Error","ExceptionMessage":"API calls exceeded the limit of 3 in 1 second(s)"}"#;
        for status in [429, 403] {
            match judge(answer(status, msg, Some("2"))) {
                Verdict::RateLimited {
                    error,
                    retry_after,
                    server_limit,
                } => {
                    assert_eq!(error.kind(), ErrorKind::RateLimited);
                    assert_eq!(retry_after, Some(Duration::from_secs(2)));
                    assert_eq!(server_limit, RateLimit::new(3, Duration::from_secs(1)));
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            judge(answer(429, "", None)),
            Verdict::RateLimited {
                server_limit: None,
                retry_after: None,
                ..
            }
        ));
    }

    /// LeadSquared also answers a rate limit with HTTP 200 and this body.
    #[test]
    fn a_rate_limit_inside_a_200_is_a_rate_limit() {
        let body = r#"{"Status":"Error","ExceptionType":"MXAPIRateLimitExceededException","ExceptionMessage":"API calls exceeded the limit of 2 in 5 second(s)"}"#;
        match judge(answer(200, body, Some("3"))) {
            Verdict::RateLimited {
                error,
                retry_after,
                server_limit,
            } => {
                assert_eq!(error.kind(), ErrorKind::RateLimited);
                assert!(error.message().contains("limit of 2 in 5"));
                assert_eq!(retry_after, Some(Duration::from_secs(3)));
                assert_eq!(server_limit, RateLimit::new(2, Duration::from_secs(5)));
            }
            other => panic!("{other:?}"),
        }
        // Another exception inside a 200 is still a malformed answer.
        let other = r#"{"Status":"Error","ExceptionType":"MXInvalidInputException","ExceptionMessage":"x"}"#;
        assert_eq!(
            final_kind(judge(answer(200, other, None))).0,
            ErrorKind::Response
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("99999999999999999999"), None);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        assert!(parse_retry_after(&future).unwrap() > Duration::from_secs(3500));
    }
}
