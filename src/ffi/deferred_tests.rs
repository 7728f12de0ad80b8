//! Deferred puts through the C API (`txn::deferred`): `thunder_put` keeps a
//! plain put to apply later, in key order; every other call on the
//! transaction applies what is kept first. Against a model, over every
//! kind of call that reads or changes, across commits and reopens. (A
//! failure applying them: src/tests/regressions.rs.)

#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::ptr::{null, null_mut};

use crate::ffi::*;
use crate::Rng;

const OK: thunder_status = thunder_status::THUNDER_OK;
const NOT_FOUND: thunder_status = thunder_status::THUNDER_NOT_FOUND;
const EMPTY: thunder_bytes = thunder_bytes { data: null(), len: 0 };

fn view(b: &thunder_bytes) -> Vec<u8> {
    // SAFETY: a view thunder wrote, read while it is valid.
    unsafe { std::slice::from_raw_parts(b.data, b.len) }.to_vec()
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// The whole keyspace of `bucket` (NULL: the default one) through a cursor.
///
/// # Safety
/// Live handles.
unsafe fn contents(txn: *mut thunder_txn, bucket: *mut thunder_bucket) -> Model {
    let mut out = Model::new();
    // SAFETY: live handles, per the contract.
    unsafe {
        let mut c = null_mut();
        assert_eq!(thunder_cursor_open(txn, bucket, &mut c), OK);
        let (mut k, mut v) = (EMPTY, EMPTY);
        while thunder_cursor_next(c, &mut k, &mut v) == OK {
            out.insert(view(&k), view(&v));
        }
        thunder_cursor_close(c);
    }
    out
}

/// Random calls of every kind on the default keyspace and a bucket, plain
/// puts most of all (so the kept puts pass their limit and hold a key put
/// twice), each read compared with a model; commits, aborts and reopens.
#[test]
fn deferred_puts_read_back_through_every_call_as_a_model_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("d.db").to_str().unwrap()).unwrap();
    let mut rng = Rng::new(0xdefe_22ed);
    let (mut main, mut inb) = (Model::new(), Model::new());
    let key = |rng: &mut Rng| format!("k{:05}", rng.below(3000)).into_bytes();
    // SAFETY: every call gets live handles and valid buffers.
    unsafe {
        let mut db = null_mut();
        assert_eq!(thunder_open(path.as_ptr(), null(), &mut db), OK);
        for round in 0..12 {
            let (mut txn, mut b) = (null_mut(), null_mut());
            assert_eq!(thunder_txn_begin(db, THUNDER_TXN_WRITE, &mut txn), OK);
            let (mut m, mut mb) = (main.clone(), inb.clone());
            assert_eq!(thunder_bucket_create_if_missing(txn, null_mut(), b"b".as_ptr(), 1, &mut b), OK);
            for _ in 0..4000 {
                let k = key(&mut rng);
                let mut out = EMPTY;
                match rng.below(100) {
                    0..=69 => {
                        // Up to 4 KiB: past the overflow threshold at times.
                        let len = if rng.chance(2) { 4096 } else { rng.range(0, 400) as usize };
                        let v = rng.bytes(len);
                        assert_eq!(thunder_put(txn, k.as_ptr(), k.len(), v.as_ptr(), v.len(), 0), OK);
                        m.insert(k, v);
                    }
                    70..=74 => {
                        let v = rng.bytes(20);
                        assert_eq!(thunder_bucket_put(b, k.as_ptr(), k.len(), v.as_ptr(), v.len(), 0), OK);
                        mb.insert(k, v);
                    }
                    75..=79 => {
                        let v = rng.bytes(30);
                        let st = thunder_put(txn, k.as_ptr(), k.len(), v.as_ptr(), v.len(), THUNDER_PUT_NO_OVERWRITE);
                        match m.get(&k) {
                            Some(_) => assert_eq!(st, thunder_status::THUNDER_KEY_EXISTS),
                            None => {
                                assert_eq!(st, OK);
                                m.insert(k, v);
                            }
                        }
                    }
                    80..=86 => {
                        let st = thunder_get(txn, k.as_ptr(), k.len(), &mut out);
                        match m.get(&k) {
                            Some(v) => assert_eq!((st, view(&out)), (OK, v.clone()), "round {round}"),
                            None => assert_eq!(st, NOT_FOUND),
                        }
                    }
                    87..=89 => {
                        let st = thunder_bucket_get(b, k.as_ptr(), k.len(), &mut out);
                        assert_eq!(st == OK, mb.contains_key(&k));
                    }
                    90..=94 => {
                        let st = thunder_delete(txn, k.as_ptr(), k.len());
                        assert_eq!(st, if m.remove(&k).is_some() { OK } else { NOT_FOUND });
                    }
                    95 => {
                        // A burst of plain puts past the kept puts' limit.
                        for _ in 0..3000 {
                            let (k, v) = (key(&mut rng), rng.bytes(500));
                            assert_eq!(thunder_put(txn, k.as_ptr(), k.len(), v.as_ptr(), v.len(), 0), OK);
                            m.insert(k, v);
                        }
                    }
                    _ => {
                        // A seek and three steps from it.
                        let mut c = null_mut();
                        assert_eq!(thunder_cursor_open(txn, null_mut(), &mut c), OK);
                        let (mut ck, mut cv) = (EMPTY, EMPTY);
                        let want: Vec<_> = m.range(k.clone()..).take(3).map(|(a, b)| (a.clone(), b.clone())).collect();
                        let mut got = Vec::new();
                        if thunder_cursor_seek(c, k.as_ptr(), k.len(), &mut ck, &mut cv) == OK {
                            got.push((view(&ck), view(&cv)));
                            while got.len() < 3 && thunder_cursor_next(c, &mut ck, &mut cv) == OK {
                                got.push((view(&ck), view(&cv)));
                            }
                        }
                        assert_eq!(got, want, "round {round}: from {}", String::from_utf8_lossy(&k));
                        thunder_cursor_close(c);
                    }
                }
            }
            thunder_bucket_close(b);
            if round % 4 == 3 {
                thunder_txn_abort(txn);
                continue;
            }
            assert_eq!(thunder_txn_commit(txn), OK);
            (main, inb) = (m, mb);
            if round % 3 == 2 {
                assert_eq!(thunder_close(db), OK);
                assert_eq!(thunder_open(path.as_ptr(), null(), &mut db), OK);
            }
            let mut r = null_mut();
            assert_eq!(thunder_txn_begin(db, THUNDER_TXN_READ, &mut r), OK);
            assert_eq!(contents(r, null_mut()), main, "round {round}");
            let mut rb = null_mut();
            assert_eq!(thunder_bucket_open(r, null_mut(), b"b".as_ptr(), 1, &mut rb), OK);
            assert_eq!(contents(r, rb), inb, "round {round}: the bucket");
            thunder_bucket_close(rb);
            thunder_txn_abort(r);
        }
        assert_eq!(thunder_check(db), OK);
        assert_eq!(thunder_close(db), OK);
    }
}

