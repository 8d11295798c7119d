//! # liblsq
//!
//! Shows LeadSquared agent pop-ups (the "Show Agent Pop-Up" API of the
//! Generic Telephony Connector) from a phone system, without ever blocking a
//! call: validation before anything is sent, a client-side rate limiter that
//! learns the account's limit, retries with backoff, expiry, dedup, an async
//! queue with worker threads, and a C ABI (`include/lsq.h`).
//!
//! The Rust core (everything but [`ffi`]) knows nothing of C. The C API is a
//! thin layer over it in `src/ffi/`, which holds all `unsafe` code.
//!
//! ```no_run
//! use lsq::{Client, Direction, Options, Popup};
//!
//! let client = Client::new("api-in21.leadsquared.com", "AK", "SK", Options::default())?;
//! let report = client.show_agent_popup(&Popup {
//!     source_number: "+91-8611795988",
//!     destination_number: "+91-8971373363",
//!     display_number: "+91-8611795989",
//!     direction: Direction::Inbound,
//!     call_session_id: "1700000000.42",
//!     lead_id: "f5c7e023-653c-11e7-b25c-023cca4497b9",
//!     user_id: "dd908e91-c5c9-11e5-8de3-22000aa5088d",
//!     tag: None,
//! });
//! println!("{:?}", report.outcome);
//! # Ok::<(), lsq::Error>(())
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
// All unsafe code lives in the C layer; the compiler holds the rest of the crate to it.
#![deny(unsafe_code)]

pub mod api;
mod call_logs;
mod client;
mod context;
mod credentials;
mod discovery;
mod endpoint;
mod error;
pub mod flow;
mod log;
mod lookup;
mod metrics;
mod net;
mod options;
/// The call-log outbox: public for the `lsq-outbox` ops tool, not (yet) a stable API.
#[doc(hidden)]
pub mod outbox;
mod phone;
mod report;
mod request;
mod retry;
pub mod sched;
mod stats;
mod threads;
mod url;

#[allow(unsafe_code)]
pub mod ffi;

#[doc(hidden)]
pub use api::answer::fuzz_judge;
pub use api::direction::Direction;
pub use api::fields::MAX_FIELD_BYTES;
pub use api::lead_by_phone::Lead;
pub use api::log_call::{CallLog, CallStatus};
pub use api::popup::{Delivered, OwnedPopup, Popup, PATH as API_PATH};
pub use client::Client;
pub use endpoint::Endpoint;
pub use error::{Error, ErrorKind};
pub use flow::ringing::Ringing;
pub use log::{Level, LogSink, Logger};
pub use lookup::Found;
pub use net::transport::MAX_BODY_BYTES;
pub use options::{AuthMode, Options, ProxySetting, UnknownCaller, KEYS as OPTION_KEYS, VERSION};
pub use phone::NumberPlan;
pub use report::{LeadReport, Report, RingingReport};
pub use sched::ratelimit::RateLimit;
pub use sched::shared_budget::RedisUrl;
pub use stats::Stats;
