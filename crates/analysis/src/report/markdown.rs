//! The report's content, one table per question and one column per run,
//! as a [`Doc`], and its Markdown rendering. The HTML rendering
//! ([`super::html`]) walks the same [`Doc`].

use std::collections::BTreeSet;
use std::fmt::Write as _;

use workloads::WorkloadKind;

use super::doc::{Block, Cell, Doc, Table, Tone};
use crate::analyze::{CellAnalysis, Comparison, LabelledRun};
use crate::attribution::{Attribution, ClassShare, RegistrationSplit};
use crate::cell::{CellKey, RatioEstimate, Verdict, VerdictKind};
use crate::lifetime::{Crossing, LifetimeCurve};
use crate::onset::Onset;
use crate::plot::ChartKind;

/// Renders a table, or `empty` in italics when it has no rows.
fn render_table(table: &Table, out: &mut String) {
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<String> = cells.map(escape).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push_str(&line(&mut table.header.iter().map(String::as_str)));
    out.push_str(&format!("|{}\n", "---|".repeat(table.header.len())));
    for row in &table.rows {
        out.push_str(&line(&mut row.iter().map(|c| c.text.as_str())));
    }
    out.push('\n');
}

/// Keeps a table cell a table cell: no pipes, no line breaks.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Renders a document as Markdown. `figures` gives, for a chart slot, the
/// images to show there as `(alt text, relative path)`; slots without
/// images are left out.
pub(crate) fn markdown_of(
    doc: &Doc,
    figures: &dyn Fn(ChartKind) -> Vec<(String, String)>,
) -> String {
    let mut out = String::new();
    for block in &doc.blocks {
        match block {
            Block::Heading { level, text } => {
                let _ = write!(out, "{} {text}\n\n", "#".repeat(usize::from(*level)));
            }
            Block::Para(text) => {
                let _ = write!(out, "{text}\n\n");
            }
            Block::Table(table) => render_table(table, &mut out),
            Block::Empty(text) => {
                let _ = write!(out, "_{text}_\n\n");
            }
            Block::Figure(kind) => {
                for (alt, path) in figures(*kind) {
                    let _ = write!(out, "![{}]({path})\n\n", escape(&alt));
                }
            }
        }
    }
    // One newline at the end, whatever the last block was.
    let end = out.trim_end().len();
    out.truncate(end);
    out.push('\n');
    out
}

const MISSING: &str = "—";

fn columns(cmp: &Comparison) -> impl Iterator<Item = String> + '_ {
    cmp.runs.iter().map(|r| r.column.clone())
}

fn heading(fixed: &[&str], cmp: &Comparison) -> Vec<String> {
    fixed
        .iter()
        .map(|s| s.to_string())
        .chain(columns(cmp))
        .collect()
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn interval(e: &RatioEstimate) -> String {
    format!("[{:.3}, {:.3}]", e.interval.lo, e.interval.hi)
}

fn verdict(v: &Verdict) -> String {
    match v {
        Verdict::Faithful => "faithful".into(),
        Verdict::Attenuated {
            lost,
            lost_interval,
        } => format!(
            "**attenuated**, lost {} [{}, {}]",
            pct(*lost),
            pct(lost_interval.lo),
            pct(lost_interval.hi)
        ),
        Verdict::Inflated {
            excess,
            excess_interval,
        } => format!(
            "**inflated**, +{} [{}, {}]",
            pct(*excess),
            pct(excess_interval.lo),
            pct(excess_interval.hi)
        ),
        Verdict::Inconclusive {
            more_cpu_s: Some(s),
        } => format!("inconclusive (≈{} more CPU-s)", cpu_seconds(*s)),
        Verdict::Inconclusive { more_cpu_s: None } => {
            "inconclusive (no amount of CPU decides it at this allowance)".into()
        }
    }
}

fn cpu_seconds(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0}")
    } else if s >= 1.0 {
        format!("{s:.1}")
    } else {
        format!("{s:.2}")
    }
}

