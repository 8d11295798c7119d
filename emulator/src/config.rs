//! Start-up configuration of an [`Emulator`](crate::Emulator).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::data::Data;
use crate::endpoints::Account;
use crate::tls::TlsIdentity;

/// The access key the emulator accepts unless configured otherwise.
pub const DEFAULT_ACCESS_KEY: &str = "u$r0123456789abcdef0123456789abcdef";

/// The secret key the emulator accepts unless configured otherwise.
pub const DEFAULT_SECRET_KEY: &str = "0123456789abcdef0123456789abcdef01234567";

/// The limit LeadSquared documents ("25 in 5 second(s)"); used in the message of a
/// [`Fault::RateLimited`](crate::Fault::RateLimited) or
/// [`Fault::ForbiddenLimit`](crate::Fault::ForbiddenLimit) answer when no rate limit is set.
pub const DOCUMENTED_RATE_LIMIT: (u32, Duration) = (25, Duration::from_secs(5));

/// How an [`Emulator`](crate::Emulator) behaves; `Config::default()` gives a quiet plain-HTTP
/// server on `127.0.0.1:<free port>` that accepts [`DEFAULT_ACCESS_KEY`] / [`DEFAULT_SECRET_KEY`]
/// and has no rate limit, no delay and no faults.
///
/// `Debug` does not print the keys.
#[derive(Clone)]
pub struct Config {
    /// The only access key accepted (query `accessKey` or header `x-LSQ-AccessKey`).
    pub access_key: String,
    /// The only secret key accepted (query `secretKey` or header `x-LSQ-SecretKey`).
    pub secret_key: String,
    /// Where to listen. Default `127.0.0.1:0` (a free port chosen by the system).
    pub bind: SocketAddr,
    /// At most N authenticated requests per sliding window of W, over every endpoint together
    /// (LeadSquared limits the account, not an API); `None` (default) is no limit.
    pub rate_limit: Option<(u32, Duration)>,
    /// Status of a rate-limit answer: 429 (default), 403 as some tenants see, or 200: the
    /// limit reported in a 200 body `{"Status":"Error","ExceptionType":"MXAPIRateLimitExceededException",..}`
    /// (no `Retry-After`), as LeadSquared also answers.
    pub limit_status: u16,
    /// `Retry-After` header value sent, as is, with rate-limit answers; `None` (default) sends none.
    pub retry_after: Option<String>,
    /// Every answer waits this long before being written (a slow server). Default zero.
    pub delay: Duration,
    /// Serve HTTPS with this certificate and key instead of plain HTTP. Default `None`.
    pub tls: Option<TlsIdentity>,
    /// Print nothing. When `false`, one line per request goes to stdout, keys redacted.
    /// Default `true` (in-process tests); the command line tool turns it off.
    pub quiet: bool,
    /// Close a connection that sends nothing for this long (like a load balancer's idle
    /// timeout). Default `None`: connections stay open until the client closes them.
    pub idle_timeout: Option<Duration>,
    /// Keep at most this many [`Received`](crate::Received) records (the oldest are
    /// dropped first); counts stay exact. Default `None`: keep all (set it for long benchmarks).
    pub log_limit: Option<usize>,
    /// The leads and users the lookups answer from, and Lead.Create adds to. Default: none
    /// ([`Data::new`]); [`Data::sample`] or [`Data::load`] for more.
    pub data: Data,
    /// Who `UserByAccessKey.Get` says the keys belong to: the API host it announces (by
    /// default the emulator itself) and the account's default country code.
    pub account: Account,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            rate_limit: None,
            limit_status: 429,
            retry_after: None,
            delay: Duration::ZERO,
            tls: None,
            quiet: true,
            idle_timeout: None,
            log_limit: None,
            data: Data::new(),
            account: Account::default(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("access_key", &"***")
            .field("secret_key", &"***")
            .field("bind", &self.bind)
            .field("rate_limit", &self.rate_limit)
            .field("limit_status", &self.limit_status)
            .field("retry_after", &self.retry_after)
            .field("delay", &self.delay)
            .field("tls", &self.tls)
            .field("quiet", &self.quiet)
            .field("idle_timeout", &self.idle_timeout)
            .field("log_limit", &self.log_limit)
            .field("leads", &self.data.leads().len())
            .field("users", &self.data.users().len())
            .field("account", &self.account)
            .finish()
    }
}

/// The ExceptionMessage of a rate-limit answer: `API calls exceeded the limit of N in W second(s)`.
///
/// W is printed in whole seconds when it is a whole number of seconds, else with its fraction
/// (`0.5`).
pub fn limit_message(limit: u32, window: Duration) -> String {
    let w = if window.subsec_nanos() == 0 {
        window.as_secs().to_string()
    } else {
        let s = format!("{:.3}", window.as_secs_f64());
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    format!("API calls exceeded the limit of {limit} in {w} second(s)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_message_formats_window() {
        assert_eq!(
            limit_message(25, Duration::from_secs(5)),
            "API calls exceeded the limit of 25 in 5 second(s)"
        );
        assert_eq!(
            limit_message(2, Duration::from_millis(500)),
            "API calls exceeded the limit of 2 in 0.5 second(s)"
        );
    }
}
