//! pprof-rs, measured as shipped.
//!
//! The `pprof-rs` mode does not emulate pprof-rs: it runs the `pprof` crate
//! itself (`ProfilerGuardBuilder` with the blocklist its README recommends,
//! its own `setitimer(ITIMER_PROF)` and its own SIGPROF handler) and counts
//! the samples of its report. profbench only registers the workload's
//! threads (to measure each one's CPU) and maps pprof-rs's per-thread counts
//! onto them afterwards.
//!
//! [`SelfProfiler`] is the same profiler for `profbench burn --pprof`: it
//! profiles the calling process and returns the profile pprof-rs writes
//! (`Report::pprof`, encoded as `profile.proto`), so `profbench external`
//! can check pprof-rs's output end to end.
//!
//! The period is the one pprof-rs writes into its profiles, `1e9 / hz` ns,
//! so a ratio is what a user of its profile would read. Its timer really
//! runs every `floor(1e6 / hz)` µs, which is shorter when `hz` does not
//! divide 10⁶ (333 µs for 3000 Hz: its profile over-reports by 0.1 %); the
//! ratio shows that too.
//!
//! Everything here needs the `pprof` cargo feature; without it the same API
//! exists and every start returns [`SamplerError::Unavailable`].

use std::collections::HashMap;
use std::time::Instant;

use crate::clock::rusage_self_cpu_ns;
use crate::ffi::{self, SavedSigprofAction};
use crate::mode::{Mechanism, Mode};
use crate::sampler::{period_ns, SamplerError, SessionLock, MAX_HZ};

/// The shared libraries pprof-rs is told to skip, as its README recommends:
/// unwinding from a PC inside them can deadlock (libgcc's unwinder) or crash.
/// A sample whose PC lies in one is dropped by pprof-rs, so the CPU the
/// workloads spend reading their clock (`clock_gettime` of a CPU clock, a
/// system call made from the vDSO) costs pprof-rs that share of its
/// samples: part of what is measured. On the 2-core VM this was written on,
/// one thread at 100 Hz, 3 × 2 trials of 2 CPU s alternating builds: ratio
/// 0.977–0.990 with this list, 1.010–1.040 with none.
pub const BLOCKLIST: [&str; 4] = ["libc", "libgcc", "pthread", "vdso"];

#[cfg_attr(not(feature = "pprof"), allow(dead_code))]
fn pprof_error(what: &'static str) -> impl FnOnce(String) -> SamplerError {
    move |message| SamplerError::Pprof { what, message }
}

fn not_built() -> SamplerError {
    SamplerError::Unavailable {
        mode: Mode::plain(Mechanism::PprofRs),
        reason: "profbench was built without the pprof feature".into(),
    }
}

/// A running pprof-rs profiler (its guard); dropping it stops pprof-rs,
/// which disarms `ITIMER_PROF` and sets SIGPROF to `SIG_IGN`.
pub(crate) struct PprofRun {
    #[cfg(feature = "pprof")]
    guard: pprof::ProfilerGuard<'static>,
    #[cfg(not(feature = "pprof"))]
    never: std::convert::Infallible,
}

#[cfg(feature = "pprof")]
impl PprofRun {
    /// Starts pprof-rs at `hz` (it arms `ITIMER_PROF` itself).
    pub(crate) fn start(hz: u32) -> Result<PprofRun, SamplerError> {
        let frequency = i32::try_from(hz).map_err(|_| SamplerError::BadRate(hz))?;
        pprof::ProfilerGuardBuilder::default()
            .frequency(frequency)
            .blocklist(&BLOCKLIST)
            .build()
            .map(|guard| PprofRun { guard })
            .map_err(|e| pprof_error("starting the profiler")(e.to_string()))
    }

    /// Samples per thread as pprof-rs names threads (`pthread_self()`),
    /// from its unresolved report (no symbolisation needed to count).
    pub(crate) fn samples_by_thread(&self) -> Result<HashMap<u64, u64>, SamplerError> {
        let report = self
            .guard
            .report()
            .build_unresolved()
            .map_err(|e| pprof_error("building the report")(e.to_string()))?;
        let mut by_thread: HashMap<u64, u64> = HashMap::new();
        for (frames, count) in &report.data {
            *by_thread.entry(frames.thread_id).or_default() += (*count).max(0) as u64;
        }
        Ok(by_thread)
    }

