//! Adversarial tests: damaged files of every page type, large values at
//! the overflow boundaries, deep bucket nesting and cursor corners,
//! concurrency with pinned snapshots, and the limits. Seeded and
//! deterministic (`THUNDER_TEST_SEED` overrides the default seeds).
//!
//! KNOWN FAILURES (kept un-ignored as regression tests; details in
//! /work/review/adversarial.md):
//!
//! - `freelist_listing_a_live_leaf_lets_a_commit_overwrite_it` and
//!   `freelist_listing_a_live_page_is_caught_and_never_overwrites_data`
//!   (default seeds; fail at 4096-byte pages, the first page size tried):
//!   a persisted freelist that is well-formed and sealed (valid checksums,
//!   free count in the meta matching) but lists a page the tree still uses
//!   is trusted by the writer (`check::load_freelist` ->
//!   `freelist::load`, src/alloc/freelist.rs). check() does report the double
//!   use, but the next commits hand the live page out again and overwrite
//!   it: keys that read back fine before the write then fail with
//!   `Corrupted` ("tree deeper than 48 levels (a cycle?)" when the page
//!   became the new root) or read as NotFound. Expected: intact data stays
//!   readable (the writer should notice and rebuild the freelist from the
//!   tree, as it already does for a freelist listing its own pages).
//!
//! Everything else here passes.

#![allow(unsafe_code)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{seed, Rng, SeedGuard, TestDb, PAGE_SIZES};
use thunder::{Bucket, Database, ErrorKind, Options, PutFlags, ReadTx, SyncMode, WriteTx};

// ---------------------------------------------------------------------------
// helpers: raw page access
// ---------------------------------------------------------------------------

fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    for (i, e) in t.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
        *e = c;
    }
    t
}

fn crc32(bytes: &[u8]) -> u32 {
    thread_local!(static T: [u32; 256] = crc_table());
    T.with(|t| {
        let mut crc = !0u32;
        for &b in bytes {
            crc = t[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
        }
        !crc
    })
}

fn rbytes(rng: &mut Rng, max: u64) -> Vec<u8> {
    let n = rng.below(max) as usize;
    rng.bytes(n)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

const T_BRANCH: u8 = 2;
const T_LEAF: u8 = 3;
const T_OVERFLOW: u8 = 4;
const T_SNAPSHOT: u8 = 5;

/// Recomputes the checksum of the page (run) starting at page `p`.
fn reseal(img: &mut [u8], ps: usize, p: usize) {
    let off = p * ps;
    let ty = img[off + 4];
    let end = match ty {
        T_OVERFLOW => off + 32,
        T_SNAPSHOT => (off + (1 + u32_at(img, off + 24) as usize) * ps).min(img.len()),
        _ => off + ps,
    };
    let c = crc32(&img[off + 4..end]);
    put_u32(img, off, c);
}

/// The newest valid meta: (slot, txid).
fn newest_meta(img: &[u8], ps: usize) -> (usize, u64) {
    (0..2)
        .filter_map(|slot| {
            let p = img.get(slot * ps..(slot + 1) * ps)?;
            let ok = &p[32..36] == b"THND" && u64_at(p, 8) == slot as u64 && u32_at(p, 0) == crc32(&p[4..]);
            ok.then(|| (slot, u64_at(p, 16)))
        })
        .max_by_key(|&(_, t)| t)
        .expect("a valid meta")
}

/// Pages reachable from the newest meta, classified by their type byte.
/// Walks the trees (keys and catalogs) and the freelist.
#[derive(Default, Debug)]
struct Layout {
    meta_slot: usize,
    page_count: u64,
    branches: Vec<u64>,
    leaves: Vec<u64>,
    /// (first page, pages)
    overflow: Vec<(u64, u64)>,
    snapshot: Option<(u64, u64)>,
    logs: Vec<u64>,
    /// leaf pages of catalog trees (bucket records live there)
    catalog_leaves: Vec<u64>,
}

fn layout(img: &[u8], ps: usize) -> Layout {
    let (slot, _) = newest_meta(img, ps);
    let m = &img[slot * ps..(slot + 1) * ps];
    let mut l = Layout { meta_slot: slot, page_count: u64_at(m, 48), ..Layout::default() };
    // (page, is_catalog)
    let mut stack: Vec<(u64, bool)> = Vec::new();
    let rec = |r: &[u8], stack: &mut Vec<(u64, bool)>| {
        if u64_at(r, 0) != 0 {
            stack.push((u64_at(r, 0), false));
        }
        if u64_at(r, 16) != 0 {
            stack.push((u64_at(r, 16), true));
        }
    };
    rec(&m[56..96], &mut stack);
    while let Some((p, cat)) = stack.pop() {
        let pg = &img[p as usize * ps..(p as usize + 1) * ps];
        let count = u16_at(pg, 6) as usize;
        match pg[4] {
            T_BRANCH => {
                l.branches.push(p);
                for i in 0..count {
                    let off = u16_at(pg, 32 + 2 * i) as usize;
                    stack.push((u64_at(pg, off), cat));
                }
            }
            T_LEAF => {
                l.leaves.push(p);
                if cat {
                    l.catalog_leaves.push(p);
                }
                for i in 0..count {
                    let off = u16_at(pg, 32 + 2 * i) as usize;
                    let kind = pg[off];
                    let klen = u16_at(pg, off + 1) as usize;
                    let vlen = u32_at(pg, off + 3) as usize;
                    let v = off + 7 + klen;
                    if cat {
                        rec(&pg[v..v + 40], &mut stack);
                    } else if kind == 1 {
                        let first = u64_at(pg, v);
                        l.overflow.push((first, (32 + vlen).div_ceil(ps) as u64));
                    }
                }
            }
            t => panic!("unexpected page type {t} at {p} while mapping the layout"),
        }
    }
    let snap = u64_at(m, 104);
    if snap != 0 {
        let n = 1 + u32_at(img, snap as usize * ps + 24) as u64;
        l.snapshot = Some((snap, n));
    }
    let mut at = u64_at(m, 112);
    while at != 0 {
        l.logs.push(at);
        at = u64_at(img, at as usize * ps + 32);
    }
    l
}

// ---------------------------------------------------------------------------
// helpers: contents and the read oracle
// ---------------------------------------------------------------------------

/// (bucket path, key) -> value
type Contents = BTreeMap<(Vec<Vec<u8>>, Vec<u8>), Vec<u8>>;

fn acceptable(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Corrupted | ErrorKind::Incompatible)
}

fn open_bucket_path(tx: &mut WriteTx, path: &[Vec<u8>]) -> Option<Bucket> {
    let mut b = None;
    for name in path {
        b = Some(tx.create_bucket_if_missing(b.as_ref(), name).unwrap());
    }
    b
}

/// Builds a database with nested buckets, overflow values, deletes (so
/// the freelist has a snapshot and a log) over several commits; returns
/// the contents by txid.
fn build_rich(path: &Path, ps: u32, rng: &mut Rng, rounds: u32, per: u32) -> BTreeMap<u64, Contents> {
    let db = Database::open_with_options(path, Options::new().page_size(ps).unwrap()).unwrap();
    let mut want = Contents::new();
    let mut states = BTreeMap::new();
    let paths: Vec<Vec<Vec<u8>>> =
        vec![vec![], vec![b"a".to_vec()], vec![b"a".to_vec(), b"nested".to_vec()], vec![b"b".to_vec()]];
    for round in 0..rounds {
        let mut tx = db.begin_write().unwrap();
        for path in &paths {
            let b = open_bucket_path(&mut tx, path);
            for i in 0..per {
                let key = format!("r{round}-k{i:04}").into_bytes();
                let len = match i % 17 {
                    0 => 2049 + rng.below(3 * ps as u64) as usize,
                    1 => 0,
                    2 => ps as usize - 32, // exactly one overflow page
                    _ => rng.below(80) as usize,
                };
                let v = rng.bytes(len);
                match &b {
                    None => tx.put(&key, &v).unwrap(),
                    Some(b) => tx.put_in(b, &key, &v).unwrap(),
                }
                want.insert((path.clone(), key), v);
            }
            if round > 0 {
                for i in (0..per).step_by(3) {
                    let key = format!("r{}-k{i:04}", round - 1).into_bytes();
                    let gone = match &b {
                        None => tx.delete(&key).unwrap(),
                        Some(b) => tx.delete_in(b, &key).unwrap(),
                    };
                    assert!(gone);
                    want.remove(&(path.clone(), key));
                }
            }
        }
        // a wide bucket of small items, so every page size gets branch pages
        let w = tx.create_bucket_if_missing(None, b"wide").unwrap();
        let wp = vec![b"wide".to_vec()];
        for i in 0..per * 12 {
            let key = format!("w{round}-{i:05}").into_bytes();
            let n = 20 + rng.below(30) as usize;
            let v = rng.bytes(n);
            tx.put_in(&w, &key, &v).unwrap();
            want.insert((wp.clone(), key), v);
        }
        if round > 0 {
            for i in (0..per * 12).step_by(2) {
                let key = format!("w{}-{i:05}", round - 1).into_bytes();
                assert!(tx.delete_in(&w, &key).unwrap());
                want.remove(&(wp.clone(), key));
            }
        }
        let id = tx.id();
        tx.commit().unwrap();
        states.insert(id, want.clone());
    }
    db.close().unwrap();
    states
}

/// Reads everything of `want`; panics on wrong data or an unacceptable
/// error kind; returns whether something was missing or failed.
fn read_all(tx: &ReadTx, want: &Contents, what: &str) -> bool {
    read_all_with(tx, want, what, false)
}

/// `lenient`: wrong values count as trouble instead of failing the test
/// (sealed damage can change bytes no check can see).
fn read_all_with(tx: &ReadTx, want: &Contents, what: &str, lenient: bool) -> bool {
    let mut trouble = false;
    let mut by: BTreeMap<&Vec<Vec<u8>>, Vec<(&Vec<u8>, &Vec<u8>)>> = BTreeMap::new();
    for ((p, k), v) in want {
        by.entry(p).or_default().push((k, v));
    }
    for (path, items) in by {
        let mut b = None;
        let mut ok = true;
        for name in path {
            match tx.bucket(b.as_ref(), name) {
                Ok(Some(x)) => b = Some(x),
                Ok(None) => ok = false,
                Err(e) => {
                    assert!(acceptable(e.kind()), "{what}: bucket open gave {e} ({:?})", e.kind());
                    ok = false;
                }
            }
            if !ok {
                break;
            }
        }
        if !ok {
            trouble = true;
            continue;
        }
        for (k, v) in &items {
            let got = match &b {
                None => tx.get(k),
                Some(b) => tx.get_in(b, k),
            };
            match got {
                Ok(Some(g)) if lenient && g != v.as_slice() => trouble = true,
                Ok(Some(g)) => assert!(g == v.as_slice(), "{what}: wrong value for {:?}", String::from_utf8_lossy(k)),
                Ok(None) => trouble = true,
                Err(e) => {
                    assert!(acceptable(e.kind()), "{what}: get gave {e} ({:?})", e.kind());
                    trouble = true;
                }
            }
        }
        for rev in [false, true] {
            let it = match &b {
                None => tx.iter(),
                Some(b) => tx.iter_in(b),
            };
            let items: Box<dyn Iterator<Item = thunder::Result<(&[u8], &[u8])>>> =
                if rev { Box::new(it.rev()) } else { Box::new(it) };
            let mut n = 0;
            for item in items {
                n += 1;
                assert!(n < 1_000_000, "{what}: scan does not end");
                match item {
                    Ok((k, v)) => {
                        let e = want.get(&(path.clone(), k.to_vec()));
                        if lenient && !e.is_some_and(|e| e.as_slice() == v) {
                            trouble = true;
                            continue;
                        }
                        assert!(
                            e.is_some_and(|e| e.as_slice() == v),
                            "{what}: scan shows unknown or wrong item {:?}",
                            String::from_utf8_lossy(k)
                        );
                    }
                    Err(e) => {
                        assert!(acceptable(e.kind()), "{what}: scan gave {e} ({:?})", e.kind());
                        trouble = true;
                        break;
                    }
                }
            }
        }
    }
    trouble
}

/// Opens the damaged file at `path`, reads it all against `states`, runs
/// check(), writes, reopens and reads again. `sealed` damage may change
/// data undetectably, so only crash-freedom and error kinds are checked
/// for reads then; but a file that check() passes must stay sound through
/// a write.
fn exercise_damaged(path: &Path, states: &BTreeMap<u64, Contents>, what: &str, sealed: bool) {
    let db = match Database::open(path) {
        Ok(db) => db,
        Err(e) => {
            assert!(acceptable(e.kind()), "{what}: open gave {e} ({:?})", e.kind());
            return;
        }
    };
    let tx = match db.begin_read() {
        Ok(tx) => tx,
        Err(e) => panic!("{what}: begin_read gave {e}"),
    };
    let txid = tx.id();
    let want = states.get(&txid);
    let trouble = match want {
        Some(want) if !sealed => read_all(&tx, want, what),
        // sealed damage: nothing may panic or loop, errors must be of the right kind
        Some(want) => read_all_with(&tx, want, what, true),
        None => {
            assert!(sealed, "{what}: opened at unknown txid {txid}");
            true
        }
    };
    drop(tx);
    let check = db.check();
    if let Err(e) = &check {
        assert!(acceptable(e.kind()), "{what}: check gave {e} ({:?})", e.kind());
    }
    if !sealed {
        assert!(!trouble || check.is_err(), "{what}: reads failed but check() passed");
    }
    let check_ok = check.is_ok();
    // write: put a new key, overwrite one, delete one
    let mut wrote = None;
    match db.begin_write() {
        Ok(mut tx) => {
            let id = tx.id();
            let r = tx
                .put(b"zz-after-damage", b"new value")
                .and_then(|_| tx.put(b"zz-big-after-damage", &vec![7u8; 9000]))
                .and_then(|_| tx.commit());
            match r {
                Ok(()) => wrote = Some(id),
                Err(e) => assert!(acceptable(e.kind()), "{what}: write gave {e} ({:?})", e.kind()),
            }
        }
        Err(e) => assert!(acceptable(e.kind()), "{what}: begin_write gave {e} ({:?})", e.kind()),
    }
    if check_ok && wrote.is_some() {
        let r = db.check();
        assert!(r.is_ok(), "{what}: check() passed before a write and failed after it: {:?}", r.err());
    }
    drop(db);
    if let Some(_id) = wrote {
        // reopen: the write is there, everything else as before or an error
        let db = match Database::open(path) {
            Ok(db) => db,
            Err(e) => panic!("{what}: reopen after a successful write gave {e}"),
        };
        let tx = db.begin_read().unwrap();
        match tx.get(b"zz-after-damage") {
            Ok(Some(v)) => assert_eq!(v, b"new value", "{what}"),
            Ok(None) => panic!("{what}: committed write lost"),
            Err(e) => assert!(acceptable(e.kind()), "{what}: get of the new key gave {e}"),
        }
        match tx.get(b"zz-big-after-damage") {
            Ok(Some(v)) => assert!(v == vec![7u8; 9000], "{what}: new big value wrong"),
            Ok(None) => panic!("{what}: committed write lost"),
            Err(e) => assert!(acceptable(e.kind()), "{what}: get of the new key gave {e}"),
        }
        if !sealed {
            if let Some(want) = want {
                let mut want = want.clone();
                want.insert((vec![], b"zz-after-damage".to_vec()), b"new value".to_vec());
                want.insert((vec![], b"zz-big-after-damage".to_vec()), vec![7u8; 9000]);
                let trouble = read_all(&tx, &want, &format!("{what} (after a write)"));
                drop(tx);
                if trouble {
                    assert!(db.check().is_err(), "{what}: reads after the write failed but check passed");
                }
            }
        }
    }
}

fn damage_kinds() -> &'static [&'static str] {
    &["flip-header", "flip-body", "zero", "flip-tail", "reseal-flip-body", "reseal-flip-header"]
}

