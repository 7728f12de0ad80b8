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

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::pages::newest_meta;
use common::{seed, Rng, SeedGuard, TestDb};
use thunder::{Database, Options, SyncMode};

/// flock locks belong to the open file description, and a child process
/// holds a copy of every descriptor between its fork and its exec (the fork
/// caveat of the API). A test that closes a database and opens it again at
/// once would see `Locked` if another test of this binary forked in that
/// window, so the tests that spawn children hold this exclusively and every
/// other test holds it shared.
static FORKS: RwLock<()> = RwLock::new(());

fn forks_shared() -> RwLockReadGuard<'static, ()> {
    FORKS.read().unwrap_or_else(|p| p.into_inner())
}

fn forks_exclusive() -> RwLockWriteGuard<'static, ()> {
    FORKS.write().unwrap_or_else(|p| p.into_inner())
}

/// The txid of the newest valid meta page in the file: what an open after a
/// crash at this instant would find.
fn durable_txid(path: &Path, page_size: usize) -> u64 {
    newest_meta(&std::fs::read(path).unwrap(), page_size).1
}

fn opts(mode: SyncMode) -> Options {
    Options::new().sync_mode(mode).unwrap()
}

const HOUR: Duration = Duration::from_secs(3600);

/// In every mode a commit is visible to readers begun after it, on any
/// thread, whether or not it is durable yet.
#[test]
fn commits_are_visible_to_new_readers_at_once() {
    let _forks = forks_shared();
    for mode in [SyncMode::Full, SyncMode::None, SyncMode::Batched(HOUR), SyncMode::Batched(Duration::from_millis(5))] {
        let t = TestDb::new(opts(mode));
        let db = t.db().clone();
        for i in 1..=20u64 {
            let mut tx = db.begin_write().unwrap();
            tx.put(b"counter", &i.to_le_bytes()).unwrap();
            tx.commit().unwrap();
            assert_eq!(db.begin_read().unwrap().get(b"counter").unwrap(), Some(&i.to_le_bytes()[..]), "{mode:?}");
            let db2 = db.clone();
            let seen = thread::spawn(move || db2.begin_read().unwrap().id()).join().unwrap();
            assert_eq!(seen, i, "{mode:?}");
        }
    }
}

/// `None`, and `Batched` with an interval that never elapses here, leave the
/// meta on disk alone until `sync()` or a clean close; `Full` writes it at
/// every commit. A reopen then shows everything.
#[test]
fn sync_and_clean_close_make_commits_durable() {
    let _forks = forks_shared();
    for mode in [SyncMode::None, SyncMode::Batched(HOUR), SyncMode::Full] {
        let mut t = TestDb::new(opts(mode));
        let full = mode == SyncMode::Full;
        let commit = |db: &Database, i: u64| {
            let mut tx = db.begin_write().unwrap();
            tx.put(format!("k{i}").as_bytes(), &[i as u8; 100]).unwrap();
            tx.commit().unwrap();
        };
        for i in 1..=5 {
            commit(t.db(), i);
        }
        assert_eq!(durable_txid(t.path(), 4096), if full { 5 } else { 0 }, "{mode:?}");
        t.db().sync().unwrap();
        assert_eq!(durable_txid(t.path(), 4096), 5, "{mode:?}: sync");
        for i in 6..=8 {
            commit(t.db(), i);
        }
        assert_eq!(durable_txid(t.path(), 4096), if full { 8 } else { 5 }, "{mode:?}");
        t.reopen(); // a clean close, then open and check
        assert_eq!(durable_txid(t.path(), 4096), 8, "{mode:?}: close");
        let r = t.db().begin_read().unwrap();
        assert_eq!((r.id(), r.iter().count()), (8, 8), "{mode:?}");
    }
}

/// With `Batched(100 ms)` and no further calls, the background syncer makes
/// a commit durable: measured from the commit to the moment its meta is in
/// the file. The bound is generous (20 intervals) because the machine is
/// shared; the syncer wakes every interval.
#[test]
fn batched_syncer_makes_commits_durable_within_the_interval() {
    let _forks = forks_shared();
    let interval = Duration::from_millis(100);
    let t = TestDb::new(opts(SyncMode::Batched(interval)));
    let mut worst = Duration::ZERO;
    for i in 1..=3u64 {
        let mut tx = t.db().begin_write().unwrap();
        tx.put(b"k", &i.to_le_bytes()).unwrap();
        tx.commit().unwrap();
        let committed = Instant::now();
        while durable_txid(t.path(), 4096) < i {
            assert!(committed.elapsed() < interval * 20, "commit {i} not durable after {:?}", committed.elapsed());
            thread::sleep(Duration::from_millis(5));
        }
        worst = worst.max(committed.elapsed());
    }
    println!("batched(100 ms): commits durable within {worst:?}");
}

