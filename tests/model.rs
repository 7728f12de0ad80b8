//! Model-based random test: random operations on nested buckets, keys with
//! shared prefixes and 0x00/0xFF bytes, values from empty to several pages,
//! cursor walks with seeks and deletes, across commits, aborts and reopens,
//! compared with a BTreeMap model after every transaction. `check()` runs
//! after every reopen. Every page size; `THUNDER_MODEL_OPS` sets the number
//! of operations per page size (default 100,000).

mod common;

use std::collections::BTreeMap;

use common::model_cursor::{Item, ModelCursor};
use common::{seed, Rng, SeedGuard, TestDb, PAGE_SIZES};
use thunder::{Bucket, Cursor, ErrorKind, Options, PutFlags, ReadTx, WriteTx};

#[derive(Clone, Debug, Default, PartialEq)]
struct BucketModel {
    keys: BTreeMap<Vec<u8>, Vec<u8>>,
    kids: BTreeMap<Vec<u8>, BucketModel>,
    seq: u64,
}

impl BucketModel {
    fn at(&mut self, path: &[Vec<u8>]) -> &mut BucketModel {
        path.iter().fold(self, |b, name| b.kids.get_mut(name).expect("model path"))
    }

    fn count(&self) -> usize {
        1 + self.kids.values().map(BucketModel::count).sum::<usize>()
    }
}

struct Gen {
    rng: Rng,
    page_size: usize,
    threshold: usize,
}

impl Gen {
    /// Keys from a tiny alphabet, so prefixes are shared and 0x00/0xFF common.
    fn key(&mut self) -> Vec<u8> {
        const ALPHA: [u8; 6] = [0x00, 0x01, b'a', b'b', 0xFE, 0xFF];
        if self.rng.chance(1) {
            let n = self.rng.range(200, 1001) as usize;
            let mut k = vec![*self.rng.pick(&ALPHA); n];
            k[n - 1] = self.rng.next() as u8;
            return k;
        }
        let n = self.rng.range(1, 7) as usize;
        (0..n).map(|_| *self.rng.pick(&ALPHA)).collect()
    }

    fn value(&mut self) -> Vec<u8> {
        let t = self.threshold;
        let n = match self.rng.below(100) {
            0..=64 => self.rng.below(48) as usize,
            65..=84 => self.rng.range(48, t as u64 + 1) as usize,
            85..=95 => t - 1 + self.rng.below(3) as usize,
            _ => self.rng.range(t as u64 + 2, 3 * self.page_size as u64) as usize,
        };
        self.rng.bytes(n)
    }

    fn bucket_name(&mut self) -> Vec<u8> {
        const NAMES: [&[u8]; 5] = [b"a", b"b", b"users", &[0x00], &[0xFF, 0x00]];
        self.rng.pick(&NAMES).to_vec()
    }

    /// A random existing bucket path (empty: the root).
    fn path(&mut self, m: &BucketModel) -> Vec<Vec<u8>> {
        let mut path = Vec::new();
        let mut at = m;
        while !at.kids.is_empty() && path.len() < 4 && self.rng.chance(55) {
            let names: Vec<&Vec<u8>> = at.kids.keys().collect();
            let name = (*self.rng.pick(&names)).clone();
            at = &at.kids[&name];
            path.push(name);
        }
        path
    }
}

fn open_path(tx: &mut WriteTx, path: &[Vec<u8>]) -> Option<Bucket> {
    let mut b: Option<Bucket> = None;
    for name in path {
        b = Some(tx.bucket(b.as_ref(), name).expect("open bucket").expect("bucket in model exists"));
    }
    b
}

fn read_path(tx: &ReadTx, path: &[Vec<u8>]) -> Option<Bucket> {
    let mut b: Option<Bucket> = None;
    for name in path {
        b = Some(tx.bucket(b.as_ref(), name).expect("open bucket").expect("bucket in model exists"));
    }
    b
}