fn apply_damage(img: &mut [u8], ps: usize, p: u64, kind: &str, rng: &mut Rng) {
    let off = p as usize * ps;
    match kind {
        "flip-header" => img[off + rng.below(32) as usize] ^= 1 << rng.below(8),
        "flip-body" => img[off + 32 + rng.below(ps as u64 - 32) as usize] ^= 1 << rng.below(8),
        "flip-tail" => img[off + ps - 1 - rng.below(64) as usize] ^= 0xFF,
        "zero" => img[off..off + ps].fill(0),
        "reseal-flip-body" => {
            // within the used part of tree pages, so the flip lands on a slot, entry or key
            let ty = img[off + 4];
            let used = if ty == T_BRANCH || ty == T_LEAF { u32_at(img, off + 28) as usize } else { ps };
            let used = used.clamp(33, ps);
            img[off + 32 + rng.below((used - 32) as u64) as usize] ^= 1 << rng.below(8);
            reseal(img, ps, p as usize);
        }
        "reseal-flip-header" => {
            img[off + 6 + rng.below(26) as usize] ^= 1 << rng.below(8);
            reseal(img, ps, p as usize);
        }
        _ => unreachable!(),
    }
}

/// Every page reachable from the newest meta (and both metas, and the
/// freelist pages), damaged in each way, at every page size.
#[test]
fn targeted_damage_of_every_page_type() {
    let s = seed(0xADE1);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("targeted damage at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let per = if ps == 65536 { 40 } else { 60 };
        let states = build_rich(&path, ps, &mut rng, 9, per);
        let original = std::fs::read(&path).unwrap();
        let l = layout(&original, ps as usize);
        let mut targets: Vec<(u64, &str)> = vec![(0, "meta0"), (1, "meta1")];
        targets.extend(l.branches.iter().map(|&p| (p, "branch")));
        targets.extend(l.leaves.iter().map(|&p| (p, if l.catalog_leaves.contains(&p) { "catalog-leaf" } else { "leaf" })));
        for &(p, n) in &l.overflow {
            targets.push((p, "overflow-head"));
            if n > 1 {
                targets.push((p + n - 1, "overflow-body"));
            }
        }
        if let Some((p, n)) = l.snapshot {
            targets.push((p, "snapshot"));
            if n > 1 {
                targets.push((p + n - 1, "snapshot-tail"));
            }
        }
        targets.extend(l.logs.iter().map(|&p| (p, "log")));
        let mut seen_types = std::collections::BTreeSet::new();
        for &(_, t) in &targets {
            seen_types.insert(t);
        }
        // at most 30 pages of each type (sampled), to bound the run time
        let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
        let mut shuffled = targets.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let targets: Vec<(u64, &str)> = shuffled
            .into_iter()
            .filter(|&(_, t)| {
                let n = per_type.entry(t).or_default();
                *n += 1;
                *n <= 30
            })
            .collect();
        eprintln!("{ps}: {} targets, types {seen_types:?}", targets.len());
        for &(p, ty) in &targets {
            for kind in damage_kinds() {
                let mut img = original.clone();
                apply_damage(&mut img, ps as usize, p, kind, &mut rng);
                let what = format!("ps {ps}: {kind} of {ty} page {p}");
                std::fs::write(&path, &img).unwrap();
                exercise_damaged(&path, &states, &what, kind.starts_with("reseal"));
            }
        }
    }
}

