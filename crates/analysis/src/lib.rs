//! profbench's analyzer: turns run records into statements a profiler author
//! can trust.
//!
//! A ratio on its own is not a verdict: 0.97 can be faithful with 30 samples
//! and a real 3 % loss with 30 000. This crate holds every trial against an
//! ideal periodic sampler, pools repeated trials into cells and decides, for
//! each, whether the mode was faithful, attenuated, inflated or whether the
//! data cannot tell yet.
//!
//! The pipeline, one module per step:
//!
//! 1. [`load`]: read and check a run file ([`load_run`]); keep only trials
//!    that measured something, list the others with their errors.
//! 2. [`model`]: the ideal sampler's expected count `C/P` and variance
//!    `Σ f(1−f)` for one trial, by mechanism.
//! 3. [`cell`]: pool a cell's trials into a ratio with an interval that
//!    respects both the model and the trial-to-trial spread, and apply the
//!    decision rule (documented there) with the measured [`Allowance`].
//! 4. [`attribution`]: whether samples land on the threads that burned the
//!    CPU (total variation distance, pooled chi-square), and the registered
//!    vs unregistered split.
//! 5. [`lifetime`] and [`onset`]: the short-lived bias curve and where each
//!    mode stops being faithful as threads or rate grow.
//! 6. [`analyze`]: all of the above for a run ([`analyze_run`]) or several
//!    side by side ([`compare_runs`]); every result is `Serialize` for the
//!    gate and the plots.
//! 7. [`report`]: the Markdown and HTML renderings ([`write_report`],
//!    [`write_reports`]), kept apart from the statistics so both show the
//!    same tables.
//! 8. [`plot`]: the charts, as SVG and PNG ([`plot::write_plots`]).
//!
//! [`calibrate`] re-derives the default allowance from real runs; [`gate`]
//! holds a run against a policy and a baseline for CI.
//!
//! ```no_run
//! let runs = vec![
//!     ("results/a/run.json".to_string(), analysis::load_run("results/a/run.json")?),
//!     ("results/b/run.json".to_string(), analysis::load_run("results/b/run.json")?),
//! ];
//! let path = analysis::write_report(&runs, "results/report")?;
//! println!("wrote {}", path.display());
//! # Ok::<(), analysis::AnalysisError>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod analyze;
pub mod attribution;
pub mod calibrate;
pub mod cell;
pub mod config;
mod error;
pub mod gate;
pub mod lifetime;
pub mod load;
pub mod model;
pub mod onset;
pub mod plot;
pub mod report;
pub mod stats;

pub use analyze::{
    analyze_run, compare_runs, CellAnalysis, Comparison, LabelledRun, RunAnalysis, TimerView,
};
pub use cell::{CellKey, RatioEstimate, Verdict, VerdictKind};
pub use config::{Allowance, AnalysisConfig};
pub use error::AnalysisError;
pub use load::{load_run, ExcludedTrial};
pub use report::{
    render_html, render_markdown, write_report, write_report_with, write_reports, ReportFiles,
};
pub use stats::Interval;
