//! Opening direct connections: a warm one when [`Warm`] holds one for the
//! target, else each resolved address in turn, sharing the connect budget
//! as ureq's TCP connector does, into a [`Socket`] (and rustls for https);
//! anything proxied goes through ureq's default connector.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Weak};

use ureq::unversioned::transport::time::{Duration, Instant};
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, DefaultConnector, RustlsConnector, ShutdownHandle, Transport,
};
use ureq::{Error, Timeout};

use super::resolve::{phase_timeout, Dns};
use super::socket::{Socket, SocketBuffers};
use super::warm::Warm;

/// Direct connections: a warm one if parked for the target, else through
/// [`SocketConnector`] (and rustls for https) to a freshly resolved
/// address; anything proxied through ureq's default.
pub(super) struct Direct {
    pub(super) dns: Arc<Dns>,
    /// Shared with the warmer: one rustls config, so one session cache.
    pub(super) tls: Arc<RustlsConnector>,
    pub(super) default: DefaultConnector,
    pub(super) warm: Option<Arc<Warm>>,
}

impl fmt::Debug for Direct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Direct")
    }
}

impl Connector<()> for Direct {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, Error> {
        if details.config.proxy().is_some() {
            return self.default.connect(details, chained);
        }
        if let Some((transport, stream)) = self.warm.as_ref().and_then(|w| w.take(details.uri)) {
            // Registered like a new socket, so Agent::shutdown interrupts
            // a request on it.
            (details.register_shutdown)(Arc::downgrade(&stream) as Weak<dyn ShutdownHandle>)?;
            return Ok(Some(transport));
        }
        let addrs = self.dns.for_new_connection(details)?;
        let resolved_at = Instant::now();
        let fresh = ConnectionDetails {
            uri: details.uri,
            addrs,
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: resolved_at,
            timeout: phase_timeout(details.config, details.now, Timeout::Connect, resolved_at),
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        let socket = SocketConnector.connect(&fresh, chained)?;
        let transport = with_tls(&self.tls, &fresh, socket)?;
        if let Some(warm) = &self.warm {
            warm.dialled();
        }
        Ok(transport)
    }
}

/// `socket`, wrapped in TLS when the target is https.
pub(super) fn with_tls(
    tls: &RustlsConnector,
    details: &ConnectionDetails,
    socket: Option<Socket>,
) -> Result<Option<Box<dyn Transport>>, Error> {
    Ok(tls
        .connect(details, socket)?
        .map(|t| Box::new(t) as Box<dyn Transport>))
}

/// A [`Socket`] over a connected, non-blocking `stream`.
pub(super) fn socket_on(details: &ConnectionDetails, stream: Arc<TcpStream>) -> Socket {
    Socket {
        send_now: None,
        stream,
        buffers: SocketBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        ),
    }
}

/// Opens a [`Socket`]: each resolved address in turn, sharing the connect
/// budget between them as ureq's TCP connector does.
#[derive(Debug)]
pub(super) struct SocketConnector;

impl Connector<()> for SocketConnector {
    type Out = Socket;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Socket>, Error> {
        let stream = connect_any(details)?;
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        stream.set_nonblocking(true)?;
        let stream = Arc::new(stream);
        (details.register_shutdown)(Arc::downgrade(&stream) as Weak<dyn ShutdownHandle>)?;
        Ok(Some(socket_on(details, stream)))
    }
}

/// ureq's address walk: address i gets a share 1/2^i of the budget
/// (normalised to sum to it, at least 10 ms); an address-specific failure
/// or a timeout moves on while the budget lasts; any other error stops.
fn connect_any(details: &ConnectionDetails) -> Result<TcpStream, Error> {
    const MIN_PER_ADDRESS: std::time::Duration = std::time::Duration::from_millis(10);
    let timeout = details.timeout;
    let total_weight = 2.0 * (1.0 - 0.5_f64.powi(details.addrs.len() as i32));
    let mut weight = 1.0_f64;
    let mut last_err: Option<Error> = None;
    for addr in &details.addrs {
        let per_addr = (!timeout.after.is_not_happening()).then(|| {
            let secs = timeout.after.as_secs_f64() * weight / total_weight;
            std::time::Duration::from_millis((secs * 1000.0) as u64).max(MIN_PER_ADDRESS)
        });
        match connect_one(*addr, per_addr) {
            Ok(stream) => return Ok(stream),
            Err(Error::Io(e)) if is_addr_specific(&e) => last_err = Some(Error::Io(e)),
            Err(e @ Error::Timeout(_)) => {
                let spent = match ((details.current_time)(), details.now) {
                    (Instant::Exact(now), Instant::Exact(start)) => {
                        now.saturating_duration_since(start)
                    }
                    _ => std::time::Duration::ZERO,
                };
                if Duration::Exact(spent) > timeout.after {
                    return Err(Error::Timeout(timeout.reason));
                }
                last_err = Some(e);
            }
            Err(e) => return Err(e),
        }
        weight /= 2.0;
    }
    Err(last_err.unwrap_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused).into()))
}

fn connect_one(addr: SocketAddr, timeout: Option<std::time::Duration>) -> Result<TcpStream, Error> {
    let stream = match timeout {
        Some(t) if !t.is_zero() => TcpStream::connect_timeout(&addr, t),
        _ => TcpStream::connect(addr),
    };
    stream.map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout(Timeout::Connect),
        _ => e.into(),
    })
}

fn is_addr_specific(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable
    )
}
