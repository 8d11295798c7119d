//! Leads imported in national format with a trunk prefix (the sample's UK lead is stored as
//! `07700 900123`) are found for the caller id as a PBX gives it, through the public Rust API
//! against the emulator and its sample data. liblsq queries the digits the contract's number
//! rules give (connector.md, "Phone numbers": `447700900123` for `+44 7700 900123`); that
//! LeadSquared finds a national-format lead by them is inferred (its documentation says only
//! "with or without the country code"), and the emulator matches that way.

mod support;

use lsq::{Client, Options};
use lsq_emulator::Data;
use support::*;

#[test]
fn a_lead_stored_in_national_format_is_found_by_its_international_caller_id() {
    let emu = emulator(Config {
        data: Data::sample(),
        ..Config::default()
    });
    for (plan, caller) in [
        (None, "+44 7700 900123"),
        (None, "+447700900123"),
        (Some("44"), "07700 900123"),
        (Some("44"), "+44 7700 900123"),
        (None, "0044 7700 900123"),
    ] {
        let mut options = Options::default();
        options.set("lead_cache_ttl_ms", "0").unwrap();
        if let Some(cc) = plan {
            options.set("default_country_code", cc).unwrap();
        }
        let c = Client::new(emu.url(), DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, options).unwrap();
        let report = c.find_lead(caller);
        let found = report
            .outcome
            .unwrap_or_else(|e| panic!("{caller} (default_country_code {plan:?}): {e}"));
        assert_eq!(
            (
                found.lead.first_name.as_str(),
                found.lead.last_name.as_str()
            ),
            ("Oliver", "Smith"),
            "{caller}"
        );
    }
}
