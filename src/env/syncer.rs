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
                // A failure poisons the database; writers then report it.
                let _ = if checkpoint { env.checkpoint_by(By::Background) } else { env.sync_by(By::Background) };
                if checkpoint {
                    env.checkpoint_done();
                }
            })
            .ok();
        Syncer { shared, thread }
    }

    /// Asks for a checkpoint; false if the thread is not running.
    pub fn kick(&self) -> bool {
        if self.thread.is_none() {
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