/// Truncation at odd offsets, growth with zeros or garbage, metas whose
/// page count or freelist point beyond the file.
#[test]
fn truncated_grown_and_overreaching_files() {
    let s = seed(0xADE2);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("truncation at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let states = build_rich(&path, ps, &mut rng, 3, 40);
        let original = std::fs::read(&path).unwrap();
        let psz = ps as usize;
        let l = layout(&original, psz);
        let used = l.page_count as usize * psz;
        let mut cuts: Vec<usize> = vec![1, 31, 32, psz - 1, psz, psz + 1, 2 * psz - 1, 2 * psz + 7, used - 1, used - psz + 1, used / 2 + 3];
        for _ in 0..8 {
            cuts.push(rng.range(2 * psz as u64, used as u64) as usize);
        }
        for cut in cuts {
            let what = format!("ps {ps}: truncated to {cut} bytes of {}", original.len());
            std::fs::write(&path, &original[..cut.min(original.len())]).unwrap();
            // read-only open first: must not change the file
            match Database::open_with_options(&path, Options::new().read_only(true)) {
                Ok(db) => {
                    let tx = db.begin_read().unwrap();
                    let _ = read_all(&tx, &states[&tx.id()], &what);
                    drop(tx);
                    let _ = db.check();
                }
                Err(e) => assert!(acceptable(e.kind()) || e.kind() == ErrorKind::NotFound, "{what}: ro open gave {e}"),
            }
            exercise_damaged(&path, &states, &what, false);
        }
        // grown with zeros / garbage past the end
        for (extra, garbage) in [(1usize, false), (psz / 2, false), (3 * psz + 5, false), (psz * 5, true)] {
            let mut img = original.clone();
            let start = img.len();
            img.resize(start + extra, 0);
            if garbage {
                for b in &mut img[start..] {
                    *b = rng.next() as u8;
                }
            }
            let what = format!("ps {ps}: grown by {extra} (garbage {garbage})");
            std::fs::write(&path, &img).unwrap();
            let db = Database::open(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
            let tx = db.begin_read().unwrap();
            assert!(!read_all(&tx, &states[&tx.id()], &what), "{what}: data lost");
            drop(tx);
            db.check().unwrap_or_else(|e| panic!("{what}: check {e}"));
            let mut tx = db.begin_write().unwrap();
            for i in 0..200u32 {
                tx.put(format!("grow{i}").as_bytes(), &vec![i as u8; 700]).unwrap();
            }
            tx.commit().unwrap();
            db.check().unwrap_or_else(|e| panic!("{what}: check after write {e}"));
            drop(db);
        }
        // meta fields pointing beyond the file (resealed, so the meta is "valid")
        let slot = l.meta_slot;
        let fields: &[(usize, u64, &str)] = &[
            (48, l.page_count + 1, "page count +1"),
            (48, l.page_count + 1000, "page count +1000"),
            (48, 1, "page count 1"),
            (48, 2, "page count 2"),
            (56, l.page_count + 3, "keys root beyond"),
            (56, 1, "keys root = meta page"),
            (72, l.page_count, "catalog root = page count"),
            (104, l.page_count + 10, "snapshot beyond"),
            (104, 0, "snapshot removed"),
            (112, l.page_count - 1 + 100, "log head beyond"),
            (112, 0, "log head removed"),
            (120, 1_000_000, "log length huge"),
            (120, 0, "log length zero"),
            (128, 0, "free count zero"),
            (128, u64::MAX, "free count max"),
            (64, 0, "key count zero"),
            (64, u64::MAX, "key count max"),
            (96, 0, "bucket count zero"),
            (96, u64::MAX, "bucket count max"),
            (88, u64::MAX, "root sequence max"),
        ];
        for &(off, v, name) in fields {
            let mut img = original.clone();
            let at = slot * psz + off;
            if off == 120 {
                put_u32(&mut img, at, v as u32);
            } else {
                put_u64(&mut img, at, v);
            }
            reseal(&mut img, psz, slot);
            let what = format!("ps {ps}: meta {name}");
            std::fs::write(&path, &img).unwrap();
            exercise_damaged(&path, &states, &what, true);
        }
    }
}

// ---------------------------------------------------------------------------
// a freelist listing an in-use page
// ---------------------------------------------------------------------------

/// Adds `page` to the freelist by appending an entry to the newest log page
/// (resealed); bumps the meta's free count to match.
fn list_as_free(img: &mut [u8], ps: usize, page: u64) -> bool {
    let l = layout(img, ps);
    let Some(&head) = l.logs.first() else { return false };
    let off = head as usize * ps;
    let count = u16_at(img, off + 6) as usize;
    let at = off + 40 + 12 * count;
    if at + 12 > off + ps {
        return false;
    }
    put_u64(img, at, page);
    put_u32(img, at + 8, 1);
    img[off + 6..off + 8].copy_from_slice(&((count + 1) as u16).to_le_bytes());
    reseal(img, ps, head as usize);
    let m = l.meta_slot * ps;
    let free = u64_at(img, m + 128);
    put_u64(img, m + 128, free + 1);
    reseal(img, ps, l.meta_slot);
    true
}

#[test]
fn freelist_listing_a_live_page_is_caught_and_never_overwrites_data() {
    let s = seed(0xADE3);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("freelist lists a live page at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let per = if ps == 65536 { 40 } else { 60 };
        let states = build_rich(&path, ps, &mut rng, 4, per);
        let last = *states.keys().next_back().unwrap();
        let want = &states[&last];
        let original = std::fs::read(&path).unwrap();
        let l = layout(&original, ps as usize);
        assert!(!l.logs.is_empty(), "the fixture should have a freelist log");
        let mut victims: Vec<(u64, &str)> = Vec::new();
        victims.extend(l.leaves.iter().take(3).map(|&p| (p, "leaf")));
        victims.extend(l.leaves.iter().rev().take(3).map(|&p| (p, "leaf")));
        victims.extend(l.branches.iter().take(2).map(|&p| (p, "branch")));
        victims.extend(l.catalog_leaves.iter().take(2).map(|&p| (p, "catalog leaf")));
        victims.extend(l.overflow.iter().take(3).map(|&(p, _)| (p, "overflow head")));
        victims.extend(l.overflow.iter().filter(|&&(_, n)| n > 1).take(2).map(|&(p, n)| (p + n - 1, "overflow tail")));
        // the lowest live pages: the allocator hands out the lowest free page first
        let mut live: Vec<(u64, &str)> = l.leaves.iter().map(|&p| (p, "leaf")).collect();
        live.extend(l.branches.iter().map(|&p| (p, "branch")));
        live.extend(l.overflow.iter().map(|&(p, _)| (p, "overflow head")));
        live.sort();
        victims.extend(live.into_iter().take(4));
        let mut lost = Vec::new();
        for &(victim, ty) in &victims {
            let mut img = original.clone();
            if !list_as_free(&mut img, ps as usize, victim) {
                continue;
            }
            let what = format!("ps {ps}: freelist lists live {ty} page {victim}");
            std::fs::write(&path, &img).unwrap();
            let db = Database::open(&path).unwrap_or_else(|e| panic!("{what}: open {e}"));
            let e = db.check().expect_err(&format!("{what}: check() passed"));
            assert_eq!(e.kind(), ErrorKind::Corrupted, "{what}: {e}");
            // many small writes: each may take the listed page
            let mut written = BTreeMap::new();
            for t in 0..20u32 {
                let mut tx = match db.begin_write() {
                    Ok(tx) => tx,
                    Err(e) => {
                        assert!(acceptable(e.kind()), "{what}: begin_write {e}");
                        break;
                    }
                };
                let mut r = Ok(());
                for i in 0..10u32 {
                    let k = format!("new-{t:02}-{i:02}").into_bytes();
                    let v = rng.bytes(if i == 0 { 3 * ps as usize } else { 100 });
                    r = r.and_then(|_| tx.put(&k, &v));
                    written.insert(k, v);
                }
                match r.and_then(|_| tx.commit()) {
                    Ok(()) => {}
                    Err(e) => {
                        assert!(acceptable(e.kind()), "{what}: write {e}");
                        for i in 0..10u32 {
                            written.remove(format!("new-{t:02}-{i:02}").as_bytes());
                        }
                    }
                }
            }
            let tx = db.begin_read().unwrap();
            let mut want2 = want.clone();
            for (k, v) in &written {
                want2.insert((vec![], k.clone()), v.clone());
            }
            let trouble = read_all(&tx, &want2, &what);
            drop(tx);
            if trouble {
                eprintln!("{what}: data lost after writes");
                lost.push(what.clone());
                assert!(db.check().is_err(), "{what}: data lost but check passes");
            }
            drop(db);
        }
        assert!(lost.is_empty(), "ps {ps}: writes destroyed live data when the freelist listed a live page: {lost:?}");
    }
}

// ---------------------------------------------------------------------------
// large values
// ---------------------------------------------------------------------------

fn opts_ps(ps: u32) -> Options {
    Options::new().page_size(ps).unwrap()
}

#[test]
fn overflow_values_at_page_boundaries_and_thresholds() {
    let s = seed(0xADE4);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("overflow boundaries at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        for threshold in [64u32, 2048, ps / 2] {
            let mut t = TestDb::new(opts_ps(ps).overflow_threshold(threshold.min(32768)).unwrap());
            let p = ps as usize;
            let th = threshold as usize;
            let mut lens = vec![0, 1, th - 1, th, th + 1, p - 33, p - 32, p - 31, p, 2 * p - 32, 2 * p - 31, 2 * p, 5 * p - 32, 5 * p - 31];
            lens.retain(|&l| l != usize::MAX);
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
            let verify = |db: &Database, model: &BTreeMap<Vec<u8>, Vec<u8>>, what: &str| {
                let tx = db.begin_read().unwrap();
                for (k, v) in model {
                    assert_eq!(tx.get(k).unwrap().map(|x| x.len()), Some(v.len()), "{what}");
                    assert!(tx.get(k).unwrap().unwrap() == v.as_slice(), "{what}");
                }
                let all: Vec<_> = tx.iter().map(|r| r.unwrap().0.to_vec()).collect();
                assert_eq!(all, model.keys().cloned().collect::<Vec<_>>(), "{what}");
            };
            verify(t.db(), &model, "after first commit");
            // flip every value between inline and overflow, several times
            for round in 0..4 {
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
                verify(t.db(), &model, &format!("round {round}"));
                t.db().check().unwrap();
            }
            t.reopen();
            verify(t.db(), &model, "after reopen");
        }
    }
}

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

#[test]
fn overflow_in_same_txn_put_replace_delete_reuse() {
    // values written, replaced and deleted inside one transaction; pages
    // returned to the pool at once and reused by later puts in the same txn
    for ps in PAGE_SIZES {
        let mut rng = Rng::new(seed(0xADE7) ^ ps as u64);
        let t = TestDb::new(opts_ps(ps));
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for round in 0..8 {
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
                tx.rollback();
                // reload the model from the db
                let r = t.db().begin_read().unwrap();
                model = r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
            } else {
                tx.commit().unwrap();
            }
            let r = t.db().begin_read().unwrap();
            for (k, v) in &model {
                assert!(r.get(k).unwrap().unwrap() == v.as_slice(), "round {round}");
            }
            drop(r);
            t.db().check().unwrap();
        }
    }
}

