//! Phone numbers: what is looked up (connector contract, "Phone numbers:
//! what is looked up", and "Finding a lead" → "Unknown callers").
//!
//! A PBX hands liblsq a number the way its dial plan has it: `+91 86117
//! 95988`, `08611795988`, `0091 8611795988`, `tel:+918611795988`.
//! LeadSquared's "Get Lead by Phone Number" wants digits "with or without
//! the country code, without spaces, hyphens or any other character". Two
//! spellings of one number must give one query (and so one cache key), so
//! [`normalise`] turns every spelling into the same digits under a
//! [`NumberPlan`], and [`lead_phone`] gives the `+{cc}-{national}` form that
//! a lead created for an unknown caller is stored with.
//!
//! What is refused, and why (all [`ErrorKind::InvalidArgument`](crate::ErrorKind),
//! naming the field):
//!
//! - letters other than a leading `tel:` (`1800-FLOWERS`, `555-0134 x12`,
//!   `sip:...`): liblsq does not guess at vanity numbers or extensions;
//! - control characters, as everywhere in the contract;
//! - characters that mean something to a dialler, so dropping them would
//!   look up another number: `*` and `#` (feature codes, `*67`), `,` (a
//!   pause, digits after it are dialled later) and `;` outside a `tel:` URI;
//! - decimal digits other than ASCII `0`-`9` (Arabic-Indic, full-width):
//!   dropping them would silently lose digits;
//! - fewer than 4 digits in all, more than 15 digits in the result (the
//!   E.164 maximum), an international number starting with `0` (no country
//!   code does), and input longer than [`MAX_FIELD_BYTES`].
//!
//! Every other character is a separator and dropped: space, `-`, `.`, `(`,
//! `)`, `/`, and any other punctuation or Unicode space or dash (a no-break
//! space or an en dash copied from a web page, a left-to-right mark).

mod calling_codes;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::api::fields::MAX_FIELD_BYTES;
use crate::error::{Error, ErrorKind};

pub use calling_codes::{country_code_of, is_country_code};

/// The most digits an E.164 number has, country code included.
pub(crate) const MAX_DIGITS: usize = 15;

/// The fewest digits a number may have (the contract's rule).
pub(crate) const MIN_DIGITS: usize = 4;

/// The longest trunk or international prefix accepted. Real ones are 1 to 4
/// digits: `0`, `1`, `06` (Hungary); `00`, `011` (North America), `010`
/// (Japan), `0011` (Australia), `00xx` carrier selection (Brazil).
pub(crate) const MAX_PREFIX_DIGITS: usize = 4;

/// How the numbers of one PBX are written: the `default_country_code`,
/// `trunk_prefix` and `international_prefix` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberPlan {
    /// Put in front of national numbers (`91`); empty: national numbers are
    /// looked up without a country code, and cannot be used to create a lead.
    pub default_country_code: String,
    /// The national (trunk) prefix dropped from national numbers, once
    /// (`0`; `1` in North America); empty: none.
    pub trunk_prefix: String,
    /// The prefix dialled before an international number (`00`; `011` in
    /// North America); empty: only a `+` marks a number international.
    pub international_prefix: String,
}

impl Default for NumberPlan {
    /// The contract's defaults: no country code, trunk prefix `0`,
    /// international prefix `00` (the ITU-recommended one, used in most of
    /// the world).
    fn default() -> NumberPlan {
        NumberPlan {
            default_country_code: String::new(),
            trunk_prefix: "0".to_owned(),
            international_prefix: "00".to_owned(),
        }
    }
}

impl NumberPlan {
    /// A checked plan: see [`NumberPlan::validate`].
    pub fn new(
        default_country_code: &str,
        trunk_prefix: &str,
        international_prefix: &str,
    ) -> Result<NumberPlan, Error> {
        let plan = NumberPlan {
            default_country_code: default_country_code.to_owned(),
            trunk_prefix: trunk_prefix.to_owned(),
            international_prefix: international_prefix.to_owned(),
        };
        plan.validate()?;
        Ok(plan)
    }

