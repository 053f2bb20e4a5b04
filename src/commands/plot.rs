//! `profbench plot`: a run's charts, SVG and PNG, in `DIR/plots/`.

use std::process::ExitCode;

use analysis::plot::{write_plots, PLOTS_DIR};
use anyhow::Result;

use crate::cli::PlotArgs;
use crate::commands::report::{classify, default_out, load_runs};
use crate::output;

/// Draws every chart the run has data for; says on stderr which it skipped and why.
pub fn run(args: PlotArgs) -> Result<ExitCode> {
    let runs = load_runs(std::slice::from_ref(&args.run))?;
    let out = args.out.unwrap_or_else(|| default_out(&args.run));
    let dir = out.join(PLOTS_DIR);
    output::prepare_dir(&dir)?;
    let charts = write_plots(&runs[0].1, &dir).map_err(classify)?;
    for s in &charts.skipped {
        eprintln!("no {} chart: {}", s.kind, s.reason);
    }
    for c in &charts.charts {
        eprintln!(
            "wrote {}/{}.svg and .png ({}x{} px)",
            dir.display(),
            c.kind.file_stem(),
            c.png_size.0,
            c.png_size.1
        );
    }
    Ok(ExitCode::SUCCESS)
}
