//! The summary table `run` prints, and `run.csv`.

use analysis::{CellKey, RunAnalysis, Verdict};
use harness::record::{RunRecord, TrialRecord, TrialStatus};
use workloads::WorkloadParams;

/// The workload parameters of a cell, in words ("" when none).
pub fn params_label(p: &WorkloadParams) -> String {
    p.named()
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cell_of(t: &TrialRecord) -> (String, String, usize, u32, String) {
    (
        t.mode.to_string(),
        t.workload.to_string(),
        t.threads,
        t.hz,
        params_label(&t.params),
    )
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A verdict in a few words.
pub fn verdict_label(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Faithful => "faithful".into(),
        Verdict::Attenuated { lost, .. } => format!("attenuated, −{:.1} %", lost * 100.0),
        Verdict::Inflated { excess, .. } => format!("inflated, +{:.1} %", excess * 100.0),
        Verdict::Inconclusive {
            more_cpu_s: Some(s),
        } => format!("inconclusive (≈{s:.0} more CPU-s)"),
        Verdict::Inconclusive { more_cpu_s: None } => "inconclusive".into(),
    }
}

/// One line per cell: median ratio over its trials, with the range and,
/// when the run was analysed, the cell's verdict.
pub fn table(run: &RunRecord, analysis: Option<&RunAnalysis>) -> String {
    let mut order: Vec<(String, String, usize, u32, String)> = Vec::new();
    for t in &run.trials {
        let key = cell_of(t);
        if !order.contains(&key) {
            order.push(key);
        }
    }
    let rows: Vec<Vec<String>> = order
        .iter()
        .map(|key| {
            let trials: Vec<&TrialRecord> =
                run.trials.iter().filter(|t| &cell_of(t) == key).collect();
            let ok: Vec<&TrialRecord> = trials
                .iter()
                .copied()
                .filter(|t| t.status == TrialStatus::Ok)
                .collect();
            let ratios: Vec<f64> = ok.iter().filter_map(|t| t.ratio).collect();
            let (ratio, range) = match median(ratios.clone()) {
                Some(m) => {
                    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    (format!("{m:.3}"), format!("{lo:.3}–{hi:.3}"))
                }
                None => ("-".into(), "-".into()),
            };
            let samples = median(ok.iter().map(|t| t.samples as f64).collect())
                .map_or("-".into(), |m| format!("{m:.0}"));
            let overruns = median(ok.iter().map(|t| t.overruns as f64).collect())
                .map_or("-".into(), |m| format!("{m:.0}"));
            let verdict = analysis
                .and_then(|a| a.cell(&CellKey::of(trials[0])))
                .map(|c| verdict_label(&c.estimate.verdict))
                .unwrap_or_else(|| "-".into());
            let note = trials
                .iter()
                .find(|t| t.status != TrialStatus::Ok)
                .map(|t| {
                    format!(
                        "{:?}: {}",
                        t.status,
                        t.error
                            .as_deref()
                            .unwrap_or("")
                            .chars()
                            .take(80)
                            .collect::<String>()
                    )
                    .to_lowercase()
                })
                .unwrap_or_default();
            vec![
                key.0.clone(),
                key.1.clone(),
                key.2.to_string(),
                key.3.to_string(),
                key.4.clone(),
                format!("{}/{}", ok.len(), trials.len()),
                samples,
                overruns,
                ratio,
                range,
                verdict,
                note,
            ]
        })
        .collect();
    analysis::report::text_table(
        &[
            "mode", "workload", "threads", "hz", "params", "ok", "samples", "overruns", "ratio",
            "range", "verdict", "note",
        ],
        &rows,
    )
}

/// `run.csv`: one row per trial (per-thread detail stays in run.json).
pub fn csv(run: &RunRecord) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let param_names = WorkloadParams::default().named().map(|(name, _)| name);
    let mut header = vec!["mode", "workload", "threads", "hz"];
    header.extend(param_names);
    header.extend([
        "trial",
        "seed",
        "status",
        "cpu_ns",
        "wall_ns",
        "samples",
        "weighted_samples",
        "overruns",
        "flushed",
        "rejected",
        "period_ns",
        "ratio",
        "threads_spawned",
        "registered_weighted",
        "unregistered_weighted",
        "error",
    ]);
    w.write_record(&header)?;
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for t in &run.trials {
        let (registered, unregistered) = t.weighted_by_registration();
        let mut row = vec![
            t.mode.to_string(),
            t.workload.to_string(),
            t.threads.to_string(),
            t.hz.to_string(),
        ];
        row.extend(t.params.named().map(|(_, v)| opt(v)));
        row.extend([
            t.trial.to_string(),
            t.seed.to_string(),
            format!("{:?}", t.status).to_lowercase(),
            t.cpu_ns.to_string(),
            t.wall_ns.to_string(),
            t.samples.to_string(),
            t.weighted_samples.to_string(),
            t.overruns.to_string(),
            t.flushed.to_string(),
            t.rejected.to_string(),
            t.period_ns.to_string(),
            opt(t.ratio),
            t.threads_spawned.to_string(),
            registered.to_string(),
            unregistered.to_string(),
            t.error.clone().unwrap_or_default(),
        ]);
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
