//! The request log: what the emulator received and what it answered, waitable.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::Endpoint;

/// One request as received, with the status it was answered with.
///
/// The `Debug` output hides the values of `accessKey` / `secretKey` in the query and of the
/// `x-LSQ-AccessKey` / `x-LSQ-SecretKey` headers; the fields themselves are raw.
#[derive(Clone)]
pub struct Received {
    /// The request method, as sent (`POST`).
    pub method: String,
    /// The path, without the query (`/v2/Telephony.svc/ShowAgentPopup`).
    pub path: String,
    /// The raw query after `?`, not decoded; `""` when none.
    pub query: String,
    /// The headers in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked when it came chunked.
    pub body: Vec<u8>,
    /// The status answered; 0 when no status line was written (a `Drop` or `Garbage` fault).
    pub status: u16,
    /// The name of the fault applied to this request, if one was ([`Fault::name`](crate::Fault::name)).
    pub fault: Option<&'static str>,
    /// Which connection it came on: accepted connections are numbered from 1.
    pub connection: u64,
    /// When the request was completely read.
    pub arrived: Instant,
    /// The endpoint it was routed to: its method and path are an endpoint's; `None` for a
    /// 404 (an unknown path, or a known path with the wrong method).
    pub endpoint: Option<Endpoint>,
}

impl Received {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The query with the values of `accessKey` and `secretKey` replaced by `***`.
    pub fn redacted_query(&self) -> String {
        redact_query(&self.query)
    }
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                if is_key_header(n) {
                    (n.as_str(), "***")
                } else {
                    (n.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("Received")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.redacted_query())
            .field("headers", &headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("status", &self.status)
            .field("fault", &self.fault)
            .field("connection", &self.connection)
            .field("arrived", &self.arrived)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// True for the two headers that carry the keys.
pub(crate) fn is_key_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("x-LSQ-AccessKey") || name.eq_ignore_ascii_case("x-LSQ-SecretKey")
}

/// `accessKey=AK&x=1` -> `accessKey=***&x=1` (names compared case-insensitively).
pub(crate) fn redact_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let name = pair.split('=').next().unwrap_or("");
        if name.eq_ignore_ascii_case("accessKey") || name.eq_ignore_ascii_case("secretKey") {
            out.push_str(name);
            out.push_str("=***");
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// The exact counts of what was recorded (kept even when records are dropped).
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) total: u64,
    pub(crate) by_status: HashMap<u16, u64>,
    by_endpoint: HashMap<Endpoint, u64>,
    by_endpoint_status: HashMap<(Endpoint, u16), u64>,
}

impl Counts {
    /// Requests for `endpoint`, with `status` when given.
    pub(crate) fn for_endpoint(&self, endpoint: Endpoint, status: Option<u16>) -> u64 {
        let n = match status {
            None => self.by_endpoint.get(&endpoint),
            Some(s) => self.by_endpoint_status.get(&(endpoint, s)),
        };
        n.copied().unwrap_or(0)
    }
}

#[derive(Default)]
struct Inner {
    records: VecDeque<Received>,
    counts: Counts,
}

/// The log shared between connection threads and the [`Emulator`](crate::Emulator) handle.
pub(crate) struct RequestLog {
    inner: Mutex<Inner>,
    changed: Condvar,
    limit: Option<usize>,
}

impl RequestLog {
    pub(crate) fn new(limit: Option<usize>) -> Self {
        RequestLog {
            inner: Mutex::new(Inner::default()),
            changed: Condvar::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not make every later call panic too.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(&self, r: Received) {
        let mut g = self.lock();
        let c = &mut g.counts;
        c.total += 1;
        *c.by_status.entry(r.status).or_insert(0) += 1;
        if let Some(e) = r.endpoint {
            *c.by_endpoint.entry(e).or_insert(0) += 1;
            *c.by_endpoint_status.entry((e, r.status)).or_insert(0) += 1;
        }
        if self.limit != Some(0) {
            if let Some(limit) = self.limit {
                while g.records.len() >= limit {
                    g.records.pop_front();
                }
            }
            g.records.push_back(r);
        }
        drop(g);
        self.changed.notify_all();
    }

    pub(crate) fn requests(&self) -> Vec<Received> {
        self.lock().records.iter().cloned().collect()
    }

    pub(crate) fn count(&self) -> u64 {
        self.lock().counts.total
    }

    pub(crate) fn count_with_status(&self, status: u16) -> u64 {
        self.lock()
            .counts
            .by_status
            .get(&status)
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn count_for(&self, endpoint: Endpoint, status: Option<u16>) -> u64 {
        self.lock().counts.for_endpoint(endpoint, status)
    }

    pub(crate) fn clear(&self) {
        let mut g = self.lock();
        *g = Inner::default();
    }

    /// Waits until `pred(counts)` holds or `timeout` passes; returns whether it held.
    pub(crate) fn wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Counts) -> bool,
    ) -> bool {
        let g = self.lock();
        let (g, _) = self
            .changed
            .wait_timeout_while(g, timeout, |i| !pred(&i.counts))
            .unwrap_or_else(|e| e.into_inner());
        pred(&g.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_keys_only() {
        assert_eq!(
            redact_query("accessKey=a%24b&x=1&SecretKey=zz"),
            "accessKey=***&x=1&SecretKey=***"
        );
        assert_eq!(redact_query(""), "");
    }
}