    /// The report pprof-rs writes (`Report::pprof`), encoded as
    /// `profile.proto`, and its sample count; then stops pprof-rs.
    pub(crate) fn into_encoded_profile(self) -> Result<(Vec<u8>, u64), SamplerError> {
        use pprof::protos::Message;
        let report = self
            .guard
            .report()
            .build()
            .map_err(|e| pprof_error("building the report")(e.to_string()))?;
        let samples = report.data.values().map(|c| (*c).max(0) as u64).sum();
        let profile = report
            .pprof()
            .map_err(|e| pprof_error("converting the report to pprof")(e.to_string()))?;
        Ok((profile.encode_to_vec(), samples))
    }
}

#[cfg(not(feature = "pprof"))]
impl PprofRun {
    pub(crate) fn start(_hz: u32) -> Result<PprofRun, SamplerError> {
        Err(not_built())
    }

    pub(crate) fn samples_by_thread(&self) -> Result<HashMap<u64, u64>, SamplerError> {
        match self.never {}
    }

    pub(crate) fn into_encoded_profile(self) -> Result<(Vec<u8>, u64), SamplerError> {
        match self.never {}
    }
}

/// pprof-rs profiling the whole calling process, for `profbench burn
/// --pprof`. Holds the session lock, so no sampler session can run beside it.
pub struct SelfProfiler {
    // Dropped in this order: pprof-rs stops first, then the SIGPROF action
    // it replaced is put back, then the lock is released.
    run: PprofRun,
    saved: SavedSigprofAction,
    hz: u32,
    cpu_start_ns: u64,
    wall_start: Instant,
    _lock: SessionLock,
}

/// What [`SelfProfiler::finish`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct SelfProfile {
    /// The profile pprof-rs wrote, `profile.proto` bytes (not gzipped).
    pub bytes: Vec<u8>,
    /// Samples in it.
    pub samples: u64,
    /// pprof-rs's timer period, ns.
    pub period_ns: u64,
    /// Process CPU over the profiled window (`getrusage`), ns.
    pub cpu_ns: u64,
    /// Wall time of the profiled window, ns.
    pub wall_ns: u64,
}

impl SelfProfiler {
    /// Starts pprof-rs on this process at `hz`. Refused while a sampler
    /// session runs or `ITIMER_PROF` is armed by someone else; unavailable
    /// without the `pprof` feature.
    pub fn start(hz: u32) -> Result<SelfProfiler, SamplerError> {
        if !Mechanism::PprofRs.is_built() {
            return Err(not_built());
        }
        if hz == 0 || hz > MAX_HZ {
            return Err(SamplerError::BadRate(hz));
        }
        let lock = SessionLock::acquire()?;
        let current = ffi::itimer_prof().map_err(|source| SamplerError::System {
            what: "getitimer(ITIMER_PROF)",
            source,
        })?;
        if !current.value.is_zero() {
            return Err(SamplerError::ItimerInUse);
        }
        let saved = SavedSigprofAction::save().map_err(|source| SamplerError::System {
            what: "sigaction(SIGPROF) query",
            source,
        })?;
        let run = PprofRun::start(hz)?;
        Ok(SelfProfiler {
            run,
            saved,
            hz,
            cpu_start_ns: rusage_self_cpu_ns(),
            wall_start: Instant::now(),
            _lock: lock,
        })
    }

    /// Stops the clock, builds pprof-rs's report and encodes it, then stops
    /// pprof-rs and restores the SIGPROF action it replaced.
    pub fn finish(self) -> Result<SelfProfile, SamplerError> {
        ffi::stop_itimer_prof().map_err(|source| SamplerError::System {
            what: "setitimer(ITIMER_PROF) stop",
            source,
        })?;
        let cpu_ns = rusage_self_cpu_ns().saturating_sub(self.cpu_start_ns);
        let wall_ns = self.wall_start.elapsed().as_nanos() as u64;
        let SelfProfiler { run, saved, hz, .. } = self;
        // pprof-rs stops when `run` goes, before its replaced action returns.
        let (bytes, samples) = run.into_encoded_profile()?;
        saved.restore().map_err(|source| SamplerError::System {
            what: "sigaction(SIGPROF) restore",
            source,
        })?;
        Ok(SelfProfile {
            bytes,
            samples,
            period_ns: period_ns(hz),
            cpu_ns,
            wall_ns,
        })
    }
}
