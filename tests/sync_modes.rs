//! Sync modes and statistics.
//!
//! How durability is observed. A commit is durable once its meta page is on
//! disk; until then the file's meta pages still name an older snapshot. The
//! tests read the two meta pages straight from the file (`durable_txid`):
//! the engine writes pages with pwrite, so a plain read sees exactly what a
//! process killed at that instant would leave behind, and the engine fsyncs
//! right after writing a meta. That is robust where the alternatives are
//! not: a read-only open in another process is refused while this one holds
//! the lock, and a reopen here would itself sync. The crash tests check the
//! same thing end to end: a child process commits and is killed with
//! SIGKILL, and the parent reopens the file.

use std::thread;
use std::time::Duration;

use thunder::{Database, Options, SyncMode};

fn opts(mode: SyncMode) -> Options {
    Options::new().sync_mode(mode).unwrap()
}

const HOUR: Duration = Duration::from_secs(3600);

/// Regression: closing a database opened with `Batched(interval)` could hang
/// for a whole interval. The syncer thread waited on its condition variable
/// without first looking at the stop flag, so a stop requested before the
/// thread reached its wait (just after open) or while it was syncing was
/// missed, and close then joined a thread asleep for the full interval (an
/// hour here). Open and close back to back, many times, under a watchdog.
#[test]
fn close_right_after_open_does_not_wait_for_the_batched_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quick.db");
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for i in 0..200u64 {
            let db = Database::open_with_options(&path, opts(SyncMode::Batched(HOUR))).unwrap();
            if i % 2 == 0 {
                let mut tx = db.begin_write().unwrap();
                tx.put(&i.to_le_bytes(), b"v").unwrap();
                tx.commit().unwrap();
            }
            db.close().unwrap();
        }
        done.send(()).unwrap();
    });
    finished.recv_timeout(Duration::from_secs(20)).expect("close hung waiting for the syncer's interval");
}
