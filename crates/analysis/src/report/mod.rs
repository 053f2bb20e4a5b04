//! The report: rendering of a [`Comparison`](crate::analyze::Comparison) and writing it to disk.
//!
//! Rendering is pure (data in, text out) and lives apart from the
//! statistics, so an HTML rendering can reuse the same
//! [`Comparison`](crate::analyze::Comparison).

mod markdown;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use harness::record::RunRecord;

use crate::analyze::compare_runs;
use crate::config::AnalysisConfig;
use crate::error::AnalysisError;

pub use markdown::render_markdown;

/// The file name of the Markdown report inside the output directory.
pub const REPORT_FILE: &str = "report.md";

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
