//! The popup a caller asks for: borrowed for validation and the blocking
//! path (no copies), owned when it has to wait in the async queue.

use crate::error::Error;
use crate::validate;

/// The direction of the call, as LeadSquared spells it on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The lead called in: SourceNumber is the lead, DestinationNumber the agent.
    Inbound,
    /// The agent called out: SourceNumber is the agent, DestinationNumber the lead.
    Outbound,
}

impl Direction {
    /// The contract's numeric value: `LSQ_INBOUND` = 0, `LSQ_OUTBOUND` = 1.
    pub fn from_code(code: u32) -> Option<Direction> {
        match code {
            0 => Some(Direction::Inbound),
            1 => Some(Direction::Outbound),
            _ => None,
        }
    }

    /// The wire value: "Inbound" or "Outbound".
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        }
    }
}

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
        validate::popup(self)
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
