//! Sampling modes: the timer mechanism plus its options, as written on the
//! command line (`thread-timer+overrun+flush`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How SIGPROF is requested from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// One process-wide `ITIMER_PROF` (`setitimer`).
    Setitimer,
    /// One `timer_create(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL)`.
    ProcessTimer,
    /// One `timer_create(CLOCK_THREAD_CPUTIME_ID, SIGEV_THREAD_ID)` per registered thread.
    ThreadTimer,
    /// Go 1.18's scheme: per-thread timers plus `setitimer`, filtered by `si_code`.
    Hybrid,
    /// A `perf_event_open` task-clock counter per registered thread.
    PerfEvent,
    /// The pprof-rs crate itself, as shipped: its own `setitimer` and
    /// SIGPROF handler, its samples counted from its report. Needs the
    /// `pprof` feature to run; records naming it are read either way.
    PprofRs,
}

impl Mechanism {
    /// Every mechanism, in the order tables list them.
    pub const ALL: [Mechanism; 6] = [
        Mechanism::Setitimer,
        Mechanism::ProcessTimer,
        Mechanism::ThreadTimer,
        Mechanism::Hybrid,
        Mechanism::PerfEvent,
        Mechanism::PprofRs,
    ];

    /// The name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Setitimer => "setitimer",
            Mechanism::ProcessTimer => "process-timer",
            Mechanism::ThreadTimer => "thread-timer",
            Mechanism::Hybrid => "hybrid",
            Mechanism::PerfEvent => "perf-event",
            Mechanism::PprofRs => "pprof-rs",
        }
    }

    /// Whether this build can run the mechanism: every built-in one can;
    /// `pprof-rs` needs the `pprof` cargo feature.
    pub fn is_built(self) -> bool {
        self != Mechanism::PprofRs || cfg!(feature = "pprof")
    }

    /// Whether the mechanism is a real profiler measured as shipped, rather
    /// than profbench's own signal handler: it takes no options, and
    /// profbench installs no handler or timer of its own for it.
    pub fn is_external(self) -> bool {
        matches!(self, Mechanism::PprofRs)
    }

    /// Whether the mechanism samples each registered thread's own CPU clock
    /// (as opposed to the process's total).
    pub fn is_per_thread(self) -> bool {
        matches!(
            self,
            Mechanism::ThreadTimer | Mechanism::Hybrid | Mechanism::PerfEvent
        )
    }

    /// Whether the mechanism uses POSIX timers, whose signals carry `si_overrun`.
    pub fn has_overrun(self) -> bool {
        matches!(
            self,
            Mechanism::ProcessTimer | Mechanism::ThreadTimer | Mechanism::Hybrid
        )
    }

    /// Whether the first expiry can be randomised (per-thread POSIX timers only).
    pub fn has_jitter(self) -> bool {
        matches!(self, Mechanism::ThreadTimer | Mechanism::Hybrid)
    }

    /// Whether missed expiries can be counted from a clock when the timer
    /// ends (the clock the timer follows is readable and its schedule known).
    pub fn can_flush(self) -> bool {
        !matches!(self, Mechanism::Setitimer | Mechanism::PprofRs)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options written as `+suffix` after the mechanism.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Options {
    /// `+nojitter`: the first expiry is one full period, not uniform in (0, period].
    pub nojitter: bool,
    /// `+overrun`: each timer sample weighs `1 + si_overrun`.
    pub overrun: bool,
    /// `+flush`: expiries that were due when a timer ended but never delivered are counted.
    pub flush: bool,
}

/// A mechanism with its options: one value of `--modes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mode {
    /// How signals are requested.
    pub mechanism: Mechanism,
    /// What the handler and the session add on top.
    pub options: Options,
}

/// Why a mode string was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModeError {
    /// The part before the first `+` is not a mechanism.
    #[error(
        "unknown mode '{0}' (known: setitimer, process-timer, thread-timer, hybrid, perf-event, pprof-rs)"
    )]
    UnknownMechanism(String),
    /// A mechanism this build cannot run (`pprof-rs` without the `pprof` feature).
    #[error("mode '{0}' is unavailable: profbench was built without the pprof feature (rebuild with `--features pprof`, which is on by default)")]
    NotBuilt(String),
    /// A `+suffix` is not an option.
    #[error("unknown option '+{option}' in mode '{mode}' (known: +nojitter, +overrun, +flush)")]
    UnknownOption {
        /// The whole mode string.
        mode: String,
        /// The unknown suffix.
        option: String,
    },
    /// The same option twice.
    #[error("option '+{option}' repeated in mode '{mode}'")]
    Repeated {
        /// The whole mode string.
        mode: String,
        /// The repeated suffix.
        option: String,
    },
    /// An option the mechanism cannot honour.
    #[error("mode '{mode}': {reason}")]
    Meaningless {
        /// The whole mode string.
        mode: String,
        /// Why the option does not apply.
        reason: &'static str,
    },
}

impl Mode {
    /// A mode without options.
    pub const fn plain(mechanism: Mechanism) -> Mode {
        Mode {
            mechanism,
            options: Options {
                nojitter: false,
                overrun: false,
                flush: false,
            },
        }
    }

    /// Whether any option changes `weighted_samples` away from `samples`.
    pub fn weights_samples(&self) -> bool {
        self.options.overrun || self.options.flush
    }
}

impl FromStr for Mode {
    type Err = ModeError;

    /// Parses a mode to run: a mechanism this build lacks is refused
    /// ([`ModeError::NotBuilt`]). Reading a record accepts it (see
    /// `Deserialize`), so a run file from another build still loads.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mode = Mode::parse_any(s)?;
        if !mode.mechanism.is_built() {
            return Err(ModeError::NotBuilt(s.trim().to_string()));
        }
        Ok(mode)
    }
}

