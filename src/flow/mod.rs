//! What a PBX reports, and the requests liblsq makes for it: an agent's
//! phone ringing ([`ringing`]: the lead, the agent, then the popup) and a
//! lookup asked for on its own ([`lookup`]).

pub(crate) mod lookup;
pub mod ringing;
