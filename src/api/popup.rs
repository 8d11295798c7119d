//! LeadSquared's "Show Agent Pop-Up" (`POST /v2/Telephony.svc/ShowAgentPopup`):
//! the popup a caller asks for (borrowed for validation and the blocking
//! path, owned when it waits in the async queue), its rules, its body, and
//! its success answer.

use serde::Deserialize;

use super::direction::Direction;
use super::fields;
use super::json::field;
use crate::error::Error;
use crate::net::transport::{Method, Request, MAX_BODY_BYTES};

/// The API path.
pub const PATH: &str = "/v2/Telephony.svc/ShowAgentPopup";

/// One popup, borrowing its fields. See the contract for each field's rules;
/// [`Popup::validate`] applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Popup<'a> {
    /// SourceNumber: the lead's number on an inbound call, the agent's on an outbound one.
    pub source_number: &'a str,
    /// DestinationNumber: the agent's number on an inbound call, the lead's on an outbound one.
    pub destination_number: &'a str,
    /// DisplayNumber: the IVR (virtual) number.
    pub display_number: &'a str,
    /// Direction of the call.
    pub direction: Direction,
    /// CallSessionId: the PBX's unique id of the call.
    pub call_session_id: &'a str,
    /// LeadId: the lead's GUID.
    pub lead_id: &'a str,
    /// UserId: the agent's (LeadSquared user's) GUID.
    pub user_id: &'a str,
    /// Tag: optional; `None` or `Some("")` leaves it out of the request.
    pub tag: Option<&'a str>,
}

impl<'a> Popup<'a> {
    /// Checks every field against the contract's rules; the error names the
    /// field and the rule it breaks.
    pub fn validate(&self) -> Result<(), Error> {
        validate(self)
    }

    /// The tag, if it is to be sent.
    pub fn tag(&self) -> Option<&'a str> {
        self.tag.filter(|t| !t.is_empty())
    }

    /// An owned copy, for the async queue.
    pub fn to_owned_popup(&self) -> OwnedPopup {
        OwnedPopup {
            source_number: self.source_number.into(),
            destination_number: self.destination_number.into(),
            display_number: self.display_number.into(),
            direction: self.direction,
            call_session_id: self.call_session_id.into(),
            lead_id: self.lead_id.into(),
            user_id: self.user_id.into(),
            tag: self.tag().map(Box::from),
        }
    }
}

/// An owned popup. `Box<str>` rather than `String`: no spare capacity to
/// carry around in a queue that may hold thousands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedPopup {
    source_number: Box<str>,
    destination_number: Box<str>,
    display_number: Box<str>,
    direction: Direction,
    call_session_id: Box<str>,
    lead_id: Box<str>,
    user_id: Box<str>,
    tag: Option<Box<str>>,
}

impl OwnedPopup {
    /// Borrows it back as a [`Popup`].
    pub fn as_popup(&self) -> Popup<'_> {
        Popup {
            source_number: &self.source_number,
            destination_number: &self.destination_number,
            display_number: &self.display_number,
            direction: self.direction,
            call_session_id: &self.call_session_id,
            lead_id: &self.lead_id,
            user_id: &self.user_id,
            tag: self.tag.as_deref(),
        }
    }
}

/// The request for a popup whose body is `body`.
pub(crate) fn request(body: &[u8]) -> Request<'_> {
    Request {
        method: Method::Post,
        path: PATH,
        query: &[],
        body: Some(body),
        max_body: MAX_BODY_BYTES,
    }
}

/// Validates every field of a popup.
fn validate(p: &Popup<'_>) -> Result<(), Error> {
    fields::phone_number("source_number", p.source_number)?;
    fields::phone_number("destination_number", p.destination_number)?;
    fields::phone_number("display_number", p.display_number)?;
    fields::required_text("call_session_id", p.call_session_id)?;
    fields::guid("lead_id", p.lead_id)?;
    fields::guid("user_id", p.user_id)?;
    if let Some(tag) = p.tag {
        fields::text("tag", tag)?;
    }
    Ok(())
}

