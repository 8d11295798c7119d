//! The fault script: answers other than success, injected on purpose.
//!
//! Faults wait in a FIFO ([`Emulator::push_fault`](crate::Emulator::push_fault)), and in one
//! FIFO per endpoint ([`Emulator::push_fault_for`](crate::Emulator::push_fault_for)). Each
//! request that would otherwise succeed (routed, authenticated, within the rate limit,
//! well-formed) takes the next fault of its endpoint's FIFO, else the next of the shared one,
//! if any, and gets it instead of the endpoint's answer.
//!
//! Faults that still answer 200 with the endpoint's answer, or start to (`Delay`,
//! `CloseAfterAnswer`, `Trickle`, `Huge`, `ResetMidBody`), do the endpoint's work first: the
//! lead is created, the call log kept, as when a server did the work and the answer was slow
//! or lost on the way. The others (`Status`, the rate limits, `Garbage`, `Drop`, `Redirect`) do
//! not.
//!
//! To add a fault: add a variant, give it a [`Fault::name`] and a [`Fault::status`], and play
//! it in `play` below (the only place that writes it).

use std::io::{self, Write};
use std::time::Duration;

use crate::answer::{self, Answer};
use crate::check::exception_type;
use crate::http::{write_head, Conn};
use crate::ratelimit::limit_rejection;

/// One injected misbehaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Any status with this body and these headers, written as given. `Content-Length` is
    /// added unless `headers` has one (so a lying length is possible). See [`Fault::status`].
    Status {
        /// The status code (500, 502, 503, 504, 403, 302, ...).
        code: u16,
        /// The body, sent as is.
        body: Vec<u8>,
        /// Headers, sent as given and in order.
        headers: Vec<(String, String)>,
    },
    /// 429 with the rate-limit ExceptionMessage (the configured limit, else 25 in 5), and a
    /// `Retry-After` header when given.
    RateLimited {
        /// The `Retry-After` value, sent as is (`"1"`, an HTTP date, or nonsense).
        retry_after: Option<String>,
    },
    /// 403 with the rate-limit ExceptionMessage, as some tenants answer.
    ForbiddenLimit,
    /// HTTP 200 whose body is `{"Status":"Error","ExceptionType":"MXAPIRateLimitExceededException",..}`
    /// with the rate-limit ExceptionMessage: how LeadSquared answers a limit on some APIs.
    RateLimited200,
    /// These raw bytes instead of an HTTP answer, then close.
    Garbage(Vec<u8>),
    /// Close the connection without answering.
    Drop,
    /// A 200 head with `Content-Length: 1000`, 500 bytes of body (the start of a pop-up
    /// success body), then a TCP reset.
    ResetMidBody,
    /// A 200 whose head is sent at once and whose body (the endpoint's answer body padded
    /// with spaces to `total_bytes`, or cut to it) dribbles one byte per `interval`.
    Trickle {
        /// Pause before each body byte.
        interval: Duration,
        /// Body length, announced in `Content-Length`.
        total_bytes: usize,
    },
    /// A 200 with a body of `bytes` bytes (a pop-up success body with a very long
    /// Message.Message, whatever the endpoint), written in chunks; stops quietly if the
    /// client hangs up.
    Huge {
        /// Body length, announced in `Content-Length`.
        bytes: usize,
    },
    /// Wait this long, then answer normally (the endpoint's own answer).
    Delay(Duration),
    /// A redirect status with a `Location` header and an empty body.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        code: u16,
        /// The `Location` header value.
        location: String,
    },
    /// The endpoint's own answer with `Connection: close`, then close (like a server ending
    /// a keep-alive connection).
    CloseAfterAnswer,
}

