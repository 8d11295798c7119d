//! Phone numbers as LeadSquared stores and matches them.

/// The digits of a stored number, in order (`+91-8611795988` -> `918611795988`).
pub(crate) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The shortest suffix that still matches: LeadSquared stores numbers with or without the
/// country code (and national ones with a trunk `0`), and matches either way; a shorter tail
/// (a 4-digit extension, say) would match unrelated numbers. Inferred: the documentation says
/// only "with or without the country code", not how short a tail may be.
pub const MIN_SUFFIX_DIGITS: usize = 7;

/// Whether a lookup of `query` (digits) finds a lead stored with `stored` (digits): equal, or
/// one ends with the other and the shorter has at least [`MIN_SUFFIX_DIGITS`] digits; a number
/// stored in national format with a trunk prefix (`07700 900123`: one `0`, not the `00` of an
/// international prefix) also matches by the digits after that `0`, so the international
/// `447700900123` finds it.
///
/// Inferred: LeadSquared documents only that a number may be passed "with or without the
/// country code"; leads imported in national format are common, and a query with the country
/// code matching the national form (trunk `0` dropped, as ITU-T E.164 forms the international
/// number) is what "with or without" means for them.
pub(crate) fn matches(stored: &str, query: &str) -> bool {
    if stored.is_empty() || query.is_empty() {
        return false;
    }
    if let Some(national) = stored.strip_prefix('0').filter(|n| !n.starts_with('0')) {
        if suffix_match(national, query) {
            return true;
        }
    }
    suffix_match(stored, query)
}

fn suffix_match(stored: &str, query: &str) -> bool {
    if stored.is_empty() {
        return false;
    }
    if stored == query {
        return true;
    }
    let (long, short) = if stored.len() >= query.len() {
        (stored, query)
    } else {
        (query, stored)
    };
    short.len() >= MIN_SUFFIX_DIGITS && long.ends_with(short)
}

/// The form Lead.Create wants for a phone field: `+{country code}-{national number}`, e.g.
/// `+91-8611795988` (1 to 3 country-code digits, then 4 to 15 national digits). Inferred
/// bounds: LeadSquared documents the shape by example only.
pub(crate) fn is_create_form(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let Some((cc, national)) = rest.split_once('-') else {
        return false;
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all_digits(cc)
        && cc.len() <= 3
        && !cc.starts_with('0')
        && all_digits(national)
        && (4..=15).contains(&national.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_rule() {
        assert!(matches("918611795988", "918611795988"));
        assert!(matches("918611795988", "8611795988"));
        assert!(matches("8611795988", "918611795988"));
        assert!(matches("08611795988", "8611795988"));
        assert!(matches("1234567", "991234567"));
        assert!(!matches("123456", "99123456"));
        assert!(!matches("918611795988", "918611795989"));
        assert!(!matches("", ""));
        assert!(matches("1234", "1234"));
        // National format with a trunk 0, found by the international number.
        assert!(matches("07700900123", "447700900123"));
        assert!(matches("07700900123", "7700900123"));
        assert!(matches("07700900123", "07700900123"));
        assert!(!matches("07700900123", "447700900124"));
        // "00" is an international prefix, not a trunk 0.
        assert!(!matches("0044770090", "1144770090"));
    }

    #[test]
    fn create_form() {
        assert!(is_create_form("+91-8611795988"));
        assert!(is_create_form("+1-4155550134"));
        assert!(is_create_form("+971-501234567"));
        for bad in [
            "8611795988",
            "+918611795988",
            "+91 8611795988",
            "+-861179",
            "+1234-5555555",
            "+91-86117 95988",
            "+91-",
            "+01-5555555",
        ] {
            assert!(!is_create_form(bad), "{bad}");
        }
    }
}
