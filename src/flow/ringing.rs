//! An agent's phone is ringing for a call: find the lead by the caller's
//! number (or take the `lead_id` given), the agent's UserId (or take the
//! GUID given), then show the popup, as one job within `max_age_ms` of the
//! call, so a popup is never sent late because its lookup was slow.

use std::time::Instant;

use crate::api::direction::Direction;
use crate::api::fields;
use crate::api::lead_by_phone::Lead;
use crate::api::popup::Popup;
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::flow::leads::find_lead;
use crate::flow::popup::deliver_popup;
use crate::flow::users::resolve_user;
use crate::lookup::Found;
use crate::phone::{normalise, Normalised, NumberPlan};
use crate::report::{LeadReport, Report, RingingReport};
use crate::sched::job::Class;

/// An agent ringing, borrowing its fields. See the connector contract for
/// each field's rules; [`Ringing::validate`] applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ringing<'a> {
    /// The lead's number, looked up (and sent as given).
    pub caller_number: &'a str,
    /// The agent's phone or extension.
    pub agent_number: &'a str,
    /// DisplayNumber: the IVR / virtual number.
    pub display_number: &'a str,
    /// Inbound: SourceNumber = caller, DestinationNumber = agent; Outbound: the reverse.
    pub direction: Direction,
    /// CallSessionId: the same for every leg, and for the call log.
    pub call_session_id: &'a str,
    /// The agent: a UserId GUID, or the agent's e-mail address.
    pub user: &'a str,
    /// A known LeadId: no lookup. `None` or `Some("")`: look the lead up.
    pub lead_id: Option<&'a str>,
    /// Tag: optional.
    pub tag: Option<&'a str>,
}

impl<'a> Ringing<'a> {
    /// Checks every field, and normalises the caller's number for the lookup
    /// (`None` when a lead_id is given). The error names the field.
    pub fn validate(&self, plan: &NumberPlan) -> Result<Option<Normalised>, Error> {
        fields::phone_number("caller_number", self.caller_number)?;
        fields::phone_number("agent_number", self.agent_number)?;
        fields::phone_number("display_number", self.display_number)?;
        fields::required_text("call_session_id", self.call_session_id)?;
        fields::user("user", self.user)?;
        fields::optional_guid("lead_id", self.lead_id)?;
        if let Some(tag) = self.tag {
            fields::text("tag", tag)?;
        }
        match self.lead_id() {
            Some(_) => Ok(None),
            None => normalise("caller_number", self.caller_number, plan).map(Some),
        }
    }

    /// The lead_id, if one is given.
    pub fn lead_id(&self) -> Option<&'a str> {
        self.lead_id.filter(|l| !l.is_empty())
    }

    /// The dedup key's agent part: the user as given, e-mail in lower case
    /// (inferred: dedup runs before any lookup, so a duplicate costs none;
    /// the same agent reported by GUID and by e-mail is not caught).
    pub(crate) fn dedup_user(&self) -> String {
        self.user.to_ascii_lowercase()
    }

    /// An owned copy, for the async queue.
    pub(crate) fn to_owned_ringing(self, number: Option<Normalised>) -> OwnedRinging {
        OwnedRinging {
            caller_number: self.caller_number.into(),
            agent_number: self.agent_number.into(),
            display_number: self.display_number.into(),
            direction: self.direction,
            call_session_id: self.call_session_id.into(),
            user: self.user.into(),
            lead_id: self.lead_id().map(Box::from),
            tag: self.tag.filter(|t| !t.is_empty()).map(Box::from),
            number,
        }
    }
}

/// An owned agent ringing, with its normalised number.
#[derive(Clone, Debug)]
pub struct OwnedRinging {
    caller_number: Box<str>,
    agent_number: Box<str>,
    display_number: Box<str>,
    direction: Direction,
    call_session_id: Box<str>,
    user: Box<str>,
    lead_id: Option<Box<str>>,
    tag: Option<Box<str>>,
    number: Option<Normalised>,
}

impl OwnedRinging {
    /// Borrows it back, with its normalised number.
    pub(crate) fn as_ringing(&self) -> (Ringing<'_>, Option<&Normalised>) {
        (
            Ringing {
                caller_number: &self.caller_number,
                agent_number: &self.agent_number,
                display_number: &self.display_number,
                direction: self.direction,
                call_session_id: &self.call_session_id,
                user: &self.user,
                lead_id: self.lead_id.as_deref(),
                tag: self.tag.as_deref(),
            },
            self.number.as_ref(),
        )
    }
}

/// The lead, the agent, the popup: one validated ringing, started at
/// `started`, nothing sent after `deadline`.
pub(crate) fn run(
    shared: &Context,
    ringing: &Ringing<'_>,
    number: Option<&Normalised>,
    started: Instant,
    deadline: Instant,
) -> RingingReport {
    shared.test_panic("ringing");
    let lead = match (ringing.lead_id(), number) {
        (Some(lead_id), _) => LeadReport {
            outcome: Ok(Found {
                lead: Lead {
                    lead_id: lead_id.to_string(),
                    ..Lead::default()
                },
                created: false,
            }),
            http_status: 0,
            attempts: 0,
            elapsed: started.elapsed(),
            cached: false,
        },
        (None, Some(number)) => {
            let found = find_lead(shared, number, Class::Popup, deadline);
            LeadReport {
                outcome: found.outcome,
                http_status: found.http_status,
                attempts: found.attempts,
                elapsed: started.elapsed(),
                cached: found.cached,
            }
        }
        (None, None) => LeadReport::unsent(
            Error::new(ErrorKind::Internal, "no number to look up"),
            started.elapsed(),
        ),
    };
    let lead_id = match &lead.outcome {
        Ok(found) => found.lead.lead_id.clone(),
        Err(e) => {
            let why = match e.kind() {
                ErrorKind::NoMatch => format!("no popup: {}", e.message()),
                _ => format!("no popup: the lead lookup failed: {}", e.message()),
            };
            return RingingReport {
                popup: Report::unsent(Error::new(e.kind(), why), started.elapsed()),
                lead,
            };
        }
    };
    let agent = resolve_user(shared, ringing.user, Class::Popup, deadline);
    let user_id = match agent.outcome {
        Ok(user_id) => user_id,
        Err(e) => {
            let mut popup = Report::unsent(
                Error::new(e.kind(), format!("no popup: {}", e.message())),
                started.elapsed(),
            );
            popup.http_status = agent.http_status;
            return RingingReport { popup, lead };
        }
    };
    let (source_number, destination_number) = match ringing.direction {
        Direction::Inbound => (ringing.caller_number, ringing.agent_number),
        Direction::Outbound => (ringing.agent_number, ringing.caller_number),
    };
    let popup = Popup {
        source_number,
        destination_number,
        display_number: ringing.display_number,
        direction: ringing.direction,
        call_session_id: ringing.call_session_id,
        lead_id: &lead_id,
        user_id: &user_id,
        tag: ringing.tag,
    };
    RingingReport {
        popup: deliver_popup(shared, &popup, started, deadline),
        lead,
    }
}
