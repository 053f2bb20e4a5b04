//! The thread-spawning hook. Workloads create every thread through a
//! [`Spawner`], so the sampler can register each one (arm its per-thread
//! timer, count its samples, read its CPU clock before it exits) or
//! deliberately leave it unregistered, as a cgo thread is to Go's runtime.

use std::thread;

use thiserror::Error;

/// Whether the sampler knows about a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadRole {
    /// Registered with the sampler: gets a per-thread timer in per-thread modes.
    Registered,
    /// Created with a raw `pthread_create` and never registered: the sampler
    /// still measures its CPU but gives it no timer of its own.
    Foreign,
}

/// The work a spawned thread runs.
pub type ThreadBody = Box<dyn FnOnce() + Send + 'static>;

/// Why a thread could not be spawned or joined.
#[derive(Debug, Error)]
pub enum SpawnError {
    /// The OS refused to create the thread.
    #[error("could not create a thread: {0}")]
    Create(#[source] std::io::Error),
    /// The thread's body panicked.
    #[error("a workload thread panicked")]
    Panicked,
}

/// A spawned thread; [`ThreadHandle::join`] waits for it to exit.
pub struct ThreadHandle {
    join: Box<dyn FnOnce() -> Result<(), SpawnError> + Send>,
}

impl ThreadHandle {
    /// Wraps the function that waits for the thread.
    pub fn new(join: impl FnOnce() -> Result<(), SpawnError> + Send + 'static) -> Self {
        ThreadHandle {
            join: Box::new(join),
        }
    }

    /// Waits for the thread to exit.
    pub fn join(self) -> Result<(), SpawnError> {
        (self.join)()
    }
}

/// Creates threads on behalf of a workload.
pub trait Spawner: Sync {
    /// Starts a thread of the given role running `body`.
    fn spawn(&self, role: ThreadRole, body: ThreadBody) -> Result<ThreadHandle, SpawnError>;
}

/// Plain `std::thread` spawning, for running a workload without a sampler
/// (`profbench burn`, or under an external profiler). Without a sampler the
/// two roles do not differ, so both become ordinary threads.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdSpawner;

impl Spawner for StdSpawner {
    fn spawn(&self, _role: ThreadRole, body: ThreadBody) -> Result<ThreadHandle, SpawnError> {
        let handle = thread::Builder::new()
            .name("profbench-worker".into())
            .spawn(body)
            .map_err(SpawnError::Create)?;
        Ok(ThreadHandle::new(move || {
            handle.join().map_err(|_| SpawnError::Panicked)
        }))
    }
}
