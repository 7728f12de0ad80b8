//! Adversarial tests of large values: lengths one below, at and one above
//! the overflow threshold and the page-size edges of overflow runs, values
//! switched between inline and overflow, overflow values in nested buckets
//! deleted with their bucket, overflow values put, replaced and deleted in
//! one transaction, and thresholds changed between opens. Every read
//! matches, nothing leaks and the file levels off.
//!
//! Every random choice comes from a seed (`THUNDER_TEST_SEED` overrides the
//! defaults).

mod common;

use std::collections::BTreeMap;

use common::adversarial::opts_ps;
use common::{seed, Rng, SeedGuard, TestDb, PAGE_SIZES};
use thunder::{Database, ErrorKind};

/// Value lengths one below, at and one above the overflow threshold and the
/// page-size edges of overflow runs, under three thresholds and with keys
/// up to the maximum; then every value switched between inline and overflow
/// four times, read inside the transaction, after commit and after reopen.
#[test]
fn values_at_page_and_threshold_edges_round_trip_between_inline_and_overflow() {
    let s = seed(0xADE4);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("overflow boundaries at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        for threshold in [64u32, 2048, ps / 2] {
            let mut t = TestDb::new(opts_ps(ps).overflow_threshold(threshold.min(32768)).unwrap());
            let p = ps as usize;
            let th = threshold as usize;
            let mut model = put_at_the_edges(&t, p, th, &mut rng);
            verify_values(t.db(), &model, "after first commit");
            // flip every value between inline and overflow, several times
            for round in 0..4 {
                flip_inline_and_overflow(&t, &mut model, p, th, round, &mut rng);
                verify_values(t.db(), &model, &format!("round {round}"));
                t.db().check().unwrap();
            }
            t.reopen();
            verify_values(t.db(), &model, "after reopen");
        }
    }
}

/// Commits values of every edge length for page size `p` and threshold
/// `th`, each under keys of 1, 17 and the maximum number of bytes; returns
/// what it stored.
fn put_at_the_edges(t: &TestDb, p: usize, th: usize, rng: &mut Rng) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let lens =
        [0, 1, th - 1, th, th + 1, p - 33, p - 32, p - 31, p, 2 * p - 32, 2 * p - 31, 2 * p, 5 * p - 32, 5 * p - 31];
    let max_key = t.db().max_key_size();
    let mut model = BTreeMap::new();
    let mut tx = t.db().begin_write().unwrap();
    for (i, &len) in lens.iter().enumerate() {
        for key_len in [1usize, 17, max_key] {
            let mut k = vec![b'k'; key_len];
            k[0] = i as u8;
            if key_len > 1 {
                k[1] = (key_len % 251) as u8;
            }
            let v = rng.bytes(len);
            tx.put(&k, &v).unwrap_or_else(|e| panic!("put len {len} key {key_len}: {e}"));
            model.insert(k, v);
        }
    }
    tx.commit().unwrap();
    model
}

/// Every value in `model` reads back whole, and the keys iterate in order.
fn verify_values(db: &Database, model: &BTreeMap<Vec<u8>, Vec<u8>>, what: &str) {
    let tx = db.begin_read().unwrap();
    for (k, v) in model {
        assert_eq!(tx.get(k).unwrap().map(|x| x.len()), Some(v.len()), "{what}");
        assert!(tx.get(k).unwrap().unwrap() == v.as_slice(), "{what}");
    }
    let all: Vec<_> = tx.iter().map(|r| r.unwrap().0.to_vec()).collect();
    assert_eq!(all, model.keys().cloned().collect::<Vec<_>>(), "{what}");
}

/// One commit that moves every overflow value inline and every inline value
/// to overflow, each read back inside the transaction.
fn flip_inline_and_overflow(
    t: &TestDb,
    model: &mut BTreeMap<Vec<u8>, Vec<u8>>,
    p: usize,
    th: usize,
    round: u32,
    rng: &mut Rng,
) {
    let mut tx = t.db().begin_write().unwrap();
    let keys: Vec<_> = model.keys().cloned().collect();
    for k in keys {
        let old = model[&k].len();
        let len = if old > th { rng.below(th as u64 + 1) as usize } else { th + 1 + rng.below(3 * p as u64) as usize };
        let v = rng.bytes(len);
        tx.put(&k, &v).unwrap();
        // read back inside the transaction
        assert!(tx.get(&k).unwrap().unwrap() == v.as_slice(), "in-txn read round {round}");
        model.insert(k, v);
    }
    tx.commit().unwrap();
}

