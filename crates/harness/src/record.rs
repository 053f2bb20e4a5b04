//! The record format: what a run measured, as written to `run.json`.
//!
//! The producer owns the format. `schema` is bumped whenever a field changes
//! meaning; readers refuse a schema they do not know
//! ([`RunRecord::from_json`]).

use serde::{Deserialize, Serialize};
use thiserror::Error;
use workloads::{WorkloadKind, WorkloadParams};

use crate::mode::Mode;

/// The schema version this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run: the environment it ran in and every trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema: u32,
    /// The machine and kernel the run measured.
    pub env: Environment,
    /// How the run was asked for.
    pub config: RunConfig,
    /// One record per trial, in the order they ran.
    pub trials: Vec<TrialRecord>,
}

/// How a run was asked for: enough to repeat it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The matrix preset or file the trials came from, if any.
    pub matrix: Option<String>,
    /// The run's seed; every trial's seed derives from it.
    pub seed: u64,
    /// When the run started, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// The profbench version that wrote the record.
    pub profbench_version: String,
}

/// The machine, as `profbench env` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// `uname -r`.
    pub kernel: String,
    /// `uname -m`.
    pub arch: String,
    /// The kernel tick rate used for the analysis (from `hz_source`).
    pub hz: u32,
    /// Where `hz` came from: `"config"` (`/proc/config.gz`, `/boot/config-*`)
    /// or `"measured"` (the rate a CPU-clock timer can fire at).
    pub hz_source: String,
    /// Expiries per CPU second of a thread CPU timer asked for 10 kHz: the
    /// rate the kernel really checks CPU timers at.
    pub hz_measured: Option<f64>,
    /// CPUs this process may run on.
    pub cpus: usize,
    /// The CPU model from `/proc/cpuinfo`.
    pub cpu_model: Option<String>,
    /// `/proc/sys/kernel/perf_event_paranoid`.
    pub perf_event_paranoid: Option<i32>,
    /// Whether a task-clock perf event with a sampling period could be opened.
    pub perf_event_available: bool,
    /// Why not, when it could not.
    pub perf_event_error: Option<String>,
    /// A label the user gave the machine (`--label`), for side-by-side reports.
    #[serde(default)]
    pub label: Option<String>,
}

impl Environment {
    /// A short name for report columns: the label, or kernel and core count.
    pub fn short_name(&self) -> String {
        match &self.label {
            Some(label) => label.clone(),
            None => format!("{} cores, {}, HZ={}", self.cpus, self.kernel, self.hz),
        }
    }
}

/// Whether a trial produced a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrialStatus {
    /// Measured.
    Ok,
    /// Something failed mid-trial (`error` says what); its counts are not a measurement.
    Failed,
    /// The mode cannot run on this machine (`error` says why), e.g. perf events not permitted.
    Unavailable,
}

/// One trial: one run of (mode, workload, threads, rate, parameters, seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// The sampling mode, options included.
    pub mode: Mode,
    /// The workload.
    pub workload: WorkloadKind,
    /// Threads alive at once.
    pub threads: usize,
    /// Requested sampling rate in Hz.
    pub hz: u32,
    /// Repetition index within the cell, from 0.
    pub trial: u32,
    /// The trial's own seed.
    pub seed: u64,
    /// Whether the trial measured anything.
    pub status: TrialStatus,
    /// What went wrong, for `failed` and `unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Process CPU time over the sampled window (`getrusage(RUSAGE_SELF)`), ns.
    pub cpu_ns: u64,
    /// Wall time of the sampled window, ns.
    pub wall_ns: u64,
    /// Signals delivered and accepted.
    pub samples: u64,
    /// `samples` plus what the options add (overruns with `+overrun`,
    /// flushed expiries with `+flush`).
    pub weighted_samples: u64,
    /// Sum of `si_overrun` over accepted timer signals (recorded whether or
    /// not `+overrun` weights them).
    pub overruns: u64,
    /// Expiries found due but undelivered when a timer ended (counted only with `+flush`).
    pub flushed: u64,
    /// Signals delivered but refused by the mode's filter (`hybrid`'s si_code rule).
    pub rejected: u64,
    /// The sampling period, ns.
    pub period_ns: u64,
    /// `weighted_samples × period_ns / cpu_ns`; null when nothing was measured.
    pub ratio: Option<f64>,
    /// Workload parameters (`lifetime_ms` for `short-lived`, null otherwise;
    /// the others only for the workload that uses them).
    #[serde(flatten)]
    pub params: WorkloadParams,
    /// Threads created by the workload.
    pub threads_spawned: usize,
    /// Every thread that burned CPU or received a signal, the coordinating thread too.
    pub threads_detail: Vec<ThreadRecord>,
}

/// What a thread is to the trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThreadKind {
    /// The thread that runs the session and spawns the workload (registered).
    Coordinator,
    /// A workload thread registered with the sampler.
    Worker,
    /// A workload thread the sampler deliberately did not register.
    Foreign,
    /// A thread outside the workload that received a signal; its CPU is unknown.
    Other,
}

