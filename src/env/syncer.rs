//! The background durability thread. A commit that finds a steady point
//! (or a checkpoint) due kicks it instead of waiting for the data sync
//! itself, so the writer goes on while the disk works; under
//! `SyncMode::Batched` it also makes the latest commit durable every
//! interval. It holds the environment weakly, so it never keeps a database
//! open; the last handle stops and joins it.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::env::durability::By;
use crate::env::Env;

#[derive(Debug)]
pub(crate) struct Syncer {
    shared: Arc<(Mutex<Requests>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Requests {
    stop: bool,
    /// A checkpoint was asked for and has not started yet.
    checkpoint: bool,
}

impl Syncer {
    /// Starts the thread; `interval`: the batched sync interval, if any.
    pub fn start(env: Weak<Env>, interval: Option<Duration>) -> Syncer {
        let shared = Arc::new((Mutex::new(Requests::default()), Condvar::new()));
        let requests = shared.clone();
        let thread = std::thread::Builder::new()
            .name("thunder-sync".into())
            .spawn(move || loop {
                let (lock, cv) = &*requests;
                let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
                // The flags are checked before waiting: a stop or a kick that
                // came before this thread first got here, or while it was
                // syncing, must not be lost (close joins this thread).
                let idle = |r: &mut Requests| !r.stop && !r.checkpoint;
                let mut guard = match interval {
                    Some(t) => cv.wait_timeout_while(guard, t, idle).unwrap_or_else(|p| p.into_inner()).0,
                    None => cv.wait_while(guard, idle).unwrap_or_else(|p| p.into_inner()),
                };
                if guard.stop {
                    return;
                }
                let checkpoint = std::mem::take(&mut guard.checkpoint);
                drop(guard);
                let Some(env) = env.upgrade() else { return };
                if checkpoint {
                    // Done even if the checkpoint panics (ending this
                    // thread): a checkpoint left marked as queued would never
                    // be asked for again, and the file would grow to twice
                    // the threshold before a writer made one itself.
                    let _done = CheckpointDone(&env);
                    // A failure poisons the database; writers then report it.
                    let _ = env.checkpoint_by(By::Background);
                } else {
                    let _ = env.sync_by(By::Background);
                }
            })
            .ok();
        Syncer { shared, thread }
    }

    /// Asks for a checkpoint; false if the thread is not running (it could
    /// not start, or it ended).
    pub fn kick(&self) -> bool {
        if self.thread.as_ref().is_none_or(|t| t.is_finished()) {
            return false;
        }
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).checkpoint = true;
        cv.notify_one();
        true
    }

    pub fn stop(mut self) {
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            // The last reference may be dropped on the sync thread itself.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// Tells the environment its queued checkpoint is over when dropped.
struct CheckpointDone<'a>(&'a Env);

impl Drop for CheckpointDone<'_> {
    fn drop(&mut self) {
        self.0.checkpoint_done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bug: `kick` said a checkpoint was handed over whenever the thread had
    /// started, also after it ended, so the checkpoint stayed queued with
    /// nobody to make it. Here the thread ends at its first wake-up (its
    /// environment is gone).
    #[test]
    fn a_syncer_that_ended_takes_no_checkpoint() {
        let syncer = Syncer::start(Weak::new(), Some(Duration::from_millis(1)));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while syncer.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            assert!(std::time::Instant::now() < deadline, "the syncer did not end");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!syncer.kick(), "a kick to an ended syncer is refused");
        syncer.stop();
    }
}
