use super::calling_codes::COUNTRY_CALLING_CODES;
use super::*;
use crate::error::ErrorKind;
use proptest::prelude::*;

fn plan(cc: &str, trunk: &str, intl: &str) -> NumberPlan {
    NumberPlan::new(cc, trunk, intl).unwrap()
}

/// No country code, trunk `0`, international `00`: the contract's defaults.
fn default() -> NumberPlan {
    NumberPlan::default()
}
fn india() -> NumberPlan {
    plan("91", "0", "00")
}
fn uk() -> NumberPlan {
    plan("44", "0", "00")
}
/// As the brief's example: country code 1 and no trunk prefix.
fn us_no_trunk() -> NumberPlan {
    plan("1", "", "011")
}
/// The North American Numbering Plan as dialled: trunk `1`, international `011`.
fn nanp() -> NumberPlan {
    plan("1", "1", "011")
}
/// A North American PBX that sends national numbers as 10 digits, no country code set.
fn nanp_no_cc() -> NumberPlan {
    plan("", "1", "011")
}
fn russia() -> NumberPlan {
    plan("7", "8", "810")
}
fn australia() -> NumberPlan {
    plan("61", "0", "0011")
}

const I: bool = true; // international as written
const N: bool = false; // national

/// (input, plan, digits, international, has_country_code)
#[allow(clippy::type_complexity)]
fn valid_cases() -> Vec<(&'static str, NumberPlan, &'static str, bool, bool)> {
    vec![
        // India, every spelling the contract names.
        ("+918611795988", default(), "918611795988", I, true),
        ("+91 86117 95988", default(), "918611795988", I, true),
        ("+91-8611795988", default(), "918611795988", I, true),
        ("(+91) 86117-95988", default(), "918611795988", I, true),
        ("+91 (86117) 95988", default(), "918611795988", I, true),
        ("+91.86117.95988", default(), "918611795988", I, true),
        ("+91/86117/95988", default(), "918611795988", I, true),
        ("  +91 86117 95988  ", default(), "918611795988", I, true),
        (
            "+91\u{a0}86117\u{2013}95988",
            default(),
            "918611795988",
            I,
            true,
        ),
        (
            "\u{200e}+91 86117 95988",
            default(),
            "918611795988",
            I,
            true,
        ),
        ("08611795988", default(), "8611795988", N, false),
        ("08611795988", india(), "918611795988", N, true),
        ("086117-95988", india(), "918611795988", N, true),
        ("8611795988", default(), "8611795988", N, false),
        ("8611795988", india(), "918611795988", N, true),
        ("00918611795988", default(), "918611795988", I, true),
        ("0091 8611795988", india(), "918611795988", I, true),
        // The country code without `+` is a national number, as the
        // contract's rule 3 says: right with no default country code ...
        ("918611795988", default(), "918611795988", N, false),
        // ... and the country code twice with one (the PBX must send `+`).
        ("918611795988", india(), "91918611795988", N, true),
        ("tel:+918611795988", default(), "918611795988", I, true),
        ("Tel:+91-86117-95988", default(), "918611795988", I, true),
        // North America.
        ("(415) 555-0134", us_no_trunk(), "14155550134", N, true),
        ("415.555.0134", us_no_trunk(), "14155550134", N, true),
        ("415-555-0134", nanp(), "14155550134", N, true),
        ("1 (415) 555-0134", nanp(), "14155550134", N, true),
        ("1-415-555-0134", nanp_no_cc(), "4155550134", N, false),
        ("+1 415 555 0134", us_no_trunk(), "14155550134", I, true),
        ("+1 (415) 555-0134", default(), "14155550134", I, true),
        ("TEL:+1-415-555-0134", default(), "14155550134", I, true),
        ("tel:+1-415-555-0134;ext=12", nanp(), "14155550134", I, true),
        (
            "tel:+1.415.555.0134;isub=7;ext=12",
            nanp(),
            "14155550134",
            I,
            true,
        ),
        (
            "tel:555-0134;phone-context=+1-415",
            default(),
            "14155550134",
            I,
            true,
        ),
        ("011 44 7700 900123", nanp(), "447700900123", I, true),
        ("011-91-86117-95988", us_no_trunk(), "918611795988", I, true),
        // With `011` as the international prefix, `00` is not one.
        ("0044 7700 900123", nanp(), "100447700900123", N, true),
        // United Kingdom.
        ("07700 900123", uk(), "447700900123", N, true),
        ("07700 900123", default(), "7700900123", N, false),
        ("+44 7700 900123", uk(), "447700900123", I, true),
        ("+44 (0)7700 900123", default(), "447700900123", I, true),
        ("+44 ( 0 ) 20 7946 0000", default(), "442079460000", I, true),
        ("0044 (0)20 7946 0000", default(), "442079460000", I, true),
        (
            "tel:020-7946-0000;phone-context=example.com",
            uk(),
            "442079460000",
            N,
            true,
        ),
        // United Arab Emirates, Singapore.
        ("+971 50 123 4567", default(), "971501234567", I, true),
        ("00971501234567", default(), "971501234567", I, true),
        (
            "050 123 4567",
            plan("971", "0", "00"),
            "971501234567",
            N,
            true,
        ),
        ("+65 6123 4567", default(), "6561234567", I, true),
        ("6123 4567", plan("65", "", "001"), "6561234567", N, true),
        // Three-digit country codes.
        ("+353 1 234 5678", default(), "35312345678", I, true),
        ("+880 1712-345678", default(), "8801712345678", I, true),
        // Russia (trunk 8, international 810), Australia (international 0011).
        ("+7 495 123-45-67", default(), "74951234567", I, true),
        ("8 (495) 123-45-67", russia(), "74951234567", N, true),
        ("810 49 30 1234567", russia(), "49301234567", I, true),
        ("0011 61 2 9876 5432", australia(), "61298765432", I, true),
        ("(02) 9876 5432", australia(), "61298765432", N, true),
        // Only one trunk prefix is dropped.
        ("0012345", nanp_no_cc(), "0012345", N, false),
        ("00 1234", plan("", "0", ""), "01234", N, false),
        // Four digits are enough; fifteen are the most.
        ("1234", default(), "1234", N, false),
        (
            "+123 456 789 012 345",
            default(),
            "123456789012345",
            I,
            true,
        ),
    ]
}

