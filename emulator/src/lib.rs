//! A LeadSquared stand-in: the agent pop-up, lead lookup by phone, lead creation, user lookup
//! by e-mail, and call logs.
//!
//! It serves these [`Endpoint`]s over HTTP/1.1 (keep-alive, one thread per connection) or
//! HTTPS, and behaves like the real service as documented: the same success and error
//! bodies, the same status codes, the same rate-limit message. On top of that it can
//! misbehave on purpose ([`Fault`], for every endpoint or one), be slow
//! ([`Emulator::set_delay`]), and it records every request ([`Received`]) and every call log
//! it accepted ([`CallLog`]) so tests can check what went over the wire. Lookups answer from
//! [`Data`] (leads and users; [`Config::data`], `--data FILE` on the command line).
//!
//! It is used in-process by the liblsq tests and benchmarks, and from the command line
//! (`lsq-emulator --help`) to try a dialplan offline.
//!
//! | endpoint | method and path |
//! | --- | --- |
//! | [`Endpoint::Popup`] | `POST /v2/Telephony.svc/ShowAgentPopup` |
//! | [`Endpoint::LeadByPhone`] | `GET /v2/LeadManagement.svc/RetrieveLeadByPhoneNumber?phone={digits}` |
//! | [`Endpoint::LeadCreate`] | `POST /v2/LeadManagement.svc/Lead.Create` |
//! | [`Endpoint::UserByEmail`] | `GET /v2/UserManagement.svc/User/Retrieve/ByEmailAddress?emailAddress={email}` |
//! | [`Endpoint::UserByAccessKey`] | `GET /v2/Authentication.svc/UserByAccessKey.Get` |
//! | [`Endpoint::LogCall`] | `POST /v2/Telephony.svc/LogCall` |
//!
//! # What a request gets, in this order
//!
//! 1. **404** unless its method and exact path are an endpoint's (any query). A known path
//!    with the wrong method is a 404 too, whose message names the method to use.
//! 2. **401** unless both keys match: `accessKey` / `secretKey` in the query (names
//!    case-insensitive, values percent-decoded, `+` as space), or the headers
//!    `x-LSQ-AccessKey` / `x-LSQ-SecretKey` (names case-insensitive).
//! 3. **429** (or 403, or 200 with the exception in the body: [`Config::limit_status`]) when
//!    over the rate limit: more than N authenticated arrivals, of all endpoints together, in
//!    the last W, counting every authenticated arrival, the rejected ones included.
//!    ExceptionMessage: `API calls exceeded the limit of N in W second(s)`, with
//!    `Retry-After` when configured (not with 200).
//! 4. **400** (`MXInvalidInputException`, the message naming the problem) unless the
//!    request passes its endpoint's checks:
//!    - pop-up: `Content-Type: application/json` (parameters such as `; charset=utf-8`
//!      allowed) and a JSON object with exactly the documented names: SourceNumber,
//!      DestinationNumber, DisplayNumber, Direction (`"Inbound"` or `"Outbound"`),
//!      CallSessionId, LeadId, UserId, all strings, and optionally Tag, a string;
//!    - lead by phone: `phone` given, digits only;
//!    - lead create: JSON, a non-empty array of `{"Attribute":..,"Value":..}` (exactly those
//!      names, string values), known attributes (or `mx_` custom ones), each once; `Phone`
//!      and `Mobile` as `+{cc}-{national}`;
//!    - user by e-mail: `emailAddress` given, an e-mail address;
//!    - call log: JSON object with exactly the documented names and types (see
//!      [`Endpoint::LogCall`]'s module), real UTC times, EndTime not before StartTime.
//! 5. The next [`Fault`] of the endpoint's own script, else of the shared script, if one is
//!    waiting.
//! 6. The endpoint's answer: pop-up 200
//!    `{"Status":"Success","Message":{"Id":"<fresh GUID>","Message":"Message broadcasted successfully"}}`;
//!    lookups 200 with a JSON array (`[]` when nothing matches; leads whose Phone or Mobile,
//!    reduced to digits, equals the query or ends with it or is its ending, the shorter at
//!    least [`MIN_SUFFIX_DIGITS`] digits, most recently modified first; active users by
//!    e-mail, case-insensitive); lead create 200
//!    `{"Status":"Success","Message":{"Id":"<ProspectID>","AffectedRows":1}}` (the lead is
//!    added), or 500 [`DUPLICATE_EXCEPTION`] when a lead with that phone or e-mail exists;
//!    call log 200 `{"Status":"Success","Message":{"Id":"<GUID>"}}` (the log is kept:
//!    [`Emulator::call_logs`]).
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
//! let body = r#"{"SourceNumber":"1","DestinationNumber":"2","DisplayNumber":"3","Direction":"Inbound","CallSessionId":"c","LeadId":"f5c7e023-653c-11e7-b25c-023cca4497b9","UserId":"dd908e91-c5c9-11e5-8de3-22000aa5088d"}"#;
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
mod calllog;
mod check;
mod config;
mod data;
mod endpoint;
mod endpoints;
mod faults;
mod http;
mod log;
mod phone;
mod ratelimit;
mod server;
mod time;
mod tls;

pub use answer::{new_message_id, SUCCESS_MESSAGE};
pub use calllog::CallLog;
pub use config::{
    limit_message, Config, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, DOCUMENTED_RATE_LIMIT,
};
pub use data::{Data, LEAD_FIELDS, USER_ACTIVE, USER_FIELDS};
pub use endpoint::{
    Endpoint, LEAD_BY_PHONE_PATH, LEAD_CREATE_PATH, LOG_CALL_PATH, POPUP_PATH,
    USER_BY_ACCESS_KEY_PATH, USER_BY_EMAIL_PATH,
};
pub use endpoints::{Account, DUPLICATE_EXCEPTION};
pub use faults::Fault;
pub use log::Received;
pub use phone::MIN_SUFFIX_DIGITS;
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
        send_sync::<crate::CallLog>();
        send_sync::<crate::Data>();
    }
}