    /// Checks the three options, naming the option and the rule:
    ///
    /// - `default_country_code`: empty, or an assigned E.164 country code (1
    ///   to 3 digits, not starting with 0). Only assigned codes are taken, so
    ///   a typo (`091`, `12`) is caught when the client is made and not when
    ///   the first lead is created with a wrong number.
    /// - `trunk_prefix`, `international_prefix`: empty or 1 to
    ///   [`MAX_PREFIX_DIGITS`] ASCII digits ([`NumberPlan::validate`] adds
    ///   that they are not the same non-empty prefix: a number starting
    ///   with it would be both national and international).
    pub fn check_fields(&self) -> Result<(), Error> {
        let cc = self.default_country_code.as_str();
        if !cc.is_empty() {
            if cc.len() > 3 || !all_ascii_digits(cc) {
                return Err(Error::invalid(format!(
                    "default_country_code: must be 1 to 3 digits (a country calling code such as 91), or empty; got {cc:?}"
                )));
            }
            if cc.starts_with('0') {
                return Err(Error::invalid(format!(
                    "default_country_code: a country calling code does not start with 0; got {cc:?} (leave out the international prefix)"
                )));
            }
            if !is_country_code(cc) {
                return Err(Error::invalid(format!(
                    "default_country_code: {cc} is not an assigned ITU-T E.164 country calling code"
                )));
            }
        }
        for (field, prefix) in [
            ("trunk_prefix", &self.trunk_prefix),
            ("international_prefix", &self.international_prefix),
        ] {
            if prefix.len() > MAX_PREFIX_DIGITS || !all_ascii_digits(prefix) {
                return Err(Error::invalid(format!(
                    "{field}: must be empty or 1 to {MAX_PREFIX_DIGITS} digits; got {prefix:?}"
                )));
            }
        }
        Ok(())
    }

    /// [`NumberPlan::check_fields`], then the rule between two of them:
    /// a non-empty trunk prefix differs from the international prefix.
    pub fn validate(&self) -> Result<(), Error> {
        self.check_fields()?;
        if !self.trunk_prefix.is_empty() && self.trunk_prefix == self.international_prefix {
            return Err(Error::invalid(format!(
                "international_prefix: must differ from trunk_prefix (both are {:?})",
                self.trunk_prefix
            )));
        }
        Ok(())
    }
}

/// A number as it is looked up: its digits, the query and the cache key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Normalised {
    digits: String,
    international: bool,
    country_code_added: bool,
}

impl Normalised {
    /// The query digits, without `+`: `918611795988`, or `8611795988` for a
    /// national number when no default country code is set.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The digits, giving up the allocation (the cache key).
    pub fn into_digits(self) -> String {
        self.digits
    }

    /// Whether the number was written as international (a leading `+`, or
    /// the international prefix): its digits start with its own country code.
    pub fn is_international(&self) -> bool {
        self.international
    }

    /// Whether the digits start with a country code: the number was
    /// international, or national with the plan's `default_country_code`
    /// put in front. Only then can a lead be created for it.
    pub fn has_country_code(&self) -> bool {
        self.international || self.country_code_added
    }
}