// ---------------------------------------------------------------------------
// buckets and cursors
// ---------------------------------------------------------------------------

#[test]
fn fifty_levels_of_nested_buckets() {
    for ps in [4096u32, 65536] {
        let mut t = TestDb::new(opts_ps(ps));
        let depth = 50;
        let mut tx = t.db().begin_write().unwrap();
        let mut b: Option<Bucket> = None;
        for d in 0..depth {
            let nb = tx.create_bucket(b.as_ref(), format!("level{d}").as_bytes()).unwrap();
            for i in 0..20u32 {
                tx.put_in(&nb, format!("k{i}").as_bytes(), &vec![d as u8; if i == 0 { 5000 } else { 50 }]).unwrap();
            }
            assert_eq!(tx.next_sequence(&nb).unwrap(), 1);
            b = Some(nb);
        }
        tx.commit().unwrap();
        t.reopen();
        {
            let tx = t.db().begin_read().unwrap();
            let mut b: Option<Bucket> = None;
            for d in 0..depth {
                b = Some(tx.bucket(b.as_ref(), format!("level{d}").as_bytes()).unwrap().expect("bucket"));
                assert_eq!(tx.get_in(b.as_ref().unwrap(), b"k0").unwrap().unwrap(), &vec![d as u8; 5000][..]);
                assert_eq!(tx.iter_in(b.as_ref().unwrap()).count(), 20);
            }
        }
        assert_eq!(t.db().stat().unwrap().bucket_count, depth as u64);
        // modify only the deepest bucket: every ancestor record rewritten
        let mut tx = t.db().begin_write().unwrap();
        let mut b: Option<Bucket> = None;
        for d in 0..depth {
            b = Some(tx.bucket(b.as_ref(), format!("level{d}").as_bytes()).unwrap().unwrap());
        }
        tx.put_in(b.as_ref().unwrap(), b"deep", b"est").unwrap();
        assert_eq!(tx.next_sequence(b.as_ref().unwrap()).unwrap(), 2);
        tx.commit().unwrap();
        t.reopen();
        // delete from the middle: 25 buckets go
        let mut tx = t.db().begin_write().unwrap();
        let mut b: Option<Bucket> = None;
        let mut handles = Vec::new();
        for d in 0..depth {
            b = Some(tx.bucket(b.as_ref(), format!("level{d}").as_bytes()).unwrap().unwrap());
            handles.push(b.unwrap());
        }
        tx.delete_bucket(Some(&handles[24]), b"level25").unwrap();
        for (d, h) in handles.iter().enumerate() {
            let r = tx.get_in(h, b"k1");
            if d >= 25 {
                assert_eq!(r.unwrap_err().kind(), ErrorKind::BucketNotFound, "level {d}");
            } else {
                assert!(r.unwrap().is_some());
            }
        }
        tx.commit().unwrap();
        assert_eq!(t.db().stat().unwrap().bucket_count, 25);
        t.reopen();
        let r = t.db().check().unwrap();
        assert_eq!(r.buckets, 25);
    }
}

#[test]
fn bucket_delete_with_open_cursors_and_child_handles() {
    let t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    let a = tx.create_bucket(None, b"a").unwrap();
    let c = tx.create_bucket(Some(&a), b"child").unwrap();
    for i in 0..500u32 {
        tx.put_in(&a, format!("{i:05}").as_bytes(), &[1; 40]).unwrap();
        tx.put_in(&c, format!("{i:05}").as_bytes(), &[2; 40]).unwrap();
    }
    tx.commit().unwrap();

    let mut tx = t.db().begin_write().unwrap();
    let a = tx.bucket(None, b"a").unwrap().unwrap();
    let c = tx.bucket(Some(&a), b"child").unwrap().unwrap();
    {
        let mut wc = tx.write_cursor(Some(&c));
        assert!(wc.first().unwrap().is_some());
        assert!(wc.next().unwrap().is_some());
    }
    tx.delete_bucket(None, b"a").unwrap();
    {
        let mut wc = tx.write_cursor(Some(&c));
        let e = wc.first().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BucketNotFound);
        let e = wc.delete();
        assert!(e.is_err() || !e.unwrap());
    }
    {
        let mut cur = tx.cursor_in(&a);
        assert_eq!(cur.next().unwrap_err().kind(), ErrorKind::BucketNotFound);
        let mut bc = tx.bucket_cursor(Some(&a));
        assert_eq!(bc.first().unwrap_err().kind(), ErrorKind::BucketNotFound);
    }
    assert!(!tx.is_failed());
    // re-create with the same name: fresh, empty, sequence restarts
    let a2 = tx.create_bucket(None, b"a").unwrap();
    assert_eq!(tx.iter_in(&a2).count(), 0);
    assert!(tx.bucket(Some(&a2), b"child").unwrap().is_none());
    assert_eq!(tx.next_sequence(&a2).unwrap(), 1);
    // the old handles stay dead
    assert_eq!(tx.get_in(&a, b"00001").unwrap_err().kind(), ErrorKind::BucketNotFound);
    assert_eq!(tx.get_in(&c, b"00001").unwrap_err().kind(), ErrorKind::BucketNotFound);
    tx.put_in(&a2, b"x", b"y").unwrap();
    tx.commit().unwrap();
    let r = t.db().begin_read().unwrap();
    let a = r.bucket(None, b"a").unwrap().unwrap();
    assert_eq!(r.iter_in(&a).count(), 1);
    assert!(r.bucket(Some(&a), b"child").unwrap().is_none());
}

#[test]
fn bucket_delete_while_a_read_cursor_of_the_write_txn_is_mid_iteration() {
    // Cursor borrows the tx immutably, so the delete cannot happen while it
    // lives in Rust; but a cursor created, advanced, and then reused via a
    // fresh seek after the delete must report BucketNotFound, and the
    // bucket created in the same txn then deleted must leave no pages.
    let t = TestDb::new(Options::new());
    for round in 0..5 {
        let mut tx = t.db().begin_write().unwrap();
        let a = tx.create_bucket(None, format!("tmp{round}").as_bytes()).unwrap();
        let mut b = a;
        for d in 0..5 {
            b = tx.create_bucket(Some(&b), format!("d{d}").as_bytes()).unwrap();
            for i in 0..300u32 {
                tx.put_in(&b, format!("{i:04}").as_bytes(), &vec![d; 100 + (i as usize % 3) * 1500]).unwrap();
            }
        }
        tx.delete_bucket(None, format!("tmp{round}").as_bytes()).unwrap();
        tx.commit().unwrap();
        t.db().check().unwrap();
    }
    let st = t.db().stat().unwrap();
    assert_eq!(st.bucket_count, 0);
}

fn cursor_delete_all(ps: u32, forward: bool, n: u32, in_bucket: bool) {
    let t = TestDb::new(opts_ps(ps));
    let mut rng = Rng::new(seed(0xADE8) ^ n as u64);
    let mut tx = t.db().begin_write().unwrap();
    let b = if in_bucket { Some(tx.create_bucket(None, b"b").unwrap()) } else { None };
    let mut keys = Vec::new();
    for i in 0..n {
        let k = format!("{:08}-{}", i, "x".repeat(rng.below(200) as usize)).into_bytes();
        let n = if i % 10 == 0 { 3000 } else { rng.below(300) as usize };
        let v = rng.bytes(n);
        match &b {
            Some(b) => tx.put_in(b, &k, &v).unwrap(),
            None => tx.put(&k, &v).unwrap(),
        }
        keys.push(k);
    }
    tx.commit().unwrap();
    let mut tx = t.db().begin_write().unwrap();
    let b = if in_bucket { Some(tx.bucket(None, b"b").unwrap().unwrap()) } else { None };
    let mut deleted = 0;
    {
        let mut c = tx.write_cursor(b.as_ref());
        let mut expect: Vec<&Vec<u8>> = keys.iter().collect();
        if !forward {
            expect.reverse();
        }
        let mut item = if forward { c.first().unwrap().map(|(k, _)| k.to_vec()) } else { c.last().unwrap().map(|(k, _)| k.to_vec()) };
        let mut i = 0;
        while let Some(k) = item {
            assert_eq!(&k, expect[i], "ps {ps} fwd {forward} at {i}");
            assert!(c.delete().unwrap());
            // second delete without a move: nothing
            assert!(!c.delete().unwrap());
            deleted += 1;
            i += 1;
            item = if forward { c.next().unwrap().map(|(k, _)| k.to_vec()) } else { c.prev().unwrap().map(|(k, _)| k.to_vec()) };
        }
        assert_eq!(i, keys.len());
        assert!(c.first().unwrap().is_none());
        assert!(c.last().unwrap().is_none());
    }
    assert_eq!(deleted, n);
    tx.commit().unwrap();
    let r = t.db().check().unwrap();
    assert_eq!(r.keys, 0);
    // everything freed: only the catalog (if any) is reachable
    assert!(r.reachable_pages <= 1, "{r:?}");
}

#[test]
fn cursor_deletes_every_item_forwards_and_backwards() {
    for ps in PAGE_SIZES {
        for forward in [true, false] {
            for in_bucket in [false, true] {
                cursor_delete_all(ps, forward, 3000, in_bucket);
            }
        }
    }
}

#[test]
fn cursor_deletes_alternate_items_then_walks_both_ways() {
    for ps in [4096u32, 16384] {
        let t = TestDb::new(opts_ps(ps));
        let mut tx = t.db().begin_write().unwrap();
        for i in 0..4000u32 {
            tx.put(format!("{i:06}").as_bytes(), &vec![i as u8; (i % 97) as usize * 9]).unwrap();
        }
        tx.commit().unwrap();
        let mut tx = t.db().begin_write().unwrap();
        {
            let mut c = tx.write_cursor(None);
            let mut i = 0u32;
            let mut item = c.first().unwrap().map(|(k, _)| k.to_vec());
            while let Some(k) = item {
                assert_eq!(k, format!("{i:06}").into_bytes());
                if i % 2 == 0 {
                    assert!(c.delete().unwrap());
                }
                i += 1;
                item = c.next().unwrap().map(|(k, _)| k.to_vec());
            }
            assert_eq!(i, 4000);
            // backwards: delete every other remaining (odd), prev continues correctly
            let mut item = c.last().unwrap().map(|(k, _)| k.to_vec());
            let mut j = 3999i64;
            while let Some(k) = item {
                assert_eq!(k, format!("{j:06}").into_bytes());
                if j % 4 == 1 {
                    assert!(c.delete().unwrap());
                    // prev after delete gives the one before
                }
                j -= 2;
                item = c.prev().unwrap().map(|(k, _)| k.to_vec());
            }
            assert_eq!(j, -1);
        }
        let left: Vec<_> = tx.iter().map(|r| r.unwrap().0.to_vec()).collect();
        let want: Vec<_> = (0..4000u32).filter(|i| i % 4 == 3).map(|i| format!("{i:06}").into_bytes()).collect();
        assert_eq!(left, want);
        tx.commit().unwrap();
    }
}