/// One thread's share of a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadRecord {
    /// Kernel thread id.
    pub tid: i32,
    /// What the thread is to the trial.
    pub kind: ThreadKind,
    /// Whether it had a timer of its own (in per-thread modes) / was known to the sampler.
    pub registered: bool,
    /// Its CPU time within the trial, read by the thread itself (null for `other`).
    pub cpu_ns: Option<u64>,
    /// Its CPU time (same origin as `cpu_ns`) when its own timer or perf
    /// counter was armed; omitted for threads without one. The CPU before
    /// it (thread start-up) is invisible to any per-thread timer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub armed_cpu_ns: Option<u64>,
    /// Wall time from registration to exit, ns.
    pub lifetime_ns: u64,
    /// Signals it accepted.
    pub samples: u64,
    /// Accepted signals plus the weight the options add.
    pub weighted_samples: u64,
    // The last three are zero for most threads of most modes; leaving them
    // out keeps runs of thousands of short-lived threads small.
    /// Sum of `si_overrun` over its accepted signals (omitted when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub overruns: u64,
    /// Expiries its timer owed it when it ended (with `+flush`; omitted when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flushed: u64,
    /// Signals it refused (`hybrid`; omitted when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rejected: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The ratio a trial reports: `weighted × period / cpu`.
pub fn ratio(weighted_samples: u64, period_ns: u64, cpu_ns: u64) -> Option<f64> {
    (cpu_ns > 0).then(|| weighted_samples as f64 * period_ns as f64 / cpu_ns as f64)
}

/// Why a run file could not be read.
#[derive(Debug, Error)]
pub enum RecordError {
    /// Not JSON, truncated, or JSON of another shape.
    #[error("not a profbench run file: {0}")]
    Malformed(#[source] serde_json::Error),
    /// A run file of a schema version this build does not read.
    #[error("run file has schema version {found}; this profbench reads version {SCHEMA_VERSION}")]
    UnknownSchema {
        /// The version the file declares.
        found: u64,
    },
}

impl RunRecord {
    /// A run of this build's schema and version: the trials of `matrix`,
    /// started at `started_unix_s`.
    pub fn new(
        env: Environment,
        matrix: &crate::matrix::Matrix,
        started_unix_s: u64,
        trials: Vec<TrialRecord>,
    ) -> RunRecord {
        RunRecord {
            schema: SCHEMA_VERSION,
            env,
            config: RunConfig {
                matrix: Some(matrix.origin.clone()),
                seed: matrix.seed(),
                started_unix_s,
                profbench_version: env!("CARGO_PKG_VERSION").to_string(),
            },
            trials,
        }
    }

    /// Parses a run file, checking its schema version before its shape so an
    /// old or new file gets the right message.
    pub fn from_json(text: &str) -> Result<RunRecord, RecordError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(RecordError::Malformed)?;
        match value.get("schema").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(found) => return Err(RecordError::UnknownSchema { found }),
            None => {
                return Err(RecordError::Malformed(serde::de::Error::custom(
                    "no numeric \"schema\" field at the top level",
                )))
            }
        }
        let mut run: RunRecord = serde_json::from_value(value).map_err(RecordError::Malformed)?;
        for trial in &mut run.trials {
            trial.fill_params_added_since_schema_1();
        }
        Ok(run)
    }
}

impl TrialRecord {
    /// Parameters added after schema 1 was first written are absent from
    /// older files; they meant the default then, so say so, or the same cell
    /// would get two keys (and a gate would call it missing).
    fn fill_params_added_since_schema_1(&mut self) {
        if self.workload == WorkloadKind::Foreign && self.params.foreign_load.is_none() {
            self.params.foreign_load = Some(workloads::DEFAULT_FOREIGN_LOAD);
        }
    }

    /// The samples that landed on threads of each registration class:
    /// `(registered, unregistered)`, counting weighted samples.
    pub fn weighted_by_registration(&self) -> (u64, u64) {
        self.threads_detail.iter().fold((0, 0), |(r, u), t| {
            if t.registered {
                (r + t.weighted_samples, u)
            } else {
                (r, u + t.weighted_samples)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_foreign_trials_get_the_default_load() {
        let trial = serde_json::json!({
            "mode": "hybrid", "workload": "foreign", "threads": 2, "hz": 100, "trial": 0,
            "seed": 1, "status": "ok", "cpu_ns": 1, "wall_ns": 1, "samples": 0,
            "weighted_samples": 0, "overruns": 0, "flushed": 0, "rejected": 0,
            "period_ns": 10000000, "ratio": 0.0, "lifetime_ms": null, "foreign_share": 0.5,
            "threads_spawned": 2, "threads_detail": []
        });
        let run = serde_json::json!({
            "schema": 1,
            "env": { "kernel": "k", "arch": "x86_64", "hz": 250, "hz_source": "config",
                     "hz_measured": null, "cpus": 2, "cpu_model": null,
                     "perf_event_paranoid": null, "perf_event_available": false,
                     "perf_event_error": null },
            "config": { "matrix": null, "seed": 1, "started_unix_s": 0, "profbench_version": "0" },
            "trials": [trial]
        });
        let run = RunRecord::from_json(&run.to_string()).unwrap();
        assert_eq!(
            run.trials[0].params.foreign_load,
            Some(workloads::DEFAULT_FOREIGN_LOAD)
        );
    }
}
