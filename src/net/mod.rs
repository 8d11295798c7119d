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

mod connect;
pub(crate) mod endpoint;
mod errors;
mod resolve;
mod socket;
mod tls;
pub(crate) mod transport;
pub(crate) mod url;

use std::sync::Arc;

use ureq::config::Config;
use ureq::unversioned::transport::{Connector, DefaultConnector, RustlsConnector};
use ureq::Agent;

use connect::{Direct, SocketConnector};
use resolve::{Dns, SharedDns};

/// An agent for `config` with this module's connector and resolver.
pub(crate) fn agent(config: Config) -> Agent {
    let dns = Arc::new(Dns::default());
    let connector = Direct {
        dns: Arc::clone(&dns),
        direct: ().chain(SocketConnector).chain(RustlsConnector::default()),
        default: DefaultConnector::new(),
    };
    Agent::with_parts(config, connector, SharedDns(dns))
}
