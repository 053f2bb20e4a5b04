//! `profbench gate`: a run held against a policy and a baseline; exit 0 on
//! pass, 1 on fail, 2 on bad input. The rules live in `analysis::gate`.

use std::path::PathBuf;
use std::process::ExitCode;

use analysis::gate::{evaluate, Policy};
use analysis::{analyze_run, load_run, AnalysisConfig};
use anyhow::Result;

use crate::cli::GateArgs;
use crate::commands::report::classify;
use crate::error::input;

/// The committed policy, relative to the repository root.
pub const DEFAULT_POLICY: &str = "results/gate.toml";
/// The committed baseline, relative to the repository root.
pub const DEFAULT_BASELINE: &str = "results/baseline.json";

/// Gates one run.
pub fn run(args: GateArgs) -> Result<ExitCode> {
    let policy_path = args.policy.unwrap_or_else(|| PathBuf::from(DEFAULT_POLICY));
    let policy = Policy::load(&policy_path).map_err(input)?;
    let config = AnalysisConfig::default();
    let run = load_run(&args.run).map_err(classify)?;
    let run = analyze_run(&run, &config).map_err(classify)?;
    let baseline = match (&policy.baseline, args.baseline) {
        (Some(_), path) => {
            let path = path.unwrap_or_else(|| PathBuf::from(DEFAULT_BASELINE));
            let base = load_run(&path).map_err(|e| input(format!("baseline: {e}")))?;
            Some(analyze_run(&base, &config).map_err(classify)?)
        }
        (None, Some(path)) => {
            return Err(input(format!(
                "--baseline {} given, but policy {} has no [baseline] rule",
                path.display(),
                policy.origin
            )))
        }
        (None, None) => None,
    };
    let report = evaluate(&policy, &run, baseline.as_ref(), &config).map_err(input)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
