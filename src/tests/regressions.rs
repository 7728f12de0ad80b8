//! Regression tests for engine bugs the crash tests exposed. Each opens
//! with what the bug was.

use std::sync::mpsc;
use std::time::Duration;

use crate::options::{Options, SyncMode};
use crate::Database;

/// Bug: closing (or dropping) a database opened with `SyncMode::Batched`
/// could block for a whole sync interval. The background syncer went
/// straight into `Condvar::wait_timeout` without first looking at its stop
/// flag, so a stop signalled before the thread reached its wait (a database
/// closed soon after it was opened) was missed, and `close` sat in `join`
/// until the interval ran out: an hour here. Fixed in `Syncer::start`
/// (src/db.rs), which now waits with `wait_timeout_while` on the flag.
#[test]
fn batched_close_right_after_open_does_not_wait_for_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batched.db");
    let opts = Options::new().sync_mode(SyncMode::Batched(Duration::from_secs(3600))).unwrap();
    let (done, wait) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..50 {
            let db = Database::open_with_options(&path, opts.clone()).expect("open");
            db.close().expect("close");
        }
        done.send(()).ok();
    });
    // Fifty opens and closes take milliseconds; a missed stop takes an hour.
    wait.recv_timeout(Duration::from_secs(30)).expect("closing a batched database waited for the sync interval");
}
