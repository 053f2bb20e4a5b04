//! `profbench`: the command line. Glue over the `harness` (sampling,
//! trials, records), `workloads` and `analysis` crates.

mod cli;
mod commands;
mod error;
mod output;
mod summary;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
            }
            // One line: clap's first line names the flag and the problem,
            // except for missing arguments, which it lists on the lines below.
            let rendered = e.to_string();
            let line = if e.kind() == ErrorKind::MissingRequiredArgument {
                rendered
                    .lines()
                    .take_while(|l| !l.starts_with("Usage:"))
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                rendered
                    .lines()
                    .next()
                    .unwrap_or("error: bad arguments")
                    .to_string()
            };
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Env(args) => commands::env::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Burn(args) => commands::burn::run(args),
        Command::External(args) => commands::external::run(args),
        Command::Gate(args) => commands::gate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(error::exit_code(&e))
        }
    }
}
