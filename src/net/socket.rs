//! A non-blocking TCP socket under ureq (and rustls): writes are queued
//! until ureq waits for input, so head and body leave in one `send`; reads
//! wait with `poll` only when nothing is there yet.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant as StdInstant;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use ureq::unversioned::transport::{Buffers, NextTimeout, Transport};
use ureq::{Error, Timeout};

/// A non-blocking TCP socket whose writes wait for the next read.
pub(super) struct Socket {
    pub(super) stream: Arc<TcpStream>,
    pub(super) buffers: SocketBuffers,
    /// While set, every write is sent at once: a warm connection's TLS
    /// handshake must not leave its last flight queued (no read follows it).
    pub(super) send_now: Option<Arc<AtomicBool>>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("addr", &self.stream.peer_addr().ok())
            .finish()
    }
}

impl Socket {
    /// Sends everything queued, waiting at most until `deadline`.
    fn flush(&mut self, deadline: Option<StdInstant>, reason: Timeout) -> Result<(), Error> {
        let mut sent = 0;
        while sent < self.buffers.queued {
            match (&*self.stream).write(&self.buffers.output[sent..self.buffers.queued]) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait(PollFlags::OUT, deadline, reason)?
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.buffers.queued = 0;
        Ok(())
    }

    /// Waits until the socket is ready for `events` (or hung up), or fails
    /// with `Timeout(reason)` at `deadline`.
    fn wait(
        &self,
        events: PollFlags,
        deadline: Option<StdInstant>,
        reason: Timeout,
    ) -> Result<(), Error> {
        loop {
            let timeout = match deadline {
                None => None,
                Some(d) => {
                    let left = d.saturating_duration_since(StdInstant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout(reason));
                    }
                    // Whole milliseconds, rounded up: never wake before the deadline and spin.
                    let ms = left.as_nanos().div_ceil(1_000_000);
                    let left =
                        std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
                    Some(Timespec::try_from(left).unwrap_or(Timespec {
                        tv_sec: i64::MAX,
                        tv_nsec: 0,
                    }))
                }
            };
            let mut fds = [PollFd::new(&self.stream, events)];
            match poll(&mut fds, timeout.as_ref()) {
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
        }
    }
}

fn deadline(timeout: NextTimeout) -> Result<Option<StdInstant>, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok((!timeout.after.is_not_happening()).then(|| StdInstant::now() + *timeout.after))
}