/// A bucket tree full of overflow values, deleted in the transaction that
/// made it or in a later one, 16 times over: nothing leaks (check() and the
/// bucket count), and the file levels off. First-fit among runs of mixed
/// lengths fragments for a few cycles, so only the second half must not
/// grow by more than an eighth.
#[test]
fn overflow_values_in_nested_buckets_then_bucket_delete_frees_everything() {
    let s = seed(0xADE5);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("overflow bucket delete at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let t = TestDb::new(opts_ps(ps));
        // baseline: a key in the root
        let mut tx = t.db().begin_write().unwrap();
        tx.put(b"keep", b"me").unwrap();
        tx.commit().unwrap();
        let mut sizes = Vec::new();
        for cycle in 0..16 {
            let mut tx = t.db().begin_write().unwrap();
            let a = tx.create_bucket(None, b"big").unwrap();
            let b = tx.create_bucket(Some(&a), b"inner").unwrap();
            let c = tx.create_bucket(Some(&b), b"inner2").unwrap();
            for i in 0..30u32 {
                let len = 2049 + rng.below(4 * ps as u64) as usize;
                tx.put_in(&a, format!("a{i}").as_bytes(), &rng.bytes(len)).unwrap();
                tx.put_in(&b, format!("b{i}").as_bytes(), &rng.bytes(len / 2 + 1)).unwrap();
                tx.put_in(&c, format!("c{i}").as_bytes(), &rng.bytes(len)).unwrap();
            }
            // delete some overflow values inside the bucket before deleting it
            for i in (0..30u32).step_by(4) {
                assert!(tx.delete_in(&a, format!("a{i}").as_bytes()).unwrap());
                assert!(tx.delete_in(&c, format!("c{i}").as_bytes()).unwrap());
            }
            if cycle % 2 == 0 {
                // commit, then delete in a separate transaction
                tx.commit().unwrap();
                t.db().check().unwrap();
                let mut tx = t.db().begin_write().unwrap();
                let a = tx.bucket(None, b"big").unwrap().unwrap();
                let b = tx.bucket(Some(&a), b"inner").unwrap().unwrap();
                // partial changes, then delete the top
                tx.delete_in(&b, b"b3").unwrap();
                tx.put_in(&b, b"b-new", &vec![1u8; 3 * ps as usize]).unwrap();
                tx.delete_bucket(None, b"big").unwrap();
                assert_eq!(tx.get_in(&b, b"b1").unwrap_err().kind(), ErrorKind::BucketNotFound);
                tx.commit().unwrap();
            } else {
                tx.delete_bucket(Some(&a), b"inner").unwrap();
                tx.delete_bucket(None, b"big").unwrap();
                tx.commit().unwrap();
            }
            let r = t.db().check().unwrap();
            assert_eq!(r.buckets, 0, "cycle {cycle}");
            assert_eq!(t.db().stat().unwrap().bucket_count, 0);
            sizes.push(t.db().stat().unwrap().page_count);
        }
        // the file must stop growing: later cycles reuse earlier pages
        eprintln!("{ps}: page counts {sizes:?}");
        assert!(sizes[15] <= sizes[7] + sizes[7] / 8, "page count keeps growing across delete cycles: {sizes:?}");
    }
}

/// Overflow values of changing lengths put and deleted 60 times: freed runs
/// are reused, so the page count stays within a small margin.
#[test]
fn repeated_put_delete_of_big_values_does_not_grow_the_file() {
    for ps in [4096u32, 65536] {
        let t = TestDb::new(opts_ps(ps));
        let mut rng = Rng::new(seed(0xADE6));
        let mut counts = Vec::new();
        for round in 0..60 {
            let mut tx = t.db().begin_write().unwrap();
            let len = 2049 + rng.below(10 * ps as u64) as usize;
            tx.put(b"big", &rng.bytes(len)).unwrap();
            tx.put(b"big2", &rng.bytes(len / 3 + 3000)).unwrap();
            tx.commit().unwrap();
            let mut tx = t.db().begin_write().unwrap();
            assert!(tx.delete(b"big").unwrap());
            tx.commit().unwrap();
            if round % 10 == 9 {
                counts.push(t.db().stat().unwrap().page_count);
            }
        }
        assert!(counts[5] <= counts[1] + 2 * 12, "grows: {counts:?}");
    }
}

