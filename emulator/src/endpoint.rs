//! The endpoints the emulator serves, their routes, and the route check (404).

use crate::check::{exception_type, Rejection};
use crate::http::Request;

/// `POST`: show the agent pop-up.
pub const POPUP_PATH: &str = "/v2/Telephony.svc/ShowAgentPopup";
/// `GET ?phone={digits}`: leads by phone number.
pub const LEAD_BY_PHONE_PATH: &str = "/v2/LeadManagement.svc/RetrieveLeadByPhoneNumber";
/// `POST`: create a lead from `[{"Attribute":..,"Value":..}]`.
pub const LEAD_CREATE_PATH: &str = "/v2/LeadManagement.svc/Lead.Create";
/// `GET ?emailAddress={email}`: active users by e-mail address.
pub const USER_BY_EMAIL_PATH: &str = "/v2/UserManagement.svc/User/Retrieve/ByEmailAddress";
/// `GET`: who the keys belong to, with the account's regional API host.
pub const USER_BY_ACCESS_KEY_PATH: &str = "/v2/Authentication.svc/UserByAccessKey.Get";
/// `POST`: post a call log.
pub const LOG_CALL_PATH: &str = "/v2/Telephony.svc/LogCall";

/// One of the LeadSquared APIs the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST` [`POPUP_PATH`].
    Popup,
    /// `GET` [`LEAD_BY_PHONE_PATH`].
    LeadByPhone,
    /// `POST` [`LEAD_CREATE_PATH`].
    LeadCreate,
    /// `GET` [`USER_BY_EMAIL_PATH`].
    UserByEmail,
    /// `GET` [`USER_BY_ACCESS_KEY_PATH`].
    UserByAccessKey,
    /// `POST` [`LOG_CALL_PATH`].
    LogCall,
}

impl Endpoint {
    /// Every endpoint, in declaration order.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Popup,
        Endpoint::LeadByPhone,
        Endpoint::LeadCreate,
        Endpoint::UserByEmail,
        Endpoint::UserByAccessKey,
        Endpoint::LogCall,
    ];

    /// The path it is served on (exact, case-sensitive).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Popup => POPUP_PATH,
            Endpoint::LeadByPhone => LEAD_BY_PHONE_PATH,
            Endpoint::LeadCreate => LEAD_CREATE_PATH,
            Endpoint::UserByEmail => USER_BY_EMAIL_PATH,
            Endpoint::UserByAccessKey => USER_BY_ACCESS_KEY_PATH,
            Endpoint::LogCall => LOG_CALL_PATH,
        }
    }

    /// The only method it answers (`GET` or `POST`).
    pub fn method(self) -> &'static str {
        match self {
            Endpoint::LeadByPhone | Endpoint::UserByEmail | Endpoint::UserByAccessKey => "GET",
            Endpoint::Popup | Endpoint::LeadCreate | Endpoint::LogCall => "POST",
        }
    }

    /// A short name for logs: `ShowAgentPopup`, `RetrieveLeadByPhoneNumber`, `Lead.Create`,
    /// `User.Retrieve.ByEmailAddress`, `UserByAccessKey.Get`, `LogCall`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Popup => "ShowAgentPopup",
            Endpoint::LeadByPhone => "RetrieveLeadByPhoneNumber",
            Endpoint::LeadCreate => "Lead.Create",
            Endpoint::UserByEmail => "User.Retrieve.ByEmailAddress",
            Endpoint::UserByAccessKey => "UserByAccessKey.Get",
            Endpoint::LogCall => "LogCall",
        }
    }

    /// The endpoint served at this path, whatever the method.
    pub fn for_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// 404 unless the request is the method and exact path of an endpoint.
///
/// A known path with the wrong method is a 404 too, as it has always been for the pop-up
/// (inferred: LeadSquared's gateway answers an API it does not serve under that method as an
/// unknown API); the message then names the method to use.
pub(crate) fn route(req: &Request) -> Result<Endpoint, Rejection> {
    const NOT_FOUND: &str = "The API could not be found. Please check the API signature.";
    match Endpoint::for_path(&req.path) {
        Some(e) if req.method == e.method() => Ok(e),
        Some(e) => Err(Rejection::new(
            404,
            exception_type(404),
            format!("{NOT_FOUND} {} is called with {}.", e.name(), e.method()),
        )),
        None => Err(Rejection::new(404, exception_type(404), NOT_FOUND)),
    }
}