#[test]
fn cursor_delete_then_prev_and_next_semantics() {
    let t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    for i in 0..1000u32 {
        tx.put(format!("{i:04}").as_bytes(), &[0; 200]).unwrap();
    }
    let mut rng = Rng::new(seed(0xADE9));
    let mut model: Vec<u32> = (0..1000).collect();
    {
        let mut c = tx.write_cursor(None);
        for _ in 0..400 {
            if model.is_empty() {
                break;
            }
            let target = rng.below(1000) as u32;
            let got = c.seek(format!("{target:04}").as_bytes()).unwrap().map(|(k, _)| k.to_vec());
            let pos = model.partition_point(|&x| x < target);
            match model.get(pos) {
                None => {
                    assert!(got.is_none());
                    continue;
                }
                Some(&m) => assert_eq!(got, Some(format!("{m:04}").into_bytes())),
            }
            assert!(c.delete().unwrap());
            model.remove(pos);
            if rng.chance(50) {
                let n = c.next().unwrap().map(|(k, _)| k.to_vec());
                assert_eq!(n, model.get(pos).map(|m| format!("{m:04}").into_bytes()), "next after delete");
            } else {
                let p = c.prev().unwrap().map(|(k, _)| k.to_vec());
                let want = if pos == 0 { None } else { Some(format!("{:04}", model[pos - 1]).into_bytes()) };
                assert_eq!(p, want, "prev after delete");
            }
        }
    }
    tx.commit().unwrap();
}

#[test]
fn cursor_survives_puts_that_split_its_leaf() {
    for ps in [4096u32, 65536] {
        let t = TestDb::new(opts_ps(ps));
        let mut tx = t.db().begin_write().unwrap();
        for i in (0..2000u32).step_by(10) {
            tx.put(format!("{i:06}").as_bytes(), &[1; 50]).unwrap();
        }
        tx.commit().unwrap();
        let mut tx = t.db().begin_write().unwrap();
        let mut model: std::collections::BTreeSet<u32> = (0..2000u32).step_by(10).collect();
        let mut rng = Rng::new(seed(0xADEA));
        let mut c_pos: Option<u32> = None;
        // alternate: move the cursor, then insert many keys around it
        let mut raw_cursor_key: Option<Vec<u8>> = None;
        for step in 0..300 {
            {
                let mut c = tx.write_cursor(None);
                // re-establish position (a write cursor borrows the txn mutably)
                let got = match &raw_cursor_key {
                    None => c.first().unwrap(),
                    Some(k) => {
                        let x = c.seek(k).unwrap();
                        let _ = x;
                        c.next().unwrap()
                    }
                };
                let got = got.map(|(k, _)| k.to_vec());
                let want = match c_pos {
                    None => model.iter().next().copied(),
                    Some(p) => model.range(p + 1..).next().copied(),
                };
                assert_eq!(got, want.map(|w| format!("{w:06}").into_bytes()), "step {step}");
                raw_cursor_key = got.clone();
                c_pos = want;
                if want.is_none() {
                    break;
                }
            }
            let around = c_pos.unwrap();
            for _ in 0..20 {
                let k = (around as i64 + rng.below(40) as i64 - 20).clamp(0, 1999) as u32;
                tx.put(format!("{k:06}").as_bytes(), &rbytes(&mut rng, 400)).unwrap();
                model.insert(k);
            }
        }
        tx.commit().unwrap();
    }
}

/// A read cursor of the write transaction, held across puts through other
/// calls is impossible in safe Rust (the borrow), so the guarantee "a cursor
/// stays valid while the same write transaction modifies its keyspace" is
/// exercised through the C API.
#[test]
fn c_cursor_stays_ordered_while_puts_split_and_deletes_merge() {
    use thunder::ffi::*;
    use std::ffi::CString;
    unsafe {
        let dir = tempfile::tempdir().unwrap();
        let path = CString::new(dir.path().join("c.db").to_str().unwrap()).unwrap();
        let mut db = std::ptr::null_mut();
        assert_eq!(thunder_open(path.as_ptr(), std::ptr::null(), &mut db) as i32, 0);
        let mut txn = std::ptr::null_mut();
        assert_eq!(thunder_txn_begin(db, 1, &mut txn) as i32, 0);
        let mut model = std::collections::BTreeMap::<Vec<u8>, Vec<u8>>::new();
        for i in (0..3000u32).step_by(3) {
            let k = format!("{i:06}").into_bytes();
            let v = vec![i as u8; 30];
            assert_eq!(thunder_put(txn, k.as_ptr(), k.len(), v.as_ptr(), v.len(), 0) as i32, 0);
            model.insert(k, v);
        }
        let mut cur = std::ptr::null_mut();
        assert_eq!(thunder_cursor_open(txn, std::ptr::null_mut(), &mut cur) as i32, 0);
        let mut rng = Rng::new(seed(0xADEB));
        let mut last: Option<Vec<u8>> = None;
        let mut steps = 0;
        loop {
            let mut k = thunder_bytes { data: std::ptr::null(), len: 0 };
            let mut v = thunder_bytes { data: std::ptr::null(), len: 0 };
            let st = thunder_cursor_next(cur, &mut k, &mut v) as i32;
            let want = match &last {
                None => model.iter().next(),
                Some(l) => model.range::<Vec<u8>, _>((std::ops::Bound::Excluded(l.clone()), std::ops::Bound::Unbounded)).next(),
            };
            if st == 1 {
                assert!(want.is_none(), "cursor ended early at step {steps}, after {:?}", last.as_ref().map(|l| String::from_utf8_lossy(l).to_string()));
                break;
            }
            assert_eq!(st, 0);
            let ks = std::slice::from_raw_parts(k.data, k.len).to_vec();
            let vs = std::slice::from_raw_parts(v.data, v.len).to_vec();
            let (wk, wv) = want.expect("cursor has an item the model does not");
            assert_eq!(&ks, wk, "step {steps}");
            assert_eq!(&vs, wv, "step {steps}");
            last = Some(ks.clone());
            steps += 1;
            // mutate around the cursor
            let here: u32 = String::from_utf8_lossy(&ks).parse().unwrap();
            for _ in 0..6 {
                let kk = (here as i64 + rng.below(30) as i64 - 15).clamp(0, 2999) as u32;
                let key = format!("{kk:06}").into_bytes();
                if rng.chance(60) {
                    let max = if rng.chance(10) { 5000 } else { 300 };
                    let val = rbytes(&mut rng, max);
                    assert_eq!(thunder_put(txn, key.as_ptr(), key.len(), val.as_ptr(), val.len(), 0) as i32, 0);
                    model.insert(key, val);
                } else {
                    let st = thunder_delete(txn, key.as_ptr(), key.len()) as i32;
                    assert_eq!(st == 0, model.remove(&key).is_some());
                }
            }
        }
        thunder_cursor_close(cur);
        assert_eq!(thunder_txn_commit(txn) as i32, 0);
        assert_eq!(thunder_check(db) as i32, 0);
        assert_eq!(thunder_close(db) as i32, 0);
    }
}

