//! Call logs on their way to LeadSquared: one delivery cycle
//! ([`deliver`]), the background service that hands due logs to the
//! workers ([`feeder`]), and the scheduler's tasks for them ([`task`]). What
//! is accepted, in flight and stored lives in `call_logs/`.

pub(crate) mod deliver;
pub(crate) mod feeder;
pub(crate) mod task;
