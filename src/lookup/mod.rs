//! Lead lookup (connector contract, "Finding a lead"): the pieces the client
//! puts together. So far: [`cache::TtlCache`], the lead cache and the user
//! cache.

pub mod cache;
