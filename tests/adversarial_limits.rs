//! Adversarial tests at thunder's limits: the max size reached in the
//! middle of a transaction, keys of the maximum size with values at the
//! overflow threshold (also in a model test that mixes them with tiny
//! entries), thousands of small transactions with drops and reopens, put
//! flags that must refuse without writing, stats against check(), reopening
//! with a smaller or odd max size, and commits many times larger than the
//! write buffer.
//!
//! Every random choice comes from a seed (`THUNDER_TEST_SEED` overrides the
//! defaults). `THUNDER_ADVERSARIAL_SCALE=N` multiplies the number of model
//! operations by N for longer runs.

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;

use common::adversarial::{opts_ps, scaled};
use common::{seed, Rng, SeedGuard, TestDb, PAGE_SIZES};
use thunder::{Database, Error, ErrorKind, Options, PutFlags, SyncMode, WriteTx};

/// The max size reached in the middle of a transaction at every page size:
/// `NoSpace`, latched for every later call of that transaction; deleting
/// then frees space and writing goes on. The contents always equal the
/// committed state and the file never exceeds the max size.
#[test]
fn no_space_mid_transaction_latches_it_and_later_transactions_go_on() {
    for ps in PAGE_SIZES {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.db");
        let max = 4u64 << 20;
        let opts = opts_ps(ps).max_size(max).unwrap();
        let db = Database::open_with_options(&path, opts.clone()).unwrap();
        let mut committed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut rng = Rng::new(seed(0xADEE) ^ ps as u64);
        let mut saw_full = 0;
        for t in 0..60u32 {
            let mut tx = db.begin_write().unwrap();
            let (pending, err) = put_until_full(&mut tx, t, &mut rng);
            match err {
                Some(e) => {
                    no_space_is_latched(tx, &e);
                    saw_full += 1;
                    delete_half_of_the_committed_keys(&db, &mut committed);
                }
                None => match tx.commit() {
                    Ok(()) => committed.extend(pending),
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::NoSpace, "commit: {e}");
                        saw_full += 1;
                    }
                },
            }
            db.check().unwrap();
            let r = db.begin_read().unwrap();
            let got: BTreeMap<Vec<u8>, Vec<u8>> =
                r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
            assert!(got == committed, "ps {ps}: contents differ after txn {t}");
        }
        assert!(saw_full > 0, "ps {ps}: never reached the max size");
        assert!(std::fs::metadata(&path).unwrap().len() <= max, "file beyond max size");
        db.close().unwrap();
        let db = Database::open_with_options(&path, opts).unwrap();
        db.check().unwrap();
        let r = db.begin_read().unwrap();
        assert_eq!(r.iter().count(), committed.len());
    }
}

