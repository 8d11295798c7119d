//! The scheduling machinery, which knows nothing of LeadSquared: the
//! [`scheduler`] (queues by urgency class, the state behind one lock, the
//! condition variables), the [`workers`] that run queued [`job::Task`]s, who
//! gets the next rate-limit slot ([`gate`]), the client-side rate limiter
//! ([`ratelimit`]), the budget it shares through Redis ([`shared_budget`])
//! and duplicate suppression ([`dedup`]).

pub(crate) mod dedup;
pub(crate) mod gate;
pub(crate) mod job;
pub mod ratelimit;
pub(crate) mod scheduler;
// Public only for the integration tests (tests/redis_budget.rs) and `RedisUrl`.
#[doc(hidden)]
pub mod shared_budget;
pub(crate) mod workers;
