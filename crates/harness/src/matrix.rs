//! Trial matrices: which cells to run and how often.
//!
//! A matrix is a TOML file (the presets live in `matrices/` at the
//! repository root and are built in as `quick`, `default` and `full`):
//!
//! ```toml
//! description = "what this matrix is for"
//! cpu_seconds = 1.0   # CPU time of one trial, all its threads together
//! trials = 3          # repetitions of every cell
//! seed = 1            # every trial's seed derives from it
//!
//! [[group]]           # the cross product of its lists; any number of groups
//! name = "rate cap"   # optional, for humans
//! modes = ["setitimer", "thread-timer+overrun"]
//! workloads = ["parallel", "short-lived"]
//! threads = [1, 2, "cores", "2*cores", "cores/2"]
//! hz = [100, 1000]
//! cpu_seconds = 2.0   # optional, overrides the top-level value
//! lifetime_ms = [1, 10]        # short-lived only
//! burst_ms = [2.0]             # bursty only
//! duty = [0.25]                # bursty only
//! hot_share = [0.5]            # imbalanced only
//! foreign_share = [0.5]        # foreign only
//! foreign_load = [1, 0]        # foreign only: 0 = the unregistered threads idle
//! ```
//!
//! Workload parameters apply only to the workloads that take them, so a
//! group may mix workloads. Unknown keys, unknown modes or workloads, and
//! out-of-range values are errors that name the line. Cells that two groups
//! share run once. Trials run trial-major (every cell once, then every cell
//! again), so slow drift on a shared machine spreads over all cells instead
//! of biasing the last ones.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use thiserror::Error;
use workloads::{WorkloadKind, WorkloadParams, MAX_THREADS};

use crate::mode::Mode;
use crate::runner::TrialSpec;
use crate::sampler::MAX_HZ;

/// Most trials per cell a matrix may ask for.
pub const MAX_TRIALS: u32 = 1000;

/// The built-in presets: name, TOML text.
pub const PRESETS: [(&str, &str); 3] = [
    ("quick", include_str!("../../../matrices/quick.toml")),
    ("default", include_str!("../../../matrices/default.toml")),
    ("full", include_str!("../../../matrices/full.toml")),
];

/// Why a matrix could not be read or expanded.
#[derive(Debug, Error)]
pub enum MatrixError {
    /// Not valid TOML, an unknown key, or a bad value; the message names the line.
    #[error("matrix {origin}: {message}")]
    Parse {
        /// The preset name or file path.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value that is valid alone but not in its group.
    #[error("matrix {origin}, group {group}: {message}")]
    Group {
        /// The preset name or file path.
        origin: String,
        /// The group's name or index.
        group: String,
        /// What is wrong.
        message: String,
    },
    /// A command-line value that is out of range.
    #[error("{0}")]
    Override(String),
}

/// A thread count: a number or a multiple of the machine's cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadCount {
    /// Exactly this many.
    Fixed(usize),
    /// `num/den × cores`, at least 1.
    Cores {
        /// Multiplier.
        num: usize,
        /// Divisor.
        den: usize,
    },
}

impl ThreadCount {
    /// The count on a machine with `cpus` cores.
    pub fn resolve(self, cpus: usize) -> usize {
        match self {
            ThreadCount::Fixed(n) => n,
            ThreadCount::Cores { num, den } => (cpus * num / den).max(1),
        }
    }
}

impl std::str::FromStr for ThreadCount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().replace(' ', "");
        let bad =
            || format!("'{s}' is not a thread count (a number, 'cores', 'K*cores' or 'cores/K')");
        if let Ok(n) = t.parse::<usize>() {
            return if (1..=MAX_THREADS).contains(&n) {
                Ok(ThreadCount::Fixed(n))
            } else {
                Err(format!("threads must be within 1..={MAX_THREADS}, got {n}"))
            };
        }
        let positive = |v: &str| v.parse::<usize>().ok().filter(|&k| (1..=64).contains(&k));
        if t == "cores" {
            Ok(ThreadCount::Cores { num: 1, den: 1 })
        } else if let Some(k) = t.strip_suffix("*cores") {
            positive(k)
                .map(|num| ThreadCount::Cores { num, den: 1 })
                .ok_or_else(bad)
        } else if let Some(k) = t.strip_prefix("cores/") {
            positive(k)
                .map(|den| ThreadCount::Cores { num: 1, den })
                .ok_or_else(bad)
        } else {
            Err(bad())
        }
    }
}

