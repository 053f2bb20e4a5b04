//! profbench's sampler and trial runner.
//!
//! - [`mode`]: the sampling modes (`setitimer`, `process-timer`,
//!   `thread-timer`, `hybrid`, `perf-event`, and `pprof-rs`, the real
//!   crate) and their options.
//! - [`sampler`]: a sampling [`Session`](sampler::Session): the SIGPROF
//!   handler, per-thread registration through the workloads' spawn hook,
//!   timers armed and deleted with their threads, the previous SIGPROF
//!   action and `ITIMER_PROF` restored.
//! - [`clock`]: ground truth (`getrusage`, the CPU clocks).
//! - [`runner`]: one trial, from spec to [`record::TrialRecord`].
//! - [`matrix`]: the trial matrices (`quick`, `default`, `full`, TOML files).
//! - [`env`]: the environment block (kernel, HZ, CPUs, perf support).
//! - [`record`]: the `run.json` format, owned here because this crate produces it.
//! - [`pprof_rs`]: pprof-rs run as shipped, for the `pprof-rs` mode and for
//!   profiling a whole process ([`pprof_rs::SelfProfiler`]); needs the
//!   `pprof` feature (on by default).
//! - [`pprof_proto`]: reading pprof `profile.proto` files, gzipped or not.
//! - [`probe`]: tools to measure the sampler itself (benches, reliability tests).
//!
//! All `unsafe` lives in the private `ffi` module; the signal handler's
//! counting code (`counters`) is safe Rust over static atomics.

#![deny(missing_docs)]

pub mod clock;
mod counters;
pub mod env;
mod ffi;
pub mod matrix;
pub mod mode;
pub mod pprof_proto;
pub mod pprof_rs;
pub mod probe;
pub mod record;
pub mod runner;
pub mod sampler;

pub use counters::stray_signals;
pub use ffi::{current_sigprof_handler, itimer_prof, ItimerSetting};
pub use mode::{Mechanism, Mode, ModeError, Options};
pub use record::{RunRecord, ThreadKind, ThreadRecord, TrialRecord, TrialStatus};
pub use runner::{run_trial, TrialSpec};
pub use sampler::{Measurement, SamplerError, Session, SessionConfig, SessionSpawner};
