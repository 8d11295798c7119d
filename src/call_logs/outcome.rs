//! What one delivery cycle of a call log ended in.

use crate::error::Error;

/// What one cycle ended in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// LeadSquared has it: `Message.Id`.
    Delivered { message_id: String },
    /// Worth another try later.
    Retry { error: Error, http_status: u16 },
    /// Never to be sent again (unless an admin asks): the log is wrong.
    Dead { error: Error, http_status: u16 },
    /// Shutdown interrupted it: it stays pending.
    Interrupted { error: Error },
}