fn estimate_text(e: &RatioEstimate) -> String {
    format!("{:.3} {} {}", e.ratio, interval(e), verdict(&e.verdict))
}

fn estimate(e: &RatioEstimate) -> Cell {
    Cell::toned(estimate_text(e), Tone::Verdict(e.verdict.kind()))
}

fn ms(x: f64) -> String {
    format!("{x}")
}

/// A value per run for a key, or the dash.
fn per_run<'a, T, C: Into<Cell>>(
    cmp: &'a Comparison,
    find: impl Fn(&'a LabelledRun) -> Option<T>,
    show: impl Fn(T) -> C,
) -> Vec<Cell> {
    cmp.runs
        .iter()
        .map(|r| match find(r) {
            Some(v) => show(v).into(),
            None => Cell::from(MISSING.to_string()),
        })
        .collect()
}

/// The fixed cells of a row, then the runs' cells.
fn cells(fixed: impl IntoIterator<Item = String>, runs: Vec<Cell>) -> Vec<Cell> {
    fixed.into_iter().map(Cell::from).chain(runs).collect()
}

fn cells_where(cmp: &Comparison, keep: impl Fn(&CellKey) -> bool) -> Vec<CellKey> {
    cmp.cell_keys().into_iter().filter(|k| keep(k)).collect()
}

fn parallel_workload(k: &CellKey) -> bool {
    matches!(k.workload, WorkloadKind::Parallel | WorkloadKind::Rayon)
}

/// Renders the whole report as Markdown, without charts.
pub fn render_markdown(cmp: &Comparison) -> String {
    markdown_of(&document(cmp), &|_| Vec::new())
}

/// The whole report, for any rendering.
pub(crate) fn document(cmp: &Comparison) -> Doc {
    let mut doc = Doc::default();
    let out = &mut doc;
    out.heading(1, "profbench report");
    preamble(cmp, out);
    environment(cmp, out);
    summary(cmp, out);
    parallel_attenuation(cmp, out);
    rate_cap(cmp, out);
    other_workloads(cmp, out);
    short_lived(cmp, out);
    attribution(cmp, out);
    foreign(cmp, out);
    excluded(cmp, out);
    doc
}

fn preamble(cmp: &Comparison, out: &mut Doc) {
    let Some(first) = cmp.runs.first() else {
        return;
    };
    let s = &first.analysis.settings;
    let a = &s.allowance;
    out.para(format!(
        "Each cell pools a (mode, workload, threads, rate, parameters) over its trials. \
         **ratio** = weighted samples × period / process CPU (`getrusage`), the median over \
         trials; the interval is the wider of the ideal-sampler model's and the trial-to-trial \
         spread's, at {} confidence. A cell is **faithful** when its interval touches the \
         allowance band around 1 and rules out a deviation of {}; **attenuated** or \
         **inflated** when the whole interval lies outside the band; otherwise \
         **inconclusive**, with the CPU that would decide it. Allowance: {} of the CPU + \
         {:.0} µs per spawned thread + {} sample(s) per trial.",
        pct(s.confidence),
        pct(s.resolution),
        pct(a.relative),
        a.per_thread_ns / 1e3,
        a.quantum_samples
    ));
    if cmp.runs.len() > 1 {
        out.para("Runs are side by side, one column each, cells matched by key; — marks a cell a run lacks.");
    }
}