/// The JSON body of a popup: the documented names in the documented order,
/// `Tag` only when given. Written by hand (serde_json's exact output, checked
/// by a test) into one right-sized buffer: it is on every popup's path.
pub(crate) fn body(popup: &Popup<'_>) -> Vec<u8> {
    let tag = popup.tag();
    let fields = [
        popup.source_number,
        popup.destination_number,
        popup.display_number,
        popup.direction.as_str(),
        popup.call_session_id,
        popup.lead_id,
        tag.unwrap_or(""),
        popup.user_id,
    ];
    // The names and punctuation take 160 bytes; escapes rarely add any.
    let mut out = Vec::with_capacity(176 + fields.iter().map(|f| f.len()).sum::<usize>());
    field(&mut out, "{\"SourceNumber\":", popup.source_number);
    field(
        &mut out,
        ",\"DestinationNumber\":",
        popup.destination_number,
    );
    field(&mut out, ",\"DisplayNumber\":", popup.display_number);
    field(&mut out, ",\"Direction\":", popup.direction.as_str());
    field(&mut out, ",\"CallSessionId\":", popup.call_session_id);
    field(&mut out, ",\"LeadId\":", popup.lead_id);
    if let Some(tag) = tag {
        field(&mut out, ",\"Tag\":", tag);
    }
    field(&mut out, ",\"UserId\":", popup.user_id);
    out.push(b'}');
    out
}

/// A popup the server accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// `Message.Id`.
    pub message_id: String,
    /// `Message.Message`.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SuccessBody {
    status: String,
    message: MessageBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageBody {
    id: String,
    message: String,
}

