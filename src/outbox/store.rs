//! The outbox: a SQLite file where call logs wait until LeadSquared has them.
//!
//! A call log is the only record of a call in the CRM, and it is produced
//! once, at hangup: if it is lost (LeadSquared down for an hour, the PBX
//! restarted, the process killed), nothing can produce it again. So a log is
//! accepted only once it is committed and synced, and it leaves the outbox
//! only when it is delivered (deleted) or given up on (kept as dead for an
//! admin). Everything else (backoff, order, what counts as delivered) is the
//! caller's policy; the store only keeps the facts.
//!
//! One [`Outbox`] is shared by every thread of a client: all methods take
//! `&self`. Writes go through one SQLite connection behind a mutex, and
//! concurrent `accept`s share a commit (see `group_commit.rs`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, Row, TransactionBehavior};

use super::error::{OutboxError, OutboxErrorKind};
use super::group_commit::GroupCommit;
use super::lock::ClientLock;
use super::payload::{self, Unreadable};
use super::record::{Record, State, Stats, Which};
use super::schema;

/// A record handed to the group commit.
struct NewRecord {
    call_session_id: String,
    payload: String,
    now_ms: i64,
}

/// The durable store of call logs. See the module documentation.
pub struct Outbox {
    /// The file, or ":memory:"; named in every error message.
    path: PathBuf,
    conn: Mutex<Connection>,
    accepts: GroupCommit<NewRecord, u64>,
    /// Held for the client's lifetime; `None` for the ops tool and in memory.
    _lock: Option<ClientLock>,
    in_memory: bool,
}

const COLUMNS: &str = "id, accepted_at, call_session_id, payload, attempts, next_try_at, state, \
                       last_status, last_reason";

fn record(row: &Row<'_>) -> rusqlite::Result<Record> {
    let state: String = row.get(6)?;
    Ok(Record {
        id: row.get::<_, i64>(0)? as u64,
        accepted_at: row.get(1)?,
        call_session_id: row.get(2)?,
        payload: row.get(3)?,
        attempts: row.get::<_, i64>(4)?.clamp(0, u32::MAX as i64) as u32,
        next_try_at: row.get(5)?,
        // The CHECK constraint allows nothing else; a hand-edited row reads
        // as dead, so it is shown to the admin and never sent by surprise.
        state: State::parse(&state).unwrap_or(State::Dead),
        last_status: row.get::<_, i64>(7)?.clamp(0, u16::MAX as i64) as u16,
        last_reason: row.get(8)?,
    })
}

fn check_parent(path: &Path) -> Result<(), OutboxError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(OutboxError::new(
            OutboxErrorKind::Open,
            path,
            format!(
                "its directory {} does not exist: create it (the outbox file itself is created \
                 on first open)",
                parent.display()
            ),
        ));
    }
    if path.is_dir() {
        return Err(OutboxError::new(
            OutboxErrorKind::Open,
            path,
            "is a directory: the outbox option names a file",
        ));
    }
    Ok(())
}

impl Outbox {
    /// Opens (or creates) the outbox at `path` for a client: takes the
    /// client lock (a second client is refused with `Locked`), refuses a
    /// file that is not an outbox (`Foreign`) without changing it, and
    /// creates a new file when there is none. The directory must exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Outbox, OutboxError> {
        let path = path.as_ref();
        check_parent(path)?;
        // The lock first: only its holder may create or recover the file.
        let lock = ClientLock::acquire(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Outbox::open_file(path, flags, true, Some(lock))
    }

