//! Owned cursors in a write transaction against a model (a BTreeMap and
//! each cursor's expected position) while the transaction changes the
//! keyspace under them through puts, deletes and other cursors' deletes:
//! default keyspace and buckets, keys up to 1000 bytes, overflow values.

mod common;

use std::collections::BTreeMap;

use common::model_cursor::{Item, ModelCursor};
use common::Rng;
use thunder::{Database, OwnedCursor};

/// What a cursor move gave, owned.
fn own<K: AsRef<[u8]>, V: AsRef<[u8]>>(r: thunder::Result<Option<(K, V)>>) -> Item {
    r.unwrap().map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec()))
}

/// A key: one of 3,000 stems, padded by up to `pad` bytes.
fn key(rng: &mut Rng, pad: u64) -> Vec<u8> {
    let n = rng.below(3000);
    let pad = rng.below(pad) as usize;
    let mut k = format!("k{n:05}").into_bytes();
    k.extend(std::iter::repeat_n(b'x', pad));
    k
}

/// `pad`: keys are padded by up to that many bytes (990: near the 4 KiB
/// page's key limit).
fn run(seed: u64, in_bucket: bool, pad: u64) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("m.db")).unwrap();
    let mut rng = Rng::new(seed);
    let mut model = BTreeMap::new();
    {
        let mut w = db.begin_write().unwrap();
        let b = if in_bucket { Some(w.create_bucket(None, b"b").unwrap()) } else { None };
        for _ in 0..2000 {
            let k = key(&mut rng, pad);
            let big = rng.chance(5);
            let n = rng.below(if big { 5000 } else { 100 }) as usize;
            let v = rng.bytes(n);
            match &b {
                Some(b) => w.put_in(b, &k, &v).unwrap(),
                None => w.put(&k, &v).unwrap(),
            }
            model.insert(k, v);
        }
        w.commit().unwrap();
    }
    let mut w = db.begin_write().unwrap();
    let b = if in_bucket { Some(w.bucket(None, b"b").unwrap().unwrap()) } else { None };
    let mut curs: Vec<(OwnedCursor, ModelCursor)> =
        (0..4).map(|_| (OwnedCursor::keys(&w, b.as_ref()).unwrap(), ModelCursor::Unpositioned)).collect();
    for step in 0..20000 {
        let what = rng.below(100);
        let ci = rng.below(curs.len() as u64) as usize;
        let ctx = format!("seed {seed} step {step} op {what} cursor {ci}");
        if what < 25 {
            let k = key(&mut rng, pad);
            let big = rng.chance(5);
            let n = rng.below(if big { 5000 } else { 300 }) as usize;
            let v = rng.bytes(n);
            match &b {
                Some(b) => w.put_in(b, &k, &v).unwrap(),
                None => w.put(&k, &v).unwrap(),
            }
            model.insert(k, v);
        } else if what < 45 {
            // delete, often the key under a cursor or its neighbour
            let k = if rng.chance(50) {
                match &curs[ci].1 {
                    ModelCursor::At(k) | ModelCursor::Deleted(k) => k.clone(),
                    _ => key(&mut rng, pad),
                }
            } else {
                key(&mut rng, pad)
            };
            let got = match &b {
                Some(b) => w.delete_in(b, &k).unwrap(),
                None => w.delete(&k).unwrap(),
            };
            assert_eq!(got, model.remove(&k).is_some(), "{ctx}");
        } else {
            let (c, st) = &mut curs[ci];
            let before = st.clone();
            let (got, want) = match what {
                45..=64 => (own(c.next(&w)), st.next(&model)),
                65..=84 => (own(c.prev(&w)), st.prev(&model)),
                85..=89 => {
                    let sk = key(&mut rng, pad);
                    (own(c.seek(&w, &sk)), st.seek(&model, &sk))
                }
                90..=91 => (own(c.first(&w)), st.first(&model)),
                92..=93 => (own(c.last(&w)), st.last(&model)),
                _ => {
                    let deleted = c.delete(&mut w).unwrap();
                    match st.clone() {
                        ModelCursor::At(k) => {
                            let present = model.remove(&k).is_some();
                            assert_eq!(deleted, present, "{ctx}: cursor delete of {}", String::from_utf8_lossy(&k));
                            *st = ModelCursor::Deleted(k);
                        }
                        _ => assert!(!deleted, "{ctx}: delete with no current item"),
                    }
                    continue;
                }
            };
            assert_eq!(got.as_ref().map(|x| x.0.clone()), want.map(|x| x.0), "{ctx}: state {before:?}");
            if let Some((k, v)) = &got {
                assert_eq!(model.get(k), Some(v), "{ctx}: value");
            }
        }
    }
    w.commit().unwrap();
    db.check().unwrap();
}

#[test]
fn cursors_follow_the_model_default_keyspace() {
    for seed in 0..6 {
        run(seed, false, 40);
    }
}

#[test]
fn cursors_follow_the_model_bucket() {
    for seed in 100..104 {
        run(seed, true, 40);
    }
}

#[test]
fn cursors_follow_the_model_big_keys() {
    for seed in 200..204 {
        run(seed, seed % 2 == 0, 990);
    }
}
