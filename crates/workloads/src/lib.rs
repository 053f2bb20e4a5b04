//! Deterministic CPU burners for profbench.
//!
//! A workload is sized in CPU time, not wall time: every thread burns an
//! exact budget of its own CPU clock ([`burn::burn_cpu`]), so the total CPU a
//! trial uses is known in advance and the sampler's count can be held
//! against it. Threads are created only through a [`Spawner`], the hook the
//! sampler implements to register them (or, for `foreign`, deliberately
//! not). This crate has no signal code and no `unsafe`.
//!
//! | workload      | shape                                                           |
//! |---------------|-----------------------------------------------------------------|
//! | `parallel`    | N threads, each burning CPU/N                                   |
//! | `rayon`       | a rayon pool of N threads running a parallel iterator           |
//! | `short-lived` | a churn of threads of `lifetime_ms` CPU each, at most N alive    |
//! | `bursty`      | N idle workers woken on a channel to burn `burst_ms` at a time  |
//! | `foreign`     | registered threads beside unregistered raw pthreads (busy or idle) |
//! | `imbalanced`  | one hot thread with `hot_share` of the CPU plus N−1 light ones   |

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod burn;
mod catalog;
pub mod spawn;

pub use catalog::{run, WorkloadOutcome};
pub use spawn::{SpawnError, Spawner, StdSpawner, ThreadBody, ThreadHandle, ThreadRole};

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most threads a workload may have alive at once.
pub const MAX_THREADS: usize = 1024;

/// The shapes of CPU use profbench reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// N threads spinning in parallel.
    Parallel,
    /// A rayon pool over a parallel iterator.
    Rayon,
    /// Thousands of threads that each live for a short, fixed CPU time.
    ShortLived,
    /// Mostly idle workers that wake to burn short bursts.
    Bursty,
    /// Registered threads beside threads the sampler does not know.
    Foreign,
    /// One hot thread and N−1 light ones.
    Imbalanced,
}

impl WorkloadKind {
    /// Every workload, in the order tables list them.
    pub const ALL: [WorkloadKind; 6] = [
        WorkloadKind::Parallel,
        WorkloadKind::Rayon,
        WorkloadKind::ShortLived,
        WorkloadKind::Bursty,
        WorkloadKind::Foreign,
        WorkloadKind::Imbalanced,
    ];

    /// The name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Parallel => "parallel",
            WorkloadKind::Rayon => "rayon",
            WorkloadKind::ShortLived => "short-lived",
            WorkloadKind::Bursty => "bursty",
            WorkloadKind::Foreign => "foreign",
            WorkloadKind::Imbalanced => "imbalanced",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WorkloadKind {
    type Err = WorkloadError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WorkloadKind::ALL
            .into_iter()
            .find(|w| w.name() == s.trim())
            .ok_or_else(|| WorkloadError::UnknownWorkload(s.trim().to_string()))
    }
}

/// Parameters that only some workloads take. A value given to a workload
/// that does not use it is an error; a value left out takes the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadParams {
    /// `short-lived`: CPU each thread burns before it exits, in ms.
    pub lifetime_ms: Option<f64>,
    /// `bursty`: CPU of one burst, in ms (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_ms: Option<f64>,
    /// `bursty`: fraction of wall time each worker is woken for (default 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty: Option<f64>,
    /// `imbalanced`: the hot thread's share of the CPU (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_share: Option<f64>,
    /// `foreign`: the fraction of threads that are unregistered (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_share: Option<f64>,
    /// `foreign`: the CPU an unregistered thread burns relative to a
    /// registered one (default 1: equal; 0: the unregistered threads idle,
    /// blocked until the registered ones finish, like a C library's idle
    /// helper thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_load: Option<f64>,
}

impl WorkloadParams {
    /// Every parameter with its name, in a fixed order: the one place that
    /// lists them, for labels, CSV columns and cell keys.
    pub fn named(&self) -> [(&'static str, Option<f64>); 6] {
        [
            ("lifetime_ms", self.lifetime_ms),
            ("burst_ms", self.burst_ms),
            ("duty", self.duty),
            ("hot_share", self.hot_share),
            ("foreign_share", self.foreign_share),
            ("foreign_load", self.foreign_load),
        ]
    }
}

/// Default `burst_ms` of `bursty`.
pub const DEFAULT_BURST_MS: f64 = 2.0;
/// Default `duty` of `bursty`.
pub const DEFAULT_DUTY: f64 = 0.25;
/// Default `hot_share` of `imbalanced`.
pub const DEFAULT_HOT_SHARE: f64 = 0.5;
/// Default `foreign_share` of `foreign`.
pub const DEFAULT_FOREIGN_SHARE: f64 = 0.5;
/// Default `foreign_load` of `foreign`.
pub const DEFAULT_FOREIGN_LOAD: f64 = 1.0;

/// How many of `threads` the `foreign` workload leaves unregistered: the
/// share rounded, but at least one when the share is not 0.
pub fn foreign_threads(threads: usize, foreign_share: f64) -> usize {
    let n = (threads as f64 * foreign_share).round() as usize;
    let n = if foreign_share > 0.0 { n.max(1) } else { n };
    n.min(threads)
}

/// One fully specified workload: what a trial runs.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    kind: WorkloadKind,
    threads: usize,
    cpu: Duration,
    params: WorkloadParams,
    seed: u64,
}

