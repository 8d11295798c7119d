//! `rate_limit_key`: which budget in Redis a client shares.
//!
//! PBXs of one account must land on one budget and different accounts must
//! never share one, without the access key ever reaching Redis (or a log):
//! by default the name is derived from a one-way hash of the access key
//! (SHA-256, domain-separated, 128 bits kept). An access key is long and
//! random, so the name cannot be turned back into the key.
//!
//! The Redis keys are `lsq:budget:{NAME}:grants|limit|pause`; the braces are
//! a Redis Cluster hash tag, so the three keys of one budget share a slot and
//! one script may touch them all.

use std::fmt::Write as _;

use crate::error::Error;

const MAX_LEN: usize = 100;
const DOMAIN: &[u8] = b"liblsq rate_limit_key v1\0";

/// A checked `rate_limit_key` (or the one derived from an access key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    /// A name given by the integrator: 1 to 100 characters from
    /// `A-Z a-z 0-9 _ . : -` (no braces, which would break the hash tag).
    pub fn parse(value: &str) -> Result<KeyName, Error> {
        let ok = !value.is_empty()
            && value.len() <= MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if !ok {
            return Err(Error::invalid(format!(
                "rate_limit_key: must be 1 to {MAX_LEN} characters from A-Z a-z 0-9 _ . : -"
            )));
        }
        Ok(KeyName(value.to_string()))
    }

    /// The default name for an account: `ak-` and 32 hex digits of
    /// SHA-256("liblsq rate_limit_key v1\0" + access key).
    pub fn derived(access_key: &str) -> KeyName {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(DOMAIN);
        ctx.update(access_key.as_bytes());
        let digest = ctx.finish();
        let mut name = String::with_capacity(35);
        name.push_str("ak-");
        for byte in &digest.as_ref()[..16] {
            let _ = write!(name, "{byte:02x}");
        }
        KeyName(name)
    }

    /// The option if set, else the name derived from the access key.
    pub fn for_client(option: Option<&str>, access_key: &str) -> Result<KeyName, Error> {
        match option {
            Some(value) => KeyName::parse(value),
            None => Ok(KeyName::derived(access_key)),
        }
    }

    /// The name part.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three Redis keys of this budget: grants (sorted set), learned
    /// limit, pause.
    pub(super) fn redis_keys(&self) -> [String; 3] {
        ["grants", "limit", "pause"].map(|part| format!("lsq:budget:{{{}}}:{part}", self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_are_stable_per_key_and_never_hold_it() {
        let a = KeyName::derived("u$r0123456789abcdef0123456789abcd");
        assert_eq!(a, KeyName::derived("u$r0123456789abcdef0123456789abcd"));
        assert_ne!(a, KeyName::derived("u$r0123456789abcdef0123456789abce"));
        assert!(
            a.as_str().starts_with("ak-") && a.as_str().len() == 35,
            "{a:?}"
        );
        assert!(!a.as_str().contains("0123456789abcdef"));
        // A key that is itself hex is not echoed either.
        let hexkey = "0123456789abcdef0123456789abcdef";
        let b = KeyName::derived(hexkey);
        assert!(!b.as_str().contains(&hexkey[..8]), "{b:?}");
        assert!(KeyName::parse(a.as_str()).is_ok());
    }

    #[test]
    fn given_names_are_checked() {
        assert_eq!(
            KeyName::parse("acme-prod.1:x_y").unwrap().as_str(),
            "acme-prod.1:x_y"
        );
        for bad in ["", "a b", "a{b}", "a\nb", &"x".repeat(101), "é"] {
            let e = KeyName::parse(bad).unwrap_err();
            assert!(e.message().starts_with("rate_limit_key:"), "{bad:?}");
        }
        assert_eq!(
            KeyName::for_client(None, "AK-0001").unwrap(),
            KeyName::derived("AK-0001")
        );
        assert_eq!(
            KeyName::parse("acme").unwrap().redis_keys(),
            [
                "lsq:budget:{acme}:grants",
                "lsq:budget:{acme}:limit",
                "lsq:budget:{acme}:pause"
            ]
        );
    }
}