fn environment(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Environment");
    let mut t = Table::new(std::iter::once(String::new()).chain(columns(cmp)));
    type Field = fn(&LabelledRun) -> String;
    let fields: [(&str, Field); 14] = [
        ("source", |r| r.label.clone()),
        ("label", |r| {
            r.analysis
                .env
                .label
                .clone()
                .unwrap_or_else(|| MISSING.into())
        }),
        ("kernel", |r| r.analysis.env.kernel.clone()),
        ("arch", |r| r.analysis.env.arch.clone()),
        ("HZ", |r| {
            format!("{} ({})", r.analysis.env.hz, r.analysis.env.hz_source)
        }),
        ("CPU timer rate measured", |r| {
            r.analysis
                .env
                .hz_measured
                .map(|h| format!("{h:.1} /s"))
                .unwrap_or_else(|| MISSING.into())
        }),
        ("CPUs", |r| r.analysis.env.cpus.to_string()),
        ("CPU model", |r| {
            r.analysis
                .env
                .cpu_model
                .clone()
                .unwrap_or_else(|| MISSING.into())
        }),
        ("perf_event_paranoid", |r| {
            r.analysis
                .env
                .perf_event_paranoid
                .map(|p| p.to_string())
                .unwrap_or_else(|| MISSING.into())
        }),
        ("perf events", |r| {
            if r.analysis.env.perf_event_available {
                "available".into()
            } else {
                format!(
                    "unavailable: {}",
                    r.analysis.env.perf_event_error.as_deref().unwrap_or("?")
                )
            }
        }),
        ("matrix", |r| {
            r.analysis
                .run
                .matrix
                .clone()
                .unwrap_or_else(|| MISSING.into())
        }),
        ("seed", |r| r.analysis.run.seed.to_string()),
        ("profbench", |r| r.analysis.run.profbench_version.clone()),
        ("trials (analysed / excluded)", |r| {
            let excluded = r.analysis.excluded.len();
            format!("{} / {excluded}", r.analysis.trials_total - excluded)
        }),
    ];
    for (name, f) in fields {
        t.row(std::iter::once(name.to_string()).chain(cmp.runs.iter().map(f)));
    }
    out.table(t);
}

fn summary(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Verdicts at a glance");
    let mut t = Table::new(heading(&["verdict"], cmp));
    for kind in [
        VerdictKind::Faithful,
        VerdictKind::Attenuated,
        VerdictKind::Inflated,
        VerdictKind::Inconclusive,
    ] {
        let counts = cmp.runs.iter().map(|r| {
            Cell::from(
                r.analysis
                    .cells
                    .iter()
                    .filter(|c| c.estimate.verdict.kind() == kind)
                    .count()
                    .to_string(),
            )
        });
        t.row(std::iter::once(Cell::toned(kind.to_string(), Tone::Verdict(kind))).chain(counts));
    }
    out.table(t);
}

fn cell_of<'a>(run: &'a LabelledRun, key: &CellKey) -> Option<&'a CellAnalysis> {
    run.analysis.cell(key)
}

/// A table of cells named by mode, workload, threads, rate and parameters,
/// with one column per run showing what `show` makes of the run's cell.
fn keyed_table<'a>(
    cmp: &'a Comparison,
    keys: &[CellKey],
    show: impl Fn(&'a CellAnalysis) -> Option<Cell>,
) -> Table {
    let mut t = Table::new(heading(
        &["mode", "workload", "threads", "Hz", "parameters"],
        cmp,
    ));
    for k in keys {
        t.row(cells(
            [
                k.mode.to_string(),
                k.workload.to_string(),
                k.threads.to_string(),
                k.hz.to_string(),
                k.params_label(),
            ],
            per_run(cmp, |r| cell_of(r, k).and_then(&show), |c| c),
        ));
    }
    t
}

fn parallel_attenuation(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Parallel attenuation");
    out.para(
        "`parallel` and `rayon` workloads by mode, rate and thread count. \
         A process-wide timer delivers at most one signal per tick, so it falls \
         behind once more than period/tick threads burn CPU.",
    );
    out.figure(ChartKind::Attenuation);
    let mut keys = cells_where(cmp, parallel_workload);
    keys.sort_by(|a, b| {
        (a.mode, a.workload, a.hz, a.threads).cmp(&(b.mode, b.workload, b.hz, b.threads))
    });
    let mut t = Table::new(heading(&["mode", "workload", "Hz", "threads"], cmp));
    for k in &keys {
        t.row(cells(
            [
                k.mode.to_string(),
                k.workload.to_string(),
                k.hz.to_string(),
                k.threads.to_string(),
            ],
            per_run(cmp, |r| cell_of(r, k), |c| estimate(&c.estimate)),
        ));
    }
    out.table(t);
    out.heading(3, "Where each mode stops being faithful, by threads");
    onset_table(
        cmp,
        out,
        |r| &r.analysis.thread_onsets,
        "Hz",
        |k| k.hz.to_string(),
        "threads",
    );
}