/// Review: `thunder_txn_id` applied the kept puts (it locks the
/// transaction as every call does), and when that failed it returned 0 for
/// a live transaction, with no status to say why, and failed it. It leaves
/// them as they are now; the next call that reads applies them, and fails.
#[test]
fn txn_id_neither_applies_kept_puts_nor_fails_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("id.db");
    crate::damaged_root(&file);
    let path = CString::new(file.to_str().unwrap()).unwrap();
    // SAFETY: every call gets live handles and valid buffers.
    unsafe {
        let (mut db, mut txn) = (null_mut(), null_mut());
        assert_eq!(thunder_open(path.as_ptr(), null(), &mut db), OK);
        assert_eq!(thunder_txn_begin(db, THUNDER_TXN_WRITE, &mut txn), OK);
        assert_eq!(thunder_put(txn, b"b".as_ptr(), 1, b"2".as_ptr(), 1, 0), OK);
        assert_eq!(thunder_txn_id(txn), 2);
        let mut out = EMPTY;
        assert_eq!(thunder_get(txn, b"z".as_ptr(), 1, &mut out), thunder_status::THUNDER_CORRUPTED);
        assert_eq!(thunder_txn_id(txn), 2);
        thunder_txn_abort(txn);
        assert_eq!(thunder_close(db), OK);
    }
}
