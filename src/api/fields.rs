//! The contract's rules for one field (text, phone number, GUID, e-mail),
//! applied before anything is sent. Each failure names the field (as the C
//! struct spells it) and the rule. The endpoints apply them to their inputs.

use crate::error::Error;

/// The longest string the contract accepts, in bytes.
pub const MAX_FIELD_BYTES: usize = 256;

/// Any string: at most 256 bytes, no control characters. (UTF-8 validity is
/// checked where bytes become a `&str`, at the FFI boundary.)
pub fn text(field: &str, value: &str) -> Result<(), Error> {
    if value.len() > MAX_FIELD_BYTES {
        return Err(Error::invalid(format!(
            "{field}: {} bytes is longer than the {MAX_FIELD_BYTES}-byte limit",
            value.len()
        )));
    }
    // Printable ASCII has no control character: skip decoding chars then.
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(());
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "{field}: control character U+{:04X} is not allowed",
            c as u32
        )));
    }
    Ok(())
}

/// A required string: non-empty, and [`text`].
pub fn required_text(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(format!(
            "{field}: is required and must not be empty"
        )));
    }
    text(field, value)
}

/// A phone number: digits, `+`, `-`, space, `(`, `)`, `.`, with at least one digit.
pub fn phone_number(field: &str, value: &str) -> Result<(), Error> {
    required_text(field, value)?;
    let allowed =
        |b: u8| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b' ' | b'(' | b')' | b'.');
    if value.bytes().all(allowed) {
        if value.bytes().any(|b| b.is_ascii_digit()) {
            return Ok(());
        }
    } else if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.')))
    {
        return Err(Error::invalid(format!(
            "{field}: character {c:?} is not allowed in a phone number (digits, '+', '-', ' ', '(', ')', '.')"
        )));
    }
    if !value.bytes().any(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(format!(
            "{field}: a phone number needs at least one digit"
        )));
    }
    Ok(())
}

/// A GUID: 8-4-4-4-12 hexadecimal digits.
pub fn guid(field: &str, value: &str) -> Result<(), Error> {
    required_text(field, value)?;
    // 8-4-4-4-12: dashes at 8, 13, 18 and 23 of 36 bytes, hex digits elsewhere.
    let is_guid = value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    if !is_guid {
        return Err(Error::invalid(format!(
            "{field}: must be a GUID of 8-4-4-4-12 hexadecimal digits"
        )));
    }
    Ok(())
}

/// The longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// An e-mail address as an agent's identity: `x@y`, at most 254 bytes,
/// no spaces or control characters. (Deliverability is LeadSquared's to
/// judge: the lookup answers `[]` for an address no active user has.)
pub fn email(field: &str, value: &str) -> Result<(), Error> {
    required_text(field, value)?;
    if value.len() > MAX_EMAIL_BYTES {
        return Err(Error::invalid(format!(
            "{field}: an e-mail address is at most {MAX_EMAIL_BYTES} bytes"
        )));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(Error::invalid(format!(
            "{field}: an e-mail address has no spaces"
        )));
    }
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => Err(Error::invalid(format!(
            "{field}: must be a UserId GUID or an e-mail address (name@domain)"
        ))),
    }
}

/// An agent: a UserId GUID, or an e-mail address to look the UserId up by.
pub fn user(field: &str, value: &str) -> Result<(), Error> {
    required_text(field, value)?;
    if value.contains('@') {
        email(field, value)
    } else {
        guid(field, value).map_err(|_| {
            Error::invalid(format!(
                "{field}: must be a UserId GUID (8-4-4-4-12 hexadecimal digits) or an e-mail address"
            ))
        })
    }
}

/// An optional GUID: `None` or "" is absent, anything else must be a GUID.
pub fn optional_guid(field: &str, value: Option<&str>) -> Result<(), Error> {
    match value {
        Some(v) if !v.is_empty() => guid(field, v),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_guids_or_e_mail_addresses() {
        for ok in [
            "dd908e91-c5c9-11e5-8de3-22000aa5088d",
            "agent@example.com",
            "a.b+c@sub.example.co.in",
        ] {
            user("user", ok).unwrap();
        }
        for (bad, words) in [
            ("", "required"),
            ("agent", "UserId GUID"),
            ("agent@", "e-mail"),
            ("@example.com", "e-mail"),
            ("a@b@c", "e-mail"),
            ("a b@example.com", "no spaces"),
            ("a\t@example.com", "control"),
        ] {
            let e = user("user", bad).unwrap_err();
            assert!(e.message().starts_with("user: "), "{}", e.message());
            assert!(e.message().contains(words), "{bad:?}: {}", e.message());
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(user("user", &long).is_err());
        optional_guid("lead_id", None).unwrap();
        optional_guid("lead_id", Some("")).unwrap();
        assert!(optional_guid("lead_id", Some("x")).is_err());
    }

    /// The fast paths accept and refuse exactly what the plain rules do.
    #[test]
    fn fast_paths_match_the_plain_rules() {
        use proptest::prelude::*;
        fn plain_guid(v: &str) -> bool {
            let groups: Vec<&str> = v.split('-').collect();
            groups.len() == 5
                && groups.iter().map(|g| g.len()).eq([8usize, 4, 4, 4, 12])
                && groups
                    .iter()
                    .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
        }
        fn plain_phone(v: &str) -> bool {
            v.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'))
                && v.bytes().any(|b| b.is_ascii_digit())
        }
        let ok_text = |v: &str| v.len() <= MAX_FIELD_BYTES && !v.chars().any(char::is_control);
        let mut runner = proptest::test_runner::TestRunner::default();
        let strategy = prop_oneof![
            "[0-9a-fA-F-]{0,40}",
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-gA-G]{4}-[0-9a-f]{4}-[0-9a-fA-F]{12}-?",
            "[0-9+() .-]{0,20}[a\\u{80}\\u{9f}\\u{7f}\\n]?[0-9+() .-]{0,5}",
            any::<String>(),
        ];
        runner
            .run(&strategy, |v| {
                let base = ok_text(&v) && !v.is_empty();
                prop_assert_eq!(
                    guid("f", &v).is_ok(),
                    base && plain_guid(&v),
                    "guid {:?}",
                    v
                );
                prop_assert_eq!(
                    phone_number("f", &v).is_ok(),
                    base && plain_phone(&v),
                    "phone {:?}",
                    v
                );
                prop_assert_eq!(text("f", &v).is_ok(), ok_text(&v), "text {:?}", v);
                Ok(())
            })
            .unwrap();
    }
}
