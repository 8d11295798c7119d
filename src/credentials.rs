//! The access key and secret key. They live only here, are wiped when the
//! client goes away, print as `***`, and can be scrubbed from any text that
//! came from elsewhere (a server that echoes them back).

use std::fmt;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::url::url_encode;

/// The keys. `Debug` never shows them.
pub struct Credentials {
    access_key: Zeroizing<String>,
    secret_key: Zeroizing<String>,
    /// What [`Credentials::scrub`] replaces, in order: for each key, the raw
    /// key, its URL encoding, and that encoding with lower-case hex digits.
    /// Built once: scrub runs on every popup's answer.
    forms: Vec<Zeroizing<String>>,
}

impl Credentials {
    /// Checks and copies the keys. The error never repeats a key.
    pub fn new(access_key: &str, secret_key: &str) -> Result<Credentials, Error> {
        check("access_key", access_key)?;
        check("secret_key", secret_key)?;
        let mut forms = Vec::with_capacity(6);
        for key in [access_key, secret_key] {
            let encoded = Zeroizing::new(url_encode(key));
            // A server that re-encodes what it got may use either case:
            // .NET's UrlEncode writes %2f, where we send %2F.
            let lower = Zeroizing::new(lower_case_escapes(&encoded));
            forms.extend([Zeroizing::new(key.to_string()), encoded, lower]);
        }
        Ok(Credentials {
            access_key: Zeroizing::new(access_key.to_string()),
            secret_key: Zeroizing::new(secret_key.to_string()),
            forms,
        })
    }

    /// The access key, for building a request.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret key, for building a request.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// `text` with every occurrence of either key (raw, or URL-encoded with
    /// upper- or lower-case hex digits) replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for form in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "***");
            }
        }
        out
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials { access_key: ***, secret_key: *** }")
    }
}

/// `%2F` -> `%2f`: the hex digits of each escape in lower case, the rest as is.
fn lower_case_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            if c == '%' {
                hex_left = 2;
            }
            out.push(c);
        }
    }
    out
}

/// The shortest key accepted. LeadSquared's keys are 30 to 40 characters;
/// a key of a few letters cannot be one, and scrubbing it from messages
/// would mangle every word that holds those letters.
pub(crate) const MIN_KEY_BYTES: usize = 8;

fn check(field: &str, key: &str) -> Result<(), Error> {
    if key.is_empty() {
        return Err(Error::invalid(format!(
            "{field}: is required and must not be empty"
        )));
    }
    if key.len() < MIN_KEY_BYTES {
        return Err(Error::invalid(format!(
            "{field}: {} byte(s) is too short for a LeadSquared key (at least {MIN_KEY_BYTES}; copy the whole key from LeadSquared's API and Webhooks settings)",
            key.len()
        )));
    }
    if key.len() > 512 {
        return Err(Error::invalid(format!("{field}: longer than 512 bytes")));
    }
    if key.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "{field}: control characters are not allowed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_errors_never_show_a_key() {
        let c = Credentials::new("u$AK-visible?", "SK zq9/+").unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("AK-visible") && !debug.contains("zq9"));
        let e = Credentials::new("AK\nline-long", "secret-long").unwrap_err();
        assert!(!e.message().contains("AK"));
        assert_eq!(
            c.scrub("bad key u$AK-visible? and SK%20zq9%2F%2B"),
            "bad key *** and ***"
        );
        assert_eq!(
            c.scrub("as .NET echoes it: u%24AK-visible%3f SK%20zq9%2f%2b"),
            "as .NET echoes it: *** ***"
        );
    }
}

#[cfg(test)]
mod short_keys {
    use super::*;

    /// Keys of a letter or two are refused with a reason that does not
    /// repeat them, so they can never mangle a message by being scrubbed.
    #[test]
    fn short_keys_are_refused_with_a_reason() {
        for (access, secret, field) in [
            ("e", "a-long-secret-key", "access_key"),
            ("a-long-access-key", "o", "secret_key"),
            ("1234567", "a-long-secret-key", "access_key"),
        ] {
            let e = Credentials::new(access, secret).unwrap_err();
            assert!(e.message().starts_with(field), "{}", e.message());
            assert!(e.message().contains("too short"), "{}", e.message());
        }
        let c = Credentials::new("12345678", "abcdefgh").unwrap();
        assert_eq!(
            c.scrub("network error: uncategorized error"),
            "network error: uncategorized error"
        );
    }
}
