//! One client per outbox file: an exclusive advisory lock on a sidecar file.
//!
//! Two clients delivering from one outbox would send every call log twice
//! (both see it due) and fight over its state, so the second client is
//! refused at open with the pid of the first.
//!
//! Why a sidecar `PATH.lock` and not a lock on the database file itself:
//! SQLite locks the database with POSIX `fcntl` record locks, and POSIX drops
//! *all* of a process's `fcntl` locks on a file when *any* descriptor of that
//! file is closed in that process. Opening the database file ourselves (to
//! lock it, or when a refused second opener closes its descriptor) would
//! silently release SQLite's locks held by other connections of the same
//! process (the ops tool's tests, an in-process second opener) and let
//! another process corrupt a transaction. The sidecar is never opened by
//! SQLite, so nothing we do to it touches SQLite's locks, and `flock(2)`
//! locks (what [`File::try_lock`] takes on Linux) are independent of
//! `fcntl` locks anyway.
//!
//! The lock belongs to the open file description: a second open in the same
//! process is refused like one from another process, and the kernel releases
//! it when the process dies, however it dies (no stale lock after a crash:
//! the file a killed client leaves is taken over by the next open).
//!
//! The sidecar is removed on close (and when an open fails after taking it),
//! so no `.lock` stays beside the outbox. Removing it safely is the classic
//! protocol: the holder unlinks the file *while it still holds the lock*;
//! an opener that got the lock checks that the path still names the inode
//! it locked, and if not (it locked a file the holder had just unlinked)
//! closes it and starts again. So two clients never hold locks on two
//! different inodes of one path.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::error::{OutboxError, OutboxErrorKind};

/// The held lock; dropping it (closing the file) releases it.
#[derive(Debug)]
pub(crate) struct ClientLock {
    _file: File,
    path: PathBuf,
}

/// The sidecar lock file of the outbox at `db`: `DB.lock`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl ClientLock {
    /// Takes the client lock of the outbox at `db`, without waiting: a held
    /// lock is `Locked` at once, naming the holder's pid when it wrote it.
    pub(crate) fn acquire(db: &Path) -> Result<ClientLock, OutboxError> {
        let path = lock_path(db);
        // Bounded: each round means a holder unlinked the file between our
        // open and our lock, which a busy loop of opens and closes can
        // repeat, but not forever.
        for _ in 0..100 {
            if let Some(lock) = Self::try_acquire(db, &path)? {
                return Ok(lock);
            }
        }
        Err(OutboxError::new(
            OutboxErrorKind::Open,
            db,
            format!(
                "cannot lock {}: the lock file kept being replaced",
                path.display()
            ),
        ))
    }

    /// One round of [`ClientLock::acquire`]: `None` when the file locked was
    /// unlinked by its previous holder meanwhile (try again).
    fn try_acquire(db: &Path, path: &Path) -> Result<Option<ClientLock>, OutboxError> {
        let path = path.to_path_buf();
        // No truncate on open: the holder's pid must stay readable for the
        // refusal message of a second opener.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                OutboxError::new(
                    OutboxErrorKind::Open,
                    db,
                    format!(
                        "cannot open its lock file {}: {e}; the directory must be writable \
                         by this process",
                        path.display()
                    ),
                )
            })?;
        let mut tries = 0;
        let locked = loop {
            match file.try_lock() {
                // Our own pid on a lock no client of this process holds: a
                // child forked by this process (the PBX running a program)
                // still shares the descriptor until it execs and the
                // descriptor closes (close-on-exec). That lasts moments:
                // look again briefly instead of refusing.
                Err(TryLockError::WouldBlock)
                    if tries < 50 && held_by_a_fork_of_ours(&mut file, &path) =>
                {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other,
            }
        };
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let _ = file.seek(SeekFrom::Start(0));
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if !holder.is_empty() && holder.bytes().all(|b| b.is_ascii_digit()) {
                    format!("pid {holder}")
                } else {
                    "pid unknown".to_string()
                };
                return Err(OutboxError::new(
                    OutboxErrorKind::Locked,
                    db,
                    format!(
                        "is locked by another liblsq client ({who}, lock file {}): one outbox \
                         serves one client at a time; give each client its own outbox file",
                        path.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(OutboxError::new(
                    OutboxErrorKind::Open,
                    db,
                    format!("cannot lock {}: {e}", path.display()),
                ))
            }
        }
        if !still_named_by(&file, &path) {
            return Ok(None);
        }
        // Best effort: the pid only serves the message above.
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{}\n", std::process::id()).as_bytes()));
        held_here().insert(path.clone());
        Ok(Some(ClientLock { _file: file, path }))
    }
}

/// Whether `path` still names the inode `file` has open.
fn still_named_by(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(ours), Ok(named)) => ours.dev() == named.dev() && ours.ino() == named.ino(),
        _ => false,
    }
}

impl Drop for ClientLock {
    fn drop(&mut self) {
        // Unlinked while still held (the file closes after this body), so
        // an opener that locks it next sees it is gone and starts again.
        let _ = std::fs::remove_file(&self.path);
        held_here().remove(&self.path);
    }
}

/// The lock files held by clients of this process.
fn held_here() -> std::sync::MutexGuard<'static, std::collections::HashSet<PathBuf>> {
    static HELD: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<PathBuf>>> =
        std::sync::OnceLock::new();
    HELD.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether the lock file names this process while no client of this
/// process holds it.
fn held_by_a_fork_of_ours(file: &mut std::fs::File, path: &Path) -> bool {
    let mut holder = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut holder);
    holder.trim() == std::process::id().to_string() && !held_here().contains(path)
}
