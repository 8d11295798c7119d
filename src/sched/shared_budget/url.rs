//! `rate_limit_redis`: where the shared budget lives.
//!
//! The contract's form is `redis://[user:password@]host:port/db`, or
//! `rediss://` for TLS. It is parsed here, by hand, into the Redis client's
//! connection settings: the client crate's own parser goes through the
//! `url` crate and its IDNA tables, which the linker can then drop. The
//! password is kept wiped-on-drop, is never shown (`Debug` prints `***`),
//! and [`RedisUrl::scrub`] takes it out of any text that came from
//! elsewhere (an error from the Redis client) before that text is shown.

use std::fmt;

use percent_encoding::percent_decode_str;
use zeroize::Zeroizing;

use crate::error::Error;

const DEFAULT_PORT: u16 = 6379;

/// A parsed `rate_limit_redis` value. `Debug` and [`RedisUrl::host_port`]
/// never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    tls: bool,
    host: String,
    port: u16,
    db: i64,
    username: Option<String>,
    password: Option<Zeroizing<String>>,
}

/// Why a value was refused. The value itself is never repeated: it may
/// hold a password.
fn refuse(why: &str) -> Error {
    Error::invalid(format!(
        "rate_limit_redis: {why}; expected redis://[user:password@]host:port/db or rediss://... \
         (the value is not repeated here: it may hold a password)"
    ))
}

impl RedisUrl {
    /// Parses `redis://[user:password@]host[:port][/db]` or `rediss://...`.
    /// User and password may be percent-encoded (`%40` for `@`). The port
    /// defaults to 6379 and the database to 0; a query or fragment is refused.
    pub fn parse(value: &str) -> Result<RedisUrl, Error> {
        if value.len() > 2048 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(refuse(
                "at most 2048 bytes, with no spaces or control characters",
            ));
        }
        let (tls, rest) = if let Some(rest) = value.strip_prefix("redis://") {
            (false, rest)
        } else if let Some(rest) = value.strip_prefix("rediss://") {
            (true, rest)
        } else {
            return Err(refuse("the scheme must be redis:// or rediss://"));
        };
        // The last '@' ends the user information: a password may hold an
        // unencoded '@', a host and a database never do.
        let (userinfo, hostpart) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let Some((user, password)) = info.split_once(':') else {
                    return Err(refuse(
                        "the part before '@' must be user:password or :password",
                    ));
                };
                let decode = |s: &str| {
                    percent_decode_str(s)
                        .decode_utf8()
                        .map(|d| d.into_owned())
                        .map_err(|_| refuse("user and password must be UTF-8 once percent-decoded"))
                };
                let user = decode(user)?;
                let password = Zeroizing::new(decode(password)?);
                if password.is_empty() {
                    return Err(refuse("the password after ':' is empty"));
                }
                (Some(user).filter(|u| !u.is_empty()), Some(password))
            }
        };
        if hostpart.contains(['?', '#']) {
            return Err(refuse("a query (?...) or fragment (#...) is not accepted"));
        }
        let (authority, db) = match hostpart.split_once('/') {
            None => (hostpart, 0),
            Some((authority, "")) => (authority, 0),
            Some((authority, db)) => {
                let ok = db.len() <= 5 && db.bytes().all(|b| b.is_ascii_digit());
                let Some(db) = ok.then(|| db.parse::<i64>().ok()).flatten() else {
                    return Err(refuse(
                        "the database after '/' must be a number from 0 to 99999",
                    ));
                };
                (authority, db)
            }
        };
        let (host, port) = split_host_port(authority)?;
        Ok(RedisUrl {
            tls,
            host,
            port,
            db,
            username,
            password,
        })
    }

    /// `host:port` (`[v6]:port`), for messages: never the user or password.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether the connection uses TLS (`rediss://`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `text` with the password (raw and percent-encoded) replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some(password) = &self.password {
            let encoded = Zeroizing::new(
                percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
            for form in [password.as_str(), encoded.as_str()] {
                if !form.is_empty() && out.contains(form) {
                    out = out.replace(form, "***");
                }
            }
        }
        out
    }

    /// The Redis client's connection settings (built per connection, so
    /// the copy of the password lives only while a connection is made).
    pub(super) fn connection_info(&self) -> redis::ConnectionInfo {
        let addr = if self.tls {
            redis::ConnectionAddr::TcpTls {
                host: self.host.clone(),
                port: self.port,
                insecure: false,
                tls_params: None,
            }
        } else {
            redis::ConnectionAddr::Tcp(self.host.clone(), self.port)
        };
        redis::ConnectionInfo {
            addr,
            redis: redis::RedisConnectionInfo {
                db: self.db,
                username: self.username.clone(),
                password: self.password.as_ref().map(|p| p.to_string()),
                protocol: redis::ProtocolVersion::RESP2,
            },
        }
    }
}

