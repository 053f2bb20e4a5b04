//! The one error type of the crate.
//!
//! Bad input (a run file that is missing, truncated, of another schema or not
//! a run at all) is kept apart from failures to write the report, because the
//! CLI answers the first with exit status 2 ([`AnalysisError::is_bad_input`]);
//! a chart that cannot be drawn is the machine's failure, like a write.

use std::io;
use std::path::PathBuf;

use harness::record::SCHEMA_VERSION;
use thiserror::Error;

/// Why an analysis or a report could not be produced.
#[derive(Debug, Error)]
pub enum AnalysisError {
    /// The run file could not be opened or read (missing, unreadable, a directory).
    #[error("cannot read run file {}: {source}", path.display())]
    Read {
        /// The file asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file ends in the middle of a JSON value (an interrupted write), or is empty.
    #[error("run file {} is truncated: JSON ends early at line {line}, column {column}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where the text ended.
        line: usize,
        /// Where the text ended.
        column: usize,
    },
    /// The file is not JSON at all.
    #[error("run file {} is not JSON: {message}", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parser's complaint, with its position.
        message: String,
    },
    /// A run file of a schema version this build does not read.
    #[error(
        "run file {} has schema version {found}; this profbench reads version {SCHEMA_VERSION}",
        path.display()
    )]
    UnknownSchema {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        found: u64,
    },
    /// JSON, but not the shape of a profbench run file.
    #[error("{} is not a profbench run file: {message}", path.display())]
    NotARun {
        /// The file.
        path: PathBuf,
        /// The first field that did not fit.
        message: String,
    },
    /// A report was asked for with no run in it.
    #[error("no run files to report on")]
    NoRuns,
    /// The analysis settings make no sense (e.g. a confidence of 1.5).
    #[error("invalid analysis settings: {0}")]
    Settings(String),
    /// The report could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or directory being written.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A chart could not be drawn (a plotters failure, not the input's fault).
    #[error("cannot draw the {chart} chart: {message}")]
    Render {
        /// The chart's file stem.
        chart: String,
        /// What plotters said.
        message: String,
    },
}

impl AnalysisError {
    /// Whether the error is the user's input rather than the machine: the
    /// CLI exits 2 for these.
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            AnalysisError::Write { .. } | AnalysisError::Render { .. }
        )
    }
}
