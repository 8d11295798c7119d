//! The optional log sink. Without one the library is silent.

use std::fmt;
use std::sync::Arc;

/// Log levels; the numbers are the contract's `LSQ_LOG_*` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// A popup failed, or the library is misused.
    Error = 0,
    /// Something degraded: retries, rate-limit answers, expiry.
    Warn = 1,
    /// Notable events: a learned limit, shutdown.
    Info = 2,
    /// Per-popup detail: queued, sent, waits on the limiter.
    Debug = 3,
}

/// A function that receives every log line. It is called from any thread,
/// so it must be thread-safe. Lines never contain the keys.
pub type LogSink = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// A sink, or none.
#[derive(Clone, Default)]
pub struct Logger {
    sink: Option<LogSink>,
}

impl Logger {
    /// A logger that forwards to `sink`.
    pub fn new(sink: LogSink) -> Logger {
        Logger { sink: Some(sink) }
    }

    /// Sends a line built lazily, only when a sink is set.
    pub fn log(&self, level: Level, line: impl FnOnce() -> String) {
        if let Some(sink) = &self.sink {
            sink(level, &line());
        }
    }
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.sink.is_some() {
            "Logger(set)"
        } else {
            "Logger(none)"
        })
    }
}