/// Normalises a number as the PBX gives it into the digits LeadSquared is
/// asked for (the contract's four rules; see the module documentation for
/// what is refused and which separators are dropped). `field` names the
/// input in errors (`"phone"`, `"caller_number"`).
///
/// `tel:` URIs (RFC 3966): the scheme is dropped whatever its case, and so
/// are the URI's parameters (`;ext=`, `;isub=`, `;phone-context=`...): an
/// extension is not part of the number a lead is stored under, so
/// `tel:+1-415-555-0134;ext=12` is the lead of `+1-415-555-0134`. A local
/// number's `phone-context` that is a global number prefix
/// (`tel:5550134;phone-context=+1-415`) is put in front, which makes the
/// number international, as RFC 3966 section 5.1.5 reads it; a domain name
/// context is ignored and the number read under the plan.
///
/// International numbers written with the callee country's trunk prefix in
/// brackets, as much of Europe writes them (`+44 (0)20 7946 0000`, `+49
/// (0)30 ...`), lose the bracketed `(0)`: dialled, it is never sent.
pub fn normalise(field: &str, input: &str, plan: &NumberPlan) -> Result<Normalised, Error> {
    if input.len() > MAX_FIELD_BYTES {
        return Err(Error::invalid(format!(
            "{field}: {} bytes is longer than the {MAX_FIELD_BYTES}-byte limit",
            input.len()
        )));
    }
    // Control characters anywhere, tel: parameters included.
    if let Some(c) = input.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "{field}: control character U+{:04X} is not allowed",
            c as u32
        )));
    }
    let trimmed = input.trim_start_matches(' ');
    let tel = strip_tel(trimmed);
    let (number, context) = match tel {
        Some(uri) => split_tel_params(uri),
        None => (trimmed, None),
    };
    check_chars(field, number, tel.is_some())?;

    // A global-number phone-context of a local tel: number (RFC 3966).
    let context_digits = match context {
        Some(ctx) if !starts_international(number) => ctx
            .strip_prefix('+')
            .filter(|rest| rest.bytes().all(|b| b.is_ascii_digit() || is_visual(b)))
            .filter(|rest| rest.bytes().any(|b| b.is_ascii_digit()))
            .map(|rest| rest.bytes().filter(u8::is_ascii_digit).collect::<Vec<u8>>()),
        _ => None,
    };

    let plus = starts_international(number) || context_digits.is_some();
    let dialled_international = !plus
        && !plan.international_prefix.is_empty()
        && digits_of(number, false).starts_with(plan.international_prefix.as_bytes());
    let mut digits: Vec<u8> = context_digits.unwrap_or_default();
    digits.extend(digits_of(number, plus || dialled_international));
    if digits.len() < MIN_DIGITS {
        return Err(Error::invalid(format!(
            "{field}: a phone number needs at least {MIN_DIGITS} digits; {input:?} has {}",
            digits.len()
        )));
    }

    let (digits, international, country_code_added) = if plus {
        (digits, true, false)
    } else if dialled_international {
        (
            digits[plan.international_prefix.len()..].to_vec(),
            true,
            false,
        )
    } else {
        let national = digits
            .strip_prefix(plan.trunk_prefix.as_bytes())
            .unwrap_or(&digits);
        let mut out = plan.default_country_code.as_bytes().to_vec();
        out.extend_from_slice(national);
        (out, false, !plan.default_country_code.is_empty())
    };

    if international && digits.first() == Some(&b'0') {
        return Err(Error::invalid(format!(
            "{field}: {input:?} is international but no country calling code starts with 0"
        )));
    }
    if digits.len() < MIN_DIGITS {
        return Err(Error::invalid(format!(
            "{field}: {input:?} leaves only {} digits once its prefix is dropped (at least {MIN_DIGITS})",
            digits.len()
        )));
    }
    if digits.len() > MAX_DIGITS {
        return Err(Error::invalid(format!(
            "{field}: {input:?} gives {} digits, more than the {MAX_DIGITS} of an E.164 number",
            digits.len()
        )));
    }
    // Only ASCII digits were kept, so this cannot fail.
    let digits = String::from_utf8(digits)
        .map_err(|_| Error::new(ErrorKind::Internal, format!("{field}: digits not UTF-8")))?;
    Ok(Normalised {
        digits,
        international,
        country_code_added,
    })
}

/// Why a lead cannot be created for a number: the create needs the number
/// as `+{cc}-{national}`, and so its country code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoCountryCode {
    /// A national number and no `default_country_code` is set.
    National {
        /// The national digits.
        digits: String,
    },
    /// International, but its digits start with no assigned country code.
    Unassigned {
        /// The digits.
        digits: String,
    },
}

impl fmt::Display for NoCountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoCountryCode::National { digits } => write!(
                f,
                "not created: {digits} is a national number and default_country_code is not set, so its country code is unknown"
            ),
            NoCountryCode::Unassigned { digits } => write!(
                f,
                "not created: {digits} starts with no assigned country calling code"
            ),
        }
    }
}