/// Values written, replaced and deleted inside one transaction return their
/// pages to the pool at once for later puts of the same transaction; every
/// read in the transaction and after it matches, and rollbacks undo it all.
#[test]
fn overflow_values_put_replaced_and_deleted_in_one_transaction_read_back() {
    // values written, replaced and deleted inside one transaction; pages
    // returned to the pool at once and reused by later puts in the same txn
    for ps in PAGE_SIZES {
        let mut rng = Rng::new(seed(0xADE7) ^ ps as u64);
        let t = TestDb::new(opts_ps(ps));
        let mut committed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for round in 0..8 {
            let mut model = committed.clone();
            let mut tx = t.db().begin_write().unwrap();
            for _ in 0..150 {
                let k = format!("k{}", rng.below(20)).into_bytes();
                match rng.below(3) {
                    0 | 1 => {
                        let len = match rng.below(4) {
                            0 => rng.below(100) as usize,
                            1 => 2048 + rng.below(3) as usize - 1,
                            _ => 2049 + rng.below(3 * ps as u64) as usize,
                        };
                        let v = rng.bytes(len);
                        tx.put(&k, &v).unwrap();
                        model.insert(k, v);
                    }
                    _ => {
                        assert_eq!(tx.delete(&k).unwrap(), model.remove(&k).is_some());
                    }
                }
            }
            for (k, v) in &model {
                assert!(tx.get(k).unwrap().unwrap() == v.as_slice(), "round {round} in txn");
            }
            if round % 3 == 2 {
                tx.abort();
            } else {
                tx.commit().unwrap();
                committed = model;
            }
            let r = t.db().begin_read().unwrap();
            let got: BTreeMap<Vec<u8>, Vec<u8>> =
                r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
            assert!(got == committed, "round {round}: the database differs from the committed state");
            drop(r);
            t.db().check().unwrap();
        }
    }
}

/// The overflow threshold is an open option, not a file property: values
/// stored under one threshold must read, update and check under another.
#[test]
fn values_stored_under_one_overflow_threshold_read_under_another() {
    for ps in [4096u32, 65536] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("th.db");
        let mut rng = Rng::new(seed(0xADF2) ^ ps as u64);
        let ths: Vec<u32> = vec![64, ps / 2, 2048, 64, (ps / 2).min(32768), 100];
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for (round, &th) in ths.iter().enumerate() {
            let db = Database::open_with_options(&path, opts_ps(ps).overflow_threshold(th).unwrap()).unwrap();
            db.check().unwrap_or_else(|e| panic!("ps {ps} round {round} th {th}: check {e}"));
            let r = db.begin_read().unwrap();
            for (k, v) in &model {
                let got = r.get(k).unwrap_or_else(|e| panic!("ps {ps} th {th}: {e}"));
                assert!(got == Some(v.as_slice()), "ps {ps} th {th}");
            }
            drop(r);
            let mut tx = db.begin_write().unwrap();
            let b = tx.create_bucket_if_missing(None, b"b").unwrap();
            for i in 0..60u32 {
                let k = format!("k{i:03}").into_bytes();
                let len = match rng.below(4) {
                    0 => 65 + rng.below(200) as usize,
                    1 => 2000 + rng.below(100) as usize,
                    2 => rng.below(ps as u64 / 2 + 10) as usize,
                    _ => 0,
                };
                let v = rng.bytes(len);
                if i % 5 == 0 && model.contains_key(&k) {
                    assert!(tx.delete(&k).unwrap());
                    tx.delete_in(&b, &k).unwrap();
                    model.remove(&k);
                    continue;
                }
                tx.put(&k, &v).unwrap();
                tx.put_in(&b, &k, &v).unwrap();
                model.insert(k, v);
            }
            tx.commit().unwrap();
            db.check().unwrap();
            db.close().unwrap();
        }
        let db = Database::open(&path).unwrap();
        db.check().unwrap();
        let r = db.begin_read().unwrap();
        let b = r.bucket(None, b"b").unwrap().unwrap();
        for (k, v) in &model {
            assert!(r.get(k).unwrap() == Some(v.as_slice()));
            assert!(r.get_in(&b, k).unwrap() == Some(v.as_slice()));
        }
    }
}
