//! Space reuse: pages freed by a commit are reused once no reader and no
//! durable snapshot can see them, so a steady update load stops growing the
//! file; pages a pinned reader can see are never reused; a deleted bucket's
//! pages become free and are reused by later commits.

mod common;

use std::collections::BTreeMap;

use common::{seed, Rng, SeedGuard, TestDb};
use thunder::{Database, Options, SyncMode};

fn file_len(db: &Database) -> u64 {
    std::fs::metadata(db.path()).unwrap().len()
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

/// Rewrites keys `0..n` with fresh random values of 50 to 150 bytes, plus
/// one value above the overflow threshold so overflow runs churn too.
fn update_all(db: &Database, rng: &mut Rng, n: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut tx = db.begin_write().unwrap();
    let mut written = BTreeMap::new();
    for i in 0..n {
        let len = if i == 7 { 5000 } else { rng.range(50, 150) as usize };
        let v = rng.bytes(len);
        tx.put(&key(i), &v).unwrap();
        written.insert(key(i), v);
    }
    tx.commit().unwrap();
    written
}

/// 200 transactions each rewriting the same 1,000 keys (no readers): the
/// file after transaction 200 is under twice its size after transaction 20.
/// Every commit frees the whole previous tree; if those pages were never
/// reused the file would grow about tenfold between the two points.
#[test]
fn steady_updates_stop_growing_the_file() {
    let s = seed(0x5ACE_0001);
    let _g = SeedGuard::new("steady_updates_stop_growing_the_file", s);
    let mut rng = Rng::new(s);
    let t = TestDb::new(Options::new());
    let db = t.db();
    let (mut at20, mut pages20) = (0, 0);
    for txn in 1..=200u64 {
        update_all(db, &mut rng, 1000);
        if txn == 20 {
            (at20, pages20) = (file_len(db), db.stat().unwrap().page_count);
        }
    }
    let (at200, pages200) = (file_len(db), db.stat().unwrap().page_count);
    assert!(at200 < 2 * at20, "file grew from {at20} bytes after txn 20 to {at200} after txn 200");
    // The high-water mark is the sharper measure (the file grows in chunks).
    assert!(pages200 < pages20 * 3 / 2, "high-water mark grew from {pages20} to {pages200} pages");
    assert_eq!(db.stat().unwrap().last_txid, 200);
}

/// A reader pinned at an old snapshot keeps seeing it intact (every value,
/// the overflow value included) while 100 commits rewrite every key: the
/// pages it can see stay pending instead of being reused, so the file must
/// grow meanwhile. Once it ends, its pages are reused and the file stops
/// growing.
///
/// Regression: `stat()` used to report the pending/free split as the last
/// write transaction left it, so the pages stayed "pending" after the reader
/// ended until some later write transaction began.
#[test]
fn pinned_reader_pages_are_not_reused_until_it_ends() {
    let s = seed(0x5ACE_0002);
    let _g = SeedGuard::new("pinned_reader_pages_are_not_reused_until_it_ends", s);
    let mut rng = Rng::new(s);
    let t = TestDb::new(Options::new());
    let db = t.db();
    for _ in 0..5 {
        update_all(db, &mut rng, 1000);
    }
    let pinned_state = update_all(db, &mut rng, 1000);
    let reader = db.begin_read().unwrap();
    let pinned_pages = db.stat().unwrap().page_count;
    let mut pending_before = 0;
    for _ in 0..100 {
        update_all(db, &mut rng, 1000);
        let st = db.stat().unwrap();
        assert!(st.pending_page_count > pending_before, "pages freed under a pinned reader must stay pending");
        pending_before = st.pending_page_count;
    }
    let grown_pages = db.stat().unwrap().page_count;
    assert!(grown_pages > pinned_pages + 100, "100 commits under a pinned reader reused its pages");
    for (k, v) in &pinned_state {
        assert_eq!(reader.get(k).unwrap(), Some(v.as_slice()), "pinned view damaged at {k:?}");
    }
    assert_eq!(reader.iter().count(), 1000);
    drop(reader);
    // With the reader gone and the last commit durable (SyncMode::Full), no
    // snapshot sees any freed page: all are reusable now.
    let st = db.stat().unwrap();
    assert_eq!(st.pending_page_count, 0, "the reader is gone: nothing may stay pending");
    assert!(st.free_page_count >= pending_before, "{pending_before} pages were pending, {} free", st.free_page_count);
    let (len, pages) = (file_len(db), st.page_count);
    for _ in 0..100 {
        update_all(db, &mut rng, 1000);
    }
    assert_eq!(file_len(db), len, "the file grew after the reader ended");
    assert_eq!(db.stat().unwrap().page_count, pages, "the high-water mark rose after the reader ended");
}

/// Deleting a bucket of 100,000 keys frees every page it had: pending while
/// a reader begun before the delete can still see them, free once it ended,
/// and refilling a bucket of the same size reuses them without raising the
/// high-water mark.
#[test]
fn deleted_bucket_pages_become_free_and_are_reused() {
    let s = seed(0x5ACE_0003);
    let _g = SeedGuard::new("deleted_bucket_pages_become_free_and_are_reused", s);
    let mut rng = Rng::new(s);
    let t = TestDb::new(Options::new());
    let db = t.db();
    let fill = |name: &[u8], rng: &mut Rng| {
        let mut tx = db.begin_write().unwrap();
        let b = tx.create_bucket(None, name).unwrap();
        for i in 0..100_000u64 {
            let len = rng.range(10, 40) as usize;
            tx.put_in(&b, &key(i), &rng.bytes(len)).unwrap();
        }
        tx.commit().unwrap();
    };
    fill(b"big", &mut rng);
    let full = db.check().unwrap();
    let before = db.stat().unwrap();
    let reader = db.begin_read().unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.delete_bucket(None, b"big").unwrap();
    tx.commit().unwrap();
    let emptied = db.check().unwrap();
    let freed = full.reachable_pages - emptied.reachable_pages;
    assert!(freed > 500, "100,000 keys must have used more than 500 pages, got {freed}");
    let st = db.stat().unwrap();
    assert_eq!(st.bucket_count, 0);
    assert!(
        st.pending_page_count >= freed,
        "{freed} pages of the deleted bucket, only {} pending",
        st.pending_page_count
    );
    let big = reader.bucket(None, b"big").unwrap().expect("the reader still sees the bucket");
    assert_eq!(reader.iter_in(&big).count(), 100_000);
    drop(reader);
    let st = db.stat().unwrap();
    assert_eq!(st.pending_page_count, 0);
    assert!(st.free_page_count >= before.free_page_count + freed, "{freed} freed, {} free", st.free_page_count);
    // The delete's own commit writes a few pages (root, freelist log).
    assert!(st.page_count <= before.page_count + 4, "a delete raised the high-water mark to {}", st.page_count);
    let len = file_len(db);
    fill(b"again", &mut rng);
    let st = db.stat().unwrap();
    assert!(
        st.page_count <= before.page_count + before.page_count / 50,
        "refill raised the high-water mark from {} to {} pages",
        before.page_count,
        st.page_count
    );
    assert_eq!(file_len(db), len, "the refill grew the file instead of reusing the freed pages");
    assert_eq!(db.check().unwrap().keys, 100_000);
}

/// Small commits under a weak sync mode, nobody calling `sync`: each of
/// 10,000 commits rewrites one of 1,000 keys. The pages those commits free
/// are pinned by the durable snapshot until a newer meta is durable, so the
/// engine must make a steady point by itself; the file after the last commit
/// stays under three times its size after commit 1,000.
fn weak_mode_small_commits_stay_bounded(mode: SyncMode) {
    let t = TestDb::new(Options::new().sync_mode(mode).unwrap());
    let db = t.db();
    let mut rng = Rng::new(seed(0x5ACE_0002));
    let (mut at1000, mut pages1000) = (0, 0);
    for c in 1..=10_000u64 {
        let mut tx = db.begin_write().unwrap();
        tx.put(&key(c % 1000), &rng.bytes(100)).unwrap();
        tx.commit().unwrap();
        if c == 1000 {
            (at1000, pages1000) = (file_len(db), db.stat().unwrap().page_count);
        }
    }
    let (at_end, pages_end) = (file_len(db), db.stat().unwrap().page_count);
    assert!(at_end < 3 * at1000, "{mode:?}: file grew from {at1000} bytes after commit 1,000 to {at_end}");
    assert!(pages_end < 3 * pages1000, "{mode:?}: high-water mark grew from {pages1000} to {pages_end} pages");
    db.check().unwrap();
}

#[test]
fn sync_none_without_sync_calls_keeps_the_file_bounded() {
    weak_mode_small_commits_stay_bounded(SyncMode::None);
}

#[test]
fn sync_batched_between_rounds_keeps_the_file_bounded() {
    // An interval no test reaches: only the engine's own steady points sync.
    weak_mode_small_commits_stay_bounded(SyncMode::Batched(std::time::Duration::from_secs(3600)));
}