/// The durable snapshot is pinned like a reader: under `None`, pages it
/// reaches that commits freed after the last sync stay pending (so a crash
/// can fall back to it), and a sync releases them. Pages written after it
/// wait for readers only: rewriting the same keys reuses them, so the
/// pending set and the file stop growing after the first rewrite.
#[test]
fn unsynced_commits_keep_the_durable_snapshot_pinned() {
    let _forks = forks_shared();
    let t = TestDb::new(opts(SyncMode::None));
    let db = t.db();
    let rewrite = |v: u8| {
        let mut tx = db.begin_write().unwrap();
        for i in 0..500u32 {
            tx.put(&i.to_be_bytes(), &[v; 100]).unwrap();
        }
        tx.commit().unwrap();
    };
    rewrite(0);
    db.sync().unwrap();
    let synced = db.stat().unwrap();
    rewrite(1);
    let first = db.stat().unwrap();
    assert!(
        first.pending_page_count >= synced.page_count.saturating_sub(synced.free_page_count + 2) / 2,
        "the first rewrite copied the durable tree, whose pages stay pending: {first:?} after {synced:?}"
    );
    let mut pages = 0;
    for v in 2..=30 {
        rewrite(v);
        let st = db.stat().unwrap();
        assert_eq!(
            st.pending_page_count, first.pending_page_count,
            "commit {v}: only the durable snapshot's pages stay pending"
        );
        if v == 3 {
            pages = st.page_count;
        }
        assert!(v <= 3 || st.page_count == pages, "commit {v}: the file grew to {} pages from {pages}", st.page_count);
    }
    db.sync().unwrap();
    let st = db.stat().unwrap();
    assert_eq!(st.pending_page_count, 0, "the sync made the newest commit durable: nothing older is pinned");
    assert!(st.free_page_count >= first.pending_page_count);
}

const CHILD_ENV: &str = "THUNDER_SYNC_TEST_CHILD";
const KEYS: u32 = 400;

/// The state after commit `txn` of the crash child: every key holds a value
/// derived from the txn (and the seed), some above the overflow threshold.
fn crash_state(seed: u64, txn: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut rng = Rng::new(seed ^ txn);
    (0..KEYS)
        .map(|i| {
            let len = if i % 50 == 0 { 3000 } else { rng.range(20, 120) as usize };
            (format!("key{i:04}").into_bytes(), rng.bytes(len))
        })
        .collect()
}

/// Commits the `auto` crash child makes, with no sync call.
const AUTO_COMMITS: u64 = 300;

/// Child side of `kill_after_sync_keeps_exactly_the_durable_state`: commits
/// 3 transactions, syncs, commits 30 more (which would reuse the synced
/// tree's pages if the durable snapshot were not pinned), prints READY and
/// waits to be killed. Mode `auto` (for
/// `kill_amid_steady_points_keeps_a_whole_commit`) is `None` with a steady
/// point every few commits, on the syncer, and no sync call.
fn crash_child(spec: &str) -> ! {
    let (mode, rest) = spec.split_once(':').unwrap();
    let (seed, path) = rest.split_once(':').unwrap();
    let (options, commits) = match mode {
        "none" => (opts(SyncMode::None), 33),
        "batched" => (opts(SyncMode::Batched(HOUR)), 33),
        "auto" => (opts(SyncMode::None).autosync_bytes(64 << 10), AUTO_COMMITS),
        _ => (opts(SyncMode::Full), 33),
    };
    let seed: u64 = seed.parse().unwrap();
    let db = Database::open_with_options(path, options).unwrap();
    for txn in 1..=commits {
        let mut tx = db.begin_write().unwrap();
        for (k, v) in crash_state(seed, txn) {
            tx.put(&k, &v).unwrap();
        }
        tx.commit().unwrap();
        if txn == 3 {
            db.sync().unwrap();
        }
    }
    println!("READY");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    unreachable!("the parent kills this process");
}

/// Runs test `test` as a crash child with spec `spec` (mode:seed) on
/// `path`, kills it once it printed READY, reopens the file and checks it;
/// returns the txid it reopened at and its contents. `what` names the run
/// in failures.
fn kill_and_reopen(test: &str, spec: &str, path: &Path, what: &str) -> (u64, BTreeMap<Vec<u8>, Vec<u8>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{spec}:{}", path.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = BufReader::new(child.stdout.take().unwrap()).lines().any(|l| l.unwrap().contains("READY"));
    assert!(ready, "{what}: the child did not finish its commits");
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    let db = Database::open(path).unwrap();
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    let got = r.iter().map(|i| i.unwrap()).map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    (r.id(), got)
}

