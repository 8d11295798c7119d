//! Every thread liblsq starts, through one guarded lifecycle: started with
//! a name, its body run under a panic guard, a caught panic reported as an
//! error log line and counted (`lsq_thread_panics_total`), joined at
//! shutdown. A panic is a bug; the guard keeps it from ending the host
//! process or, silently, a service: a thread that must keep running (the
//! call-log feeder) starts again.
//!
//! Stopping is each service's own signal (a flag and a condition variable
//! it waits on); this module starts, guards and joins.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::log::{Level, Logger};

/// What happens after a caught panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterPanic {
    /// The thread ends (its service reports itself off in the log line).
    End,
    /// The body runs again, after [`RESTART_PAUSE`]: for a loop that must
    /// not stop while the client lives. The body returns normally to end.
    Restart,
}

/// The pause before a restarted body runs again: a bug that panics at once
/// every time must not spin a core.
const RESTART_PAUSE: Duration = Duration::from_millis(500);

/// Starts a client's threads and counts their panics. Cheap to clone: every
/// service of one client shares the count.
#[derive(Clone, Debug, Default)]
pub(crate) struct Threads {
    logger: Logger,
    panics: Arc<AtomicU64>,
}

/// A started thread, joined by [`LibraryThread::join`].
#[derive(Debug)]
pub(crate) struct LibraryThread {
    handle: JoinHandle<()>,
}

impl Threads {
    pub(crate) fn new(logger: Logger) -> Threads {
        Threads {
            logger,
            panics: Arc::default(),
        }
    }

    /// Panics caught on this client's threads so far.
    pub(crate) fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// Starts `body` on a thread named `name` (shown by `top -H`, gdb).
    /// With [`AfterPanic::Restart`] the body is run again after a panic;
    /// `what` says in the log line what the thread does ("the call-log
    /// feeder"). An error when the system has no thread to give.
    pub(crate) fn start(
        &self,
        name: &'static str,
        what: &'static str,
        after: AfterPanic,
        body: impl Fn() + Send + 'static,
    ) -> Result<LibraryThread, Error> {
        let guard = self.clone();
        self.spawn(name, move || loop {
            match catch_unwind(AssertUnwindSafe(&body)) {
                Ok(()) => return,
                Err(_) => guard.caught(what, after),
            }
            match after {
                AfterPanic::End => return,
                AfterPanic::Restart => thread::sleep(RESTART_PAUSE),
            }
        })
    }

    /// Starts a body that runs once, and `on_panic` if it panicked (to put
    /// right what the body would have set: a state left "connecting").
    pub(crate) fn start_once(
        &self,
        name: &'static str,
        what: &'static str,
        body: impl FnOnce() + Send + 'static,
        on_panic: impl FnOnce() + Send + 'static,
    ) -> Result<LibraryThread, Error> {
        let guard = self.clone();
        self.spawn(name, move || {
            if catch_unwind(AssertUnwindSafe(body)).is_err() {
                guard.caught(what, AfterPanic::End);
                // Guarded too: it must not undo the guard.
                let _ = catch_unwind(AssertUnwindSafe(on_panic));
            }
        })
    }

    fn spawn(
        &self,
        name: &'static str,
        run: impl FnOnce() + Send + 'static,
    ) -> Result<LibraryThread, Error> {
        thread::Builder::new()
            .name(name.to_string())
            .spawn(run)
            .map(|handle| LibraryThread { handle })
            .map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("could not start a thread ({name}): {e}"),
                )
            })
    }

    fn caught(&self, what: &str, after: AfterPanic) {
        self.panics.fetch_add(1, Ordering::Relaxed);
        let then = match after {
            AfterPanic::End => "it has ended",
            AfterPanic::Restart => "it starts again",
        };
        self.logger.log(Level::Error, || {
            format!("internal error: a panic in {what} was caught; {then} (please report this bug)")
        });
    }
}

impl LibraryThread {
    /// Waits for the thread to end. Its body is guarded, so it cannot end in
    /// a panic; the join's result says nothing more.
    pub(crate) fn join(self) {
        let _ = self.handle.join();
    }

    /// Whether it has ended (its handle can be dropped).
    pub(crate) fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Mutex;

    fn recording() -> (Threads, Arc<Mutex<Vec<String>>>) {
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&lines);
        let logger = Logger::new(Arc::new(move |_: Level, line: &str| {
            sink.lock().unwrap().push(line.to_string())
        }));
        (Threads::new(logger), lines)
    }

    #[test]
    fn a_panic_is_counted_and_logged_and_the_thread_ends() {
        let (threads, lines) = recording();
        threads
            .start("lsq-test", "the test service", AfterPanic::End, || {
                panic!("bug")
            })
            .unwrap()
            .join();
        assert_eq!(threads.panics(), 1);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("a panic in the test service was caught; it has ended"));
    }

    #[test]
    fn a_restarting_body_runs_again_until_it_returns() {
        let (threads, lines) = recording();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&runs);
        threads
            .start("lsq-test", "the feeder", AfterPanic::Restart, move || {
                if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("bug");
                }
            })
            .unwrap()
            .join();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(threads.panics(), 2);
        assert!(lines.lock().unwrap()[0].contains("it starts again"));
    }

    #[test]
    fn start_once_puts_things_right_after_a_panic() {
        let (threads, _) = recording();
        let fixed = Arc::new(AtomicU32::new(0));
        let f = Arc::clone(&fixed);
        threads
            .start_once(
                "lsq-test",
                "a connect",
                || panic!("bug"),
                move || f.store(1, Ordering::SeqCst),
            )
            .unwrap()
            .join();
        assert_eq!(fixed.load(Ordering::SeqCst), 1);
        assert_eq!(threads.panics(), 1);
        let (threads, _) = recording();
        threads
            .start_once("lsq-test", "x", || {}, || panic!("never"))
            .unwrap()
            .join();
        assert_eq!(threads.panics(), 0);
    }
}
