//! The report: rendering of a [`Comparison`] and writing it to disk.
//!
//! Rendering is pure (data in, text out) and lives apart from the
//! statistics. Both renderings, Markdown and HTML, walk one document built
//! from the [`Comparison`] (`doc.rs`), so they
//! show the same tables. [`write_reports`] writes both, with the charts of
//! every run ([`crate::plot`]).

mod doc;
mod html;
mod markdown;
mod text;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use harness::record::RunRecord;

use crate::analyze::{compare_runs, Comparison};
use crate::config::AnalysisConfig;
use crate::error::AnalysisError;
use crate::plot::{render_charts, ChartKind, Charts, Skipped, PLOTS_DIR};

pub use markdown::render_markdown;
pub use text::text_table;

/// The file name of the Markdown report inside the output directory.
pub const REPORT_FILE: &str = "report.md";

/// The file name of the HTML report inside the output directory.
pub const HTML_FILE: &str = "report.html";

/// Renders the HTML report of a comparison: one self-contained page with
/// the Markdown report's tables, verdicts coloured, and `charts[i]`, the
/// charts of `cmp.runs[i]`, inline as SVG (pass empty [`Charts`] for none).
pub fn render_html(cmp: &Comparison, charts: &[Charts]) -> String {
    html::html_of(&markdown::document(cmp), cmp, charts, &|_, _| None)
}

/// What [`write_reports`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFiles {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
    /// Every chart file, SVG and PNG.
    pub plots: Vec<PathBuf>,
    /// The charts a run could not have: `(run column, why)`.
    pub skipped: Vec<(String, Skipped)>,
}

/// The charts directory of run `i`, relative to the report: `plots` for a
/// single run, `plots/<column as a file name>` for each of several.
fn plots_subdir(cmp: &Comparison, i: usize) -> String {
    if cmp.runs.len() == 1 {
        return PLOTS_DIR.to_string();
    }
    let name = |col: &str| {
        let mut out = String::new();
        for c in col.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_end_matches('-').to_string()
    };
    let mine = name(&cmp.runs[i].column);
    // Columns are unique but their file names need not be.
    let clash = cmp
        .runs
        .iter()
        .enumerate()
        .any(|(j, r)| j != i && name(&r.column) == mine);
    let mine = if clash || mine.is_empty() {
        format!("{mine}-{}", i + 1)
            .trim_start_matches('-')
            .to_string()
    } else {
        mine
    };
    format!("{PLOTS_DIR}/{mine}")
}

/// Analyses `runs` and writes, into `out_dir`: `report.md`, `report.html`
/// and every run's charts (`plots/` for one run, `plots/<run>/` for each
/// of several), all atomically. The Markdown report links the charts; the
/// HTML report holds them inline. Charts a run lacks the cells for are
/// listed in [`ReportFiles::skipped`].
pub fn write_reports(
    runs: &[(String, RunRecord)],
    out_dir: impl AsRef<Path>,
    config: &AnalysisConfig,
) -> Result<ReportFiles, AnalysisError> {
    let out = out_dir.as_ref();
    let cmp = compare_runs(runs, config)?;
    let mut charts = Vec::with_capacity(cmp.runs.len());
    let mut plots = Vec::new();
    let mut skipped = Vec::new();
    for (i, ((_, record), run)) in runs.iter().zip(&cmp.runs).enumerate() {
        let set = render_charts(record, &run.analysis)?;
        plots.extend(set.write(&out.join(plots_subdir(&cmp, i)))?);
        skipped.extend(set.skipped.iter().map(|s| (run.column.clone(), s.clone())));
        charts.push(set);
    }
    let link = |i: usize, kind: ChartKind| {
        charts[i]
            .get(kind)
            .map(|_| format!("{}/{}", plots_subdir(&cmp, i), kind.file_stem()))
    };
    let doc = markdown::document(&cmp);
    let figures = |kind: ChartKind| -> Vec<(String, String)> {
        (0..cmp.runs.len())
            .filter_map(|i| {
                let path = link(i, kind)?;
                let alt = if cmp.runs.len() > 1 {
                    format!("{}: {}", kind.describe(), cmp.runs[i].column)
                } else {
                    kind.describe().to_string()
                };
                Some((alt, format!("{path}.svg")))
            })
            .collect()
    };
    let markdown = out.join(REPORT_FILE);
    write_atomically(&markdown, markdown::markdown_of(&doc, &figures).as_bytes())?;
    let html = out.join(HTML_FILE);
    write_atomically(&html, html::html_of(&doc, &cmp, &charts, &link).as_bytes())?;
    Ok(ReportFiles {
        markdown,
        html,
        plots,
        skipped,
    })
}

/// Analyses `runs` with the default settings and writes `out_dir/report.md`;
/// returns its path. `runs` pairs a label (usually the file the run came
/// from) with the run; several runs are set side by side, one column each.
///
/// ```no_run
/// let run = analysis::load_run("results/latest/run.json")?;
/// let path = analysis::write_report(&[("results/latest/run.json".into(), run)], "results/latest")?;
/// assert!(path.ends_with("report.md"));
/// # Ok::<(), analysis::AnalysisError>(())
/// ```
pub fn write_report(
    runs: &[(String, RunRecord)],
    out_dir: impl AsRef<Path>,
) -> Result<PathBuf, AnalysisError> {
    write_report_with(runs, out_dir, &AnalysisConfig::default())
}

/// [`write_report`] with explicit settings.
pub fn write_report_with(
    runs: &[(String, RunRecord)],
    out_dir: impl AsRef<Path>,
    config: &AnalysisConfig,
) -> Result<PathBuf, AnalysisError> {
    let comparison = compare_runs(runs, config)?;
    let path = out_dir.as_ref().join(REPORT_FILE);
    write_atomically(&path, render_markdown(&comparison).as_bytes())?;
    Ok(path)
}

/// Writes `contents` to `path` so that a reader sees the old file or the
/// whole new one, never a part: a temporary file in the same directory (so
/// the rename stays on one filesystem), flushed to disk, then renamed over
/// `path`. The temporary file is removed if anything fails.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), AnalysisError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AnalysisError::Write { path, source }
    };
    fs::create_dir_all(&dir).map_err(err(&dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| REPORT_FILE.to_string());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp).map_err(err(&tmp))?;
        file.write_all(contents).map_err(err(&tmp))?;
        file.sync_all().map_err(err(&tmp))?;
        fs::rename(&tmp, path).map_err(err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
