//! Reads an answer: the documented success shape, or why not, and whether
//! the attempt may be repeated.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::ratelimit::RateLimit;
use crate::transport::HttpAnswer;

/// A popup the server accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// `Message.Id`.
    pub message_id: String,
    /// `Message.Message`.
    pub message: String,
}

/// What to do after an answer.
#[derive(Debug)]
pub enum Verdict {
    /// Shown.
    Delivered(Delivered),
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

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SuccessBody {
    status: String,
    message: MessageBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageBody {
    id: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody {
    exception_message: Option<String>,
}

/// Judges one answer.
pub fn classify(answer: HttpAnswer) -> Verdict {
    let status = answer.status;
    if (200..300).contains(&status) {
        return match answer.body {
            Ok(body) => parse_success(status, &body),
            Err(e) => Verdict::Final(e),
        };
    }
    let server_says = answer.body.ok().as_deref().and_then(exception_message);
    let reason = |default: String| server_says.clone().unwrap_or(default);
    let limit_named = server_says
        .as_deref()
        .and_then(RateLimit::from_server_message);
    let is_limit = status == 429 || (status == 403 && limit_named.is_some());
    if is_limit {
        return Verdict::RateLimited {
            error: Error::new(
                ErrorKind::RateLimited,
                reason(format!(
                    "HTTP {status}: API calls exceeded the server's rate limit"
                )),
            ),
            retry_after: answer.retry_after.as_deref().and_then(parse_retry_after),
            server_limit: limit_named,
        };
    }
    let (kind, default) = match status {
        400 => (
            ErrorKind::BadRequest,
            "HTTP 400 Bad Request: the server refused the request body".to_string(),
        ),
        401 => (
            ErrorKind::Unauthorized,
            "HTTP 401 Unauthorized: check the access key, the secret key and the regional host"
                .to_string(),
        ),
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
    if matches!(status, 502..=504) {
        Verdict::Retryable(error)
    } else {
        Verdict::Final(error)
    }
}

fn parse_success(status: u16, body: &[u8]) -> Verdict {
    match serde_json::from_slice::<SuccessBody>(body) {
        Ok(ok) if ok.status == "Success" => Verdict::Delivered(Delivered {
            message_id: ok.message.id,
            message: ok.message.message,
        }),
        _ => {
            let detail = exception_message(body)
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            Verdict::Final(Error::new(
                ErrorKind::Response,
                format!("HTTP {status} but the body is not the documented success shape{detail}"),
            ))
        }
    }
}

/// The ExceptionMessage of an error body, if the body has one.
fn exception_message(body: &[u8]) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    parsed.exception_message.filter(|m| !m.trim().is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str, retry_after: Option<&str>) -> HttpAnswer {
        HttpAnswer {
            status,
            body: Ok(body.as_bytes().to_vec()),
            retry_after: retry_after.map(str::to_string),
        }
    }

    fn final_kind(v: Verdict) -> (ErrorKind, String) {
        match v {
            Verdict::Final(e) => (e.kind(), e.message().to_string()),
            other => panic!("not final: {other:?}"),
        }
    }

    #[test]
    fn success_shape() {
        let v = classify(answer(
            200,
            r#"{"Status":"Success","Message":{"Id":"b8c4","Message":"Message broadcasted successfully"}}"#,
            None,
        ));
        match v {
            Verdict::Delivered(d) => assert_eq!(
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
            let (kind, msg) = final_kind(classify(answer(200, body, None)));
            assert_eq!(kind, ErrorKind::Response, "{body}");
            if body.contains("Lead not found") {
                assert!(msg.ends_with(": Lead not found"));
            }
        }
    }

    #[test]
    fn statuses_map_to_the_contract_and_carry_the_exception_message() {
        let err = r#"{"Status":"Error","ExceptionType":"MXInvalidInputException","ExceptionMessage":"Invalid LeadId"}"#;
        assert_eq!(
            final_kind(classify(answer(400, err, None))),
            (ErrorKind::BadRequest, "Invalid LeadId".into())
        );
        assert_eq!(
            final_kind(classify(answer(401, "", None))).0,
            ErrorKind::Unauthorized
        );
        assert_eq!(
            final_kind(classify(answer(404, "nope", None))).0,
            ErrorKind::NotFound
        );
        assert_eq!(
            final_kind(classify(answer(500, err, None))).0,
            ErrorKind::Server
        );
        assert_eq!(
            final_kind(classify(answer(302, "", None))).0,
            ErrorKind::Http
        );
        assert_eq!(
            final_kind(classify(answer(
                403,
                r#"{"ExceptionMessage":"Forbidden"}"#,
                None
            )))
            .0,
            ErrorKind::Http
        );
        assert_eq!(
            final_kind(classify(answer(418, "", None))).0,
            ErrorKind::Http
        );
        assert!(
            matches!(classify(answer(503, "", None)), Verdict::Retryable(e) if e.kind() == ErrorKind::Server)
        );
    }

    #[test]
    fn rate_limits_429_and_403() {
        let msg = r#"{"Status":"Error","ExceptionMessage":"API calls exceeded the limit of 3 in 1 second(s)"}"#;
        for status in [429, 403] {
            match classify(answer(status, msg, Some("2"))) {
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
            classify(answer(429, "", None)),
            Verdict::RateLimited {
                server_limit: None,
                retry_after: None,
                ..
            }
        ));
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