fn rate_cap(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Rate cap");
    out.para(
        "CPU-clock timers are checked once per tick, so no timer fires faster than HZ \
         per thread. *with overruns* is `(samples + si_overrun)·period / CPU`: when it \
         is near 1 the missing samples were merged by the kernel, not lost.",
    );
    out.figure(ChartKind::RateCap);
    let mut keys = cells_where(cmp, parallel_workload);
    keys.sort_by(|a, b| {
        (a.mode, a.workload, a.threads, a.hz).cmp(&(b.mode, b.workload, b.threads, b.hz))
    });
    let mut t = Table::new(heading(&["mode", "workload", "threads", "Hz"], cmp));
    for k in &keys {
        t.row(cells(
            [
                k.mode.to_string(),
                k.workload.to_string(),
                k.threads.to_string(),
                k.hz.to_string(),
            ],
            per_run(
                cmp,
                |r| cell_of(r, k),
                |c| {
                    let mut s = estimate(&c.estimate);
                    if let Some(w) = c.ratio_with_overruns {
                        let _ = write!(s.text, "; with overruns {w:.3}");
                    }
                    s
                },
            ),
        ));
    }
    out.table(t);
    out.heading(3, "Where each mode stops being faithful, by rate");
    onset_table(
        cmp,
        out,
        |r| &r.analysis.rate_onsets,
        "threads",
        |k| k.threads.to_string(),
        "Hz",
    );
}

fn other_workloads(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Other workloads");
    out.para(
        "Every other cell but the short-lived ones (next section), held against the \
         whole process CPU.",
    );
    let keys = cells_where(cmp, |k| {
        !parallel_workload(k) && k.params.lifetime_ms.is_none()
    });
    out.table(keyed_table(cmp, &keys, |c| Some(estimate(&c.estimate))));
}

fn onset_text(o: &Onset, unit: &str) -> String {
    let smallest = o.points.first().map(|p| p.x);
    let largest = o.points.last().map(|p| p.x).unwrap_or(0);
    let inconclusive = if o.inconclusive_before > 0 {
        format!(", {} inconclusive below", o.inconclusive_before)
    } else {
        String::new()
    };
    match o.first_unfaithful {
        Some(x) if Some(x) == smallest => format!("{x} {unit} (already at the smallest tested)"),
        Some(x) => match o.last_faithful {
            Some(f) => format!("{x} {unit} (faithful at {f}{inconclusive})"),
            None => format!("{x} {unit} (nothing faithful below{inconclusive})"),
        },
        None if o.inconclusive_before == 0 => format!("not within {largest} {unit}"),
        None => format!("none seen up to {largest} {unit}{inconclusive}"),
    }
}

fn onset_table(
    cmp: &Comparison,
    out: &mut Doc,
    onsets: fn(&LabelledRun) -> &Vec<Onset>,
    fixed_name: &str,
    fixed: fn(&CellKey) -> String,
    unit: &str,
) {
    let keys: BTreeSet<CellKey> = cmp
        .runs
        .iter()
        .flat_map(|r| onsets(r).iter().map(|o| o.key))
        .collect();
    let mut t = Table::new(heading(&["mode", "workload", fixed_name], cmp));
    for k in &keys {
        t.row(cells(
            [k.mode.to_string(), k.workload.to_string(), fixed(k)],
            per_run(
                cmp,
                |r| onsets(r).iter().find(|o| o.key == *k),
                |o| onset_text(o, unit),
            ),
        ));
    }
    out.table_or(
        t,
        &format!("No mode was measured at two or more {unit} values with everything else equal."),
    );
}