/// Why a workload could not be built or run.
#[derive(Debug, Error)]
pub enum WorkloadError {
    /// The name is not a workload.
    #[error(
        "unknown workload '{0}' (known: parallel, rayon, short-lived, bursty, foreign, imbalanced)"
    )]
    UnknownWorkload(String),
    /// A parameter is out of range or does not apply.
    #[error("workload '{workload}': {message}")]
    Invalid {
        /// The workload's name.
        workload: &'static str,
        /// What is wrong, naming the parameter.
        message: String,
    },
    /// A thread could not be spawned or panicked.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// rayon refused to build its pool.
    #[error("could not build the rayon pool: {0}")]
    Rayon(String),
}

fn check_range(
    workload: WorkloadKind,
    name: &str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<f64, WorkloadError> {
    if value.is_finite() && value >= min && value <= max {
        Ok(value)
    } else {
        Err(WorkloadError::Invalid {
            workload: workload.name(),
            message: format!("{name} must be within {min}..={max}, got {value}"),
        })
    }
}

impl WorkloadSpec {
    /// Validates a workload and fills in the defaults of the parameters it
    /// uses. `cpu` is the CPU time of the whole trial, over all threads.
    pub fn new(
        kind: WorkloadKind,
        threads: usize,
        cpu: Duration,
        params: WorkloadParams,
        seed: u64,
    ) -> Result<Self, WorkloadError> {
        let invalid = |message: String| WorkloadError::Invalid {
            workload: kind.name(),
            message,
        };
        if threads == 0 || threads > MAX_THREADS {
            return Err(invalid(format!(
                "threads must be within 1..={MAX_THREADS}, got {threads}"
            )));
        }
        if cpu < Duration::from_millis(1) || cpu > Duration::from_secs(3600) {
            return Err(invalid(format!(
                "CPU time must be within 1 ms..=3600 s, got {cpu:?}"
            )));
        }
        let uses = |name: &str, value: Option<f64>, used_by: WorkloadKind| {
            if value.is_some() && kind != used_by {
                Err(invalid(format!(
                    "{name} applies only to the {used_by} workload"
                )))
            } else {
                Ok(())
            }
        };
        uses("lifetime_ms", params.lifetime_ms, WorkloadKind::ShortLived)?;
        uses("burst_ms", params.burst_ms, WorkloadKind::Bursty)?;
        uses("duty", params.duty, WorkloadKind::Bursty)?;
        uses("hot_share", params.hot_share, WorkloadKind::Imbalanced)?;
        uses("foreign_share", params.foreign_share, WorkloadKind::Foreign)?;
        uses("foreign_load", params.foreign_load, WorkloadKind::Foreign)?;

        let mut resolved = params;
        match kind {
            WorkloadKind::ShortLived => {
                let lifetime = params.lifetime_ms.ok_or_else(|| {
                    invalid("needs a thread lifetime (--lifetime-ms or lifetime_ms)".into())
                })?;
                check_range(kind, "lifetime_ms", lifetime, 0.05, 60_000.0)?;
                if lifetime * 1e6 > cpu.as_nanos() as f64 {
                    return Err(invalid(format!(
                        "lifetime_ms {lifetime} exceeds the trial's CPU time {cpu:?}"
                    )));
                }
            }
            WorkloadKind::Bursty => {
                resolved.burst_ms = Some(check_range(
                    kind,
                    "burst_ms",
                    params.burst_ms.unwrap_or(DEFAULT_BURST_MS),
                    0.01,
                    10_000.0,
                )?);
                resolved.duty = Some(check_range(
                    kind,
                    "duty",
                    params.duty.unwrap_or(DEFAULT_DUTY),
                    0.001,
                    1.0,
                )?);
            }
            WorkloadKind::Imbalanced => {
                resolved.hot_share = Some(check_range(
                    kind,
                    "hot_share",
                    params.hot_share.unwrap_or(DEFAULT_HOT_SHARE),
                    0.01,
                    0.99,
                )?);
            }
            WorkloadKind::Foreign => {
                resolved.foreign_share = Some(check_range(
                    kind,
                    "foreign_share",
                    params.foreign_share.unwrap_or(DEFAULT_FOREIGN_SHARE),
                    0.0,
                    1.0,
                )?);
                let load = check_range(
                    kind,
                    "foreign_load",
                    params.foreign_load.unwrap_or(DEFAULT_FOREIGN_LOAD),
                    0.0,
                    100.0,
                )?;
                resolved.foreign_load = Some(load);
                let share = resolved.foreign_share.unwrap_or(DEFAULT_FOREIGN_SHARE);
                if load == 0.0 && foreign_threads(threads, share) == threads {
                    return Err(invalid(format!(
                        "with foreign_load 0 (idle unregistered threads) at least one of the \
                         {threads} threads must be registered: lower foreign_share"
                    )));
                }
            }
            WorkloadKind::Parallel | WorkloadKind::Rayon => {}
        }
        Ok(WorkloadSpec {
            kind,
            threads,
            cpu,
            params: resolved,
            seed,
        })
    }

    /// Which workload.
    pub fn kind(&self) -> WorkloadKind {
        self.kind
    }

    /// Threads alive at once (for `short-lived`, the most alive at once).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// CPU time of the whole trial.
    pub fn cpu(&self) -> Duration {
        self.cpu
    }

    /// The parameters, with the defaults of the ones this workload uses filled in.
    pub fn params(&self) -> WorkloadParams {
        self.params
    }

    /// The seed that fixes every random choice of the workload.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