/// Transaction `t`'s 40 puts, a third of them overflow values, up to the
/// first error: what was put, and the error if one stopped it.
fn put_until_full(tx: &mut WriteTx, t: u32, rng: &mut Rng) -> (BTreeMap<Vec<u8>, Vec<u8>>, Option<Error>) {
    let mut pending = BTreeMap::new();
    let mut err = None;
    for i in 0..40u32 {
        let k = format!("t{t:03}-{i:03}").into_bytes();
        let v = rng.bytes(if i % 3 == 0 { 20_000 } else { 500 });
        match tx.put(&k, &v) {
            Ok(()) => {
                pending.insert(k, v);
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    (pending, err)
}

/// `e`, the error that stopped `tx`, is `NoSpace`, and every later call of
/// the transaction repeats it.
fn no_space_is_latched(mut tx: WriteTx, e: &Error) {
    assert_eq!(e.kind(), ErrorKind::NoSpace, "{e}");
    assert!(tx.is_failed());
    // every later call repeats it
    assert_eq!(tx.get(b"x").unwrap_err().kind(), ErrorKind::NoSpace);
    assert_eq!(tx.put(b"x", b"y").unwrap_err().kind(), ErrorKind::NoSpace);
    assert_eq!(tx.commit().unwrap_err().kind(), ErrorKind::NoSpace);
}

/// Frees space by deleting half of the committed keys in one transaction,
/// whose commit may itself run out of space.
fn delete_half_of_the_committed_keys(db: &Database, committed: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
    let mut tx = db.begin_write().unwrap();
    let victims: Vec<_> = committed.keys().take(committed.len() / 2).cloned().collect();
    for k in &victims {
        assert!(tx.delete(k).unwrap());
    }
    match tx.commit() {
        Ok(()) => {
            for k in &victims {
                committed.remove(k);
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::NoSpace, "{e}"),
    }
}

/// Keys of the maximum size with values right at and just over the
/// threshold (one entry per leaf), at every page size, in the default
/// keyspace and in a bucket with a 255-byte name; one byte more is refused
/// without failing the transaction.
#[test]
fn max_size_keys_with_values_at_the_threshold_round_trip() {
    for ps in PAGE_SIZES {
        let threshold = (ps / 2).min(32768);
        for th in [2048u32.min(threshold), threshold] {
            let mut t = TestDb::new(opts_ps(ps).overflow_threshold(th).unwrap());
            let mk = t.db().max_key_size();
            assert_eq!(mk, (ps as usize - 32) / 4 - 12);
            let mut rng = Rng::new(seed(0xADEF) ^ ps as u64);
            let mut model = BTreeMap::new();
            let mut tx = t.db().begin_write().unwrap();
            let b = tx.create_bucket(None, &vec![0xAB; 255]).unwrap();
            for i in 0..300u32 {
                let mut k = rng.bytes(mk);
                k[..4].copy_from_slice(&i.to_be_bytes());
                let vlen = match i % 4 {
                    0 => th as usize,
                    1 => th as usize + 1,
                    2 => 0,
                    _ => rng.below(th as u64) as usize,
                };
                let v = rng.bytes(vlen);
                tx.put(&k, &v).unwrap();
                tx.put_in(&b, &k, &v).unwrap();
                model.insert(k, v);
            }
            // one byte more: KeyTooLarge, txn still usable
            let e = tx.put(&vec![1u8; mk + 1], b"v").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::KeyTooLarge);
            assert!(!tx.is_failed());
            let e = tx.create_bucket(None, &vec![1u8; 256]).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::KeyTooLarge), "{e}");
            tx.commit().unwrap();
            t.reopen();
            // delete half with a cursor, then random deletes
            let mut tx = t.db().begin_write().unwrap();
            let keys: Vec<_> = model.keys().cloned().collect();
            for (i, k) in keys.iter().enumerate() {
                if i % 2 == 0 {
                    assert!(tx.delete(k).unwrap());
                    model.remove(k);
                }
            }
            tx.commit().unwrap();
            t.reopen();
            let r = t.db().begin_read().unwrap();
            let got: Vec<_> = r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
            assert!(got == model.into_iter().collect::<Vec<_>>(), "ps {ps}");
        }
    }
}

/// A model test with extreme entry sizes: keys of the maximum length and
/// inline values right at the threshold (one entry per leaf, four per
/// branch), mixed with tiny ones, so splits and merges see the most uneven
/// nodes.
#[test]
fn extreme_entry_sizes_match_a_model() {
    let s = seed(0xADF5);
    let ops = scaled(6000);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("extreme sizes at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let th = (ps / 2).min(32768);
        let mut t = TestDb::new(opts_ps(ps).overflow_threshold(th).unwrap());
        let mk = t.db().max_key_size();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut committed = model.clone();
        let mut tx = Some(t.db().begin_write().unwrap());
        for op in 0..ops {
            let w = tx.as_mut().unwrap();
            match rng.below(100) {
                0..=49 => put_an_extreme_entry(w, &mut model, mk, th, op, &mut rng),
                50..=79 => {
                    let k = extreme_key(&mut rng, mk);
                    assert_eq!(w.delete(&k).unwrap(), model.remove(&k).is_some(), "op {op}");
                }
                80..=87 => cursor_delete_a_run(w, &mut model, mk, op, &mut rng),
                88..=93 => range_scan_matches(w, &model, mk, op, &mut rng),
                94..=97 => {
                    let w = tx.take().unwrap();
                    w.commit().unwrap_or_else(|e| panic!("op {op}: commit {e}"));
                    committed = model.clone();
                    t.db().check().unwrap_or_else(|e| panic!("op {op}: check {e}"));
                    tx = Some(t.db().begin_write().unwrap());
                }
                _ => {
                    let w = tx.take().unwrap();
                    w.abort();
                    model = committed.clone();
                    if rng.chance(30) {
                        t.reopen();
                    }
                    tx = Some(t.db().begin_write().unwrap());
                }
            }
        }
        let w = tx.take().unwrap();
        let all: Vec<(Vec<u8>, Vec<u8>)> =
            w.iter().map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
        assert!(all == model.clone().into_iter().collect::<Vec<_>>(), "ps {ps}: final contents");
        w.commit().unwrap();
        t.reopen();
    }
}

/// One of 400 keys: 4 bytes, `mk` (the maximum), `mk - 1` or in between.
fn extreme_key(rng: &mut Rng, mk: usize) -> Vec<u8> {
    let id = rng.below(400) as u32;
    let len = match id % 4 {
        0 => 4,
        1 => mk,
        2 => mk - 1,
        _ => 4 + rng.below(mk as u64 - 4) as usize,
    };
    let mut k = vec![(id % 251) as u8; len];
    k[..4].copy_from_slice(&id.to_be_bytes());
    k
}

/// Puts an extreme key with a value at, just over or just under the
/// threshold `th`, empty or tiny.
fn put_an_extreme_entry(
    w: &mut WriteTx,
    model: &mut BTreeMap<Vec<u8>, Vec<u8>>,
    mk: usize,
    th: u32,
    op: u64,
    rng: &mut Rng,
) {
    let k = extreme_key(rng, mk);
    let len = match rng.below(5) {
        0 => th as usize,
        1 => th as usize + 1,
        2 => 0,
        3 => th as usize - (k.len() % 100),
        _ => rng.below(50) as usize,
    };
    let v = rng.bytes(len);
    w.put(&k, &v).unwrap_or_else(|e| panic!("op {op}: put {e}"));
    model.insert(k, v);
}

/// Cursor-deletes a run from a random start, forwards or backwards: after
/// each delete the cursor moves to the model's neighbour.
fn cursor_delete_a_run(w: &mut WriteTx, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, mk: usize, op: u64, rng: &mut Rng) {
    let k = extreme_key(rng, mk);
    let fwd = rng.chance(50);
    let n = rng.below(20);
    let mut c = w.write_cursor(None);
    let mut cur = c.seek(&k).unwrap().map(|(k, _)| k.to_vec());
    if !fwd {
        cur = c.prev().unwrap().map(|(k, _)| k.to_vec());
    }
    for _ in 0..n {
        let Some(ck) = cur else { break };
        assert!(model.remove(&ck).is_some(), "op {op}: cursor on a key the model lacks");
        assert!(c.delete().unwrap());
        cur = if fwd { c.next().unwrap() } else { c.prev().unwrap() }.map(|(k, _)| k.to_vec());
        let want = if fwd {
            model.range::<Vec<u8>, _>((Bound::Excluded(ck.clone()), Bound::Unbounded)).next()
        } else {
            model.range::<Vec<u8>, _>(..ck.clone()).next_back()
        };
        assert_eq!(cur.as_ref(), want.map(|(k, _)| k), "op {op}: cursor after delete");
    }
}

/// A range scan from a random extreme key gives the model's next 30 keys.
fn range_scan_matches(w: &WriteTx, model: &BTreeMap<Vec<u8>, Vec<u8>>, mk: usize, op: u64, rng: &mut Rng) {
    let a = extreme_key(rng, mk);
    let got: Vec<Vec<u8>> = w.range(a.clone()..).take(30).map(|r| r.unwrap().0.to_vec()).collect();
    let want: Vec<Vec<u8>> = model.range(a..).take(30).map(|(k, _)| k.clone()).collect();
    assert_eq!(got, want, "op {op}: range");
}

/// Thousands of one-key transactions, a tenth of them dropped instead of
/// committed, with a reopen every 500: after each one the database holds
/// exactly the committed state, and the bucket sequence counts only the
/// committed calls.
#[test]
fn thousands_of_small_transactions_with_drops_and_reopens_match_a_model() {
    let s = seed(0xADF0);
    let _g = SeedGuard::new("small transactions", s);
    let mut rng = Rng::new(s);
    let mut t = TestDb::new(Options::new().sync_mode(SyncMode::None).unwrap());
    let mut committed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut sequence = 0;
    for i in 0..3000u32 {
        let mut model = committed.clone();
        let mut tx = t.db().begin_write().unwrap();
        let k = format!("k{}", rng.below(500)).into_bytes();
        if rng.chance(30) {
            assert_eq!(tx.delete(&k).unwrap(), model.remove(&k).is_some(), "txn {i}");
        } else {
            let n = if rng.chance(5) { 5000 } else { rng.below(200) as usize };
            let v = rng.bytes(n);
            tx.put(&k, &v).unwrap();
            model.insert(k, v);
        }
        let bumped = rng.chance(5);
        if bumped {
            let b = tx.create_bucket_if_missing(None, b"bk").unwrap();
            assert_eq!(tx.next_sequence(&b).unwrap(), sequence + 1, "txn {i}");
        }
        if rng.chance(10) {
            drop(tx);
        } else {
            tx.commit().unwrap();
            committed = model;
            sequence += bumped as u64;
        }
        if i % 500 == 499 {
            t.db().sync().unwrap();
            t.reopen();
        }
        let r = t.db().begin_read().unwrap();
        let got: BTreeMap<Vec<u8>, Vec<u8>> =
            r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
        assert!(got == committed, "txn {i}: the database differs from the committed state");
    }
}

/// APPEND out of order and NO_OVERWRITE on an existing key (also with an
/// overflow value, which must not allocate) fail without writing anything
/// or failing the transaction; the empty key is invalid.
#[test]
fn put_flags_refuse_bad_appends_and_existing_keys_without_writing() {
    let t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    // append into an empty keyspace, then equal key: invalid, nothing written
    tx.put_with(b"b", b"1", PutFlags::APPEND).unwrap();
    assert_eq!(tx.put_with(b"b", b"2", PutFlags::APPEND).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        tx.put_with(b"a", b"2", PutFlags::APPEND | PutFlags::NO_OVERWRITE).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(tx.get(b"b").unwrap().unwrap(), b"1");
    assert_eq!(tx.put_with(b"b", b"3", PutFlags::NO_OVERWRITE).unwrap_err().kind(), ErrorKind::KeyExists);
    // overflow append many
    for i in 0..200u32 {
        tx.put_with(format!("c{i:05}").as_bytes(), &vec![i as u8; 3000], PutFlags::APPEND).unwrap();
    }
    // NO_OVERWRITE with an overflow value on an existing key: nothing allocated (check passes)
    assert_eq!(
        tx.put_with(b"c00000", &vec![0; 9000], PutFlags::NO_OVERWRITE).unwrap_err().kind(),
        ErrorKind::KeyExists
    );
    assert!(!tx.is_failed());
    // empty key
    assert_eq!(tx.put(b"", b"x").unwrap_err().kind(), ErrorKind::InvalidArgument);
    tx.commit().unwrap();
    t.db().check().unwrap();
}

/// Stats after reopen agree with check(): free pages and page count.
#[test]
fn stats_agree_with_check_after_churn_and_reopen() {
    let mut rng = Rng::new(seed(0xADF4));
    let mut t = TestDb::new(Options::new());
    for round in 0..30u32 {
        let mut tx = t.db().begin_write().unwrap();
        for _ in 0..50 {
            let k = format!("k{}", rng.below(400)).into_bytes();
            if rng.chance(40) {
                tx.delete(&k).unwrap();
            } else {
                let n = if rng.chance(10) { 9000 } else { rng.below(500) as usize };
                tx.put(&k, &rng.bytes(n)).unwrap();
            }
        }
        tx.commit().unwrap();
        if round % 10 == 9 {
            t.reopen();
            let st = t.db().stat().unwrap();
            let rep = t.db().check().unwrap();
            assert_eq!(st.page_count, rep.pages, "round {round}");
            assert_eq!(st.free_page_count + st.pending_page_count, rep.free_pages, "round {round}: {st:?} vs {rep:?}");
            assert_eq!(st.key_count, t.db().begin_read().unwrap().iter().count() as u64);
            assert_eq!(rep.reachable_pages + rep.free_pages + rep.freelist_pages + 2, rep.pages, "{rep:?}");
        }
    }
}

/// Reopening with a max size below the file's size, or not a multiple of
/// the page size: an error or a working database, never a crash or lost data.
#[test]
fn reopen_with_a_smaller_or_odd_max_size_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in 0..2000u32 {
        tx.put(format!("k{i:05}").as_bytes(), &vec![i as u8; 1500]).unwrap();
    }
    tx.commit().unwrap();
    db.close().unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    for max in [1u64 << 20, (len / 2) | 1, len - 1, len + 1000, len + 4096 * 3 + 17] {
        let what = format!("max {max} (file {len})");
        match Database::open_with_options(&path, Options::new().max_size(max).unwrap()) {
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::NoSpace | ErrorKind::InvalidArgument | ErrorKind::Corrupted),
                    "{what}: {e}"
                );
            }
            Ok(db) => {
                let r = db.begin_read().unwrap();
                for i in 0..2000u32 {
                    match r.get(format!("k{i:05}").as_bytes()) {
                        Ok(Some(v)) => assert_eq!(v, &vec![i as u8; 1500][..], "{what}"),
                        Ok(None) => panic!("{what}: key lost"),
                        Err(e) => panic!("{what}: read {e}"),
                    }
                }
                drop(r);
                db.check().unwrap_or_else(|e| panic!("{what}: check {e}"));
                let mut tx = db.begin_write().unwrap();
                let mut r = Ok(());
                for i in 0..500u32 {
                    r = r.and_then(|_| tx.put(format!("n{i:05}").as_bytes(), &[1; 3000]));
                }
                match r.and_then(|_| tx.commit()) {
                    Ok(()) => {}
                    Err(e) => assert_eq!(e.kind(), ErrorKind::NoSpace, "{what}: {e}"),
                }
                db.check().unwrap();
                db.close().unwrap();
                // undo the writes for the next round
                let db = Database::open(&path).unwrap();
                let mut tx = db.begin_write().unwrap();
                for i in 0..500u32 {
                    tx.delete(format!("n{i:05}").as_bytes()).unwrap();
                }
                tx.commit().unwrap();
                db.close().unwrap();
            }
        }
        assert!(std::fs::metadata(&path).unwrap().len() >= len);
    }
}