/// Compares everything a read transaction sees with the model.
fn verify(tx: &ReadTx, b: Option<&Bucket>, m: &BucketModel, what: &str) {
    let got = match b {
        None => thunder::collect_owned(tx.iter()),
        Some(b) => thunder::collect_owned(tx.iter_in(b)),
    }
    .expect("iterate");
    let want: Vec<(Vec<u8>, Vec<u8>)> = m.keys.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert!(got == want, "{what}: contents differ ({} keys vs {} in the model)", got.len(), want.len());
    let names = tx.bucket_names(b).expect("bucket names");
    assert_eq!(names, m.kids.keys().cloned().collect::<Vec<_>>(), "{what}: child buckets");
    for (name, kid) in &m.kids {
        let cb = tx.bucket(b, name).expect("open").expect("child exists");
        verify(tx, Some(&cb), kid, what);
    }
}

fn check_item(got: thunder::Result<Option<(&[u8], &[u8])>>, want: Item, what: &str) {
    let got = got.expect("cursor move").map(|(k, v)| (k.to_vec(), v.to_vec()));
    assert!(got == want, "{what}: cursor gave {:?}, model {:?}", got.map(|x| x.0), want.map(|x| x.0));
}

/// A random cursor walk in a write transaction, deleting now and then.
fn cursor_walk(g: &mut Gen, tx: &mut WriteTx, path: &[Vec<u8>], model: &mut BucketModel) {
    let b = open_path(tx, path);
    let m = &mut model.at(path).keys;
    let mut mc = ModelCursor::Unpositioned;
    let mut c = tx.write_cursor(b.as_ref());
    for step in 0..g.rng.range(5, 40) {
        let what = format!("cursor step {step}");
        match g.rng.below(8) {
            0 => check_item(c.first(), mc.first(m), &what),
            1 => check_item(c.last(), mc.last(m), &what),
            2 | 3 => check_item(c.next(), mc.next(m), &what),
            4 => check_item(c.prev(), mc.prev(m), &what),
            5 => {
                let k = if g.rng.chance(10) { Vec::new() } else { g.key() };
                check_item(c.seek(&k), mc.seek(m, &k), &what);
            }
            _ => {
                let want = match mc.clone() {
                    ModelCursor::At(k) => {
                        m.remove(&k);
                        mc = ModelCursor::Deleted(k);
                        true
                    }
                    _ => false,
                };
                assert_eq!(c.delete().expect("cursor delete"), want, "{what}: delete");
            }
        }
    }
}

/// A cursor walk over committed data in a read transaction.
fn read_walk(g: &mut Gen, tx: &ReadTx, path: &[Vec<u8>], model: &BucketModel) {
    let b = read_path(tx, path);
    let mut m = model.clone();
    let keys = &m.at(path).keys.clone();
    let mut mc = ModelCursor::Unpositioned;
    let mut c: Cursor<'_, ReadTx> = match &b {
        None => tx.cursor(),
        Some(b) => tx.cursor_in(b),
    };
    for step in 0..g.rng.range(5, 30) {
        let what = format!("read cursor step {step}");
        match g.rng.below(5) {
            0 => check_item(c.first(), mc.first(keys), &what),
            1 => check_item(c.last(), mc.last(keys), &what),
            2 => check_item(c.next(), mc.next(keys), &what),
            3 => check_item(c.prev(), mc.prev(keys), &what),
            _ => {
                let k = g.key();
                check_item(c.seek(&k), mc.seek(keys, &k), &what);
            }
        }
    }
}

