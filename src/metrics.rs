//! The client's counters in the Prometheus text exposition format
//! (`lsq_client_metrics`): popups, lookups, call logs, requests by endpoint
//! and status, rate limits, the limiter, and what waits, by class.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::error::ErrorKind;
use crate::sched::job::Class;
use crate::sched::shared::Shared;
use crate::stats::STATUSES;

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

struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {value}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
        }
    }
}

/// The exposition of `shared`'s counters.
pub(crate) fn render(shared: &Shared) -> String {
    let mut out = Exposition(String::with_capacity(4096));
    let (popups, queued, active) = {
        let state = shared.state();
        let queued: Vec<usize> = state.queues.iter().map(|q| q.len()).collect();
        (state.counters.by_status, queued, state.active_by_class)
    };

    out.family(
        "lsq_popups_total",
        "counter",
        "Popups (and agents ringing) ended, by final status.",
    );
    for (i, n) in popups.iter().enumerate().filter(|(_, n)| **n > 0) {
        out.sample(
            "lsq_popups_total",
            &format!("status=\"{}\"", status_label(i)),
            n,
        );
    }

    let lookups = &shared.lookups;
    out.family(
        "lsq_lookups_total",
        "counter",
        "Lead lookups ended, by status (no_match: no lead).",
    );
    for i in 0..STATUSES {
        let n = lookups.by_status[i].load(Ordering::Relaxed);
        if n > 0 {
            out.sample(
                "lsq_lookups_total",
                &format!("status=\"{}\"", status_label(i)),
                n,
            );
        }
    }
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
    ] {
        out.family(name, "counter", help);
        out.sample(name, "", value.load(Ordering::Relaxed));
    }

    let logs = &shared.logs.counters;
    for (name, help, value) in [
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
        out.family(name, "counter", help);
        out.sample(name, "", value.load(Ordering::Relaxed));
    }
    if let Ok((pending, dead)) = shared.logs.counts() {
        out.family(
            "lsq_call_logs_pending",
            "gauge",
            "Call logs in the outbox not yet delivered.",
        );
        out.sample("lsq_call_logs_pending", "", pending);
        out.family(
            "lsq_call_logs_dead",
            "gauge",
            "Dead call logs kept in the outbox.",
        );
        out.sample("lsq_call_logs_dead", "", dead);
    }

    out.family(
        "lsq_requests_total",
        "counter",
        "HTTP requests by endpoint and status (0: no answer).",
    );
    let requests = shared
        .wire
        .requests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for ((path, status), n) in requests {
        let endpoint = path.rsplit('/').next().unwrap_or(path);
        out.sample(
            "lsq_requests_total",
            &format!("endpoint=\"{endpoint}\",status=\"{status}\""),
            n,
        );
    }
    out.family(
        "lsq_rate_limited_total",
        "counter",
        "Rate-limit answers received (429, 403, or inside a 200).",
    );
    out.sample(
        "lsq_rate_limited_total",
        "",
        shared.wire.rate_limited.load(Ordering::Relaxed),
    );
    out.family(
        "lsq_retries_total",
        "counter",
        "HTTP requests beyond the first of a popup or lookup.",
    );
    out.sample(
        "lsq_retries_total",
        "",
        shared.wire.retries.load(Ordering::Relaxed),
    );

    let limit = shared.limiter().limit();
    out.family(
        "lsq_rate_limit_requests",
        "gauge",
        "The limiter's current N (requests per window); 0: no limit.",
    );
    out.sample(
        "lsq_rate_limit_requests",
        "",
        limit.map_or(0, |l| l.requests()),
    );
    out.family(
        "lsq_rate_limit_window_seconds",
        "gauge",
        "The limiter's current window W.",
    );
    out.sample(
        "lsq_rate_limit_window_seconds",
        "",
        limit.map_or(0, |l| l.window().as_secs()),
    );

    if let Some(budget) = &shared.budget {
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
            out.family(name, "counter", help);
            out.sample(name, "", value);
        }
    }

    let waiting = shared.gate.waiting();
    out.family(
        "lsq_queued",
        "gauge",
        "Jobs waiting for a worker, by class.",
    );
    out.family("lsq_in_flight", "gauge", "Jobs being worked on, by class.");
    out.family(
        "lsq_waiting_for_slot",
        "gauge",
        "Requests waiting for a rate-limit slot, by class.",
    );
    for class in 0..Class::COUNT {
        let label = format!("class=\"{}\"", class_label(class));
        out.sample("lsq_queued", &label, queued[class]);
        out.sample("lsq_in_flight", &label, active[class]);
        out.sample("lsq_waiting_for_slot", &label, waiting[class]);
    }
    out.0
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