/// A process killed after unsynced commits leaves exactly the last durable
/// state: commit 3 (the last sync) under `None` and `Batched`, commit 33
/// under `Full`; never a mix, and the file passes the integrity check.
#[test]
fn kill_after_sync_keeps_exactly_the_durable_state() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        crash_child(&spec);
    }
    let _forks = forks_exclusive();
    let s = seed(0x5C4C_0001);
    let _g = SeedGuard::new("kill_after_sync_keeps_exactly_the_durable_state", s);
    let dir = tempfile::tempdir().unwrap();
    for (mode, want) in [("none", 3), ("batched", 3), ("full", 33)] {
        let path = dir.path().join(format!("{mode}.db"));
        let (id, got) =
            kill_and_reopen("kill_after_sync_keeps_exactly_the_durable_state", &format!("{mode}:{s}"), &path, mode);
        assert_eq!(id, want, "{mode}: reopened at the wrong commit");
        assert!(got == crash_state(s, want), "{mode}: the state differs from commit {want}");
    }
}

/// Under `None` with a small steady-point threshold and no sync call, the
/// syncer makes commits durable while the writer rewrites every key, reusing
/// the pages written since the durable snapshot (young pages) as soon as
/// it may. A process killed at the end reopens at some durable commit, whole,
/// and the file passes the integrity check: no page of a durable snapshot,
/// or of one a steady point was making durable, was written over.
#[test]
fn kill_amid_steady_points_keeps_a_whole_commit() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        crash_child(&spec);
    }
    let _forks = forks_exclusive();
    let s = seed(0x5C4C_0002);
    let _g = SeedGuard::new("kill_amid_steady_points_keeps_a_whole_commit", s);
    let dir = tempfile::tempdir().unwrap();
    let mut reopened = Vec::new();
    for round in 0..4u64 {
        let path = dir.path().join(format!("auto{round}.db"));
        let seed = s ^ round;
        let (id, got) = kill_and_reopen(
            "kill_amid_steady_points_keeps_a_whole_commit",
            &format!("auto:{seed}"),
            &path,
            &format!("round {round}"),
        );
        assert!(id > 0 && id <= AUTO_COMMITS, "round {round}: reopened at commit {id}: no steady point ran");
        assert!(got == crash_state(seed, id), "round {round}: the state differs from commit {id}");
        reopened.push(id);
    }
    println!("reopened at commits {reopened:?} of {AUTO_COMMITS}");
}

/// `stat()` against values known from what the test did.
#[test]
fn stat_fields_match_known_values() {
    let _forks = forks_shared();
    let t = TestDb::new(Options::new());
    let db = t.db().clone();
    let st = db.stat().unwrap();
    assert_eq!((st.page_size, st.page_count, st.last_txid), (4096, 2, 0));
    assert_eq!((st.key_count, st.bucket_count, st.tree_depth, st.reader_count), (0, 0, 0, 0));
    assert_eq!((st.free_page_count, st.pending_page_count, st.wal_size, st.checkpoint_lsn), (0, 0, 0, 0));
    assert_eq!(st.file_size, std::fs::metadata(t.path()).unwrap().len());

    let mut tx = db.begin_write().unwrap();
    tx.put(b"one", b"1").unwrap();
    tx.commit().unwrap();
    let st = db.stat().unwrap();
    assert_eq!((st.key_count, st.tree_depth, st.last_txid), (1, 1, 1));

    // 1,000 keys with 100-byte values fill about 30 leaves: two levels. A 4
    // KiB branch holds over 100 short separators, so 100,000 keys (3,000+
    // leaves) need three.
    for (n, depth, txid) in [(1000u64, 2, 2), (100_000, 3, 3)] {
        let mut tx = db.begin_write().unwrap();
        for i in 0..n {
            tx.put(format!("key{i:06}").as_bytes(), &[7u8; 100]).unwrap();
        }
        tx.commit().unwrap();
        let st = db.stat().unwrap();
        assert_eq!((st.key_count, st.tree_depth, st.last_txid), (n + 1, depth, txid), "{n} keys");
        assert_eq!(st.page_count, db.check().unwrap().pages);
        assert!(st.file_size >= st.page_count * 4096);
        assert_eq!(st.file_size, std::fs::metadata(t.path()).unwrap().len());
    }

    // Buckets are counted at every depth; keys in buckets are not in key_count.
    let mut tx = db.begin_write().unwrap();
    let a = tx.create_bucket(None, b"a").unwrap();
    let ab = tx.create_bucket(Some(&a), b"b").unwrap();
    tx.create_bucket(Some(&ab), b"c").unwrap();
    let d = tx.create_bucket(None, b"d").unwrap();
    tx.put_in(&d, b"in a bucket", b"x").unwrap();
    tx.commit().unwrap();
    let st = db.stat().unwrap();
    assert_eq!((st.bucket_count, st.key_count, st.last_txid), (4, 100_001, 4));
    let mut tx = db.begin_write().unwrap();
    tx.delete_bucket(None, b"a").unwrap();
    tx.commit().unwrap();
    assert_eq!(db.stat().unwrap().bucket_count, 1, "deleting a removes a/b and a/b/c too");

    // reader_count counts open read transactions only (not the stat call,
    // not the write transaction), on any thread.
    let readers: Vec<_> = (0..3).map(|_| db.begin_read().unwrap()).collect();
    let w = db.begin_write().unwrap();
    assert_eq!(db.stat().unwrap().reader_count, 3);
    let db2 = db.clone();
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let (opened, wait_open) = std::sync::mpsc::channel();
    let other = thread::spawn(move || {
        let r = db2.begin_read().unwrap();
        opened.send(()).unwrap();
        // Returns when the main thread drops `hold`.
        let _ = release.recv();
        drop(r);
    });
    wait_open.recv().unwrap();
    assert_eq!(db.stat().unwrap().reader_count, 4);
    drop(hold);
    other.join().unwrap();
    drop(readers);
    drop(w);
    assert_eq!(db.stat().unwrap().reader_count, 0);
    assert_eq!(db.stat().unwrap().last_txid, 5, "the rolled-back write transaction used no txid");
}

