//! The ITU-T E.164 country calling codes (ITU-T Recommendation E.164,
//! Annex to ITU Operational Bulletin "List of ITU-T Recommendation E.164
//! assigned country codes"), for splitting an international number into its
//! country calling code and national number.
//!
//! Why a table and not a crate: the maintained libphonenumber port
//! (`phonenumber` 0.3.10, with regex, nom, postcard and the whole metadata
//! database) made the stripped `liblsq.so` 3,137,384 bytes larger (2,750,960
//! to 5,888,344: more than double) for a parse and a split, while all
//! liblsq needs is where the country code ends. This table, with
//! [`normalise`](super::normalise) and [`lead_phone`](super::lead_phone)
//! called from an exported function, adds 20,720 bytes (measured with
//! `cargo build --release -p lsq`, `strip`, `ls -l`). E.164 country codes
//! are prefix-free (no code is the start of another), so a longest-prefix
//! match over the first 1 to 3 digits is exact, and this table is all that
//! takes.
//!
//! Codes no longer in use (671 and 684, now +1; 969; 978; 997, now +7; the
//! Inmarsat ocean-region codes 871 to 874) and spare codes are left out:
//! they are not a country code of any lead. Shared and global codes that
//! still route calls (800, 808, 870, 878, 881 to 883, 888, 979, 991) are in.

/// Every assigned country calling code, sorted (so a missing or doubled
/// code shows in review; a test checks the order and that no code is the
/// start of another). Laid out by hand, one zone a line group.
#[rustfmt::skip]
pub const COUNTRY_CALLING_CODES: &[&str] = &[
    // Zone 1: the North American Numbering Plan (US, Canada, most of the Caribbean).
    "1",
    // Zone 2: mostly Africa.
    "20", "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226",
    "227", "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239",
    "240", "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252",
    "253", "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266",
    "267", "268", "269", "27", "290", "291", "297", "298", "299",
    // Zones 3 and 4: Europe.
    "30", "31", "32", "33", "34", "350", "351", "352", "353", "354", "355", "356", "357", "358",
    "359", "36", "370", "371", "372", "373", "374", "375", "376", "377", "378", "379", "380",
    "381", "382", "383", "385", "386", "387", "389", "39",
    "40", "41", "420", "421", "423", "43", "44", "45", "46", "47", "48", "49",
    // Zone 5: South and Central America.
    "500", "501", "502", "503", "504", "505", "506", "507", "508", "509", "51", "52", "53",
    "54", "55", "56", "57", "58", "590", "591", "592", "593", "594", "595", "596", "597", "598",
    "599",
    // Zone 6: South-East Asia and Oceania.
    "60", "61", "62", "63", "64", "65", "66", "670", "672", "673", "674", "675", "676", "677",
    "678", "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690", "691",
    "692",
    // Zone 7: Russia and Kazakhstan.
    "7",
    // Zone 8: East Asia and global services.
    "800", "808", "81", "82", "84", "850", "852", "853", "855", "856", "86", "870", "878", "880",
    "881", "882", "883", "886", "888",
    // Zone 9: West, Central and South Asia, and the Middle East.
    "90", "91", "92", "93", "94", "95", "960", "961", "962", "963", "964", "965", "966", "967",
    "968", "970", "971", "972", "973", "974", "975", "976", "977", "979", "98", "991", "992",
    "993", "994", "995", "996", "998",
];

/// The country calling code that `digits` (an international number without
/// `+`) starts with, if any. Exact because the codes are prefix-free.
pub fn country_code_of(digits: &str) -> Option<&'static str> {
    (1..=3)
        .filter_map(|n| digits.get(..n))
        .find_map(|head| COUNTRY_CALLING_CODES.iter().copied().find(|c| *c == head))
}

/// Whether `code` is an assigned country calling code.
pub fn is_country_code(code: &str) -> bool {
    COUNTRY_CALLING_CODES.contains(&code)
}
