//! Values from empty to 64 MiB at every page size: through commit, reopen,
//! update and delete, in the default keyspace and in a bucket; the file does
//! not grow across repeated put/delete cycles; keys up to the maximum size.

mod common;

use common::{Rng, TestDb, PAGE_SIZES};
use thunder::{ErrorKind, Options};

fn value(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Rng::new(seed);
    r.bytes(len)
}

fn opts(page_size: u32) -> Options {
    Options::new().page_size(page_size).unwrap()
}

#[test]
fn every_size_class_round_trips_at_every_page_size() {
    for ps in PAGE_SIZES {
        let t = 2048usize;
        let sizes = [0, 1, t - 1, t, t + 1, ps as usize, 1 << 20, 64 << 20];
        let mut tdb = TestDb::new(opts(ps));
        let mut tx = tdb.db().begin_write().unwrap();
        let b = tx.create_bucket(None, b"values").unwrap();
        for (i, &n) in sizes.iter().enumerate() {
            let key = format!("size-{n:09}");
            tx.put(key.as_bytes(), &value(i as u64, n)).unwrap();
            tx.put_in(&b, key.as_bytes(), &value(100 + i as u64, n)).unwrap();
        }
        tx.commit().unwrap();
        tdb.reopen();
        let check_all = |tdb: &TestDb, base: u64| {
            let tx = tdb.db().begin_read().unwrap();
            let b = tx.bucket(None, b"values").unwrap().unwrap();
            for (i, &n) in sizes.iter().enumerate() {
                let key = format!("size-{n:09}");
                let got = tx.get(key.as_bytes()).unwrap().unwrap();
                assert!(got == value(base + i as u64, n).as_slice(), "page size {ps}, value of {n} bytes");
                let got = tx.get_in(&b, key.as_bytes()).unwrap().unwrap();
                assert!(got == value(100 + i as u64, n).as_slice(), "page size {ps}, bucket value of {n} bytes");
            }
        };
        check_all(&tdb, 0);
        // update every value with a different one of the same size
        let mut tx = tdb.db().begin_write().unwrap();
        for (i, &n) in sizes.iter().enumerate() {
            tx.put(format!("size-{n:09}").as_bytes(), &value(50 + i as u64, n)).unwrap();
        }
        tx.commit().unwrap();
        tdb.reopen();
        check_all(&tdb, 50);
        // delete them all; the overflow pages must come back as free pages
        let mut tx = tdb.db().begin_write().unwrap();
        for &n in &sizes {
            assert!(tx.delete(format!("size-{n:09}").as_bytes()).unwrap());
        }
        tx.delete_bucket(None, b"values").unwrap();
        tx.commit().unwrap();
        tdb.reopen();
        let st = tdb.db().stat().unwrap();
        assert_eq!(st.key_count, 0);
        let report = tdb.db().check().unwrap();
        assert!(
            report.free_pages > (128 << 20) / ps as u64,
            "page size {ps}: freed overflow runs are free: {report:?}"
        );
    }
}

/// One size class at a time, then all of them together (issue 5's list:
/// 0, 1, threshold - 1, threshold, threshold + 1, 1 MiB, 64 MiB), put and
/// deleted again and again: the file stops growing.
#[test]
fn repeated_put_delete_cycles_do_not_grow_the_file() {
    let t = 2048usize;
    let all = vec![0, 1, t - 1, t, t + 1, 1 << 20, 64 << 20];
    for ps in PAGE_SIZES {
        let classes = [vec![3000usize], vec![1 << 20], all.clone()];
        for sizes in classes {
            let tdb = TestDb::new(opts(ps));
            // The freelist log grows for a few commits before it is compacted,
            // so compare sizes after that warm-up.
            let cycles = if sizes.len() > 1 { 12 } else { 24 };
            let mut file_sizes = Vec::new();
            for cycle in 0..cycles as u64 {
                let mut tx = tdb.db().begin_write().unwrap();
                for (i, &n) in sizes.iter().enumerate() {
                    tx.put(format!("k{i}").as_bytes(), &value(cycle * 8 + i as u64, n)).unwrap();
                }
                tx.commit().unwrap();
                let mut tx = tdb.db().begin_write().unwrap();
                for i in 0..sizes.len() {
                    assert!(tx.delete(format!("k{i}").as_bytes()).unwrap());
                }
                tx.commit().unwrap();
                file_sizes.push(std::fs::metadata(tdb.path()).unwrap().len());
            }
            let (mid, last) = (file_sizes[cycles / 2 - 1], file_sizes[cycles - 1]);
            assert_eq!(mid, last, "page size {ps}, sizes {sizes:?}: file grew across cycles: {file_sizes:?}");
        }
    }
}

#[test]
fn a_value_replaced_in_the_same_transaction_frees_its_run_at_once() {
    let tdb = TestDb::new(opts(4096));
    let mut tx = tdb.db().begin_write().unwrap();
    for i in 0..20u64 {
        tx.put(b"k", &value(i, 1 << 20)).unwrap();
    }
    assert_eq!(tx.get(b"k").unwrap().unwrap(), value(19, 1 << 20).as_slice());
    tx.commit().unwrap();
    let st = tdb.db().stat().unwrap();
    assert!(st.page_count < 2 * 257 + 16, "20 replaced 1 MiB values used {} pages", st.page_count);
}

#[test]
fn values_over_the_limit_and_keys_at_the_limit() {
    for ps in PAGE_SIZES {
        let tdb = TestDb::new(opts(ps));
        let max = tdb.db().max_key_size();
        assert!(max >= 1000 && (ps == 4096 || max > 1004), "page size {ps}: max key {max}");
        let mut tx = tdb.db().begin_write().unwrap();
        let long = vec![0xAB; max];
        tx.put(&long, b"at the limit").unwrap();
        let err = tx.put(&vec![0xAB; max + 1], b"over").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyTooLarge, "page size {ps}");
        assert!(err.to_string().contains(&max.to_string()));
        // many maximal keys: every branch must still split into valid halves
        for i in 0..200u32 {
            let mut k = long.clone();
            k[max - 4..].copy_from_slice(&i.to_be_bytes());
            tx.put(&k, &value(i as u64, 100)).unwrap();
        }
        tx.commit().unwrap();
        let tx = tdb.db().begin_read().unwrap();
        assert_eq!(tx.get(&long).unwrap(), Some(&b"at the limit"[..]));
        assert_eq!(tx.iter().count(), 201);
    }
}

#[test]
fn overflow_threshold_is_configurable_up_to_half_a_page() {
    let t = 32768;
    let tdb = TestDb::new(Options::new().page_size(65536).unwrap().overflow_threshold(t).unwrap());
    let mut tx = tdb.db().begin_write().unwrap();
    for n in [t as usize - 1, t as usize, t as usize + 1] {
        tx.put(format!("{n}").as_bytes(), &value(n as u64, n)).unwrap();
    }
    tx.commit().unwrap();
    let tx = tdb.db().begin_read().unwrap();
    for n in [t as usize - 1, t as usize, t as usize + 1] {
        assert_eq!(tx.get(format!("{n}").as_bytes()).unwrap().unwrap(), value(n as u64, n).as_slice());
    }
    let dir = tempfile::tempdir().unwrap();
    let err = thunder::Database::open_with_options(
        dir.path().join("x.db"),
        Options::new().page_size(4096).unwrap().overflow_threshold(2049).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}
