//! `profbench env`: the environment block.

use std::process::ExitCode;

use anyhow::Result;
use harness::record::Environment;

use crate::cli::EnvArgs;

/// Prints the environment as `key: value` lines (or JSON).
pub fn run(args: EnvArgs) -> Result<ExitCode> {
    let env = harness::env::detect(None);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&env)?);
    } else {
        print!("{}", describe(&env));
    }
    Ok(ExitCode::SUCCESS)
}

/// The environment as aligned `key: value` lines.
pub fn describe(env: &Environment) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "unknown".into());
    let rows = [
        ("kernel", env.kernel.clone()),
        ("arch", env.arch.clone()),
        ("cpus", env.cpus.to_string()),
        ("cpu model", opt(env.cpu_model.clone())),
        ("HZ", format!("{} (from {})", env.hz, env.hz_source)),
        (
            "CPU-timer tick, measured",
            opt(env
                .hz_measured
                .map(|h| format!("{h:.1} expiries per CPU second"))),
        ),
        (
            "perf_event_paranoid",
            opt(env.perf_event_paranoid.map(|p| p.to_string())),
        ),
        (
            "perf task-clock sampling",
            match &env.perf_event_error {
                None => "available".to_string(),
                Some(reason) => format!("unavailable: {reason}"),
            },
        ),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:width$}  {v}\n"))
        .collect()
}
