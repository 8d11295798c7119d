//! The network layer: the host argument ([`endpoint`]), one HTTP attempt
//! ([`transport`]), and the connection layer under ureq for direct
//! (proxy-less) requests ([`resolve`], [`connect`], [`socket`]).
//!
//! ureq's defaults cost a popup on a warm keep-alive connection far more than
//! the request itself: the target host is resolved before the pool is
//! looked at, on a new thread whenever a timeout is set (so every popup
//! spawned a thread and, for a host name, asked DNS); the request head and
//! body go out in two `send`s (two TCP segments, two wake-ups of the
//! server); every read and write first sets a socket timeout; and every
//! pool probe toggles the socket's blocking mode around its read.
//!
//! Here, with no proxy configured:
//! - `resolve::Dns` resolves the target once and hands ureq that answer for a
//!   pooled connection, which does not use it; a *new* connection resolves
//!   afresh in `connect::Direct`, within the same timeouts ureq would
//!   apply, so no connection is ever made to a stale address;
//! - `socket::Socket` keeps its socket non-blocking, queues what ureq writes until
//!   ureq waits for input (then head and body leave in one `send`), reads
//!   at once and waits with `poll` for the remaining budget only when
//!   nothing is there yet, and probes with one `recv(MSG_PEEK)`; an
//!   address literal is parsed without ureq's lookup thread.
//!
//! TLS (rustls) wraps `socket::Socket` exactly as it wraps ureq's own TCP
//! transport. With a proxy, everything goes through ureq's default
//! connector and resolver, unchanged.
//!
//! [`warm`] keeps connections to the target open and ready on a library
//! thread (TCP and TLS, no request); `connect::Direct` hands one to ureq
//! before it would dial.

mod connect;
mod errors;
mod resolve;
mod socket;
mod tls;
pub(crate) mod transport;
pub(crate) mod warm;

use std::sync::Arc;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::transport::{DefaultConnector, RustlsConnector};
use ureq::Agent;

use crate::log::Logger;
use connect::Direct;
use errors::Target;
use resolve::{Dns, SharedDns};
use warm::Warmer;

/// Warm connections to keep for an agent (see [`warm`]).
struct WarmConnections {
    pub count: usize,
    /// The base URL (`https://host:port`).
    pub target: Uri,
    pub logger: Logger,
    pub threads: crate::threads::Threads,
}

/// An agent for `config` with this module's connector and resolver, and the
/// warmer when `warm` asks for one (it runs until stopped or dropped).
fn agent(config: Config, warm: Option<WarmConnections>, names: &Target) -> (Agent, Option<Warmer>) {
    let dns = Arc::new(Dns::default());
    let tls = Arc::new(RustlsConnector::default());
    let started = warm.filter(|w| w.count > 0).and_then(|w| {
        Warmer::start(warm::Spec {
            count: w.count,
            target: w.target,
            tls: Arc::clone(&tls),
            config: config.clone(),
            logger: w.logger,
            threads: w.threads,
            names: names.clone(),
        })
    });
    let (shared, warmer) = match started {
        Some((shared, warmer)) => (Some(shared), Some(warmer)),
        None => (None, None),
    };
    let connector = Direct {
        dns: Arc::clone(&dns),
        tls,
        default: DefaultConnector::new(),
        warm: shared,
    };
    (Agent::with_parts(config, connector, SharedDns(dns)), warmer)
}
