//! Tools to measure the sampler itself: the benches' signal path and the
//! reliability tests' checks.

use std::io;

use crate::ffi::InstalledHandler;
use crate::mode::Mechanism;

pub use crate::ffi::{
    as_if_in_handler, in_sigprof_handler, send_sigprof_to_self, HandlerAllocationCounter,
    ProfItimer,
};

/// `si_code` values of the signals each mechanism's kernel source sends.
pub mod codes {
    pub use crate::ffi::{POLL_IN, SI_KERNEL, SI_TIMER};
}

/// The `si_code` a mechanism's own signals carry, so a benchmark can drive
/// profbench's handler down its accepting path; `None` for `pprof-rs`,
/// whose sessions run pprof-rs's handler, not profbench's.
pub fn native_code(mechanism: Mechanism) -> Option<i32> {
    match mechanism {
        Mechanism::Setitimer => Some(codes::SI_KERNEL),
        Mechanism::ProcessTimer | Mechanism::ThreadTimer | Mechanism::Hybrid => {
            Some(codes::SI_TIMER)
        }
        Mechanism::PerfEvent => Some(codes::POLL_IN),
        Mechanism::PprofRs => None,
    }
}

/// A SIGPROF handler that does nothing, installed until dropped (then the
/// previous action is back). It is the floor of the handler benchmark, and
/// the "someone else's handler" that a session must restore.
pub struct EmptyHandler {
    _installed: InstalledHandler,
}

impl EmptyHandler {
    /// Installs it.
    pub fn install() -> io::Result<Self> {
        Ok(EmptyHandler {
            _installed: InstalledHandler::install_empty()?,
        })
    }
}
