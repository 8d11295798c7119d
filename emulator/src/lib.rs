//! A LeadSquared "Show Agent Pop-Up" stand-in.
//!
//! It serves `POST /v2/Telephony.svc/ShowAgentPopup` over HTTP/1.1 (keep-alive, one thread
//! per connection) or HTTPS, and behaves like the real service as documented: the same
//! success and error bodies, the same status codes, the same rate-limit message. On top of
//! that it can misbehave on purpose ([`Fault`]), be slow ([`Emulator::set_delay`]), and it
//! records every request ([`Received`]) so tests can check what went over the wire.
//!
//! It is used in-process by the liblsq tests and benchmarks, and from the command line
//! (`lsq-emulator --help`) to try a dialplan offline.
//!
//! # What a request gets, in this order
//!
//! 1. **404** unless it is `POST /v2/Telephony.svc/ShowAgentPopup` (exact path, any query).
//! 2. **401** unless both keys match: `accessKey` / `secretKey` in the query (names
//!    case-insensitive, values percent-decoded, `+` as space), or the headers
//!    `x-LSQ-AccessKey` / `x-LSQ-SecretKey` (names case-insensitive).
//! 3. **429** (or 403, [`Config::limit_status`]) when over the rate limit: more than N
//!    authenticated arrivals in the last W, counting every authenticated arrival, the
//!    rejected ones included. ExceptionMessage: `API calls exceeded the limit of N in W
//!    second(s)`, with `Retry-After` when configured.
//! 4. **400** unless `Content-Type` is `application/json` (parameters such as
//!    `; charset=utf-8` allowed) and the body is a JSON object with exactly the documented
//!    names: SourceNumber, DestinationNumber, DisplayNumber, Direction (`"Inbound"` or
//!    `"Outbound"`), CallSessionId, LeadId, UserId, all strings, and optionally Tag, a string.
//! 5. The next [`Fault`] of the script, if one is waiting.
//! 6. **200** `{"Status":"Success","Message":{"Id":"<fresh GUID>","Message":"Message broadcasted successfully"}}`.
//!
//! Error answers are `Content-Type: application/json` with
//! `{"Status":"Error","ExceptionType":"..","ExceptionMessage":".."}`. A request that is not
//! valid HTTP gets 400 (431 for an oversized head, 413 for a body over 1 MiB, 501 for a
//! transfer coding other than chunked) and the connection is closed; such a request is not
//! recorded. Every answer waits for the global delay first.
//!
//! # Example
//!
//! ```
//! use std::io::{Read, Write};
//! use lsq_emulator::{Config, Emulator, Fault};
//!
//! let emu = Emulator::start(Config::default()).unwrap();
//! emu.push_fault(Fault::status(503));
//! let body = r#"{"SourceNumber":"1","DestinationNumber":"2","DisplayNumber":"3","Direction":"Inbound","CallSessionId":"c","LeadId":"l","UserId":"u"}"#;
//! let mut s = std::net::TcpStream::connect(emu.addr()).unwrap();
//! write!(
//!     s,
//!     "POST /v2/Telephony.svc/ShowAgentPopup HTTP/1.1\r\nHost: x\r\nx-LSQ-AccessKey: {}\r\nx-LSQ-SecretKey: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
//!     lsq_emulator::DEFAULT_ACCESS_KEY, lsq_emulator::DEFAULT_SECRET_KEY, body.len(), body
//! ).unwrap();
//! let mut answer = String::new();
//! s.read_to_string(&mut answer).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 503"));
//! assert_eq!(emu.count_with_status(503), 1);
//! ```

#![warn(missing_docs)]

mod answer;
mod check;
mod config;
mod faults;
mod http;
mod log;
mod ratelimit;
mod server;
mod tls;

pub use answer::{new_message_id, SUCCESS_MESSAGE};
pub use check::POPUP_PATH;
pub use config::{
    limit_message, Config, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, DOCUMENTED_RATE_LIMIT,
};
pub use faults::Fault;
pub use log::Received;
pub use server::Emulator;
pub use tls::{TestCa, TlsIdentity};

#[cfg(test)]
mod tests {
    #[test]
    fn handles_are_shareable() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Emulator>();
        send_sync::<crate::Fault>();
        send_sync::<crate::Received>();
        send_sync::<crate::Config>();
    }
}
