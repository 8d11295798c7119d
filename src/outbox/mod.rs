//! The call-log outbox: durable, at least once.
//!
//! Call logs (LeadSquared's LogCall, sent after hangup) go through this
//! store: accepted only once synced to disk, kept through LeadSquared
//! outages, PBX restarts and crashes, and removed only when delivered. See
//! [`Outbox`] for the API and `store.rs` for why it is built this way. The
//! ops tool `lsq-outbox` uses the same API over a file a client may have
//! open.
//!
//! One concept per file: `store.rs` the API, `schema.rs` the on-disk format
//! and its checks, `group_commit.rs` shared commits, `lock.rs` one client
//! per file, `record.rs` what a record is, `error.rs` what can go wrong.

mod error;
mod group_commit;
mod lock;
mod record;
mod schema;
mod store;

#[cfg(test)]
mod tests;

pub use error::{OutboxError, OutboxErrorKind};
pub use lock::lock_path;
pub use record::{Record, State, Stats, Which};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::Outbox;
