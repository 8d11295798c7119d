//! The client's counters in the Prometheus text exposition format
//! (`lsq_client_metrics`): popups, lookups, call logs, requests by endpoint
//! and status, rate limits, the limiter, and what waits, by class.

use std::sync::atomic::Ordering;

use crate::context::Context;
use crate::error::ErrorKind;
use crate::sched::job::Class;

/// A status's label: `ok` or the error kind's name in snake case.
fn status_label(index: usize) -> String {
    if index == 0 {
        return "ok".into();
    }
    let kind = ErrorKind::ALL[index - 1];
    let name = format!("{kind:?}");
    let mut label = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            label.push('_');
        }
        label.push(c.to_ascii_lowercase());
    }
    label
}

fn class_label(class: usize) -> &'static str {
    ["popup", "lookup", "log"][class]
}

mod exposition;

use exposition::{Exposition, Kind};

/// One sample per status that has occurred, labelled `status="..."`.
fn by_status(f: &mut exposition::Family<'_>, counts: impl Iterator<Item = u64>) {
    for (i, n) in counts.enumerate().filter(|(_, n)| *n > 0) {
        f.sample(&format!("status=\"{}\"", status_label(i)), n);
    }
}

/// The exposition of `shared`'s counters.
pub(crate) fn render(shared: &Context) -> String {
    let mut out = Exposition::default();
    let (popups, queued, active) = {
        let state = shared.sched.state();
        let queued: Vec<usize> = state.queues.iter().map(|q| q.len()).collect();
        (state.counters.by_status, queued, state.active_by_class)
    };

    out.family(
        "lsq_popups_total",
        Kind::Counter,
        "Popups (and agents ringing) ended, by final status.",
        |f| by_status(f, popups.iter().copied()),
    );

    let lookups = &shared.lookups;
    out.family(
        "lsq_lookups_total",
        Kind::Counter,
        "Lead lookups ended, by status (no_match: no lead).",
        |f| {
            by_status(
                f,
                lookups.by_status.iter().map(|n| n.load(Ordering::Relaxed)),
            )
        },
    );
    let logs = &shared.logs.counters;
    for (name, help, value) in [
        (
            "lsq_lookup_cache_hits_total",
            "Lookups answered from the lead cache.",
            &lookups.cache_hits,
        ),
        (
            "lsq_lookup_shared_total",
            "Lookups that shared a request already in flight for the same number.",
            &lookups.shared,
        ),
        (
            "lsq_lookup_requests_total",
            "HTTP requests made by lookups (lead, user, create).",
            &lookups.requests,
        ),
        (
            "lsq_leads_created_total",
            "Leads created for unknown callers.",
            &lookups.created,
        ),
        (
            "lsq_call_logs_accepted_total",
            "Call logs accepted (stored).",
            &logs.accepted,
        ),
        (
            "lsq_call_logs_delivered_total",
            "Call logs delivered.",
            &logs.delivered,
        ),
        (
            "lsq_call_logs_dead_total",
            "Call logs that became dead.",
            &logs.dead,
        ),
        (
            "lsq_call_log_retries_total",
            "Call log attempts that failed and were scheduled again.",
            &logs.retries,
        ),
    ] {
        out.family(name, Kind::Counter, help, |f| {
            f.sample("", value.load(Ordering::Relaxed))
        });
    }
    if let Ok((pending, dead)) = shared.logs.counts() {
        out.family(
            "lsq_call_logs_pending",
            Kind::Gauge,
            "Call logs in the outbox not yet delivered.",
            |f| f.sample("", pending),
        );
        // Not `lsq_call_logs_dead`: to a parser that gauge and the counter
        // `lsq_call_logs_dead_total` are one family (the counter's base name).
        out.family(
            "lsq_call_logs_dead_stored",
            Kind::Gauge,
            "Dead call logs kept in the outbox now.",
            |f| f.sample("", dead),
        );
        out.family(
            "lsq_call_logs_unreadable_stored",
            Kind::Gauge,
            "Pending call logs kept in the outbox that this liblsq cannot read (a newer format, or damaged): not sent, never dead, for a liblsq that reads them.",
            |f| f.sample("", shared.logs.unreadable()),
        );
    }

    let requests = shared
        .wire
        .requests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    out.family(
        "lsq_requests_total",
        Kind::Counter,
        "HTTP requests by endpoint and status (0: no answer).",
        |f| {
            for ((path, status), n) in requests {
                let endpoint = endpoint_label(path);
                f.sample(&format!("endpoint=\"{endpoint}\",status=\"{status}\""), n);
            }
        },
    );
    let latency = shared.wire.latency.snapshot();
    out.family(
        "lsq_request_duration_seconds",
        Kind::Histogram,
        "HTTP request time by endpoint, from sending the request to the whole answer (or the failure).",
        |f| {
            for (path, h) in &latency {
                let endpoint = endpoint_label(path);
                let mut cumulative = 0;
                for (bound, n) in crate::stats::latency::BUCKETS.iter().zip(h.counts) {
                    cumulative += n;
                    f.sample_named(
                        "_bucket",
                        &format!("endpoint=\"{endpoint}\",le=\"{bound}\""),
                        cumulative,
                    );
                }
                f.sample_named(
                    "_bucket",
                    &format!("endpoint=\"{endpoint}\",le=\"+Inf\""),
                    h.count(),
                );
                f.sample_named("_sum", &format!("endpoint=\"{endpoint}\""), h.sum_seconds);
                f.sample_named("_count", &format!("endpoint=\"{endpoint}\""), h.count());
            }
        },
    );
    out.family(
        "lsq_thread_panics_total",
        Kind::Counter,
        "Panics (bugs) caught on liblsq's threads; each is also an error log line.",
        |f| f.sample("", shared.threads.panics()),
    );
    out.family(
        "lsq_rate_limited_total",
        Kind::Counter,
        "Rate-limit answers received (429, 403, or inside a 200).",
        |f| f.sample("", shared.wire.rate_limited.load(Ordering::Relaxed)),
    );
    out.family(
        "lsq_retries_total",
        Kind::Counter,
        "HTTP requests beyond the first of a request, over every endpoint.",
        |f| f.sample("", shared.wire.retries.load(Ordering::Relaxed)),
    );

    let limit = shared.sched.limiter().limit();
    out.family(
        "lsq_rate_limit_requests",
        Kind::Gauge,
        "The limiter's current N (requests per window); 0: no limit.",
        |f| f.sample("", limit.map_or(0, |l| l.requests())),
    );
    out.family(
        "lsq_rate_limit_window_seconds",
        Kind::Gauge,
        "The limiter's current window W.",
        |f| f.sample("", limit.map_or(0, |l| l.window().as_secs())),
    );

    if let Some(budget) = &shared.sched.budget {
        let c = budget.counters();
        for (name, help, value) in [
            (
                "lsq_shared_budget_grants_total",
                "Slots granted by the budget shared through Redis.",
                c.grants,
            ),
            (
                "lsq_shared_budget_fallbacks_total",
                "Requests that used the local limiter because Redis was slow or out of reach.",
                c.fallbacks,
            ),
            (
                "lsq_shared_budget_outages_total",
                "Redis outages (each logged once).",
                c.outages,
            ),
            (
                "lsq_shared_budget_round_trips_total",
                "Redis round trips.",
                c.round_trips,
            ),
        ] {
            out.family(name, Kind::Counter, help, |f| f.sample("", value));
        }
    }

    let waiting = shared.sched.gate.waiting();
    for (name, help, values) in [
        (
            "lsq_queued",
            "Jobs waiting for a worker, by class.",
            &queued[..],
        ),
        (
            "lsq_in_flight",
            "Jobs being worked on, by class.",
            &active[..],
        ),
        (
            "lsq_waiting_for_slot",
            "Requests waiting for a rate-limit slot, by class.",
            &waiting[..],
        ),
    ] {
        out.family(name, Kind::Gauge, help, |f| {
            for (class, n) in values.iter().enumerate().take(Class::COUNT) {
                f.sample(&format!("class=\"{}\"", class_label(class)), n);
            }
        });
    }
    out.finish()
}

/// An API path's last segment (`ShowAgentPopup`), the `endpoint` label.
fn endpoint_label(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_are_snake_case() {
        assert_eq!(status_label(0), "ok");
        assert_eq!(status_label(1), "invalid_argument");
        assert_eq!(status_label(17), "no_match");
        assert_eq!(status_label(18), "storage");
    }
}
