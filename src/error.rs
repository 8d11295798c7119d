//! The error type of the Rust core. Each [`ErrorKind`] is one of the C
//! contract's statuses (`LSQ_OK` is the absence of an error), with the same
//! number, so the FFI layer maps them without a table that could drift.

use std::fmt;

/// Why a popup (or a call) did not succeed. The discriminants are the C
/// contract's stable status numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad input: nothing was sent.
    InvalidArgument = 1,
    /// HTTP 400.
    BadRequest = 2,
    /// HTTP 401: check the keys and the regional host.
    Unauthorized = 3,
    /// HTTP 404.
    NotFound = 4,
    /// The server's rate limit, still hit when retries and `max_age` ran out.
    RateLimited = 5,
    /// HTTP 5xx.
    Server = 6,
    /// Any other non-2xx status.
    Http = 7,
    /// No complete answer within `timeout_ms`.
    Timeout = 8,
    /// DNS, refused, proxy, or the connection closed before an answer.
    Connect = 9,
    /// Handshake or certificate failure.
    Tls = 10,
    /// A 2xx whose body is not the documented success shape, or too large.
    Response = 11,
    /// The async queue is at capacity: the popup was not queued.
    QueueFull = 12,
    /// Could not be sent within `max_age`: dropped, never sent late.
    Expired = 13,
    /// The client was shut down before the popup could be sent.
    Cancelled = 14,
    /// A bug inside the library.
    Internal = 15,
    /// Not sent: same CallSessionId and UserId within the dedup window.
    Duplicate = 16,
    /// A lookup found no lead (or no user for an e-mail): nothing failed.
    NoMatch = 17,
    /// The call-log outbox could not be opened, read or written.
    Storage = 18,
}

impl ErrorKind {
    /// Every kind, in numeric order.
    pub const ALL: [ErrorKind; 18] = [
        ErrorKind::InvalidArgument,
        ErrorKind::BadRequest,
        ErrorKind::Unauthorized,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::Server,
        ErrorKind::Http,
        ErrorKind::Timeout,
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Response,
        ErrorKind::QueueFull,
        ErrorKind::Expired,
        ErrorKind::Cancelled,
        ErrorKind::Internal,
        ErrorKind::Duplicate,
        ErrorKind::NoMatch,
        ErrorKind::Storage,
    ];

    /// The contract's status number.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The kind with this status number, if any (0 is success, not a kind).
    #[cfg(test)]
    fn from_code(code: i64) -> Option<ErrorKind> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.code() as i64 == code)
    }

    /// A short, static description, as `lsq_status_str` returns it.
    pub const fn description(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument: nothing was sent",
            ErrorKind::BadRequest => "bad request (HTTP 400)",
            ErrorKind::Unauthorized => {
                "unauthorized (HTTP 401): check the keys and the regional host"
            }
            ErrorKind::NotFound => "not found (HTTP 404)",
            ErrorKind::RateLimited => "rate limited by the server",
            ErrorKind::Server => "server error (HTTP 5xx)",
            ErrorKind::Http => "unexpected HTTP status",
            ErrorKind::Timeout => "timed out waiting for the answer",
            ErrorKind::Connect => "could not connect, or the connection closed before an answer",
            ErrorKind::Tls => "TLS handshake or certificate failure",
            ErrorKind::Response => "the server's answer is not the documented shape",
            ErrorKind::QueueFull => "queue full: the popup was not queued",
            ErrorKind::Expired => "expired: not sent within max_age_ms",
            ErrorKind::Cancelled => "cancelled: the client was freed first",
            ErrorKind::Internal => "internal error in liblsq",
            ErrorKind::Duplicate => "duplicate popup within dedup_window_ms: not sent",
            ErrorKind::NoMatch => "no match: no lead (or no user) for what was looked up",
            ErrorKind::Storage => "the call-log outbox could not be opened, read or written",
        }
    }
}

/// An error with its kind and a human-readable reason. The reason never
/// contains the access key or the secret key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` explained by `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// Shorthand for [`ErrorKind::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// The kind, i.e. the contract's status.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The reason, for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_contract_values_and_round_trip() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.code(), i as i32 + 1);
            assert_eq!(ErrorKind::from_code(i as i64 + 1), Some(*kind));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::from_code(19), None);
        assert_eq!(ErrorKind::from_code(-1), None);
    }
}