impl Fault {
    /// `Status` with a plausible body for `code`: the HTML page a load balancer sends for
    /// 502, 503 and 504, else a LeadSquared JSON error body.
    pub fn status(code: u16) -> Fault {
        let (body, content_type) = match code {
            502..=504 => {
                let reason = crate::http::reason(code);
                let html = format!(
                    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
                );
                (html.into_bytes(), "text/html")
            }
            _ => (
                answer::error_body(
                    exception_type(code),
                    "The API call failed. There could be many reasons for it.",
                ),
                "application/json",
            ),
        };
        Fault::Status {
            code,
            body,
            headers: vec![("Content-Type".into(), content_type.into())],
        }
    }

    /// `Status` with a JSON error body carrying this ExceptionType and ExceptionMessage.
    pub fn json_error(code: u16, exception_type: &str, message: &str) -> Fault {
        Fault::Status {
            code,
            body: answer::error_body(exception_type, message),
            headers: vec![("Content-Type".into(), "application/json".into())],
        }
    }

    /// A short name for logs ([`Received::fault`](crate::Received::fault)).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "Status",
            Fault::RateLimited { .. } => "RateLimited",
            Fault::ForbiddenLimit => "ForbiddenLimit",
            Fault::RateLimited200 => "RateLimited200",
            Fault::Garbage(_) => "Garbage",
            Fault::Drop => "Drop",
            Fault::ResetMidBody => "ResetMidBody",
            Fault::Trickle { .. } => "Trickle",
            Fault::Huge { .. } => "Huge",
            Fault::Delay(_) => "Delay",
            Fault::Redirect { .. } => "Redirect",
            Fault::CloseAfterAnswer => "CloseAfterAnswer",
        }
    }

    /// The status line this fault writes; 0 when it writes none (`Garbage`, `Drop`).
    pub fn status_code(&self) -> u16 {
        match self {
            Fault::Status { code, .. } | Fault::Redirect { code, .. } => *code,
            Fault::RateLimited { .. } => 429,
            Fault::ForbiddenLimit => 403,
            Fault::RateLimited200 => 200,
            Fault::Garbage(_) | Fault::Drop => 0,
            Fault::ResetMidBody
            | Fault::Trickle { .. }
            | Fault::Huge { .. }
            | Fault::Delay(_)
            | Fault::CloseAfterAnswer => 200,
        }
    }
}

impl Fault {
    /// Whether the endpoint does its work before this fault plays (see the module docs).
    pub(crate) fn commits(&self) -> bool {
        matches!(
            self,
            Fault::Delay(_)
                | Fault::CloseAfterAnswer
                | Fault::Trickle { .. }
                | Fault::Huge { .. }
                | Fault::ResetMidBody
        )
    }

    /// Whether it writes the endpoint's answer (status included) as it stands.
    pub(crate) fn answers_normally(&self) -> bool {
        matches!(self, Fault::Delay(_) | Fault::CloseAfterAnswer)
    }
}

/// What happens to the connection after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// Read the next request.
    KeepAlive,
    /// Close politely (TLS close_notify, FIN).
    Close,
    /// Close abruptly, without close_notify (FIN).
    Abort,
    /// Close with a TCP reset.
    Reset,
}

/// What a fault needs from the server while it plays.
pub(crate) struct Ctx<'a> {
    /// The connection may carry another request (the client did not ask to close).
    pub(crate) keep_alive: bool,
    /// The rate limit to quote in limit messages.
    pub(crate) limit: (u32, Duration),
    /// Sleeps, waking early when the emulator stops; false when it stopped.
    pub(crate) sleep: &'a dyn Fn(Duration) -> bool,
    /// The endpoint's answer, for the faults that [`Fault::commits`] (else unused).
    pub(crate) answer: &'a Answer,
}

impl Ctx<'_> {
    fn next(&self) -> After {
        if self.keep_alive {
            After::KeepAlive
        } else {
            After::Close
        }
    }
}

