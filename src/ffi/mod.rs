//! The C API: `include/lsq.h` is generated from this module by cbindgen.
//!
//! Every `extern "C"` function here is a short wrapper: check the pointers,
//! convert, call the safe core, map the error. All of the crate's `unsafe`
//! code lives in this module, and every entry point runs its body through
//! `boundary.rs` (the one place where a Rust panic is stopped before it
//! could cross into the host, and where the last error is cleared and set);
//! `calls.rs` holds the blocking and queued shapes of a request.
//!
//! Naming follows the C contract (`lsq_*`, lower-case types), hence the
//! allowance below.
#![allow(non_camel_case_types)]

mod boundary;
mod call_log;
mod callbacks;
mod calls;
mod client;
mod last_error;
mod lead;
mod options;
mod pointers;
mod popup;
mod ringing;
mod status;
mod types;

pub use call_log::*;
pub use client::*;
pub use last_error::lsq_last_error;
pub use lead::*;
pub use options::*;
pub use popup::*;
pub use ringing::*;
pub use status::*;
pub use types::*;