impl std::error::Error for NoCountryCode {}

/// The number as a lead for an unknown caller is created with:
/// `+{cc}-{national}` (`+91-8611795988`), LeadSquared's own format for the
/// Phone field (it shows numbers this way, and the pop-up examples use it).
///
/// Inferred: LeadSquared splits the country code at the `-` and matches
/// later lookups "with or without the country code" against the national
/// part, so the split must be exact; a national number without a
/// `default_country_code` is refused rather than stored with a guessed one.
pub fn lead_phone(number: &Normalised) -> Result<String, NoCountryCode> {
    if !number.has_country_code() {
        return Err(NoCountryCode::National {
            digits: number.digits.clone(),
        });
    }
    match country_code_of(&number.digits) {
        Some(cc) if number.digits.len() > cc.len() => {
            Ok(format!("+{cc}-{}", &number.digits[cc.len()..]))
        }
        _ => Err(NoCountryCode::Unassigned {
            digits: number.digits.clone(),
        }),
    }
}

fn all_ascii_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// `tel:` in any case, dropped.
fn strip_tel(s: &str) -> Option<&str> {
    match s.get(..4) {
        Some(head) if head.eq_ignore_ascii_case("tel:") => Some(&s[4..]),
        _ => None,
    }
}

/// A `tel:` URI's number and its `phone-context`, if any; every parameter
/// is dropped.
fn split_tel_params(uri: &str) -> (&str, Option<&str>) {
    let mut parts = uri.split(';');
    let number = parts.next().unwrap_or("");
    let context = parts.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.eq_ignore_ascii_case("phone-context").then_some(value)
    });
    (number, context)
}

/// RFC 3966 visual separators.
fn is_visual(b: u8) -> bool {
    matches!(b, b'-' | b'.' | b'(' | b')')
}

/// A `+` before the first digit.
fn starts_international(number: &str) -> bool {
    number
        .bytes()
        .take_while(|b| !b.is_ascii_digit())
        .any(|b| b == b'+')
}

/// Refuses what the module documentation lists (control characters are
/// refused before, in the whole input). `tel_uri`: the number came
/// out of a `tel:` URI (its parameters already cut off).
fn check_chars(field: &str, number: &str, tel_uri: bool) -> Result<(), Error> {
    for c in number.chars() {
        let why = if c.is_ascii_digit() {
            continue;
        } else if c.is_alphabetic() {
            if tel_uri {
                format!("letter {c:?} is not allowed in a phone number")
            } else {
                format!("letter {c:?} is not allowed in a phone number (only a leading \"tel:\")")
            }
        } else if matches!(c, '*' | '#' | ',' | ';') {
            format!("{c:?} would change the number dialled and is not allowed")
        } else if c.is_numeric() {
            format!("digit {c:?} is not an ASCII digit 0-9")
        } else {
            continue;
        };
        return Err(Error::invalid(format!("{field}: {why}")));
    }
    Ok(())
}

/// The ASCII digits of a checked number. In an international number, a
/// bracketed `(0)` after the first digit (the callee country's trunk
/// prefix, never dialled from abroad) is left out.
fn digits_of(number: &str, international: bool) -> Vec<u8> {
    let bytes = number.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if international && b == b'(' && !out.is_empty() {
            if let Some(len) = bracketed_zero(&bytes[i..]) {
                i += len;
                continue;
            }
        }
        if b.is_ascii_digit() {
            out.push(b);
        }
        i += 1;
    }
    out
}

/// The length of `(0)` (spaces allowed inside) at the start of `s`.
fn bracketed_zero(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    let skip = |i: &mut usize| {
        while s.get(*i) == Some(&b' ') {
            *i += 1;
        }
    };
    skip(&mut i);
    if s.get(i) != Some(&b'0') {
        return None;
    }
    i += 1;
    skip(&mut i);
    (s.get(i) == Some(&b')')).then_some(i + 1)
}