/// Reads the documented success answer:
/// `{"Status":"Success","Message":{"Id":..,"Message":..}}`.
pub(crate) fn parse_success(status: u16, body: &[u8]) -> Result<Delivered, Error> {
    match serde_json::from_slice::<SuccessBody>(body) {
        Ok(ok) if ok.status == "Success" => Ok(Delivered {
            message_id: ok.message.id,
            message: ok.message.message,
        }),
        _ => Err(super::answer::not_success_shape(status, body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn body_has_the_documented_names_and_tag_only_when_given() {
        let mut p = Popup {
            source_number: "+91-8611795988",
            destination_number: "+91-8971373363",
            display_number: "+91-8611795989",
            direction: Direction::Inbound,
            call_session_id: "12345",
            lead_id: "f5c7e023-653c-11e7-b25c-023cca4497b9",
            user_id: "dd908e91-c5c9-11e5-8de3-22000aa5088d",
            tag: None,
        };
        assert_eq!(
            String::from_utf8(body(&p)).unwrap(),
            r#"{"SourceNumber":"+91-8611795988","DestinationNumber":"+91-8971373363","DisplayNumber":"+91-8611795989","Direction":"Inbound","CallSessionId":"12345","LeadId":"f5c7e023-653c-11e7-b25c-023cca4497b9","UserId":"dd908e91-c5c9-11e5-8de3-22000aa5088d"}"#
        );
        p.tag = Some("");
        assert!(!String::from_utf8(body(&p)).unwrap().contains("Tag"));
        p.tag = Some("Tag \"Lead\"");
        p.direction = Direction::Outbound;
        let text = String::from_utf8(body(&p)).unwrap();
        assert!(text.contains(r#""Direction":"Outbound","#));
        assert!(text.contains(r#""Tag":"Tag \"Lead\"","UserId""#));
    }

    /// The reference: serde_json over the documented struct.
    fn serde_body(p: &Popup<'_>) -> Vec<u8> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Body<'a> {
            source_number: &'a str,
            destination_number: &'a str,
            display_number: &'a str,
            direction: &'a str,
            call_session_id: &'a str,
            lead_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            tag: Option<&'a str>,
            user_id: &'a str,
        }
        serde_json::to_vec(&Body {
            source_number: p.source_number,
            destination_number: p.destination_number,
            display_number: p.display_number,
            direction: p.direction.as_str(),
            call_session_id: p.call_session_id,
            lead_id: p.lead_id,
            tag: p.tag(),
            user_id: p.user_id,
        })
        .unwrap()
    }

    #[test]
    fn body_is_byte_for_byte_what_serde_json_writes() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::default();
        let text = prop_oneof![any::<String>(), "[\\x00-\\x7f\"\\\\]{0,12}"];
        let strategy = (
            (text.clone(), text.clone(), text.clone(), any::<bool>()),
            (
                text.clone(),
                text.clone(),
                proptest::option::of(text.clone()),
                text,
            ),
        );
        runner
            .run(&strategy, |((s, d, n, out), (c, l, t, u))| {
                let p = Popup {
                    source_number: &s,
                    destination_number: &d,
                    display_number: &n,
                    direction: if out {
                        Direction::Outbound
                    } else {
                        Direction::Inbound
                    },
                    call_session_id: &c,
                    lead_id: &l,
                    user_id: &u,
                    tag: t.as_deref(),
                };
                prop_assert_eq!(
                    String::from_utf8(body(&p)).unwrap(),
                    String::from_utf8(serde_body(&p)).unwrap()
                );
                Ok(())
            })
            .unwrap();
    }

    fn good() -> Popup<'static> {
        Popup {
            source_number: "+91-8611795988",
            destination_number: "+91 (897) 137.3363",
            display_number: "8611795989",
            direction: Direction::Inbound,
            call_session_id: "1700000000.42",
            lead_id: "f5c7e023-653c-11e7-b25c-023cca4497b9",
            user_id: "DD908E91-C5C9-11E5-8DE3-22000AA5088D",
            tag: None,
        }
    }

    fn reason(p: Popup<'_>) -> String {
        let e = p.validate().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        e.message().to_string()
    }

    #[test]
    fn a_documented_popup_is_valid() {
        good().validate().unwrap();
        Popup {
            tag: Some("Tag - Lead"),
            ..good()
        }
        .validate()
        .unwrap();
        Popup {
            tag: Some(""),
            ..good()
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn each_rule_names_its_field() {
        assert!(reason(Popup {
            source_number: "",
            ..good()
        })
        .starts_with("source_number: is required"));
        assert!(reason(Popup {
            destination_number: "12a",
            ..good()
        })
        .starts_with("destination_number: character 'a'"));
        assert!(reason(Popup {
            display_number: "+-() .",
            ..good()
        })
        .contains("at least one digit"));
        assert!(reason(Popup {
            call_session_id: "",
            ..good()
        })
        .starts_with("call_session_id"));
        assert!(reason(Popup {
            call_session_id: "a\nb",
            ..good()
        })
        .contains("control character U+000A"));
        assert!(reason(Popup {
            lead_id: "f5c7e023653c11e7b25c023cca4497b9",
            ..good()
        })
        .starts_with("lead_id: must be a GUID"));
        assert!(reason(Popup {
            user_id: "dd908e91-c5c9-11e5-8de3-22000aa5088g",
            ..good()
        })
        .starts_with("user_id"));
        assert!(reason(Popup {
            user_id: "dd908e91-c5c9-11e5-8de3-22000aa5088d-",
            ..good()
        })
        .starts_with("user_id"));
        assert!(reason(Popup {
            tag: Some("x\u{7f}"),
            ..good()
        })
        .starts_with("tag: control"));
        let long = "1".repeat(257);
        assert!(reason(Popup {
            source_number: &long,
            ..good()
        })
        .contains("257 bytes"));
        let max = "1".repeat(256);
        Popup {
            source_number: &max,
            ..good()
        }
        .validate()
        .unwrap();
    }
}
