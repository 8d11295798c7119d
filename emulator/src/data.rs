//! The leads and users the emulator answers lookups from: a JSON file
//! `{"leads":[...],"users":[...]}` ([`Data::load`]), a bundled sample ([`Data::sample`]), or
//! built in code ([`Data::add_lead`], [`Data::add_user`]).

use std::io;
use std::path::Path;

use serde_json::{Map, Value};

use crate::check::is_guid;
use crate::phone;
use crate::time::parse_utc;

/// The lead fields every lead answer carries (`null` when the data has no value), as
/// LeadSquared's answers always carry their schema's fields.
pub const LEAD_FIELDS: [&str; 12] = [
    "ProspectID",
    "FirstName",
    "LastName",
    "EmailAddress",
    "Phone",
    "Mobile",
    "Company",
    "ProspectStage",
    "OwnerId",
    "Source",
    "CreatedOn",
    "ModifiedOn",
];

/// The user fields every user answer carries (`null` when the data has no value).
pub const USER_FIELDS: [&str; 6] = [
    "UserId",
    "FirstName",
    "LastName",
    "EmailAddress",
    "Role",
    "StatusCode",
];

/// A user's `StatusCode` when active. Inferred: LeadSquared lists 0 for active users and 1 for
/// deactivated ones; only active users are found by e-mail.
pub const USER_ACTIVE: i64 = 0;

const SAMPLE: &str = include_str!("../data/sample.json");

/// Leads and users, validated: every lead has a GUID `ProspectID` (unique), `Phone` and
/// `Mobile` are strings or null, `ModifiedOn` and `CreatedOn` are `YYYY-MM-DD HH:MM:SS` or
/// null; every user has a GUID `UserId` (unique), an `EmailAddress` with an `@`, and an
/// integer `StatusCode` (0, active, when absent). Missing [`LEAD_FIELDS`] / [`USER_FIELDS`] are
/// filled with `null`; other fields are kept and answered as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    leads: Vec<Value>,
    users: Vec<Value>,
}

impl Data {
    /// No leads, no users: every lookup answers `[]`.
    pub fn new() -> Data {
        Data::default()
    }