impl<'de> Deserialize<'de> for ThreadCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Number(n) => n.to_string(),
            Raw::Text(s) => s,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn de_hz<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    let list = Vec::<i64>::deserialize(d)?;
    list.into_iter()
        .map(|hz| {
            u32::try_from(hz)
                .ok()
                .filter(|hz| (1..=MAX_HZ).contains(hz))
                .ok_or_else(|| {
                    serde::de::Error::custom(format!("hz must be within 1..={MAX_HZ}, got {hz}"))
                })
        })
        .collect()
}

fn positive_list<'de, D: Deserializer<'de>>(
    d: D,
    name: &str,
    max: f64,
) -> Result<Vec<f64>, D::Error> {
    let list = Vec::<f64>::deserialize(d)?;
    for &v in &list {
        if !(v.is_finite() && v > 0.0 && v <= max) {
            return Err(serde::de::Error::custom(format!(
                "{name} values must be within (0, {max}], got {v}"
            )));
        }
    }
    Ok(list)
}

fn de_lifetimes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    positive_list(d, "lifetime_ms", 60_000.0)
}
fn de_burst<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    positive_list(d, "burst_ms", 10_000.0)
}
fn de_share<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    positive_list(d, "share", 1.0)
}

fn de_load<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let list = Vec::<f64>::deserialize(d)?;
    for &v in &list {
        if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
            return Err(serde::de::Error::custom(format!(
                "foreign_load values must be within [0, 100], got {v}"
            )));
        }
    }
    Ok(list)
}

fn de_cpu_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = f64::deserialize(d)?;
    check_cpu_seconds(v)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn de_trials<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = i64::deserialize(d)?;
    check_trials(v).map(Some).map_err(serde::de::Error::custom)
}

/// Checks a `cpu_seconds` value: within 0.001..=3600.
pub fn check_cpu_seconds(v: f64) -> Result<f64, String> {
    if v.is_finite() && (0.001..=3600.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("cpu_seconds must be within 0.001..=3600, got {v}"))
    }
}

/// Checks a `trials` value: within 1..=[`MAX_TRIALS`].
pub fn check_trials(v: i64) -> Result<u32, String> {
    u32::try_from(v)
        .ok()
        .filter(|t| (1..=MAX_TRIALS).contains(t))
        .ok_or_else(|| format!("trials must be within 1..={MAX_TRIALS}, got {v}"))
}

/// One cross product of a matrix.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// A name for humans.
    #[serde(default)]
    pub name: Option<String>,
    /// Modes.
    #[serde(default)]
    pub modes: Vec<Mode>,
    /// Workloads.
    #[serde(default)]
    pub workloads: Vec<WorkloadKind>,
    /// Thread counts.
    #[serde(default)]
    pub threads: Vec<ThreadCount>,
    /// Rates, Hz.
    #[serde(default, deserialize_with = "de_hz")]
    pub hz: Vec<u32>,
    /// CPU seconds per trial, overriding the matrix's.
    #[serde(default, deserialize_with = "de_cpu_seconds")]
    pub cpu_seconds: Option<f64>,
    /// `short-lived` lifetimes, ms.
    #[serde(default, deserialize_with = "de_lifetimes")]
    pub lifetime_ms: Vec<f64>,
    /// `bursty` burst lengths, ms.
    #[serde(default, deserialize_with = "de_burst")]
    pub burst_ms: Vec<f64>,
    /// `bursty` duty cycles.
    #[serde(default, deserialize_with = "de_share")]
    pub duty: Vec<f64>,
    /// `imbalanced` hot-thread shares.
    #[serde(default, deserialize_with = "de_share")]
    pub hot_share: Vec<f64>,
    /// `foreign` unregistered fractions.
    #[serde(default, deserialize_with = "de_share")]
    pub foreign_share: Vec<f64>,
    /// `foreign` loads of an unregistered thread relative to a registered one (0: idle).
    #[serde(default, deserialize_with = "de_load")]
    pub foreign_load: Vec<f64>,
}

/// A whole matrix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    /// The preset name or file path (not read from the file).
    #[serde(skip)]
    pub origin: String,
    /// What the matrix is for.
    #[serde(default)]
    pub description: Option<String>,
    /// CPU seconds per trial.
    #[serde(default, deserialize_with = "de_cpu_seconds")]
    pub cpu_seconds: Option<f64>,
    /// Repetitions per cell.
    #[serde(default, deserialize_with = "de_trials")]
    pub trials: Option<u32>,
    /// The run's seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The cross products.
    #[serde(default, rename = "group")]
    pub groups: Vec<Group>,
}

