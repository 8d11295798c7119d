//! The outbox's on-disk format, and the checks that refuse anything else.
//!
//! An outbox path comes from a configuration file, where a typo can point at
//! another application's database or at some other file. Opening must then
//! fail with the reason and leave the file exactly as it was: the header's
//! `application_id` marks a liblsq outbox, and `user_version` its schema, so
//! the check is two header reads before anything is written (not even the
//! journal mode is changed on a file that is refused).

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::error::{OutboxError, OutboxErrorKind};

/// `application_id` of a liblsq outbox: "LSQO" in ASCII.
pub const APPLICATION_ID: i32 = 0x4C53_514F;

/// The schema this liblsq writes. A file with a higher version was written
/// by a newer liblsq and is refused rather than misread.
pub const SCHEMA_VERSION: i32 = 1;

/// How long a statement waits for another connection's write lock (the ops
/// tool, or the client while the tool writes) before failing with BUSY.
pub const BUSY_TIMEOUT_MS: u64 = 5_000;

// AUTOINCREMENT: ids are never reused, even when the newest record is
// delivered and deleted, so an id in a log line names one call log forever.
// `state` is text so an admin reading the file with the sqlite3 tool sees
// what a row is.
const CREATE: &str = "
CREATE TABLE call_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    accepted_at     INTEGER NOT NULL,
    call_session_id TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_try_at     INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_reason     TEXT    NOT NULL DEFAULT ''
);
-- due() and next_due_at(): pending records by due time.
CREATE INDEX call_log_due ON call_log (state, next_try_at);
";

/// What the header says the file is.
enum Found {
    /// A liblsq outbox of a schema this code reads.
    Outbox,
    /// An empty database (a new file, or a 0-byte one): nothing to refuse.
    Empty,
}

fn inspect(conn: &Connection, path: &Path) -> Result<Found, OutboxError> {
    let read = |sql: &str| -> Result<i64, OutboxError> {
        conn.query_row(sql, [], |row| row.get::<_, i64>(0))
            .map_err(|e| OutboxError::sqlite(path, "reading the header", &e))
    };
    let app_id = read("PRAGMA application_id")? as i32;
    let version = read("PRAGMA user_version")? as i32;
    let objects = read("SELECT count(*) FROM sqlite_master")?;
    if app_id == APPLICATION_ID {
        if version > SCHEMA_VERSION {
            return Err(OutboxError::new(
                OutboxErrorKind::Foreign,
                path,
                format!(
                    "was written by a newer liblsq (outbox schema {version}; this one reads up \
                     to {SCHEMA_VERSION}): upgrade liblsq, the file was not changed"
                ),
            ));
        }
        if version < 1 {
            return Err(OutboxError::new(
                OutboxErrorKind::Foreign,
                path,
                format!(
                    "is a damaged liblsq outbox (schema version {version}); it was not changed"
                ),
            ));
        }
        return Ok(Found::Outbox);
    }
    if app_id == 0 && version == 0 && objects == 0 {
        return Ok(Found::Empty);
    }
    Err(OutboxError::new(
        OutboxErrorKind::Foreign,
        path,
        format!(
            "is not a liblsq outbox: it is another application's SQLite database \
             (application_id {app_id:#x}, user_version {version}, {objects} tables and indexes); \
             it was not changed: point the outbox option at a new file"
        ),
    ))
}

/// Checks that the database is an outbox and creates the schema in an
/// empty one when `create` is set. Runs before any pragma that writes.
pub(crate) fn check_or_create(
    conn: &mut Connection,
    path: &Path,
    create: bool,
) -> Result<(), OutboxError> {
    match inspect(conn, path)? {
        Found::Outbox => Ok(()),
        Found::Empty if !create => Err(OutboxError::new(
            OutboxErrorKind::Foreign,
            path,
            "is an empty database, not a liblsq outbox (yet): a liblsq client creates the \
             outbox when it first opens it",
        )),
        Found::Empty => {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| OutboxError::sqlite(path, "creating the outbox", &e))?;
            // Looked at again under the write lock: someone may have written
            // the file between the check and the lock.
            if let Found::Outbox = inspect(&tx, path)? {
                return Ok(());
            }
            tx.execute_batch(CREATE)
                .and_then(|()| tx.pragma_update(None, "application_id", APPLICATION_ID))
                .and_then(|()| tx.pragma_update(None, "user_version", SCHEMA_VERSION))
                .and_then(|()| tx.commit())
                .map_err(|e| OutboxError::sqlite(path, "creating the outbox", &e))
        }
    }
}

/// Durability settings, once the file is known to be an outbox. WAL lets
/// the ops tool read and write while a client has the outbox open, and makes
/// a commit one sequential append; `synchronous=FULL` syncs the WAL at every
/// commit, so a committed log survives a power cut, not only a crash.
pub(crate) fn configure_file(conn: &Connection, path: &Path) -> Result<(), OutboxError> {
    // journal_mode answers with the mode in force; a file system without
    // shared memory may keep the rollback journal, which is still durable
    // (only less concurrent), so any answer is accepted.
    conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
        row.get::<_, String>(0)
    })
    .and_then(|_| conn.pragma_update(None, "synchronous", "FULL"))
    .map_err(|e| OutboxError::sqlite(path, "configuring the database", &e))
}
