//! The call-log outbox: durable, at least once.
//!
//! Call logs (LeadSquared's LogCall, sent after hangup) go through this
//! store: accepted only once synced to disk, kept through LeadSquared
//! outages, PBX restarts and crashes, and removed only when delivered. See
//! [`Outbox`] for the API and `store.rs` for why it is built this way. The
//! ops tool `lsq-outbox` uses the same API over a file a client may have
//! open.
//!
//! What the store leaves to the scheduler that drives it:
//! - **In flight**: `due` returns a record until its outcome is written
//!   (`delivered`, `retry_later`, `dead`); the scheduler keeps the ids it
//!   has handed to a worker and skips them, so a log is not sent twice at
//!   once. After a crash nothing is in flight, and every pending record is
//!   sent again: at least once.
//! - **Polling**: the ops tool changes the file from another process
//!   (`retry` makes dead logs due now) and cannot wake the client, so the
//!   scheduler should not sleep past a bound (say a minute) even when
//!   [`Outbox::next_due_at`] says nothing is due.
//! - **Age**: `accepted_at` is when the call was logged, and stays so when an
//!   admin retries a dead log (`retry_dead` resets `attempts` to 0); an age
//!   rule should not kill such a log again before its first new attempt.
//!
//! - **Payloads**: the store keeps a payload as opaque text; `payload.rs`
//!   says what a call log's payload is, its format version, and which ones
//!   this liblsq cannot read (kept, never dead: see there).
//!
//! One concept per file: `store.rs` the API, `schema.rs` the on-disk format
//! and its checks, `payload.rs` the call log kept and its versions,
//! `group_commit.rs` shared commits, `lock.rs` one client per file,
//! `record.rs` what a record is, `error.rs` what can go wrong.

mod error;
mod group_commit;
mod lock;
pub(crate) mod payload;
mod record;
mod schema;
mod store;

#[cfg(test)]
mod tests;

pub use error::{OutboxError, OutboxErrorKind};
pub use lock::lock_path;
pub use payload::{unreadable, Unreadable};
pub use record::{Record, State, Stats, Which};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::Outbox;