impl Mode {
    /// Parses a mode whether or not this build can run it.
    pub fn parse_any(s: &str) -> Result<Mode, ModeError> {
        let s = s.trim();
        let mut parts = s.split('+');
        let head = parts.next().unwrap_or_default();
        let mechanism = Mechanism::ALL
            .into_iter()
            .find(|m| m.name() == head)
            .ok_or_else(|| ModeError::UnknownMechanism(head.to_string()))?;
        let mut options = Options::default();
        for part in parts {
            let flag = match part {
                "nojitter" => &mut options.nojitter,
                "overrun" => &mut options.overrun,
                "flush" => &mut options.flush,
                other => {
                    return Err(ModeError::UnknownOption {
                        mode: s.to_string(),
                        option: other.to_string(),
                    })
                }
            };
            if *flag {
                return Err(ModeError::Repeated {
                    mode: s.to_string(),
                    option: part.to_string(),
                });
            }
            *flag = true;
        }
        let meaningless = |reason| ModeError::Meaningless {
            mode: s.to_string(),
            reason,
        };
        if mechanism.is_external() && options != Options::default() {
            return Err(meaningless(
                "pprof-rs is measured as shipped and takes no options \
                 (it arms its own setitimer; overruns, jitter and flushes are not its to give)",
            ));
        }
        if options.nojitter && !mechanism.has_jitter() {
            return Err(meaningless(
                "+nojitter applies only to per-thread POSIX timers (thread-timer, hybrid); \
                 this mechanism's first expiry is always one full period",
            ));
        }
        if options.overrun && !mechanism.has_overrun() {
            return Err(meaningless(
                "+overrun needs POSIX timer signals, which carry si_overrun \
                 (process-timer, thread-timer, hybrid)",
            ));
        }
        if options.flush && !mechanism.can_flush() {
            return Err(meaningless(
                "+flush needs a timer whose schedule and clock are known when it ends; \
                 setitimer merges lost signals without a trace",
            ));
        }
        Ok(Mode { mechanism, options })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mechanism.name())?;
        // Canonical order, whatever order the user wrote.
        if self.options.nojitter {
            f.write_str("+nojitter")?;
        }
        if self.options.overrun {
            f.write_str("+overrun")?;
        }
        if self.options.flush {
            f.write_str("+flush")?;
        }
        Ok(())
    }
}

impl Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Mode::parse_any(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        let m: Mode = "thread-timer+flush+overrun".parse().unwrap();
        assert_eq!(m.mechanism, Mechanism::ThreadTimer);
        assert!(m.options.flush && m.options.overrun && !m.options.nojitter);
        assert_eq!(m.to_string(), "thread-timer+overrun+flush");
        for name in [
            "setitimer",
            "process-timer",
            "thread-timer",
            "hybrid",
            "perf-event",
        ] {
            assert_eq!(name.parse::<Mode>().unwrap().to_string(), name);
        }
        assert_eq!(
            Mode::parse_any("pprof-rs").unwrap(),
            Mode::plain(Mechanism::PprofRs)
        );
    }

    #[test]
    fn rejects_unknown_and_meaningless() {
        assert_eq!(
            "itimer".parse::<Mode>(),
            Err(ModeError::UnknownMechanism("itimer".into()))
        );
        assert!(matches!(
            "thread-timer+fast".parse::<Mode>(),
            Err(ModeError::UnknownOption { .. })
        ));
        assert!(matches!(
            "thread-timer+flush+flush".parse::<Mode>(),
            Err(ModeError::Repeated { .. })
        ));
        for bad in [
            "setitimer+overrun",
            "setitimer+flush",
            "setitimer+nojitter",
            "process-timer+nojitter",
            "perf-event+overrun",
            "perf-event+nojitter",
            "pprof-rs+overrun",
            "pprof-rs+flush",
            "pprof-rs+nojitter",
        ] {
            assert!(
                matches!(bad.parse::<Mode>(), Err(ModeError::Meaningless { .. })),
                "{bad} should be refused"
            );
        }
        for good in [
            "process-timer+overrun+flush",
            "hybrid+nojitter+overrun+flush",
            "perf-event+flush",
        ] {
            assert!(good.parse::<Mode>().is_ok(), "{good} should parse");
        }
    }

    #[test]
    fn serde_round_trip() {
        let m: Mode = "hybrid+overrun".parse().unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"hybrid+overrun\"");
        assert_eq!(serde_json::from_str::<Mode>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Mode>("\"nope\"").is_err());
    }

    #[cfg(feature = "pprof")]
    #[test]
    fn pprof_rs_parses_without_options() {
        let m: Mode = "pprof-rs".parse().unwrap();
        assert_eq!(m, Mode::plain(Mechanism::PprofRs));
        assert_eq!(m.to_string(), "pprof-rs");
        assert!(!m.weights_samples());
        let e = "pprof-rs+overrun".parse::<Mode>().unwrap_err();
        assert!(e.to_string().contains("takes no options"), "{e}");
    }

    #[cfg(not(feature = "pprof"))]
    #[test]
    fn pprof_rs_needs_the_feature_to_run_but_not_to_be_read() {
        let e = "pprof-rs".parse::<Mode>().unwrap_err();
        assert_eq!(e, ModeError::NotBuilt("pprof-rs".into()));
        assert!(e.to_string().contains("built without the pprof feature"));
        // A run file from a build that had it still loads.
        let m: Mode = serde_json::from_str("\"pprof-rs\"").unwrap();
        assert_eq!(m.mechanism, Mechanism::PprofRs);
    }
}
