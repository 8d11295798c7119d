//! The call logs the emulator accepted, in order, waitable: tests count deliveries and
//! duplicates (by CallSessionId) without polling.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// One call log accepted by `POST /v2/Telephony.svc/LogCall`.
#[derive(Clone, Debug, PartialEq)]
pub struct CallLog {
    /// The `Message.Id` it was answered with.
    pub id: String,
    /// Its CallSessionId.
    pub call_session_id: String,
    /// The body's names and values, as received.
    pub fields: Map<String, Value>,
    /// The connection it came on (see [`Received::connection`](crate::Received::connection)).
    pub connection: u64,
    /// When the request was completely read.
    pub arrived: Instant,
}

impl CallLog {
    /// A string field of the body (`"Status"`, `"StartTime"`, ...), if present.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// CallDuration, in seconds.
    pub fn duration(&self) -> u64 {
        self.fields
            .get("CallDuration")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// The body as a JSON object.
    pub fn json(&self) -> Value {
        Value::Object(self.fields.clone())
    }
}

#[derive(Default)]
struct Inner {
    logs: Vec<CallLog>,
}

/// The store shared by the connection threads and the handle.
#[derive(Default)]
pub(crate) struct CallLogs {
    inner: Mutex<Inner>,
    changed: Condvar,
}

impl CallLogs {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, log: CallLog) {
        self.lock().logs.push(log);
        self.changed.notify_all();
    }

    pub(crate) fn all(&self) -> Vec<CallLog> {
        self.lock().logs.clone()
    }

    pub(crate) fn count(&self) -> usize {
        self.lock().logs.len()
    }

    pub(crate) fn for_session(&self, id: &str) -> Vec<CallLog> {
        self.lock()
            .logs
            .iter()
            .filter(|l| l.call_session_id == id)
            .cloned()
            .collect()
    }

    pub(crate) fn clear(&self) {
        self.lock().logs.clear();
    }

    /// Waits until `pred(logs)` holds or `timeout` passes; returns whether it held.
    pub(crate) fn wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&[CallLog]) -> bool,
    ) -> bool {
        let g = self.lock();
        let (g, _) = self
            .changed
            .wait_timeout_while(g, timeout, |i| !pred(&i.logs))
            .unwrap_or_else(|e| e.into_inner());
        pred(&g.logs)
    }
}