fn split_host_port(authority: &str) -> Result<(String, u16), Error> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(refuse("an IPv6 host must be written [addr]"));
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(refuse("the address in [...] is not IPv6"));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(refuse("expected :port after [addr]")),
            },
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && (host.contains(':')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'));
    if !host_ok {
        return Err(refuse("the host must be a name or an IP address"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => {
            let ok = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
            match ok.then(|| p.parse::<u16>().ok()).flatten() {
                Some(port) if port > 0 => port,
                _ => return Err(refuse("the port must be a number from 1 to 65535")),
            }
        }
    };
    Ok((host.to_string(), port))
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let user = match (&self.username, &self.password) {
            (Some(user), Some(_)) => format!("{user}:***@"),
            (None, Some(_)) => ":***@".to_string(),
            _ => String::new(),
        };
        write!(
            f,
            "RedisUrl({scheme}://{user}{}/{})",
            self.host_port(),
            self.db
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_forms() {
        let u = RedisUrl::parse("redis://127.0.0.1:6390/2").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.db),
            (false, "127.0.0.1", 6390, 2)
        );
        assert_eq!((u.username.as_deref(), u.password.is_none()), (None, true));
        let u = RedisUrl::parse("rediss://pbx:p%40ss:w@rd@redis.example:6380/0").unwrap();
        assert!(u.tls);
        assert_eq!(u.host_port(), "redis.example:6380");
        assert_eq!(u.username.as_deref(), Some("pbx"));
        assert_eq!(u.password.as_deref().map(String::as_str), Some("p@ss:w@rd"));
        let u = RedisUrl::parse("redis://:secret@[::1]:7000").unwrap();
        assert_eq!((u.host_port(), u.db), ("[::1]:7000".to_string(), 0));
        assert_eq!(u.username, None);
        let u = RedisUrl::parse("redis://localhost").unwrap();
        assert_eq!(u.host_port(), "localhost:6379");
        assert!(RedisUrl::parse("redis://h:1/").is_ok());
    }

    #[test]
    fn refuses_bad_values_without_repeating_them() {
        for bad in [
            "",
            "http://h:1/0",
            "redis://",
            "redis://h:0/0",
            "redis://h:65536/0",
            "redis://h:x/0",
            "redis://h:1/x",
            "redis://h:1/0?protocol=resp3",
            "redis://h:1/0#insecure",
            "redis://s3cretpw@h:1/0",
            "redis://user:@h:1/0",
            "redis://us er:s3cretpw@h:1/0",
            "redis://:s3cretpw@[nothost]:1/0",
            "redis://:s3cretpw@h/o/st:1/0",
            "redis://:s3cretpw@h:1\n/0",
        ] {
            let e = RedisUrl::parse(bad).unwrap_err();
            assert!(e.message().starts_with("rate_limit_redis: "), "{bad}: {e}");
            assert!(!e.message().contains("s3cretpw"), "{bad}: {e}");
        }
    }

    #[test]
    fn debug_and_scrub_hide_the_password() {
        let u = RedisUrl::parse("redis://pbx:s3cret%2Fpw@10.0.0.5:6379/1").unwrap();
        let debug = format!("{u:?}");
        assert_eq!(debug, "RedisUrl(redis://pbx:***@10.0.0.5:6379/1)");
        assert_eq!(
            u.scrub("AUTH pbx s3cret/pw failed; s3cret%2Fpw"),
            "AUTH pbx *** failed; ***"
        );
        let info = u.connection_info();
        assert_eq!(info.redis.password.as_deref(), Some("s3cret/pw"));
        assert_eq!(info.redis.db, 1);
    }
}
