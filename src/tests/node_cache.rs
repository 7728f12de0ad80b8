//! The writer's cache of decoded branch nodes (`tree::cache`): a node is
//! served only for the page it was written as.

use crate::options::Options;
use crate::tests::support::Rng;
use crate::txn::Bucket;
use crate::Database;

fn key(tag: &str, i: u64) -> Vec<u8> {
    format!("{tag}{:016x}{i:08}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).into_bytes()
}

fn value(tag: &str, i: u64, round: u64) -> Vec<u8> {
    format!("{tag}-{i}-{round}-").repeat(6).into_bytes()
}

/// Creates bucket `name` holding keys 0..n of `tag` (round 0), in one commit.
fn load_bucket(db: &Database, name: &[u8], tag: &str, n: u64) {
    let mut tx = db.begin_write().unwrap();
    let b = tx.create_bucket(None, name).unwrap();
    for i in 0..n {
        tx.put_in(&b, &key(tag, i), &value(tag, i, 0)).unwrap();
    }
    tx.commit().unwrap();
}

fn bucket(db: &Database, name: &[u8]) -> (crate::txn::WriteTx, Bucket) {
    let mut tx = db.begin_write().unwrap();
    let b = tx.bucket(None, name).unwrap().expect("bucket");
    (tx, b)
}

/// Pages of a deleted bucket's branches (kept in the cache by the commits
/// that wrote them) are reused by another bucket, leaves among them; one-put
/// commits then copy those pages. A node served for a page written again
/// would put a branch where a leaf is, or old children under a new key.
#[test]
fn branches_freed_with_their_bucket_and_written_again_are_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with_options(dir.path().join("cache.db"), Options::new()).unwrap();
    let n = 6000;
    let mut rng = Rng::new(7);

    load_bucket(&db, b"a", "a", n);
    // One-put commits: each copies the branches on its path, so the cache
    // holds most of bucket a's branches.
    for r in 1..200 {
        let (mut tx, a) = bucket(&db, b"a");
        let i = rng.below(n);
        tx.put_in(&a, &key("a", i), &value("a", i, r)).unwrap();
        tx.commit().unwrap();
    }
    let mut tx = db.begin_write().unwrap();
    tx.delete_bucket(None, b"a").unwrap();
    tx.commit().unwrap();

    load_bucket(&db, b"b", "b", n);
    let mut latest: Vec<u64> = vec![0; n as usize];
    for r in 1..400 {
        let (mut tx, b) = bucket(&db, b"b");
        let i = rng.below(n);
        tx.put_in(&b, &key("b", i), &value("b", i, r)).unwrap();
        latest[i as usize] = r;
        tx.commit().unwrap();
    }

    let rx = db.begin_read().unwrap();
    let b = rx.bucket(None, b"b").unwrap().expect("bucket b");
    for i in 0..n {
        let got = rx.get_in(&b, &key("b", i)).unwrap();
        assert_eq!(got, Some(&value("b", i, latest[i as usize])[..]), "key {i}");
    }
    drop(rx);
    db.check().unwrap();
}

/// A transaction that copied cached branches and rolled back leaves its
/// changes nowhere: the next one builds on the committed tree.
#[test]
fn a_rolled_back_transaction_leaves_the_tree_as_committed() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with_options(dir.path().join("abort.db"), Options::new()).unwrap();
    let n = 4000;
    load_bucket(&db, b"a", "a", n);
    for r in 1..50 {
        let (mut tx, a) = bucket(&db, b"a");
        tx.put_in(&a, &key("a", r), &value("a", r, r)).unwrap();
        if r % 2 == 0 {
            tx.abort();
        } else {
            tx.commit().unwrap();
        }
    }
    let rx = db.begin_read().unwrap();
    let a = rx.bucket(None, b"a").unwrap().expect("bucket a");
    for i in 0..n {
        let round = if (1..50).contains(&i) && i % 2 == 1 { i } else { 0 };
        assert_eq!(rx.get_in(&a, &key("a", i)).unwrap(), Some(&value("a", i, round)[..]), "key {i}");
    }
    drop(rx);
    db.check().unwrap();
}
