//! What each chart shows, as data: built from a run's analysis, drawn by
//! [`super::draw`]. Keeping the two apart lets the tests check what a chart
//! holds without decoding pixels, and keeps the numbers in one place: every
//! ratio and interval is the analysis's own ([`RatioEstimate`]), never
//! recomputed here.

use std::collections::{BTreeMap, BTreeSet};

use harness::mode::Mode;
use harness::record::{RunRecord, TrialStatus};
use plotters::style::RGBColor;
use workloads::WorkloadKind;

use super::style::{mode_style, Dash, SeriesStyle, Shape, CATEGORICAL, CLASS_COLOURS, REFERENCE};
use super::ChartKind;
use crate::analyze::{CellAnalysis, RunAnalysis};
use crate::cell::{CellKey, RatioEstimate};

/// The ratio axis never reaches past this; intervals beyond it are cut at
/// it (and the caption says so), so one inconclusive cell with a huge
/// interval cannot squash every other line.
const RATIO_CEILING: f64 = 1.3;

/// What a legend entry shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Swatch {
    /// A line with its marker.
    Series(SeriesStyle),
    /// A marker alone.
    Point(RGBColor, Shape),
    /// A filled box.
    Fill(RGBColor),
    /// A pale box with an outline: ground truth in the bar chart.
    Pale(RGBColor),
    /// A line without marker: a reference curve.
    Line(RGBColor, Dash),
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub swatch: Swatch,
}

/// What every chart has around its panels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub title: String,
    pub subtitle: String,
    pub legend: Vec<LegendEntry>,
    /// Paragraphs under the legend: the machine, the run, the reading notes.
    pub caption: Vec<String>,
}

/// A measured value with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub x: f64,
    pub y: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Point {
    fn of(x: f64, e: &RatioEstimate) -> Point {
        Point {
            x,
            y: e.ratio,
            lo: e.interval.lo,
            hi: e.interval.hi,
        }
    }
}

/// One line of a panel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub label: String,
    pub style: SeriesStyle,
    /// By increasing `x`.
    pub points: Vec<Point>,
}

/// A labelled vertical line (the core count, the kernel's HZ, a period).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VMarker {
    pub x: f64,
    pub label: String,
}

/// A curve that theory predicts, drawn thin and grey under the data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    /// By increasing `x`.
    pub points: Vec<(f64, f64)>,
}

/// One panel of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineFacet {
    pub title: String,
    pub series: Vec<Series>,
    pub marker: Option<VMarker>,
    pub reference: Option<Reference>,
}

/// Ratio against a numeric axis, one line per mode, one panel per group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineChart {
    pub frame: Frame,
    pub x_label: String,
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Top of the ratio axis (the bottom is 0).
    pub y_max: f64,
    pub facets: Vec<LineFacet>,
}

/// One point of the attribution scatter: a thread of a trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SharePoint {
    pub cpu_share: f64,
    pub sample_share: f64,
    /// Index into [`ScatterChart::groups`].
    pub group: usize,
}

/// One panel of the scatter: one mode.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScatterFacet {
    pub title: String,
    /// A line in the panel's free corner (the distance the analysis found).
    pub note: String,
    pub points: Vec<SharePoint>,
}

/// Sample share against CPU share.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScatterChart {
    pub frame: Frame,
    pub x_label: String,
    pub y_label: String,
    /// Both axes run from 0 to this.
    pub max: f64,
    /// `(colour, shape)` of each point group, in legend order.
    pub groups: Vec<(RGBColor, Shape)>,
    pub facets: Vec<ScatterFacet>,
}

/// One mode in a bar panel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BarRow {
    pub label: String,
    /// CPU of registered and unregistered threads, as shares of their sum.
    pub cpu: [f64; 2],
    /// Samples × period on registered threads, unregistered threads and
    /// threads of unknown CPU, as fractions of the same CPU.
    pub samples: [f64; 3],
    /// The class ratios, under the label.
    pub note: String,
}

