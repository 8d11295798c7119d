//! LeadSquared's endpoints, one file each: what a request carries, the rules
//! its inputs follow, its body on the wire, and how its answer reads.
//! [`answer`] judges what every endpoint shares (statuses, error bodies,
//! rate limits); [`fields`] holds the rules a field follows wherever it
//! appears; [`json`] writes request bodies.

pub(crate) mod answer;
pub mod direction;
pub(crate) mod fields;
pub(crate) mod json;
pub mod lead_by_phone;
pub(crate) mod lead_create;
pub mod log_call;
pub mod popup;
pub(crate) mod user_by_access_key;
pub(crate) mod user_by_email;
