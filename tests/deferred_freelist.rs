//! The weak sync modes, and every mode with a log, defer writing the
//! freelist: a commit publishes a meta whose change to the free set stays
//! in memory (`Meta::freelist_deferred`) until a steady point or a
//! checkpoint writes it. These tests
//! hold what must not change for the user: `check`, `backup`, `sync`,
//! close and crashes see a complete database, the txids stay one per
//! commit, and the file's free set is exactly the writer's.

mod common;

use std::collections::BTreeMap;

use common::{contents, Rng, SeedGuard, TestDb};
use thunder::{Database, ErrorKind, Options, SyncMode};

fn weak(mode: SyncMode) -> Options {
    Options::new().sync_mode(mode).unwrap()
}

/// Commits `n` transactions of puts and deletes over a small key space (so
/// pages are freed and reused), tracking the contents in `model`.
fn churn(db: &Database, rng: &mut Rng, n: usize, model: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
    for _ in 0..n {
        let mut tx = db.begin_write().unwrap();
        for _ in 0..1 + rng.below(8) {
            let key = format!("key{:04}", rng.below(600)).into_bytes();
            if rng.below(4) == 0 {
                tx.delete(&key).unwrap();
                model.remove(&key);
            } else {
                let value = vec![rng.below(256) as u8; 20 + rng.below(300) as usize];
                tx.put(&key, &value).unwrap();
                model.insert(key, value);
            }
        }
        tx.commit().unwrap();
    }
}

/// `check` of a snapshot whose freelist is deferred finds the same free
/// pages as the writer holds (free and pending), and a sync, which writes
/// the freelist, leaves a snapshot that passes the full check with the
/// same counts and no extra txid.
#[test]
fn check_of_a_deferred_snapshot_agrees_with_the_writer() {
    let s = common::seed(0xDEF0_0001);
    let _g = SeedGuard::new("check_of_a_deferred_snapshot_agrees_with_the_writer", s);
    for mode in [SyncMode::None, SyncMode::Batched(std::time::Duration::from_secs(3600))] {
        let t = TestDb::new(weak(mode));
        let (mut rng, mut model) = (Rng::new(s), BTreeMap::new());
        churn(t.db(), &mut rng, 300, &mut model);
        let st = t.db().stat().unwrap();
        assert!(st.last_txid > 250, "{st:?}");
        let deferred = t.db().check().unwrap();
        assert_eq!(deferred.free_pages, st.free_page_count + st.pending_page_count, "{mode:?}: {st:?} {deferred:?}");
        assert_eq!(deferred.reachable_pages + deferred.free_pages + deferred.freelist_pages + 2, deferred.pages);
        t.db().sync().unwrap();
        let synced = t.db().check().unwrap();
        let txid = t.db().stat().unwrap().last_txid;
        assert_eq!(txid, st.last_txid, "{mode:?}: the freelist takes no txid of its own");
        assert_eq!(synced.reachable_pages, deferred.reachable_pages, "{mode:?}");
        // Every page still accounted for; the freelist's page may have grown
        // the file (whether the pool had a reusable page depends on when
        // the background syncer last made a steady point).
        assert_eq!(
            synced.free_pages + synced.freelist_pages,
            deferred.free_pages + deferred.freelist_pages + (synced.pages - deferred.pages),
            "{mode:?}: {deferred:?} {synced:?}"
        );
        assert_eq!(contents(t.db()), model);
    }
}

/// A backup of a snapshot whose freelist is deferred is a complete
/// database: it opens, passes the check, holds the snapshot, and lists its
/// unused pages as free (a copy of the source's meta would have named a
/// freelist that does not describe the snapshot).
#[test]
fn backup_of_a_deferred_snapshot_is_complete() {
    let s = common::seed(0xDEF0_0002);
    let _g = SeedGuard::new("backup_of_a_deferred_snapshot_is_complete", s);
    let t = TestDb::new(weak(SyncMode::None));
    let (mut rng, mut model) = (Rng::new(s), BTreeMap::new());
    churn(t.db(), &mut rng, 200, &mut model);
    let dest = t.dir.path().join("copy.db");
    t.db().backup(&dest).unwrap();
    let copy = Database::open(&dest).unwrap();
    let report = copy.check().unwrap();
    assert!(report.free_pages > 0, "{report:?}");
    assert_eq!(contents(&copy), model);
    // The copy's free pages are usable: more commits, a reopen, a check.
    churn(&copy, &mut rng, 50, &mut model);
    copy.close().unwrap();
    let copy = Database::open(&dest).unwrap();
    copy.check().unwrap();
    assert_eq!(contents(&copy), model);
}

