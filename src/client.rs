//! The client: created once, shared by every call thread, freed last.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::api::log_call::CallLog;
use crate::api::popup::Popup;
use crate::call_logs::CallLogs;
use crate::context::{Context, Parts, Settings};
use crate::credentials::Credentials;
use crate::discovery;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind};
use crate::flow::popup::deliver_popup;
use crate::flow::tasks::{LookupTask, PopupTask, RingingTask, Timing};
use crate::flow::{self, ringing::Ringing};
use crate::log::Level;
use crate::lookup::{CachePolicy, Directory};
use crate::net::transport::Transport;
use crate::options::Options;
use crate::phone::normalise;
use crate::report::Report;
use crate::report::{LeadReport, RingingReport};
use crate::sched::dedup::Dedup;
use crate::sched::job::{Class, Job};
use crate::sched::ratelimit::Limiter;
use crate::sched::scheduler::{Capacity, Scheduler};
use crate::sched::shared_budget::{KeyName, SharedBudget};
use crate::sched::workers::{self as engine, guarded};
use crate::stats::{self, Stats};
use crate::threads::Threads;

/// A LeadSquared client. Thread-safe: share it (`&Client`) between threads.
/// Dropping it shuts it down as [`Client::shutdown`] does.
pub struct Client {
    ctx: Arc<Context>,
    /// Set once shutdown has run (it is idempotent), held while it runs.
    shut_down: Mutex<bool>,
}

