//! Steady points under the weak sync modes run on the syncer thread: the
//! commit that finds one due hands it over and goes on, so writers do not
//! wait for the disk; only when the syncer falls twice the threshold behind
//! does a committing thread make the steady point itself (which bounds the
//! file). Shown with a backend whose fsync waits at a gate.

use std::fs::File;
use std::io;
use std::sync::{Arc, Condvar, Mutex};

use crate::error::Result;
use crate::options::{Options, SyncMode};
use crate::storage::{IoBackend, ReadOp, SyncIo, WriteOp};
use crate::Database;

/// `SyncIo` whose `sync` blocks while the gate is closed, recording the
/// name of each thread that called it.
#[derive(Debug)]
struct GatedIo {
    inner: SyncIo,
    gate: Mutex<Gate>,
    cv: Condvar,
}

#[derive(Debug, Default)]
struct Gate {
    closed: bool,
    callers: Vec<String>,
    waiting: usize,
    /// The next sync to pass the gate fails with EIO (its writes lost).
    fail_next: bool,
}

impl GatedIo {
    fn set_closed(&self, closed: bool) {
        self.gate.lock().unwrap().closed = closed;
        self.cv.notify_all();
    }

    /// Waits until a sync is blocked at the gate; returns its caller.
    fn wait_for_blocked_sync(&self) -> String {
        let g = self.cv.wait_while(self.gate.lock().unwrap(), |g| g.waiting == 0).unwrap();
        g.callers.last().cloned().unwrap_or_default()
    }
}

impl IoBackend for GatedIo {
    fn name(&self) -> &'static str {
        "gated"
    }

    fn write_batch(&self, ops: &[WriteOp<'_>]) -> io::Result<()> {
        self.inner.write_batch(ops)
    }

    fn read_batch(&self, ops: &mut [ReadOp<'_>]) -> io::Result<()> {
        self.inner.read_batch(ops)
    }

    fn sync(&self) -> io::Result<()> {
        let mut g = self.gate.lock().unwrap();
        g.callers.push(std::thread::current().name().unwrap_or("?").to_string());
        g.waiting += 1;
        self.cv.notify_all();
        let mut g = self.cv.wait_while(g, |g| g.closed).unwrap();
        g.waiting -= 1;
        if std::mem::take(&mut g.fail_next) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        drop(g);
        self.inner.sync()
    }

    fn grow(&self, len: u64) -> io::Result<()> {
        self.inner.grow(len)
    }
}

fn open_gated(path: &std::path::Path, opts: Options) -> (Database, Arc<GatedIo>) {
    let made: Mutex<Option<Arc<GatedIo>>> = Mutex::new(None);
    let factory = |f: File, _: &Options| -> Result<Arc<dyn IoBackend>> {
        let io = Arc::new(GatedIo { inner: SyncIo::new(f, 1 << 20), gate: Mutex::default(), cv: Condvar::new() });
        *made.lock().unwrap() = Some(io.clone());
        Ok(io)
    };
    let db = Database::open_with_backend(path, opts, &factory).unwrap();
    let io = made.lock().unwrap().take().unwrap();
    (db, io)
}

/// Keys `load` writes, and `rewrite` rewrites a window of.
const KEYS: u64 = 40_000;
const WINDOW: u64 = 2_000;

fn key(k: u64) -> Vec<u8> {
    format!("key{k:05}").into_bytes()
}

/// Writes `KEYS` keys with 100-byte values and makes them durable.
fn load(db: &Database) {
    let mut w = db.begin_write().unwrap();
    for k in 0..KEYS {
        w.put(&key(k), &[0; 100]).unwrap();
    }
    w.commit().unwrap();
    db.sync().unwrap();
}

/// Rewrites the next window of `WINDOW` keys: every commit copies the
/// leaves of its window, which the durable snapshot still reaches until
/// the windows wrap around (pages written after the durable snapshot would
/// be reused at once, and pin nothing).
fn rewrite(db: &Database, round: u64) {
    let first = round * WINDOW % KEYS;
    let mut w = db.begin_write().unwrap();
    for k in first..first + WINDOW {
        w.put(&key(k), &[round as u8; 100]).unwrap();
    }
    w.commit().unwrap();
}

/// A writer thread that commits one `rewrite` per request and answers with
/// the txid it committed.
struct Writer {
    go: std::sync::mpsc::Sender<bool>,
    done: std::sync::mpsc::Receiver<u64>,
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    fn start(db: Database) -> Writer {
        let (go, go_rx) = std::sync::mpsc::channel::<bool>();
        let (done_tx, done) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut round = 0;
            while go_rx.recv() == Ok(true) {
                round += 1;
                rewrite(&db, round);
                let _ = done_tx.send(db.stat().unwrap().last_txid);
            }
        });
        Writer { go, done, thread }
    }

    /// One commit; None if it did not end within `wait`.
    fn commit(&self, wait: std::time::Duration) -> Option<u64> {
        self.go.send(true).unwrap();
        self.done.recv_timeout(wait).ok()
    }
}

