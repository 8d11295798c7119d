//! `host = "auto"`: the keys are all an admin should need. Once, when the
//! client is created, LeadSquared's "Authenticate a User" answers (from any
//! regional host) with the account's own API host and default country code;
//! the client then talks to that host. This is the only network I/O client
//! creation ever does, and only with `auto`.

use std::time::Instant;

use crate::api::answer::{classify, Verdict};
use crate::api::user_by_access_key::{self, Account};
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind};
use crate::log::Level;
use crate::log::Logger;
use crate::net::transport::Transport;
use crate::options::Options;
use crate::retry;
use crate::threads::Threads;

/// The `host` value that asks LeadSquared (case-insensitive, spaces ignored).
pub(crate) fn is_auto(host: &str) -> bool {
    host.trim().eq_ignore_ascii_case("auto")
}

/// Asks `options.discovery_host` which host the keys belong to and returns
/// it as a base URL; fills `default_country_code` from the account when the
/// options leave it empty. Retries what the popup retries (connect
/// failures, 502/503/504, a rate limit) up to `max_retries` times within
/// `max_age`; a 401 says the keys are wrong, naming the host that said so.
pub(crate) fn find_host(credentials: &Credentials, options: &mut Options) -> Result<String, Error> {
    let asked = Endpoint::parse(&options.discovery_host, options.allow_http)?;
    // No warm connection: this transport serves one request and is dropped.
    let mut once = options.clone();
    once.warm_connections = 0;
    let transport = Transport::new(&asked, credentials, &once, &Threads::new(Logger::default()))?;
    let account = ask(&transport, options).map_err(|e| {
        let kind = e.kind();
        let why = match kind {
            ErrorKind::Unauthorized => "LeadSquared did not accept the keys",
            _ => "could not learn the account's API host",
        };
        Error::new(kind, format!("host=auto: {why}: {}", e.message()))
    })?;
    // A bare host (as LeadSquared names it) is reached the way the
    // question was: https from LeadSquared, http only from a loopback
    // stand-in such as the emulator.
    let scheme = if asked.base().starts_with("http://") {
        "http"
    } else {
        "https"
    };
    let found = format!("{scheme}://{}", account.api_host);
    Endpoint::parse(&found, options.allow_http).map_err(|e| {
        Error::new(
            ErrorKind::Response,
            format!(
                "host=auto: the answer's API host is not usable ({})",
                e.message()
            ),
        )
    })?;
    let country = adopt_country_code(options, &account);
    options.logger.log(Level::Info, || {
        format!(
            "host=auto: {} ({}) says the account{} uses {found}{country}",
            asked.base(),
            user_by_access_key::PATH,
            account
                .organisation
                .as_deref()
                .map_or(String::new(), |o| format!(" {o:?}")),
        )
    });
    Ok(found)
}

/// Sends the question until it is answered or fails for good.
fn ask(transport: &Transport, options: &Options) -> Result<Account, Error> {
    let deadline = Instant::now() + options.max_age;
    let mut failures = 0;
    loop {
        let verdict = match transport.send(&user_by_access_key::request()) {
            Ok(answer) => classify(answer, user_by_access_key::parse),
            Err(e) if retry::within_request(e.kind(), 0) => Verdict::Retryable(e),
            Err(e) => Verdict::Final(e),
        };
        let (error, wait) = match verdict {
            Verdict::Done(account) => return Ok(account),
            Verdict::Final(e) => return Err(e),
            Verdict::Retryable(e) => (e, None),
            Verdict::RateLimited {
                error, retry_after, ..
            } => (error, retry_after),
        };
        failures += 1;
        let wait = wait.unwrap_or_default().max(retry::REQUEST.delay(failures));
        if failures > options.max_retries || Instant::now() + wait > deadline {
            return Err(error);
        }
        options.logger.log(Level::Warn, || {
            format!(
                "host=auto: {}; asking again in {} ms",
                error.message(),
                wait.as_millis()
            )
        });
        std::thread::sleep(wait);
    }
}

/// Takes the account's default country code when the options set none and
/// it is a valid one; says what it did, for the log line.
fn adopt_country_code(options: &mut Options, account: &Account) -> String {
    let Some(code) = &account.default_country_code else {
        return String::new();
    };
    if !options.number_plan.default_country_code.is_empty() {
        return format!(
            " (its default country code {code} is not used: default_country_code is set)"
        );
    }
    let mut plan = options.number_plan.clone();
    plan.default_country_code = code.clone();
    if plan.validate().is_err() {
        return format!(" (its default country code {code:?} is not valid and is not used)");
    }
    options.number_plan = plan;
    format!(", default country code {code}")
}
