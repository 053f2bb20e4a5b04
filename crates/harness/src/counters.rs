//! The counters the SIGPROF handler writes.
//!
//! Everything the handler touches is static memory that exists before any
//! signal is armed: a fixed table of per-thread slots, a few global atomics
//! and one const-initialised thread-local holding the thread's slot index.
//! The handler allocates nothing, takes no lock and cannot panic; a thread
//! that receives a signal without having a slot claims one with a single
//! `fetch_add` (it becomes an `other` thread of the trial).
//!
//! A session stamps every slot claim with its generation, so a thread that
//! outlives one session (the coordinator, a rayon global-pool thread) gets
//! a fresh slot in the next instead of reusing a stale one.

use std::cell::Cell;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::*,
};

use crate::ffi::{SignalFacts, POLL_HUP, POLL_IN, SI_KERNEL, SI_TIMER};
use crate::record::ThreadKind;

/// Threads one session can count: enough for ~100 000 short-lived threads
/// (a 100 s trial of 1 ms threads). 128 bytes each, 16 MiB of zero pages
/// that are only touched when used.
pub(crate) const SLOT_CAPACITY: usize = 1 << 17;

/// Which signals the handler accepts, by `si_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum AcceptPolicy {
    /// `SI_KERNEL` only: `setitimer`.
    Kernel = 0,
    /// `SI_TIMER` only: POSIX timers.
    Timer = 1,
    /// Go 1.18's rule: `SI_TIMER` on a thread that owns a timer, `SI_KERNEL`
    /// on one that does not.
    Hybrid = 2,
    /// fasync notifications (`POLL_IN`, `POLL_HUP`): perf events.
    Poll = 3,
}

impl AcceptPolicy {
    fn from_u8(v: u8) -> AcceptPolicy {
        match v {
            0 => AcceptPolicy::Kernel,
            1 => AcceptPolicy::Timer,
            2 => AcceptPolicy::Hybrid,
            _ => AcceptPolicy::Poll,
        }
    }

    /// Whether a signal with `code` counts, on a thread that does or does not own a timer.
    pub(crate) fn accepts(self, code: i32, owns_timer: bool) -> bool {
        match self {
            AcceptPolicy::Kernel => code == SI_KERNEL,
            AcceptPolicy::Timer => code == SI_TIMER,
            AcceptPolicy::Hybrid if owns_timer => code == SI_TIMER,
            AcceptPolicy::Hybrid => code == SI_KERNEL,
            AcceptPolicy::Poll => code == POLL_IN || code == POLL_HUP,
        }
    }
}

/// One thread's counters, on cache lines of their own so that threads
/// counting in parallel do not share one (128 bytes: the adjacent-line
/// prefetcher pairs lines, and the slot needs 72 bytes anyway).
#[repr(align(128))]
struct ThreadSlot {
    tid: AtomicI32,
    kind: AtomicU8,
    registered: AtomicBool,
    owns_timer: AtomicBool,
    samples: AtomicU64,
    weighted: AtomicU64,
    overruns: AtomicU64,
    rejected: AtomicU64,
    // Written once by the thread itself when it ends.
    cpu_ns: AtomicU64,
    armed_cpu_ns: AtomicU64,
    lifetime_ns: AtomicU64,
    flushed: AtomicU64,
}

const CPU_UNKNOWN: u64 = u64::MAX;

impl ThreadSlot {
    const fn new() -> Self {
        ThreadSlot {
            tid: AtomicI32::new(0),
            kind: AtomicU8::new(0),
            registered: AtomicBool::new(false),
            owns_timer: AtomicBool::new(false),
            samples: AtomicU64::new(0),
            weighted: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            cpu_ns: AtomicU64::new(CPU_UNKNOWN),
            armed_cpu_ns: AtomicU64::new(CPU_UNKNOWN),
            lifetime_ns: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
        }
    }

    fn reset(&self, tid: i32, kind: ThreadKind, registered: bool) {
        self.tid.store(tid, Relaxed);
        self.kind.store(kind_to_u8(kind), Relaxed);
        self.registered.store(registered, Relaxed);
        self.owns_timer.store(false, Relaxed);
        for counter in [
            &self.samples,
            &self.weighted,
            &self.overruns,
            &self.rejected,
        ] {
            counter.store(0, Relaxed);
        }
        self.cpu_ns.store(CPU_UNKNOWN, Relaxed);
        self.armed_cpu_ns.store(CPU_UNKNOWN, Relaxed);
        self.lifetime_ns.store(0, Relaxed);
        self.flushed.store(0, Relaxed);
    }
}

fn kind_to_u8(kind: ThreadKind) -> u8 {
    match kind {
        ThreadKind::Coordinator => 0,
        ThreadKind::Worker => 1,
        ThreadKind::Foreign => 2,
        ThreadKind::Other => 3,
    }
}