/// Writes the fault's answer; an error means the client went away.
pub(crate) fn play(fault: Fault, conn: &mut Conn, ctx: &Ctx<'_>) -> io::Result<After> {
    let close = !ctx.keep_alive;
    conn.out.clear();
    match fault {
        Fault::Status {
            code,
            body,
            headers,
        } => {
            let h: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            write_head(&mut conn.out, code, &h, Some(body.len()), close);
            conn.out.extend_from_slice(&body);
            conn.send_out()?;
            Ok(ctx.next())
        }
        Fault::RateLimited { retry_after } => {
            limit_answer(conn, ctx, 429, retry_after)?;
            Ok(ctx.next())
        }
        Fault::ForbiddenLimit => {
            limit_answer(conn, ctx, 403, None)?;
            Ok(ctx.next())
        }
        Fault::RateLimited200 => {
            limit_answer(conn, ctx, 200, None)?;
            Ok(ctx.next())
        }
        Fault::Garbage(bytes) => {
            conn.send(&bytes)?;
            Ok(After::Close)
        }
        Fault::Drop => Ok(After::Abort),
        Fault::ResetMidBody => {
            answer::success_head(&mut conn.out, 1000, close);
            let head_len = conn.out.len();
            answer::success_prefix_until_message(&mut conn.out);
            conn.out.resize(head_len + 500, b'x');
            conn.send_out()?;
            Ok(After::Reset)
        }
        Fault::Trickle {
            interval,
            total_bytes,
        } => {
            answer::success_head(&mut conn.out, total_bytes, close);
            conn.send_out()?;
            let mut body = ctx.answer.body.clone();
            body.resize(total_bytes, b' ');
            for b in body {
                if !(ctx.sleep)(interval) {
                    return Ok(After::Abort);
                }
                conn.send(&[b])?;
            }
            Ok(ctx.next())
        }
        Fault::Huge { bytes } => {
            answer::success_head(&mut conn.out, bytes, close);
            conn.send_out()?;
            write_huge_body(conn, bytes)?;
            Ok(ctx.next())
        }
        Fault::Delay(d) => {
            if !(ctx.sleep)(d) {
                return Ok(After::Abort);
            }
            ctx.answer.write(&mut conn.out, close);
            conn.send_out()?;
            Ok(ctx.next())
        }
        Fault::Redirect { code, location } => {
            write_head(
                &mut conn.out,
                code,
                &[("Location", location.as_str())],
                Some(0),
                close,
            );
            conn.send_out()?;
            Ok(ctx.next())
        }
        Fault::CloseAfterAnswer => {
            ctx.answer.write(&mut conn.out, true);
            conn.send_out()?;
            Ok(After::Close)
        }
    }
}

fn limit_answer(
    conn: &mut Conn,
    ctx: &Ctx<'_>,
    status: u16,
    retry_after: Option<String>,
) -> io::Result<()> {
    let r = limit_rejection(status, ctx.limit, retry_after);
    answer::error(&mut conn.out, &r, !ctx.keep_alive, false);
    conn.send_out()
}

/// A valid success body of exactly `bytes` bytes when it fits (Message.Message padded with
/// `x`), else `bytes` spaces; written 64 KiB at a time.
fn write_huge_body(conn: &mut Conn, bytes: usize) -> io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let mut prefix = Vec::new();
    answer::success_prefix_until_message(&mut prefix);
    let suffix: &[u8] = b"\"}}";
    let (prefix, fill, suffix) = if bytes >= prefix.len() + suffix.len() {
        let fill = bytes - prefix.len() - suffix.len();
        (prefix, (b'x', fill), suffix)
    } else {
        (Vec::new(), (b' ', bytes), &b""[..])
    };
    conn.send(&prefix)?;
    let chunk = vec![fill.0; CHUNK.min(fill.1)];
    let mut left = fill.1;
    while left > 0 {
        let n = left.min(CHUNK);
        conn.stream.write_all(&chunk[..n])?;
        left -= n;
    }
    conn.send(suffix)
}
