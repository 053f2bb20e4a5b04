//! How right the sampler is: the quick matrix, every cell's ratio and
//! verdict, and the gate's verdict on it (`results/gate.toml` against
//! `results/baseline.json`). `sampler_cost` answers what it costs.
//!
//! `cargo bench --bench accuracy` (about 90 s on 2 idle cores). A
//! benchmark, not a test: it prints and exits 0 whatever the verdicts;
//! `make gate` is the check that fails.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use analysis::gate::{evaluate, Policy};
use analysis::{analyze_run, AnalysisConfig, RunAnalysis, Verdict};
use harness::matrix::Matrix;
use harness::record::RunRecord;

fn main() {
    // `cargo bench` passes `--bench`; a filter that names another target
    // (e.g. `cargo bench -- delivery`) skips this one.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "accuracy".contains(f.as_str())) {
        return;
    }
    let matrix = Matrix::preset("quick").expect("the quick preset exists");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let specs = matrix.expand(cpus).expect("the quick preset expands");
    let env = harness::env::detect(None);
    eprintln!(
        "accuracy: {} trials of the quick matrix on {}",
        specs.len(),
        env.short_name()
    );
    let started = Instant::now();
    let trials = specs.iter().map(harness::run_trial).collect();
    let wall = started.elapsed();
    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let run = RunRecord::new(env, &matrix, started_unix_s, trials);
    let config = AnalysisConfig::default();
    let analysis = analyze_run(&run, &config).expect("default settings are valid");
    print!("{}", verdict_table(&analysis));
    println!(
        "\n{} cells in {:.0} s: {}",
        analysis.cells.len(),
        wall.as_secs_f64(),
        counts(&analysis)
    );
    gate(&analysis, &config);
}

fn verdict_label(v: &Verdict) -> String {
    match v {
        Verdict::Faithful => "faithful".into(),
        Verdict::Attenuated { lost, .. } => format!("attenuated, lost {:.1} %", lost * 100.0),
        Verdict::Inflated { excess, .. } => format!("inflated, +{:.1} %", excess * 100.0),
        Verdict::Inconclusive { .. } => "inconclusive".into(),
    }
}

fn verdict_table(analysis: &RunAnalysis) -> String {
    let rows: Vec<[String; 3]> = analysis
        .cells
        .iter()
        .map(|c| {
            let e = &c.estimate;
            [
                c.key.to_string(),
                format!(
                    "{:.3} [{:.3}, {:.3}]",
                    e.ratio, e.interval.lo, e.interval.hi
                ),
                verdict_label(&e.verdict),
            ]
        })
        .collect();
    let header = ["cell", "ratio [99.9 % interval]", "verdict"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 3]| {
        format!(
            "{:w0$}  {:w1$}  {}\n",
            cells[0],
            cells[1],
            cells[2],
            w0 = widths[0],
            w1 = widths[1]
        )
    };
    let mut out = line(header);
    let rules = widths.map(|w| "-".repeat(w));
    out += &line([&rules[0], &rules[1], &rules[2]]);
    for row in &rows {
        out += &line([&row[0], &row[1], &row[2]]);
    }
    out
}

fn counts(analysis: &RunAnalysis) -> String {
    let mut n = [0usize; 4];
    for c in &analysis.cells {
        n[match c.estimate.verdict {
            Verdict::Faithful => 0,
            Verdict::Attenuated { .. } => 1,
            Verdict::Inflated { .. } => 2,
            Verdict::Inconclusive { .. } => 3,
        }] += 1;
    }
    format!(
        "{} faithful, {} attenuated, {} inflated, {} inconclusive",
        n[0], n[1], n[2], n[3]
    )
}

/// The gate's verdict, when the committed policy and baseline are there.
fn gate(analysis: &RunAnalysis, config: &AnalysisConfig) {
    let root = env!("CARGO_MANIFEST_DIR");
    let policy = match Policy::load(format!("{root}/results/gate.toml")) {
        Ok(p) => p,
        Err(e) => {
            println!("\n(no gate verdict: {e})");
            return;
        }
    };
    let baseline = match analysis::load_run(format!("{root}/results/baseline.json")) {
        Ok(b) => Some(analyze_run(&b, config).expect("default settings are valid")),
        Err(e) => {
            println!("\n(no gate verdict: baseline: {e})");
            return;
        }
    };
    match evaluate(&policy, analysis, baseline.as_ref(), config) {
        Ok(report) => print!("\n{}", report.render_text()),
        Err(e) => println!("\n(no gate verdict: {e})"),
    }
}