fn kind_from_u8(v: u8) -> ThreadKind {
    match v {
        0 => ThreadKind::Coordinator,
        1 => ThreadKind::Worker,
        2 => ThreadKind::Foreign,
        _ => ThreadKind::Other,
    }
}

static SLOTS: [ThreadSlot; SLOT_CAPACITY] = [const { ThreadSlot::new() }; SLOT_CAPACITY];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
/// The running session's generation; 0 when none runs.
static GENERATION: AtomicU32 = AtomicU32::new(0);
static LAST_GENERATION: AtomicU32 = AtomicU32::new(0);
static POLICY: AtomicU8 = AtomicU8::new(0);
static WEIGH_OVERRUN: AtomicBool = AtomicBool::new(false);
/// Accepted signals over all threads: a cross-check of the per-slot sums.
static TOTAL_SAMPLES: AtomicU64 = AtomicU64::new(0);
/// Signals on a thread that found the slot table full.
static UNSLOTTED: AtomicU64 = AtomicU64::new(0);
/// Signals that arrived while no session ran (ignored).
static STRAY: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// `generation << 32 | slot index`; a stale generation means "no slot".
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

fn pack(generation: u32, slot: usize) -> u64 {
    (u64::from(generation) << 32) | slot as u64
}

/// Starts counting for a new session. The caller holds the session lock.
pub(crate) fn begin_session(policy: AcceptPolicy, weigh_overrun: bool) {
    NEXT_SLOT.store(0, Relaxed);
    TOTAL_SAMPLES.store(0, Relaxed);
    UNSLOTTED.store(0, Relaxed);
    POLICY.store(policy as u8, Relaxed);
    WEIGH_OVERRUN.store(weigh_overrun, Relaxed);
    // Generation 0 means "no session", so skip it when the counter wraps.
    let mut next = LAST_GENERATION.load(Relaxed).wrapping_add(1);
    if next == 0 {
        next = 1;
    }
    LAST_GENERATION.store(next, Relaxed);
    GENERATION.store(next, Release);
}

/// Stops counting: later signals are stray.
pub(crate) fn end_session() {
    GENERATION.store(0, Release);
}

/// The calling thread's slot in the running session, if it has one.
pub(crate) fn current_slot() -> Option<usize> {
    let generation = GENERATION.load(Acquire);
    let packed = CURRENT.with(Cell::get);
    (generation != 0 && (packed >> 32) as u32 == generation).then_some(packed as u32 as usize)
}

/// Claims a fresh slot for the calling thread. Async-signal-safe: the
/// handler calls it for threads it has not seen. `None` when no session
/// runs or the table is full.
pub(crate) fn claim_slot(tid: i32, kind: ThreadKind, registered: bool) -> Option<usize> {
    let generation = GENERATION.load(Acquire);
    if generation == 0 {
        return None;
    }
    let index = NEXT_SLOT.fetch_add(1, Relaxed);
    let slot = SLOTS.get(index)?;
    slot.reset(tid, kind, registered);
    // The slot must be reset before a signal on this thread can find it.
    std::sync::atomic::compiler_fence(SeqCst);
    CURRENT.with(|c| c.set(pack(generation, index)));
    Some(index)
}

/// Marks whether a slot's thread owns a timer (`hybrid`'s filter needs it).
pub(crate) fn set_owns_timer(slot: usize, owns: bool) {
    if let Some(s) = SLOTS.get(slot) {
        s.owns_timer.store(owns, Relaxed);
    }
}

/// The SIGPROF handler's work, called by the FFI trampoline.
pub(crate) fn on_sigprof(facts: SignalFacts) {
    if GENERATION.load(Acquire) == 0 {
        STRAY.fetch_add(1, Relaxed);
        return;
    }
    let index = match current_slot() {
        Some(index) => index,
        None => match claim_slot(nix::unistd::gettid().as_raw(), ThreadKind::Other, false) {
            Some(index) => index,
            None => {
                UNSLOTTED.fetch_add(1, Relaxed);
                return;
            }
        },
    };
    let Some(slot) = SLOTS.get(index) else {
        UNSLOTTED.fetch_add(1, Relaxed);
        return;
    };
    let policy = AcceptPolicy::from_u8(POLICY.load(Relaxed));
    if !policy.accepts(facts.code, slot.owns_timer.load(Relaxed)) {
        slot.rejected.fetch_add(1, Relaxed);
        return;
    }
    let overrun = if facts.code == SI_TIMER {
        facts.overrun.max(0) as u64
    } else {
        0
    };
    slot.samples.fetch_add(1, Relaxed);
    slot.overruns.fetch_add(overrun, Relaxed);
    let weight = if WEIGH_OVERRUN.load(Relaxed) {
        1 + overrun
    } else {
        1
    };
    slot.weighted.fetch_add(weight, Relaxed);
    TOTAL_SAMPLES.fetch_add(1, Relaxed);
}