#[test]
fn a_due_steady_point_runs_on_the_syncer_while_commits_go_on() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bg.db");
    let opts = Options::new().sync_mode(SyncMode::None).unwrap().autosync_bytes(1 << 20);
    let (db, io) = open_gated(&path, opts);
    load(&db);
    io.set_closed(true);
    let w = Writer::start(db.clone());
    let blocked = || io.gate.lock().unwrap().waiting > 0;
    let mut commits = 0;
    while !blocked() {
        w.commit(Duration::from_secs(20))
            .expect("a commit waited for the disk: its steady point did not go to the syncer");
        std::thread::sleep(Duration::from_millis(2)); // time for the syncer to reach the gate
        commits += 1;
        assert!(commits < 10_000, "no steady point in {commits} commits");
    }
    let first = io.wait_for_blocked_sync();
    assert_eq!(first, "thunder-sync", "the first steady point's sync ran on {first}, not on the syncer");
    // The writer goes on while the syncer waits for the disk...
    for _ in 0..3 {
        w.commit(Duration::from_secs(20)).expect("a commit waited for the syncer's steady point");
    }
    // ...until twice the threshold is pinned: then the committing thread
    // makes the steady point itself, and so waits for the same disk.
    let mut more = 0;
    while w.commit(Duration::from_secs(1)).is_some() {
        more += 1;
        assert!(more < 10_000, "the writer never waited for the stuck steady point");
    }
    io.set_closed(false);
    let last = w.done.recv_timeout(Duration::from_secs(20)).expect("the waiting commit ends once the disk answers");
    w.go.send(false).unwrap();
    w.thread.join().unwrap();
    assert_eq!(db.stat().unwrap().last_txid, last);
    db.check().unwrap();
    db.close().map_err(|e| e.error).unwrap();
}

/// Bug: a sync that started before another sync's fsync failed, and waited
/// for it, then ran its own fsync (which succeeds: the failed writes are
/// clean pages by then) and wrote its meta: acknowledged, durable, over
/// pages that never reached the disk. The poison is checked again once the
/// sync is under way.
#[test]
fn a_sync_waiting_behind_a_failed_fsync_is_refused() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poison.db");
    let (db, io) = open_gated(&path, Options::new().sync_mode(SyncMode::None).unwrap());
    let db = Arc::new(db);
    let mut tx = db.begin_write().unwrap();
    for k in 0..2000 {
        tx.put(&key(k), &[1u8; 100]).unwrap();
    }
    tx.commit().unwrap();
    db.sync().unwrap();
    let mut tx = db.begin_write().unwrap();
    for k in 0..2000 {
        tx.put(&key(k), &[2u8; 100]).unwrap();
    }
    tx.commit().unwrap();
    {
        let mut g = io.gate.lock().unwrap();
        g.closed = true;
        g.fail_next = true;
    }
    let first = {
        let db = db.clone();
        std::thread::spawn(move || db.sync())
    };
    io.wait_for_blocked_sync();
    let second = {
        let db = db.clone();
        std::thread::spawn(move || db.sync())
    };
    // The second sync gets past its first poison check and waits for the
    // first one's lock.
    std::thread::sleep(Duration::from_millis(200));
    io.set_closed(false);
    let (a, b) = (first.join().unwrap(), second.join().unwrap());
    assert!(a.is_err(), "the gated sync failed: {a:?}");
    assert!(b.is_err(), "a sync after the failed fsync was acknowledged: {b:?}");
}
