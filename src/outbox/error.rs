//! Why the outbox could not do what was asked, in words an admin can act on.
//!
//! The store has its own error type rather than the core's
//! [`crate::error::Error`] because its causes (a lock held by another
//! process, a foreign file, a full disk) are about a file on this machine,
//! not about LeadSquared; the core folds them into one status when it
//! reports them to a C caller.

use std::fmt;
use std::path::Path;

use rusqlite::ErrorCode;

/// What kind of trouble the outbox file is in. The kind decides what an
/// admin does next, so it is kept apart from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboxErrorKind {
    /// The file could not be opened or created: missing directory,
    /// permissions, a directory where the file should be, a missing file
    /// for the ops tool.
    Open,
    /// Another liblsq client holds the outbox: two clients sending the same
    /// logs would double them, so the second one is refused.
    Locked,
    /// The file is not a liblsq outbox: another application's SQLite
    /// database, not a database at all, corrupt, or written by a newer
    /// liblsq. It is never changed.
    Foreign,
    /// The disk (or the database's page limit) is full: the write did not
    /// happen, and nothing written earlier was lost.
    Full,
    /// Any other read or write failure (I/O error, the database busy for
    /// longer than the busy timeout, a read-only file).
    Io,
}

/// An outbox failure: its kind and a message naming the file and the cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxError {
    kind: OutboxErrorKind,
    message: String,
}

impl OutboxError {
    /// An error about the outbox at `path`: the message reads
    /// "outbox PATH: CAUSE".
    pub fn new(kind: OutboxErrorKind, path: &Path, cause: impl fmt::Display) -> OutboxError {
        OutboxError {
            kind,
            message: format!("outbox {}: {}", path.display(), cause),
        }
    }

    /// The kind of trouble.
    pub fn kind(&self) -> OutboxErrorKind {
        self.kind
    }

    /// The reason, for people: names the file and the cause.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with what it meant for the caller appended
    /// ("; the log was not accepted").
    pub(crate) fn with_consequence(mut self, consequence: &str) -> OutboxError {
        self.message.push_str("; ");
        self.message.push_str(consequence);
        self
    }

    /// Classifies a SQLite failure while doing `doing` ("writing", "reading")
    /// on the outbox at `path`.
    pub(crate) fn sqlite(path: &Path, doing: &str, err: &rusqlite::Error) -> OutboxError {
        let (kind, cause) = match err {
            rusqlite::Error::SqliteFailure(e, detail) => {
                let detail = detail.as_deref().unwrap_or("");
                match e.code {
                    ErrorCode::DiskFull => {
                        (OutboxErrorKind::Full, "disk full (SQLITE_FULL)".to_string())
                    }
                    ErrorCode::NotADatabase => (
                        OutboxErrorKind::Foreign,
                        "is not a liblsq outbox (not a database, SQLITE_NOTADB)".to_string(),
                    ),
                    ErrorCode::DatabaseCorrupt => (
                        OutboxErrorKind::Foreign,
                        "the database is corrupt (SQLITE_CORRUPT): move it aside and \
                         recover it with the sqlite3 tool's .recover"
                            .to_string(),
                    ),
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => (
                        OutboxErrorKind::Io,
                        format!(
                            "{doing} timed out: another process kept the database busy \
                             (SQLITE_BUSY) {detail}"
                        ),
                    ),
                    ErrorCode::ReadOnly => (
                        OutboxErrorKind::Io,
                        format!(
                            "{doing} failed: the file or its directory is read-only \
                             (SQLITE_READONLY) {detail}"
                        ),
                    ),
                    ErrorCode::CannotOpen | ErrorCode::PermissionDenied => (
                        OutboxErrorKind::Open,
                        format!(
                            "cannot open the file: check that it and its directory exist \
                             and are writable by this process ({detail})"
                        ),
                    ),
                    ErrorCode::SystemIoFailure => (
                        OutboxErrorKind::Io,
                        format!("{doing} failed: I/O error (SQLITE_IOERR) {detail}"),
                    ),
                    _ => (OutboxErrorKind::Io, format!("{doing} failed: {err}")),
                }
            }
            other => (OutboxErrorKind::Io, format!("{doing} failed: {other}")),
        };
        OutboxError::new(kind, path, cause.trim_end())
    }
}

impl fmt::Display for OutboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OutboxError {}

impl From<OutboxError> for crate::error::Error {
    fn from(e: OutboxError) -> crate::error::Error {
        crate::error::Error::new(crate::error::ErrorKind::Storage, e.message)
    }
}