    /// Opens an existing outbox for the ops tool (`lsq-outbox`), while a
    /// client may have it open: takes no client lock (SQLite's own locking
    /// and WAL make the two safe together), and never creates a file, since
    /// a mistyped path must not leave an empty outbox behind.
    pub fn open_for_ops(path: impl AsRef<Path>) -> Result<Outbox, OutboxError> {
        let path = path.as_ref();
        check_parent(path)?;
        if !path.exists() {
            return Err(OutboxError::new(
                OutboxErrorKind::Open,
                path,
                "does not exist (the ops tool never creates an outbox; check the path in the \
                 client's outbox option)",
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Outbox::open_file(path, flags, false, None)
    }

    /// An outbox in memory, for clients without the `outbox` option: the
    /// same code over SQLite's `:memory:` (no file, no lock, no sync), so the
    /// rest of the library has one code path. Its logs die with the process.
    pub fn in_memory() -> Outbox {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory()
            .map_err(|e| OutboxError::sqlite(&path, "opening", &e))
            .and_then(|mut conn| {
                schema::check_or_create(&mut conn, &path, true)?;
                Ok(conn)
            });
        // Only allocation can fail in memory; that is not a state to run in.
        let conn = conn.unwrap_or_else(|e| panic!("{e}"));
        Outbox {
            path,
            conn: Mutex::new(conn),
            accepts: GroupCommit::new(),
            _lock: None,
            in_memory: true,
        }
    }

    fn open_file(
        path: &Path,
        flags: OpenFlags,
        create: bool,
        lock: Option<ClientLock>,
    ) -> Result<Outbox, OutboxError> {
        let mut conn = Connection::open_with_flags(path, flags)
            .map_err(|e| OutboxError::sqlite(path, "opening", &e))?;
        conn.busy_timeout(Duration::from_millis(schema::BUSY_TIMEOUT_MS))
            .map_err(|e| OutboxError::sqlite(path, "opening", &e))?;
        schema::check_or_create(&mut conn, path, create)?;
        schema::configure_file(&conn, path)?;
        Ok(Outbox {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            accepts: GroupCommit::new(),
            _lock: lock,
            in_memory: false,
        })
    }

    /// The file (or ":memory:").
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // rusqlite rolls an unfinished transaction back when it is dropped,
        // also while unwinding, so a poisoned connection is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn err(&self, doing: &str, e: rusqlite::Error) -> OutboxError {
        OutboxError::sqlite(&self.path, doing, &e)
    }

    /// Stores a call log and returns its id once it is committed and synced
    /// (a crash or power cut after this returns does not lose it). Callers
    /// on other threads at the same moment share the commit. On error (disk
    /// full, I/O) the log is not stored, nor are the others of its batch,
    /// and every log accepted earlier is untouched. The record is due at
    /// `now_ms`.
    pub fn accept(
        &self,
        call_session_id: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<u64, OutboxError> {
        let request = NewRecord {
            call_session_id: call_session_id.to_owned(),
            payload: payload.to_owned(),
            now_ms,
        };
        self.accepts
            .submit(request, |batch| self.insert_batch(batch))
            .map_err(|e| e.with_consequence("the log was not accepted"))
    }

    fn insert_batch(&self, batch: Vec<NewRecord>) -> Result<Vec<u64>, OutboxError> {
        let mut conn = self.conn();
        let doing = "writing";
        // IMMEDIATE: take the write lock at BEGIN, so a busy file fails (or
        // waits) before any work, never at COMMIT.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(doing, e))?;
        let mut ids = Vec::with_capacity(batch.len());
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO call_log (accepted_at, call_session_id, payload, next_try_at) \
                     VALUES (?1, ?2, ?3, ?1)",
                )
                .map_err(|e| self.err(doing, e))?;
            for r in &batch {
                insert
                    .execute(params![r.now_ms, r.call_session_id, r.payload])
                    .map_err(|e| self.err(doing, e))?;
                ids.push(tx.last_insert_rowid() as u64);
            }
        }
        tx.commit().map_err(|e| self.err(doing, e))?;
        Ok(ids)
    }

    /// Commits made by [`accept`](Self::accept) since open: fewer than the
    /// logs accepted when concurrent callers shared commits.
    pub fn accept_commits(&self) -> u64 {
        self.accepts.batches()
    }

    /// Pending records due at `now_ms` (`next_try_at <= now_ms`), oldest
    /// accepted first, at most `limit`. A record waiting for a later try is
    /// skipped, so it never holds back the others.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Record>, OutboxError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {COLUMNS} FROM call_log WHERE state = 'pending' AND next_try_at <= ?1 \
             ORDER BY id LIMIT ?2"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err("reading", e))?;
        let rows = stmt
            .query_map(params![now_ms, limit], record)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err("reading", e))?;
        Ok(rows)
    }

    /// When the next pending record is due (Unix ms), `None` when nothing is
    /// pending: how long a scheduler may sleep.
    pub fn next_due_at(&self) -> Result<Option<i64>, OutboxError> {
        self.next_due_at_except(&HashSet::new())
    }

    /// [`next_due_at`](Self::next_due_at) leaving out the records `except`
    /// (those the caller keeps but does not send: their due time must not
    /// wake it).
    pub fn next_due_at_except(&self, except: &HashSet<u64>) -> Result<Option<i64>, OutboxError> {
        let conn = self.conn();
        // By the due index, earliest first: at most |except| rows are passed
        // over before the answer.
        let mut stmt = conn
            .prepare(
                "SELECT id, next_try_at FROM call_log WHERE state = 'pending' \
                 ORDER BY next_try_at LIMIT ?1",
            )
            .map_err(|e| self.err("reading", e))?;
        let limit = i64::try_from(except.len().saturating_add(1)).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![limit], |row| {
                Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err("reading", e))?;
        Ok(rows
            .into_iter()
            .find(|(id, _)| !except.contains(id))
            .map(|(_, at)| at))
    }

    /// The pending records whose payload this liblsq cannot read (a newer
    /// format, or damaged; see `payload.rs`), oldest first, each with why:
    /// kept for a liblsq that reads them. Reads every pending payload.
    pub fn unreadable_pending(&self) -> Result<Vec<(u64, Unreadable)>, OutboxError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, payload FROM call_log WHERE state = 'pending' ORDER BY id")
            .map_err(|e| self.err("reading", e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err("reading", e))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err("reading", e))? {
            let payload: String = row.get(1).map_err(|e| self.err("reading", e))?;
            if let Some(why) = payload::unreadable(&payload) {
                found.push((
                    row.get::<_, i64>(0).map_err(|e| self.err("reading", e))? as u64,
                    why,
                ));
            }
        }
        Ok(found)
    }

    fn update(
        &self,
        doing: &str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize, OutboxError> {
        self.conn()
            .execute(sql, params)
            .map_err(|e| self.err(doing, e))
    }

    /// Removes a delivered record. Returns false when there was no such
    /// record (already delivered, or removed by an admin).
    pub fn delivered(&self, id: u64) -> Result<bool, OutboxError> {
        let n = self.update(
            "removing a delivered log",
            "DELETE FROM call_log WHERE id = ?1",
            params![id as i64],
        )?;
        Ok(n > 0)
    }

    /// Records a failed attempt of a pending record and when to try again:
    /// counts the attempt, keeps the HTTP status (0 when there was no
    /// answer) and the reason. Returns false when the record is not pending.
    pub fn retry_later(
        &self,
        id: u64,
        next_try_at_ms: i64,
        last_status: u16,
        reason: &str,
    ) -> Result<bool, OutboxError> {
        let n = self.update(
            "recording a failed attempt",
            "UPDATE call_log SET attempts = attempts + 1, next_try_at = ?2, last_status = ?3, \
             last_reason = ?4 WHERE id = ?1 AND state = 'pending'",
            params![id as i64, next_try_at_ms, last_status, reason],
        )?;
        Ok(n > 0)
    }

    /// Gives up on a pending record after its final attempt (counted): it is
    /// kept, dead, with that attempt's status and reason, and never sent
    /// again unless an admin retries it. Returns false when it is not
    /// pending.
    pub fn dead(&self, id: u64, last_status: u16, reason: &str) -> Result<bool, OutboxError> {
        let n = self.update(
            "marking a log dead",
            "UPDATE call_log SET state = 'dead', attempts = attempts + 1, last_status = ?2, \
             last_reason = ?3 WHERE id = ?1 AND state = 'pending'",
            params![id as i64, last_status, reason],
        )?;
        Ok(n > 0)
    }

    /// `(pending, dead)` record counts.
    pub fn counts(&self) -> Result<(u64, u64), OutboxError> {
        self.conn()
            .query_row(
                "SELECT coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'dead'), 0) \
                 FROM call_log",
                [],
                |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.err("reading", e))
    }

    /// Records in acceptance order, at most `limit`, for an admin.
    pub fn list(&self, which: Which, limit: usize) -> Result<Vec<Record>, OutboxError> {
        let filter = match which {
            Which::Pending => "WHERE state = 'pending'",
            Which::Dead => "WHERE state = 'dead'",
            Which::All => "",
        };
        let sql = format!("SELECT {COLUMNS} FROM call_log {filter} ORDER BY id LIMIT ?1");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err("reading", e))?;
        let rows = stmt
            .query_map(params![limit], record)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err("reading", e))?;
        Ok(rows)
    }

    /// Puts dead records back in the queue, due at `now_ms`, with their
    /// attempt count reset (a fresh cycle; the last status and reason stay
    /// for history): one record by id, or all of them. Returns how many.
    pub fn retry_dead(&self, id: Option<u64>, now_ms: i64) -> Result<u64, OutboxError> {
        let sql = "UPDATE call_log SET state = 'pending', attempts = 0, next_try_at = ?1 \
                   WHERE state = 'dead' AND (?2 IS NULL OR id = ?2)";
        let n = self.update(
            "putting dead logs back in the queue",
            sql,
            params![now_ms, id.map(|i| i as i64)],
        )?;
        Ok(n as u64)
    }

    /// Removes every dead record. Returns how many.
    pub fn purge_dead(&self) -> Result<u64, OutboxError> {
        let n = self.update(
            "removing dead logs",
            "DELETE FROM call_log WHERE state = 'dead'",
            [],
        )?;
        Ok(n as u64)
    }

    /// A summary for the ops tool and metrics.
    pub fn stats(&self) -> Result<Stats, OutboxError> {
        let conn = self.conn();
        let read = |e| self.err("reading", e);
        let mut stats = conn
            .query_row(
                "SELECT coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'dead'), 0), \
                        min(CASE WHEN state = 'pending' THEN accepted_at END), \
                        min(CASE WHEN state = 'dead' THEN accepted_at END), \
                        min(CASE WHEN state = 'pending' THEN next_try_at END), \
                        coalesce(sum(attempts), 0) \
                 FROM call_log",
                [],
                |row| {
                    Ok(Stats {
                        pending: row.get::<_, i64>(0)? as u64,
                        dead: row.get::<_, i64>(1)? as u64,
                        oldest_pending_at: row.get(2)?,
                        oldest_dead_at: row.get(3)?,
                        next_due_at: row.get(4)?,
                        pending_attempts: Vec::new(),
                        total_attempts: row.get::<_, i64>(5)? as u64,
                        file_bytes: 0,
                    })
                },
            )
            .map_err(read)?;
        let mut stmt = conn
            .prepare(
                "SELECT attempts, count(*) FROM call_log WHERE state = 'pending' \
                 GROUP BY attempts ORDER BY attempts",
            )
            .map_err(read)?;
        stats.pending_attempts = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?.clamp(0, u32::MAX as i64) as u32,
                    row.get::<_, i64>(1)? as u64,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(read)?;
        stats.file_bytes = if self.in_memory {
            conn.query_row(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map_err(read)? as u64
        } else {
            // stat(2) only: opening the database file here would drop
            // SQLite's fcntl locks (see lock.rs).
            let mut wal = self.path.as_os_str().to_owned();
            wal.push("-wal");
            [self.path.clone(), PathBuf::from(wal)]
                .iter()
                .filter_map(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum()
        };
        Ok(stats)
    }

    /// Test hook: caps the database at `pages` pages (SQLite's
    /// `max_page_count`, never below its current size), so that growing it
    /// fails with SQLITE_FULL as a full disk would. Returns the cap in force.
    /// Only this connection is capped, and only until it is closed.
    #[doc(hidden)]
    pub fn set_max_pages_for_tests(&self, pages: u64) -> Result<u64, OutboxError> {
        self.conn()
            .query_row(
                &format!("PRAGMA max_page_count = {}", pages.min(i64::MAX as u64)),
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err("setting the page limit", e))
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.path)
            .field("client_lock", &self._lock.is_some())
            .finish()
    }
}