#[test]
fn normalisation_table() {
    let cases = valid_cases();
    assert!(cases.len() >= 30);
    for (input, plan, digits, international, has_cc) in cases {
        let n = normalise("phone", input, &plan)
            .unwrap_or_else(|e| panic!("{input:?} under {plan:?}: {e}"));
        assert_eq!(n.digits(), digits, "{input:?} under {plan:?}");
        assert_eq!(n.is_international(), international, "{input:?}");
        assert_eq!(n.has_country_code(), has_cc, "{input:?}");
    }
}

#[test]
fn refusals_name_the_field_and_the_rule() {
    let long = "1".repeat(300);
    let cases: &[(&str, NumberPlan, &str)] = &[
        ("", default(), "at least 4 digits"),
        ("+", default(), "at least 4 digits"),
        ("   ", default(), "at least 4 digits"),
        ("123", default(), "at least 4 digits"),
        ("+9 1-2", default(), "at least 4 digits"),
        ("tel:", default(), "at least 4 digits"),
        ("1800-FLOWERS", default(), "letter 'F'"),
        ("+91 8611795988 x12", default(), "letter 'x'"),
        ("+91 8611795988 ext. 12", default(), "letter 'e'"),
        ("sip:+918611795988@pbx", default(), "letter 's'"),
        ("tel:+91-86117-95988x", default(), "letter 'x'"),
        ("+91 86117\t95988", default(), "control character U+0009"),
        ("+91 86117\n95988", default(), "control character U+000A"),
        ("+91 86117\u{0}95988", default(), "control character U+0000"),
        (
            "+91 86117\u{7f}95988",
            default(),
            "control character U+007F",
        ),
        (
            "tel:+14155550134;ext=1\u{7}",
            default(),
            "control character U+0007",
        ),
        ("*67 415 555 0134", nanp(), "'*' would change"),
        ("+91 8611795988#", default(), "'#' would change"),
        ("415 555 0134,,12", nanp(), "',' would change"),
        ("+1 415 555 0134;ext=12", nanp(), "';' would change"),
        ("+91 ٨٦١١٧٩٥٩٨٨", default(), "not an ASCII digit"),
        ("+91 ８６１１７９５９８８", default(), "not an ASCII digit"),
        ("+0123456", default(), "starts with 0"),
        ("000123456", default(), "starts with 0"),
        ("0012", default(), "leaves only 2 digits"),
        ("+1234567890123456", default(), "more than the 15"),
        ("08611795988123456", india(), "more than the 15"),
        (&long, default(), "256-byte limit"),
    ];
    for (input, plan, rule) in cases {
        let err = normalise("caller_number", input, plan).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{input:?}");
        assert!(
            err.message().starts_with("caller_number: "),
            "{input:?}: {}",
            err.message()
        );
        assert!(err.message().contains(rule), "{input:?}: {}", err.message());
    }
}

