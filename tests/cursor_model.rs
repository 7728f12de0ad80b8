//! Owned cursors in a write transaction against a model (a BTreeMap and
//! each cursor's expected position) while the transaction changes the
//! keyspace under them through puts, deletes and other cursors' deletes:
//! default keyspace and buckets, keys up to 1000 bytes, overflow values.

mod common;

use std::collections::BTreeMap;

use common::Rng;
use thunder::{Database, OwnedCursor};

type Item = (Vec<u8>, Vec<u8>);

#[derive(Clone, Debug, PartialEq)]
enum St {
    Unpos,
    At(Vec<u8>),
    Deleted(Vec<u8>),
    PastEnd,
    BeforeStart,
}

fn mnext(m: &BTreeMap<Vec<u8>, Vec<u8>>, s: &St) -> Option<Vec<u8>> {
    match s {
        St::Unpos | St::BeforeStart => m.keys().next().cloned(),
        St::PastEnd => None,
        St::At(k) | St::Deleted(k) => m
            .range::<Vec<u8>, _>((std::ops::Bound::Excluded(k.clone()), std::ops::Bound::Unbounded))
            .next()
            .map(|x| x.0.clone()),
    }
}

fn mprev(m: &BTreeMap<Vec<u8>, Vec<u8>>, s: &St) -> Option<Vec<u8>> {
    match s {
        St::Unpos | St::PastEnd => m.keys().next_back().cloned(),
        St::BeforeStart => None,
        St::At(k) | St::Deleted(k) => m.range::<Vec<u8>, _>(..k.clone()).next_back().map(|x| x.0.clone()),
    }
}

static BIGKEYS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
fn key(rng: &mut Rng) -> Vec<u8> {
    let n = rng.below(3000);
    // SAFETY: tests set it before running, single-threaded per test binary run (--test-threads=1)
    let pad = if BIGKEYS.load(std::sync::atomic::Ordering::Relaxed) {
        rng.below(990) as usize
    } else {
        rng.below(40) as usize
    };
    let mut k = format!("k{n:05}").into_bytes();
    k.extend(std::iter::repeat_n(b'x', pad));
    k
}

fn run(seed: u64, in_bucket: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("m.db")).unwrap();
    let mut rng = Rng::new(seed);
    let mut model = BTreeMap::new();
    {
        let mut w = db.begin_write().unwrap();
        let b = if in_bucket { Some(w.create_bucket(None, b"b").unwrap()) } else { None };
        for _ in 0..2000 {
            let k = key(&mut rng);
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
    let mut curs: Vec<(OwnedCursor, St)> =
        (0..4).map(|_| (OwnedCursor::keys(&w, b.as_ref()).unwrap(), St::Unpos)).collect();
    for step in 0..20000 {
        let what = rng.below(100);
        let ci = rng.below(curs.len() as u64) as usize;
        let ctx = format!("seed {seed} step {step} op {what} cursor {ci}");
        if what < 25 {
            let k = key(&mut rng);
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
                    St::At(k) | St::Deleted(k) => k.clone(),
                    _ => key(&mut rng),
                }
            } else {
                key(&mut rng)
            };
            let got = match &b {
                Some(b) => w.delete_in(b, &k).unwrap(),
                None => w.delete(&k).unwrap(),
            };
            assert_eq!(got, model.remove(&k).is_some(), "{ctx}");
        } else {
            let (c, st) = &mut curs[ci];
            let (got, want, newst): (Option<Item>, Option<Vec<u8>>, St);
            match what {
                45..=64 => {
                    let g = c.next(&w).unwrap().map(|(k, v)| (k.to_vec(), v.to_vec()));
                    let wk = mnext(&model, st);
                    newst = match &wk {
                        Some(k) => St::At(k.clone()),
                        None => St::PastEnd,
                    };
                    got = g;
                    want = wk;
                }
                65..=84 => {
                    let g = c.prev(&w).unwrap().map(|(k, v)| (k.to_vec(), v.to_vec()));
                    let wk = mprev(&model, st);
                    newst = match &wk {
                        Some(k) => St::At(k.clone()),
                        None => St::BeforeStart,
                    };
                    got = g;
                    want = wk;
                }
                85..=89 => {
                    let sk = key(&mut rng);
                    let g = c.seek(&w, &sk).unwrap().map(|(k, v)| (k.to_vec(), v.to_vec()));
                    let wk = model.range(sk..).next().map(|x| x.0.clone());
                    newst = match &wk {
                        Some(k) => St::At(k.clone()),
                        None => St::PastEnd,
                    };
                    got = g;
                    want = wk;
                }
                90..=91 => {
                    let g = c.first(&w).unwrap().map(|(k, v)| (k.to_vec(), v.to_vec()));
                    let wk = model.keys().next().cloned();
                    newst = match &wk {
                        Some(k) => St::At(k.clone()),
                        None => St::PastEnd,
                    };
                    got = g;
                    want = wk;
                }
                92..=93 => {
                    let g = c.last(&w).unwrap().map(|(k, v)| (k.to_vec(), v.to_vec()));
                    let wk = model.keys().next_back().cloned();
                    newst = match &wk {
                        Some(k) => St::At(k.clone()),
                        None => St::BeforeStart,
                    };
                    got = g;
                    want = wk;
                }
                _ => {
                    let deleted = c.delete(&mut w).unwrap();
                    match st.clone() {
                        St::At(k) => {
                            let present = model.remove(&k).is_some();
                            assert_eq!(deleted, present, "{ctx}: cursor delete of {}", String::from_utf8_lossy(&k));
                            *st = St::Deleted(k);
                        }
                        _ => assert!(!deleted, "{ctx}: delete with no current item"),
                    }
                    continue;
                }
            }
            assert_eq!(got.as_ref().map(|x| x.0.clone()), want, "{ctx}: state {:?}", st);
            if let Some((k, v)) = &got {
                assert_eq!(model.get(k), Some(v), "{ctx}: value");
            }
            *st = newst;
        }
    }
    w.commit().unwrap();
    db.check().unwrap();
}

#[test]
fn cursors_follow_the_model_default_keyspace() {
    for seed in 0..6 {
        run(seed, false);
    }
}

#[test]
fn cursors_follow_the_model_bucket() {
    for seed in 100..104 {
        run(seed, true);
    }
}

#[test]
fn cursors_follow_the_model_big_keys() {
    // SAFETY: see BIGKEYS
    BIGKEYS.store(true, std::sync::atomic::Ordering::Relaxed);
    for seed in 200..204 {
        run(seed, seed % 2 == 0);
    }
    BIGKEYS.store(false, std::sync::atomic::Ordering::Relaxed);
}
