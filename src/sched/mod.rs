//! The scheduling machinery: what a client's threads share ([`shared`]),
//! the workers that drain the async queue ([`workers`]), the attempt loop
//! every request goes through ([`delivery`]), the client-side rate limiter
//! ([`ratelimit`]) and the budget it shares through Redis ([`shared_budget`]),
//! retry backoff ([`backoff`]) and duplicate suppression ([`dedup`]).

pub(crate) mod dedup;
pub(crate) mod delivery;
pub(crate) mod gate;
pub(crate) mod job;
pub mod ratelimit;
pub(crate) mod shared;
// Public only for the integration tests (tests/redis_budget.rs) and `RedisUrl`.
#[doc(hidden)]
pub mod shared_budget;
pub(crate) mod workers;
