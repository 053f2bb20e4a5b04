//! Runs one trial: a workload under a sampling session, turned into a record.

use std::time::Duration;

use workloads::{WorkloadKind, WorkloadParams, WorkloadSpec};

use crate::mode::Mode;
use crate::record::{ratio, TrialRecord, TrialStatus};
use crate::sampler::{period_ns, SamplerError, Session, SessionConfig};

/// Everything that defines a trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialSpec {
    /// Sampling mode.
    pub mode: Mode,
    /// Workload.
    pub workload: WorkloadKind,
    /// Threads alive at once.
    pub threads: usize,
    /// Sampling rate, Hz.
    pub hz: u32,
    /// CPU time of the whole trial.
    pub cpu: Duration,
    /// Workload parameters (validated by [`TrialSpec::workload_spec`]).
    pub params: WorkloadParams,
    /// Repetition index within its cell.
    pub trial: u32,
    /// The trial's seed.
    pub seed: u64,
}

impl TrialSpec {
    /// The workload this trial runs, validated.
    pub fn workload_spec(&self) -> Result<WorkloadSpec, workloads::WorkloadError> {
        WorkloadSpec::new(
            self.workload,
            self.threads,
            self.cpu,
            self.params,
            self.seed,
        )
    }

    fn record(
        &self,
        params: WorkloadParams,
        status: TrialStatus,
        error: Option<String>,
    ) -> TrialRecord {
        TrialRecord {
            mode: self.mode,
            workload: self.workload,
            threads: self.threads,
            hz: self.hz,
            trial: self.trial,
            seed: self.seed,
            status,
            error,
            cpu_ns: 0,
            wall_ns: 0,
            samples: 0,
            weighted_samples: 0,
            overruns: 0,
            flushed: 0,
            rejected: 0,
            period_ns: period_ns(self.hz),
            ratio: None,
            params,
            threads_spawned: 0,
            threads_detail: Vec::new(),
        }
    }
}

/// Runs a trial. It never fails as a whole: a mode that cannot run here is
/// `unavailable`, a trial that broke is `failed`, each with the reason.
pub fn run_trial(spec: &TrialSpec) -> TrialRecord {
    let workload = match spec.workload_spec() {
        Ok(w) => w,
        Err(e) => return spec.record(spec.params, TrialStatus::Failed, Some(e.to_string())),
    };
    let params = workload.params();
    let session = match Session::start(SessionConfig {
        mode: spec.mode,
        hz: spec.hz,
        seed: spec.seed,
    }) {
        Ok(s) => s,
        Err(e @ SamplerError::Unavailable { .. }) => {
            return spec.record(params, TrialStatus::Unavailable, Some(e.to_string()))
        }
        Err(e) => return spec.record(params, TrialStatus::Failed, Some(e.to_string())),
    };
    let outcome = workloads::run(&workload, &session.spawner());
    let measured = match session.finish() {
        Ok(m) => m,
        Err(e) => return spec.record(params, TrialStatus::Failed, Some(e.to_string())),
    };
    let mut record = spec.record(params, TrialStatus::Ok, None);
    let mut errors = measured.errors;
    match outcome {
        Ok(o) => record.threads_spawned = o.threads_spawned,
        Err(e) => errors.insert(0, format!("workload failed: {e}")),
    }
    if !errors.is_empty() {
        record.status = TrialStatus::Failed;
        record.error = Some(errors.join("; "));
    }
    record.cpu_ns = measured.cpu_ns;
    record.wall_ns = measured.wall_ns;
    record.samples = measured.samples;
    record.weighted_samples = measured.weighted_samples;
    record.overruns = measured.overruns;
    record.flushed = measured.flushed;
    record.rejected = measured.rejected;
    record.ratio = ratio(measured.weighted_samples, record.period_ns, measured.cpu_ns);
    record.threads_detail = measured.threads;
    record
}
