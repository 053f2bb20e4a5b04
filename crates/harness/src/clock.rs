//! Ground-truth clocks: what the kernel says the CPU time was.

use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::time::TimeValLike;
use nix::time::{clock_gettime, ClockId};

pub use workloads::burn::thread_cpu_ns;

fn timespec_ns(ts: nix::sys::time::TimeSpec) -> u64 {
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// `CLOCK_PROCESS_CPUTIME_ID`: CPU of every thread of the process, live or
/// exited, in ns. The clock a process-wide CPU timer follows.
pub fn process_cpu_ns() -> u64 {
    let ts = clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .expect("CLOCK_PROCESS_CPUTIME_ID is always readable on Linux");
    timespec_ns(ts)
}

fn rusage_cpu_ns(who: UsageWho) -> u64 {
    let usage = getrusage(who).expect("getrusage of this process or thread cannot fail");
    let us = usage.user_time().num_microseconds() + usage.system_time().num_microseconds();
    us.max(0) as u64 * 1000
}

/// `getrusage(RUSAGE_SELF)` user + system time, in ns (µs resolution):
/// the process's CPU including threads that have exited.
pub fn rusage_self_cpu_ns() -> u64 {
    rusage_cpu_ns(UsageWho::RUSAGE_SELF)
}

/// `getrusage(RUSAGE_CHILDREN)`: `(user, system)` CPU time, in ns, of every
/// child this process has waited for, and of the descendants they waited
/// for. The difference across one `wait` is that child's CPU, the same
/// figure `wait4` would return, without `unsafe`.
pub fn rusage_children_ns() -> (u64, u64) {
    let usage =
        getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage(RUSAGE_CHILDREN) cannot fail");
    let ns = |us: i64| us.max(0) as u64 * 1000;
    (
        ns(usage.user_time().num_microseconds()),
        ns(usage.system_time().num_microseconds()),
    )
}

/// `getrusage(RUSAGE_THREAD)` user + system time of the calling thread, in ns.
pub fn rusage_thread_cpu_ns() -> u64 {
    rusage_cpu_ns(UsageWho::RUSAGE_THREAD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn clocks_agree_on_a_burn() {
        // The process windows enclose the thread's: read them first and last.
        let (p0, r0) = (process_cpu_ns(), rusage_self_cpu_ns());
        let t0 = thread_cpu_ns();
        workloads::burn::burn_cpu(Duration::from_millis(50));
        let t1 = thread_cpu_ns();
        let (p1, r1) = (process_cpu_ns(), rusage_self_cpu_ns());
        let thread = t1 - t0;
        assert!(thread >= 50_000_000);
        // Other test threads may run meanwhile, so the process clocks can
        // only be larger; rusage is in µs and split user/system, so allow 1 ms.
        assert!(
            p1 - p0 + 1_000 >= thread,
            "process clock {} < thread {}",
            p1 - p0,
            thread
        );
        assert!(
            r1 - r0 + 1_000_000 >= thread,
            "rusage {} < thread {}",
            r1 - r0,
            thread
        );
    }
}
