//! The sampler: one session of SIGPROF sampling in one mode.
//!
//! A [`Session`] installs the handler, arms the mode's process-wide timer
//! (if any), registers the coordinating thread, and hands out a
//! [`SessionSpawner`] through which the workload creates its threads. Each
//! registered thread claims a counter slot and, in per-thread modes, arms its
//! own timer or perf counter; when it ends it blocks SIGPROF, reads its own
//! CPU clock, stops its timer and (with `+flush`) counts the expiries its
//! schedule says were due but never arrived. [`Session::finish`] disarms
//! everything, discards pending signals, restores the previous SIGPROF action
//! and `ITIMER_PROF`, and reads the counters back.
//!
//! A process has one SIGPROF disposition and one `ITIMER_PROF`, so only one
//! session may run at a time; a second [`Session::start`] is refused.
//!
//! In the `pprof-rs` mode the session installs no handler and arms no timer:
//! pprof-rs does both (see [`crate::pprof_rs`]). Threads are registered
//! exactly as in the other modes (slots, CPU clocks, lifetimes) and each
//! also notes its `pthread_self()`, the name pprof-rs gives a thread, so
//! that [`Session::finish`] can map pprof-rs's per-thread counts onto them.

use std::collections::HashMap;
use std::io;
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use thiserror::Error;
use workloads::{SpawnError, Spawner, ThreadBody, ThreadHandle, ThreadRole};

use crate::clock::{process_cpu_ns, rusage_self_cpu_ns, thread_cpu_ns};
use crate::counters::{self, AcceptPolicy};
use crate::ffi::{
    self, InstalledHandler, PerfTaskClock, PosixTimer, ProfItimer, RawThread, SavedSigprofAction,
};
use crate::mode::{Mechanism, Mode};
use crate::pprof_rs::PprofRun;
use crate::record::{ThreadKind, ThreadRecord};

/// The highest rate a session accepts. Far above any tick rate; higher
/// values only measure the handler's cost.
pub const MAX_HZ: u32 = 100_000;

/// Why a session could not run.
#[derive(Debug, Error)]
pub enum SamplerError {
    /// Another session is running in this process.
    #[error("a sampler session is already running in this process (a process has one SIGPROF disposition and one ITIMER_PROF)")]
    Busy,
    /// Someone else's `ITIMER_PROF` is armed; its signals would be counted as ours.
    #[error("ITIMER_PROF is already armed (another profiler is running in this process); refusing to mix its signals with ours")]
    ItimerInUse,
    /// The rate is outside 1..=[`MAX_HZ`].
    #[error("sampling rate must be within 1..={MAX_HZ} Hz, got {0}")]
    BadRate(u32),
    /// The mode cannot run on this machine.
    #[error("{mode} is unavailable here: {reason}")]
    Unavailable {
        /// The mode.
        mode: Mode,
        /// Why (the errno and what to change).
        reason: String,
    },
    /// pprof-rs refused to start or to build its report.
    #[error("pprof-rs failed {what}: {message}")]
    Pprof {
        /// What pprof-rs was doing.
        what: &'static str,
        /// Its error.
        message: String,
    },
    /// A system call failed.
    #[error("{what} failed: {source}")]
    System {
        /// The call, and for what.
        what: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn system(what: &'static str) -> impl FnOnce(io::Error) -> SamplerError {
    move |source| SamplerError::System { what, source }
}

/// What a session asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// The mode, options included.
    pub mode: Mode,
    /// The sampling rate in Hz.
    pub hz: u32,
    /// Seed of the random first expiries.
    pub seed: u64,
}

impl SessionConfig {
    /// The sampling period.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(period_ns(self.hz))
    }
}

/// The sampling period of a rate, in ns.
pub fn period_ns(hz: u32) -> u64 {
    1_000_000_000 / u64::from(hz.max(1))
}

