//! The only module with `unsafe`: thin wrappers over the system calls the
//! sampler needs that `nix` does not cover with the control we need
//! (`sigaction` with a raw `SA_SIGINFO` handler, saving and restoring the
//! action another profiler replaces, `setitimer`, POSIX timers that never
//! panic in `Drop`, `perf_event_open`, raw `pthread_create`).
//!
//! Each raw call sits in a safe type whose constructor establishes the
//! call's preconditions and whose `Drop` releases the resource. Every
//! `unsafe` block carries a `// SAFETY:` line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::c_void;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libc::{c_int, siginfo_t};

/// The signal every mode is asked to deliver.
pub const SIGPROF: c_int = libc::SIGPROF;
/// `si_code` of a signal sent by the kernel itself (`setitimer` expiries).
pub const SI_KERNEL: c_int = libc::SI_KERNEL;
/// `si_code` of a POSIX timer expiry (`timer_create`).
pub const SI_TIMER: c_int = libc::SI_TIMER;
/// `si_code` of an fasync notification for readable data (perf overflow).
pub const POLL_IN: c_int = 1;
/// `si_code` of an fasync notification for a hang-up (perf event limit reached).
pub const POLL_HUP: c_int = 6;

// fcntl commands and the owner type of F_SETOWN_EX; libc exports them only
// for some targets. Values from include/uapi/asm-generic/fcntl.h.
const F_SETSIG: c_int = 10;
const F_SETOWN_EX: c_int = 15;
const F_OWNER_TID: c_int = 0;

#[repr(C)]
struct FOwnerEx {
    kind: c_int,
    pid: libc::pid_t,
}

/// What the handler needs from a `siginfo_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalFacts {
    /// `si_code`: who sent it (`SI_KERNEL`, `SI_TIMER`, `POLL_IN`, …).
    pub code: i32,
    /// `si_overrun` for `SI_TIMER` signals, 0 otherwise.
    pub overrun: i32,
    /// `si_fd` for fasync signals (`POLL_*`), -1 otherwise.
    pub fd: i32,
}

// The union that follows si_signo/si_errno/si_code in the kernel's
// siginfo_t (include/uapi/asm-generic/siginfo.h). libc exposes neither
// si_overrun nor si_fd, so we read the two layouts we need ourselves.
#[repr(C)]
struct SiginfoHead {
    signo: c_int,
    errno: c_int,
    code: c_int,
}

// The union is aligned like a long (it holds pointers and longs), which puts
// it at offset 16 on 64-bit targets; the zero-sized field reproduces that.
#[repr(C)]
struct SiginfoTimer {
    head: SiginfoHead,
    _union_align: [libc::c_long; 0],
    tid: c_int,
    overrun: c_int,
}

#[repr(C)]
struct SiginfoPoll {
    head: SiginfoHead,
    band: libc::c_long,
    fd: c_int,
}

/// Reads the fields the handler uses.
///
/// # Safety
///
/// `info` must point to a `siginfo_t` the kernel filled in for the signal
/// being handled (the second argument of an `SA_SIGINFO` handler).
unsafe fn read_siginfo(info: *const siginfo_t) -> SignalFacts {
    // SAFETY (for the reads below): siginfo_t is 128 bytes, larger than both
    // views; which union member is valid is decided by si_code, checked first.
    let code = (*info.cast::<SiginfoHead>()).code;
    let mut facts = SignalFacts {
        code,
        overrun: 0,
        fd: -1,
    };
    if code == SI_TIMER {
        facts.overrun = (*info.cast::<SiginfoTimer>()).overrun;
    } else if (POLL_IN..=POLL_HUP).contains(&code) {
        facts.fd = (*info.cast::<SiginfoPoll>()).fd;
    }
    facts
}