/// Command-line values that replace the matrix's, in every group.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--modes`.
    pub modes: Option<Vec<Mode>>,
    /// `--workloads`.
    pub workloads: Option<Vec<WorkloadKind>>,
    /// `--threads`.
    pub threads: Option<Vec<ThreadCount>>,
    /// `--hz`.
    pub hz: Option<Vec<u32>>,
    /// `--lifetime-ms`.
    pub lifetime_ms: Option<Vec<f64>>,
    /// `--cpu-seconds`.
    pub cpu_seconds: Option<f64>,
    /// `--trials`.
    pub trials: Option<u32>,
    /// `--seed`.
    pub seed: Option<u64>,
}

impl Overrides {
    /// Whether any list (what to run, not how long) is given.
    pub fn has_lists(&self) -> bool {
        self.modes.is_some()
            || self.workloads.is_some()
            || self.threads.is_some()
            || self.hz.is_some()
            || self.lifetime_ms.is_some()
    }
}

/// Defaults of a matrix built from flags alone.
pub const DEFAULT_CPU_SECONDS: f64 = 2.0;
/// Default repetitions per cell.
pub const DEFAULT_TRIALS: u32 = 3;
/// Default run seed.
pub const DEFAULT_SEED: u64 = 1;

impl Matrix {
    /// Parses a matrix file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Matrix, MatrixError> {
        let mut matrix: Matrix = toml::from_str(text).map_err(|e| MatrixError::Parse {
            origin: origin.to_string(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        matrix.origin = origin.to_string();
        if matrix.groups.is_empty() {
            return Err(MatrixError::Parse {
                origin: origin.to_string(),
                message: "no [[group]] tables: the matrix has no cells".into(),
            });
        }
        Ok(matrix)
    }

    /// A built-in preset by name.
    pub fn preset(name: &str) -> Option<Matrix> {
        PRESETS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Matrix::parse(text, n).expect("built-in matrices parse"))
    }

    /// A matrix of one group made from command-line lists, with defaults
    /// for what is not given: the three starting modes on `parallel`, 1, 2
    /// and 4 threads, 100 and 1000 Hz.
    pub fn from_flags() -> Matrix {
        Matrix {
            origin: "command line".into(),
            description: None,
            cpu_seconds: None,
            trials: None,
            seed: None,
            groups: vec![Group {
                modes: ["setitimer", "thread-timer", "hybrid"]
                    .map(|m| m.parse().expect("known modes"))
                    .to_vec(),
                workloads: vec![WorkloadKind::Parallel],
                threads: [1, 2, 4].map(ThreadCount::Fixed).to_vec(),
                hz: vec![100, 1000],
                ..Group::default()
            }],
        }
    }

    /// Replaces the matrix's values with the command line's.
    pub fn apply(&mut self, o: &Overrides) {
        for g in &mut self.groups {
            if let Some(v) = &o.modes {
                g.modes = v.clone();
            }
            if let Some(v) = &o.workloads {
                g.workloads = v.clone();
            }
            if let Some(v) = &o.threads {
                g.threads = v.clone();
            }
            if let Some(v) = &o.hz {
                g.hz = v.clone();
            }
            if let Some(v) = &o.lifetime_ms {
                g.lifetime_ms = v.clone();
            }
            if o.cpu_seconds.is_some() {
                g.cpu_seconds = None;
            }
        }
        if o.cpu_seconds.is_some() {
            self.cpu_seconds = o.cpu_seconds;
        }
        if o.trials.is_some() {
            self.trials = o.trials;
        }
        if o.seed.is_some() {
            self.seed = o.seed;
        }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or(DEFAULT_SEED)
    }

    /// Every trial, in the order to run them, for a machine with `cpus` cores.
    pub fn expand(&self, cpus: usize) -> Result<Vec<TrialSpec>, MatrixError> {
        let trials = self.trials.unwrap_or(DEFAULT_TRIALS);
        let mut cells: Vec<TrialSpec> = Vec::new();
        let mut seen = HashSet::new();
        for (index, group) in self.groups.iter().enumerate() {
            let group_name = group
                .name
                .clone()
                .unwrap_or_else(|| format!("#{}", index + 1));
            let err = |message: String| MatrixError::Group {
                origin: self.origin.clone(),
                group: group_name.clone(),
                message,
            };
            for (name, empty) in [
                ("modes", group.modes.is_empty()),
                ("workloads", group.workloads.is_empty()),
                ("threads", group.threads.is_empty()),
                ("hz", group.hz.is_empty()),
            ] {
                if empty {
                    return Err(err(format!("'{name}' is missing or empty")));
                }
            }
            let uses = |kind: WorkloadKind| group.workloads.contains(&kind);
            for (name, given, kind) in [
                (
                    "lifetime_ms",
                    !group.lifetime_ms.is_empty(),
                    WorkloadKind::ShortLived,
                ),
                ("burst_ms", !group.burst_ms.is_empty(), WorkloadKind::Bursty),
                ("duty", !group.duty.is_empty(), WorkloadKind::Bursty),
                (
                    "hot_share",
                    !group.hot_share.is_empty(),
                    WorkloadKind::Imbalanced,
                ),
                (
                    "foreign_share",
                    !group.foreign_share.is_empty(),
                    WorkloadKind::Foreign,
                ),
                (
                    "foreign_load",
                    !group.foreign_load.is_empty(),
                    WorkloadKind::Foreign,
                ),
            ] {
                if given && !uses(kind) {
                    return Err(err(format!(
                        "{name} is given but no workload of the group is {kind}"
                    )));
                }
            }
            if uses(WorkloadKind::ShortLived) && group.lifetime_ms.is_empty() {
                return Err(err("short-lived needs lifetime_ms (--lifetime-ms)".into()));
            }
            let cpu = Duration::from_secs_f64(
                group
                    .cpu_seconds
                    .or(self.cpu_seconds)
                    .unwrap_or(DEFAULT_CPU_SECONDS),
            );
            for &workload in &group.workloads {
                for params in param_variants(group, workload) {
                    for &threads in &group.threads {
                        for &hz in &group.hz {
                            for &mode in &group.modes {
                                let spec = TrialSpec {
                                    mode,
                                    workload,
                                    threads: threads.resolve(cpus),
                                    hz,
                                    cpu,
                                    params,
                                    trial: 0,
                                    seed: 0,
                                };
                                spec.workload_spec().map_err(|e| err(e.to_string()))?;
                                if seen.insert(cell_key(&spec)) {
                                    cells.push(spec);
                                }
                            }
                        }
                    }
                }
            }
        }
        let run_seed = self.seed();
        let mut specs = Vec::with_capacity(cells.len() * trials as usize);
        for trial in 0..trials {
            for (cell, spec) in cells.iter().enumerate() {
                specs.push(TrialSpec {
                    trial,
                    seed: trial_seed(run_seed, cell as u64, u64::from(trial)),
                    ..spec.clone()
                });
            }
        }
        Ok(specs)
    }
}

/// How a matrix list sets one workload parameter.
type ParamSetter = fn(&mut WorkloadParams, f64);

fn param_variants(group: &Group, workload: WorkloadKind) -> Vec<WorkloadParams> {
    let lists: Vec<(&[f64], ParamSetter)> = match workload {
        WorkloadKind::ShortLived => vec![(&group.lifetime_ms, |p, v| p.lifetime_ms = Some(v))],
        WorkloadKind::Bursty => vec![
            (&group.burst_ms, |p, v| p.burst_ms = Some(v)),
            (&group.duty, |p, v| p.duty = Some(v)),
        ],
        WorkloadKind::Imbalanced => vec![(&group.hot_share, |p, v| p.hot_share = Some(v))],
        WorkloadKind::Foreign => vec![
            (&group.foreign_share, |p, v| p.foreign_share = Some(v)),
            (&group.foreign_load, |p, v| p.foreign_load = Some(v)),
        ],
        WorkloadKind::Parallel | WorkloadKind::Rayon => vec![],
    };
    // The cross product of the lists given; a list left empty keeps the default.
    let mut variants = vec![WorkloadParams::default()];
    for (values, set) in lists.into_iter().filter(|(values, _)| !values.is_empty()) {
        variants = variants
            .iter()
            .flat_map(|base| {
                values.iter().map(move |&v| {
                    let mut p = *base;
                    set(&mut p, v);
                    p
                })
            })
            .collect();
    }
    variants
}

fn cell_key(s: &TrialSpec) -> (Mode, WorkloadKind, usize, u32, u128, [Option<u64>; 6]) {
    (
        s.mode,
        s.workload,
        s.threads,
        s.hz,
        s.cpu.as_nanos(),
        s.params.named().map(|(_, v)| v.map(f64::to_bits)),
    )
}

/// SplitMix64 of (run seed, cell, trial): independent-looking seeds that
/// depend only on the trial's place in the matrix.
fn trial_seed(run: u64, cell: u64, trial: u64) -> u64 {
    let mut z = run
        .wrapping_add(cell.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(trial.wrapping_mul(0xD1B5_4A32_D192_ED69));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_expand() {
        for (name, _) in PRESETS {
            let m = Matrix::preset(name).unwrap();
            let trials = m.expand(2).unwrap();
            assert!(!trials.is_empty(), "{name}");
        }
    }

    #[test]
    fn expansion_is_deterministic_and_trial_major() {
        let text = r#"
            trials = 2
            [[group]]
            modes = ["setitimer", "thread-timer"]
            workloads = ["parallel", "short-lived"]
            threads = [1, "cores"]
            hz = [100]
            lifetime_ms = [1, 10]
        "#;
        let m = Matrix::parse(text, "t").unwrap();
        let a = m.expand(4).unwrap();
        let b = m.expand(4).unwrap();
        assert_eq!(a, b);
        // parallel: 2 modes × 2 thread counts; short-lived: × 2 lifetimes.
        assert_eq!(a.len(), 2 * (4 + 8));
        assert!(a[..12].iter().all(|t| t.trial == 0));
        assert!(a.iter().any(|t| t.threads == 4));
        assert!(a
            .iter()
            .filter(|t| t.workload == WorkloadKind::Parallel)
            .all(|t| t.params.lifetime_ms.is_none()));
        let seeds: HashSet<u64> = a.iter().map(|t| t.seed).collect();
        assert_eq!(seeds.len(), a.len(), "every trial gets its own seed");
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("[[group]]\nmodes = [\"setitimer\"]\nworkloads = [\"parallel\"]\nthreads = [1]\nhz = [100]\nbogus = 1\n", "line 6"),
            ("[[group]]\nmodes = [\"itimer\"]\n", "line 2"),
            ("[[group]]\nmodes = [\"setitimer\"]\nworkloads = [\"parallel\"]\nthreads = [0]\n", "line 4"),
            ("[[group]]\nhz = [0]\n", "line 2"),
            ("trials = 0\n[[group]]\n", "line 1"),
            ("[[group]]\nworkloads = [\"spinning\"]\n", "line 2"),
        ];
        for (text, want) in cases {
            let e = Matrix::parse(text, "m.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should mention {want}");
        }
    }

    #[test]
    fn group_level_errors() {
        let text = "[[group]]\nmodes = [\"setitimer\"]\nworkloads = [\"parallel\"]\nthreads = [1]\nhz = [100]\nlifetime_ms = [1]\n";
        let e = Matrix::parse(text, "m")
            .unwrap()
            .expand(2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lifetime_ms"), "{e}");
        let text = "[[group]]\nmodes = [\"setitimer\"]\nworkloads = [\"short-lived\"]\nthreads = [1]\nhz = [100]\n";
        let e = Matrix::parse(text, "m")
            .unwrap()
            .expand(2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lifetime_ms"), "{e}");
    }

    #[test]
    fn thread_counts() {
        assert_eq!("cores".parse::<ThreadCount>().unwrap().resolve(16), 16);
        assert_eq!("2*cores".parse::<ThreadCount>().unwrap().resolve(16), 32);
        assert_eq!("cores/4".parse::<ThreadCount>().unwrap().resolve(2), 1);
        assert!("x".parse::<ThreadCount>().is_err());
        assert!("0".parse::<ThreadCount>().is_err());
        assert!("5000".parse::<ThreadCount>().is_err());
    }

    #[test]
    fn overrides_replace_lists() {
        let mut m = Matrix::preset("quick").unwrap();
        m.apply(&Overrides {
            modes: Some(vec!["thread-timer".parse().unwrap()]),
            trials: Some(1),
            ..Default::default()
        });
        let t = m.expand(2).unwrap();
        assert!(t
            .iter()
            .all(|t| t.mode.to_string() == "thread-timer" && t.trial == 0));
    }
}
