//! The scheduling machinery: what a client's threads share ([`shared`]),
//! the workers that drain the async queue ([`workers`]), the attempt loop
//! every request goes through ([`delivery`]), the client-side rate limiter
//! ([`ratelimit`]), retry backoff ([`backoff`]) and duplicate suppression
//! ([`dedup`]).

pub(crate) mod backoff;
pub(crate) mod dedup;
pub(crate) mod delivery;
pub(crate) mod gate;
pub(crate) mod job;
pub mod ratelimit;
pub(crate) mod shared;
pub(crate) mod workers;