thread_local! {
    /// Set while this thread runs the SIGPROF handler, so a test allocator
    /// can tell an allocation inside the handler from one outside.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is inside profbench's SIGPROF handler.
pub fn in_sigprof_handler() -> bool {
    IN_HANDLER.try_with(Cell::get).unwrap_or(false)
}

/// Runs `f` with the calling thread marked as inside the handler: the
/// positive control of the allocation check (an allocation in `f` must be
/// counted, or the check proves nothing).
pub fn as_if_in_handler<R>(f: impl FnOnce() -> R) -> R {
    IN_HANDLER.set(true);
    let result = f();
    IN_HANDLER.set(false);
    result
}

/// The SIGPROF handler: reads the siginfo and hands the facts to the safe
/// counting code. It allocates nothing, takes no lock and preserves errno.
extern "C" fn sigprof_trampoline(_signo: c_int, info: *mut siginfo_t, _context: *mut c_void) {
    IN_HANDLER.set(true);
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    let errno_slot = unsafe { libc::__errno_location() };
    // SAFETY: as above; a plain read of an int.
    let saved_errno = unsafe { *errno_slot };
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let facts = unsafe { read_siginfo(info) };
    crate::counters::on_sigprof(facts);
    // SAFETY: as above; the counting code may have made syscalls (gettid)
    // and the interrupted code must see its own errno again.
    unsafe { *errno_slot = saved_errno };
    IN_HANDLER.set(false);
}

/// A handler that does nothing: the floor a real handler's cost is held against.
extern "C" fn empty_handler(_signo: c_int, _info: *mut siginfo_t, _context: *mut c_void) {}

/// A SIGPROF handler of profbench's, installed; dropping it discards any
/// SIGPROF still pending and reinstalls the previous action (which
/// [`into_previous`] hands over, to restore with an error report).
///
/// [`into_previous`]: InstalledHandler::into_previous
pub struct InstalledHandler {
    previous: SavedSigprofAction,
}

fn sigaction_raw(action: &libc::sigaction) -> io::Result<libc::sigaction> {
    let mut previous = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: both pointers are valid for the call; SIGPROF is a catchable signal.
    let rc = unsafe { libc::sigaction(SIGPROF, action, previous.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sigaction succeeded, so it filled `previous`.
    Ok(unsafe { previous.assume_init() })
}

fn empty_action(handler: libc::sighandler_t, flags: c_int) -> libc::sigaction {
    // SAFETY: sigaction is a plain C struct for which all-zero is valid.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = flags;
    // SAFETY: sa_mask is a valid sigset_t to initialise.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    action
}

type RawHandler = extern "C" fn(c_int, *mut siginfo_t, *mut c_void);

impl InstalledHandler {
    fn install_raw(handler: RawHandler) -> io::Result<Self> {
        let action = empty_action(
            handler as *const () as libc::sighandler_t,
            libc::SA_SIGINFO | libc::SA_RESTART,
        );
        let previous = sigaction_raw(&action)?;
        Ok(InstalledHandler {
            previous: SavedSigprofAction {
                previous,
                restored: false,
            },
        })
    }

    /// Installs profbench's handler for SIGPROF with `SA_SIGINFO |
    /// SA_RESTART` (restart, so a workload's `recv` or `sleep` is not cut short).
    pub fn install() -> io::Result<Self> {
        Self::install_raw(sigprof_trampoline)
    }

    /// Installs a handler that does nothing, with the same flags: the floor
    /// of what delivering a signal costs.
    pub fn install_empty() -> io::Result<Self> {
        Self::install_raw(empty_handler)
    }

    /// The action this handler replaced, which puts it back when restored
    /// or dropped.
    pub fn into_previous(self) -> SavedSigprofAction {
        self.previous
    }
}

/// A SIGPROF action as it was before profbench's handler or someone else's
/// profiler took it, put back by [`SavedSigprofAction::restore`] (or on drop).
///
/// pprof-rs installs its own handler and, when its guard is dropped, sets
/// SIGPROF to `SIG_IGN` rather than back to what it replaced; a session
/// that runs pprof-rs saves the action first and restores it after.
pub struct SavedSigprofAction {
    previous: libc::sigaction,
    restored: bool,
}

impl SavedSigprofAction {
    /// Reads the current SIGPROF action without changing it.
    pub fn save() -> io::Result<Self> {
        Ok(SavedSigprofAction {
            previous: query_sigaction()?,
            restored: false,
        })
    }

    /// Discards pending SIGPROFs (POSIX: setting a pending signal's action to
    /// SIG_IGN discards it, so a late one cannot reach the saved action,
    /// which may be SIG_DFL and kill the process), then reinstalls the saved
    /// action.
    pub fn restore(mut self) -> io::Result<()> {
        self.restore_inner()
    }

    fn restore_inner(&mut self) -> io::Result<()> {
        if self.restored {
            return Ok(());
        }
        self.restored = true;
        sigaction_raw(&empty_action(libc::SIG_IGN, 0))?;
        sigaction_raw(&self.previous).map(drop)
    }
}

impl Drop for SavedSigprofAction {
    fn drop(&mut self) {
        // Best effort on an error path; `restore` reports failures.
        let _ = self.restore_inner();
    }
}

/// Disarms `ITIMER_PROF`, whoever armed it (pprof-rs's timer: the session
/// stops the clock before it reads the CPU time and the report, so that
/// both cover the same window).
pub fn stop_itimer_prof() -> io::Result<()> {
    setitimer_prof(ItimerSetting {
        value: Duration::ZERO,
        interval: Duration::ZERO,
    })
    .map(drop)
}

fn query_sigaction() -> io::Result<libc::sigaction> {
    let mut current = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: a null new action only queries; `current` is valid for writing.
    let rc = unsafe { libc::sigaction(SIGPROF, ptr::null(), current.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sigaction succeeded and filled `current`.
    Ok(unsafe { current.assume_init() })
}

/// The current SIGPROF action's handler address (for tests that check it is
/// restored).
pub fn current_sigprof_handler() -> io::Result<usize> {
    query_sigaction().map(|action| action.sa_sigaction)
}

/// Sends SIGPROF to the calling thread with a chosen `si_code` (and
/// `si_overrun` when the code is `SI_TIMER`), through
/// `rt_tgsigqueueinfo`, so a benchmark can drive the handler down the same
/// path as a timer's or `setitimer`'s signal. The kernel allows any code
/// when a process signals itself.
pub fn send_sigprof_to_self(code: c_int, overrun: c_int) -> io::Result<()> {
    // SAFETY: siginfo_t is a plain C struct for which all-zero is valid.
    let mut info: siginfo_t = unsafe { std::mem::zeroed() };
    let view = (&mut info as *mut siginfo_t).cast::<SiginfoTimer>();
    // SAFETY: `view` points into `info`, which is larger than SiginfoTimer.
    unsafe {
        (*view).head.signo = SIGPROF;
        (*view).head.code = code;
        (*view).overrun = overrun;
    }
    let pid = nix::unistd::getpid().as_raw();
    let tid = nix::unistd::gettid().as_raw();
    // SAFETY: rt_tgsigqueueinfo reads a valid siginfo_t; the ids are ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_tgsigqueueinfo,
            pid,
            tid,
            SIGPROF,
            &info as *const siginfo_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A global allocator over the system's that counts allocations made while
/// the calling thread is inside profbench's SIGPROF handler. A test binary
/// installs it with `#[global_allocator]` to prove the handler never
/// allocates.
pub struct HandlerAllocationCounter {
    in_handler: AtomicU64,
}

impl HandlerAllocationCounter {
    /// A counter at zero.
    pub const fn new() -> Self {
        HandlerAllocationCounter {
            in_handler: AtomicU64::new(0),
        }
    }

    /// Allocations (and reallocations) made inside the handler so far.
    pub fn allocations_in_handler(&self) -> u64 {
        self.in_handler.load(Ordering::Relaxed)
    }

    fn note(&self) {
        if in_sigprof_handler() {
            self.in_handler.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Default for HandlerAllocationCounter {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; counting touches only an atomic and a const thread-local.
unsafe impl GlobalAlloc for HandlerAllocationCounter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.note();
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.note();
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.note();
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.note();
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn duration_to_timeval(d: Duration) -> libc::timeval {
    libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    }
}

fn duration_to_timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

fn timeval_to_duration(tv: libc::timeval) -> Duration {
    Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000)
}

/// The process's `ITIMER_PROF`: value until the next expiry and interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItimerSetting {
    /// Time to the next expiry (zero: disarmed).
    pub value: Duration,
    /// Reload interval.
    pub interval: Duration,
}

fn setitimer_prof(setting: ItimerSetting) -> io::Result<ItimerSetting> {
    let new = libc::itimerval {
        it_interval: duration_to_timeval(setting.interval),
        it_value: duration_to_timeval(setting.value),
    };
    let mut old = MaybeUninit::<libc::itimerval>::uninit();
    // SAFETY: both pointers are valid; ITIMER_PROF is a valid timer.
    let rc = unsafe { libc::setitimer(libc::ITIMER_PROF, &new, old.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: setitimer succeeded and filled `old`.
    let old = unsafe { old.assume_init() };
    Ok(ItimerSetting {
        value: timeval_to_duration(old.it_value),
        interval: timeval_to_duration(old.it_interval),
    })
}

/// Reads `ITIMER_PROF` without changing it.
pub fn itimer_prof() -> io::Result<ItimerSetting> {
    let mut current = MaybeUninit::<libc::itimerval>::uninit();
    // SAFETY: the pointer is valid for writing.
    let rc = unsafe { libc::getitimer(libc::ITIMER_PROF, current.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getitimer succeeded and filled `current`.
    let current = unsafe { current.assume_init() };
    Ok(ItimerSetting {
        value: timeval_to_duration(current.it_value),
        interval: timeval_to_duration(current.it_interval),
    })
}

/// An armed `ITIMER_PROF`; dropping it (or [`disarm`]) puts back whatever
/// setting it replaced.
///
/// [`disarm`]: ProfItimer::disarm
pub struct ProfItimer {
    previous: Option<ItimerSetting>,
}

impl ProfItimer {
    /// Arms `ITIMER_PROF` to expire every `period` of process CPU time.
    pub fn arm(period: Duration) -> io::Result<Self> {
        let previous = setitimer_prof(ItimerSetting {
            value: period,
            interval: period,
        })?;
        Ok(ProfItimer {
            previous: Some(previous),
        })
    }

    /// Stops it and restores the previous setting.
    pub fn disarm(mut self) -> io::Result<()> {
        self.disarm_inner()
    }

    fn disarm_inner(&mut self) -> io::Result<()> {
        match self.previous.take() {
            Some(previous) => setitimer_prof(previous).map(drop),
            None => Ok(()),
        }
    }
}

impl Drop for ProfItimer {
    fn drop(&mut self) {
        let _ = self.disarm_inner();
    }
}

/// A POSIX timer (`timer_create`) on a CPU clock that delivers SIGPROF;
/// dropped, it is deleted (and never panics, even while unwinding, unlike
/// `nix::sys::timer::Timer`).
pub struct PosixTimer {
    id: libc::timer_t,
}

// SAFETY: a timer_t is a kernel handle valid from any thread of the process.
unsafe impl Send for PosixTimer {}

impl PosixTimer {
    fn create(clock: libc::clockid_t, notify: c_int, tid: libc::pid_t) -> io::Result<Self> {
        // SAFETY: sigevent is a plain C struct for which all-zero is valid.
        let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
        event.sigev_notify = notify;
        event.sigev_signo = SIGPROF;
        event.sigev_notify_thread_id = tid;
        let mut id = MaybeUninit::<libc::timer_t>::uninit();
        // SAFETY: `event` and `id` are valid; the clock id is a constant.
        let rc = unsafe { libc::timer_create(clock, &mut event, id.as_mut_ptr()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: timer_create succeeded and wrote the id.
        Ok(PosixTimer {
            id: unsafe { id.assume_init() },
        })
    }

    /// A timer on the calling thread's CPU clock whose signal goes to the
    /// calling thread, whose kernel id `tid` must be.
    pub fn for_this_thread(tid: libc::pid_t) -> io::Result<Self> {
        Self::create(libc::CLOCK_THREAD_CPUTIME_ID, libc::SIGEV_THREAD_ID, tid)
    }

    /// A timer on the process's CPU clock whose signal goes to the process.
    pub fn for_process() -> io::Result<Self> {
        Self::create(libc::CLOCK_PROCESS_CPUTIME_ID, libc::SIGEV_SIGNAL, 0)
    }

    /// Starts it: first expiry after `first` of the clock, then every `period`.
    pub fn arm(&mut self, first: Duration, period: Duration) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: duration_to_timespec(period),
            it_value: duration_to_timespec(first),
        };
        // SAFETY: `self.id` is a live timer (deleted only in Drop); `spec` is valid.
        let rc = unsafe { libc::timer_settime(self.id, 0, &spec, ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for PosixTimer {
    fn drop(&mut self) {
        // SAFETY: `self.id` is live and deleted exactly once, here.
        unsafe { libc::timer_delete(self.id) };
    }
}

/// A `perf_event_open` software task-clock counter on the calling thread
/// that sends SIGPROF to that thread every `period` of its CPU time; closing
/// it (drop) stops the signals.
pub struct PerfTaskClock {
    fd: OwnedFd,
}

fn check(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl PerfTaskClock {
    /// Opens the counter, routes its overflow signal to thread `tid` (which
    /// must be the calling thread) and enables it. `exclude_kernel` drops
    /// overflows that land in kernel mode; it is needed where
    /// `perf_event_paranoid` forbids kernel profiling.
    pub fn open(tid: libc::pid_t, period: Duration, exclude_kernel: bool) -> io::Result<Self> {
        use perf_event_open_sys::bindings;
        let mut attr = bindings::perf_event_attr {
            type_: bindings::PERF_TYPE_SOFTWARE,
            size: std::mem::size_of::<bindings::perf_event_attr>() as u32,
            config: u64::from(bindings::PERF_COUNT_SW_TASK_CLOCK),
            ..Default::default()
        };
        attr.__bindgen_anon_1.sample_period = period.as_nanos().max(1) as u64;
        attr.set_disabled(1);
        attr.set_exclude_hv(1);
        attr.set_exclude_kernel(u64::from(exclude_kernel));
        // SAFETY: `attr` is a valid, fully initialised perf_event_attr of the
        // size it declares; pid 0 / cpu -1 means "this thread, any CPU".
        let raw = check(unsafe {
            perf_event_open_sys::perf_event_open(
                &mut attr,
                0,
                -1,
                -1,
                u64::from(bindings::PERF_FLAG_FD_CLOEXEC) as libc::c_ulong,
            )
        })?;
        // SAFETY: perf_event_open returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let counter = PerfTaskClock { fd };
        counter.route_signal_to(tid)?;
        // SAFETY: the fd is a perf event; ENABLE takes no pointer argument.
        check(unsafe { perf_event_open_sys::ioctls::ENABLE(counter.fd.as_raw_fd(), 0) })?;
        Ok(counter)
    }

    fn route_signal_to(&self, tid: libc::pid_t) -> io::Result<()> {
        let fd = self.fd.as_raw_fd();
        let owner = FOwnerEx {
            kind: F_OWNER_TID,
            pid: tid,
        };
        // SAFETY: fcntl on a descriptor we own, with the argument types each
        // command takes (a struct pointer for F_SETOWN_EX, ints otherwise).
        unsafe {
            check(libc::fcntl(fd, F_SETOWN_EX, &owner as *const FOwnerEx))?;
            check(libc::fcntl(fd, F_SETSIG, SIGPROF))?;
            let flags = check(libc::fcntl(fd, libc::F_GETFL))?;
            check(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_ASYNC))?;
        }
        Ok(())
    }

    /// Stops counting and returns the task-clock total in ns.
    pub fn stop(&self) -> io::Result<u64> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: the fd is a perf event; DISABLE takes no pointer argument.
        check(unsafe { perf_event_open_sys::ioctls::DISABLE(fd, 0) })?;
        let mut value = 0u64;
        // SAFETY: reading 8 bytes into a u64 we own; the default read_format
        // of a perf event is one u64.
        let n = unsafe { libc::read(fd, (&mut value as *mut u64).cast(), 8) };
        if n != 8 {
            return Err(if n < 0 {
                io::Error::last_os_error()
            } else {
                io::Error::new(io::ErrorKind::UnexpectedEof, "short read of a perf counter")
            });
        }
        Ok(value)
    }
}

/// A thread made with a raw `pthread_create`, outside `std::thread`, like a
/// thread a C library starts behind a runtime's back.
pub struct RawThread {
    handle: libc::pthread_t,
    joined: bool,
}

type RawBody = Box<dyn FnOnce() + Send + 'static>;

extern "C" fn raw_thread_start(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the Box leaked by `RawThread::spawn`, handed to exactly
    // this one thread.
    let body = unsafe { Box::from_raw(arg.cast::<RawBody>()) };
    // Unwinding out of an extern "C" function aborts; report a panic instead.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(()) => ptr::null_mut(),
        Err(_) => ptr::without_provenance_mut(1),
    }
}

impl RawThread {
    /// Starts `body` on a new raw pthread.
    pub fn spawn(body: RawBody) -> io::Result<Self> {
        let arg = Box::into_raw(Box::new(body));
        let mut handle = MaybeUninit::<libc::pthread_t>::uninit();
        // SAFETY: the start routine has the required ABI; `arg` stays valid
        // until the new thread takes it back.
        let rc = unsafe {
            libc::pthread_create(
                handle.as_mut_ptr(),
                ptr::null(),
                raw_thread_start,
                arg.cast(),
            )
        };
        if rc != 0 {
            // SAFETY: the thread was not created, so `arg` is still ours.
            drop(unsafe { Box::from_raw(arg) });
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(RawThread {
            // SAFETY: pthread_create succeeded and wrote the handle.
            handle: unsafe { handle.assume_init() },
            joined: false,
        })
    }

    /// Waits for the thread; `Ok(false)` if its body panicked.
    pub fn join(mut self) -> io::Result<bool> {
        let mut result: *mut c_void = ptr::null_mut();
        self.joined = true;
        // SAFETY: the handle is a joinable thread not yet joined or detached.
        let rc = unsafe { libc::pthread_join(self.handle, &mut result) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(result.is_null())
    }
}

impl Drop for RawThread {
    fn drop(&mut self) {
        if !self.joined {
            // SAFETY: a joinable thread not yet joined; detaching lets its
            // resources go when it exits.
            unsafe { libc::pthread_detach(self.handle) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn siginfo_views_match_the_kernel_layout() {
        // si_overrun and si_fd sit after a 4-byte pad on 64-bit targets.
        assert_eq!(std::mem::offset_of!(SiginfoTimer, overrun), 20);
        assert_eq!(std::mem::offset_of!(SiginfoPoll, fd), 24);
        assert!(std::mem::size_of::<siginfo_t>() >= std::mem::size_of::<SiginfoPoll>());
    }

    #[test]
    fn raw_thread_runs_and_reports_panics() {
        let (tx, rx) = std::sync::mpsc::channel();
        let t = RawThread::spawn(Box::new(move || tx.send(7).unwrap())).unwrap();
        assert!(t.join().unwrap());
        assert_eq!(rx.recv().unwrap(), 7);
        let t = RawThread::spawn(Box::new(|| panic!("on purpose"))).unwrap();
        assert!(!t.join().unwrap());
    }
}
