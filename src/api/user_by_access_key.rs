//! LeadSquared's "Authenticate a User"
//! (`GET /v2/Authentication.svc/UserByAccessKey.Get`): who the keys belong
//! to, and the account's regional API host and default country code. Any
//! regional host answers it, which is what makes `host = "auto"` possible.

use serde::Deserialize;

use super::answer::not_success_shape;
use crate::error::Error;
use crate::net::transport::{Method, Request, MAX_BODY_BYTES};

/// The API path.
pub const PATH: &str = "/v2/Authentication.svc/UserByAccessKey.Get";

/// The request: no parameters beyond the keys.
pub(crate) fn request() -> Request<'static> {
    Request {
        method: Method::Get,
        path: PATH,
        query: &[],
        body: None,
        max_body: MAX_BODY_BYTES,
    }
}

/// What the answer tells about the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    /// `LSQCommonServiceURLs.api`: the regional API host, as LeadSquared
    /// writes it (`api-in21.leadsquared.com`; a scheme and a trailing `/`
    /// or `/v2/` are accepted and dropped: inferred, some answers carry them).
    pub api_host: String,
    /// `DefaultCountryCode` (`"91"`), when the account has one.
    pub default_country_code: Option<String>,
    /// `OrgDisplayName`, for the log line that says what was found.
    pub organisation: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "LSQCommonServiceURLs")]
    urls: Option<Urls>,
    #[serde(rename = "DefaultCountryCode")]
    default_country_code: Option<String>,
    #[serde(rename = "OrgDisplayName")]
    organisation: Option<String>,
}

#[derive(Deserialize)]
struct Urls {
    api: Option<String>,
}

/// Reads the answer: an object whose `LSQCommonServiceURLs.api` names the
/// host. Any other shape is a Response error.
pub(crate) fn parse(status: u16, body: &[u8]) -> Result<Account, Error> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|_| not_success_shape(status, body))?;
    let host = answer
        .urls
        .and_then(|u| u.api)
        .map(|api| bare_host(&api).to_string())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::Response,
                format!("HTTP {status}: the answer names no API host (LSQCommonServiceURLs.api)"),
            )
        })?;
    Ok(Account {
        api_host: host,
        default_country_code: answer
            .default_country_code
            .map(|c| c.trim().trim_start_matches('+').to_string())
            .filter(|c| !c.is_empty()),
        organisation: answer.organisation.filter(|o| !o.trim().is_empty()),
    })
}

/// `https://api-in21.leadsquared.com/v2/` → `api-in21.leadsquared.com`.
fn bare_host(api: &str) -> &str {
    let api = api.trim();
    let rest = api.split_once("://").map_or(api, |(_, rest)| rest);
    rest.split('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn reads_the_host_and_country_code() {
        let body = br#"{"Id":"1a50c565-8525-11ea-a93b-0aa4c559f4ca","OrgDisplayName":"Education 101",
            "DefaultCountryCode":"91","LSQCommonServiceURLs":{"api":"api-in21.leadsquared.com","app":"in21.leadsquared.com"}}"#;
        assert_eq!(
            parse(200, body).unwrap(),
            Account {
                api_host: "api-in21.leadsquared.com".into(),
                default_country_code: Some("91".into()),
                organisation: Some("Education 101".into()),
            }
        );
        let with_url = br#"{"LSQCommonServiceURLs":{"api":"https://api-us11.leadsquared.com/v2/"},"DefaultCountryCode":""}"#;
        let account = parse(200, with_url).unwrap();
        assert_eq!(account.api_host, "api-us11.leadsquared.com");
        assert_eq!(account.default_country_code, None);
    }

    #[test]
    fn any_other_shape_is_a_response_error() {
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"LSQCommonServiceURLs":{}}"#,
            r#"{"LSQCommonServiceURLs":{"api":""}}"#,
            r#"{"LSQCommonServiceURLs":{"api":5}}"#,
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
