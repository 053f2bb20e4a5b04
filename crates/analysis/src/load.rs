//! Reading run files and sorting their trials into the measured and the rest.

use std::fs;
use std::io::Read;
use std::path::Path;

use harness::record::{RecordError, RunRecord, TrialRecord, TrialStatus};
use serde::Serialize;
use serde_json::error::Category;

use crate::cell::CellKey;
use crate::error::AnalysisError;

/// Reads and checks one run file, plain or gzipped JSON.
///
/// Each way a file can be wrong gets its own [`AnalysisError`] variant with
/// the path in its message: missing or unreadable ([`AnalysisError::Read`]),
/// cut short ([`AnalysisError::Truncated`]), not JSON
/// ([`AnalysisError::NotJson`]), a schema version this build does not know
/// ([`AnalysisError::UnknownSchema`]), or JSON of another shape
/// ([`AnalysisError::NotARun`]).
///
/// ```no_run
/// let run = analysis::load_run("results/latest/run.json")?;
/// println!("{} trials on {}", run.trials.len(), run.env.short_name());
/// # Ok::<(), analysis::AnalysisError>(())
/// ```
pub fn load_run(path: impl AsRef<Path>) -> Result<RunRecord, AnalysisError> {
    let path = path.as_ref();
    let read_error = |source| AnalysisError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = fs::read(path).map_err(read_error)?;
    // Published runs are committed gzipped (their per-thread detail is
    // large); recognise gzip by its magic bytes, whatever the file is called.
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(read_error)?;
        text
    } else {
        String::from_utf8(bytes)
            .map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?
    };
    parse_run(&text, path)
}

/// Parses the text of a run file; `path` only names it in errors.
pub fn parse_run(text: &str, path: &Path) -> Result<RunRecord, AnalysisError> {
    RunRecord::from_json(text).map_err(|e| match e {
        RecordError::UnknownSchema { found } => AnalysisError::UnknownSchema {
            path: path.to_path_buf(),
            found,
        },
        RecordError::Malformed(json) => match json.classify() {
            Category::Eof => AnalysisError::Truncated {
                path: path.to_path_buf(),
                line: json.line(),
                column: json.column(),
            },
            Category::Syntax | Category::Io => AnalysisError::NotJson {
                path: path.to_path_buf(),
                message: json.to_string(),
            },
            Category::Data => AnalysisError::NotARun {
                path: path.to_path_buf(),
                message: json.to_string(),
            },
        },
    })
}

/// A trial that is not analysed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExcludedTrial {
    /// The cell it belonged to.
    pub key: CellKey,
    /// Its repetition index.
    pub trial: u32,
    /// `failed` or `unavailable`, or `ok` for a trial that measured no CPU.
    pub status: TrialStatus,
    /// The record's `error`, or why an `ok` trial could not be used.
    pub error: Option<String>,
}

/// Splits a run's trials into those that measured something and the rest.
///
/// Only `status == ok` trials with CPU time and a period are measurements;
/// `failed` and `unavailable` trials keep their `error` for the report. An
/// `ok` trial with no CPU or no period cannot be held against anything and is
/// excluded with a reason rather than silently dropped.
pub fn partition_trials(run: &RunRecord) -> (Vec<&TrialRecord>, Vec<ExcludedTrial>) {
    let mut usable = Vec::new();
    let mut excluded = Vec::new();
    for trial in &run.trials {
        let reason = match trial.status {
            TrialStatus::Ok if trial.cpu_ns == 0 => {
                Some("status ok but no CPU time was measured".to_string())
            }
            TrialStatus::Ok if trial.period_ns == 0 => {
                Some("status ok but the sampling period is zero".to_string())
            }
            TrialStatus::Ok => None,
            _ => Some(
                trial
                    .error
                    .clone()
                    .unwrap_or_else(|| "(no error recorded)".to_string()),
            ),
        };
        match reason {
            None => usable.push(trial),
            Some(error) => excluded.push(ExcludedTrial {
                key: CellKey::of(trial),
                trial: trial.trial,
                status: trial.status,
                error: Some(error),
            }),
        }
    }
    (usable, excluded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzipped_runs_load_like_plain_ones() {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/real_2core_parallel.json"
        );
        let plain = load_run(fixture).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("run.json.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&fs::read(fixture).unwrap()).unwrap();
        let bytes = encoder.finish().unwrap();
        fs::write(&gz, &bytes).unwrap();
        assert_eq!(load_run(&gz).unwrap(), plain);
        // A cut gzip stream is a read error naming the file, not a panic.
        fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
        let e = load_run(&gz).unwrap_err();
        assert!(
            e.is_bad_input() && e.to_string().contains("run.json.gz"),
            "{e}"
        );
    }
}