/// The page size statistic follows the file, not the options.
#[test]
fn stat_reports_the_files_page_size() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    Database::open_with_options(&path, Options::new().page_size(16384).unwrap()).unwrap().close().unwrap();
    let db = Database::open(&path).unwrap();
    let st = db.stat().unwrap();
    assert_eq!((st.page_size, st.page_count, st.file_size % 16384), (16384, 2, 0));
    assert_eq!(durable_txid(&path, 16384), 0);
}

/// Regression: closing a database opened with `Batched(interval)` could hang
/// for a whole interval. The syncer thread waited on its condition variable
/// without first looking at the stop flag, so a stop requested before the
/// thread reached its wait (just after open) or while it was syncing was
/// missed, and close then joined a thread asleep for the full interval (an
/// hour here). Open and close back to back, many times, under a watchdog.
#[test]
fn close_right_after_open_does_not_wait_for_the_batched_interval() {
    let _forks = forks_shared();
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

/// Regression: `close` on one clone of a `Database` stopped the background
/// syncer of the database all clones share, so with `Batched` the commits
/// made through the remaining handles were no longer synced at the interval:
/// a crash could lose any number of them. Closing a handle now stops the
/// syncer only when it is the last handle.
#[test]
fn closing_one_handle_keeps_the_batched_syncer_for_the_others() {
    let _forks = forks_shared();
    let interval = Duration::from_millis(50);
    let t = TestDb::new(opts(SyncMode::Batched(interval)));
    t.db().clone().close().unwrap();
    let mut tx = t.db().begin_write().unwrap();
    tx.put(b"after", b"close of a clone").unwrap();
    tx.commit().unwrap();
    let committed = Instant::now();
    while durable_txid(t.path(), 4096) < 1 {
        assert!(committed.elapsed() < interval * 40, "not durable after {:?}", committed.elapsed());
        thread::sleep(Duration::from_millis(5));
    }
}

/// Regression: dropping the last handle of a `Batched` database (instead of
/// calling `close`) could return while the file was still locked. The syncer
/// thread briefly holds a strong reference while it syncs; when the handle
/// went during such a sync, the database was torn down on the syncer thread
/// afterwards, so an open right after the drop failed with `Locked`. The
/// last handle's drop now stops the syncer first, as `close` does.
#[test]
fn dropping_the_last_handle_releases_the_file_at_once() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drop.db");
    let batched = opts(SyncMode::Batched(Duration::from_micros(200)));
    for i in 0..400u64 {
        let db = Database::open_with_options(&path, batched.clone())
            .unwrap_or_else(|e| panic!("open {i} right after the previous handle was dropped: {e}"));
        for j in 0..10u64 {
            let mut tx = db.begin_write().unwrap();
            tx.put(&i.to_le_bytes(), &j.to_le_bytes()).unwrap();
            tx.commit().unwrap();
        }
        drop(db);
    }
    let db = Database::open_with_options(&path, Options::new().read_only(true)).unwrap();
    assert_eq!((db.stat().unwrap().last_txid, db.stat().unwrap().key_count), (4000, 400));
}