fn crossing_text(c: &Crossing, target: f64) -> String {
    match c {
        Crossing::At { lifetime_ms } => format!("{lifetime_ms:.1} ms"),
        Crossing::AtOrBelowSmallest { lifetime_ms } => {
            format!(
                "≤ {} ms (already at {target} at the smallest)",
                ms(*lifetime_ms)
            )
        }
        Crossing::NotReached { largest_ms } => {
            format!("not reached (below {target} at {} ms)", ms(*largest_ms))
        }
    }
}

fn short_lived(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Short-lived bias");
    out.para(
        "A thread's timer dies with it: a thread that exits before a tick delivers its \
         due expiry takes the sample along. Ratio by thread lifetime (CPU ms per thread). \
         For per-thread mechanisms, *timers saw* is the share of the process CPU spent \
         while each thread's own timer existed (start-up before it is armed and exit \
         after it is deleted are invisible to any per-thread timer), and *ratio there* \
         the ratio against that CPU alone.",
    );
    out.figure(ChartKind::ShortLived);
    let keys = cells_where(cmp, |k| k.params.lifetime_ms.is_some());
    let mut keys: Vec<CellKey> = keys;
    keys.sort_by(|a, b| {
        (a.mode, a.hz, a.threads)
            .cmp(&(b.mode, b.hz, b.threads))
            .then(a.cmp(b))
    });
    let mut t = Table::new(heading(&["mode", "Hz", "threads", "lifetime ms"], cmp));
    for k in &keys {
        t.row(cells(
            [
                k.mode.to_string(),
                k.hz.to_string(),
                k.threads.to_string(),
                ms(k.params.lifetime_ms.unwrap_or(f64::NAN)),
            ],
            per_run(
                cmp,
                |r| cell_of(r, k),
                |c| {
                    let mut s = estimate(&c.estimate);
                    if let Some(v) = c.timer_view {
                        let _ = write!(
                            s.text,
                            "; timers saw {:.1} % of the CPU, ratio there {:.3}",
                            v.cpu_share * 100.0,
                            v.ratio
                        );
                    }
                    s
                },
            ),
        ));
    }
    out.table(t);
    let curves: BTreeSet<CellKey> = cmp
        .runs
        .iter()
        .flat_map(|r| r.analysis.lifetime_curves.iter().map(|c| c.key))
        .collect();
    let target = cmp
        .runs
        .first()
        .map(|r| r.analysis.settings.target_ratio)
        .unwrap_or(0.95);
    out.heading(3, format!("Lifetime at which each mode reaches {target}"));
    out.para(format!(
        "The smallest lifetime from which every longer one measured reaches {target}, \
         interpolated on log-lifetime."
    ));
    let mut t = Table::new(heading(&["mode", "Hz", "threads"], cmp));
    let find = |r: &LabelledRun, k: &CellKey| -> Option<LifetimeCurve> {
        r.analysis
            .lifetime_curves
            .iter()
            .find(|c| c.key == *k)
            .cloned()
    };
    for k in &curves {
        t.row(cells(
            [k.mode.to_string(), k.hz.to_string(), k.threads.to_string()],
            per_run(
                cmp,
                |r| find(r, k),
                |c| crossing_text(&c.crossing, c.target),
            ),
        ));
    }
    out.table_or(t, "No short-lived cells in any run.");
}

