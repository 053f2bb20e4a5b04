//! `profbench report`: the analysis of one or more runs, written to disk.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use analysis::{AnalysisConfig, AnalysisError};
use anyhow::Result;
use harness::RunRecord;

use crate::cli::ReportArgs;
use crate::error::input;
use crate::output;

/// An analysis error as a CLI error: bad input exits 2.
pub fn classify(e: AnalysisError) -> anyhow::Error {
    if e.is_bad_input() {
        input(e)
    } else {
        e.into()
    }
}

/// Loads run files, labelled by their paths.
pub fn load_runs(paths: &[PathBuf]) -> Result<Vec<(String, RunRecord)>> {
    paths
        .iter()
        .map(|p| {
            Ok((
                p.display().to_string(),
                analysis::load_run(p).map_err(classify)?,
            ))
        })
        .collect()
}

/// The default output directory: the first run file's directory.
pub fn default_out(first: &Path) -> PathBuf {
    first
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Writes report.md, report.html and the charts for the given runs.
pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let runs = load_runs(&args.runs)?;
    let out = args.out.unwrap_or_else(|| default_out(&args.runs[0]));
    output::prepare_dir(&out)?;
    let files =
        analysis::write_reports(&runs, &out, &AnalysisConfig::default()).map_err(classify)?;
    for (column, s) in &files.skipped {
        let run = if runs.len() > 1 {
            format!("{column}: ")
        } else {
            String::new()
        };
        eprintln!("{run}no {} chart: {}", s.kind, s.reason);
    }
    eprintln!("wrote {}", files.markdown.display());
    eprintln!("wrote {}", files.html.display());
    if let Some(dir) = files.plots.first().and_then(|p| p.parent()) {
        let dir = if runs.len() > 1 {
            dir.parent().unwrap_or(dir)
        } else {
            dir
        };
        eprintln!(
            "wrote {} chart files under {}",
            files.plots.len(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
