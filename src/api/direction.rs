//! The direction of a call, shared by the popup, the agent ringing and the
//! call log: which party is SourceNumber and which DestinationNumber.

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
