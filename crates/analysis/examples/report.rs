//! Writes `OUT_DIR/report.md` for run files, until the CLI's `report` is
//! wired: `cargo run -p analysis --example report -- OUT_DIR RUN.json...`.
//! Exits 2 on a bad run file, like the CLI will.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out_dir, files)) = args.split_first().filter(|(_, f)| !f.is_empty()) else {
        eprintln!("usage: report OUT_DIR RUN.json...");
        return ExitCode::from(2);
    };
    let mut runs = Vec::new();
    for file in files {
        match analysis::load_run(file) {
            Ok(run) => runs.push((file.clone(), run)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    match analysis::write_report(&runs, out_dir) {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}
