//! The `SyncMode::Batched` interval thread: makes the latest commit durable
//! every interval. It holds the environment weakly, so it never keeps a
//! database open; the last handle stops and joins it.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::env::Env;

#[derive(Debug)]
pub(crate) struct Syncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    pub fn start(env: Weak<Env>, interval: Duration) -> Syncer {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("thunder-sync".into())
            .spawn(move || loop {
                let (lock, cv) = &*flag;
                let stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                // The flag is checked before waiting: a stop requested before
                // this thread first got here, or while it was syncing, must
                // not be lost (close joins this thread).
                let (stopped, _) = cv.wait_timeout_while(stopped, interval, |s| !*s).unwrap_or_else(|p| p.into_inner());
                if *stopped {
                    return;
                }
                drop(stopped);
                let Some(env) = env.upgrade() else { return };
                // A failure poisons the database; writers then report it.
                let _ = env.sync();
            })
            .ok();
        Syncer { stop, thread }
    }

    pub fn stop(mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            // The last reference may be dropped on the sync thread itself.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}