/// What a finished session measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Process CPU over the sampled window (`getrusage(RUSAGE_SELF)`), ns.
    pub cpu_ns: u64,
    /// Wall time of the sampled window, ns.
    pub wall_ns: u64,
    /// Accepted signals.
    pub samples: u64,
    /// Accepted signals plus what the options add.
    pub weighted_samples: u64,
    /// Sum of `si_overrun` over accepted signals.
    pub overruns: u64,
    /// Expiries found due but undelivered (with `+flush`), per-thread and
    /// process-wide together.
    pub flushed: u64,
    /// Signals the mode's filter refused.
    pub rejected: u64,
    /// Every thread that burned CPU in the session or received a signal.
    pub threads: Vec<ThreadRecord>,
    /// Problems that make the counts untrustworthy (a timer that could not
    /// be created, a full slot table): the trial is `failed` if any.
    pub errors: Vec<String>,
}

// --- the session lock --------------------------------------------------------

static SESSION_RUNNING: AtomicBool = AtomicBool::new(false);

/// Held while a session (or a [`crate::pprof_rs::SelfProfiler`]) runs;
/// released on drop.
pub(crate) struct SessionLock;

impl SessionLock {
    pub(crate) fn acquire() -> Result<Self, SamplerError> {
        SESSION_RUNNING
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map(|_| SessionLock)
            .map_err(|_| SamplerError::Busy)
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        counters::end_session();
        SESSION_RUNNING.store(false, Ordering::Release);
    }
}

// --- SIGPROF masking -----------------------------------------------------------

fn sigprof_set() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGPROF);
    set
}

/// Blocks SIGPROF on the calling thread; returns the previous mask.
fn block_sigprof() -> SigSet {
    let mut previous = SigSet::empty();
    // pthread_sigmask cannot fail with a valid `how` and set.
    let _ = pthread_sigmask(
        SigmaskHow::SIG_BLOCK,
        Some(&sigprof_set()),
        Some(&mut previous),
    );
    previous
}

fn restore_mask(mask: &SigSet) {
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(mask), None);
}

// --- perf availability ------------------------------------------------------------

/// Whether perf task-clock sampling can be used here, and how: `Ok(true)`
/// when kernel mode must be excluded (perf_event_paranoid forbids kernel
/// profiling to this user).
pub fn perf_event_support() -> Result<bool, String> {
    static SUPPORT: OnceLock<Result<bool, String>> = OnceLock::new();
    SUPPORT
        .get_or_init(|| {
            let tid = nix::unistd::gettid().as_raw();
            let probe = |exclude_kernel| {
                PerfTaskClock::open(tid, Duration::from_secs(3600), exclude_kernel).map(drop)
            };
            match probe(false) {
                Ok(()) => Ok(false),
                Err(first) => probe(true).map(|()| true).map_err(|_| {
                    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                        .map(|s| s.trim().to_string())
                        .unwrap_or_else(|_| "unknown".into());
                    format!(
                        "perf_event_open(task-clock) failed: {first} \
                         (perf_event_paranoid = {paranoid}; a seccomp filter or container may also forbid it)"
                    )
                }),
            }
        })
        .clone()
}

// --- per-thread registration -----------------------------------------------------

/// State shared by the session and every thread it registers.
struct Shared {
    mode: Mode,
    period: Duration,
    seed: u64,
    perf_exclude_kernel: bool,
    next_ordinal: AtomicU64,
    errors: Mutex<Vec<String>>,
    /// `(pthread_self(), slot)` of every registered thread, kept only in
    /// modes that name threads by pthread id (`pprof-rs`).
    pthreads: Mutex<Vec<(u64, usize)>>,
}

impl Shared {
    fn note_error(&self, message: String) {
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        // One line per distinct problem is enough; thousands of threads may hit the same one.
        if errors.len() < 16 && !errors.contains(&message) {
            errors.push(message);
        }
    }