/// A slot's delivery counts so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub samples: u64,
    pub overruns: u64,
}

pub(crate) fn delivered(slot: usize) -> Delivered {
    SLOTS.get(slot).map_or(
        Delivered {
            samples: 0,
            overruns: 0,
        },
        |s| Delivered {
            samples: s.samples.load(Relaxed),
            overruns: s.overruns.load(Relaxed),
        },
    )
}

/// What a thread writes about itself when it ends.
pub(crate) struct ThreadExit {
    /// Its CPU time within the trial.
    pub cpu_ns: u64,
    /// Its CPU time when its own timer or perf counter was armed, if any.
    pub armed_cpu_ns: Option<u64>,
    /// Wall time from registration to the end.
    pub lifetime_ns: u64,
    /// Expiries its schedule owed it (with `+flush`).
    pub flushed: u64,
}

pub(crate) fn record_exit(slot: usize, exit: ThreadExit) {
    if let Some(s) = SLOTS.get(slot) {
        s.armed_cpu_ns
            .store(exit.armed_cpu_ns.unwrap_or(CPU_UNKNOWN), Relaxed);
        s.lifetime_ns.store(exit.lifetime_ns, Relaxed);
        s.flushed.store(exit.flushed, Relaxed);
        // Last, with Release: `collect` reads the others after it.
        s.cpu_ns.store(exit.cpu_ns, Release);
    }
}

/// One slot, read back after the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotReading {
    pub tid: i32,
    pub kind: ThreadKind,
    pub registered: bool,
    pub cpu_ns: Option<u64>,
    pub armed_cpu_ns: Option<u64>,
    pub lifetime_ns: u64,
    pub samples: u64,
    pub weighted: u64,
    pub overruns: u64,
    pub flushed: u64,
    pub rejected: u64,
}

/// Session-wide counts that no slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub samples: u64,
    pub unslotted: u64,
    pub slots_wanted: usize,
}

/// Reads every slot claimed in this session. Call once no thread of the
/// session can still be counting (its timers disarmed, its threads joined).
pub(crate) fn collect() -> (Vec<SlotReading>, Totals) {
    let claimed = NEXT_SLOT.load(Acquire);
    let readings = SLOTS[..claimed.min(SLOT_CAPACITY)]
        .iter()
        .map(|s| {
            let cpu = s.cpu_ns.load(Acquire);
            let armed = s.armed_cpu_ns.load(Relaxed);
            SlotReading {
                tid: s.tid.load(Relaxed),
                kind: kind_from_u8(s.kind.load(Relaxed)),
                registered: s.registered.load(Relaxed),
                cpu_ns: (cpu != CPU_UNKNOWN).then_some(cpu),
                armed_cpu_ns: (armed != CPU_UNKNOWN).then_some(armed),
                lifetime_ns: s.lifetime_ns.load(Relaxed),
                samples: s.samples.load(Relaxed),
                weighted: s.weighted.load(Relaxed),
                overruns: s.overruns.load(Relaxed),
                flushed: s.flushed.load(Relaxed),
                rejected: s.rejected.load(Relaxed),
            }
        })
        .collect();
    let totals = Totals {
        samples: TOTAL_SAMPLES.load(Relaxed),
        unslotted: UNSLOTTED.load(Relaxed),
        slots_wanted: claimed,
    };
    (readings, totals)
}

/// Signals that arrived while no session was running, since the process started.
pub fn stray_signals() -> u64 {
    STRAY.load(Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_filter_by_si_code() {
        use AcceptPolicy::*;
        assert!(Kernel.accepts(SI_KERNEL, false) && !Kernel.accepts(SI_TIMER, false));
        assert!(Timer.accepts(SI_TIMER, true) && !Timer.accepts(SI_KERNEL, true));
        // Go 1.18: a thread with a timer keeps only timer signals, one without keeps only setitimer's.
        assert!(Hybrid.accepts(SI_TIMER, true) && !Hybrid.accepts(SI_KERNEL, true));
        assert!(Hybrid.accepts(SI_KERNEL, false) && !Hybrid.accepts(SI_TIMER, false));
        assert!(Poll.accepts(POLL_IN, true) && !Poll.accepts(SI_TIMER, true));
        // A user's `kill -PROF` (SI_USER = 0) is never a sample.
        for p in [Kernel, Timer, Hybrid, Poll] {
            assert!(!p.accepts(libc::SI_USER, false) && !p.accepts(libc::SI_USER, true));
        }
    }

    #[test]
    fn slot_layout_is_two_cache_lines() {
        assert_eq!(std::mem::size_of::<ThreadSlot>(), 128);
    }
}
