//! The CPU burner: spins on integer arithmetic until the calling thread's own
//! CPU clock has advanced by a budget.

use std::hint::black_box;
use std::time::Duration;

use nix::time::{clock_gettime, ClockId};

/// Nanoseconds of CPU the calling thread has used since it started
/// (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_ns() -> u64 {
    // The thread CPU clock always exists on Linux; a failure would mean a broken libc.
    let ts = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .expect("CLOCK_THREAD_CPUTIME_ID is always readable on Linux");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// Arithmetic steps between two reads of the thread clock: about 5–10 µs of
/// work, so the clock reads (a syscall each) cost well under 1 % and the
/// budget is overshot by at most a few µs.
const STEPS_PER_CHECK: u32 = 8192;

/// Does a fixed amount of work: `steps` rounds of the burner's arithmetic.
/// Unlike [`burn_cpu`], the work is fixed and the CPU time it takes is the
/// measurement, which is what an overhead benchmark needs.
pub fn spin_steps(steps: u64) -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..steps {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state = black_box(state.wrapping_mul(0x2545_F491_4F6C_DD1D));
    }
    state
}

/// Burns `budget` of the calling thread's CPU time and returns a value
/// derived from the work, so the optimiser cannot remove it.
pub fn burn_cpu(budget: Duration) -> u64 {
    let budget_ns = budget.as_nanos() as u64;
    let start = thread_cpu_ns();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ start;
    loop {
        for _ in 0..STEPS_PER_CHECK {
            // xorshift64*: cheap, branch-free, and not foldable at compile time.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state = black_box(state.wrapping_mul(0x2545_F491_4F6C_DD1D));
        }
        if thread_cpu_ns().saturating_sub(start) >= budget_ns {
            return state;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burns_at_least_the_budget_and_not_much_more() {
        let before = thread_cpu_ns();
        burn_cpu(Duration::from_millis(30));
        let used = thread_cpu_ns() - before;
        assert!(used >= 30_000_000, "burned only {used} ns");
        // One check interval is ~10 µs of CPU; the bound is loose so that a
        // slow or instrumented build (debug, valgrind) still passes.
        assert!(used < 60_000_000, "burned {used} ns for a 30 ms budget");
    }
}