#[test]
fn lead_phone_splits_the_country_code() {
    let cases: &[(&str, NumberPlan, &str)] = &[
        ("+918611795988", default(), "+91-8611795988"),
        ("08611795988", india(), "+91-8611795988"),
        ("0091 86117 95988", default(), "+91-8611795988"),
        ("+1 415 555 0134", default(), "+1-4155550134"),
        ("(415) 555-0134", us_no_trunk(), "+1-4155550134"),
        ("+1 604 555 0134", default(), "+1-6045550134"), // Canada shares +1
        ("+44 7700 900123", default(), "+44-7700900123"),
        ("07700 900123", uk(), "+44-7700900123"),
        ("+971 50 123 4567", default(), "+971-501234567"),
        ("+65 6123 4567", default(), "+65-61234567"),
        ("+353 1 234 5678", default(), "+353-12345678"),
        ("+880 1712-345678", default(), "+880-1712345678"),
        ("+7 495 123-45-67", default(), "+7-4951234567"),
        ("+20 2 1234 5678", default(), "+20-212345678"),
        ("+27 21 123 4567", default(), "+27-211234567"),
        ("+852 2123 4567", default(), "+852-21234567"),
        ("+86 10 1234 5678", default(), "+86-1012345678"),
        ("+61 2 9876 5432", default(), "+61-298765432"),
        ("+49 30 1234567", default(), "+49-301234567"),
        ("+599 9 123 4567", default(), "+599-91234567"),
    ];
    for (input, plan, want) in cases {
        let n = normalise("phone", input, plan).unwrap();
        assert_eq!(lead_phone(&n).as_deref(), Ok(*want), "{input:?}");
    }
}

#[test]
fn lead_phone_refuses_without_a_country_code() {
    let n = normalise("phone", "08611795988", &default()).unwrap();
    let err = lead_phone(&n).unwrap_err();
    assert_eq!(
        err,
        NoCountryCode::National {
            digits: "8611795988".into()
        }
    );
    assert!(err.to_string().contains("default_country_code is not set"));

    for input in ["+999 123 4567", "+210 1234567", "+671 123 4567"] {
        let n = normalise("phone", input, &default()).unwrap();
        let err = lead_phone(&n).unwrap_err();
        assert!(matches!(err, NoCountryCode::Unassigned { .. }), "{input}");
        assert!(err.to_string().contains("no assigned country calling code"));
    }
}

#[test]
fn calling_code_table_is_prefix_free_and_well_formed() {
    let codes = COUNTRY_CALLING_CODES;
    for (i, a) in codes.iter().enumerate() {
        assert!((1..=3).contains(&a.len()), "{a}");
        assert!(all_ascii_digits(a) && !a.starts_with('0'), "{a}");
        for b in &codes[i + 1..] {
            assert!(!a.starts_with(b) && !b.starts_with(a), "{a} and {b}");
        }
    }
    // Sorted, so a missing or doubled code is easy to see in review.
    assert!(codes.windows(2).all(|w| w[0] < w[1]));
    for (digits, cc) in [
        ("14155550134", Some("1")),
        ("74951234567", Some("7")),
        ("918611795988", Some("91")),
        ("971501234567", Some("971")),
        ("35312345678", Some("353")),
        ("8801712345678", Some("880")),
        ("2101234567", None),
        ("9991234567", None),
        ("", None),
        ("9", None),
    ] {
        assert_eq!(country_code_of(digits), cc, "{digits}");
    }
}

#[test]
fn plan_validation() {
    assert_eq!(
        NumberPlan::default(),
        NumberPlan {
            default_country_code: String::new(),
            trunk_prefix: "0".into(),
            international_prefix: "00".into(),
        }
    );
    NumberPlan::default().validate().unwrap();
    for (cc, trunk, intl) in [
        ("91", "0", "00"),
        ("1", "1", "011"),
        ("1", "", "011"),
        ("971", "0", "00"),
        ("", "", ""),
        ("61", "0", "0011"),
        ("36", "06", "00"),
    ] {
        NumberPlan::new(cc, trunk, intl).unwrap();
    }
    for (cc, trunk, intl, field, rule) in [
        (
            "091",
            "0",
            "00",
            "default_country_code",
            "does not start with 0",
        ),
        ("+91", "0", "00", "default_country_code", "1 to 3 digits"),
        ("1234", "0", "00", "default_country_code", "1 to 3 digits"),
        ("9a", "0", "00", "default_country_code", "1 to 3 digits"),
        ("12", "0", "00", "default_country_code", "not an assigned"),
        ("999", "0", "00", "default_country_code", "not an assigned"),
        ("91", "o", "00", "trunk_prefix", "1 to 4 digits"),
        ("91", "00000", "00", "trunk_prefix", "1 to 4 digits"),
        ("91", "0", "+", "international_prefix", "1 to 4 digits"),
        ("91", "0", " 00", "international_prefix", "1 to 4 digits"),
        ("91", "0", "0", "international_prefix", "must differ"),
    ] {
        let err = NumberPlan::new(cc, trunk, intl).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().starts_with(&format!("{field}: ")), "{err}");
        assert!(err.message().contains(rule), "{err}");
    }
}