    /// The first expiry of a per-thread timer: uniform in (0, period]
    /// (Go's choice, so short threads are sampled in proportion to their
    /// CPU), or one full period with `+nojitter`.
    fn first_expiry(&self) -> Duration {
        if self.mode.options.nojitter {
            return self.period;
        }
        let ordinal = self.next_ordinal.fetch_add(1, Ordering::Relaxed);
        let mut rng =
            SmallRng::seed_from_u64(self.seed ^ ordinal.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let period_ns = self.period.as_nanos() as u64;
        Duration::from_nanos(rng.random_range(1..=period_ns.max(1)))
    }
}

/// What samples a registered thread on its own.
enum ThreadSource {
    None,
    Timer {
        // Held for its Drop, which deletes the timer.
        _timer: PosixTimer,
        first: Duration,
    },
    Perf(PerfTaskClock),
}

/// A thread's membership in the session, from registration to its end.
struct Registration {
    slot: Option<usize>,
    started: Instant,
    cpu_origin_ns: u64,
    source: ThreadSource,
    /// The thread's CPU clock when its source was armed: the CPU before it
    /// is invisible to a per-thread timer, whatever the options.
    armed_at_cpu_ns: Option<u64>,
}

/// Expiries of a periodic schedule (first expiry, then every period) that
/// fall within `elapsed` of the clock.
pub(crate) fn due_expiries(elapsed: Duration, first: Duration, period: Duration) -> u64 {
    if elapsed < first || period.is_zero() {
        return 0;
    }
    1 + ((elapsed - first).as_nanos() / period.as_nanos()) as u64
}

impl Registration {
    /// Registers the calling thread. `cpu_origin_ns` is the thread CPU time
    /// that precedes the trial (0 for threads the trial creates).
    fn begin(shared: &Shared, kind: ThreadKind, cpu_origin_ns: u64) -> Registration {
        // Blocked while the slot and timer are set up, so a signal cannot find
        // the thread half-registered.
        let mask = block_sigprof();
        let tid = nix::unistd::gettid().as_raw();
        let registered = kind != ThreadKind::Foreign;
        let slot = counters::claim_slot(tid, kind, registered);
        if slot.is_none() {
            shared.note_error(format!(
                "more than {} threads in one trial; the rest were not counted",
                counters::SLOT_CAPACITY
            ));
        }
        let (source, armed_at_cpu_ns) = if registered && shared.mode.mechanism.is_per_thread() {
            Self::arm_source(shared, tid, slot)
        } else {
            (ThreadSource::None, None)
        };
        if let (true, Some(slot)) = (shared.mode.mechanism.is_external(), slot) {
            let pthread = nix::sys::pthread::pthread_self() as u64;
            shared
                .pthreads
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((pthread, slot));
        }
        restore_mask(&mask);
        Registration {
            slot,
            started: Instant::now(),
            cpu_origin_ns,
            source,
            armed_at_cpu_ns,
        }
    }

    /// Arms the thread's own timer or perf counter; returns it with the
    /// thread's CPU clock at the moment it was armed.
    fn arm_source(shared: &Shared, tid: i32, slot: Option<usize>) -> (ThreadSource, Option<u64>) {
        match shared.mode.mechanism {
            Mechanism::ThreadTimer | Mechanism::Hybrid => {
                let armed = PosixTimer::for_this_thread(tid).and_then(|mut timer| {
                    let first = shared.first_expiry();
                    let armed_at_cpu_ns = thread_cpu_ns();
                    timer.arm(first, shared.period)?;
                    Ok((
                        ThreadSource::Timer {
                            _timer: timer,
                            first,
                        },
                        Some(armed_at_cpu_ns),
                    ))
                });
                match armed {
                    Ok(armed) => {
                        if let Some(slot) = slot {
                            counters::set_owns_timer(slot, true);
                        }
                        armed
                    }
                    Err(e) => {
                        shared.note_error(format!("timer_create on a thread failed: {e}"));
                        (ThreadSource::None, None)
                    }
                }
            }
            Mechanism::PerfEvent => {
                let armed_at_cpu_ns = thread_cpu_ns();
                match PerfTaskClock::open(tid, shared.period, shared.perf_exclude_kernel) {
                    Ok(counter) => (ThreadSource::Perf(counter), Some(armed_at_cpu_ns)),
                    Err(e) => {
                        shared.note_error(format!("perf_event_open on a thread failed: {e}"));
                        (ThreadSource::None, None)
                    }
                }
            }
            Mechanism::Setitimer | Mechanism::ProcessTimer | Mechanism::PprofRs => {
                (ThreadSource::None, None)
            }
        }
    }