fn p_value(p: f64) -> String {
    if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

fn attribution_text(a: &Attribution) -> Cell {
    let tvd = match (a.tvd, a.tvd_max) {
        (Some(d), Some(m)) => format!("TVD {d:.3} (max {m:.3})"),
        _ => "TVD —".into(),
    };
    let chi = match &a.chi_square {
        Some(c) => format!(
            ", χ² {:.1} on {:.0} df, p = {}",
            c.statistic,
            c.df,
            p_value(c.p_value)
        ),
        None => String::new(),
    };
    let unattributed = if a.unattributed_samples > 0.0 {
        format!(
            ", {:.0} samples on threads of unknown CPU",
            a.unattributed_samples
        )
    } else {
        String::new()
    };
    Cell::toned(
        format!("{tvd}{chi}{unattributed}: {}", a.verdict),
        Tone::Attribution(a.verdict),
    )
}

fn attribution(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Attribution");
    out.para(
        "Samples per thread against CPU per thread: total variation distance (the share of \
         the profile on the wrong thread; median and max over trials) and a chi-square test \
         with small threads pooled to ≥ 5 expected samples per bin.",
    );
    out.figure(ChartKind::Attribution);
    for (title, keep) in [
        (
            "Imbalanced",
            (|k: &CellKey| k.workload == WorkloadKind::Imbalanced) as fn(&CellKey) -> bool,
        ),
        ("Every other workload", |k: &CellKey| {
            k.workload != WorkloadKind::Imbalanced
        }),
    ] {
        out.heading(3, title);
        let keys = cells_where(cmp, keep);
        out.table(keyed_table(cmp, &keys, |c| {
            Some(attribution_text(&c.attribution))
        }));
    }
}

fn class_text(name: &str, c: &ClassShare) -> String {
    match &c.estimate {
        Some(e) => format!(
            "{name} ({} thr, {:.2} CPU-s) {}",
            c.threads,
            c.cpu_s,
            estimate_text(e)
        ),
        None if c.weighted_samples > 0.0 => {
            format!("{name}: {:.0} samples, no CPU", c.weighted_samples)
        }
        None => format!("{name}: none"),
    }
}

fn split_text(s: &RegistrationSplit) -> String {
    let mut text = format!(
        "{}; {}",
        class_text("registered", &s.registered),
        class_text("unregistered", &s.unregistered)
    );
    if s.unknown_cpu_samples > 0.0 {
        let _ = write!(
            text,
            "; {:.0} samples on threads of unknown CPU",
            s.unknown_cpu_samples
        );
    }
    if s.rejected > 0 {
        let _ = write!(text, "; {} signals rejected", s.rejected);
    }
    text
}

/// Whether a split has anything beyond the registered class to show:
/// unregistered threads, or samples on threads of unknown CPU.
fn has_outsiders(s: &RegistrationSplit) -> bool {
    s.unregistered.threads > 0 || s.unknown_cpu_samples > 0.0
}

fn foreign(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Foreign threads");
    out.para("Cells with unregistered threads, or with samples on threads of unknown CPU: \
         registered and unregistered threads, each class's samples against its own CPU \
         (thread counts include the coordinator, which is registered). Per-thread timers never see an unregistered thread; `hybrid` samples them through \
         `setitimer` and may also hand process signals to idle threads. The whole cell's \
         verdict, against all CPU, is under *Other workloads*.");
    out.figure(ChartKind::Foreign);
    let keys = cells_where(cmp, |_| true);
    let keys: Vec<CellKey> = keys
        .into_iter()
        .filter(|k| {
            cmp.runs.iter().any(|r| {
                cell_of(r, k)
                    .and_then(|c| c.registration.as_ref())
                    .is_some_and(has_outsiders)
            })
        })
        .collect();
    out.table(keyed_table(cmp, &keys, |c| {
        c.registration.as_ref().map(|r| Cell::from(split_text(r)))
    }));
}

fn excluded(cmp: &Comparison, out: &mut Doc) {
    out.heading(2, "Failed and unavailable trials");
    let mut t = Table::new(
        [
            "run",
            "mode",
            "workload",
            "threads",
            "Hz",
            "parameters",
            "trial",
            "status",
            "error",
        ]
        .map(String::from),
    );
    for r in &cmp.runs {
        for e in &r.analysis.excluded {
            t.row([
                r.column.clone(),
                e.key.mode.to_string(),
                e.key.workload.to_string(),
                e.key.threads.to_string(),
                e.key.hz.to_string(),
                e.key.params_label(),
                e.trial.to_string(),
                format!("{:?}", e.status).to_lowercase(),
                e.error.clone().unwrap_or_default(),
            ]);
        }
    }
    if t.rows.is_empty() {
        out.para("None: every trial measured.");
    } else {
        out.table(t);
    }
}