/// Range and prefix iteration, both directions.
fn range_check(g: &mut Gen, tx: &WriteTx, b: Option<&Bucket>, m: &BTreeMap<Vec<u8>, Vec<u8>>) {
    let (a, z) = (g.key(), g.key());
    let (lo, hi) = if a <= z { (a, z) } else { (z, a) };
    let owned = |it: thunder::Iter<'_, WriteTx>| thunder::collect_owned(it).expect("range");
    let rev = |it: thunder::Iter<'_, WriteTx>| thunder::collect_owned(it.rev()).expect("range rev");
    let want: Vec<_> = m.range(lo.clone()..hi.clone()).map(|(k, v)| (k.clone(), v.clone())).collect();
    let (fwd, bwd) = match b {
        None => (owned(tx.range(lo.clone()..hi.clone())), rev(tx.range(lo.clone()..hi.clone()))),
        Some(b) => (owned(tx.range_in(b, lo.clone()..hi.clone())), rev(tx.range_in(b, lo.clone()..hi.clone()))),
    };
    assert_eq!(fwd, want, "range forward");
    let mut want_rev = want.clone();
    want_rev.reverse();
    assert_eq!(bwd, want_rev, "range backward");
    let want_incl: Vec<_> = m.range(lo.clone()..=hi.clone()).map(|(k, v)| (k.clone(), v.clone())).collect();
    let incl = match b {
        None => owned(tx.range(lo.clone()..=hi.clone())),
        Some(b) => owned(tx.range_in(b, lo.clone()..=hi.clone())),
    };
    assert_eq!(incl, want_incl, "inclusive range");
    let incl_rev = match b {
        None => rev(tx.range(lo.clone()..=hi.clone())),
        Some(b) => rev(tx.range_in(b, lo.clone()..=hi.clone())),
    };
    assert_eq!(incl_rev, want_incl.into_iter().rev().collect::<Vec<_>>(), "inclusive range backward");
    // start excluded (no Range type says that: a bound pair does), both ends open too
    use std::ops::Bound::{Excluded, Unbounded};
    let bounds = (Excluded(lo.clone()), Excluded(hi.clone()));
    // (BTreeMap panics on equal excluded ends; thunder gives nothing)
    let want_ex: Vec<_> = match lo == hi {
        true => Vec::new(),
        false => m.range::<Vec<u8>, _>(bounds.clone()).map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    let (fwd, bwd) = match b {
        None => (owned(tx.range(bounds.clone())), rev(tx.range(bounds.clone()))),
        Some(b) => (owned(tx.range_in(b, bounds.clone())), rev(tx.range_in(b, bounds.clone()))),
    };
    assert_eq!(fwd, want_ex, "range with both ends excluded");
    assert_eq!(bwd, want_ex.into_iter().rev().collect::<Vec<_>>(), "range with both ends excluded, backward");
    let from: (std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>) = (Excluded(lo.clone()), Unbounded);
    let want_from: Vec<_> = m.range::<Vec<u8>, _>(from.clone()).map(|(k, v)| (k.clone(), v.clone())).collect();
    let got_from = match b {
        None => rev(tx.range(from)),
        Some(b) => rev(tx.range_in(b, from)),
    };
    assert_eq!(got_from, want_from.into_iter().rev().collect::<Vec<_>>(), "range after a key to the end, backward");
    let p = &lo[..lo.len().min(2)];
    let want_p: Vec<_> = m.iter().filter(|(k, _)| k.starts_with(p)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let (got_p, got_p_rev) = match b {
        None => (owned(tx.prefix(p)), rev(tx.prefix(p))),
        Some(b) => (owned(tx.prefix_in(b, p)), rev(tx.prefix_in(b, p))),
    };
    assert_eq!(got_p, want_p, "prefix forward");
    assert_eq!(got_p_rev, want_p.into_iter().rev().collect::<Vec<_>>(), "prefix backward");
}

/// Many keys sharing a long prefix: branch pages then hold only a few
/// entries, so trees grow several levels deep and splits reach the root.
fn bulk_insert(g: &mut Gen, tx: &mut WriteTx, b: Option<&Bucket>, m: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
    let max_prefix = g.page_size / 4 - 24;
    let len = *g.rng.pick(&[4, 64, max_prefix / 2, max_prefix]);
    let prefix = vec![*g.rng.pick(&[0x00u8, b'a', 0xFF]); len];
    let start = g.rng.below(1 << 16) as u32;
    for i in 0..g.rng.range(20, 200) as u32 {
        let k = [prefix.as_slice(), &(start + i * 7).to_be_bytes()].concat();
        let small = g.rng.below(24) as usize;
        let v = if g.rng.chance(90) { g.rng.bytes(small) } else { g.value() };
        match b {
            None => tx.put(&k, &v),
            Some(b) => tx.put_in(b, &k, &v),
        }
        .expect("bulk put");
        m.insert(k, v);
    }
}

/// Deletes every key in a random range: leaves and branches underflow and
/// merge up to the root.
fn range_delete(g: &mut Gen, tx: &mut WriteTx, b: Option<&Bucket>, m: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
    if m.is_empty() {
        return;
    }
    let keys: Vec<Vec<u8>> = m.keys().cloned().collect();
    let from = g.rng.below(keys.len() as u64) as usize;
    let to = (from + g.rng.range(1, 600) as usize).min(keys.len());
    for k in &keys[from..to] {
        let deleted = match b {
            None => tx.delete(k),
            Some(b) => tx.delete_in(b, k),
        }
        .expect("range delete");
        assert!(deleted);
        m.remove(k);
    }
}

/// One random operation inside a write transaction.
fn one_op(g: &mut Gen, tx: &mut WriteTx, model: &mut BucketModel) {
    let path = g.path(model);
    let b = open_path(tx, &path);
    let size = model.at(&path).keys.len();
    if size > 1500 {
        // keep the model small enough to compare cheaply
        return range_delete(g, tx, b.as_ref(), &mut model.at(&path).keys);
    }
    match g.rng.below(100) {
        0..=39 => {
            let (k, v) = (g.key(), g.value());
            match b {
                None => tx.put(&k, &v),
                Some(b) => tx.put_in(&b, &k, &v),
            }
            .expect("put");
            model.at(&path).keys.insert(k, v);
        }
        40..=43 => {
            let (k, v) = (g.key(), g.value());
            let r = match &b {
                None => tx.put_with(&k, &v, PutFlags::NO_OVERWRITE),
                Some(b) => tx.put_with_in(b, &k, &v, PutFlags::NO_OVERWRITE),
            };
            match model.at(&path).keys.entry(k) {
                std::collections::btree_map::Entry::Occupied(_) => {
                    assert_eq!(r.unwrap_err().kind(), ErrorKind::KeyExists)
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    r.expect("put no-overwrite");
                    e.insert(v);
                }
            }
        }
        44..=46 => {
            let m = &mut model.at(&path).keys;
            let last = m.keys().next_back().cloned();
            let ascending = g.rng.chance(70) || last.is_none();
            let k = match (&last, ascending) {
                (Some(l), true) if l.len() < 900 => [l.as_slice(), &[g.rng.next() as u8]].concat(),
                (Some(l), _) => l.clone(),
                (None, _) => g.key(),
            };
            let v = g.value();
            let r = match &b {
                None => tx.put_with(&k, &v, PutFlags::APPEND),
                Some(b) => tx.put_with_in(b, &k, &v, PutFlags::APPEND | PutFlags::NO_OVERWRITE),
            };
            if last.as_ref().is_none_or(|l| k > *l) {
                r.expect("append");
                m.insert(k, v);
            } else {
                assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidArgument, "append out of order");
            }
        }
        47..=66 => {
            let m = &mut model.at(&path).keys;
            let k = match m.keys().nth(g.rng.below(m.len() as u64 + 1) as usize) {
                Some(k) if g.rng.chance(75) => k.clone(),
                _ => g.key(),
            };
            let deleted = match b {
                None => tx.delete(&k),
                Some(b) => tx.delete_in(&b, &k),
            }
            .expect("delete");
            assert_eq!(deleted, m.remove(&k).is_some(), "delete result");
        }
        67..=74 => {
            let k = g.key();
            let got = match &b {
                None => tx.get(&k),
                Some(b) => tx.get_in(b, &k),
            }
            .expect("get")
            .map(<[u8]>::to_vec);
            assert_eq!(got, model.at(&path).keys.get(&k).cloned(), "get in write txn");
        }
        75..=78 if path.len() < 4 => {
            let name = g.bucket_name();
            let if_missing = g.rng.chance(30);
            let r = if if_missing {
                tx.create_bucket_if_missing(b.as_ref(), &name)
            } else {
                tx.create_bucket(b.as_ref(), &name)
            };
            let m = model.at(&path);
            if m.kids.contains_key(&name) && !if_missing {
                assert_eq!(r.unwrap_err().kind(), ErrorKind::BucketExists);
            } else {
                r.expect("create bucket");
                m.kids.entry(name).or_default();
            }
        }
        79..=80 => {
            let name = g.bucket_name();
            let r = tx.delete_bucket(b.as_ref(), &name);
            match model.at(&path).kids.remove(&name) {
                Some(_) => r.expect("delete bucket"),
                None => assert_eq!(r.unwrap_err().kind(), ErrorKind::BucketNotFound),
            }
        }
        81..=82 if !path.is_empty() => {
            let m = model.at(&path);
            m.seq += 1;
            assert_eq!(tx.next_sequence(b.as_ref().unwrap()).expect("sequence"), m.seq);
        }
        83..=90 => cursor_walk(g, tx, &path, model),
        91..=95 => range_check(g, tx, b.as_ref(), &model.at(&path).keys),
        96..=97 if size < 1000 => bulk_insert(g, tx, b.as_ref(), &mut model.at(&path).keys),
        98 => range_delete(g, tx, b.as_ref(), &mut model.at(&path).keys),
        _ => {
            let names = tx.bucket_names(b.as_ref()).expect("names");
            assert_eq!(names, model.at(&path).kids.keys().cloned().collect::<Vec<_>>());
        }
    }
}

/// The model run; `wal`: with the write-ahead log on, and half the reopens
/// made from a crash image (`TestDb::crash_reopen`), so they replay the log.
fn run_model(page_size: u32, seed: u64, ops: u64, wal: bool) {
    let _guard = SeedGuard::new(format!("model test at {page_size}-byte pages (wal: {wal})"), seed);
    let threshold = if page_size == 4096 { 2048 } else { 1024 + (seed % 3) as u32 * 512 };
    let opts = Options::new().page_size(page_size).unwrap().overflow_threshold(threshold).unwrap().wal(wal);
    let mut tdb = TestDb::new(opts);
    let mut g = Gen { rng: Rng::new(seed), page_size: page_size as usize, threshold: threshold as usize };
    let mut committed = BucketModel::default();
    let (mut done, mut txns, mut crashes) = (0u64, 0u64, 0u64);
    while done < ops {
        txns += 1;
        let mut tx = tdb.db().begin_write().expect("begin write");
        let mut working = committed.clone();
        for _ in 0..g.rng.range(1, 120) {
            one_op(&mut g, &mut tx, &mut working);
            done += 1;
        }
        if g.rng.chance(12) {
            tx.abort();
        } else {
            tx.commit().expect("commit");
            committed = working;
        }
        let rtx = tdb.db().begin_read().expect("begin read");
        verify(&rtx, None, &committed, &format!("after txn {txns}"));
        let path = g.path(&committed);
        read_walk(&mut g, &rtx, &path, &committed);
        drop(rtx);
        if g.rng.chance(4) {
            if wal && g.rng.chance(50) {
                tdb.crash_reopen();
                crashes += 1;
            } else {
                tdb.reopen();
            }
            let rtx = tdb.db().begin_read().expect("begin read");
            verify(&rtx, None, &committed, &format!("after reopen at txn {txns}"));
        }
    }
    let stat = tdb.db().stat().unwrap();
    assert_eq!(stat.bucket_count as usize, committed.count() - 1, "bucket count");
    assert_eq!(stat.key_count as usize, committed.keys.len(), "key count");
    eprintln!(
        "page size {page_size}: {done} operations in {txns} transactions, {} buckets, {crashes} crash reopens",
        committed.count() - 1
    );
}

fn ops() -> u64 {
    std::env::var("THUNDER_MODEL_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000)
}

#[test]
fn model_4k() {
    run_model(PAGE_SIZES[0], seed(0x4b1d), ops(), false);
}

#[test]
fn model_8k() {
    run_model(PAGE_SIZES[1], seed(0x8b1d), ops(), false);
}

#[test]
fn model_16k() {
    run_model(PAGE_SIZES[2], seed(0x16b1d), ops(), false);
}

#[test]
fn model_64k() {
    run_model(PAGE_SIZES[3], seed(0x64b1d), ops(), false);
}

/// The WAL variants run a third of the operations: each commit pays a log
/// fsync.
#[test]
fn model_wal_4k() {
    run_model(PAGE_SIZES[0], seed(0x4b1e), ops() / 3, true);
}

#[test]
fn model_wal_8k() {
    run_model(PAGE_SIZES[1], seed(0x8b1e), ops() / 3, true);
}

#[test]
fn model_wal_16k() {
    run_model(PAGE_SIZES[2], seed(0x16b1e), ops() / 3, true);
}

#[test]
fn model_wal_64k() {
    run_model(PAGE_SIZES[3], seed(0x64b1e), ops() / 3, true);
}