    /// Ends the registration on the calling thread. A thread with a timer or
    /// perf counter of its own blocks SIGPROF first and leaves it blocked:
    /// an expiry still pending is then never delivered (the thread is about
    /// to exit, or the session is about to discard it), which is exactly what
    /// `+flush` counts. A thread without one leaves its mask alone, so that
    /// process-wide signals keep reaching it as they would in a real program.
    /// Returns the mask to restore, if it was changed.
    fn end(self, shared: &Shared) -> Option<SigSet> {
        let mask = match self.source {
            ThreadSource::None => None,
            _ => Some(block_sigprof()),
        };
        let cpu_now = thread_cpu_ns();
        let due = match &self.source {
            ThreadSource::None => None,
            ThreadSource::Timer { first, .. } => Some(due_expiries(
                Duration::from_nanos(
                    cpu_now.saturating_sub(self.armed_at_cpu_ns.unwrap_or(cpu_now)),
                ),
                *first,
                shared.period,
            )),
            ThreadSource::Perf(counter) => match counter.stop() {
                Ok(task_clock_ns) => Some(task_clock_ns / shared.period.as_nanos().max(1) as u64),
                Err(e) => {
                    shared.note_error(format!("reading a perf counter failed: {e}"));
                    None
                }
            },
        };
        // Deletes the timer or closes the perf fd.
        drop(self.source);
        if let Some(slot) = self.slot {
            let flushed = match due {
                Some(due) if shared.mode.options.flush => {
                    let got = counters::delivered(slot);
                    due.saturating_sub(got.samples + got.overruns)
                }
                _ => 0,
            };
            counters::record_exit(
                slot,
                counters::ThreadExit {
                    cpu_ns: cpu_now.saturating_sub(self.cpu_origin_ns),
                    armed_cpu_ns: self
                        .armed_at_cpu_ns
                        .map(|armed| armed.saturating_sub(self.cpu_origin_ns)),
                    lifetime_ns: self.started.elapsed().as_nanos() as u64,
                    flushed,
                },
            );
        }
        mask
    }
}

/// Runs `body` as a registered (or foreign) thread of the session.
fn run_registered(shared: &Shared, kind: ThreadKind, body: ThreadBody) {
    let registration = Registration::begin(shared, kind, 0);
    let outcome = catch_unwind(AssertUnwindSafe(body));
    // The mask is left blocked: the thread exits next.
    let _ = registration.end(shared);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

/// Creates the workload's threads for a session. Cheap to clone.
#[derive(Clone)]
pub struct SessionSpawner {
    shared: Arc<Shared>,
}

impl Spawner for SessionSpawner {
    fn spawn(&self, role: ThreadRole, body: ThreadBody) -> Result<ThreadHandle, SpawnError> {
        let shared = Arc::clone(&self.shared);
        match role {
            ThreadRole::Registered => {
                let handle = std::thread::Builder::new()
                    .name("profbench-worker".into())
                    .spawn(move || run_registered(&shared, ThreadKind::Worker, body))
                    .map_err(SpawnError::Create)?;
                Ok(ThreadHandle::new(move || {
                    handle.join().map_err(|_| SpawnError::Panicked)
                }))
            }
            ThreadRole::Foreign => {
                let thread = RawThread::spawn(Box::new(move || {
                    run_registered(&shared, ThreadKind::Foreign, body)
                }))
                .map_err(SpawnError::Create)?;
                Ok(ThreadHandle::new(move || match thread.join() {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(SpawnError::Panicked),
                    Err(e) => Err(SpawnError::Create(e)),
                }))
            }
        }
    }
}

// --- the session ---------------------------------------------------------------------

/// The process-wide sampling source of a mode.
enum ProcessSource {
    None,
    Itimer(ProfItimer),
    Timer {
        timer: PosixTimer,
        armed_at_cpu_ns: u64,
    },
}

/// One sampling session. Must be finished on the thread that started it
/// (its coordinator registration is bound to that thread), hence not `Send`.
pub struct Session {
    config: SessionConfig,
    shared: Arc<Shared>,
    wall_start: Instant,
    cpu_start_ns: u64,
    // Dropped in this order on an error path: sources first (pprof-rs's
    // drop disarms its timer and ignores SIGPROF), then the handler (which
    // discards pending signals) or the action pprof-rs replaced, then the lock.
    process_source: ProcessSource,
    pprof: Option<PprofRun>,
    coordinator: Option<Registration>,
    /// The SIGPROF action before the session: replaced by profbench's
    /// handler, or by pprof-rs's in the `pprof-rs` mode.
    previous_action: Option<SavedSigprofAction>,
    _lock: SessionLock,
    _not_send: PhantomData<*const ()>,
}

fn policy_for(mechanism: Mechanism) -> AcceptPolicy {
    match mechanism {
        Mechanism::Setitimer => AcceptPolicy::Kernel,
        Mechanism::ProcessTimer | Mechanism::ThreadTimer => AcceptPolicy::Timer,
        Mechanism::Hybrid => AcceptPolicy::Hybrid,
        Mechanism::PerfEvent => AcceptPolicy::Poll,
        // Our handler is not installed; the policy is never consulted.
        Mechanism::PprofRs => AcceptPolicy::Kernel,
    }
}

impl Session {
    /// Starts sampling. The sampled window (for samples and for CPU time)
    /// begins here.
    pub fn start(config: SessionConfig) -> Result<Session, SamplerError> {
        if config.hz == 0 || config.hz > MAX_HZ {
            return Err(SamplerError::BadRate(config.hz));
        }
        let perf_exclude_kernel = if config.mode.mechanism == Mechanism::PerfEvent {
            perf_event_support().map_err(|reason| SamplerError::Unavailable {
                mode: config.mode,
                reason,
            })?
        } else {
            false
        };
        let lock = SessionLock::acquire()?;
        let current = ffi::itimer_prof().map_err(system("getitimer(ITIMER_PROF)"))?;
        if !current.value.is_zero() {
            return Err(SamplerError::ItimerInUse);
        }
        counters::begin_session(
            policy_for(config.mode.mechanism),
            config.mode.options.overrun,
        );
        let (previous_action, pprof) = if config.mode.mechanism.is_external() {
            let saved = SavedSigprofAction::save().map_err(system("sigaction(SIGPROF) query"))?;
            // pprof-rs arms its timer here, a few µs before the window opens
            // (a spurious sample has a chance of about 1 in 1000 at 100 Hz);
            // the CPU its first start spends capturing a backtrace comes
            // before the timer, and outside the window, as it should.
            let run = PprofRun::start(config.hz)?;
            (saved, Some(run))
        } else {
            let handler = InstalledHandler::install().map_err(system("sigaction(SIGPROF)"))?;
            (handler.into_previous(), None)
        };
        let shared = Arc::new(Shared {
            mode: config.mode,
            period: config.period(),
            seed: config.seed,
            perf_exclude_kernel,
            next_ordinal: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
            pthreads: Mutex::new(Vec::new()),
        });
        let mut session = Session {
            config,
            shared,
            wall_start: Instant::now(),
            cpu_start_ns: 0,
            process_source: ProcessSource::None,
            pprof,
            coordinator: None,
            previous_action: Some(previous_action),
            _lock: lock,
            _not_send: PhantomData,
        };
        session.cpu_start_ns = rusage_self_cpu_ns();
        session.wall_start = Instant::now();
        session.coordinator = Some(Registration::begin(
            &session.shared,
            ThreadKind::Coordinator,
            thread_cpu_ns(),
        ));
        let period = config.period();
        session.process_source = match config.mode.mechanism {
            Mechanism::Setitimer | Mechanism::Hybrid => ProcessSource::Itimer(
                ProfItimer::arm(period).map_err(system("setitimer(ITIMER_PROF)"))?,
            ),
            Mechanism::ProcessTimer => {
                let mut timer = PosixTimer::for_process()
                    .map_err(system("timer_create(CLOCK_PROCESS_CPUTIME_ID)"))?;
                let armed_at_cpu_ns = process_cpu_ns();
                timer
                    .arm(period, period)
                    .map_err(system("timer_settime(process timer)"))?;
                ProcessSource::Timer {
                    timer,
                    armed_at_cpu_ns,
                }
            }
            Mechanism::ThreadTimer | Mechanism::PerfEvent | Mechanism::PprofRs => {
                ProcessSource::None
            }
        };
        Ok(session)
    }

    /// The spawner the workload must create its threads with.
    pub fn spawner(&self) -> SessionSpawner {
        SessionSpawner {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The session's configuration.
    pub fn config(&self) -> SessionConfig {
        self.config
    }

    /// Stops sampling, restores the previous SIGPROF action and
    /// `ITIMER_PROF`, and reads the counters. Call after the workload's
    /// threads have all been joined.
    pub fn finish(mut self) -> Result<Measurement, SamplerError> {
        let period = self.shared.period;
        let pprof = self.pprof.take();
        if pprof.is_some() {
            // Close the window for samples before reading the CPU time.
            ffi::stop_itimer_prof().map_err(system("setitimer(ITIMER_PROF) stop"))?;
        }
        // Expiries the process timer owed when it stopped, for `+flush`.
        let process_due = match std::mem::replace(&mut self.process_source, ProcessSource::None) {
            ProcessSource::None => None,
            ProcessSource::Itimer(itimer) => {
                itimer
                    .disarm()
                    .map_err(system("setitimer(ITIMER_PROF) restore"))?;
                None
            }
            ProcessSource::Timer {
                timer,
                armed_at_cpu_ns,
            } => {
                let elapsed =
                    Duration::from_nanos(process_cpu_ns().saturating_sub(armed_at_cpu_ns));
                drop(timer);
                Some(due_expiries(elapsed, period, period))
            }
        };
        let coordinator_mask = self
            .coordinator
            .take()
            .map(|registration| registration.end(&self.shared));
        let cpu_ns = rusage_self_cpu_ns().saturating_sub(self.cpu_start_ns);
        let wall_ns = self.wall_start.elapsed().as_nanos() as u64;
        // Read pprof-rs's counts, then stop it (which ignores SIGPROF,
        // discarding what is pending) before the previous action returns.
        let pprof_counts = pprof.map(|run| run.samples_by_thread());
        if let Some(previous) = self.previous_action.take() {
            previous
                .restore()
                .map_err(system("sigaction(SIGPROF) restore"))?;
        }
        counters::end_session();
        if let Some(mask) = coordinator_mask.flatten() {
            restore_mask(&mask);
        }
        let pprof_counts = pprof_counts.transpose()?;

        let (mut readings, totals) = counters::collect();
        let mut unmapped = 0;
        if let Some(counts) = &pprof_counts {
            unmapped = self.attribute_pprof_samples(counts, &mut readings);
        }
        let mut errors = self
            .shared
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let threads: Vec<ThreadRecord> = readings
            .into_iter()
            .filter(|r| {
                r.cpu_ns.is_some_and(|c| c > 0)
                    || r.samples + r.rejected > 0
                    || r.kind == ThreadKind::Coordinator
            })
            .map(|r| ThreadRecord {
                tid: r.tid,
                kind: r.kind,
                registered: r.registered,
                cpu_ns: r.cpu_ns,
                armed_cpu_ns: r.armed_cpu_ns,
                lifetime_ns: r.lifetime_ns,
                samples: r.samples,
                weighted_samples: r.weighted + r.flushed,
                overruns: r.overruns,
                flushed: r.flushed,
                rejected: r.rejected,
            })
            .collect();
        let mut threads = threads;
        if unmapped > 0 {
            // Samples pprof-rs took on threads the session cannot name: one
            // record, so that per-thread samples still add up to the total.
            threads.push(ThreadRecord {
                tid: 0,
                kind: ThreadKind::Other,
                registered: false,
                cpu_ns: None,
                armed_cpu_ns: None,
                lifetime_ns: 0,
                samples: unmapped,
                weighted_samples: unmapped,
                overruns: 0,
                flushed: 0,
                rejected: 0,
            });
        }
        let session_samples = match &pprof_counts {
            Some(counts) => counts.values().sum(),
            None => totals.samples,
        };
        let samples: u64 = threads.iter().map(|t| t.samples).sum();
        let overruns: u64 = threads.iter().map(|t| t.overruns).sum();
        let thread_weighted: u64 = threads.iter().map(|t| t.weighted_samples).sum();
        let thread_flushed: u64 = threads.iter().map(|t| t.flushed).sum();
        let rejected: u64 = threads.iter().map(|t| t.rejected).sum();
        if samples != session_samples {
            errors.push(format!(
                "counter mismatch: threads hold {samples} samples, the session counted {session_samples}"
            ));
        }
        if totals.unslotted > 0 {
            errors.push(format!(
                "{} signals arrived on threads beyond the slot table ({} threads wanted one)",
                totals.unslotted, totals.slots_wanted
            ));
        }
        let process_flushed = match process_due {
            Some(due) if self.config.mode.options.flush => due.saturating_sub(samples + overruns),
            _ => 0,
        };
        Ok(Measurement {
            cpu_ns,
            wall_ns,
            samples,
            weighted_samples: thread_weighted + process_flushed,
            overruns,
            flushed: thread_flushed + process_flushed,
            rejected,
            threads,
            errors,
        })
    }
}

impl Session {
    /// Puts pprof-rs's per-thread counts on the slots of the threads they
    /// name; returns the samples of threads it cannot name (not registered
    /// in this session, or a `pthread_t` that several of its threads had in
    /// turn, as short-lived threads reuse them, and which pprof-rs merges).
    fn attribute_pprof_samples(
        &self,
        counts: &HashMap<u64, u64>,
        readings: &mut [counters::SlotReading],
    ) -> u64 {
        let mut slots_of: HashMap<u64, Vec<usize>> = HashMap::new();
        for &(pthread, slot) in self
            .shared
            .pthreads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            slots_of.entry(pthread).or_default().push(slot);
        }
        let mut unmapped = 0;
        for (pthread, &n) in counts {
            match slots_of.get(pthread).map(Vec::as_slice) {
                Some(&[slot]) if slot < readings.len() => {
                    readings[slot].samples += n;
                    readings[slot].weighted += n;
                }
                _ => unmapped += n,
            }
        }
        unmapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_expiries_follow_the_schedule() {
        let ms = Duration::from_millis;
        assert_eq!(due_expiries(ms(3), ms(4), ms(10)), 0);
        assert_eq!(due_expiries(ms(4), ms(4), ms(10)), 1);
        assert_eq!(due_expiries(ms(13), ms(4), ms(10)), 1);
        assert_eq!(due_expiries(ms(14), ms(4), ms(10)), 2);
        assert_eq!(due_expiries(ms(1000), ms(10), ms(10)), 100);
    }

    #[test]
    fn period_is_exact_in_ns() {
        assert_eq!(period_ns(100), 10_000_000);
        assert_eq!(period_ns(1000), 1_000_000);
        assert_eq!(period_ns(19), 52_631_578);
    }
}