    /// Parses and validates `{"leads":[...],"users":[...]}` (either may be absent; no other
    /// names). The error names the offending entry.
    pub fn from_json(text: &str) -> Result<Data, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(top) = v else {
            return Err("the data must be a JSON object {\"leads\":[..],\"users\":[..]}".into());
        };
        let mut data = Data::new();
        for (name, value) in top {
            let Value::Array(items) = value else {
                return Err(format!("\"{name}\" must be an array"));
            };
            match name.as_str() {
                "users" => {
                    for (i, u) in items.into_iter().enumerate() {
                        data.add_user(u).map_err(|e| format!("users[{i}]: {e}"))?;
                    }
                }
                "leads" => {
                    for (i, l) in items.into_iter().enumerate() {
                        data.add_lead(l).map_err(|e| format!("leads[{i}]: {e}"))?;
                    }
                }
                other => return Err(format!("unknown name \"{other}\" (leads, users)")),
            }
        }
        Ok(data)
    }

    /// Reads and validates a data file; `InvalidData` with the reason when it is not valid.
    pub fn load(path: impl AsRef<Path>) -> io::Result<Data> {
        let text = std::fs::read_to_string(path)?;
        Data::from_json(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// The bundled sample (`emulator/data/sample.json`): Indian, US, UK, UAE and Singapore
    /// leads with fictional numbers in LeadSquared's various stored forms, and their owners.
    pub fn sample() -> Data {
        // The sample is checked by a unit test, so this cannot fail in a released build.
        Data::from_json(SAMPLE).unwrap_or_default()
    }

    /// The leads, in the order added, each with every [`LEAD_FIELDS`] name.
    pub fn leads(&self) -> &[Value] {
        &self.leads
    }

    /// The users, in the order added, each with every [`USER_FIELDS`] name.
    pub fn users(&self) -> &[Value] {
        &self.users
    }

    /// Adds a lead (a JSON object, validated as described on [`Data`]).
    pub fn add_lead(&mut self, lead: Value) -> Result<(), String> {
        let Value::Object(mut obj) = lead else {
            return Err("a lead must be a JSON object".into());
        };
        let id = guid_field(&obj, "ProspectID")?;
        if self.leads.iter().any(|l| l["ProspectID"] == id.as_str()) {
            return Err(format!("duplicate ProspectID {id}"));
        }
        for name in [
            "Phone",
            "Mobile",
            "FirstName",
            "LastName",
            "EmailAddress",
            "OwnerId",
        ] {
            if !matches!(obj.get(name), None | Some(Value::Null | Value::String(_))) {
                return Err(format!("{name} must be a string or null"));
            }
        }
        for name in ["CreatedOn", "ModifiedOn"] {
            match obj.get(name) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if parse_utc(s).is_some() => {}
                Some(_) => return Err(format!("{name} must be \"YYYY-MM-DD HH:MM:SS\" or null")),
            }
        }
        fill(&mut obj, &LEAD_FIELDS);
        self.leads.push(Value::Object(obj));
        Ok(())
    }

    /// Adds a user (a JSON object, validated as described on [`Data`]).
    pub fn add_user(&mut self, user: Value) -> Result<(), String> {
        let Value::Object(mut obj) = user else {
            return Err("a user must be a JSON object".into());
        };
        let id = guid_field(&obj, "UserId")?;
        if self.users.iter().any(|u| u["UserId"] == id.as_str()) {
            return Err(format!("duplicate UserId {id}"));
        }
        match obj.get("EmailAddress") {
            Some(Value::String(e)) if e.contains('@') => {}
            _ => return Err("EmailAddress must be an e-mail address".into()),
        }
        match obj.get("StatusCode") {
            None => {
                obj.insert("StatusCode".into(), Value::from(USER_ACTIVE));
            }
            Some(v) if v.is_i64() => {}
            Some(_) => return Err("StatusCode must be an integer (0 active)".into()),
        }
        fill(&mut obj, &USER_FIELDS);
        self.users.push(Value::Object(obj));
        Ok(())
    }

    /// The leads whose Phone or Mobile matches `query` (digits) by the rule of
    /// [`phone::matches`], most recently modified first (inferred: LeadSquared puts the lead with
    /// the most recent activity first; the emulator orders by `ModifiedOn`, leads without one
    /// last, ties in the order added).
    pub(crate) fn leads_by_phone(&self, query: &str) -> Vec<Value> {
        let mut found: Vec<&Value> = self
            .leads
            .iter()
            .filter(|l| lead_matches(l, query))
            .collect();
        found.sort_by_key(|l| std::cmp::Reverse(modified(l)));
        found.into_iter().cloned().collect()
    }

    /// The first lead with a phone field matching `query`, if any.
    pub(crate) fn any_lead_by_phone(&self, query: &str) -> Option<&Value> {
        self.leads.iter().find(|l| lead_matches(l, query))
    }

    /// The first lead with this e-mail address (case-insensitive), if any.
    pub(crate) fn lead_by_email(&self, email: &str) -> Option<&Value> {
        self.leads.iter().find(|l| {
            l["EmailAddress"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    }

    /// Active users with this e-mail address (case-insensitive).
    pub(crate) fn active_users_by_email(&self, email: &str) -> Vec<Value> {
        self.users
            .iter()
            .filter(|u| {
                u["EmailAddress"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    && u["StatusCode"].as_i64() == Some(USER_ACTIVE)
            })
            .cloned()
            .collect()
    }
}

fn lead_matches(lead: &Value, query: &str) -> bool {
    ["Phone", "Mobile"].iter().any(|f| {
        lead[*f]
            .as_str()
            .is_some_and(|p| phone::matches(&phone::digits(p), query))
    })
}

/// The sort key: `ModifiedOn` seconds, `None` (sorts last when descending) when absent.
fn modified(lead: &Value) -> Option<i64> {
    lead["ModifiedOn"].as_str().and_then(parse_utc)
}

fn guid_field(obj: &Map<String, Value>, name: &str) -> Result<String, String> {
    match obj.get(name) {
        Some(Value::String(s)) if is_guid(s) => Ok(s.clone()),
        _ => Err(format!("{name} must be a GUID string")),
    }
}

fn fill(obj: &mut Map<String, Value>, names: &[&str]) {
    for name in names {
        obj.entry(*name).or_insert(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sample_is_valid_and_owned_by_its_users() {
        let data = Data::from_json(SAMPLE).expect("sample.json");
        assert!(data.leads().len() >= 24, "{}", data.leads().len());
        assert!(data.users().len() >= 3);
        for lead in data.leads() {
            if let Some(owner) = lead["OwnerId"].as_str() {
                assert!(
                    data.users().iter().any(|u| u["UserId"] == owner),
                    "owner {owner} of {lead}"
                );
            }
        }
        assert!(data.users().iter().any(|u| u["StatusCode"] != USER_ACTIVE));
        assert_eq!(Data::sample(), data);
    }

    #[test]
    fn validation_names_the_entry() {
        let e = Data::from_json(r#"{"leads":[{"ProspectID":"x"}]}"#).unwrap_err();
        assert!(e.contains("leads[0]") && e.contains("ProspectID"), "{e}");
        assert!(Data::from_json(r#"{"lead":[]}"#).is_err());
        assert!(Data::from_json(r#"[]"#).is_err());
        let id = "f5c7e023-653c-11e7-b25c-023cca4497b9";
        let dup = format!(r#"{{"leads":[{{"ProspectID":"{id}"}},{{"ProspectID":"{id}"}}]}}"#);
        assert!(Data::from_json(&dup).unwrap_err().contains("duplicate"));
        let mut d = Data::new();
        assert!(d
            .add_lead(json!({"ProspectID": id, "ModifiedOn": "2024-02-30 00:00:00"}))
            .is_err());
        assert!(d.add_lead(json!({"ProspectID": id, "Phone": 5})).is_err());
        d.add_lead(json!({"ProspectID": id})).unwrap();
        assert_eq!(d.leads()[0]["Phone"], Value::Null);
        assert!(d
            .add_user(json!({"UserId": id, "EmailAddress": "nope"}))
            .is_err());
        d.add_user(json!({"UserId": id, "EmailAddress": "a@b.example"}))
            .unwrap();
        assert_eq!(d.users()[0]["StatusCode"], 0);
    }
}
