//! What each endpoint checks (400) and does once accepted. The checks every endpoint shares
//! (route, keys, rate limit) run before, in the server; see the crate documentation.
//!
//! To add an endpoint: a variant in [`crate::Endpoint`], a module here with `parse` (its 400
//! checks, no side effects: a fault may still replace the answer) and `perform` (the answer,
//! and the change it makes to the data), and the two arms below.

mod lead_by_phone;
mod lead_create;
mod log_call;
mod popup;
mod user_by_access_key;
mod user_by_email;

use std::sync::Mutex;
use std::time::Instant;

use crate::answer::Answer;
use crate::calllog::CallLogs;
use crate::check::Rejection;
use crate::data::Data;
use crate::http::Request;
use crate::Endpoint;

pub use lead_create::DUPLICATE_EXCEPTION;
pub use user_by_access_key::Account;

/// What the endpoints read and change: the leads and users, and the call logs kept.
pub(crate) struct World {
    pub(crate) data: Mutex<Data>,
    pub(crate) calls: CallLogs,
    /// Who `UserByAccessKey.Get` says the keys belong to.
    pub(crate) account: Account,
}

impl World {
    pub(crate) fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request that passed its endpoint's checks.
pub(crate) enum Parsed {
    Popup(popup::Popup),
    LeadByPhone(lead_by_phone::Query),
    LeadCreate(lead_create::NewLead),
    UserByEmail(user_by_email::Query),
    UserByAccessKey(user_by_access_key::Query),
    LogCall(log_call::Call),
}

/// Where the request came from, for what the endpoint keeps.
pub(crate) struct Origin {
    pub(crate) connection: u64,
    pub(crate) arrived: Instant,
}

/// The endpoint's own checks: 400 with an MX exception message naming the problem.
pub(crate) fn parse(endpoint: Endpoint, req: &Request) -> Result<Parsed, Rejection> {
    Ok(match endpoint {
        Endpoint::Popup => Parsed::Popup(popup::parse(req)?),
        Endpoint::LeadByPhone => Parsed::LeadByPhone(lead_by_phone::parse(req)?),
        Endpoint::LeadCreate => Parsed::LeadCreate(lead_create::parse(req)?),
        Endpoint::UserByEmail => Parsed::UserByEmail(user_by_email::parse(req)?),
        Endpoint::UserByAccessKey => Parsed::UserByAccessKey(user_by_access_key::parse(req)?),
        Endpoint::LogCall => Parsed::LogCall(log_call::parse(req)?),
    })
}

impl Parsed {
    /// The request in a few words for the console line (starts with a space).
    pub(crate) fn summary(&self) -> String {
        match self {
            Parsed::Popup(p) => p.summary(),
            Parsed::LeadByPhone(q) => q.summary(),
            Parsed::LeadCreate(l) => l.summary(),
            Parsed::UserByEmail(q) => q.summary(),
            Parsed::UserByAccessKey(q) => q.summary(),
            Parsed::LogCall(c) => c.summary(),
        }
    }

    /// Does the work and builds the answer.
    pub(crate) fn perform(self, world: &World, origin: Origin) -> Answer {
        match self {
            Parsed::Popup(_) => popup::perform(),
            Parsed::LeadByPhone(q) => lead_by_phone::perform(&q, &world.data()),
            Parsed::LeadCreate(l) => lead_create::perform(l, &mut world.data()),
            Parsed::UserByEmail(q) => user_by_email::perform(&q, &world.data()),
            Parsed::UserByAccessKey(q) => user_by_access_key::perform(&q, &world.account),
            Parsed::LogCall(c) => log_call::perform(c, &world.calls, origin),
        }
    }
}

/// Whether a body value is a non-empty phone-number string as liblsq sends it (c-api.md):
/// digits, `+`, `-`, space, `(`, `)`, `.`, with at least one digit.
pub(crate) fn is_phone_text(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b"+- ().".contains(&b))
}