impl Client {
    /// Creates a client for `host` (see [`Endpoint::parse`]; `"auto"` asks
    /// LeadSquared, see [`discovery`]) with the keys and options. Checks
    /// every option ([`Options::validate`]), whatever built them; does no
    /// network I/O but `auto`'s one question; reads `ca_file` if set; starts
    /// the async workers.
    pub fn new(
        host: &str,
        access_key: &str,
        secret_key: &str,
        mut options: Options,
    ) -> Result<Client, Error> {
        options.validate()?;
        let credentials = Credentials::new(access_key, secret_key)?;
        let host = match discovery::is_auto(host) {
            true => discovery::find_host(&credentials, &mut options)?,
            false => host.to_string(),
        };
        let endpoint = Endpoint::parse(&host, options.allow_http)?;
        let threads = Threads::new(options.logger.clone());
        // The shared budget's name: by default a one-way hash of the access key.
        let budget = match &options.rate_limit_redis {
            Some(url) => Some(SharedBudget::with_threads(
                url.clone(),
                KeyName::for_client(options.rate_limit_key.as_deref(), access_key)?,
                options.rate_limit_redis_timeout,
                options.logger.clone(),
                threads.clone(),
            )),
            None => None,
        };
        let transport = Transport::new(&endpoint, &credentials, &options, &threads)?;
        let settings = Settings {
            max_age: options.max_age,
            max_retries: options.max_retries,
            shutdown_timeout: options.shutdown_timeout,
            unknown_caller: options.unknown_caller,
            lead_source: options.lead_source.clone(),
            number_plan: options.number_plan.clone(),
        };
        let sched = Scheduler::new(
            Limiter::new(options.rate_limit),
            budget,
            Capacity {
                queue: options.queue_capacity,
                max_workers: options.max_in_flight(),
                max_log_workers: (options.max_in_flight() / 4).max(1),
            },
            Dedup::new(options.dedup_window),
            options.logger.clone(),
            threads.clone(),
        );
        let logs = CallLogs::open(
            options.outbox.as_deref(),
            options.log_max_age,
            options.log_retry_max,
            options.logger.clone(),
        )?;
        let directory = Directory::new(CachePolicy {
            lead_ttl: options.lead_cache_ttl,
            miss_ttl: options.lead_miss_ttl,
            capacity: options.lead_cache_capacity,
            user_ttl: options.user_cache_ttl,
        });
        #[allow(unused_mut)] // set below only with the test-hooks feature
        let mut ctx = Context::new(Parts {
            transport,
            credentials,
            logger: options.logger.clone(),
            settings,
            directory,
            logs,
            threads,
            sched,
        });
        #[cfg(feature = "test-hooks")]
        {
            ctx.test_panic = options.test_panic.clone();
        }
        ctx.test_panic("client_new");
        let ctx = Arc::new(ctx);
        engine::spawn_workers(&ctx.sched, options.workers)?;
        if let Err(e) = crate::flow::call_log::feeder::start(&ctx) {
            ctx.shutdown();
            return Err(e);
        }
        // The client exists before anything calls the host's log sink: if that
        // panics, dropping the client still stops and joins the workers.
        let client = Client {
            ctx,
            shut_down: Mutex::new(false),
        };
        client.ctx.logger.log(Level::Info, || {
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
        let dedup = (popup.call_session_id, popup.user_id);
        if let Err(e) = self
            .ctx
            .sched
            .begin_blocking(started, Class::Popup, Some(dedup))
        {
            return Report::unsent(e, started.elapsed());
        }
        let deadline = started + self.ctx.settings.max_age;
        let report = guarded(
            |e| Report::unsent(e, started.elapsed()),
            || deliver_popup(&self.ctx, popup, started, deadline),
        );
        self.ctx
            .sched
            .finish(Class::Popup, Some(report.error_kind()));
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
        let (ctx, popup_owned, done) = (
            Arc::clone(&self.ctx),
            popup.to_owned_popup(),
            Box::new(on_done),
        );
        let dedup = (popup.call_session_id, popup.user_id);
        self.submit(
            |timing| {
                Box::new(PopupTask {
                    ctx,
                    popup: popup_owned,
                    done,
                    timing,
                })
            },
            Some(dedup),
        )
    }

    /// Queues the task `make` builds (validated and copied) with its
    /// timing; logs why when it is refused.
    fn submit(
        &self,
        make: impl FnOnce(Timing) -> Job,
        dedup: Option<(&str, &str)>,
    ) -> Result<(), Error> {
        let queued_at = Instant::now();
        let task = make(Timing {
            queued_at,
            deadline: queued_at + self.ctx.settings.max_age,
        });
        let submitted = engine::submit(&self.ctx.sched, task, queued_at, dedup);
        if let Err(e) = &submitted {
            // A duplicate is the expected outcome of a ring-all queue, not a problem.
            let level = match e.kind() {
                ErrorKind::Duplicate => Level::Debug,
                _ => Level::Warn,
            };
            let call = dedup.map_or(String::new(), |(call, _)| format!("call {call}: "));
            self.ctx
                .logger
                .log(level, || format!("{call}not queued: {e}"));
        }
        submitted
    }

    /// Finds the lead for a phone number as the PBX gives it (normalised
    /// with the number plan options), blocking until it ends: from the
    /// cache, else one request shared with concurrent lookups of the same
    /// number, else (with `unknown_caller=create`) a lead created for it.
    /// `NoMatch` when no lead has the number.
    pub fn find_lead(&self, phone: &str) -> LeadReport {
        let started = Instant::now();
        let number = match normalise("phone", phone, &self.ctx.settings.number_plan) {
            Ok(number) => number,
            Err(e) => return LeadReport::unsent(e, started.elapsed()),
        };
        if let Err(e) = self.ctx.sched.begin_blocking(started, Class::Lookup, None) {
            return LeadReport::unsent(e, started.elapsed());
        }
        let deadline = started + self.ctx.settings.max_age;
        let report = guarded(
            |e| LeadReport::unsent(e, started.elapsed()),
            || flow::find_lead::run(&self.ctx, &number, started, deadline),
        );
        self.ctx.sched.finish(Class::Lookup, None);
        report
    }

    /// [`Client::find_lead`], queued: returns at once. `Ok(())` means
    /// queued: `on_done` is then called exactly once, on a library thread.
    /// An error means not queued, and `on_done` is dropped uncalled.
    pub fn find_lead_async(
        &self,
        phone: &str,
        on_done: impl FnOnce(LeadReport) + Send + 'static,
    ) -> Result<(), Error> {
        let number = normalise("phone", phone, &self.ctx.settings.number_plan)?;
        let (ctx, done) = (Arc::clone(&self.ctx), Box::new(on_done));
        self.submit(
            |timing| {
                Box::new(LookupTask {
                    ctx,
                    number,
                    done,
                    timing,
                })
            },
            None,
        )
    }

    /// An agent's phone rings: finds the lead (unless `lead_id` is given)
    /// and the agent's UserId (when `user` is an e-mail), then shows the
    /// popup, all within `max_age` of this call; blocks until it ends. No
    /// popup without a lead (`NoMatch`).
    pub fn agent_ringing(&self, ringing: &Ringing<'_>) -> RingingReport {
        let started = Instant::now();
        let unsent = |e: Error| RingingReport {
            popup: Report::unsent(e.clone(), started.elapsed()),
            lead: LeadReport::unsent(e, started.elapsed()),
        };
        let number = match ringing.validate(&self.ctx.settings.number_plan) {
            Ok(number) => number,
            Err(e) => return unsent(e),
        };
        let user = ringing.dedup_user();
        let dedup = (ringing.call_session_id, user.as_str());
        if let Err(e) = self
            .ctx
            .sched
            .begin_blocking(started, Class::Popup, Some(dedup))
        {
            return unsent(e);
        }
        let deadline = started + self.ctx.settings.max_age;
        let report = guarded(unsent, || {
            flow::ringing::run(&self.ctx, ringing, number.as_ref(), started, deadline)
        });
        self.ctx
            .sched
            .finish(Class::Popup, Some(report.popup.error_kind()));
        report
    }

    /// [`Client::agent_ringing`], queued: validates and copies, returns at
    /// once. `Ok(())` means queued: `on_done` is then called exactly once, on
    /// a library thread. An error means not queued (invalid, queue full,
    /// duplicate, shutting down), and `on_done` is dropped uncalled.
    pub fn agent_ringing_async(
        &self,
        ringing: &Ringing<'_>,
        on_done: impl FnOnce(RingingReport) + Send + 'static,
    ) -> Result<(), Error> {
        let number = ringing.validate(&self.ctx.settings.number_plan)?;
        let user = ringing.dedup_user();
        let (ctx, owned, done) = (
            Arc::clone(&self.ctx),
            ringing.to_owned_ringing(number),
            Box::new(on_done),
        );
        self.submit(
            |timing| {
                Box::new(RingingTask {
                    ctx,
                    ringing: owned,
                    done,
                    timing,
                })
            },
            Some((ringing.call_session_id, user.as_str())),
        )
    }

    /// Logs a call (after hangup): validates it, stores it in the outbox
    /// (committed and synced when the outbox is a file), then makes one
    /// delivery attempt cycle and returns its report. A failure that is
    /// worth retrying leaves the log pending: the workers send it later.
    pub fn log_call(&self, log: &CallLog<'_>) -> Report {
        let started = Instant::now();
        let unsent = |e: Error| Report::unsent(e, started.elapsed());
        if let Err(e) = self.accepting().and_then(|()| log.validate(unix_now())) {
            return unsent(e);
        }
        // Should the feeder have queued it meanwhile, it may be sent twice:
        // at least once, as promised.
        let job = match self.ctx.logs.accept(log, None) {
            Ok((job, _)) => job,
            Err(e) => return unsent(e),
        };
        if let Err(e) = self.ctx.sched.begin_blocking(started, Class::Log, None) {
            return unsent(e);
        }
        let (report, _) = crate::flow::call_log::task::send_log(&self.ctx, &job, started);
        self.ctx.sched.finish(Class::Log, None);
        report
    }

    /// Logs a call: validates it, stores it (committed and synced when the
    /// outbox is a file) and returns: `Ok(())` means stored, and the log
    /// will be sent at least once, whatever happens to this process.
    /// `on_done` is called exactly once, on a library thread, when it is
    /// delivered, dead, or (at shutdown) still pending. An error means not
    /// stored (invalid, storage failure, shutting down) and `on_done` is
    /// dropped uncalled.
    pub fn log_call_async(
        &self,
        log: &CallLog<'_>,
        on_done: impl FnOnce(Report) + Send + 'static,
    ) -> Result<(), Error> {
        self.accepting()?;
        log.validate(unix_now())?;
        let (job, ours) = self.ctx.logs.accept(log, Some(Box::new(on_done)))?;
        if !ours {
            return Ok(()); // the feeder queued it already
        }
        let task = crate::flow::call_log::task::LogTask {
            ctx: Arc::clone(&self.ctx),
            job,
            queued_at: Instant::now(),
        };
        engine::enqueue(&self.ctx.sched, Box::new(task))
    }

    /// Call logs pending (not yet delivered) and dead (kept, never sent
    /// again unless an admin asks) in the outbox.
    pub fn outbox_count(&self) -> Result<(u64, u64), Error> {
        self.ctx.logs.counts()
    }

    /// Refuses new work once shutdown has begun.
    fn accepting(&self) -> Result<(), Error> {
        if self.ctx.sched.state().closing {
            return Err(Error::new(
                ErrorKind::Cancelled,
                "the client is shutting down: not accepted",
            ));
        }
        Ok(())
    }

    /// Waits until nothing is queued or in flight (every callback returned),
    /// or fails with `Timeout`. Refused from one of this client's callbacks.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if engine::is_own_worker(&self.ctx.sched) {
            return Err(Error::invalid(
                "flush called from a callback of the same client: it would wait on itself",
            ));
        }
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(far_future);
        if self.ctx.sched.wait_idle(deadline) {
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

    /// The counters in the Prometheus text exposition format: popups by
    /// final status, lookups (by status, cache hits, shared in flight),
    /// leads created, call logs (accepted, delivered, pending, dead,
    /// retries), requests by endpoint and HTTP status, rate-limit answers,
    /// the limiter's current N/W, and what waits, by urgency class.
    pub fn metrics(&self) -> String {
        crate::metrics::render(&self.ctx)
    }

    /// A consistent snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let state = self.ctx.sched.state();
        stats::snapshot(&state.counters, state.queued_popups(), &self.ctx.wire)
    }

    /// Stops taking popups, lets queued ones finish for `shutdown_timeout`,
    /// cancels the rest, and returns when every callback has returned and
    /// every worker has ended. Refused from one of this client's callbacks.
    /// Idempotent: a second call (from any thread) waits for the first to
    /// finish and returns.
    pub fn shutdown(&self) -> Result<(), Error> {
        if engine::is_own_worker(&self.ctx.sched) {
            return Err(Error::invalid(
                "free called from a callback of the same client: it would wait on itself",
            ));
        }
        // Held through the whole shutdown, so a concurrent second call
        // returns only once the first has joined every worker.
        let mut shut_down = self
            .shut_down
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !*shut_down {
            *shut_down = true;
            self.ctx.shutdown();
            self.ctx.transport.stop_warming();
            drop(shut_down);
            self.ctx
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
            self.ctx.logger.log(Level::Error, || {
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

/// Unix seconds now, for a call log's time checks.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}
