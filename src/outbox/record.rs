//! What the outbox keeps about one call log, and the summaries it gives.
//!
//! The store does not know what a call log is: the payload is an opaque text
//! (its format, versioned, is `payload.rs`'s), so it can change without a
//! schema migration. Only what scheduling and an admin need is in columns.

/// Where a record is in its life. Delivered records are deleted, so they
/// have no state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for its (next) delivery attempt at `next_try_at`.
    Pending,
    /// Given up on (refused by LeadSquared as wrong, or too old): kept with
    /// its last status and reason, never sent again unless an admin asks.
    Dead,
}

impl State {
    /// The text stored in the `state` column (readable with the sqlite3 tool).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Dead => "dead",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<State> {
        match s {
            "pending" => Some(State::Pending),
            "dead" => Some(State::Dead),
            _ => None,
        }
    }
}

/// Which records [`Outbox::list`](super::Outbox::list) shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Which {
    /// Pending records only.
    Pending,
    /// Dead records only.
    Dead,
    /// Both.
    All,
}

/// One stored call log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Monotonic in acceptance order, never reused (even after the newest
    /// record is deleted), so a log line naming an id stays unambiguous.
    pub id: u64,
    /// When the log was accepted, Unix milliseconds (for `log_max_age_ms`).
    pub accepted_at: i64,
    /// The call's CallSessionId, for listing and log lines.
    pub call_session_id: String,
    /// The call log as the caller stored it (JSON text, see `payload.rs`);
    /// opaque to the store.
    pub payload: String,
    /// Delivery attempts that failed so far.
    pub attempts: u32,
    /// When the next attempt is due, Unix milliseconds.
    pub next_try_at: i64,
    /// Pending or dead.
    pub state: State,
    /// The HTTP status of the last failed attempt, 0 when none (no answer,
    /// or never tried).
    pub last_status: u16,
    /// Why the last attempt failed, "" when never tried.
    pub last_reason: String,
}

/// A summary of an outbox, for the ops tool and metrics.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Stats {
    /// Records waiting to be delivered.
    pub pending: u64,
    /// Records given up on.
    pub dead: u64,
    /// When the oldest pending record was accepted (Unix ms): its age is how
    /// far behind delivery is.
    pub oldest_pending_at: Option<i64>,
    /// When the oldest dead record was accepted (Unix ms).
    pub oldest_dead_at: Option<i64>,
    /// The earliest `next_try_at` of a pending record (Unix ms).
    pub next_due_at: Option<i64>,
    /// Pending records by their number of failed attempts, as
    /// `(attempts, records)` sorted by attempts: many records with many
    /// attempts mean LeadSquared has been unreachable for long.
    pub pending_attempts: Vec<(u32, u64)>,
    /// Failed attempts of all stored records, added up.
    pub total_attempts: u64,
    /// Bytes on disk: the database file and its write-ahead log (the
    /// database's size for an in-memory outbox).
    pub file_bytes: u64,
}