#[test]
fn seeks_and_ranges_with_ff_keys_and_empty_bounds() {
    let t = TestDb::new(Options::new());
    let keys: Vec<Vec<u8>> = vec![
        vec![0x00],
        vec![0x00, 0x00],
        vec![0x01],
        vec![0x7F, 0xFF],
        vec![0xFE, 0xFF, 0xFF],
        vec![0xFF],
        vec![0xFF, 0x00],
        vec![0xFF, 0xFF],
        vec![0xFF, 0xFF, 0xFF],
        vec![0xFF; 1000],
    ];
    let mut tx = t.db().begin_write().unwrap();
    for k in &keys {
        tx.put(k, k).unwrap();
    }
    tx.commit().unwrap();
    let r = t.db().begin_read().unwrap();
    fn all<'a>(it: impl Iterator<Item = thunder::Result<(&'a [u8], &'a [u8])>>) -> Vec<Vec<u8>> {
        it.map(|x| x.unwrap().0.to_vec()).collect()
    }
    // prefix
    for p in [&[][..], &[0xFF][..], &[0xFF, 0xFF][..], &[0x00][..], &[0xFE][..], &[0x7F, 0xFF][..]] {
        let want: Vec<_> = keys.iter().filter(|k| k.starts_with(p)).cloned().collect();
        assert_eq!(all(r.prefix(p)), want, "prefix {p:?}");
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(all(r.prefix(p).rev()), rev, "prefix rev {p:?}");
    }
    // ranges with empty and equal bounds
    let e: &[u8] = &[];
    assert_eq!(all(r.range(e..)), keys);
    assert!(all(r.range(e..e)).is_empty());
    assert!(all(r.range(&[0xFF][..]..&[0xFF][..])).is_empty());
    assert_eq!(all(r.range(&[0xFF][..]..=&[0xFF][..])), vec![vec![0xFF]]);
    assert!(all(r.range(&[0xFF, 0xFF][..]..&[0x01][..])).is_empty(), "reversed range");
    assert!(all(r.range(&[0xFF, 0xFF][..]..&[0x01][..]).rev()).is_empty(), "reversed range rev");
    assert_eq!(all(r.range(..=&[0xFF, 0xFF][..])).len(), 8);
    assert_eq!(all(r.range(..&[0x00][..])).len(), 0);
    let mut ex = all(r.range::<&[u8], _>((std::ops::Bound::Excluded(&[0xFF][..]), std::ops::Bound::Unbounded)));
    assert_eq!(ex.len(), 4);
    ex.clear();
    // double-ended iteration meeting in the middle
    let mut it = r.iter();
    let mut front = Vec::new();
    let mut back = Vec::new();
    loop {
        match it.next() {
            Some(x) => front.push(x.unwrap().0.to_vec()),
            None => break,
        }
        match it.next_back() {
            Some(x) => back.push(x.unwrap().0.to_vec()),
            None => break,
        }
    }
    back.reverse();
    front.extend(back);
    assert_eq!(front, keys, "double-ended iteration");
    // seeks: between, after all, before all, empty
    let mut c = r.cursor();
    assert_eq!(c.seek(&[]).unwrap().unwrap().0, &[0x00]);
    assert_eq!(c.seek(&[0x00, 0x00, 0x00]).unwrap().unwrap().0, &[0x01]);
    assert_eq!(c.seek(&[0xFF, 0xFF, 0xFF, 0x00]).unwrap().unwrap().0, &vec![0xFF; 1000][..]);
    assert!(c.seek(&vec![0xFF; 1001]).unwrap().is_none());
    assert_eq!(c.prev().unwrap().unwrap().0, &vec![0xFF; 1000][..]);
    assert!(c.next().unwrap().is_none());
    assert!(c.next().unwrap().is_none());
    assert_eq!(c.prev().unwrap().unwrap().0, &vec![0xFF; 1000][..]);
    assert_eq!(c.first().unwrap().unwrap().0, &[0x00]);
    assert!(c.prev().unwrap().is_none());
    assert!(c.prev().unwrap().is_none());
    assert_eq!(c.next().unwrap().unwrap().0, &[0x00]);
    // seek longer than max key: not found or InvalidArgument/KeyTooLarge, never panic
    let big = vec![0xFF; 5000];
    match c.seek(&big) {
        Ok(x) => assert!(x.is_none()),
        Err(e) => assert!(matches!(e.kind(), ErrorKind::KeyTooLarge | ErrorKind::InvalidArgument)),
    }
    match r.get(&big) {
        Ok(x) => assert!(x.is_none()),
        Err(e) => assert!(matches!(e.kind(), ErrorKind::KeyTooLarge | ErrorKind::InvalidArgument)),
    }
    // an empty db: all cursors and iterators empty
    let t2 = TestDb::new(Options::new());
    let r2 = t2.db().begin_read().unwrap();
    let mut c2 = r2.cursor();
    assert!(c2.seek(&[]).unwrap().is_none());
    assert!(c2.prev().unwrap().is_none());
    assert!(c2.next().unwrap().is_none());
    assert!(r2.prefix(&[0xFF]).next().is_none());
    assert!(r2.iter().next_back().is_none());
}

#[test]
fn ranges_across_many_leaves_match_a_model() {
    let s = seed(0xADEC);
    let _g = SeedGuard::new("ranges", s);
    let mut rng = Rng::new(s);
    let t = TestDb::new(Options::new());
    let mut model = BTreeMap::new();
    let mut tx = t.db().begin_write().unwrap();
    for _ in 0..5000 {
        let len = 1 + rng.below(4) as usize;
        let k: Vec<u8> = (0..len).map(|_| *rng.pick(&[0u8, 1, 0x7F, 0x80, 0xFE, 0xFF])).collect();
        let v = rbytes(&mut rng, 50);
        tx.put(&k, &v).unwrap();
        model.insert(k, v);
    }
    tx.commit().unwrap();
    let r = t.db().begin_read().unwrap();
    let pick_key = |rng: &mut Rng| -> Vec<u8> {
        let len = rng.below(5) as usize;
        (0..len).map(|_| *rng.pick(&[0u8, 1, 0x7F, 0x80, 0xFE, 0xFF])).collect()
    };
    use std::ops::Bound::*;
    for _ in 0..2000 {
        let a = pick_key(&mut rng);
        let b = pick_key(&mut rng);
        let lo = match rng.below(3) {
            0 => Unbounded,
            1 => Included(a.clone()),
            _ => Excluded(a.clone()),
        };
        let hi = match rng.below(3) {
            0 => Unbounded,
            1 => Included(b.clone()),
            _ => Excluded(b.clone()),
        };
        // BTreeMap::range panics on lo > hi; the model filters instead
        let want: Vec<Vec<u8>> = model
            .keys()
            .filter(|k| match &lo {
                Unbounded => true,
                Included(x) => *k >= x,
                Excluded(x) => *k > x,
            })
            .filter(|k| match &hi {
                Unbounded => true,
                Included(x) => *k <= x,
                Excluded(x) => *k < x,
            })
            .cloned()
            .collect();
        let got: Vec<Vec<u8>> = r.range((lo.clone(), hi.clone())).map(|x| x.unwrap().0.to_vec()).collect();
        assert_eq!(got, want, "range {lo:?}..{hi:?}");
        let mut got_rev: Vec<Vec<u8>> = r.range((lo.clone(), hi.clone())).rev().map(|x| x.unwrap().0.to_vec()).collect();
        got_rev.reverse();
        assert_eq!(got_rev, want, "rev range {lo:?}..{hi:?}");
        let p = pick_key(&mut rng);
        let wantp: Vec<Vec<u8>> = model.keys().filter(|k| k.starts_with(&p)).cloned().collect();
        let gotp: Vec<Vec<u8>> = r.prefix(&p).map(|x| x.unwrap().0.to_vec()).collect();
        assert_eq!(gotp, wantp, "prefix {p:?}");
    }
}

// ---------------------------------------------------------------------------
// concurrency
// ---------------------------------------------------------------------------

#[test]
fn many_pinned_readers_while_a_writer_churns_then_space_is_reused() {
    let s = seed(0xADED);
    let _g = SeedGuard::new("pinned readers churn", s);
    let t = TestDb::new(Options::new().sync_mode(SyncMode::None).unwrap());
    let db = t.db().clone();
    // writer: each commit sets every key to (txid, i) -> readers check consistency
    let n_keys = 300u32;
    let write_gen = |db: &Database, gen: u64, rng: &mut Rng| {
        let mut tx = db.begin_write().unwrap();
        for i in 0..n_keys {
            let mut v = gen.to_le_bytes().to_vec();
            let extra = if i % 50 == 0 { 3000 } else { rng.below(100) as usize };
            v.extend(std::iter::repeat_n(i as u8, extra));
            tx.put(format!("k{i:05}").as_bytes(), &v).unwrap();
        }
        tx.put(b"gen", &gen.to_le_bytes()).unwrap();
        tx.commit().unwrap();
    };
    let mut rng = Rng::new(s);
    write_gen(&db, 0, &mut rng);
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for r in 0..3 {
        let db = db.clone();
        let stop = stop.clone();
        let checks = checks.clone();
        handles.push(std::thread::spawn(move || {
            let mut rng = Rng::new(s ^ (r + 100));
            while !stop.load(Ordering::Acquire) {
                let tx = db.begin_read().unwrap();
                let gen = u64::from_le_bytes(tx.get(b"gen").unwrap().unwrap().try_into().unwrap());
                // hold it a while, reading repeatedly
                for _ in 0..1 + rng.below(4) {
                    let mut n = 0;
                    for item in tx.iter() {
                        let (k, v) = item.unwrap();
                        if k == b"gen" {
                            continue;
                        }
                        assert_eq!(u64::from_le_bytes(v[..8].try_into().unwrap()), gen, "torn snapshot");
                        n += 1;
                    }
                    assert_eq!(n, n_keys);
                    std::thread::sleep(Duration::from_micros(rng.below(2000)));
                }
                checks.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // one reader pinned at gen 0 for the whole churn
    let pinned = db.begin_read().unwrap();
    for gen in 1..150u64 {
        write_gen(&db, gen, &mut rng);
    }
    let with_pin = db.stat().unwrap();
    // the pinned reader still sees gen 0 intact
    for item in pinned.iter() {
        let (k, v) = item.unwrap();
        if k != b"gen" {
            assert_eq!(u64::from_le_bytes(v[..8].try_into().unwrap()), 0);
        }
    }
    drop(pinned);
    stop.store(true, Ordering::Release);
    for h in handles {
        h.join().unwrap();
    }
    assert!(checks.load(Ordering::Relaxed) > 0);
    db.sync().unwrap();
    // now space must be reused: more churn doesn't grow the file
    for gen in 150..170u64 {
        write_gen(&db, gen, &mut rng);
    }
    db.sync().unwrap();
    let mid = db.stat().unwrap();
    for gen in 170..260u64 {
        write_gen(&db, gen, &mut rng);
        if gen % 10 == 0 {
            db.sync().unwrap();
        }
    }
    db.sync().unwrap();
    let end = db.stat().unwrap();
    eprintln!("with pin {with_pin:?}\nmid {mid:?}\nend {end:?}");
    assert!(end.page_count <= mid.page_count + 8, "file keeps growing after readers finished: {} -> {}", mid.page_count, end.page_count);
    assert!(end.page_count <= with_pin.page_count, "no reuse after readers ended");
    db.check().unwrap();
}

#[test]
fn readers_on_threads_across_a_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    for round in 0..5u32 {
        let db = Database::open(&path).unwrap();
        let mut tx = db.begin_write().unwrap();
        for i in 0..200u32 {
            tx.put(format!("k{i}").as_bytes(), &vec![round as u8; 100 + 30 * (i as usize % 100)]).unwrap();
        }
        tx.commit().unwrap();
        // readers on threads, still holding transactions when the handle is dropped
        let barrier = Arc::new(Barrier::new(4));
        let mut hs = Vec::new();
        for _ in 0..3 {
            let tx = db.begin_read().unwrap();
            let barrier = barrier.clone();
            hs.push(std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..20 {
                    for i in 0..200u32 {
                        let v = tx.get(format!("k{i}").as_bytes()).unwrap().unwrap();
                        assert!(v.iter().all(|&b| b == round as u8));
                    }
                }
            }));
        }
        // close is Busy while read txns are open
        let db2 = db.clone();
        drop(db);
        barrier.wait();
        // reopen while the old handle's transactions live: locked (same process)
        match Database::open(&path) {
            Err(e) => assert_eq!(e.kind(), ErrorKind::Locked),
            Ok(_) => panic!("second open while transactions of the first are alive"),
        }
        for h in hs {
            h.join().unwrap();
        }
        db2.close().unwrap();
        let db = Database::open(&path).unwrap();
        db.check().unwrap();
        let r = db.begin_read().unwrap();
        assert!(r.get(b"k5").unwrap().unwrap().iter().all(|&b| b == round as u8));
        drop(r);
        db.close().unwrap();
    }
}

#[test]
fn batched_sync_with_concurrent_commits_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.db");
    for round in 0..4u64 {
        let db = Database::open_with_options(&path, Options::new().sync_mode(SyncMode::Batched(Duration::from_millis(2))).unwrap()).unwrap();
        let mut hs = Vec::new();
        for w in 0..3u64 {
            let db = db.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..60u64 {
                    let mut tx = db.begin_write().unwrap();
                    tx.put(format!("w{w}-{i:03}").as_bytes(), &(round * 1000 + i).to_le_bytes()).unwrap();
                    if i % 7 == 0 {
                        tx.put(format!("big{w}").as_bytes(), &vec![i as u8; 9000]).unwrap();
                    }
                    tx.commit().unwrap();
                    if i % 13 == 0 {
                        db.sync().unwrap();
                    }
                }
            }));
        }
        let reader = {
            let db = db.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let tx = db.begin_read().unwrap();
                    let n = tx.iter().count();
                    assert!(n <= 3 * 60 + 3);
                }
            })
        };
        for h in hs {
            h.join().unwrap();
        }
        reader.join().unwrap();
        db.close().unwrap();
        let db = Database::open(&path).unwrap();
        db.check().unwrap();
        let tx = db.begin_read().unwrap();
        for w in 0..3u64 {
            for i in 0..60u64 {
                let v = tx.get(format!("w{w}-{i:03}").as_bytes()).unwrap().expect("lost commit after clean close");
                assert_eq!(v, &(round * 1000 + i).to_le_bytes());
            }
        }
        drop(tx);
        db.close().unwrap();
    }
}