/// `sync` from the thread that holds the write transaction cannot write
/// the freelist the last commit deferred (the transaction holds it):
/// `Busy`, and nothing changes; once the transaction ends it works.
#[test]
fn sync_on_the_writers_thread_is_busy_while_the_freelist_waits() {
    let t = TestDb::new(weak(SyncMode::None));
    let mut tx = t.db().begin_write().unwrap();
    tx.put(b"a", b"1").unwrap();
    tx.commit().unwrap();
    let tx = t.db().begin_write().unwrap();
    let e = t.db().sync().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
    tx.abort();
    t.db().sync().unwrap();
    assert_eq!(contents(t.db()).get(&b"a"[..]).map(Vec::as_slice), Some(&b"1"[..]));
}

/// Steady points made by the engine itself (a small `autosync_bytes`)
/// write the deferred freelist; a crash at any point after them reopens
/// to a sound file, and a clean close to every commit.
#[test]
fn steady_points_and_crashes_keep_the_file_sound() {
    let s = common::seed(0xDEF0_0003);
    let _g = SeedGuard::new("steady_points_and_crashes_keep_the_file_sound", s);
    let mut t = TestDb::new(weak(SyncMode::None).autosync_bytes(64 << 10));
    let (mut rng, mut model) = (Rng::new(s), BTreeMap::new());
    for round in 0..4 {
        churn(t.db(), &mut rng, 150, &mut model);
        if round % 2 == 0 {
            t.reopen();
            assert_eq!(contents(t.db()), model, "round {round}");
        } else {
            // A crash loses the commits after the last steady point, never the file.
            t.crash_reopen();
            model = contents(t.db());
        }
    }
}

/// Bug: `compact` read the new file's page count, closed it, and cut the
/// file to that length. The compacted database commits its batches under
/// `SyncMode::None`, so from the second batch on (more than 32 MiB of
/// keys and values) its last meta deferred its freelist, and the close
/// wrote it past that page count: the cut removed it, and the copy opened
/// with a truncated freelist (`check` failed). `compact` now syncs before
/// it reads the length.
#[test]
fn compaction_past_one_batch_keeps_its_freelist() {
    let t = TestDb::new(weak(SyncMode::None));
    let value = vec![0x5a; 1800];
    let mut tx = t.db().begin_write().unwrap();
    for i in 0..21_000u32 {
        tx.put(&i.to_be_bytes(), &value).unwrap();
    }
    tx.commit().unwrap();
    let dest = t.dir.path().join("compact.db");
    t.db().compact(&dest).unwrap();
    let copy = Database::open(&dest).unwrap();
    copy.check().unwrap();
    assert_eq!(copy.stat().unwrap().key_count, 21_000);
}

/// With a log, commits defer the freelist until a checkpoint writes it:
/// `check` agrees with the writer before and after the checkpoint, the
/// checkpoint takes no txid, and a crash after more commits (the log
/// replayed over the last checkpoint's meta) and a clean reopen both find
/// every commit of a durable mode and a file that passes the check.
#[test]
fn logged_commits_defer_the_freelist_to_the_checkpoint() {
    let s = common::seed(0xDEF0_0004);
    let _g = SeedGuard::new("logged_commits_defer_the_freelist_to_the_checkpoint", s);
    for mode in [SyncMode::Full, SyncMode::None] {
        let mut t = TestDb::new(weak(mode).wal(true));
        let (mut rng, mut model) = (Rng::new(s), BTreeMap::new());
        churn(t.db(), &mut rng, 300, &mut model);
        let st = t.db().stat().unwrap();
        let deferred = t.db().check().unwrap();
        assert_eq!(deferred.free_pages, st.free_page_count + st.pending_page_count, "{mode:?}: {st:?} {deferred:?}");
        t.db().checkpoint().unwrap();
        let written = t.db().check().unwrap();
        assert_eq!(t.db().stat().unwrap().last_txid, st.last_txid, "{mode:?}: the freelist takes no txid");
        assert_eq!(written.reachable_pages, deferred.reachable_pages, "{mode:?}");
        // Every page is still accounted for; the freelist's page may have
        // grown the file (the pool may have nothing reusable yet: which
        // depends on when the background syncer last made a steady point).
        assert_eq!(
            written.free_pages + written.freelist_pages,
            deferred.free_pages + deferred.freelist_pages + (written.pages - deferred.pages),
            "{mode:?}: {deferred:?} {written:?}"
        );
        churn(t.db(), &mut rng, 150, &mut model);
        if mode == SyncMode::Full {
            t.crash_reopen();
            t.db().check().unwrap();
            assert_eq!(contents(t.db()), model, "{mode:?}: a crash lost a durable commit");
        }
        churn(t.db(), &mut rng, 50, &mut model);
        t.reopen();
        assert_eq!(contents(t.db()), model, "{mode:?}");
    }
}
