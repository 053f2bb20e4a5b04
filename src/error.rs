//! Exit codes: 0 success, 1 a failure while running, 2 bad input (usage,
//! a bad matrix or run file, an unwritable output directory).

use std::fmt;

/// An error caused by what the user gave us; the process exits with 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Wraps any displayable error as an input error.
pub fn input(e: impl fmt::Display) -> anyhow::Error {
    anyhow::Error::new(InputError(e.to_string()))
}

/// The exit code for an error: 2 if any cause is an input error.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.is::<InputError>()) {
        2
    } else {
        1
    }
}
