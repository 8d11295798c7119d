//! What a PBX reports, and the requests liblsq makes for it: an agent's
//! phone ringing ([`ringing`]: the lead, the agent, then the popup) and a
//! lookup asked for on its own ([`find_lead`]).

pub(crate) mod call_log;
pub(crate) mod find_lead;
pub(crate) mod leads;
pub(crate) mod popup;
pub mod ringing;
pub(crate) mod tasks;
pub(crate) mod users;