/// One commit with more than 8 MiB of tree pages (the commit flushes its
/// page buffer part-way through a tree), with the smallest write buffer
/// (4 KiB, smaller than a 64 KiB page) and in buckets; then updates that
/// touch every leaf again.
#[test]
fn commits_many_times_larger_than_the_write_buffer_read_back() {
    for (ps, wb) in [(4096u32, 4096usize), (65536, 4096), (16384, 1 << 20)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let opts = opts_ps(ps).write_buffer_size(wb).unwrap();
        let db = Database::open_with_options(&path, opts.clone()).unwrap();
        let mut rng = Rng::new(seed(0xADF6) ^ ps as u64);
        let n = 120_000u32;
        let mut tx = db.begin_write().unwrap();
        let b = tx.create_bucket(None, b"bulk").unwrap();
        for i in 0..n {
            let k = format!("key-{:08}", (i as u64 * 2654435761 % n as u64)).into_bytes();
            tx.put(&k, &[(i % 251) as u8; 90]).unwrap();
            if i % 3 == 0 {
                tx.put_in(&b, &k, &[(i % 7) as u8; 40]).unwrap();
            }
            if i % 5000 == 0 {
                tx.put_in(&b, format!("big{i}").as_bytes(), &rng.bytes(50_000)).unwrap();
            }
        }
        tx.commit().unwrap();
        db.check().unwrap();
        // rewrite every value: every leaf copied again in one commit
        let mut tx = db.begin_write().unwrap();
        for i in 0..n {
            let k = format!("key-{:08}", i).into_bytes();
            tx.put(&k, &[(i % 13) as u8; 95]).unwrap();
        }
        tx.commit().unwrap();
        db.close().unwrap();
        let db = Database::open_with_options(&path, opts).unwrap();
        let rep = db.check().unwrap();
        assert_eq!(rep.keys, n as u64 + (n as u64).div_ceil(3) + (n as u64).div_ceil(5000));
        let r = db.begin_read().unwrap();
        for i in (0..n).step_by(97) {
            let k = format!("key-{:08}", i).into_bytes();
            assert_eq!(r.get(&k).unwrap().unwrap(), &[(i % 13) as u8; 95][..], "ps {ps}");
        }
        assert_eq!(r.iter().count(), n as usize);
    }
}