// ---------------------------------------------------------------------------
// limits
// ---------------------------------------------------------------------------

#[test]
fn no_space_mid_transaction_then_continued_use() {
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
            match err {
                Some(e) => {
                    assert_eq!(e.kind(), ErrorKind::NoSpace, "{e}");
                    assert!(tx.is_failed());
                    // every later call repeats it
                    assert_eq!(tx.get(b"x").unwrap_err().kind(), ErrorKind::NoSpace);
                    assert_eq!(tx.put(b"x", b"y").unwrap_err().kind(), ErrorKind::NoSpace);
                    assert_eq!(tx.commit().unwrap_err().kind(), ErrorKind::NoSpace);
                    saw_full += 1;
                    // free space by deleting committed keys
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
            let got: BTreeMap<Vec<u8>, Vec<u8>> = r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
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

#[test]
fn max_size_keys_with_max_inline_values_at_every_page_size() {
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

#[test]
fn many_small_transactions_then_check() {
    let s = seed(0xADF0);
    let _g = SeedGuard::new("many small txns", s);
    let mut rng = Rng::new(s);
    let mut t = TestDb::new(Options::new().sync_mode(SyncMode::None).unwrap());
    let mut model = BTreeMap::new();
    for i in 0..3000u32 {
        let mut tx = t.db().begin_write().unwrap();
        let k = format!("k{}", rng.below(500)).into_bytes();
        if rng.chance(30) {
            assert_eq!(tx.delete(&k).unwrap(), model.remove(&k).is_some());
        } else {
            let n = if rng.chance(5) { 5000 } else { rng.below(200) as usize };
            let v = rng.bytes(n);
            tx.put(&k, &v).unwrap();
            model.insert(k, v);
        }
        if rng.chance(5) {
            let b = tx.create_bucket_if_missing(None, b"bk").unwrap();
            tx.next_sequence(&b).unwrap();
        }
        if rng.chance(10) {
            drop(tx);
        } else {
            tx.commit().unwrap();
        }
        // rollback the model for dropped txns: reread
        if i % 500 == 499 {
            t.db().sync().unwrap();
            t.reopen();
        }
        let r = t.db().begin_read().unwrap();
        model = r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
    }
    t.db().check().unwrap();
}

#[test]
fn put_flags_corner_cases() {
    let t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    // append into an empty keyspace, then equal key: invalid, nothing written
    tx.put_with(b"b", b"1", PutFlags::APPEND).unwrap();
    assert_eq!(tx.put_with(b"b", b"2", PutFlags::APPEND).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(tx.put_with(b"a", b"2", PutFlags::APPEND | PutFlags::NO_OVERWRITE).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(tx.get(b"b").unwrap().unwrap(), b"1");
    assert_eq!(tx.put_with(b"b", b"3", PutFlags::NO_OVERWRITE).unwrap_err().kind(), ErrorKind::KeyExists);
    // overflow append many
    for i in 0..200u32 {
        tx.put_with(format!("c{i:05}").as_bytes(), &vec![i as u8; 3000], PutFlags::APPEND).unwrap();
    }
    // NO_OVERWRITE with an overflow value on an existing key: nothing allocated (check passes)
    assert_eq!(tx.put_with(b"c00000", &vec![0; 9000], PutFlags::NO_OVERWRITE).unwrap_err().kind(), ErrorKind::KeyExists);
    assert!(!tx.is_failed());
    // empty key
    assert_eq!(tx.put(b"", b"x").unwrap_err().kind(), ErrorKind::InvalidArgument);
    tx.commit().unwrap();
    t.db().check().unwrap();
}


// ---------------------------------------------------------------------------
// more: sealed mutations, threshold changes, power-cut copies, stats
// ---------------------------------------------------------------------------

/// Random single-byte changes anywhere in a used page, resealed so the
/// checksum matches: the structure checks alone must stop them. Never a
/// panic, a hang or an `Internal`; a file check() passes stays sound
/// through a write.
#[test]
fn sealed_random_mutations() {
    let s = seed(0xADF1);
    let iters: u64 = std::env::var("THUNDER_SEALED_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(250);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("sealed mutations at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let states = build_rich(&path, ps, &mut rng, 4, if ps == 65536 { 30 } else { 50 });
        let original = std::fs::read(&path).unwrap();
        let psz = ps as usize;
        let l = layout(&original, psz);
        let mut pages: Vec<u64> = vec![0, 1];
        pages.extend(&l.branches);
        pages.extend(&l.leaves);
        pages.extend(l.overflow.iter().map(|&(p, _)| p));
        if let Some((p, _)) = l.snapshot {
            pages.push(p);
        }
        pages.extend(&l.logs);
        for i in 0..iters {
            let mut img = original.clone();
            let n = 1 + rng.below(3);
            let mut what = format!("ps {ps} iter {i}:");
            for _ in 0..n {
                let p = *rng.pick(&pages);
                let off = p as usize * psz;
                let ty = img[off + 4];
                let used = match ty {
                    T_BRANCH | T_LEAF => (u32_at(&img, off + 28) as usize).clamp(33, psz),
                    T_OVERFLOW => 32,
                    T_SNAPSHOT => (40 + 12 * u64_at(&img, off + 32).min(10_000) as usize).min(psz),
                    6 => (40 + 12 * u16_at(&img, off + 6) as usize).min(psz),
                    _ => 160,
                };
                let at = 4 + rng.below(used as u64 - 4) as usize;
                let mode = rng.below(3);
                match mode {
                    0 => img[off + at] ^= 1 << rng.below(8),
                    1 => img[off + at] = 0,
                    _ => img[off + at] = 0xFF,
                }
                what += &format!(" page {p} (type {ty}) byte {at} mode {mode};");
                reseal(&mut img, psz, p as usize);
            }
            std::fs::write(&path, &img).unwrap();
            exercise_damaged(&path, &states, &what, true);
        }
    }
}

/// The overflow threshold is an open option, not a file property: values
/// stored under one threshold must read, update and check under another.
#[test]
fn overflow_threshold_changes_between_opens() {
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

/// Under `SyncMode::None` the file at any instant between commits must
/// open as the last synced state, intact (a power cut loses the rest).
#[test]
fn copies_taken_between_unsynced_commits_open_as_the_last_sync() {
    let s = seed(0xADF3);
    let _g = SeedGuard::new("power-cut copies", s);
    let mut rng = Rng::new(s);
    for ps in [4096u32, 16384] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let copy = dir.path().join("copy.db");
        let db = Database::open_with_options(&path, opts_ps(ps).sync_mode(SyncMode::None).unwrap()).unwrap();
        let mut model: BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>> = BTreeMap::new();
        let mut synced = model.clone();
        let mut reader: Option<ReadTx> = None;
        for step in 0..250u32 {
            let mut tx = db.begin_write().unwrap();
            for _ in 0..rng.range(1, 30) {
                let bname = format!("b{}", rng.below(3)).into_bytes();
                let k = format!("k{}", rng.below(300)).into_bytes();
                let b = tx.create_bucket_if_missing(None, &bname).unwrap();
                if rng.chance(25) {
                    tx.delete_in(&b, &k).unwrap();
                    model.remove(&(bname, k));
                } else {
                    let len = if rng.chance(10) { 2049 + rng.below(10_000) as usize } else { rng.below(300) as usize };
                    let v = rng.bytes(len);
                    tx.put_in(&b, &k, &v).unwrap();
                    model.insert((bname, k), v);
                }
            }
            if rng.chance(3) {
                let bname = format!("b{}", rng.below(3)).into_bytes();
                if tx.bucket(None, &bname).unwrap().is_some() {
                    tx.delete_bucket(None, &bname).unwrap();
                    model.retain(|(b, _), _| *b != bname);
                }
            }
            tx.commit().unwrap();
            if rng.chance(10) {
                db.sync().unwrap();
                synced = model.clone();
            }
            if rng.chance(10) {
                reader = if reader.is_some() { None } else { Some(db.begin_read().unwrap()) };
            }
            if step % 5 == 4 {
                std::fs::copy(&path, &copy).unwrap();
                let c = Database::open(&copy).unwrap_or_else(|e| panic!("step {step}: copy open {e}"));
                c.check().unwrap_or_else(|e| panic!("ps {ps} step {step}: copy check {e}"));
                let r = c.begin_read().unwrap();
                let mut got = BTreeMap::new();
                for name in r.bucket_names(None).unwrap() {
                    let b = r.bucket(None, &name).unwrap().unwrap();
                    for item in r.iter_in(&b) {
                        let (k, v) = item.unwrap();
                        got.insert((name.clone(), k.to_vec()), v.to_vec());
                    }
                }
                assert!(got == synced, "ps {ps} step {step}: copy is not the last synced state");
                drop(r);
                c.close().unwrap();
                std::fs::remove_file(&copy).unwrap();
            }
        }
        drop(reader);
        db.close().unwrap();
    }
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

/// Thousands of top-level buckets (the catalog tree splits), each with a
/// key that shares the bucket's name; then delete them all.
#[test]
fn thousands_of_buckets_sharing_names_with_keys() {
    let mut t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    for i in 0..5000u32 {
        let name = format!("bucket-{i:05}-{}", "n".repeat((i % 200) as usize)).into_bytes();
        let b = tx.create_bucket(None, &name).unwrap();
        tx.put_in(&b, &name, &name).unwrap();
        tx.put(&name, b"key in root").unwrap();
        if i % 100 == 0 {
            let c = tx.create_bucket(Some(&b), &name).unwrap();
            tx.put_in(&c, b"x", &vec![3; 5000]).unwrap();
        }
    }
    tx.commit().unwrap();
    t.reopen();
    assert_eq!(t.db().stat().unwrap().bucket_count, 5050);
    let names = t.db().begin_read().unwrap().bucket_names(None).unwrap();
    assert_eq!(names.len(), 5000);
    let mut tx = t.db().begin_write().unwrap();
    for (i, name) in names.iter().enumerate() {
        if i % 2 == 0 {
            tx.delete_bucket(None, name).unwrap();
        }
    }
    // bucket cursor in the same txn sees exactly the survivors
    let left = tx.bucket_names(None).unwrap();
    assert_eq!(left.len(), 2500);
    assert_eq!(tx.get(&names[0]).unwrap(), Some(&b"key in root"[..]));
    tx.commit().unwrap();
    t.reopen();
    // every nested bucket hung off an even-numbered (deleted) bucket
    assert_eq!(t.db().stat().unwrap().bucket_count, 2500);
    let mut tx = t.db().begin_write().unwrap();
    for name in tx.bucket_names(None).unwrap() {
        tx.delete_bucket(None, &name).unwrap();
    }
    tx.commit().unwrap();
    t.reopen();
    assert_eq!(t.db().stat().unwrap().bucket_count, 0);
    assert_eq!(t.db().begin_read().unwrap().iter().count(), 5000);
}

/// A model test with extreme entry sizes: keys of the maximum length and
/// inline values right at the threshold (one entry per leaf, four per
/// branch), mixed with tiny ones, so splits and merges see the most uneven
/// nodes.
#[test]
fn extreme_entry_sizes_against_a_model() {
    let s = seed(0xADF5);
    let ops: u64 = std::env::var("THUNDER_EXTREME_OPS").ok().and_then(|v| v.parse().ok()).unwrap_or(6000);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("extreme sizes at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let th = (ps / 2).min(32768);
        let mut t = TestDb::new(opts_ps(ps).overflow_threshold(th).unwrap());
        let mk = t.db().max_key_size();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut committed = model.clone();
        let mut tx = Some(t.db().begin_write().unwrap());
        let mk_key = |rng: &mut Rng| -> Vec<u8> {
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
        };
        for op in 0..ops {
            let w = tx.as_mut().unwrap();
            match rng.below(100) {
                0..=49 => {
                    let k = mk_key(&mut rng);
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
                50..=79 => {
                    let k = mk_key(&mut rng);
                    assert_eq!(w.delete(&k).unwrap(), model.remove(&k).is_some(), "op {op}");
                }
                80..=87 => {
                    // cursor-delete a run from a random start, forwards or backwards
                    let k = mk_key(&mut rng);
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
                            model.range::<Vec<u8>, _>((std::ops::Bound::Excluded(ck.clone()), std::ops::Bound::Unbounded)).next()
                        } else {
                            model.range::<Vec<u8>, _>(..ck.clone()).next_back()
                        };
                        assert_eq!(cur.as_ref(), want.map(|(k, _)| k), "op {op}: cursor after delete");
                    }
                }
                88..=93 => {
                    // compare a range scan
                    let a = mk_key(&mut rng);
                    let got: Vec<Vec<u8>> = w.range(a.clone()..).take(30).map(|r| r.unwrap().0.to_vec()).collect();
                    let want: Vec<Vec<u8>> = model.range(a..).take(30).map(|(k, _)| k.clone()).collect();
                    assert_eq!(got, want, "op {op}: range");
                }
                94..=97 => {
                    let w = tx.take().unwrap();
                    w.commit().unwrap_or_else(|e| panic!("op {op}: commit {e}"));
                    committed = model.clone();
                    t.db().check().unwrap_or_else(|e| panic!("op {op}: check {e}"));
                    tx = Some(t.db().begin_write().unwrap());
                }
                _ => {
                    let w = tx.take().unwrap();
                    w.rollback();
                    model = committed.clone();
                    if rng.chance(30) {
                        t.reopen();
                    }
                    tx = Some(t.db().begin_write().unwrap());
                }
            }
        }
        let w = tx.take().unwrap();
        let all: Vec<(Vec<u8>, Vec<u8>)> = w.iter().map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
        assert!(all == model.clone().into_iter().collect::<Vec<_>>(), "ps {ps}: final contents");
        w.commit().unwrap();
        t.reopen();
    }
}

/// Reopening with a max size below the file's size, or not a multiple of
/// the page size: an error or a working database, never a crash or lost data.
#[test]
fn reopen_with_a_smaller_or_odd_max_size() {
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
                assert!(matches!(e.kind(), ErrorKind::NoSpace | ErrorKind::InvalidArgument | ErrorKind::Corrupted), "{what}: {e}");
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

/// Minimal form of the freelist finding: the persisted freelist (sealed,
/// well-formed, free count matching) lists one live leaf page as free.
/// check() reports it, but the writer trusts the list: the next commit
/// allocates that page (here as the new root branch) and writes over the
/// live leaf; afterwards the keys that were readable fail with Corrupted.
#[test]
fn freelist_listing_a_live_leaf_lets_a_commit_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fl.db");
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in 0..2000u32 {
        tx.put(format!("a{i:05}").as_bytes(), &[7; 100]).unwrap();
    }
    tx.commit().unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in (0..2000u32).step_by(7) {
        tx.delete(format!("a{i:05}").as_bytes()).unwrap();
    }
    tx.commit().unwrap();
    db.close().unwrap();
    let mut img = std::fs::read(&path).unwrap();
    let l = layout(&img, 4096);
    let victim = *l.leaves.iter().min().unwrap();
    assert!(list_as_free(&mut img, 4096, victim), "fixture has a freelist log");
    std::fs::write(&path, &img).unwrap();

    let db = Database::open(&path).unwrap();
    assert_eq!(db.check().unwrap_err().kind(), ErrorKind::Corrupted, "check() sees the double use");
    // keys of the victim leaf, readable before the write
    let victim_keys: Vec<Vec<u8>> = {
        let off = victim as usize * 4096;
        let pg = &img[off..off + 4096];
        (0..u16_at(pg, 6) as usize)
            .map(|i| {
                let o = u16_at(pg, 32 + 2 * i) as usize;
                let kl = u16_at(pg, o + 1) as usize;
                pg[o + 7..o + 7 + kl].to_vec()
            })
            .collect()
    };
    {
        let r = db.begin_read().unwrap();
        for k in &victim_keys {
            assert_eq!(r.get(k).unwrap(), Some(&[7u8; 100][..]));
        }
    }
    // one ordinary write far from the victim's keys
    // (large enough to use up the free pages below the victim)
    let mut tx = db.begin_write().unwrap();
    for i in 0..60u32 {
        tx.put(format!("z{i:05}").as_bytes(), &[9; 9000]).unwrap();
    }
    tx.commit().unwrap();
    assert_eq!(db.check().unwrap_err().kind(), ErrorKind::Corrupted);
    // every key that was intact before the write must still read back
    let r = db.begin_read().unwrap();
    let (mut not_found, mut errors) = (0, 0);
    let mut first_error = None;
    for k in victim_keys.iter().chain([b"a00100".to_vec(), b"a01500".to_vec()].iter()) {
        match r.get(k) {
            Ok(Some(v)) => assert_eq!(v, &[7u8; 100][..]),
            Ok(None) => not_found += 1,
            Err(e) => {
                assert!(acceptable(e.kind()), "{e}");
                errors += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    assert!(
        not_found == 0 && errors == 0,
        "a commit reused live page {victim} that the (sealed) freelist listed as free: of {} keys readable before \
         the write, {not_found} are now NotFound and {errors} fail ({first_error:?})",
        victim_keys.len() + 2
    );
}

/// One commit with more than 8 MiB of tree pages (the commit flushes its
/// page buffer part-way through a tree), with the smallest write buffer
/// (4 KiB, smaller than a 64 KiB page) and in buckets; then updates that
/// touch every leaf again.
#[test]
fn huge_single_commits_with_tiny_write_buffers() {
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

/// Batched with a zero interval, and sync/close racing with commits on
/// other threads.
#[test]
fn batched_zero_interval_and_sync_races() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.db");
    match Options::new().sync_mode(SyncMode::Batched(Duration::ZERO)) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        Ok(o) => {
            let db = Database::open_with_options(&path, o).unwrap();
            let mut hs = Vec::new();
            for w in 0..2u32 {
                let db = db.clone();
                hs.push(std::thread::spawn(move || {
                    for i in 0..200u32 {
                        let mut tx = db.begin_write().unwrap();
                        tx.put(format!("{w}-{i}").as_bytes(), &[1; 100]).unwrap();
                        tx.commit().unwrap();
                    }
                }));
            }
            let syncer = {
                let db = db.clone();
                std::thread::spawn(move || {
                    for _ in 0..300 {
                        db.sync().unwrap();
                    }
                })
            };
            for h in hs {
                h.join().unwrap();
            }
            syncer.join().unwrap();
            db.close().unwrap();
            let db = Database::open(&path).unwrap();
            db.check().unwrap();
            assert_eq!(db.begin_read().unwrap().iter().count(), 400);
        }
    }
}
