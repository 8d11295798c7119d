//! `GET /v2/Authentication.svc/UserByAccessKey.Get`: who the keys belong to, with the
//! account's regional API host (`LSQCommonServiceURLs.api`) and default country code, as
//! LeadSquared's "Authenticate a User" page shows. The keys were checked before (401).

use serde_json::json;

use crate::answer::Answer;
use crate::check::Rejection;
use crate::http::Request;

/// The account the emulator answers for ([`crate::Config::account`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The API host announced; `None` (default): the host the question was sent to (its
    /// `Host` header), so a client that asks the emulator is sent back to it.
    pub api_host: Option<String>,
    /// `DefaultCountryCode`. Default `"91"`, as in LeadSquared's example.
    pub default_country_code: String,
    /// `OrgDisplayName`. Default `"liblsq emulator"`.
    pub organisation: String,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            api_host: None,
            default_country_code: "91".to_owned(),
            organisation: "liblsq emulator".to_owned(),
        }
    }
}

/// An accepted question: the `Host` it was sent to.
pub(crate) struct Query {
    host: Option<String>,
}

impl Query {
    pub(crate) fn summary(&self) -> String {
        String::new()
    }
}

/// Nothing to check beyond the keys (inferred: the page lists no parameters but them).
pub(crate) fn parse(req: &Request) -> Result<Query, Rejection> {
    Ok(Query {
        host: req.header("host").map(str::to_owned),
    })
}

/// 200 with the user and account, `LSQCommonServiceURLs.api` a bare host as LeadSquared
/// writes it (`api-in21.leadsquared.com`).
pub(crate) fn perform(q: &Query, account: &Account) -> Answer {
    let api = account
        .api_host
        .clone()
        .or_else(|| q.host.clone())
        .unwrap_or_default();
    let body = json!({
        "Id": "00000000-0000-4000-8000-00000000a001",
        "Name": "Emulator Admin",
        "PassPhrase": "admin@example.com",
        "Role": "Administrator",
        "TimeZone": "Asia/Kolkata",
        "Type": "ApplicationUser",
        "OrgDisplayName": account.organisation,
        "OrgId": "00000000-0000-4000-8000-00000000b001",
        "DefaultCountryCode": account.default_country_code,
        "LSQCommonServiceURLs": { "api": api, "app": api },
    });
    Answer::ok_json(&body).with_note(format!(" -> api host {api}"))
}
