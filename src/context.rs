//! A client's context: everything its calls and threads share (the
//! transport and the keys, the caches, the call logs, the counters) and the
//! scheduler that runs its async work. Built once by [`crate::Client`],
//! held in an `Arc` by the client and by every queued task.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::call_logs::CallLogs;
use crate::credentials::Credentials;
use crate::log::{Level, Logger};
use crate::lookup::Directory;
use crate::net::transport::Transport;
use crate::options::UnknownCaller;
use crate::phone::NumberPlan;
use crate::report::Report;
use crate::sched::job::{Class, Finally};
use crate::sched::scheduler::Scheduler;
use crate::sched::workers::{self, complete};
use crate::stats::{LookupCounters, WireCounters};
use crate::threads::{LibraryThread, Threads};

/// Settings the flows read.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub max_age: Duration,
    pub max_retries: u32,
    pub shutdown_timeout: Duration,
    pub unknown_caller: UnknownCaller,
    pub lead_source: String,
    pub number_plan: NumberPlan,
}

pub(crate) struct Context {
    pub transport: Transport,
    pub credentials: Credentials,
    pub logger: Logger,
    pub settings: Settings,
    pub wire: WireCounters,
    /// The lead and user caches and the lookups in flight.
    pub directory: Directory,
    pub lookups: LookupCounters,
    /// Call logs: the outbox, what is in flight, the completions.
    pub logs: CallLogs,
    /// Starts the client's threads, guarded; counts their panics.
    pub threads: Threads,
    /// The queues, the workers, the limiter and the gate.
    pub sched: Arc<Scheduler>,
    /// The call-log feeder, a background service of the client.
    pub feeder: Mutex<Option<LibraryThread>>,
    #[cfg(feature = "test-hooks")]
    pub test_panic: Option<String>,
    #[cfg(feature = "test-hooks")]
    pub test_panicked: std::sync::atomic::AtomicBool,
}

/// What a client is made of, built from its options.
pub(crate) struct Parts {
    pub transport: Transport,
    pub credentials: Credentials,
    pub logger: Logger,
    pub settings: Settings,
    pub directory: Directory,
    pub logs: CallLogs,
    pub threads: Threads,
    pub sched: Scheduler,
}

impl Context {
    pub fn new(parts: Parts) -> Context {
        let Parts {
            transport,
            credentials,
            logger,
            settings,
            directory,
            logs,
            threads,
            sched,
        } = parts;
        Context {
            transport,
            credentials,
            logger,
            settings,
            wire: WireCounters::default(),
            directory,
            lookups: LookupCounters::default(),
            logs,
            threads,
            sched: Arc::new(sched),
            feeder: Mutex::new(None),
            #[cfg(feature = "test-hooks")]
            test_panic: None,
            #[cfg(feature = "test-hooks")]
            test_panicked: Default::default(),
        }
    }

    /// Shutdown: stop intake, end the call logs waiting for a retry (they
    /// stay in the outbox), let the queue drain until the grace period
    /// ends, then cancel the rest and interrupt requests in flight, and
    /// join every thread.
    pub fn shutdown(self: &Arc<Self>) {
        // The grace period ends a little before shutdown_timeout, so that
        // cancelling, interrupting and joining fit inside it: the caller gets
        // control back within shutdown_timeout (plus its own callbacks' time).
        let total = self.settings.shutdown_timeout;
        let deadline = Instant::now() + total - (total / 10).min(Duration::from_millis(100));
        self.sched.close();
        // Their completions run on the workers, like every callback.
        for (done, error) in self.logs.stop() {
            let (logger, stopped_at) = (self.logger.clone(), Instant::now());
            let finally = Finally {
                class: Class::Log,
                run: Box::new(move || {
                    complete(&logger, done, Report::unsent(error, stopped_at.elapsed()))
                }),
            };
            let _ = workers::enqueue(&self.sched, Box::new(finally));
        }
        self.sched.work_ready.notify_all();
        if !self.sched.wait_idle(deadline) {
            let left = self.sched.cancel_rest();
            self.logger.log(Level::Warn, || {
                format!("shutdown: grace period over, cancelling {left} job(s)")
            });
            self.transport.interrupt();
        }
        workers::join_all(&self.sched);
        let feeder = self
            .feeder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(feeder) = feeder {
            feeder.join();
        }
    }
    /// Panics at `point` when the test hook asks for it.
    #[cfg(feature = "test-hooks")]
    pub fn test_panic(&self, point: &str) {
        if self.test_panic.as_deref() == Some(point) {
            panic!("test hook: panic at {point}");
        }
    }

    #[cfg(not(feature = "test-hooks"))]
    #[inline(always)]
    pub fn test_panic(&self, _point: &str) {}

    /// Panics at `point` the first time only (a thread that starts again
    /// after a panic must then be seen doing its work).
    #[cfg(feature = "test-hooks")]
    pub fn test_panic_once(&self, point: &str) {
        use std::sync::atomic::Ordering;
        if self.test_panic.as_deref() == Some(point)
            && !self.test_panicked.swap(true, Ordering::SeqCst)
        {
            panic!("test hook: panic at {point}");
        }
    }

    #[cfg(not(feature = "test-hooks"))]
    #[inline(always)]
    pub fn test_panic_once(&self, _point: &str) {}
}
