//! Helpers shared by the command-line tests.

#![allow(dead_code)]

use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_profbench");

/// Runs profbench with `args`.
pub fn profbench(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("profbench runs")
}

/// Checks that a command exited with `code` and said why on exactly one
/// line of stderr; returns that line for the caller's own checks.
pub fn one_line_failure(out: &Output, code: i32, context: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{context}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{context}: not one line: {stderr:?}"
    );
    stderr
}