impl Transport for Socket {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let deadline = deadline(timeout)?;
        self.buffers.queue(amount);
        // Keep at least half the buffer free for ureq's next write.
        let now = self
            .send_now
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed));
        if now || self.buffers.queued > self.buffers.output.len() / 2 {
            self.flush(deadline, timeout.reason)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        let deadline = deadline(timeout)?;
        self.flush(deadline, timeout.reason)?;
        // Read before waiting, even right after sending: on loopback or with
        // the server on this CPU, its wake-up usually runs it (and its answer
        // arrives) before this thread would reach poll().
        let mut ready = true;
        loop {
            if !ready {
                self.wait(PollFlags::IN, deadline, timeout.reason)?;
            }
            let input = self.buffers.input_append_buf();
            match (&*self.stream).read(input) {
                Ok(n) => {
                    self.buffers.input_appended(n);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => ready = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready = false,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn is_open(&mut self) -> bool {
        // Open means nothing to read: any byte is garbage, EOF or an error is closed.
        matches!(self.stream.peek(&mut [0]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// ureq's buffers, with an output that grows past what is queued.
pub(super) struct SocketBuffers {
    input_size: usize,
    output_size: usize,
    input: Vec<u8>,
    /// Unconsumed input is `input[consumed..filled]`.
    consumed: usize,
    filled: usize,
    progress: bool,
    output: Vec<u8>,
    /// `output[..queued]` waits to be sent.
    queued: usize,
    /// `output[..written]` has held data: what drop wipes.
    written: usize,
    /// `input[..received]` has held data: what drop wipes (wiping the
    /// rest would only touch pages never used, and keep them resident).
    received: usize,
}

impl SocketBuffers {
    pub(super) fn new(input_size: usize, output_size: usize) -> SocketBuffers {
        SocketBuffers {
            input_size: input_size.max(1),
            output_size: output_size.max(2),
            input: Vec::new(),
            consumed: 0,
            filled: 0,
            progress: false,
            output: Vec::new(),
            queued: 0,
            written: 0,
            received: 0,
        }
    }

    fn allocate(&mut self) {
        if self.output.is_empty() {
            // Zeroed by the allocator: pages never written are never touched.
            self.output = vec![0; self.output_size];
        }
        if self.input.is_empty() {
            self.input = vec![0; self.input_size];
        }
    }

    /// Free input space at the end, moving unconsumed bytes to the front.
    fn input_free(&mut self, at_least: usize) -> &mut [u8] {
        self.allocate();
        if self.consumed > 0 {
            self.input.copy_within(self.consumed..self.filled, 0);
            self.filled -= self.consumed;
            self.consumed = 0;
        }
        if self.input.len() - self.filled < at_least {
            // Doubled, not grown by what is asked (one byte when ureq wants
            // more of a long header): reads stay large.
            let len = (self.input.len() * 2).max(self.filled + at_least);
            self.input.resize(len, 0);
        }
        &mut self.input[self.filled..]
    }

    /// Marks `amount` more bytes as queued for sending.
    fn queue(&mut self, amount: usize) {
        self.queued += amount;
        self.written = self.written.max(self.queued);
    }
}

impl Drop for SocketBuffers {
    fn drop(&mut self) {
        // The request line carries the keys (query auth): wipe what the
        // connection sent and received when it goes.
        zeroize::Zeroize::zeroize(&mut self.output[..self.written]);
        zeroize::Zeroize::zeroize(&mut self.input[..self.received]);
    }
}

impl Buffers for SocketBuffers {
    fn output(&mut self) -> &mut [u8] {
        self.allocate();
        &mut self.output[self.queued..]
    }

    fn input(&self) -> &[u8] {
        &self.input[self.consumed..self.filled]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.input_free(1)
    }

    fn input_appended(&mut self, amount: usize) {
        self.filled += amount;
        self.received = self.received.max(self.filled);
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.consumed += amount;
        if self.consumed == self.filled {
            self.consumed = 0;
            self.filled = 0;
        }
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        const MIN_TMP: usize = 10 * 1024;
        self.input_free(MIN_TMP);
        // ureq may write anywhere in the scratch space.
        self.received = self.input.len();
        (
            &mut self.input[self.filled..],
            &mut self.output[self.queued..],
        )
    }

    fn can_use_input(&self) -> bool {
        self.filled > self.consumed && self.progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration as StdDuration;
    use ureq::unversioned::transport::time::Duration;

    fn pair() -> (Socket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.set_nonblocking(true).unwrap();
        let socket = Socket {
            stream: Arc::new(client),
            buffers: SocketBuffers::new(1024, 1024),
            send_now: None,
        };
        (socket, server)
    }

    fn within(ms: u64) -> NextTimeout {
        NextTimeout {
            after: Duration::from_millis(ms),
            reason: Timeout::Global,
            ..NextTimeout::default()
        }
    }

    fn write(socket: &mut Socket, bytes: &[u8]) {
        socket.buffers().output()[..bytes.len()].copy_from_slice(bytes);
        socket.transmit_output(bytes.len(), within(1000)).unwrap();
    }

    #[test]
    fn writes_wait_for_the_next_read_and_leave_together() {
        let (mut socket, mut server) = pair();
        write(&mut socket, b"POST / HTTP/1.1\r\n\r\n");
        write(&mut socket, b"{\"body\":1}");
        server.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 256];
        let nothing = server.read(&mut buf).unwrap_err();
        assert_eq!(
            nothing.kind(),
            io::ErrorKind::WouldBlock,
            "sent before the read"
        );
        server.set_nonblocking(false).unwrap();
        let answer = std::thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < 29 {
                let n = server.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            server.write_all(b"HTTP/1.1 200 OK\r\n").unwrap();
            got
        });
        assert!(socket.await_input(within(5000)).unwrap());
        assert_eq!(socket.buffers().input(), b"HTTP/1.1 200 OK\r\n");
        assert_eq!(
            answer.join().unwrap(),
            b"POST / HTTP/1.1\r\n\r\n{\"body\":1}".to_vec()
        );
    }

    #[test]
    fn a_silent_peer_times_out_with_the_given_reason() {
        let (mut socket, _server) = pair();
        write(&mut socket, b"GET / HTTP/1.1\r\n\r\n");
        let started = StdInstant::now();
        let err = socket.await_input(within(100)).unwrap_err();
        assert!(matches!(err, Error::Timeout(Timeout::Global)), "{err:?}");
        let waited = started.elapsed();
        assert!(waited >= StdDuration::from_millis(100), "{waited:?}");
        assert!(waited < StdDuration::from_secs(2), "{waited:?}");
        let spent = NextTimeout {
            after: Duration::from_millis(0),
            reason: Timeout::RecvBody,
            ..NextTimeout::default()
        };
        assert!(matches!(
            socket.await_input(spent),
            Err(Error::Timeout(Timeout::RecvBody))
        ));
    }

    #[test]
    fn open_means_idle_and_connected() {
        let (mut socket, mut server) = pair();
        assert!(socket.is_open());
        server.write_all(b"x").unwrap();
        std::thread::sleep(StdDuration::from_millis(50));
        assert!(!socket.is_open(), "unread bytes: not reusable");
        let (mut socket, server) = pair();
        drop(server);
        std::thread::sleep(StdDuration::from_millis(50));
        assert!(!socket.is_open(), "closed by the peer");
        assert!(
            !socket.await_input(within(1000)).unwrap(),
            "EOF reads nothing"
        );
    }

    #[test]
    fn large_writes_are_sent_before_the_buffer_fills() {
        let (mut socket, mut server) = pair();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            server.read_to_end(&mut all).unwrap();
            all
        });
        let mut expected = Vec::new();
        for i in 0..100u8 {
            let chunk = [i; 300];
            let room = socket.buffers().output().len();
            assert!(room >= 300, "only {room} bytes free");
            write(&mut socket, &chunk);
            expected.extend_from_slice(&chunk);
        }
        socket.flush(None, Timeout::Global).unwrap();
        drop(socket);
        assert_eq!(reader.join().unwrap(), expected);
    }
}
