//! The client: created once, shared by every call thread, freed last.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::api::popup::Popup;
use crate::credentials::Credentials;
use crate::error::{Error, ErrorKind};
use crate::log::Level;
use crate::net::endpoint::Endpoint;
use crate::net::transport::Transport;
use crate::options::Options;
use crate::report::Report;
use crate::sched::dedup::Dedup;
use crate::sched::delivery::deliver_popup_guarded;
use crate::sched::ratelimit::Limiter;
use crate::sched::shared::{Job, Limits, Shared};
use crate::sched::workers as engine;
use crate::stats::{self, Stats};

/// A LeadSquared client. Thread-safe: share it (`&Client`) between threads.
/// Dropping it shuts it down as [`Client::shutdown`] does.
pub struct Client {
    shared: Arc<Shared>,
    /// The workers, until shutdown takes them to join (then empty: shutdown
    /// is idempotent).
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Client {
    /// Creates a client for `host` (see [`Endpoint::parse`]) with the keys
    /// and options. Checks every option ([`Options::validate`]), whatever
    /// built them; does no network I/O; reads `ca_file` if set; starts the
    /// async workers.
    pub fn new(
        host: &str,
        access_key: &str,
        secret_key: &str,
        options: Options,
    ) -> Result<Client, Error> {
        options.validate()?;
        let endpoint = Endpoint::parse(host, options.allow_http)?;
        let credentials = Credentials::new(access_key, secret_key)?;
        let transport = Transport::new(&endpoint, &credentials, &options)?;
        let limits = Limits {
            max_age: options.max_age,
            max_retries: options.max_retries,
            queue_capacity: options.queue_capacity,
            shutdown_timeout: options.shutdown_timeout,
        };
        #[allow(unused_mut)]
        let mut shared = Shared::new(
            transport,
            credentials,
            Limiter::new(options.rate_limit),
            options.logger.clone(),
            limits,
            Dedup::new(options.dedup_window),
        );
        #[cfg(feature = "test-hooks")]
        {
            shared.test_panic = options.test_panic.clone();
        }
        shared.test_panic("client_new");
        let shared = Arc::new(shared);
        let workers = engine::spawn_workers(&shared, options.workers)?;
        // The client exists before anything calls the host's log sink: if that
        // panics, dropping the client still stops and joins the workers.
        let client = Client {
            shared,
            workers: Mutex::new(workers),
        };
        client.shared.logger.log(Level::Info, || {
            let limit = options
                .rate_limit
                .map_or("off".to_string(), |l| l.to_string());
            format!(
                "client ready for {}: {} workers, rate limit {limit}",
                endpoint.base(),
                options.workers
            )
        });
        Ok(client)
    }

    /// Shows a popup, blocking until it ends in a report: validation, the
    /// rate limiter, the request and any retries, at most `max_age` in all
    /// (plus the last attempt's timeout).
    pub fn show_agent_popup(&self, popup: &Popup<'_>) -> Report {
        let started = Instant::now();
        if let Err(e) = popup.validate() {
            return Report::unsent(e, started.elapsed());
        }
        if let Err(e) = self.shared.begin_blocking(started, popup) {
            return Report::unsent(e, started.elapsed());
        }
        let report = deliver_popup_guarded(
            &self.shared,
            popup,
            started,
            started + self.shared.limits.max_age,
        );
        self.shared.finish(report.error_kind());
        report
    }

    /// Validates and copies the popup and queues it; returns at once.
    /// `Ok(())` means queued: `on_done` is then called exactly once, on a
    /// library thread, with the final report. An error means not queued
    /// (invalid, queue full, duplicate, shutting down) and `on_done` is
    /// dropped uncalled.
    pub fn show_agent_popup_async(
        &self,
        popup: &Popup<'_>,
        on_done: impl FnOnce(Report) + Send + 'static,
    ) -> Result<(), Error> {
        popup.validate()?;
        let queued_at = Instant::now();
        let job = Job {
            popup: popup.to_owned_popup(),
            queued_at,
            deadline: queued_at + self.shared.limits.max_age,
            done: Box::new(on_done),
        };
        let submitted = engine::submit(&self.shared, job);
        if let Err(e) = &submitted {
            // A duplicate is the expected outcome of a ring-all queue, not a problem.
            let level = match e.kind() {
                ErrorKind::Duplicate => Level::Debug,
                _ => Level::Warn,
            };
            self.shared.logger.log(level, || {
                format!("call {}: not queued: {e}", popup.call_session_id)
            });
        }
        submitted
    }

    /// Waits until nothing is queued or in flight (every callback returned),
    /// or fails with `Timeout`. Refused from one of this client's callbacks.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if engine::is_own_worker(&self.shared) {
            return Err(Error::invalid(
                "flush called from a callback of the same client: it would wait on itself",
            ));
        }
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(far_future);
        if self.shared.wait_idle(deadline) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "flush: popups still pending after {} ms",
                    timeout.as_millis()
                ),
            ))
        }
    }

    /// A consistent snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let state = self.shared.state();
        stats::snapshot(&state.counters, state.queue.len(), &self.shared.wire)
    }

    /// Stops taking popups, lets queued ones finish for `shutdown_timeout`,
    /// cancels the rest, and returns when every callback has returned and
    /// every worker has ended. Refused from one of this client's callbacks.
    /// Idempotent: a second call (from any thread) waits for the first to
    /// finish and returns.
    pub fn shutdown(&self) -> Result<(), Error> {
        if engine::is_own_worker(&self.shared) {
            return Err(Error::invalid(
                "free called from a callback of the same client: it would wait on itself",
            ));
        }
        // Held through the whole shutdown, so a concurrent second call
        // returns only once the first has joined every worker.
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        if !workers.is_empty() {
            engine::shutdown(&self.shared, std::mem::take(&mut *workers));
            self.shared.transport.stop_warming();
            drop(workers);
            self.shared
                .logger
                .log(Level::Info, || "client shut down".to_string());
        }
        Ok(())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // From a callback of this client shutdown is refused: the workers
        // then end on their own once the last Arc goes (they hold one each),
        // which cannot happen while they run, so this only logs the misuse.
        if self.shutdown().is_err() {
            self.shared.logger.log(Level::Error, || {
                "client dropped inside its own callback: not shut down".to_string()
            });
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}
