//! The `host` argument: a bare host (https implied) or a base URL with a
//! scheme and an optional port. Parsed once at client creation, so every
//! request reuses the same validated base.

use std::net::IpAddr;

use crate::error::Error;

/// A validated base URL such as `https://api-in21.leadsquared.com` or
/// `http://127.0.0.1:8080` (no trailing slash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
    /// `host:port` with the scheme's default port filled in, for messages.
    host_port: String,
}

impl Endpoint {
    /// Parses `host`. Plain http is refused unless the host is loopback or
    /// `allow_http` is set.
    pub fn parse(host: &str, allow_http: bool) -> Result<Endpoint, Error> {
        let host = host.trim();
        if host.is_empty() {
            return Err(Error::invalid("host: is required and must not be empty"));
        }
        if let Some(c) = host.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::invalid(format!(
                "host: character U+{:04X} is not allowed",
                c as u32
            )));
        }
        let (https, rest) = match host.split_once("://") {
            None => (true, host),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, _)) => {
                return Err(Error::invalid(format!(
                    "host: scheme {scheme:?} is not supported (use https:// or http://)"
                )))
            }
        };
        if rest.contains(['?', '#']) {
            return Err(Error::invalid("host: a query or fragment is not allowed"));
        }
        let authority = match rest.split_once('/') {
            None => rest,
            Some((authority, "")) => authority,
            Some(_) => {
                return Err(Error::invalid(
                    "host: a path is not allowed (give only the host, e.g. https://api.leadsquared.com)",
                ))
            }
        };
        if authority.contains('@') {
            return Err(Error::invalid(
                "host: user information (user@) is not allowed",
            ));
        }
        let (name, port) = split_port(authority)?;
        check_host_name(name)?;
        if !https && !allow_http && !is_loopback(name) {
            return Err(Error::invalid(format!(
                "host: plain http to {name} is refused: the keys would travel in clear; use https, or set allow_http=true"
            )));
        }
        let scheme = if https { "https" } else { "http" };
        let base = match port {
            Some(port) => format!("{scheme}://{name}:{port}"),
            None => format!("{scheme}://{name}"),
        };
        let default_port = if https { 443 } else { 80 };
        let host_port = format!("{name}:{}", port.unwrap_or(default_port));
        Ok(Endpoint { base, host_port })
    }

    /// The base, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `host:port` (the scheme's default port when none was given): what
    /// connect failures name.
    pub fn host_port(&self) -> &str {
        &self.host_port
    }
}

/// Splits `name[:port]`, with `[v6]` literals.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), Error> {
    let (name, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| Error::invalid("host: unterminated [IPv6] literal"))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(Error::invalid("host: not a valid IPv6 address"));
        }
        let name = &authority[..addr.len() + 2];
        match after {
            "" => (name, None),
            p => match p.strip_prefix(':') {
                Some(port) => (name, Some(port)),
                None => return Err(Error::invalid("host: junk after the [IPv6] literal")),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                return Err(Error::invalid(format!(
                    "host: port {p:?} is not a number from 1 to 65535"
                )))
            }
        },
    };
    Ok((name, port))
}

fn check_host_name(name: &str) -> Result<(), Error> {
    if name.starts_with('[') {
        return Ok(()); // checked in split_port
    }
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "host: {name:?} is not a valid host name"
        )))
    }
}

fn is_loopback(name: &str) -> bool {
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let literal = name.trim_start_matches('[').trim_end_matches(']');
    literal
        .parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(host: &str) -> String {
        Endpoint::parse(host, false).unwrap().base().to_string()
    }

    fn refused(host: &str) -> String {
        Endpoint::parse(host, false)
            .unwrap_err()
            .message()
            .to_string()
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(
            ok("api-in21.leadsquared.com"),
            "https://api-in21.leadsquared.com"
        );
        assert_eq!(
            ok("https://api.leadsquared.com/"),
            "https://api.leadsquared.com"
        );
        assert_eq!(
            ok("HTTPS://api.leadsquared.com:8443"),
            "https://api.leadsquared.com:8443"
        );
        assert_eq!(ok("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(ok("http://127.9.9.9"), "http://127.9.9.9");
        assert_eq!(ok("http://localhost:1"), "http://localhost:1");
        assert_eq!(ok("http://[::1]:8080"), "http://[::1]:8080");
        let host_port = |h: &str| Endpoint::parse(h, false).unwrap().host_port().to_string();
        assert_eq!(host_port("api.leadsquared.com"), "api.leadsquared.com:443");
        assert_eq!(host_port("http://127.0.0.1"), "127.0.0.1:80");
        assert_eq!(host_port("http://[::1]:8080"), "[::1]:8080");
        assert_eq!(
            Endpoint::parse("http://pbx-gw.example", true)
                .unwrap()
                .base(),
            "http://pbx-gw.example"
        );
    }

    #[test]
    fn refused_forms() {
        assert!(refused("").contains("required"));
        assert!(refused("http://api.leadsquared.com").contains("allow_http"));
        assert!(refused("http://10.0.0.1:80").contains("allow_http"));
        assert!(refused("https://h/v2").contains("path"));
        assert!(refused("https://h?a=b").contains("query"));
        assert!(refused("https://h/#x").contains("fragment"));
        assert!(refused("ftp://h").contains("scheme"));
        assert!(refused("https://u:p@h").contains("user"));
        assert!(refused("https://h:0").contains("port"));
        assert!(refused("https://h:99999").contains("port"));
        assert!(refused("https://h:+80").contains("port"));
        assert!(refused("https://h h").contains("not allowed"));
        assert!(refused("https://h\r\nX: y").contains("not allowed"));
        assert!(refused("https://bad_name").contains("valid host"));
        assert!(refused("https://[::1").contains("IPv6"));
        assert!(refused("https://[zz]").contains("IPv6"));
    }
}