/// One panel of the bar chart: one cell shape (threads, rate).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BarFacet {
    pub title: String,
    pub rows: Vec<BarRow>,
}

/// Ground truth against samples, split by registration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BarChart {
    pub frame: Frame,
    pub x_label: String,
    pub x_max: f64,
    pub facets: Vec<BarFacet>,
}

/// A chart's content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Figure {
    Line(LineChart),
    Scatter(ScatterChart),
    Bar(BarChart),
}

impl Figure {
    /// The title, legend and caption around the panels.
    pub(crate) fn frame(&self) -> &Frame {
        match self {
            Figure::Line(c) => &c.frame,
            Figure::Scatter(c) => &c.frame,
            Figure::Bar(c) => &c.frame,
        }
    }
}

/// Builds the content of one chart, or says why the run cannot have it.
pub(crate) fn build(
    kind: ChartKind,
    run: &RunRecord,
    analysis: &RunAnalysis,
) -> Result<Figure, String> {
    match kind {
        ChartKind::Attenuation => attenuation(analysis).map(Figure::Line),
        ChartKind::RateCap => rate_cap(analysis).map(Figure::Line),
        ChartKind::ShortLived => short_lived(analysis).map(Figure::Line),
        ChartKind::Attribution => attribution(run, analysis).map(Figure::Scatter),
        ChartKind::Foreign => foreign(analysis).map(Figure::Bar),
    }
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm), so
/// the caption can date the run without a calendar crate.
fn civil_date(unix_s: u64) -> (i64, u32, u32) {
    let z = (unix_s / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// "3 trials per cell", or the range when cells differ.
fn trials_text(cells: &[&CellAnalysis]) -> String {
    let counts: BTreeSet<usize> = cells.iter().map(|c| c.estimate.trials).collect();
    match (counts.first(), counts.last()) {
        (Some(a), Some(b)) if a == b => {
            format!("{a} trial{} per cell", if *a == 1 { "" } else { "s" })
        }
        (Some(a), Some(b)) => format!("{a}–{b} trials per cell"),
        _ => String::new(),
    }
}

/// The machine and run paragraphs every chart ends with, then `notes`;
/// `intervals` when the chart draws the cells' intervals.
fn caption(
    a: &RunAnalysis,
    cells: &[&CellAnalysis],
    intervals: bool,
    notes: &[String],
) -> Vec<String> {
    let env = &a.env;
    let mut machine = format!(
        "Machine: {} CPU{}",
        env.cpus,
        if env.cpus == 1 { "" } else { "s" }
    );
    if let Some(model) = &env.cpu_model {
        machine.push_str(&format!(" ({model})"));
    }
    machine.push_str(&format!(
        ", Linux {} {}, HZ={} ({}).",
        env.kernel, env.arch, env.hz, env.hz_source
    ));
    if let Some(label) = &env.label {
        machine.push_str(&format!(" Label: {label}."));
    }
    let (y, m, d) = civil_date(a.run.started_unix_s);
    let matrix = a
        .run
        .matrix
        .as_deref()
        .map(|m| format!(", matrix {m}"))
        .unwrap_or_default();
    let mut run = format!(
        "Run: profbench {}{matrix}, seed {}, {y:04}-{m:02}-{d:02}; {}.",
        a.run.profbench_version,
        a.run.seed,
        trials_text(cells),
    );
    if intervals {
        run.push_str(&format!(
            " Ratio = weighted samples × period ÷ process CPU time (getrusage), median over \
             trials; bars are {} % intervals (the wider of the ideal-sampler model's and the \
             trials' spread).",
            100.0 * a.settings.confidence
        ));
    }
    let mut out = vec![machine, run];
    out.extend(notes.iter().cloned());
    out
}

fn mode_legend(modes: &BTreeSet<Mode>) -> Vec<LegendEntry> {
    modes
        .iter()
        .map(|m| LegendEntry {
            label: m.to_string(),
            swatch: Swatch::Series(mode_style(m)),
        })
        .collect()
}

/// The top of a ratio axis: 1.1 unless an interval reaches higher, never
/// above [`RATIO_CEILING`]; and whether an interval was cut.
fn ratio_axis(facets: &[LineFacet]) -> (f64, bool) {
    let top = facets
        .iter()
        .flat_map(|f| &f.series)
        .flat_map(|s| &s.points)
        .map(|p| p.hi.max(p.y))
        .fold(0.0_f64, f64::max);
    let y_max = ((top + 0.05) * 10.0).ceil() / 10.0;
    (y_max.clamp(1.1, RATIO_CEILING), top > RATIO_CEILING)
}

fn clipped_note(clipped: bool) -> Option<String> {
    clipped.then(|| {
        format!("Intervals reaching above {RATIO_CEILING} are cut at the top of the axis.")
    })
}

/// The workload the parallel charts use: `parallel`, or `rayon` when the
/// run has no `parallel` cells.
fn parallel_cells(a: &RunAnalysis) -> Option<(WorkloadKind, Vec<&CellAnalysis>)> {
    [WorkloadKind::Parallel, WorkloadKind::Rayon]
        .into_iter()
        .map(|w| {
            (
                w,
                a.cells
                    .iter()
                    .filter(|c| c.key.workload == w)
                    .collect::<Vec<_>>(),
            )
        })
        .find(|(_, cells)| !cells.is_empty())
}

/// Groups cells into panels (by `panel`) and lines (by mode) along `x`;
/// keeps the panels where some line has two or more points.
fn line_facets<P: Ord + Copy>(
    cells: &[&CellAnalysis],
    panel: impl Fn(&CellKey) -> P,
    x: impl Fn(&CellKey) -> f64,
) -> BTreeMap<P, Vec<Series>> {
    let mut groups: BTreeMap<P, BTreeMap<Mode, Vec<Point>>> = BTreeMap::new();
    for c in cells {
        groups
            .entry(panel(&c.key))
            .or_default()
            .entry(c.key.mode)
            .or_default()
            .push(Point::of(x(&c.key), &c.estimate));
    }
    groups
        .into_iter()
        .filter(|(_, lines)| lines.values().any(|p| p.len() >= 2))
        .map(|(p, lines)| {
            let series = lines
                .into_iter()
                .map(|(mode, mut points)| {
                    points.sort_by(|a, b| a.x.total_cmp(&b.x));
                    Series {
                        label: mode.to_string(),
                        style: mode_style(&mode),
                        points,
                    }
                })
                .collect();
            (p, series)
        })
        .collect()
}

fn modes_of(facets: &[LineFacet]) -> BTreeSet<Mode> {
    facets
        .iter()
        .flat_map(|f| &f.series)
        .filter_map(|s| s.label.parse().ok())
        .collect()
}

fn period_ms(hz: u32) -> String {
    let ms = 1000.0 / f64::from(hz);
    if (ms - ms.round()).abs() < 1e-9 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The x range a panel spans, for deciding whether a marker fits.
fn x_span(series: &[Series]) -> Option<(f64, f64)> {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.x));
    let lo = xs.clone().fold(f64::INFINITY, f64::min);
    let hi = xs.fold(f64::NEG_INFINITY, f64::max);
    (lo <= hi).then_some((lo, hi))
}

/// A marker, if it lies within a factor of two of the panel's range (further
/// out it would squash the data); otherwise `None`.
fn marker_near(series: &[Series], x: f64, label: String) -> Option<VMarker> {
    let (lo, hi) = x_span(series)?;
    (x >= lo / 2.0 && x <= hi * 2.0).then_some(VMarker { x, label })
}

fn attenuation(a: &RunAnalysis) -> Result<LineChart, String> {
    let (workload, cells) =
        parallel_cells(a).ok_or("the run has no `parallel` or `rayon` cells")?;
    let facets = line_facets(&cells, |k| k.hz, |k| k.threads as f64);
    if facets.is_empty() {
        return Err(format!(
            "no mode was measured at two or more thread counts at one rate ({workload} cells)"
        ));
    }
    let cores = a.env.cpus;
    let mut notes = Vec::new();
    let facets: Vec<LineFacet> = facets
        .into_iter()
        .map(|(hz, series)| {
            let marker = marker_near(&series, cores as f64, plural(cores, "core", "cores"));
            LineFacet {
                title: format!("{hz} Hz (period {})", period_ms(hz)),
                series,
                marker,
                reference: None,
            }
        })
        .collect();
    if facets.iter().any(|f| f.marker.is_none()) {
        notes.push(format!(
            "The machine's {} lie far outside the thread counts measured, so no panel marks them.",
            plural(cores, "core", "cores")
        ));
    }
    let (y_max, clipped) = ratio_axis(&facets);
    notes.extend(clipped_note(clipped));
    notes.push(
        "Points of different modes are nudged sideways so their intervals stay apart.".into(),
    );
    Ok(LineChart {
        frame: Frame {
            title: "Attenuation with parallel threads".into(),
            subtitle: format!(
                "Share of the CPU time each sampling mode reports while {workload} threads burn \
                 CPU, by number of threads, one panel per sampling rate. 1.0 is a faithful profile; \
                 a process-wide timer (setitimer) delivers at most one signal per kernel tick, so \
                 it falls behind once more than period ÷ tick threads run at once."
            ),
            legend: mode_legend(&modes_of(&facets)),
            caption: caption(a, &cells, true, &notes),
        },
        x_label: "threads burning CPU in parallel".into(),
        y_label: "reported ÷ real CPU time".into(),
        log_x: true,
        y_max,
        facets,
    })
}

/// `min(1, HZ ÷ rate)`: what a CPU-clock timer that fires at most once per
/// tick, on a thread that runs through every tick, can report.
fn hz_cap((lo, hi): (f64, f64), hz: u32) -> Reference {
    const STEPS: usize = 48;
    let (a, b) = (lo.ln(), hi.ln());
    let points = (0..=STEPS)
        .map(|i| {
            let x = (a + (b - a) * i as f64 / STEPS as f64).exp();
            (x, (f64::from(hz) / x).min(1.0))
        })
        .collect();
    Reference { points }
}

fn rate_cap(a: &RunAnalysis) -> Result<LineChart, String> {
    let (workload, cells) =
        parallel_cells(a).ok_or("the run has no `parallel` or `rayon` cells")?;
    let facets = line_facets(&cells, |k| k.threads, |k| f64::from(k.hz));
    if facets.is_empty() {
        return Err(format!(
            "no mode was measured at two or more rates with the same thread count ({workload} cells)"
        ));
    }
    let hz = a.env.hz;
    let facets: Vec<LineFacet> = facets
        .into_iter()
        .map(|(threads, series)| LineFacet {
            title: plural(threads, "thread", "threads"),
            marker: marker_near(&series, f64::from(hz), format!("HZ={hz}")),
            reference: x_span(&series).map(|span| hz_cap(span, hz)),
            series,
        })
        .collect();
    let (y_max, clipped) = ratio_axis(&facets);
    let mut notes: Vec<String> = clipped_note(clipped).into_iter().collect();
    notes.push(
        "Points of different modes are nudged sideways so their intervals stay apart.".into(),
    );
    Ok(LineChart {
        frame: Frame {
            title: "The HZ cap on sampling rate".into(),
            subtitle: format!(
                "Share of the CPU time each mode reports for {workload} threads, by requested \
                 sampling rate, one panel per thread count. The kernel checks CPU-clock timers \
                 once per tick, so above HZ a timer can fire at most HZ times per CPU second unless \
                 its missed expirations (si_overrun) are counted; perf events are not tick-driven."
            ),
            legend: {
                let mut legend = mode_legend(&modes_of(&facets));
                legend.push(LegendEntry {
                    label: "HZ ÷ rate: one expiry per tick".into(),
                    swatch: Swatch::Line(REFERENCE, Dash::Dotted),
                });
                legend
            },
            caption: caption(a, &cells, true, &notes),
        },
        x_label: "requested sampling rate (Hz, log scale)".into(),
        y_label: "reported ÷ real CPU time".into(),
        log_x: true,
        y_max,
        facets,
    })
}

fn short_lived(a: &RunAnalysis) -> Result<LineChart, String> {
    let curves: Vec<_> = a
        .lifetime_curves
        .iter()
        .filter(|c| c.points.len() >= 2)
        .collect();
    if curves.is_empty() {
        return Err(if a.lifetime_curves.is_empty() {
            "the run has no `short-lived` cells".to_string()
        } else {
            "no mode was measured at two or more thread lifetimes".to_string()
        });
    }
    let mut panels: BTreeMap<(u32, usize), Vec<Series>> = BTreeMap::new();
    for c in &curves {
        panels
            .entry((c.key.hz, c.key.threads))
            .or_default()
            .push(Series {
                label: c.key.mode.to_string(),
                style: mode_style(&c.key.mode),
                points: c
                    .points
                    .iter()
                    .map(|p| Point::of(p.lifetime_ms, &p.estimate))
                    .collect(),
            });
    }
    let facets: Vec<LineFacet> = panels
        .into_iter()
        .map(|((hz, threads), mut series)| {
            series.sort_by(|x, y| x.label.cmp(&y.label));
            let period = 1000.0 / f64::from(hz);
            LineFacet {
                title: format!("{} at {hz} Hz", plural(threads, "thread", "threads")),
                marker: marker_near(&series, period, format!("1 period ({})", period_ms(hz))),
                reference: None,
                series,
            }
        })
        .collect();
    let cells: Vec<&CellAnalysis> = a
        .cells
        .iter()
        .filter(|c| c.key.params.lifetime_ms.is_some())
        .collect();
    let (y_max, clipped) = ratio_axis(&facets);
    let mut notes: Vec<String> = clipped_note(clipped).into_iter().collect();
    notes.push(format!(
        "The lifetime is each thread's CPU time before it exits; the analysis reports where \
         each mode reaches {} in the report's short-lived table.",
        a.settings.target_ratio
    ));
    Ok(LineChart {
        frame: Frame {
            title: "Short-lived threads".into(),
            subtitle: "Share of the CPU time each mode reports for a churn of threads that each \
                       burn a fixed CPU time and exit, by that lifetime. A per-thread timer dies \
                       with its thread, and an expiry that is due when the thread exits before \
                       the next tick is lost; +flush counts those, +nojitter starts every timer \
                       a full period late."
                .into(),
            legend: mode_legend(&modes_of(&facets)),
            caption: caption(a, &cells, true, &notes),
        },
        x_label: "CPU time per thread before it exits (ms, log scale)".into(),
        y_label: "reported ÷ real CPU time".into(),
        log_x: true,
        y_max,
        facets,
    })
}

fn attribution(run: &RunRecord, a: &RunAnalysis) -> Result<ScatterChart, String> {
    let cells: Vec<&CellAnalysis> = a
        .cells
        .iter()
        .filter(|c| c.key.workload == WorkloadKind::Imbalanced)
        .collect();
    if cells.is_empty() {
        return Err("the run has no `imbalanced` cells".into());
    }
    let rates: BTreeSet<u32> = cells.iter().map(|c| c.key.hz).collect();
    let threads: BTreeSet<usize> = cells.iter().map(|c| c.key.threads).collect();
    let index = |set_pos: Option<usize>| set_pos.unwrap_or(0);
    let group_of = |k: &CellKey| {
        let r = index(rates.iter().position(|h| *h == k.hz));
        let t = index(threads.iter().position(|n| *n == k.threads));
        r * threads.len() + t
    };
    let mut groups = Vec::new();
    let mut legend = Vec::new();
    for (r, hz) in rates.iter().enumerate() {
        for (t, n) in threads.iter().enumerate() {
            let style = (
                CATEGORICAL[r % CATEGORICAL.len()],
                Shape::ALL[t % Shape::ALL.len()],
            );
            groups.push(style);
            legend.push(LegendEntry {
                label: format!("{hz} Hz, {}", plural(*n, "thread", "threads")),
                swatch: Swatch::Point(style.0, style.1),
            });
        }
    }
    let mut by_mode: BTreeMap<Mode, Vec<SharePoint>> = BTreeMap::new();
    for trial in &run.trials {
        if trial.status != TrialStatus::Ok || trial.workload != WorkloadKind::Imbalanced {
            continue;
        }
        let key = CellKey::of(trial);
        // Only trials the analysis used (a measured cell, CPU and a period).
        if a.cell(&key).is_none() || trial.cpu_ns == 0 || trial.period_ns == 0 {
            continue;
        }
        let known: Vec<(f64, f64)> = trial
            .threads_detail
            .iter()
            .filter_map(|t| t.cpu_ns.map(|c| (c as f64, t.weighted_samples as f64)))
            .collect();
        let cpu: f64 = known.iter().map(|k| k.0).sum();
        let samples: f64 = known.iter().map(|k| k.1).sum();
        let points = by_mode.entry(key.mode).or_default();
        if cpu > 0.0 && samples > 0.0 {
            points.extend(known.iter().map(|(c, s)| SharePoint {
                cpu_share: c / cpu,
                sample_share: s / samples,
                group: group_of(&key),
            }));
        }
    }
    let top = by_mode
        .values()
        .flatten()
        .map(|p| p.cpu_share.max(p.sample_share))
        .fold(0.0_f64, f64::max);
    let max = ((top + 0.05) * 10.0).ceil().min(10.0) / 10.0;
    let facets = by_mode
        .into_iter()
        .map(|(mode, points)| {
            let tvds: Vec<f64> = cells
                .iter()
                .filter(|c| c.key.mode == mode)
                .filter_map(|c| c.attribution.tvd)
                .collect();
            let lo = tvds.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = tvds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let note = match tvds.len() {
                0 => "no samples".to_string(),
                1 => format!("misattributed: {:.1} %", 100.0 * lo),
                _ => format!("misattributed: {:.1}–{:.1} %", 100.0 * lo, 100.0 * hi),
            };
            ScatterFacet {
                title: mode.to_string(),
                note,
                points,
            }
        })
        .collect();
    Ok(ScatterChart {
        frame: Frame {
            title: "Attribution: are samples on the threads that burned the CPU?".into(),
            subtitle: "Each point is one thread of one trial of the imbalanced workload (one \
                       hot thread, the others light): its share of the samples against its share \
                       of the CPU time, one panel per mode. On the diagonal the profile blames \
                       the right thread; off it, samples moved between threads."
                .into(),
            legend,
            caption: caption(
                a,
                &cells,
                false,
                &[
                    "\"Misattributed\" is the total variation distance between the sample and CPU \
                   shares (median over trials; the range over the panel's cells): the fraction \
                   of the profile on the wrong thread. Threads of unknown CPU are left out."
                        .to_string(),
                ],
            ),
        },
        x_label: "share of CPU time".into(),
        y_label: "share of samples".into(),
        max,
        groups,
        facets,
    })
}

fn foreign(a: &RunAnalysis) -> Result<BarChart, String> {
    let cells: Vec<&CellAnalysis> = a
        .cells
        .iter()
        .filter(|c| c.key.workload == WorkloadKind::Foreign && c.registration.is_some())
        .collect();
    if cells.is_empty() {
        return Err("the run has no `foreign` cells".into());
    }
    // One panel per cell shape; the share is a key by its bits (it is a
    // number from the matrix, not a computed one).
    type Panel = (usize, u32, Option<u64>);
    let mut panels: BTreeMap<Panel, Vec<BarRow>> = BTreeMap::new();
    for c in &cells {
        let Some(split) = &c.registration else {
            continue;
        };
        let (reg, unreg) = (&split.registered, &split.unregistered);
        let cpu = reg.cpu_s + unreg.cpu_s;
        let Some(period_ns) = c.trials.first().map(|t| t.period_ns) else {
            continue;
        };
        if cpu <= 0.0 {
            continue;
        }
        let period_s = period_ns as f64 / 1e9;
        let share = |samples: f64| samples * period_s / cpu;
        let class_ratio = |samples: f64, cpu_s: f64| {
            if cpu_s > 0.0 {
                format!("{:.2}", samples * period_s / cpu_s)
            } else {
                "—".into()
            }
        };
        let mut note = format!(
            "registered {}, foreign {}",
            class_ratio(reg.weighted_samples, reg.cpu_s),
            class_ratio(unreg.weighted_samples, unreg.cpu_s)
        );
        if split.unknown_cpu_samples > 0.0 {
            let n = split.unknown_cpu_samples;
            note.push_str(&format!(
                ", +{n:.0} sample{} elsewhere",
                if n == 1.0 { "" } else { "s" }
            ));
        }
        let panel = (
            c.key.threads,
            c.key.hz,
            c.key.params.foreign_share.map(f64::to_bits),
        );
        panels.entry(panel).or_default().push(BarRow {
            label: c.key.mode.to_string(),
            cpu: [reg.cpu_s / cpu, unreg.cpu_s / cpu],
            samples: [
                share(reg.weighted_samples),
                share(unreg.weighted_samples),
                share(split.unknown_cpu_samples),
            ],
            note,
        });
    }
    if panels.is_empty() {
        return Err("the `foreign` cells measured no CPU time".into());
    }
    let top = panels
        .values()
        .flatten()
        .map(|r| r.samples.iter().sum::<f64>())
        .fold(1.0_f64, f64::max);
    let x_max = ((top + 0.05) * 10.0).ceil() / 10.0;
    let facets = panels
        .into_iter()
        .map(|((threads, hz, share), rows)| {
            let share = share
                .map(|s| format!(", {:.0} % foreign", 100.0 * f64::from_bits(s)))
                .unwrap_or_default();
            BarFacet {
                title: format!("{} at {hz} Hz{share}", plural(threads, "thread", "threads")),
                rows,
            }
        })
        .collect();
    let [reg, unreg, other] = CLASS_COLOURS;
    Ok(BarChart {
        frame: Frame {
            title: "Foreign threads: who gets the samples?".into(),
            subtitle: "The foreign workload burns CPU on threads the profiler registered and on \
                       raw pthreads it never saw. Per mode, the pale bar splits the workload \
                       threads' CPU time between the two; the solid bar below it shows where the \
                       samples went (samples × period, as a fraction of that CPU time). Equal \
                       bars, split alike, are a faithful profile; the numbers are each class's \
                       samples against its own CPU."
                .into(),
            legend: vec![
                LegendEntry {
                    label: "CPU of registered threads".into(),
                    swatch: Swatch::Pale(reg),
                },
                LegendEntry {
                    label: "CPU of foreign threads".into(),
                    swatch: Swatch::Pale(unreg),
                },
                LegendEntry {
                    label: "samples on registered threads".into(),
                    swatch: Swatch::Fill(reg),
                },
                LegendEntry {
                    label: "samples on foreign threads".into(),
                    swatch: Swatch::Fill(unreg),
                },
                LegendEntry {
                    label: "samples on threads of unknown CPU".into(),
                    swatch: Swatch::Fill(other),
                },
            ],
            caption: caption(a, &cells, false, &[]),
        },
        x_label: "fraction of the workload threads' CPU time".into(),
        x_max,
        facets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(1_750_000_000), (2025, 6, 15));
    }
}