fn any_plan() -> impl Strategy<Value = NumberPlan> {
    (
        prop::sample::select(vec!["", "1", "7", "44", "65", "91", "353", "971"]),
        prop::sample::select(vec!["", "0", "1", "8", "06"]),
        prop::sample::select(vec!["", "00", "011", "0011", "810", "010"]),
    )
        .prop_filter_map("a valid plan", |(cc, trunk, intl)| {
            NumberPlan::new(cc, trunk, intl).ok()
        })
}

/// Strings that look like phone numbers, to reach the accepting paths.
fn phoneish() -> impl Strategy<Value = String> {
    prop_oneof![
        "(tel:|TEL:)?[+]?[0-9 ()./-]{0,24}",
        "[+]?[0-9]{1,4}[ -]?[(]?0?[)]?[ 0-9-]{3,14}",
        "tel:[+]?[0-9.-]{2,16}(;ext=[0-9]{1,4})?(;phone-context=([+][0-9-]{1,6}|[a-z.]{1,10}))?",
    ]
}

fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![phoneish(), any::<String>(), "\\PC{0,40}"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Never panics; every accepted number is 4 to 15 ASCII digits.
    #[test]
    fn never_panics_and_gives_digits(input in any_input(), plan in any_plan()) {
        if let Ok(n) = normalise("phone", &input, &plan) {
            prop_assert!(n.digits().bytes().all(|b| b.is_ascii_digit()));
            prop_assert!((MIN_DIGITS..=MAX_DIGITS).contains(&n.digits().len()));
            // Lead creation never panics either.
            let _ = lead_phone(&n);
        }
    }

    /// Idempotent: the digits of a number with a country code, given back
    /// as `+{digits}`, normalise to themselves, under any plan; a national
    /// number's digits, given back under a plan with no prefixes and no
    /// country code, too. So a cache key is a fixed point.
    #[test]
    fn idempotent(input in any_input(), plan in any_plan(), other in any_plan()) {
        if let Ok(n) = normalise("phone", &input, &plan) {
            if n.has_country_code() {
                for p in [&plan, &other] {
                    let again = normalise("phone", &format!("+{}", n.digits()), p).unwrap();
                    prop_assert_eq!(again.digits(), n.digits());
                    prop_assert!(again.is_international());
                }
            } else {
                let bare = NumberPlan::new("", "", "").unwrap();
                let again = normalise("phone", n.digits(), &bare).unwrap();
                prop_assert_eq!(again.digits(), n.digits());
                prop_assert!(!again.has_country_code());
            }
        }
    }

    /// Separators never change the number: spaces, hyphens, dots and
    /// slashes put between the digits of an E.164 number give its digits.
    #[test]
    fn separators_do_not_matter(
        digits in "[1-9][0-9]{3,14}",
        seps in prop::collection::vec(prop::sample::select(vec!["", " ", "-", ".", "/", " - "]), 15),
        plan in any_plan(),
    ) {
        let mut spelled = String::from("+");
        for (d, s) in digits.chars().zip(&seps) {
            spelled.push(d);
            spelled.push_str(s);
        }
        let n = normalise("phone", &spelled, &plan).unwrap();
        prop_assert_eq!(n.digits(), digits.as_str());
        let via_tel = normalise("phone", &format!("tel:{spelled}"), &plan).unwrap();
        prop_assert_eq!(via_tel.digits(), digits.as_str());
    }

    /// `+{cc}-{national}` puts back exactly the digits.
    #[test]
    fn lead_phone_round_trips(input in phoneish(), plan in any_plan()) {
        if let Ok(n) = normalise("phone", &input, &plan) {
            if let Ok(formatted) = lead_phone(&n) {
                let (cc, national) = formatted[1..].split_once('-').unwrap();
                prop_assert!(is_country_code(cc));
                prop_assert_eq!(format!("{cc}{national}"), n.digits());
            }
        }
    }
}
